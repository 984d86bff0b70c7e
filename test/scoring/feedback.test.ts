import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, windowsOf } from '../../layers/features';
import { MemorySink } from '../../layers/findings/publish';
import { ModelFileError } from '../../layers/forest';
import { anomalyFindingId } from '../../layers/scoring/findings';
import { describeLabelCounts, withLabelClassifier } from '../../layers/scoring/label-classifier';
import type { Label } from '../../layers/scoring/labels';
import {
  MemoryHistory,
  MemoryLabelStore,
  MemoryLogObjects,
  MemoryModelStore,
  MemoryWindowStore,
} from '../../layers/scoring/memory';
import {
  type ActivityModel,
  parseActivityModel,
  parseActivityModelText,
  serializeActivityModel,
} from '../../layers/scoring/model';
import { scoreAggregates } from '../../layers/scoring/score';
import { runTraining, scoreLogObject } from '../../layers/scoring/service';
import { trainClassifier } from '../../layers/supervised';
import { CUT, scenario } from './scenario';

/** `label` feedback from training to scoring: the classifier in the model, and what it suppresses. */

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const HOUR = 3_600_000;

function counter() {
  const counts = new Map<string, number>();
  return {
    counts,
    count: (metric: string, value = 1) => counts.set(metric, (counts.get(metric) ?? 0) + value),
  };
}

/** Labels of `count` windows of a user's key in the history, each naming its window. */
function labelsOf(user: string, label: Label['label'], count: number): Label[] {
  const windows = windowsOf(
    scenario().history.filter((r) => r.userIdentity?.userName === user),
    60,
  ).slice(0, count);
  return windows.map((window) => ({
    findingId: anomalyFindingId(window.principal.key, window.windowStart, 60),
    label,
    labelledAt: '2024-05-12T00:00:00Z',
    principalKey: window.principal.key,
    windowStart: new Date(window.windowStart).toISOString(),
    windowEnd: new Date(window.windowStart + HOUR).toISOString(),
  }));
}

describe('training with labels', () => {
  it('stores the classifier the labels teach inside the model, and counts them in the status', async () => {
    const labels = new MemoryLabelStore();
    const given = [
      ...labelsOf('alice', 'false-positive', 6),
      ...labelsOf('bob', 'true-positive', 5),
      { findingId: 'e'.repeat(32), label: 'false-positive' as const, labelledAt: '2024-05-12T00:00:00Z' },
    ];
    for (const label of given) await labels.put(label);
    const models = new MemoryModelStore();
    const { count } = counter();
    const status = await runTraining({
      history: new MemoryHistory(scenario().history),
      models,
      labels,
      settings: { windowMinutes: 60, trainingDays: 14, minThreshold: 0.55 },
      now: () => new Date(CUT),
      shouldStop: () => false,
      log: quiet,
      count,
    });
    expect(status).toMatchObject({ status: 'trained', labels: { attack: 5, benign: 6, unmatched: 1 } });
    expect(status.message).toMatch(/5 window\(s\) labelled true positive, 6 false positive/);
    const model = parseActivityModelText(models.model!.text, 'stored');
    expect(model.classifier).toMatchObject({
      examples: { attack: 5, benign: 6 },
      trainedAt: new Date(CUT).toISOString(),
    });
    expect(model.training.excludedWindows).toBe(5);
  });

  it('no label naming a window: no classifier, and a line saying so', () => {
    const { model, history } = scenario();
    const taught = withLabelClassifier(model, windowsOf(history, 60), []);
    expect(taught.model.classifier).toBeUndefined();
    expect(taught.labels).toEqual({ attack: 0, benign: 0, unmatched: 0 });
    expect(describeLabelCounts(taught)).toBe('Labels: none names a window of this history, no classifier.');
  });
});

describe('the model file with a classifier', () => {
  const { model, history } = scenario();
  const taught = withLabelClassifier(
    model,
    windowsOf(history, 60),
    labelsOf('alice', 'false-positive', 6),
  ).model;

  it('round-trips the classifier', () => {
    const back = parseActivityModelText(JSON.stringify(serializeActivityModel(taught)), 'model.json');
    expect(back.classifier).toEqual(taught.classifier);
  });

  it('refuses a broken classifier, naming it', () => {
    const file = serializeActivityModel(taught);
    const activity = file.meta!.activity as Record<string, unknown>;
    const broken = (classifier: unknown) =>
      parseActivityModel({ ...file, meta: { ...file.meta, activity: { ...activity, classifier } } });
    expect(() => broken({ format: 'window-classifier' })).toThrow(ModelFileError);
    expect(() => broken({ format: 'window-classifier' })).toThrow(/meta\.activity\.classifier/);
    expect(() => broken({ ...taught.classifier, features: ['calls'] })).toThrow(/meta\.activity\.classifier/);
  });
});

describe('the scoring function with a classifier', () => {
  const { model, benign } = scenario();
  const hour = Date.parse('2024-05-14T10:00:00Z');
  const inHour = benign.filter((r) => {
    const t = Date.parse(r.eventTime);
    return t >= hour && t < hour + HOUR;
  });
  const scored = scoreAggregates(model, windowsOf(inHour, 60), { explainTop: 0 });
  const top = [...scored].sort((a, b) => b.score - a.score)[0]!;
  // The forest raises the hour's top window, just: the threshold put right under its score.
  const raising: ActivityModel = { ...model, threshold: top.score - 0.01 };
  // A classifier for which every window of the hour looks like those labelled false positives.
  const far = new Float64Array(FEATURE_COUNT).fill(50);
  const classifier = trainClassifier([
    // Six benign labels (refineVerdict wants five of each kind): the hour's windows, repeated if need be.
    ...Array.from({ length: 6 }, (_, i) => ({ vector: scored[i % scored.length]!.features, attack: false })),
    ...Array.from({ length: 6 }, () => ({ vector: far, attack: true })),
  ]);
  const topId = anomalyFindingId(top.window.principal.key, top.window.windowStart, 60);

  async function scoreWith(current: ActivityModel) {
    const logs = new MemoryLogObjects();
    logs.objects.set('trail/AWSLogs/1/CloudTrail/eu-west-1/a.json', JSON.stringify({ Records: inHour }));
    const sink = new MemorySink();
    const { count, counts } = counter();
    await scoreLogObject(
      { bucket: 'trail', key: 'AWSLogs/1/CloudTrail/eu-west-1/a.json' },
      {
        logs,
        models: { current: async () => ({ model: current, version: 'v1' }) },
        windows: new MemoryWindowStore(),
        sink,
        now: () => hour + 2 * HOUR,
        log: quiet,
        count,
      },
    );
    return { ids: sink.findings.map((f) => f.id), counts };
  }

  it('does not publish what the labels suppress, and counts it', async () => {
    expect(scored.length).toBeGreaterThan(1);
    const forestOnly = await scoreWith(raising);
    expect(forestOnly.ids).toContain(topId);
    expect(forestOnly.counts.get('SuppressedByFeedback')).toBeUndefined();
    const refined = await scoreWith({ ...raising, classifier });
    expect(refined.ids).not.toContain(topId);
    expect(refined.counts.get('SuppressedByFeedback')).toBeGreaterThanOrEqual(1);
  });
});
