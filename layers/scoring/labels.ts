import * as z from 'zod';
import { principalKeyOf } from '../features';
import { issueLines } from '../runtime/issues';

/**
 * Feedback on findings: a person says a finding was a true positive (an attack,
 * or at least activity that should be alarming) or a false positive. Training
 * leaves out windows labelled as attacks, so the model does not learn them as
 * normal; the score report shows the precision the labels imply.
 */
export const LABEL_VALUES = ['true-positive', 'false-positive'] as const;
export type LabelValue = (typeof LABEL_VALUES)[number];

export const labelSchema = z.object({
  findingId: z.string().min(8, { message: 'expected a finding id' }),
  label: z.enum(LABEL_VALUES),
  labelledAt: z.string(),
  by: z.string().optional(),
  note: z.string().optional(),
  /** When known (from the finding), the window labelled, so it is matched even if the window length changes. */
  principalKey: z.string().optional(),
  windowStart: z.string().optional(),
  windowEnd: z.string().optional(),
});
export type Label = z.infer<typeof labelSchema>;

export const LABELS_FILE_VERSION = 1;
export const labelsFileSchema = z.object({
  version: z.literal(LABELS_FILE_VERSION),
  labels: z.array(labelSchema),
});
export type LabelsFile = z.infer<typeof labelsFileSchema>;

/**
 * The detail of a "Finding Labelled" event on the central bus: a label, with the
 * time it was given defaulting to the event's time.
 */
export const FINDING_LABELLED_DETAIL_TYPE = 'Finding Labelled';
export const labelEventDetailSchema = labelSchema.extend({ labelledAt: z.string().optional() });

export function emptyLabels(): LabelsFile {
  return { version: LABELS_FILE_VERSION, labels: [] };
}

/** Reads a labels file (parsed JSON); the error names the file and the field. */
export function parseLabels(json: unknown, source: string): LabelsFile {
  const result = labelsFileSchema.safeParse(json);
  if (result.success) return result.data;
  const reasons = issueLines(result.error, { root: '(root)' });
  throw new Error(`${source} is not a labels file: ${reasons.join('; ')}`);
}

/** The file with `label` added; a finding labelled again keeps only its latest label. */
export function withLabel(file: LabelsFile, label: Label): LabelsFile {
  const others = file.labels.filter((existing) => existing.findingId !== label.findingId);
  return { version: LABELS_FILE_VERSION, labels: [...others, label] };
}

/** The latest label of each finding. */
export function labelIndex(labels: readonly Label[]): Map<string, Label> {
  const index = new Map<string, Label>();
  for (const label of labels) {
    const existing = index.get(label.findingId);
    if (!existing || existing.labelledAt <= label.labelledAt) index.set(label.findingId, label);
  }
  return index;
}

/**
 * Decides whether a window was labelled an attack: by finding id, or, when the
 * label carries the principal and time span, by overlap (so a label survives a
 * change of window length).
 */
export function attackWindowMatcher(
  labels: readonly Label[],
): (findingId: string, principalKey: string, startMs: number, endMs: number) => boolean {
  const attacks = [...labelIndex(labels).values()].filter((label) => label.label === 'true-positive');
  const ids = new Set(attacks.map((label) => label.findingId));
  const spans = new Map<string, { start: number; end: number }[]>();
  for (const label of attacks) {
    if (!label.principalKey || !label.windowStart || !label.windowEnd) continue;
    const start = Date.parse(label.windowStart);
    const end = Date.parse(label.windowEnd);
    if (Number.isNaN(start) || Number.isNaN(end)) continue;
    const list = spans.get(label.principalKey) ?? [];
    list.push({ start, end });
    spans.set(label.principalKey, list);
  }
  return (findingId, principalKey, startMs, endMs) =>
    ids.has(findingId) ||
    (spans.get(principalKey) ?? []).some((span) => span.start < endMs && startMs < span.end);
}

export interface Precision {
  readonly findings: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly unlabelled: number;
  /** TP / (TP + FP) over labelled findings; null when none is labelled. */
  readonly precision: number | null;
}

/** Precision of a set of raised findings, as far as the labels say. */
export function precisionOf(findingIds: readonly string[], labels: readonly Label[]): Precision {
  const index = labelIndex(labels);
  let truePositives = 0;
  let falsePositives = 0;
  for (const id of findingIds) {
    const label = index.get(id)?.label;
    if (label === 'true-positive') truePositives++;
    else if (label === 'false-positive') falsePositives++;
  }
  const labelled = truePositives + falsePositives;
  return {
    findings: findingIds.length,
    truePositives,
    falsePositives,
    unlabelled: findingIds.length - labelled,
    precision: labelled === 0 ? null : truePositives / labelled,
  };
}

/** The window a finding is about, as a label records it (so the label survives a new window length). */
export function labelledWindowOf(finding: {
  kind: string;
  actor: { arn: string; accessKeyId?: string | undefined };
  score?: { windowStart: string; windowEnd: string } | undefined;
}): Pick<Label, 'principalKey' | 'windowStart' | 'windowEnd'> {
  if (finding.kind !== 'anomaly' || !finding.score) return {};
  const { accessKeyId, arn } = finding.actor;
  return {
    principalKey: principalKeyOf(accessKeyId, arn),
    windowStart: finding.score.windowStart,
    windowEnd: finding.score.windowEnd,
  };
}
