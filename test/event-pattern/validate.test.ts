import { describe, expect, it } from 'vitest';
import { validatePattern } from '../../layers/event-pattern';

/**
 * Validation mirrors EventBridge (aws/event-ruler's JsonRuleCompiler): one
 * message per problem, prefixed by the path of the offending value.
 */
describe('validatePattern', () => {
  it('accepts every documented operator form', () => {
    expect(
      validatePattern({
        source: ['aws.ec2', 5, true, false, null, ''],
        detail: {
          a: [{ prefix: 'x' }, { prefix: { 'equals-ignore-case': 'x' } }, { prefix: '' }],
          b: [{ suffix: 'x' }, { suffix: { 'equals-ignore-case': 'x' } }],
          c: [{ 'equals-ignore-case': 'x' }, { wildcard: 'a*b\\*c\\\\' }],
          d: [
            { 'anything-but': 'x' },
            { 'anything-but': 5 },
            { 'anything-but': ['x', 'y'] },
            { 'anything-but': [1, 2] },
          ],
          e: [
            { 'anything-but': { prefix: 'x' } },
            { 'anything-but': { suffix: ['x', 'y'] } },
            { 'anything-but': { 'equals-ignore-case': ['x'] } },
            { 'anything-but': { wildcard: ['*/lib/*', '*.so'] } },
          ],
          f: [{ numeric: ['=', 1] }, { numeric: ['<', 1] }, { numeric: ['>=', -5e9, '<=', 5e9] }],
          g: [{ exists: true }, { cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/32' }],
          $or: [{ h: ['x'] }, { i: { j: ['y'] }, $or: [{ k: [1] }, { l: [2] }] }],
        },
      }),
    ).toEqual([]);
  });

  it.each([
    ['a string', 'pattern: must be a JSON object, got "x"', 'x' as unknown],
    ['an array', 'pattern: must be a JSON object, got an array', [{ a: ['b'] }]],
    ['null', 'pattern: must be a JSON object, got null', null],
    ['empty', 'pattern: empty objects are not allowed', {}],
  ])('rejects a pattern that is %s', (_what, message, pattern) => {
    expect(validatePattern(pattern)).toEqual([message]);
  });

  it.each<[string, unknown, string]>([
    ['scalar field', { source: 'aws.ec2' }, 'source: must be an object or an array of values, got "aws.ec2"'],
    [
      'null field',
      { detail: { state: null } },
      'detail.state: must be an object or an array of values, got null',
    ],
    ['empty array', { detail: { state: [] } }, 'detail.state: empty arrays are not allowed'],
    ['empty object', { detail: {} }, 'detail: empty objects are not allowed'],
    [
      'nested array',
      { source: [['aws.ec2']] },
      'source[0]: nested arrays are not allowed; use a string, number, boolean, null or {operator: ...}',
    ],
    ['non-finite number', { n: [Number.NaN] }, 'n[0]: numbers must be finite, got NaN'],
    ['no operator', { s: [{}] }, 's[0]: a match expression needs exactly one operator, got none'],
    [
      'two operators',
      { s: [{ prefix: 'a', suffix: 'b' }] },
      's[0]: a match expression needs exactly one operator, got "prefix", "suffix"',
    ],
    [
      'unknown operator',
      { s: [{ contains: 'a' }] },
      's[0]: unknown operator "contains"; expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr',
    ],
    [
      'prefix not a string',
      { detail: { eventName: ['a', 'b', { prefix: 3 }] } },
      'detail.eventName[2]: "prefix" expects a string or {"equals-ignore-case": string}, got 3',
    ],
    [
      'prefix ignore case not a string',
      { s: [{ prefix: { 'equals-ignore-case': ['a'] } }] },
      's[0]: "prefix" with "equals-ignore-case" expects a string, got an array',
    ],
    [
      'suffix with another inner operator',
      { s: [{ suffix: { wildcard: 'a' } }] },
      's[0]: "suffix" expects a string or {"equals-ignore-case": string}, got an object',
    ],
    [
      'equals-ignore-case a list',
      { s: [{ 'equals-ignore-case': ['a'] }] },
      's[0]: "equals-ignore-case" expects a string, got an array',
    ],
    ['exists a string', { s: [{ exists: 'true' }] }, 's[0]: "exists" expects true or false'],
    [
      'cidr without a prefix length',
      { ip: [{ cidr: '10.0.0.1' }] },
      'ip[0]: "cidr" expects an IPv4 or IPv6 CIDR block such as "10.0.0.0/24", got "10.0.0.1"',
    ],
    [
      'cidr too long',
      { ip: [{ cidr: '10.0.0.0/33' }] },
      'ip[0]: "cidr" expects an IPv4 or IPv6 CIDR block such as "10.0.0.0/24", got "10.0.0.0/33"',
    ],
    [
      'consecutive wildcards',
      { s: [{ wildcard: 'a**b' }] },
      's[0]: "wildcard" consecutive wildcard characters at position 1',
    ],
    [
      'bad wildcard escape',
      { s: [{ wildcard: 'a\\b' }] },
      's[0]: "wildcard" invalid escape at position 1; only \\* and \\\\ may be escaped',
    ],
    [
      'numeric not an array',
      { n: [{ numeric: '>5' }] },
      'n[0]: "numeric" expects [op, number] or [">" | ">=", number, "<" | "<=", number]',
    ],
    [
      'numeric unknown operator',
      { n: [{ numeric: ['!=', 5] }] },
      'n[0]: "numeric" unknown numeric operator "!="; expected =, <, <=, > or >=',
    ],
    [
      'numeric string value',
      { n: [{ numeric: ['>', '5'] }] },
      'n[0]: "numeric" the value after ">" expects a number',
    ],
    [
      'numeric out of range',
      { n: [{ numeric: ['<', 6e9] }] },
      'n[0]: "numeric" the value after "<" expects a number between -5000000000 and 5000000000, got 6000000000',
    ],
    [
      'numeric with seven decimals',
      { n: [{ numeric: ['=', 0.1234567] }] },
      'n[0]: "numeric" the value after "=" supports at most 6 decimal places, got 0.1234567',
    ],
    [
      'numeric range opened by <',
      { n: [{ numeric: ['<', 1, '>', 0] }] },
      'n[0]: "numeric" only ">" or ">=" may open a two-sided range; expects [op, number] or [">" | ">=", number, "<" | "<=", number]',
    ],
    [
      'numeric range with a wrong upper operator',
      { n: [{ numeric: ['>', 0, '>', 5] }] },
      'n[0]: "numeric" the upper bound needs "<" or "<=", got ">"',
    ],
    [
      'numeric empty range',
      { n: [{ numeric: ['>', 5, '<', 5] }] },
      'n[0]: "numeric" the lower bound 5 must be below the upper bound 5',
    ],
    [
      'numeric with three terms',
      { n: [{ numeric: ['>', 0, '<'] }] },
      'n[0]: "numeric" expects [op, number] or [">" | ">=", number, "<" | "<=", number]',
    ],
    [
      'anything-but mixed list',
      { s: [{ 'anything-but': ['a', 1] }] },
      's[0]: "anything-but" list must hold only strings or only numbers (no null, booleans, objects or mixes)',
    ],
    [
      'anything-but empty list',
      { s: [{ 'anything-but': [] }] },
      's[0]: "anything-but" list must not be empty',
    ],
    [
      'anything-but null',
      { s: [{ 'anything-but': null }] },
      's[0]: "anything-but" expects a string, a number, a list of only strings or only numbers, or one of {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": string or list of strings}, got null',
    ],
    [
      'anything-but numeric',
      { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
      's[0]: "anything-but" does not support "numeric"; expects a string, a number, a list of only strings or only numbers, or one of {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": string or list of strings}',
    ],
    [
      'anything-but prefix number',
      { s: [{ 'anything-but': { prefix: 5 } }] },
      's[0]: "anything-but" with "prefix" expects a string or a non-empty list of strings, got 5',
    ],
    [
      'anything-but empty prefix',
      { s: [{ 'anything-but': { prefix: '' } }] },
      's[0]: "anything-but" with "prefix" does not accept an empty string',
    ],
    [
      'anything-but bad wildcard',
      { s: [{ 'anything-but': { wildcard: ['ok*', 'x**'] } }] },
      's[0]: "anything-but" with "wildcard" "x**": consecutive wildcard characters at position 1',
    ],
    [
      'anything-but number out of range',
      { s: [{ 'anything-but': [1, 1e10] }] },
      's[0]: "anything-but" list expects a number between -5000000000 and 5000000000, got 10000000000',
    ],
    [
      '$or not an array',
      { $or: { a: ['x'] } },
      '$or: "$or" expects an array of at least two objects, got an object',
    ],
    ['$or with one branch', { $or: [{ a: ['x'] }] }, '$or: "$or" needs at least two objects, got 1'],
    ['$or with a string branch', { $or: [{ a: ['x'] }, 'b'] }, '$or[1]: "$or" accepts only objects, got "b"'],
    ['$or with an empty branch', { $or: [{ a: ['x'] }, {}] }, '$or[1]: empty objects are not allowed'],
    [
      'operator name as a field inside $or',
      { detail: { $or: [{ a: ['x'] }, { b: { prefix: ['y'] } }] } },
      'detail.$or[1].b.prefix: "prefix" is an operator name and cannot be a field name inside "$or"',
    ],
  ])('reports %s', (_what, pattern, message) => {
    expect(validatePattern(pattern)).toEqual([message]);
  });

  it('allows an operator name as a field outside $or', () => {
    expect(validatePattern({ detail: { prefix: ['x'], numeric: [1] } })).toEqual([]);
  });

  it('reports every problem, in pattern order', () => {
    expect(
      validatePattern({
        source: ['aws.ssm', { prefix: 1 }],
        detail: { eventName: [], requestParameters: { names: [{ wildcard: '**' }], x: 5 } },
      }),
    ).toEqual([
      'source[1]: "prefix" expects a string or {"equals-ignore-case": string}, got 1',
      'detail.eventName: empty arrays are not allowed',
      'detail.requestParameters.names[0]: "wildcard" consecutive wildcard characters at position 0',
      'detail.requestParameters.x: must be an object or an array of values, got 5',
    ]);
  });
});
