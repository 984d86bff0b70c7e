/**
 * Turns an EventBridge event pattern (parsed JSON) into a small typed tree and
 * collects every problem on the way, each naming its path. The rules follow
 * EventBridge's documentation and its matcher, aws/event-ruler
 * (JsonRuleCompiler): leaf values are non-empty arrays, objects are non-empty,
 * a match expression has exactly one known operator, `$or` holds two or more
 * objects that use no operator name as a field name.
 */

import { type Cidr, parseCidr } from './ip';
import { comparableNumberError, type NumericRange, parseNumeric } from './numeric';
import { parseWildcard } from './wildcard';

export type Scalar = string | number | boolean | null;

/** One alternative of a leaf's value array. */
export type Condition =
  | { readonly kind: 'exact'; readonly value: Scalar }
  | { readonly kind: 'prefix' | 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'equals-ignore-case'; readonly value: string }
  | { readonly kind: 'wildcard'; readonly pieces: readonly string[] }
  | { readonly kind: 'numeric'; readonly range: NumericRange }
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'anything-but'; readonly values: readonly string[] | readonly number[] }
  | {
      readonly kind: 'anything-but-prefix' | 'anything-but-suffix' | 'anything-but-ignore-case';
      readonly values: readonly string[];
    }
  | { readonly kind: 'anything-but-wildcard'; readonly patterns: readonly (readonly string[])[] };

export type FieldNode =
  | { readonly key: string; readonly kind: 'leaf'; readonly conditions: readonly Condition[] }
  | { readonly key: string; readonly kind: 'object'; readonly node: ObjectNode };

/** All fields must match (AND); each `$or` group needs one matching branch. */
export interface ObjectNode {
  readonly fields: readonly FieldNode[];
  readonly or: readonly (readonly ObjectNode[])[];
}

export const OR_KEY = '$or';

/** Operators EventBridge accepts inside a match expression. */
export const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
] as const;
const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS);

/**
 * Field names aws/event-ruler refuses inside `$or` (RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP),
 * because there they would be ambiguous with operators.
 */
const RESERVED_IN_OR: ReadonlySet<string> = new Set([
  ...OPERATORS,
  'exactly',
  'html',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

export interface ParseResult {
  readonly node: ObjectNode | undefined;
  readonly errors: string[];
}

type Report = (path: string, message: string) => void;

const describeValue = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : JSON.stringify(v);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const childPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Parses a whole pattern; `node` is undefined whenever `errors` is not empty. */
export function parsePattern(pattern: unknown): ParseResult {
  const errors: string[] = [];
  const report: Report = (path, message) => errors.push(`${path || 'pattern'}: ${message}`);
  if (!isRecord(pattern)) {
    report('', `must be a JSON object, got ${describeValue(pattern)}`);
    return { node: undefined, errors };
  }
  const node = parseObject(pattern, '', false, report);
  return { node: errors.length === 0 ? node : undefined, errors };
}

function parseObject(obj: Record<string, unknown>, path: string, inOr: boolean, report: Report): ObjectNode {
  const fields: FieldNode[] = [];
  const or: ObjectNode[][] = [];
  const keys = Object.keys(obj);
  if (keys.length === 0) report(path, 'empty objects are not allowed');
  for (const key of keys) {
    const value = obj[key];
    const here = childPath(path, key);
    if (key === OR_KEY) {
      or.push(parseOr(value, here, report));
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(key)) {
      report(here, `"${key}" is an operator name and cannot be a field name inside "$or"`);
    }
    if (Array.isArray(value)) {
      fields.push({ key, kind: 'leaf', conditions: parseLeaf(value, here, report) });
    } else if (isRecord(value)) {
      fields.push({ key, kind: 'object', node: parseObject(value, here, inOr, report) });
    } else {
      report(here, `must be an object or an array of values, got ${describeValue(value)}`);
    }
  }
  return { fields, or };
}

function parseOr(value: unknown, path: string, report: Report): ObjectNode[] {
  if (!Array.isArray(value)) {
    report(path, `"$or" expects an array of at least two objects, got ${describeValue(value)}`);
    return [];
  }
  if (value.length < 2) report(path, `"$or" needs at least two objects, got ${value.length}`);
  const branches: ObjectNode[] = [];
  value.forEach((branch, i) => {
    if (isRecord(branch)) branches.push(parseObject(branch, `${path}[${i}]`, true, report));
    else report(`${path}[${i}]`, `"$or" accepts only objects, got ${describeValue(branch)}`);
  });
  return branches;
}

function parseLeaf(values: unknown[], path: string, report: Report): Condition[] {
  if (values.length === 0) report(path, 'empty arrays are not allowed');
  const conditions: Condition[] = [];
  values.forEach((value, i) => {
    const condition = parseValue(value, `${path}[${i}]`, report);
    if (condition) conditions.push(condition);
  });
  return conditions;
}

function parseValue(value: unknown, path: string, report: Report): Condition | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return { kind: 'exact', value };
  }
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return { kind: 'exact', value };
    report(path, `numbers must be finite, got ${value}`);
    return undefined;
  }
  if (Array.isArray(value)) {
    report(path, 'nested arrays are not allowed; use a string, number, boolean, null or {operator: ...}');
    return undefined;
  }
  if (isRecord(value)) return parseExpression(value, path, report);
  report(path, `must be a string, number, boolean, null or {operator: ...}, got ${typeof value}`);
  return undefined;
}

function parseExpression(expr: Record<string, unknown>, path: string, report: Report): Condition | undefined {
  const keys = Object.keys(expr);
  if (keys.length !== 1) {
    const got = keys.length === 0 ? 'none' : keys.map((k) => JSON.stringify(k)).join(', ');
    report(path, `a match expression needs exactly one operator, got ${got}`);
    return undefined;
  }
  const op = keys[0]!;
  if (!OPERATOR_SET.has(op)) {
    report(path, `unknown operator ${JSON.stringify(op)}; expected one of ${OPERATORS.join(', ')}`);
    return undefined;
  }
  const fail = (message: string): undefined => {
    report(path, `"${op}" ${message}`);
    return undefined;
  };
  const arg = expr[op];
  switch (op) {
    case 'prefix':
    case 'suffix':
      return parseAffix(op, arg, fail);
    case 'equals-ignore-case':
      return typeof arg === 'string'
        ? { kind: op, value: arg }
        : fail(`expects a string, got ${describeValue(arg)}`);
    case 'wildcard': {
      if (typeof arg !== 'string') return fail(`expects a string, got ${describeValue(arg)}`);
      const parsed = parseWildcard(arg);
      return 'error' in parsed ? fail(parsed.error) : { kind: 'wildcard', pieces: parsed.pieces };
    }
    case 'numeric': {
      const parsed = parseNumeric(arg);
      return 'error' in parsed ? fail(parsed.error) : { kind: 'numeric', range: parsed.range };
    }
    case 'cidr': {
      const cidr = typeof arg === 'string' ? parseCidr(arg) : undefined;
      if (cidr) return { kind: 'cidr', cidr };
      return fail(`expects an IPv4 or IPv6 CIDR block such as "10.0.0.0/24", got ${describeValue(arg)}`);
    }
    case 'exists':
      return typeof arg === 'boolean' ? { kind: 'exists', value: arg } : fail(`expects true or false`);
    default:
      return parseAnythingBut(arg, fail);
  }
}

function parseAffix(
  op: 'prefix' | 'suffix',
  arg: unknown,
  fail: (m: string) => undefined,
): Condition | undefined {
  if (typeof arg === 'string') return { kind: op, value: arg, ignoreCase: false };
  if (isRecord(arg) && Object.keys(arg).length === 1 && 'equals-ignore-case' in arg) {
    const inner = arg['equals-ignore-case'];
    if (typeof inner === 'string') return { kind: op, value: inner, ignoreCase: true };
    return fail(`with "equals-ignore-case" expects a string, got ${describeValue(inner)}`);
  }
  return fail(`expects a string or {"equals-ignore-case": string}, got ${describeValue(arg)}`);
}

const ANYTHING_BUT_SHAPE =
  'expects a string, a number, a list of only strings or only numbers, ' +
  'or one of {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": string or list of strings}';

function parseAnythingBut(arg: unknown, fail: (m: string) => undefined): Condition | undefined {
  if (typeof arg === 'string') return { kind: 'anything-but', values: [arg] };
  if (typeof arg === 'number') {
    const error = comparableNumberError(arg);
    return error ? fail(error) : { kind: 'anything-but', values: [arg] };
  }
  if (Array.isArray(arg)) return parseAnythingButList(arg, fail);
  if (isRecord(arg) && Object.keys(arg).length === 1) return parseAnythingButObject(arg, fail);
  return fail(`${ANYTHING_BUT_SHAPE}, got ${describeValue(arg)}`);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

function parseAnythingButList(list: unknown[], fail: (m: string) => undefined): Condition | undefined {
  if (list.length === 0) return fail('list must not be empty');
  if (list.every(isString)) return { kind: 'anything-but', values: list };
  if (!list.every(isNumber)) {
    return fail('list must hold only strings or only numbers (no null, booleans, objects or mixes)');
  }
  for (const n of list) {
    const error = comparableNumberError(n);
    if (error) return fail(`list ${error}`);
  }
  return { kind: 'anything-but', values: list };
}

const ANYTHING_BUT_INNER: ReadonlySet<string> = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
]);

function parseAnythingButObject(
  arg: Record<string, unknown>,
  fail: (m: string) => undefined,
): Condition | undefined {
  const inner = Object.keys(arg)[0]!;
  if (!ANYTHING_BUT_INNER.has(inner))
    return fail(`does not support ${JSON.stringify(inner)}; ${ANYTHING_BUT_SHAPE}`);
  const raw = arg[inner];
  const values = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(values) || values.length === 0 || !values.every(isString)) {
    return fail(`with "${inner}" expects a string or a non-empty list of strings, got ${describeValue(raw)}`);
  }
  switch (inner) {
    case 'prefix':
    case 'suffix':
      // An empty affix would exclude every string; EventBridge rejects it.
      if (values.includes('')) return fail(`with "${inner}" does not accept an empty string`);
      return { kind: inner === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', values };
    case 'equals-ignore-case':
      return { kind: 'anything-but-ignore-case', values };
    default:
      return parseAnythingButWildcards(values, fail);
  }
}

function parseAnythingButWildcards(values: string[], fail: (m: string) => undefined): Condition | undefined {
  const patterns: string[][] = [];
  for (const v of values) {
    const parsed = parseWildcard(v);
    if ('error' in parsed) return fail(`with "wildcard" ${JSON.stringify(v)}: ${parsed.error}`);
    patterns.push(parsed.pieces);
  }
  return { kind: 'anything-but-wildcard', patterns };
}
