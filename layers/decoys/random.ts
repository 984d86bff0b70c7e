import { createHash, randomInt } from 'node:crypto';
import { tellsIn } from '../stealth/stems';

/**
 * Uniform integers in [0, max): crypto in production, seeded in tests. Here rather
 * than in ports.ts (which re-exports it) so that the catalogue and the name
 * choosers depend on no port, and ports.ts -> registry.ts -> spec.ts -> catalogue.ts
 * closes no circle.
 */
export interface RandomSource {
  int(maxExclusive: number): number;
}

/** Production randomness: the values guard nothing, but must not be guessable as a series. */
export const cryptoRandom: RandomSource = { int: (max) => randomInt(max) };

/** A seeded stream that also hands out floats, for generated data (bait files). */
export interface SeededStream extends RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Deterministic randomness (mulberry32 over a hashed seed) for tests, stable derived names and bait data. */
export function seededStream(seed: string): SeededStream {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (max) => Math.floor(next() * max) };
}

export function seededRandom(seed: string): RandomSource {
  const stream = seededStream(seed);
  return { int: (max) => stream.int(max) };
}

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const DIGITS = '0123456789';
export const ALNUM = UPPER + LOWER + DIGITS;
export const LOWER_ALNUM = LOWER + DIGITS;
export const HEX = '0123456789abcdef';
export const BASE64URL = `${ALNUM}-_`;

export function randomString(random: RandomSource, length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

export function randomBytes(random: RandomSource, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = random.int(256);
  return bytes;
}

/**
 * Draws until the value carries no tell. A random 64-character string spells a
 * marker word ("trap", "lure"...) about once in a thousand draws; a daily rotation
 * would eventually plant one.
 */
export function withoutTells(make: () => string, what: string): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = make();
    if (tellsIn(value).length === 0) return value;
  }
  throw new Error(`could not draw a ${what} without a tell in 1000 attempts`);
}

/** A stable lower-case alphanumeric string derived from `seed` (same input, same output), tell-free. */
export function derivedString(seed: string, length: number, alphabet = LOWER_ALNUM): string {
  for (let salt = 0; ; salt++) {
    const value = randomString(seededRandom(`${seed}#${salt}`), length, alphabet);
    if (tellsIn(value).length === 0) return value;
  }
}
