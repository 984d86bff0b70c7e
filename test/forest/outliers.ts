import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type LabelledSet, parseNumericCsv, splitLabelColumn } from '../../layers/forest/csv';

/** The five outlier sets, read from the project's own copy (never /work/shared). */
export const OUTLIER_SETS = ['breastw', 'ionosphere', 'pima', 'satellite', 'shuttle'] as const;
export type OutlierSetName = (typeof OUTLIER_SETS)[number];

/** Mean ROC AUC of scikit-learn's IsolationForest over 10 seeds (bench/sklearn_iforest.py). */
export const SKLEARN_AUC: Record<OutlierSetName, number> = {
  breastw: 0.987,
  ionosphere: 0.856,
  pima: 0.671,
  satellite: 0.701,
  shuttle: 0.997,
};

const DATA_DIR = fileURLToPath(new URL('../../bench/data/outliers/', import.meta.url));
const cache = new Map<OutlierSetName, LabelledSet>();

export function loadOutlierSet(name: OutlierSetName): LabelledSet {
  let set = cache.get(name);
  if (set === undefined) {
    set = splitLabelColumn(parseNumericCsv(readFileSync(`${DATA_DIR}${name}.csv`, 'utf8')));
    cache.set(name, set);
  }
  return set;
}

export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Spearman's rank correlation (average ranks for ties). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const rankA = averageRanks(a);
  const rankB = averageRanks(b);
  const meanRank = (a.length + 1) / 2;
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < a.length; i++) {
    const da = rankA[i]! - meanRank;
    const db = rankB[i]! - meanRank;
    covariance += da * db;
    varianceA += da * da;
    varianceB += db * db;
  }
  return covariance / Math.sqrt(varianceA * varianceB);
}

function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((x, y) => values[x]! - values[y]!);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    for (let k = start; k < end; k++) ranks[order[k]!] = (start + 1 + end) / 2;
    start = end;
  }
  return ranks;
}
