import { describe, expect, it } from 'vitest';
import { ForestInputError, scoreForest, scoreOne, trainForest } from '../../layers/forest';
import { averagePathLength } from '../../layers/forest/pathLength';
import { loadOutlierSet } from './outliers';

/** A tight 2-D cluster plus one far point: the far point must score highest. */
function clusterWithOutlier(): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < 200; i++) rows.push([Math.sin(i) * 0.5, Math.cos(i * 1.3) * 0.5]);
  rows.push([8, -9]);
  return rows;
}

describe('trainForest and scoreForest', () => {
  it('scores an obvious outlier highest, all scores in [0, 1]', () => {
    const rows = clusterWithOutlier();
    const scores = scoreForest(trainForest(rows), rows);
    expect(scores).toHaveLength(rows.length);
    for (const score of scores) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    expect(Math.max(...scores)).toBe(scores[200]);
    expect(scores[200]).toBeGreaterThan(0.7);
  });

  it('records the options and defaults (100 trees, ψ = 256, seed 1)', () => {
    const { features, featureNames } = loadOutlierSet('pima');
    const model = trainForest(features, { featureNames });
    expect(model).toMatchObject({ trees: 100, sampleSize: 256, seed: 1, nFeatures: 8 });
    expect(model.featureNames).toEqual(featureNames);
    expect(model.treeRoots).toHaveLength(100);
    expect(trainForest([[1], [2], [3]]).featureNames).toEqual(['x0']);
  });

  it('grows trees no deeper than ceil(log2 ψ) whose leaves hold exactly ψ rows', () => {
    const { features } = loadOutlierSet('breastw');
    const model = trainForest(features, { trees: 20, sampleSize: 64 });
    for (let t = 0; t < model.trees; t++) {
      const end = t + 1 < model.trees ? model.treeRoots[t + 1]! : model.splitFeature.length;
      let rows = 0;
      for (let node = model.treeRoots[t]!; node < end; node++) {
        if (model.splitFeature[node]! < 0) {
          rows += model.leafSize[node]!;
          const depth = model.leafPathLength[node]! - averagePathLength(model.leafSize[node]!);
          expect(Math.round(depth)).toBeLessThanOrEqual(6);
        }
      }
      expect(rows).toBe(64);
    }
  });

  it('uses every row when ψ is larger than the row count', () => {
    const rows = clusterWithOutlier();
    const model = trainForest(rows, { sampleSize: 10_000 });
    expect(model.sampleSize).toBe(rows.length);
    expect(scoreForest(model, rows)[200]).toBeGreaterThan(0.7);
  });

  it('never splits on a constant feature, and makes duplicate rows one leaf', () => {
    const rows = clusterWithOutlier().map(([a, b]) => [a!, 5, b!]);
    const model = trainForest(rows, { trees: 10 });
    expect([...model.splitFeature].filter((f) => f === 1)).toEqual([]);

    const duplicates = trainForest(
      Array.from({ length: 10 }, () => [1, 2]),
      { trees: 3 },
    );
    expect([...duplicates.splitFeature]).toEqual([-1, -1, -1]);
    expect([...duplicates.leafSize]).toEqual([10, 10, 10]);
  });

  it('takes a row-major Float64Array as well as row arrays', () => {
    const rows = clusterWithOutlier();
    const flat = Float64Array.from(rows.flat());
    const fromArrays = trainForest(rows, { seed: 4 });
    const fromFlat = trainForest(flat, { seed: 4, nFeatures: 2 });
    expect(scoreForest(fromFlat, flat)).toEqual(scoreForest(fromArrays, rows));
    expect(trainForest(flat, { featureNames: ['a', 'b'] }).nFeatures).toBe(2);
  });

  it('scoreOne gives the same score as scoreForest', () => {
    const rows = clusterWithOutlier();
    const model = trainForest(rows);
    const scores = scoreForest(model, rows);
    expect(scoreOne(model, rows[200]!)).toBe(scores[200]);
    expect(scoreOne(model, rows[3]!)).toBe(scores[3]);
  });
});

describe('determinism', () => {
  const { features } = loadOutlierSet('ionosphere');

  it('gives identical scores for the same seed', () => {
    const first = scoreForest(trainForest(features, { seed: 42 }), features);
    const second = scoreForest(trainForest(features, { seed: 42 }), features);
    expect(second).toEqual(first);
  });

  it('gives different scores for a different seed', () => {
    const first = scoreForest(trainForest(features, { seed: 42 }), features);
    const other = scoreForest(trainForest(features, { seed: 43 }), features);
    expect(other).not.toEqual(first);
  });
});

describe('bad input', () => {
  const model = trainForest(clusterWithOutlier(), { trees: 5, featureNames: ['cpu', 'calls'] });

  it.each<[string, () => unknown, RegExp]>([
    ['no rows', () => trainForest([]), /no rows/],
    ['an empty Float64Array', () => trainForest(new Float64Array(0), { nFeatures: 3 }), /no rows/],
    ['one row', () => trainForest([[1, 2]]), /at least 2 rows/],
    ['rows of different lengths', () => trainForest([[1, 2], [3, 4], [5]]), /row 2 has 1 values, expected 2/],
    [
      'NaN',
      () =>
        trainForest([
          [1, 2],
          [3, Number.NaN],
        ]),
      /row 1 feature 1 is NaN/,
    ],
    [
      'Infinity, naming the feature',
      () =>
        trainForest(
          [
            [1, 2],
            [Number.POSITIVE_INFINITY, 4],
          ],
          { featureNames: ['a', 'b'] },
        ),
      /row 1 feature 0 \(a\) is Infinity/,
    ],
    ['a flat array without a width', () => trainForest(new Float64Array(4)), /needs nFeatures/],
    [
      'a flat array of partial rows',
      () => trainForest(new Float64Array(5), { nFeatures: 2 }),
      /not a whole number/,
    ],
    [
      'featureNames of the wrong length',
      () => trainForest([[1], [2]], { featureNames: ['a', 'b'] }),
      /2 names/,
    ],
    ['zero trees', () => trainForest([[1], [2]], { trees: 0 }), /trees must be a positive integer/],
    ['ψ of 1', () => trainForest([[1], [2]], { sampleSize: 1 }), /sampleSize must be at least 2/],
    ['a fractional seed', () => trainForest([[1], [2]], { seed: 1.5 }), /seed must be an integer/],
  ])('trainForest rejects %s', (_, train, message) => {
    expect(train).toThrow(ForestInputError);
    expect(train).toThrow(message);
  });

  it('scoreForest throws on a non-finite value, naming the row', () => {
    const rows = [
      [0, 0],
      [1, Number.NaN],
    ];
    expect(() => scoreForest(model, rows)).toThrow(/scoreForest: row 1 feature 1 \(calls\) is NaN/);
  });

  it('scoreForest throws on a row of the wrong width, naming the row', () => {
    expect(() =>
      scoreForest(model, [
        [0, 0],
        [0, 0],
        [1, 2, 3],
      ]),
    ).toThrow(/row 2 has 3 values, expected 2/);
    expect(() => scoreOne(model, [1])).toThrow(ForestInputError);
  });
});
