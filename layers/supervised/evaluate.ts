import { createRandom } from '../forest/random';
import { classify, type TrainClassifierOptions, trainClassifier } from './classifier';
import { type RefineOptions, refineVerdict } from './refine';

/**
 * Does refinement by labels lower false positives without losing attackers?
 * Held-out measurement: the scored windows come in groups (a deployment, a
 * benign-activity seed); for each group, the classifier is trained only on
 * labels of the OTHER groups' flagged windows (labels come from findings, so
 * only flagged windows are ever labelled), a fraction of them labelled by ground
 * truth, and refines this group's flagged windows. Pure and deterministic.
 */

/** One scored principal-window with its ground truth. */
export interface ScoredExample {
  /** The fold it belongs to: never trained on when it is refined. */
  readonly group: string;
  /** The principal the window is about (principalKeyOf). */
  readonly principal: string;
  readonly vector: ArrayLike<number>;
  readonly score: number;
  /** The forest's threshold it is judged against. */
  readonly threshold: number;
  /** Ground truth: the attacker whose calls are in this window (undefined: benign). */
  readonly attacker?: string;
  /** The kind of attack (a technique), for holdOutFamilies. */
  readonly family?: string;
}

export interface EvaluationOptions {
  /** Share of the other groups' flagged windows labelled (default 1). */
  readonly labelledFraction?: number;
  /** Seed of the draw of labelled windows (default 1). */
  readonly seed?: number;
  readonly classifier?: TrainClassifierOptions;
  /**
   * Also leave out of each fold's training every window of an attack family the
   * held-out group contains: the classifier has never seen that kind of attack
   * (the harder question: does a new kind of attack survive refinement?).
   */
  readonly holdOutFamilies?: boolean;
  /** Refinement settings but the label counts (those come from each fold's classifier). */
  readonly refine?: Omit<RefineOptions, 'examples'>;
}

export interface Tally {
  /** Benign windows flagged (false positives, in windows). */
  readonly falsePositives: number;
  /** Benign principals (per group) with at least one window flagged. */
  readonly falsePositivePrincipals: number;
  /** Attack windows flagged. */
  readonly attackWindows: number;
  /** Attackers with at least one window flagged (an attacker met at all). */
  readonly attackersCaught: number;
}

export interface EvaluationResult {
  readonly windows: number;
  readonly attackers: number;
  readonly attackWindowsTotal: number;
  /** The forest alone. */
  readonly forest: Tally;
  /** The forest refined by the classifier, each group held out. */
  readonly refined: Tally;
  /** Names of attackers none of whose windows the forest flags (refinement cannot help those). */
  readonly attackersMissedByForest: readonly string[];
  /** Names of attackers the forest caught and refinement lost. */
  readonly attackersLost: readonly string[];
  /** Flagged windows by refinement outcome. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Per group: labels the classifier of that fold learned from. */
  readonly folds: readonly { group: string; attackLabels: number; benignLabels: number }[];
}

export function evaluateRefinement(
  examples: readonly ScoredExample[],
  options: EvaluationOptions = {},
): EvaluationResult {
  const fraction = options.labelledFraction ?? 1;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new Error(`labelledFraction must be in (0, 1] (got ${fraction})`);
  }
  const random = createRandom(options.seed ?? 1);
  const flagged = examples.filter((example) => example.score >= example.threshold);
  // One draw for all folds: a window is labelled or not, whichever fold trains on it.
  const labelled = new Set(flagged.filter(() => random.next() < fraction));
  const groups = [...new Set(examples.map((example) => example.group))];

  const kept = new Set<ScoredExample>();
  const outcomes: Record<string, number> = {};
  const folds: { group: string; attackLabels: number; benignLabels: number }[] = [];
  for (const group of groups) {
    const families = new Set(
      options.holdOutFamilies
        ? examples.flatMap((example) => (example.group === group && example.family ? [example.family] : []))
        : [],
    );
    const training = flagged
      .filter(
        (example) =>
          example.group !== group &&
          labelled.has(example) &&
          !(example.family !== undefined && families.has(example.family)),
      )
      .map((example) => ({ vector: example.vector, attack: example.attacker !== undefined }));
    const model = training.length > 0 ? trainClassifier(training, options.classifier) : undefined;
    folds.push({
      group,
      attackLabels: model?.examples.attack ?? 0,
      benignLabels: model?.examples.benign ?? 0,
    });
    for (const example of flagged) {
      if (example.group !== group) continue;
      const verdict = refineVerdict(
        example.score,
        example.threshold,
        model ? classify(model, example.vector) : undefined,
        { ...options.refine, examples: model?.examples ?? { attack: 0, benign: 0 } },
      );
      outcomes[verdict.outcome] = (outcomes[verdict.outcome] ?? 0) + 1;
      if (verdict.flag) kept.add(example);
    }
  }

  const attackers = new Set(examples.flatMap((example) => (example.attacker ? [example.attacker] : [])));
  const forest = tally(flagged);
  const refined = tally(flagged.filter((example) => kept.has(example)));
  const caughtBy = (list: readonly ScoredExample[]) =>
    new Set(list.flatMap((example) => (example.attacker ? [example.attacker] : [])));
  const refinedCaught = caughtBy(flagged.filter((example) => kept.has(example)));
  return {
    windows: examples.length,
    attackers: attackers.size,
    attackWindowsTotal: examples.filter((example) => example.attacker !== undefined).length,
    forest,
    refined,
    attackersMissedByForest: [...attackers].filter((attacker) => !caughtBy(flagged).has(attacker)).sort(),
    attackersLost: [...caughtBy(flagged)].filter((attacker) => !refinedCaught.has(attacker)).sort(),
    outcomes,
    folds,
  };
}

function tally(list: readonly ScoredExample[]): Tally {
  const attackers = new Set<string>();
  const benignPrincipals = new Set<string>();
  let falsePositives = 0;
  let attackWindows = 0;
  for (const example of list) {
    if (example.attacker === undefined) {
      falsePositives++;
      benignPrincipals.add(`${example.group}\u0000${example.principal}`);
    } else {
      attackWindows++;
      attackers.add(example.attacker);
    }
  }
  return {
    falsePositives,
    falsePositivePrincipals: benignPrincipals.size,
    attackWindows,
    attackersCaught: attackers.size,
  };
}
