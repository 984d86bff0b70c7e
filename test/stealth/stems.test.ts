import { describe, expect, it } from 'vitest';
import { tellsIn as hashedTellsIn } from '../../layers/stealth/stems';
import { MARKER_WORDS, tellsIn } from '../../layers/stealth/tells';

/** The deployed check (hashed stems) must give the same verdicts as the readable scanner. */
const verdict = (value: string) => tellsIn(value).length > 0;
const hashedVerdict = (value: string) => hashedTellsIn(value).length > 0;

describe('stems.ts: the tell check without a readable word list', () => {
  const pieces = MARKER_WORDS.flatMap((word) => {
    const out: string[] = [];
    for (let from = 0; from < word.length; from++)
      for (let to = from + 3; to <= word.length; to++) out.push(word.slice(from, to));
    return out;
  });
  const contexts = [
    (p: string) => p,
    (p: string) => `x${p}y`,
    (p: string) => `${p}s`,
    (p: string) => `a-${p}`,
    (p: string) => `boot${p}`,
    (p: string) => `my${p[0]!.toUpperCase()}${p.slice(1)}Name`,
    (p: string) => `/prod/${p.toUpperCase()}/x`,
  ];

  it('agrees with tells.ts on every piece of every marker word, in every context', () => {
    const disagreements = pieces
      .flatMap((piece) => contexts.map((context) => context(piece)))
      .filter((value) => verdict(value) !== hashedVerdict(value));
    expect(disagreements).toEqual([]);
  });

  it('flags each marker word and passes ordinary names', () => {
    for (const word of MARKER_WORDS) expect(hashedVerdict(`svc-${word}-01`), word).toBe(true);
    for (const name of ['bootstrap', 'failure', 'payments-db', 'orders-export', 'BootstrapVersion'])
      expect(hashedVerdict(name), name).toBe(false);
    expect(hashedVerdict('a 12345678-1234-1234-1234-123456789abc')).toBe(true);
  });

  it('agrees with tells.ts on random strings', () => {
    let seed = 7;
    // xorshift32: deterministic, so a disagreement is reproducible.
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    // The marker words' own letters, so that a good share of the draws hold one.
    const alphabet = 'acdeoprtyT-';
    const values = Array.from({ length: 5000 }, () =>
      Array.from({ length: 24 }, () => alphabet[next() % alphabet.length]).join(''),
    );
    expect(values.filter((value) => verdict(value) !== hashedVerdict(value))).toEqual([]);
    expect(values.filter(verdict).length).toBeGreaterThan(5);
  });

  it('holds no marker word in its source', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('../../layers/stealth/stems.ts', import.meta.url), 'utf8');
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(tellsIn(code).filter((tell) => !tell.reason.includes('UUID'))).toEqual([]);
  });
});
