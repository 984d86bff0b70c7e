import type { WindowAggregate } from '../features';
import { ClassifierError, trainClassifier } from '../supervised/classifier';
import { labelledExamplesOf } from '../supervised/examples';
import type { Label } from './labels';
import type { ActivityModel } from './model';

/**
 * Training's second step: the classifier `label` feedback teaches (layers/supervised),
 * stored inside the activity model (`meta.activity.classifier`) so the scorer reads
 * one object and needs no new permission. Shared by the training function
 * (layers/scoring/service.ts) and `honeytrail train`. Pure.
 */

/** What the labels gave the classifier. */
export interface LabelCounts {
  /** Windows of the history labelled true positive / false positive. */
  readonly attack: number;
  readonly benign: number;
  /** Labels naming no window of this history (another period, or a finding that is not about a window). */
  readonly unmatched: number;
}

export interface LabelClassifierResult {
  /** The model, with its classifier when the labels name at least one window. */
  readonly model: ActivityModel;
  readonly labels: LabelCounts;
  /** Why no classifier was trained although labels name windows (the model is kept without one). */
  readonly problem?: string;
}

export function withLabelClassifier(
  model: ActivityModel,
  windows: readonly WindowAggregate[],
  labels: readonly Label[],
  options: { readonly trainedAt?: Date } = {},
): LabelClassifierResult {
  // Never a classifier left over from a model this one was derived from: it would describe other labels.
  const { classifier: _previous, ...forestOnly } = model;
  const { examples, unmatched } = labelledExamplesOf(windows, model.windowMinutes, labels);
  const attack = examples.filter((example) => example.attack).length;
  const counts: LabelCounts = { attack, benign: examples.length - attack, unmatched: unmatched.length };
  if (examples.length === 0) return { model: forestOnly, labels: counts };
  try {
    const classifier = trainClassifier(examples, options.trainedAt ? { trainedAt: options.trainedAt } : {});
    return { model: { ...forestOnly, classifier }, labels: counts };
  } catch (error) {
    // A classifier that cannot be fitted must not cost the forest: the model goes out without it.
    if (!(error instanceof ClassifierError)) throw error;
    return { model: forestOnly, labels: counts, problem: error.message };
  }
}

/** One line for people: what the labels taught. */
export function describeLabelCounts(result: LabelClassifierResult): string {
  const { attack, benign, unmatched } = result.labels;
  const elsewhere = unmatched > 0 ? `; ${unmatched} label(s) name no window of this history` : '';
  if (attack + benign === 0) return `Labels: none names a window of this history, no classifier${elsewhere}.`;
  const taught = result.model.classifier
    ? 'the classifier learned from them'
    : `no classifier (${result.problem ?? 'not trained'})`;
  return `Labels: ${attack} window(s) labelled true positive, ${benign} false positive: ${taught}${elsewhere}.`;
}
