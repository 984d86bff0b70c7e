/**
 * The tell scanner's word check (tells.ts, `tellsIn`) for code that is deployed:
 * the planter draws random names and values and must never draw a marker word,
 * but the planter's package is readable (`lambda:GetFunction`, ReadOnlyAccess), and
 * a readable list of the words it avoids would be the very tell it avoids. So the
 * stems are kept here as 32-bit FNV-1a hashes, and the substrings of a value are
 * hashed and compared; read from the package, this is a filter of some blocked
 * words, as many id generators have. FNV rather than a digest from node:crypto:
 * a dump draws tens of thousands of ids, and this is a few multiplications per
 * character. A hash collision (about 10 in 2^32 per substring) only costs a redraw.
 * tells.ts, with its readable list, stays the tool of the tests and of `plan`;
 * test/stealth/stems.test.ts checks that both give the same verdicts.
 */

/** Hashes of the stems that are a tell anywhere in a value, by stem length. */
const ANYWHERE = new Map<number, ReadonlySet<number>>([
  [5, new Set([0x316a8164, 0xfedf349a, 0xcf2de3f7])],
  [6, new Set([0x1ae9c1a6])],
  [8, new Set([0xef7fffb7, 0x167c332d])],
]);
/** Hashes of the stems that are a tell at the start of a word ("bootstrap" is not, "traps" is). */
const WORD_START = new Map<number, ReadonlySet<number>>([
  [4, new Set([0x60809302, 0x21580954, 0x529c0e91, 0x00e52227])],
]);
const LONGEST = Math.max(...ANYWHERE.keys(), ...WORD_START.keys());

const UUID_SHAPE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The 32-bit FNV-1a hash of `text` (UTF-16 code units): how deployed code recognizes
 * a word without carrying it (the stems here, the registry's names of older versions).
 */
export function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (let at = 0; at < text.length; at++) hash = Math.imul(hash ^ text.charCodeAt(at), FNV_PRIME) >>> 0;
  return hash;
}

/** Whether a stem of `stems` starts at `at` in `text` (lower case). */
function stemAt(text: string, at: number, stems: ReadonlyMap<number, ReadonlySet<number>>): boolean {
  let hash = FNV_OFFSET;
  for (let length = 1; length <= LONGEST && at + length <= text.length; length++) {
    hash = Math.imul(hash ^ text.charCodeAt(at + length - 1), FNV_PRIME) >>> 0;
    if (stems.get(length)?.has(hash)) return true;
  }
  return false;
}

/** Splits on anything not a letter, and on camelCase boundaries: "DecoyFleet" → decoy, fleet. */
export function words(value: string): string[] {
  return value
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter(Boolean);
}

/**
 * Why `value` would be a tell, one reason per hit (none: it is not). The same
 * verdicts as tells.ts `tellsIn`; the reasons name positions, not words.
 */
export function tellsIn(value: string): string[] {
  const reasons: string[] = [];
  const lower = value.toLowerCase();
  for (let at = 0; at < lower.length; at++) {
    if (stemAt(lower, at, ANYWHERE)) reasons.push(`blocked stem at ${at}`);
  }
  for (const [index, word] of words(value).entries()) {
    if (stemAt(word, 0, WORD_START)) reasons.push(`blocked word start in word ${index}`);
  }
  if (UUID_SHAPE.test(value)) reasons.push('UUID-shaped');
  return reasons;
}
