import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../layers/features';
import { ModelFileError, scoreForest } from '../../layers/forest';
import { anomalyFindingId } from '../../layers/scoring/findings';
import {
  parseActivityModel,
  parseActivityModelText,
  serializeActivityModel,
} from '../../layers/scoring/model';
import { scoreWindows } from '../../layers/scoring/score';
import { syntheticActivity } from '../../layers/scoring/synthetic';
import { quantile, trainModel } from '../../layers/scoring/train';
import { CUT, scenario } from './scenario';

describe('training', () => {
  const { model, history } = scenario();

  it('records what it trained on, and a threshold from the training scores', () => {
    expect(model.windowMinutes).toBe(60);
    expect(model.trainingWindow).toEqual({
      start: '2024-05-06T00:00:00.000Z',
      end: '2024-05-13T00:00:00.000Z',
    });
    expect(model.training.records).toBe(history.length);
    expect(model.training.principals).toBe(7 + 6);
    expect(model.training.thresholdRule.quantile).toBe(0.995);
    expect(model.threshold).toBe(Math.max(0.5, model.training.thresholdRule.quantileScore));
    expect(model.forest.featureNames).toEqual([...FEATURE_NAMES]);
    expect(model.forest.trees).toBe(200);
  });

  it('the same history and seed give the same model', () => {
    const again = trainModel(history);
    expect(again.status).toBe('trained');
    if (again.status === 'trained') {
      expect(JSON.stringify(serializeActivityModel(again.model))).toBe(
        JSON.stringify(serializeActivityModel(model)),
      );
    }
  });

  it('too little history: a clear status and no model', () => {
    const day = [...syntheticActivity({ days: 1 })].filter((r) => r.eventTime < '2024-05-06T08:00:00Z');
    const result = trainModel(day);
    expect(result).toMatchObject({ status: 'insufficient-history', needed: 48, records: day.length });
    if (result.status === 'insufficient-history') {
      expect(result.windows).toBeLessThan(48);
      expect(result.message).toMatch(/48 needed: no model yet/);
    }
    expect(trainModel([])).toMatchObject({ status: 'insufficient-history', windows: 0 });
  });

  it('windows labelled as attacks are left out of the rows and the baselines', () => {
    const alice = history.find((r) => r.userIdentity?.userName === 'alice')!.userIdentity!.accessKeyId!;
    const aliceWindow = history.find((r) => r.userIdentity?.accessKeyId === alice)!;
    const start = Math.floor(Date.parse(aliceWindow.eventTime) / 3_600_000) * 3_600_000;
    const labels = [
      {
        findingId: anomalyFindingId(alice, start, 60),
        label: 'true-positive' as const,
        labelledAt: '2024-05-20T00:00:00Z',
      },
      // A false positive is kept: it is normal activity.
      {
        findingId: anomalyFindingId(alice, start + 3_600_000, 60),
        label: 'false-positive' as const,
        labelledAt: '2024-05-20T00:00:00Z',
      },
    ];
    const result = trainModel(history, { labels });
    expect(result.status).toBe('trained');
    if (result.status === 'trained') {
      expect(result.model.training.excludedWindows).toBe(1);
      expect(result.model.training.rows).toBe(model.training.rows - 1);
      expect(result.model.baselines.principals.get(alice)!.windows).toBe(
        model.baselines.principals.get(alice)!.windows - 1,
      );
    }
  });

  it('rejects nonsense options with the option named', () => {
    expect(() => trainModel(history, { thresholdQuantile: 1.5 })).toThrow(/thresholdQuantile/);
  });

  it('quantile interpolates', () => {
    expect(quantile([0, 1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
  });
});

describe('the model file', () => {
  const { model, benign } = scenario();

  it('round-trips: same trees, threshold, baselines and scores', () => {
    const text = JSON.stringify(serializeActivityModel(model));
    const back = parseActivityModelText(text, 'model.json');
    expect(back.threshold).toBe(model.threshold);
    expect(back.trainingWindow).toEqual(model.trainingWindow);
    expect(back.training).toEqual(model.training);
    expect(back.baselines.principals.size).toBe(model.baselines.principals.size);
    const sample = benign.filter((r) => Date.parse(r.eventTime) < CUT + 86_400_000);
    const before = scoreWindows(model, sample).map((s) => s.score);
    const after = scoreWindows(back, sample).map((s) => s.score);
    after.forEach((score, i) => {
      expect(score).toBeCloseTo(before[i]!, 9);
    });
    // Compact: typed arrays in base64, baselines capped.
    expect(text.length).toBeLessThan(1_000_000);
  });

  it('refuses what is not an activity model, naming why', () => {
    const file = serializeActivityModel(model);
    expect(() => parseActivityModelText('{"format":', 'm.json')).toThrow(/m\.json is not JSON/);
    expect(() => parseActivityModel({ ...file, format: 'other' })).toThrow(ModelFileError);
    expect(() => parseActivityModel({ ...file, meta: {} })).toThrow(/meta\.activity/);
    expect(() =>
      parseActivityModel({
        ...file,
        meta: { activity: { ...(file.meta!.activity as object), featureVersion: 0 } },
      }),
    ).toThrow(/train a new model/);
    expect(() => parseActivityModel({ ...file, threshold: 2 })).toThrow(/threshold/);
    expect(() => parseActivityModel({ ...file, features: [...file.features.slice(1), 'calls'] })).toThrow(
      /train a new model/,
    );
  });

  it('scoring an empty set of records gives no windows; the forest sees rows of the model width', () => {
    expect(scoreWindows(model, [])).toEqual([]);
    expect(() => scoreForest(model.forest, [[1, 2, 3]])).toThrow(/values, expected/);
  });
});
