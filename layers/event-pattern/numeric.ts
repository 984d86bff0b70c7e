/**
 * The `numeric` operator and the numbers EventBridge can compare. EventBridge
 * (aws/event-ruler's ComparableNumber) only compares numbers between -5e9 and
 * 5e9 with at most six decimals; a number outside that in an event simply does
 * not match a numeric condition, and one in a pattern is an error.
 */

export const NUMBER_LIMIT = 5e9;

export interface NumericRange {
  readonly lower: number;
  readonly lowerOpen: boolean;
  readonly upper: number;
  readonly upperOpen: boolean;
}

export type NumberTest = (n: number) => boolean;

/** True when EventBridge can compare `n` numerically. */
export function isComparableNumber(n: number): boolean {
  if (!(n >= -NUMBER_LIMIT && n <= NUMBER_LIMIT)) return false; // also rejects NaN
  // Six decimals at most; rounding both ways absorbs binary noise such as 0.1 * 1e6.
  return Math.round(n * 1e6) / 1e6 === n;
}

/** Why `value` cannot be a number in a numeric condition, or undefined if it can. */
export function comparableNumberError(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'expects a number';
  if (value < -NUMBER_LIMIT || value > NUMBER_LIMIT) {
    return `expects a number between -${NUMBER_LIMIT} and ${NUMBER_LIMIT}, got ${value}`;
  }
  if (!isComparableNumber(value)) return `supports at most 6 decimal places, got ${value}`;
  return undefined;
}

const SHAPE = 'expects [op, number] or [">" | ">=", number, "<" | "<=", number]';
const OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

/** Parses the array after "numeric" into a range, or explains what is wrong. */
export function parseNumeric(spec: unknown): { range: NumericRange } | { error: string } {
  if (!Array.isArray(spec) || (spec.length !== 2 && spec.length !== 4)) return { error: SHAPE };
  const [op, value, op2, value2] = spec;
  if (typeof op !== 'string' || !OPERATORS.has(op)) {
    return { error: `unknown numeric operator ${JSON.stringify(op)}; expected =, <, <=, > or >=` };
  }
  const valueError = comparableNumberError(value);
  if (valueError) return { error: `the value after "${op}" ${valueError}` };
  const n = value as number;
  if (spec.length === 2) return { range: singleBound(op, n) };
  if (op !== '>' && op !== '>=') return { error: `only ">" or ">=" may open a two-sided range; ${SHAPE}` };
  if (op2 !== '<' && op2 !== '<=') {
    return { error: `the upper bound needs "<" or "<=", got ${JSON.stringify(op2)}` };
  }
  const value2Error = comparableNumberError(value2);
  if (value2Error) return { error: `the value after "${op2}" ${value2Error}` };
  const upper = value2 as number;
  if (!(n < upper)) return { error: `the lower bound ${n} must be below the upper bound ${upper}` };
  return { range: { lower: n, lowerOpen: op === '>', upper, upperOpen: op2 === '<' } };
}

function singleBound(op: string, n: number): NumericRange {
  switch (op) {
    case '=':
      return { lower: n, lowerOpen: false, upper: n, upperOpen: false };
    case '<':
      return { lower: -Infinity, lowerOpen: true, upper: n, upperOpen: true };
    case '<=':
      return { lower: -Infinity, lowerOpen: true, upper: n, upperOpen: false };
    case '>':
      return { lower: n, lowerOpen: true, upper: Infinity, upperOpen: true };
    default:
      return { lower: n, lowerOpen: false, upper: Infinity, upperOpen: true };
  }
}

/** A test for event numbers; numbers EventBridge cannot compare never match. */
export function numericTest(r: NumericRange): NumberTest {
  const { lower, lowerOpen, upper, upperOpen } = r;
  return (n) =>
    (lowerOpen ? n > lower : n >= lower) && (upperOpen ? n < upper : n <= upper) && isComparableNumber(n);
}
