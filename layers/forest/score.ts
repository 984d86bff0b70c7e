import { type ForestRows, toMatrix } from './matrix';
import type { ForestModel } from './model';
import { averagePathLength } from './pathLength';

/**
 * Anomaly scores in [0, 1]: s(x, ψ) = 2^(-E[h(x)] / c(ψ)). Near 1 is anomalous,
 * well below 0.5 is normal.
 *
 * Rows must have the model's width and finite values: a row of another length
 * or with NaN/±Infinity throws ForestInputError naming the row index (a NaN
 * would otherwise silently take the right branch at every split).
 */
export function scoreForest(model: ForestModel, rows: ForestRows): Float64Array {
  const { data, nRows, nFeatures } = toMatrix(rows, {
    caller: 'scoreForest',
    nFeatures: model.nFeatures,
    featureNames: model.featureNames,
  });
  const pathSums = new Float64Array(nRows);
  const { treeRoots, splitFeature, splitValue, rightChild, leafPathLength } = model;
  // Tree by tree: one tree's nodes stay hot in L1 while all rows stream past it.
  // Measured on shuttle (49k rows, 100 trees): ~200 ms this way, ~270 ms row by
  // row; blocking rows or branch-free child selection were no faster in V8.
  for (let t = 0; t < treeRoots.length; t++) {
    const root = treeRoots[t]!;
    for (let r = 0, offset = 0; r < nRows; r++, offset += nFeatures) {
      let node = root;
      let feature = splitFeature[node]!;
      while (feature >= 0) {
        node = data[offset + feature]! < splitValue[node]! ? node + 1 : rightChild[node]!;
        feature = splitFeature[node]!;
      }
      pathSums[r]! += leafPathLength[node]!;
    }
  }
  return pathSumsToScores(pathSums, model);
}

/** Score of one row; same rules as scoreForest. */
export function scoreOne(model: ForestModel, row: ArrayLike<number>): number {
  return scoreForest(model, [row])[0]!;
}

function pathSumsToScores(pathSums: Float64Array, model: ForestModel): Float64Array {
  // Turns each sum into a score in place: E[h] = sum / trees.
  const scale = -1 / (model.trees * averagePathLength(model.sampleSize));
  for (let r = 0; r < pathSums.length; r++) pathSums[r] = 2 ** (pathSums[r]! * scale);
  return pathSums;
}
