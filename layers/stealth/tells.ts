/**
 * The words and shapes that give a decoy away (design.md, Stealth). Used by the
 * tests on everything deployed or planted, and by `plan`.
 */
import { words } from './stems';

export const MARKER_WORDS = [
  'honey',
  'canary',
  'decoy',
  'trap',
  'fake',
  'bait',
  'lure',
  'sentinel',
  'tripwire',
  'deception',
  'honeytrail',
] as const;

/**
 * Words that are never innocent inside another word. The others ("trap", "fake",
 * "bait", "lure") are checked as the start of a word, so "bootstrap" (CDK's own
 * BootstrapVersion) or "failure" are not flagged while "traps" or "lured" are.
 */
const ANYWHERE = ['honey', 'canar', 'decoy', 'decept', 'tripwire', 'sentinel'];
const WORD_START = ['trap', 'fake', 'bait', 'lure'];

const UUID_SHAPE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export interface Tell {
  value: string;
  reason: string;
  where?: string;
}

export function tellsIn(value: string, where?: string): Tell[] {
  const tells: Tell[] = [];
  const lower = value.toLowerCase();
  for (const stem of ANYWHERE) {
    if (lower.includes(stem)) tells.push({ value, reason: `contains "${stem}"`, where });
  }
  for (const word of words(value)) {
    const stem = WORD_START.find((s) => word.startsWith(s));
    if (stem) tells.push({ value, reason: `word "${word}" starts with "${stem}"`, where });
  }
  if (UUID_SHAPE.test(value)) tells.push({ value, reason: 'contains a UUID-shaped string', where });
  return tells;
}

/** Every string in a JSON value, keys included, with its path. */
export function collectStrings(value: unknown, path = '$', out: { path: string; value: string }[] = []) {
  if (typeof value === 'string') out.push({ path, value });
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) collectStrings(item, `${path}[${i}]`, out);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      out.push({ path: `${path}.<key>`, value: key });
      collectStrings(item, `${path}.${key}`, out);
    }
  }
  return out;
}

/** All tells in a JSON value (a template, a plan, planted content). */
export function findTells(value: unknown): Tell[] {
  return collectStrings(value).flatMap(({ path, value: text }) => tellsIn(text, path));
}
