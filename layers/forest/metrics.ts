/**
 * Area under the ROC curve, computed as the Mann-Whitney U statistic: the
 * probability that a random positive (label 1) scores above a random negative
 * (label 0). Ties get the average of the ranks they span, so a tie counts 1/2.
 *
 * Throws when lengths differ, a label is not 0 or 1, a score is NaN, or one
 * class is missing (AUC is undefined then).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`rocAuc: ${n} scores but ${labels.length} labels`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new Error(`rocAuc: label ${i} is ${label}, expected 0 or 1`);
    if (Number.isNaN(scores[i])) throw new Error(`rocAuc: score ${i} is NaN`);
    positives += label;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(`rocAuc: needs both classes, got ${positives} positives and ${negatives} negatives`);
  }

  // Compare rather than subtract: Infinity - Infinity would be NaN.
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => compare(scores[a]!, scores[b]!));
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    // [start, end) is a run of equal scores; each gets the mean of ranks start+1 .. end.
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]!] === 1) positiveRankSum += averageRank;
    }
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
