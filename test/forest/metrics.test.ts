import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../layers/forest/metrics';

describe('rocAuc', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('counts ties as one half (average rank)', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    // Pairs (pos, neg): (0.5 vs 0.1) win, (0.5 vs 0.5) tie, (0.9 vs both) win: (1 + 0.5 + 2) / 4.
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
  });

  it('matches a brute-force pair count on random data', () => {
    const scores = Array.from({ length: 300 }, (_, i) => Math.round(Math.sin(i * 7.1) * 20) / 20);
    const labels = scores.map((_, i) => (Math.cos(i * 3.3) > 0.3 ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let p = 0; p < scores.length; p++) {
      for (let q = 0; q < scores.length; q++) {
        if (labels[p] !== 1 || labels[q] !== 0) continue;
        pairs++;
        wins += scores[p]! > scores[q]! ? 1 : scores[p] === scores[q] ? 0.5 : 0;
      }
    }
    expect(rocAuc(scores, labels)).toBeCloseTo(wins / pairs, 12);
  });

  it('rejects mismatched lengths, bad labels and a single class', () => {
    expect(() => rocAuc([1, 2], [1])).toThrow(/2 scores but 1 labels/);
    expect(() => rocAuc([1, 2], [0, 2])).toThrow(/expected 0 or 1/);
    expect(() => rocAuc([1, 2], [1, 1])).toThrow(/needs both classes/);
  });
});
