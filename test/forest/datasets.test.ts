import { IsolationForest } from 'ml-isolation-forest';
import { describe, expect, it } from 'vitest';
import { rocAuc, scoreForest, trainForest } from '../../layers/forest';
import { loadOutlierSet, mean, OUTLIER_SETS, SKLEARN_AUC, spearman } from './outliers';

const SEEDS = [1, 2, 3];

describe('AUC on the outlier sets of Liu, Ting & Zhou (2008)', () => {
  it.each(OUTLIER_SETS)('%s: mean AUC over 3 seeds is within 0.02 of scikit-learn', (name) => {
    const set = loadOutlierSet(name);
    const aucs = SEEDS.map((seed) =>
      rocAuc(scoreForest(trainForest(set.features, { seed }), set.features), set.labels),
    );
    // A bound, not an exact float: seeds and engines legitimately differ a little.
    expect(mean(aucs)).toBeGreaterThanOrEqual(SKLEARN_AUC[name] - 0.02);
  });
});

describe('cross-check against ml-isolation-forest', () => {
  // Small sets only: ml-isolation-forest grows every tree on all rows. It has no
  // seed, so AUCs are averaged over runs on both sides to keep the test steady.
  it.each(['breastw', 'ionosphere', 'pima'] as const)(
    '%s: similar AUC and rank-correlated scores',
    (name) => {
      const set = loadOutlierSet(name);
      const ours = SEEDS.map((seed) => scoreForest(trainForest(set.features, { seed }), set.features));
      const theirs = [1, 2].map(() => {
        const reference = new IsolationForest({ nEstimators: 100 });
        reference.train(set.features);
        return reference.predict(set.features);
      });
      const ourAuc = mean(ours.map((scores) => rocAuc(scores, set.labels)));
      const theirAuc = mean(theirs.map((scores) => rocAuc(scores, set.labels)));

      expect(Math.abs(ourAuc - theirAuc)).toBeLessThan(0.04);
      expect(spearman(ours[0]!, theirs[0]!)).toBeGreaterThan(0.9);
    },
  );
});
