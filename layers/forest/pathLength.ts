const EULER_MASCHERONI = 0.5772156649;

/**
 * c(n): the average path length of an unsuccessful search in a binary search
 * tree of n points (Liu, Ting & Zhou 2008, eq. 1). It normalises path lengths
 * into scores and stands in for the subtree a leaf of n rows was not grown into.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  const harmonic = Math.log(n - 1) + EULER_MASCHERONI;
  return 2 * harmonic - (2 * (n - 1)) / n;
}
