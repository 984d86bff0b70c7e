/**
 * A seeded pseudo-random generator for the forest.
 *
 * Why our own: Math.random cannot be seeded, and a model must be reproducible
 * from (data, seed) so that tests, benchmarks and retraining give the same trees.
 * mulberry32 is tiny, fast in JS (pure 32-bit integer ops) and good enough for
 * sampling rows and split points; it is not meant for anything cryptographic.
 */
export interface Random {
  /** A float uniform in [0, 1). */
  next(): number;
  /** A float uniform in the open interval (0, 1): never 0, never 1. */
  nextOpen(): number;
  /** An integer uniform in [0, bound). */
  nextInt(bound: number): number;
}

const TWO_POW_32 = 4294967296;

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    next: () => nextUint32() / TWO_POW_32,
    nextOpen: () => (nextUint32() + 0.5) / TWO_POW_32,
    // Multiply-and-floor: the bias is below bound / 2^32, negligible for the
    // small bounds used here (row counts, feature counts).
    nextInt: (bound) => Math.floor((nextUint32() / TWO_POW_32) * bound),
  };
}
