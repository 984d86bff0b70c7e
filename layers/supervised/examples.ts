import { emptyBaselines, FEATURE_COUNT, featuresOf, learnWindow, type WindowAggregate } from '../features';
import { anomalyFindingId } from '../scoring/findings';
import { type Label, labelIndex } from '../scoring/labels';
import {
  type ClassifierModel,
  type LabelledExample,
  type TrainClassifierOptions,
  trainClassifier,
} from './classifier';

/**
 * The classifier's examples from `label` feedback: each labelled window's feature
 * vector, computed as the forest saw it (against the history before the window,
 * the same walk as training's featureRowsOf: windows labelled attacks do not teach
 * the history). A label finds its window by the anomaly finding's id, or by the
 * principal and time span it carries (so it survives a new window length); labels
 * of findings that are not about a window have none and teach nothing here. Pure.
 */
export interface LabelledWindow extends LabelledExample {
  readonly findingId: string;
  readonly window: WindowAggregate;
}

export function labelledExamplesOf(
  windows: readonly WindowAggregate[],
  windowMinutes: number,
  labels: readonly Label[],
): { examples: LabelledWindow[]; unmatched: string[] } {
  const latest = [...labelIndex(labels).values()];
  const byId = new Map(latest.map((label) => [label.findingId, label]));
  const bySpan = new Map<string, { start: number; end: number; label: Label }[]>();
  for (const label of latest) {
    if (!label.principalKey || !label.windowStart || !label.windowEnd) continue;
    const start = Date.parse(label.windowStart);
    const end = Date.parse(label.windowEnd);
    if (Number.isNaN(start) || Number.isNaN(end)) continue;
    const list = bySpan.get(label.principalKey) ?? [];
    list.push({ start, end, label });
    bySpan.set(label.principalKey, list);
  }
  const labelOf = (window: WindowAggregate): Label | undefined => {
    const id = anomalyFindingId(window.principal.key, window.windowStart, windowMinutes);
    const end = window.windowStart + windowMinutes * 60_000;
    return (
      byId.get(id) ??
      bySpan.get(window.principal.key)?.find((span) => span.start < end && window.windowStart < span.end)
        ?.label
    );
  };

  const baselines = emptyBaselines(FEATURE_COUNT);
  const examples: LabelledWindow[] = [];
  const matched = new Set<string>();
  for (const window of windows) {
    const label = labelOf(window);
    const { vector, traits } = featuresOf(window, baselines);
    if (label) {
      matched.add(label.findingId);
      examples.push({ findingId: label.findingId, window, vector, attack: label.label === 'true-positive' });
    }
    if (label?.label === 'true-positive') continue;
    learnWindow(baselines, traits);
  }
  const unmatched = latest.map((label) => label.findingId).filter((id) => !matched.has(id));
  return { examples, unmatched };
}

/**
 * The classifier the labels teach, over the windows of the CloudTrail history
 * (what `train` and the training function read): undefined when no label names a
 * window. Labels whose window is not in the history are listed, not fatal.
 */
export function classifierFromLabels(
  windows: readonly WindowAggregate[],
  windowMinutes: number,
  labels: readonly Label[],
  options: TrainClassifierOptions = {},
): { model: ClassifierModel | undefined; unmatched: string[] } {
  const { examples, unmatched } = labelledExamplesOf(windows, windowMinutes, labels);
  return { model: examples.length > 0 ? trainClassifier(examples, options) : undefined, unmatched };
}
