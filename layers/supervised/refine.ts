/**
 * The hybrid: the forest raises suspicion, the classifier refines the verdict.
 * A window the forest does not flag stays unflagged (labels never raise a window:
 * the anomaly model decides what is suspicious). A window it flags is suppressed
 * only when the classifier, trained on enough labels of both kinds, is confident
 * the window is benign (false-positive-like), and the forest's score is not far
 * above the threshold; otherwise it is kept. Pure.
 */

export interface RefineOptions {
  /** How many labels of each kind the classifier learned from (ClassifierModel.examples). */
  readonly examples: { readonly attack: number; readonly benign: number };
  /** Fewer labels than this of either kind: never suppress. Default 5. */
  readonly minExamplesPerClass?: number;
  /** Suppress only when P(attack) is at most this. Default 0.1 (90% sure it is benign). */
  readonly suppressAtOrBelow?: number;
  /**
   * A score this far above the threshold is kept whatever the classifier says: a
   * window that anomalous is worth a person's look. Default 0.05.
   */
  readonly keepMargin?: number;
}

export const REFINE_DEFAULTS = { minExamplesPerClass: 5, suppressAtOrBelow: 0.1, keepMargin: 0.05 } as const;

export type RefineOutcome =
  | 'not-flagged'
  | 'no-classifier'
  | 'too-few-labels'
  | 'far-above-threshold'
  | 'kept'
  | 'suppressed';

export interface RefinedVerdict {
  /** Raise the finding. */
  readonly flag: boolean;
  readonly outcome: RefineOutcome;
  /** One sentence, for the finding and the audit. */
  readonly reason: string;
}

/**
 * The verdict on one window. `classifierProbability` is classify()'s P(attack), or
 * undefined when there is no classifier.
 */
export function refineVerdict(
  forestScore: number,
  threshold: number,
  classifierProbability: number | undefined,
  options: RefineOptions,
): RefinedVerdict {
  const minExamples = options.minExamplesPerClass ?? REFINE_DEFAULTS.minExamplesPerClass;
  const suppressAt = options.suppressAtOrBelow ?? REFINE_DEFAULTS.suppressAtOrBelow;
  const margin = options.keepMargin ?? REFINE_DEFAULTS.keepMargin;
  const score = round(forestScore);
  if (!(forestScore >= threshold)) {
    return {
      flag: false,
      outcome: 'not-flagged',
      reason: `score ${score} is below the threshold ${threshold}`,
    };
  }
  if (classifierProbability === undefined || Number.isNaN(classifierProbability)) {
    return {
      flag: true,
      outcome: 'no-classifier',
      reason: `score ${score} is at or above the threshold ${threshold}; no classifier from labels`,
    };
  }
  const { attack, benign } = options.examples;
  if (attack < minExamples || benign < minExamples) {
    return {
      flag: true,
      outcome: 'too-few-labels',
      reason: `score ${score} is at or above the threshold ${threshold}; the classifier has ${attack} attack and ${benign} benign label(s), fewer than ${minExamples} of each, so it does not refine`,
    };
  }
  const probability = round(classifierProbability);
  if (forestScore >= threshold + margin) {
    return {
      flag: true,
      outcome: 'far-above-threshold',
      reason: `score ${score} is ${margin} or more above the threshold ${threshold}: kept whatever the labels say (P(attack) ${probability})`,
    };
  }
  if (classifierProbability <= suppressAt) {
    return {
      flag: false,
      outcome: 'suppressed',
      reason: `score ${score} is at or above the threshold ${threshold}, but windows like it were labelled false positives: P(attack) ${probability} <= ${suppressAt} (from ${attack} attack and ${benign} benign labels)`,
    };
  }
  return {
    flag: true,
    outcome: 'kept',
    reason: `score ${score} is at or above the threshold ${threshold}; the labels do not clear it: P(attack) ${probability} > ${suppressAt}`,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
