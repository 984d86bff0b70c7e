/**
 * Compiles a parsed pattern (see parse.ts) into closures that test an event.
 * Everything that can be worked out from the pattern alone is done here, once:
 * exact values go into Sets, wildcards into piece matchers, CIDRs are parsed,
 * case-insensitive values are lower-cased. Matching then walks only the fields
 * the pattern names and allocates nothing, except for lower-casing an event
 * string when a case-insensitive operator is present.
 *
 * Event semantics, after EventBridge's documentation and aws/event-ruler:
 * - a pattern field matches when any leaf value under it matches any condition
 *   in its array; an event array counts through each element (and nested arrays);
 * - a leaf is a string, number, boolean or null; an object is not a leaf, so
 *   `exists` sees `{"a": {"b": 1}}` as having no leaf `a`, and `[]` as none either;
 * - a nested pattern object applied to an array of objects needs one element to
 *   match all its fields (event-ruler's "array-consistent" matching), except a
 *   sub-pattern made only of `exists: false`, which needs every element to lack
 *   the field, as event-ruler checks absence across the whole array.
 */

import { ipKey, ipKeyOf, parseIp, stringInCidr } from './ip';
import { type NumberTest, numericTest } from './numeric';
import type { Condition, ObjectNode, Scalar } from './parse';
import { piecesMatcher, type StringTest } from './wildcard';

/** Tests the value found at one pattern position (undefined when the event has none). */
export type ValueTest = (value: unknown) => boolean;
type Fields = Record<string, unknown>;
/** Tests one object level of the event (undefined when that level is missing or not an object). */
type RecordTest = (obj: Fields | undefined) => boolean;

const isRecord = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOwn = Object.prototype.hasOwnProperty;

/** Compiles the root object of a pattern into a test for whole events. */
export function compileNode(node: ObjectNode): ValueTest {
  const matchRecord = compileRecord(node);
  const absenceOnly = isAbsenceOnly(node);
  const test: ValueTest = (value) => {
    if (Array.isArray(value)) {
      // Absence must hold for every element; anything else needs one element.
      for (let i = 0; i < value.length; i++) {
        if (test(value[i]) !== absenceOnly) return !absenceOnly;
      }
      return absenceOnly;
    }
    return matchRecord(isRecord(value) ? value : undefined);
  };
  return test;
}

function compileRecord(node: ObjectNode): RecordTest {
  // Cheap leaf checks first so that most events are rejected before nested work.
  const checks: RecordTest[] = [
    ...node.fields.filter((f) => f.kind === 'leaf').map((f) => fieldCheck(f.key, compileLeaf(f.conditions))),
    ...node.fields.flatMap((f) => (f.kind === 'object' ? [fieldCheck(f.key, compileNode(f.node))] : [])),
    ...node.or.map(compileOr),
  ];
  if (checks.length === 1) return checks[0]!;
  return (obj) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(obj)) return false;
    return true;
  };
}

function compileOr(branches: readonly ObjectNode[]): RecordTest {
  const tests = branches.map(compileRecord);
  return (obj) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(obj)) return true;
    return false;
  };
}

function fieldCheck(key: string, test: ValueTest): RecordTest {
  // Keys such as "constructor" would otherwise read Object.prototype; decided once, here.
  if (key in Object.prototype) {
    return (obj) => test(obj !== undefined && hasOwn.call(obj, key) ? obj[key] : undefined);
  }
  return (obj) => test(obj === undefined ? undefined : obj[key]);
}

/** True for a sub-pattern whose every condition is `exists: false`. */
function isAbsenceOnly(node: ObjectNode): boolean {
  return (
    node.fields.every((f) =>
      f.kind === 'leaf' ? f.conditions.every((c) => c.kind === 'exists' && !c.value) : isAbsenceOnly(f.node),
    ) && node.or.every((branches) => branches.every(isAbsenceOnly))
  );
}

/** Whether a value holds at least one leaf (scalar), looking through arrays. */
function hasLeaf(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasLeaf(value[i])) return true;
    return false;
  }
  return value !== undefined && (value === null || typeof value !== 'object');
}

/** Lifts a test of one scalar to a field value: any leaf, through nested arrays. */
function anyLeaf(scalar: (v: Scalar) => boolean): ValueTest {
  const test: ValueTest = (value) => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (test(value[i])) return true;
      return false;
    }
    if (value === null) return scalar(null);
    const t = typeof value;
    return t === 'string' || t === 'number' || t === 'boolean' ? scalar(value as Scalar) : false;
  };
  return test;
}

function compileLeaf(conditions: readonly Condition[]): ValueTest {
  const existsTrue = conditions.some((c) => c.kind === 'exists' && c.value);
  const existsFalse = conditions.some((c) => c.kind === 'exists' && !c.value);
  const rest = conditions.filter((c) => c.kind !== 'exists');
  const leafTest = rest.length > 0 ? anyLeaf(compileScalar(rest)) : undefined;
  if (!existsTrue && !existsFalse) return leafTest ?? (() => false);
  // exists: true accepts any leaf, so other conditions only matter without it.
  return (value) => (hasLeaf(value) ? existsTrue || (leafTest?.(value) ?? false) : existsFalse);
}

/** What a leaf's value array accepts, sorted by the type of event value it applies to. */
interface Accepts {
  strings: Set<string>;
  numbers: Set<number>;
  /** Canonical keys of exact values that are IP addresses, compared as addresses. */
  ipKeys: Set<string>;
  stringTests: StringTest[];
  numberTests: NumberTest[];
  nullOk: boolean;
  trueOk: boolean;
  falseOk: boolean;
  /** Set by anything-but forms, which accept every value of a type they do not exclude. */
  allStrings: boolean;
  allNumbers: boolean;
  allOthers: boolean;
}

function compileScalar(conditions: readonly Condition[]): (v: Scalar) => boolean {
  const a: Accepts = {
    strings: new Set(),
    numbers: new Set(),
    ipKeys: new Set(),
    stringTests: [],
    numberTests: [],
    nullOk: false,
    trueOk: false,
    falseOk: false,
    allStrings: false,
    allNumbers: false,
    allOthers: false,
  };
  for (const c of conditions) addCondition(a, c);
  return scalarTest(a);
}

function addExact(a: Accepts, value: Scalar): void {
  if (typeof value === 'string') {
    a.strings.add(value);
    const ip = parseIp(value);
    if (ip) a.ipKeys.add(ipKey(ip));
  } else if (typeof value === 'number') a.numbers.add(value);
  else if (value === null) a.nullOk = true;
  else if (value) a.trueOk = true;
  else a.falseOk = true;
}

/** Anything-but accepts every non-string leaf unless it lists numbers. */
function acceptNonStrings(a: Accepts): void {
  a.allNumbers = true;
  a.allOthers = true;
}

function addCondition(a: Accepts, c: Condition): void {
  switch (c.kind) {
    case 'exact':
      addExact(a, c.value);
      return;
    case 'prefix':
    case 'suffix':
      a.stringTests.push(affixTest(c.kind, c.value, c.ignoreCase));
      return;
    case 'equals-ignore-case': {
      const lower = c.value.toLowerCase();
      a.stringTests.push((s) => s.toLowerCase() === lower);
      return;
    }
    case 'wildcard':
      a.stringTests.push(piecesMatcher(c.pieces));
      return;
    case 'numeric':
      a.numberTests.push(numericTest(c.range));
      return;
    case 'cidr': {
      const cidr = c.cidr;
      a.stringTests.push((s) => stringInCidr(s, cidr));
      return;
    }
    case 'exists':
      return; // handled by compileLeaf
    case 'anything-but':
      addAnythingBut(a, c.values);
      return;
    default:
      a.stringTests.push(negate(anythingButStringTest(c)));
      acceptNonStrings(a);
  }
}

function addAnythingBut(a: Accepts, values: readonly string[] | readonly number[]): void {
  if (typeof values[0] === 'number') {
    const excluded = new Set(values as readonly number[]);
    a.numberTests.push((n) => !excluded.has(n));
    a.allStrings = true;
    a.allOthers = true;
    return;
  }
  const excluded = new Set(values as readonly string[]);
  a.stringTests.push((s) => !excluded.has(s));
  acceptNonStrings(a);
}

type AnythingButString = Extract<
  Condition,
  {
    kind:
      | 'anything-but-prefix'
      | 'anything-but-suffix'
      | 'anything-but-ignore-case'
      | 'anything-but-wildcard';
  }
>;

/** The test whose success an anything-but form excludes. */
function anythingButStringTest(c: AnythingButString): StringTest {
  switch (c.kind) {
    case 'anything-but-prefix':
      return anyOf(c.values.map((v) => affixTest('prefix', v, false)));
    case 'anything-but-suffix':
      return anyOf(c.values.map((v) => affixTest('suffix', v, false)));
    case 'anything-but-ignore-case': {
      const lowered = new Set(c.values.map((v) => v.toLowerCase()));
      return (s) => lowered.has(s.toLowerCase());
    }
    default:
      return anyOf(c.patterns.map(piecesMatcher));
  }
}

function affixTest(kind: 'prefix' | 'suffix', value: string, ignoreCase: boolean): StringTest {
  if (!ignoreCase) return kind === 'prefix' ? (s) => s.startsWith(value) : (s) => s.endsWith(value);
  const lower = value.toLowerCase();
  // Lower-case the whole string: slicing first could split a character whose case mapping changes length.
  return kind === 'prefix'
    ? (s) => s.toLowerCase().startsWith(lower)
    : (s) => s.toLowerCase().endsWith(lower);
}

const negate =
  (t: StringTest): StringTest =>
  (s) =>
    !t(s);

function anyOf(tests: StringTest[]): StringTest {
  if (tests.length === 1) return tests[0]!;
  return (s) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(s)) return true;
    return false;
  };
}

function scalarTest(a: Accepts): (v: Scalar) => boolean {
  const { strings, numbers, ipKeys, stringTests, numberTests } = a;
  const str = stringTestOf(a);
  const allNumbers = a.allNumbers;
  const hasNumbers = numbers.size > 0;
  const { nullOk, trueOk, falseOk, allOthers } = a;
  // The common case, only exact strings, skips the type switch below.
  if (ipKeys.size === 0 && stringTests.length === 0 && !hasNumbers && numberTests.length === 0) {
    if (!nullOk && !trueOk && !falseOk && !a.allStrings && !allNumbers && !allOthers) {
      if (strings.size === 1) {
        const only = strings.values().next().value as string;
        return (v) => v === only;
      }
      return (v) => typeof v === 'string' && strings.has(v);
    }
  }
  return (v) => {
    switch (typeof v) {
      case 'string':
        return str(v);
      case 'number':
        if (allNumbers || (hasNumbers && numbers.has(v))) return true;
        for (let i = 0; i < numberTests.length; i++) if (numberTests[i]!(v)) return true;
        return false;
      case 'boolean':
        return allOthers || (v ? trueOk : falseOk);
      default:
        return allOthers || nullOk; // null
    }
  };
}

function stringTestOf(a: Accepts): StringTest {
  const { strings, ipKeys, stringTests, allStrings } = a;
  const hasIps = ipKeys.size > 0;
  return (s) => {
    if (allStrings || strings.has(s)) return true;
    for (let i = 0; i < stringTests.length; i++) if (stringTests[i]!(s)) return true;
    if (hasIps) {
      const key = ipKeyOf(s);
      return key !== undefined && ipKeys.has(key);
    }
    return false;
  };
}
