import type { CloudTrailRecord } from '../cloudtrail/record';
import {
  deviationFrom,
  FEATURE_COUNT,
  FEATURE_DOCS,
  FEATURE_NAMES,
  type FeatureName,
  type FeatureNorm,
  featureNorms,
  featuresOf,
  type WindowAggregate,
  WindowBuilder,
} from '../features';
import { globalNorm } from '../features/baseline';
import { scoreForest } from '../forest';
import type { ActivityModel } from './model';

/** Why a window scored as it did: one feature, its value, the principal's norm, and its effect. */
export interface FeatureReason {
  readonly name: FeatureName;
  readonly value: number;
  /** The principal's usual value (its own mean, else its user's or role's, else the account's). */
  readonly norm: number;
  readonly basis: FeatureNorm['basis'];
  /** (value - norm) in standard deviations of the principal's own spread (see deviationFrom). */
  readonly deviation: number;
  /** How much lower the score is with this feature set back to its norm: what this feature adds. */
  readonly contribution: number;
  readonly why: string;
}

export interface ScoredWindow {
  readonly window: WindowAggregate;
  readonly score: number;
  readonly features: Float64Array;
  /**
   * Present for explained windows: every feature, most influential first (by
   * contribution, then by |deviation|).
   */
  readonly reasons?: readonly FeatureReason[];
}

export interface ScoreOptions {
  /**
   * Which windows get reasons (costs one extra scoring pass per feature for those):
   * windows at or above `threshold`, plus the `explainTop` highest scores (default 25).
   * `explainAll` explains every window.
   */
  readonly explainTop?: number;
  readonly explainAll?: boolean;
  /** Default: the model's threshold. */
  readonly threshold?: number;
}

const WHY: Record<string, string> = Object.fromEntries(FEATURE_DOCS.map((doc) => [doc.name, doc.why]));

/** Scores every principal-window of a set of records against the model. Pure. */
export function scoreWindows(
  model: ActivityModel,
  records: Iterable<CloudTrailRecord>,
  options: ScoreOptions = {},
): ScoredWindow[] {
  const builder = new WindowBuilder(model.windowMinutes).addAll(records);
  return scoreAggregates(model, builder.windows(), options);
}

/**
 * Scores windows already built (the command line streams records into a
 * WindowBuilder; the scoring function merges partial windows across log files).
 * Returned in the order given.
 */
export function scoreAggregates(
  model: ActivityModel,
  windows: readonly WindowAggregate[],
  options: ScoreOptions = {},
): ScoredWindow[] {
  if (windows.length === 0) return [];
  const threshold = options.threshold ?? model.threshold;
  const vectors = windows.map((window) => featuresOf(window, model.baselines).vector);
  const flat = new Float64Array(windows.length * FEATURE_COUNT);
  vectors.forEach((vector, i) => {
    flat.set(vector, i * FEATURE_COUNT);
  });
  const scores = scoreForest(model.forest, flat);

  const explain = new Set<number>();
  if (options.explainAll) for (let i = 0; i < windows.length; i++) explain.add(i);
  else {
    const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!);
    for (const i of order.slice(0, options.explainTop ?? 25)) explain.add(i);
    for (let i = 0; i < scores.length; i++) if (scores[i]! >= threshold) explain.add(i);
  }
  const reasons = explainWindows(
    model,
    windows,
    vectors,
    scores,
    [...explain].sort((a, b) => a - b),
  );

  return windows.map((window, i) => ({
    window,
    score: scores[i]!,
    features: vectors[i]!,
    ...(reasons.has(i) && { reasons: reasons.get(i)! }),
  }));
}

/**
 * Reasons for the chosen windows. A feature's contribution is the drop in score
 * when that feature alone is set back to the principal's norm (a counterfactual:
 * "without this, how anomalous would the window be?"); scored in one batch per
 * feature.
 */
function explainWindows(
  model: ActivityModel,
  windows: readonly WindowAggregate[],
  vectors: readonly Float64Array[],
  scores: Float64Array,
  chosen: readonly number[],
): Map<number, FeatureReason[]> {
  const result = new Map<number, FeatureReason[]>();
  if (chosen.length === 0) return result;
  const norms = chosen.map((i) => featureNorms(windows[i]!, model.baselines));
  const accountStd = FEATURE_NAMES.map((_, f) => globalNorm(model.baselines, f).std);
  const contributions = FEATURE_NAMES.map((_, f) => {
    const flat = new Float64Array(chosen.length * FEATURE_COUNT);
    chosen.forEach((i, k) => {
      flat.set(vectors[i]!, k * FEATURE_COUNT);
      flat[k * FEATURE_COUNT + f] = norms[k]![f]!.mean;
    });
    const counterfactual = scoreForest(model.forest, flat);
    return chosen.map((i, k) => scores[i]! - counterfactual[k]!);
  });
  chosen.forEach((i, k) => {
    const reasons = FEATURE_NAMES.map((name, f): FeatureReason => {
      const norm = norms[k]![f]!;
      const value = vectors[i]![f]!;
      return {
        name,
        value: round(value),
        norm: round(norm.mean),
        basis: norm.basis,
        deviation: round(deviationFrom(value, norm, accountStd[f]!)),
        contribution: round(contributions[f]![k]!),
        why: WHY[name]!,
      };
    });
    reasons.sort((a, b) => b.contribution - a.contribution || Math.abs(b.deviation) - Math.abs(a.deviation));
    result.set(i, reasons);
  });
  return result;
}

/** The reasons worth showing: those that raised the score, else the largest deviations. */
export function topReasons(reasons: readonly FeatureReason[], limit = 5): FeatureReason[] {
  const raising = reasons.filter((reason) => reason.contribution > 0.002);
  if (raising.length > 0) return raising.slice(0, limit);
  return [...reasons].sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation)).slice(0, limit);
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
