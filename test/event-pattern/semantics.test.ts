import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  type EventPattern,
  EventPatternError,
  matchesPattern,
  matchingRules,
} from '../../layers/event-pattern';

/**
 * Behaviour the guide leaves implicit, checked against how EventBridge's matcher
 * (aws/event-ruler: JsonRuleCompiler, ByteMachine, ACFinder) treats values:
 * strings are compared quoted, so numbers, booleans and null never equal a
 * string; anything-but excludes only values of the type it lists.
 */
const m = (pattern: EventPattern, event: unknown) => compilePattern(pattern)(event);

describe('value types', () => {
  it('numbers match numbers by value, never strings', () => {
    expect(m({ n: [5] }, { n: 5 })).toBe(true);
    expect(m({ n: [5] }, { n: 5.0 })).toBe(true);
    expect(m({ n: [3.0e2] }, { n: 300 })).toBe(true);
    expect(m({ n: [5] }, { n: '5' })).toBe(false);
    expect(m({ n: ['5'] }, { n: 5 })).toBe(false);
  });

  it('booleans and null are their own values', () => {
    expect(m({ b: [true] }, { b: true })).toBe(true);
    expect(m({ b: [true] }, { b: 'true' })).toBe(false);
    expect(m({ b: [false] }, { b: false })).toBe(true);
    expect(m({ b: [false] }, { b: null })).toBe(false);
    expect(m({ b: [null] }, { b: null })).toBe(true);
    expect(m({ b: [null] }, {})).toBe(false);
    expect(m({ b: ['null'] }, { b: null })).toBe(false);
  });

  it('string operators ignore non-strings', () => {
    expect(m({ v: [{ prefix: '1' }] }, { v: 123 })).toBe(false);
    expect(m({ v: [{ suffix: 'e' }] }, { v: true })).toBe(false);
    expect(m({ v: [{ 'equals-ignore-case': 'null' }] }, { v: null })).toBe(false);
    expect(m({ v: [{ wildcard: '*' }] }, { v: 1 })).toBe(false);
    expect(m({ v: [{ wildcard: '*' }] }, { v: '' })).toBe(true);
    expect(m({ v: [{ cidr: '0.0.0.0/0' }] }, { v: 167772161 })).toBe(false);
  });

  it('numeric ignores strings and numbers EventBridge cannot compare', () => {
    const positive = { v: [{ numeric: ['>', 0] }] };
    expect(m(positive, { v: '7' })).toBe(false);
    expect(m(positive, { v: 5e9 })).toBe(true);
    expect(m(positive, { v: 5e9 + 1 })).toBe(false); // beyond ±5e9
    expect(m(positive, { v: 1.000001 })).toBe(true);
    expect(m(positive, { v: 1.0000001 })).toBe(false); // more than six decimals
  });

  it('case-insensitive operators fold non-ASCII letters too', () => {
    expect(m({ v: [{ 'equals-ignore-case': 'école' }] }, { v: 'ÉCOLE' })).toBe(true);
    expect(m({ v: [{ prefix: { 'equals-ignore-case': 'ÜBER' } }] }, { v: 'überall' })).toBe(true);
  });
});

describe('anything-but', () => {
  it('excludes only the type it lists', () => {
    const notX = { v: [{ 'anything-but': 'x' }] };
    expect(m(notX, { v: 5 })).toBe(true);
    expect(m(notX, { v: null })).toBe(true);
    expect(m(notX, { v: false })).toBe(true);
    const notNumbers = { v: [{ 'anything-but': [1, 2] }] };
    expect(m(notNumbers, { v: '1' })).toBe(true);
    expect(m(notNumbers, { v: 1 })).toBe(false);
    expect(m({ v: [{ 'anything-but': { prefix: 'a' } }] }, { v: 42 })).toBe(true);
  });

  it('matches when any element of an event array is not excluded', () => {
    const notInit = { state: [{ 'anything-but': 'initializing' }] };
    expect(m(notInit, { state: ['initializing', 'running'] })).toBe(true);
    expect(m(notInit, { state: ['initializing', 'initializing'] })).toBe(false);
    expect(m(notInit, { state: [] })).toBe(false);
  });

  it('never matches a missing field or an object', () => {
    const notX = { v: [{ 'anything-but': 'x' }] };
    expect(m(notX, {})).toBe(false);
    expect(m(notX, { v: { w: 'y' } })).toBe(false);
  });
});

describe('exists and leaves', () => {
  it('null is a leaf; empty arrays and objects are not', () => {
    const present = { v: [{ exists: true }] };
    const absent = { v: [{ exists: false }] };
    expect(m(present, { v: null })).toBe(true);
    expect(m(present, { v: '' })).toBe(true);
    expect(m(present, { v: [] })).toBe(false);
    expect(m(absent, { v: [] })).toBe(true);
    expect(m(present, { v: [null] })).toBe(true);
    expect(m(present, { v: [{}] })).toBe(false);
    expect(m(absent, { v: {} })).toBe(true);
  });

  it('a missing parent object means a missing leaf', () => {
    expect(m({ detail: { errorCode: [{ exists: false }] } }, { source: 'aws.ssm' })).toBe(true);
    expect(m({ detail: { errorCode: [{ exists: false }] } }, { detail: 'text' })).toBe(true);
    expect(m({ detail: { errorCode: [{ exists: true }] } }, { source: 'aws.ssm' })).toBe(false);
  });

  it('exists: false under an array of objects needs every element to lack the field', () => {
    const noArn = { resources: { ARN: [{ exists: false }] } };
    expect(m(noArn, { resources: [{ type: 'a' }, { type: 'b' }] })).toBe(true);
    expect(m(noArn, { resources: [{ type: 'a' }, { ARN: 'arn:x' }] })).toBe(false);
    expect(m(noArn, { resources: [] })).toBe(true);
  });

  it('combined with a positive field, it applies to the element that matched', () => {
    const untypedArn = { resources: { ARN: ['arn:x'], type: [{ exists: false }] } };
    expect(m(untypedArn, { resources: [{ ARN: 'arn:y', type: 't' }, { ARN: 'arn:x' }] })).toBe(true);
    expect(m(untypedArn, { resources: [{ ARN: 'arn:x', type: 't' }, { ARN: 'arn:y' }] })).toBe(false);
  });

  it('mixes with values in one array as OR', () => {
    const xOrMissing = { v: ['x', { exists: false }] };
    expect(m(xOrMissing, {})).toBe(true);
    expect(m(xOrMissing, { v: 'x' })).toBe(true);
    expect(m(xOrMissing, { v: 'y' })).toBe(false);
  });
});

describe('structure', () => {
  it('looks through nested event arrays for leaves', () => {
    expect(m({ v: ['a'] }, { v: [['b'], [['a']]] })).toBe(true);
    expect(m({ v: ['a'] }, { v: [['b'], [{ a: 'a' }]] })).toBe(false);
  });

  it('a nested pattern needs an object in the event', () => {
    expect(m({ detail: { state: ['x'] } }, { detail: 'x' })).toBe(false);
    expect(m({ detail: { state: ['x'] } }, { detail: null })).toBe(false);
    expect(m({ detail: { state: ['x'] } }, null)).toBe(false);
    expect(m({ detail: { state: ['x'] } }, 'not an event')).toBe(false);
  });

  it('an array field value in the pattern never compares against an event object', () => {
    expect(m({ detail: ['x'] }, { detail: { x: 'x' } })).toBe(false);
  });

  it('reads only own fields, so keys like "constructor" behave', () => {
    expect(m({ constructor: [{ exists: false }] }, {})).toBe(true);
    expect(m({ toString: [{ exists: true }] }, {})).toBe(false);
    expect(m({ constructor: ['c'] }, { constructor: 'c' })).toBe(true);
    // An object literal's __proto__ sets the prototype; JSON.parse makes a real key.
    expect(m(JSON.parse('{"__proto__": ["p"]}'), JSON.parse('{"__proto__": "p"}'))).toBe(true);
    expect(m(JSON.parse('{"__proto__": [{"exists": false}]}'), {})).toBe(true);
    expect(m({ hasOwnProperty: [{ exists: false }] }, JSON.parse('{"x": 1}'))).toBe(true);
  });

  it('$or branches at several levels combine with AND around them', () => {
    const pattern = {
      source: ['aws.iam'],
      detail: {
        $or: [{ eventName: [{ prefix: 'Delete' }] }, { errorCode: ['AccessDenied'] }],
        userIdentity: { $or: [{ type: ['Root'] }, { accessKeyId: [{ prefix: 'AKIA' }] }] },
      },
    };
    const event = (detail: Record<string, unknown>) => ({ source: 'aws.iam', detail });
    expect(m(pattern, event({ eventName: 'DeleteUser', userIdentity: { type: 'Root' } }))).toBe(true);
    expect(
      m(
        pattern,
        event({ eventName: 'GetUser', errorCode: 'AccessDenied', userIdentity: { accessKeyId: 'AKIA1' } }),
      ),
    ).toBe(true);
    expect(m(pattern, event({ eventName: 'GetUser', userIdentity: { type: 'Root' } }))).toBe(false);
    expect(
      m(pattern, event({ eventName: 'DeleteUser', userIdentity: { type: 'IAMUser', accessKeyId: 'ASIA1' } })),
    ).toBe(false);
  });

  it('exact IP strings compare as addresses', () => {
    expect(m({ ip: ['2001:db8::1'] }, { ip: '2001:0DB8:0:0:0:0:0:1' })).toBe(true);
    expect(m({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(m({ ip: ['10.0.0.1'] }, { ip: '10.0.0.2' })).toBe(false);
    expect(m({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '::ffff:10.0.0.5' })).toBe(true);
  });
});

describe('API', () => {
  it('compilePattern throws every problem at once', () => {
    const bad = { source: 'aws.ec2', detail: { state: [{ prefix: 3 }], n: [] } };
    let thrown: unknown;
    try {
      compilePattern(bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EventPatternError);
    const { errors, message } = thrown as EventPatternError;
    expect(errors).toEqual([
      'source: must be an object or an array of values, got "aws.ec2"',
      'detail.state[0]: "prefix" expects a string or {"equals-ignore-case": string}, got 3',
      'detail.n: empty arrays are not allowed',
    ]);
    expect(message).toContain('detail.state[0]');
  });

  it('matchesPattern compiles once per pattern object', () => {
    const pattern = { source: ['aws.s3'] };
    expect(matchesPattern(pattern, { source: 'aws.s3' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.ec2' })).toBe(false);
    // Compiled on first use: a later change to the same object is not seen.
    pattern.source = ['aws.ec2'];
    expect(matchesPattern(pattern, { source: 'aws.s3' })).toBe(true);
    expect(() => matchesPattern({ source: 'x' }, {})).toThrow(EventPatternError);
  });

  it('matchingRules returns matching names in order', () => {
    const rules = [
      { name: 'any-ssm', pattern: { source: ['aws.ssm'] } },
      { name: 'iam', pattern: { source: ['aws.iam'] } },
      {
        name: 'get-parameter',
        pattern: { source: ['aws.ssm'], detail: { eventName: [{ prefix: 'GetParameter' }] } },
      },
    ];
    expect(matchingRules(rules, { source: 'aws.ssm', detail: { eventName: 'GetParameters' } })).toEqual([
      'any-ssm',
      'get-parameter',
    ]);
    expect(matchingRules(rules, { source: 'aws.kms' })).toEqual([]);
  });
});
