import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import type { Finding } from '../../layers/findings/finding';
import { MemorySink } from '../../layers/findings/publish';
import { processScoringBatch, processTrainingEvent, TRAINING_JOB_INPUT } from '../../layers/scoring/events';
import {
  MemoryHistory,
  MemoryLabelStore,
  MemoryLogObjects,
  MemoryModelStore,
  MemoryWindowStore,
} from '../../layers/scoring/memory';
import { parseActivityModelText, serializeActivityModel } from '../../layers/scoring/model';
import { type ModelCache, modelCache, runTraining, scoreLogObject } from '../../layers/scoring/service';
import { CUT, scenario, windowId } from './scenario';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

function counter() {
  const counts = new Map<string, number>();
  return {
    counts,
    count: (metric: string, value = 1) => counts.set(metric, (counts.get(metric) ?? 0) + value),
  };
}

function trainingDeps(
  records: readonly CloudTrailRecord[],
  overrides: Partial<Omit<Parameters<typeof runTraining>[0], 'models' | 'labels'>> = {},
) {
  const { count, counts } = counter();
  const models = new MemoryModelStore();
  const labels = new MemoryLabelStore();
  return {
    counts,
    deps: {
      history: new MemoryHistory(records),
      settings: { windowMinutes: 60, trainingDays: 14, minThreshold: 0.55 },
      now: () => new Date(CUT),
      shouldStop: () => false,
      log: quiet,
      count,
      ...overrides,
      // After the overrides, so the memory stores keep their type (the tests look inside them).
      models,
      labels,
    },
  };
}

describe('the training function', () => {
  it('reads the history, trains and writes the model and a status', async () => {
    const { deps, counts } = trainingDeps(scenario().history);
    const status = await runTraining(deps);
    expect(status).toMatchObject({
      status: 'trained',
      at: new Date(CUT).toISOString(),
      records: scenario().history.length,
    });
    expect(deps.models.status).toEqual(status);
    const model = parseActivityModelText(deps.models.model!.text, 'stored');
    expect(model.threshold).toBeGreaterThanOrEqual(0.55);
    expect(counts.get('ModelsTrained')).toBe(1);
  });

  it('too little history: a status saying so, and no model', async () => {
    const { deps } = trainingDeps(scenario().history.slice(0, 200));
    const status = await runTraining(deps);
    expect(status).toMatchObject({ status: 'insufficient-history', needed: 48 });
    expect(status.message).toMatch(/no model yet.*history from memory/);
    expect(deps.models.model).toBeUndefined();
  });

  it('a history cut short by the time budget trains on what was read, and says so', async () => {
    const { deps } = trainingDeps(scenario().history, {
      history: new MemoryHistory(scenario().history, 20_000),
    });
    const status = await runTraining(deps);
    expect(status).toMatchObject({ status: 'trained', truncated: true });
  });

  it('a failure is recorded as the status, then rethrown', async () => {
    const { deps, counts } = trainingDeps([], {
      history: {
        description: 'broken',
        read: async () => {
          throw new Error('ListObjectsV2 s3://trail/AWSLogs/: AccessDenied');
        },
      },
    });
    await expect(runTraining(deps)).rejects.toThrow(/AccessDenied/);
    expect(deps.models.status).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/AccessDenied/),
    });
    expect(counts.get('TrainingFailed')).toBe(1);
  });

  it('stores labels from "Finding Labelled" events, and training leaves those windows out', async () => {
    const { deps } = trainingDeps(scenario().history);
    const aliceRecord = scenario().history.find((r) => r.userIdentity?.userName === 'alice')!;
    const [key, start] = windowId(aliceRecord).split('|');
    const stored = await processTrainingEvent(
      {
        'detail-type': 'Finding Labelled',
        source: 'platform.security-findings',
        time: '2024-05-20T09:00:00Z',
        detail: {
          findingId: 'f'.repeat(32),
          label: 'true-positive',
          principalKey: key,
          windowStart: new Date(Number(start)).toISOString(),
          windowEnd: new Date(Number(start) + 3_600_000).toISOString(),
        },
      },
      deps,
    );
    expect(stored).toEqual({ kind: 'label-stored', findingId: 'f'.repeat(32) });
    expect(deps.labels.labels.get('f'.repeat(32))).toMatchObject({ labelledAt: '2024-05-20T09:00:00Z' });
    const trained = await processTrainingEvent(TRAINING_JOB_INPUT, deps);
    expect(trained.kind).toBe('trained');
    const model = parseActivityModelText(deps.models.model!.text, 'stored');
    expect(model.training.excludedWindows).toBe(1);
  });

  it('refuses a malformed label and an unknown event, naming what is wrong', async () => {
    const { deps } = trainingDeps([]);
    await expect(
      processTrainingEvent(
        { 'detail-type': 'Finding Labelled', time: 't', detail: { findingId: 'x', label: 'yes' } },
        deps,
      ),
    ).rejects.toThrow(/detail\.findingId.*detail\.label/);
    await expect(processTrainingEvent({ hello: 'world' }, deps)).rejects.toThrow(
      /unexpected event \(keys: hello\)/,
    );
  });
});

describe('the model cache', () => {
  it('says why there is no model, loads one when it appears, and checks again only after the interval', async () => {
    const store = new MemoryModelStore();
    store.status = {
      status: 'insufficient-history',
      at: 't',
      records: 3,
      windows: 1,
      needed: 48,
      message: '1 window',
    };
    let now = 0;
    const { count } = counter();
    const cache = modelCache(store, { checkEveryMs: 1000, now: () => now, log: quiet, count });
    expect(await cache.current()).toEqual({
      model: undefined,
      reason: expect.stringMatching(/insufficient-history at t: 1 window/),
    });
    await store.putModel(JSON.stringify(serializeActivityModel(scenario().model)));
    expect((await cache.current()).model).toBeUndefined();
    now = 1000;
    const loaded = await cache.current();
    expect(loaded.model?.threshold).toBe(scenario().model.threshold);
    now = 5000;
    expect(await cache.current()).toBe(loaded);
  });

  it('an unreadable model is a reason (and a metric), not a crash', async () => {
    const store = new MemoryModelStore();
    await store.putModel('{"format":"isolation-forest"}');
    const { count, counts } = counter();
    const state = await modelCache(store, { checkEveryMs: 0, now: () => 0, log: quiet, count }).current();
    expect(state).toMatchObject({ model: undefined, reason: expect.stringMatching(/invalid model file/) });
    expect(counts.get('ModelUnreadable')).toBe(1);
  });
});

describe('the scoring function', () => {
  const { model, benign, attacks } = scenario();
  const alice = attacks.find((a) => a.as === 'alice')!;
  const hour = Date.parse('2024-05-13T21:00:00Z');
  // Alice's attacked hour as two log files, plus the rest of the account in that hour.
  const inHour = [...benign, ...alice.records].filter((r) => {
    const t = Date.parse(r.eventTime);
    return t >= hour && t < hour + 3_600_000;
  });
  // Two files that each hold part of every window (CloudTrail writes one per region every few minutes).
  const first = inHour.filter((_, i) => i % 2 === 0);
  const second = inHour.filter((_, i) => i % 2 === 1);

  function setup(cache?: ModelCache) {
    const logs = new MemoryLogObjects();
    logs.objects.set(
      'trail/AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/a.json.gz',
      JSON.stringify({ Records: first }),
    );
    logs.objects.set(
      'trail/AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/b.json.gz',
      JSON.stringify({ Records: second }),
    );
    const sink = new MemorySink();
    const windows = new MemoryWindowStore();
    const { count, counts } = counter();
    const deps = {
      logs,
      models: cache ?? { current: async () => ({ model, version: 'v1' }) },
      windows,
      sink,
      now: () => Date.parse('2024-05-13T22:10:00Z'),
      log: quiet,
      count,
    };
    const ref = (name: string) => ({
      bucket: 'trail',
      key: `AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/${name}.json.gz`,
    });
    return { deps, sink, windows, counts, ref };
  }

  const aliceWindow = windowId(alice.records[0]!);

  it('merges a window across log files, and reports it once when it crosses the threshold', async () => {
    const { deps, sink, windows, ref } = setup();
    await scoreLogObject(ref('a'), deps);
    const afterSecond = await scoreLogObject(ref('b'), deps);
    const stored = windows.items.get(aliceWindow)!;
    expect(stored.window.calls).toBe(inHour.filter((r) => windowId(r) === aliceWindow).length);
    expect(stored.sources).toHaveLength(2);
    expect(stored.reportedAt).toBeDefined();
    const aliceFindings = sink.findings.filter((f: Finding) => f.actor.arn.endsWith('user/alice'));
    expect(aliceFindings).toHaveLength(1);
    expect(aliceFindings[0]).toMatchObject({
      kind: 'anomaly',
      score: { windowStart: '2024-05-13T21:00:00.000Z' },
    });
    expect(afterSecond.records).toBe(second.length);
  });

  it('a redelivered log file is neither counted nor reported twice', async () => {
    const { deps, sink, windows, ref } = setup();
    await scoreLogObject(ref('a'), deps);
    await scoreLogObject(ref('b'), deps);
    const calls = windows.items.get(aliceWindow)!.window.calls;
    const published = sink.findings.length;
    await scoreLogObject(ref('b'), deps);
    await scoreLogObject(ref('a'), deps);
    expect(windows.items.get(aliceWindow)!.window.calls).toBe(calls);
    expect(sink.findings).toHaveLength(published);
  });

  it('retries a lost write race', async () => {
    const { deps, windows, counts, ref } = setup();
    windows.conflicts = 2;
    await scoreLogObject(ref('a'), deps);
    expect(counts.get('WindowWriteConflicts')).toBe(2);
    expect(windows.items.get(aliceWindow)).toBeDefined();
  });

  it('stays quiet without a model, and says why', async () => {
    const { deps, sink, counts, ref } = setup({
      current: async () => ({ model: undefined, reason: 'no model has been trained yet' }),
    });
    expect(await scoreLogObject(ref('a'), deps)).toMatchObject({
      skipped: 'no model has been trained yet',
      findings: [],
    });
    expect(sink.findings).toEqual([]);
    expect(counts.get('ScoringSkippedNoModel')).toBe(1);
  });

  it('skips digest files', async () => {
    const { deps } = setup();
    const outcome = await scoreLogObject(
      { bucket: 'trail', key: 'AWSLogs/1/CloudTrail-Digest/eu-west-1/x.json.gz' },
      deps,
    );
    expect(outcome.skipped).toMatch(/digest/);
  });

  it('a batch reports only its failed messages back (partial batch failure)', async () => {
    const { deps, sink } = setup();
    const notification = (key: string) =>
      JSON.stringify({
        Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'trail' }, object: { key } } }],
      });
    const result = await processScoringBatch(
      {
        Records: [
          { messageId: 'm1', body: notification('AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/a.json.gz') },
          { messageId: 'm2', body: 'not json' },
          { messageId: 'm3', body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) },
          {
            messageId: 'm4',
            body: notification('AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/missing.json.gz'),
          },
          { messageId: 'm5', body: notification('AWSLogs/1/CloudTrail/eu-west-1/2024/05/13/b.json.gz') },
        ],
      },
      deps,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm4' }] });
    expect(sink.findings.some((f) => f.actor.arn.endsWith('user/alice'))).toBe(true);
  });

  it('a failed publish fails the message; the retry publishes', async () => {
    const { deps, ref } = setup();
    let failing = true;
    const published: Finding[] = [];
    const sink = {
      publish: async (finding: Finding) => {
        if (failing) throw new Error('SNS: ThrottlingException');
        published.push(finding);
      },
    };
    await expect(scoreLogObject(ref('a'), { ...deps, sink })).rejects.toThrow(/ThrottlingException/);
    failing = false;
    // The redelivered file is already merged (not counted again) but not yet reported: reported now.
    await scoreLogObject(ref('a'), { ...deps, sink });
    await scoreLogObject(ref('b'), { ...deps, sink });
    expect(published.filter((f) => f.actor.arn.endsWith('user/alice'))).toHaveLength(1);
  });

  it('an S3 key is URL-decoded as S3 notifications encode it', async () => {
    const { logObjectsOf } = await import('../../layers/scoring/events');
    expect(
      logObjectsOf(
        JSON.stringify({
          Records: [
            { s3: { bucket: { name: 'b' }, object: { key: 'AWSLogs/a+b%3Dc.json.gz', sequencer: '0A' } } },
          ],
        }),
      ),
    ).toEqual([{ bucket: 'b', key: 'AWSLogs/a b=c.json.gz', version: '0A' }]);
    expect(() => logObjectsOf('{"Records":[{"s3":{}}]}')).toThrow(/not an S3 notification/);
  });
});
