import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  type EventPattern,
  matchesPattern,
  validatePattern,
} from '../../layers/event-pattern';
import { OPERATORS as OPERATOR_NAMES, OR_KEY } from '../../layers/event-pattern/parse';

/**
 * Examples from AWS's documentation and the event-ruler README, each citing its
 * page. Where a page shows only a pattern, or only states a rule (wildcards,
 * IPv6 CIDRs, the "ignore case" variants), the events, and sometimes the exact
 * pattern, are ours and check what the page says. Pages:
 */
const OPERATORS = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html';
const CONTENT_FILTERING =
  'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html';
const SYNTAX = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html';
const ARRAYS = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html';
const NULLS = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html';
const RULER = 'https://github.com/aws/event-ruler/blob/main/README.md';

interface Case {
  name: string;
  doc: string;
  pattern: EventPattern;
  event: unknown;
  match: boolean;
}

/** The sample event of the event-ruler README (also used across the EventBridge guide). */
const ec2 = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

/** The sample event with some `detail` fields replaced (undefined removes a field). */
function ec2With(detail: Record<string, unknown>): unknown {
  const merged: Record<string, unknown> = { ...ec2.detail, ...detail };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return { ...ec2, detail: merged };
}

const inDetail = (field: string, values: unknown[]): EventPattern => ({ detail: { [field]: values } });

/** Pairs of (value of detail.<field>, expected) for one pattern. */
function cases(
  doc: string,
  name: string,
  pattern: EventPattern,
  field: string,
  values: [unknown, boolean][],
) {
  return values.map(
    ([value, match]): Case => ({
      name: `${name}: ${field} = ${JSON.stringify(value)}`,
      doc,
      pattern,
      event: ec2With({ [field]: value }),
      match,
    }),
  );
}

const table: Case[] = [
  // "Creating event patterns": the fields named must all be present, nested the same way.
  {
    name: 'source, detail-type and detail.state',
    doc: SYNTAX,
    pattern: {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    },
    event: ec2With({ state: 'terminated' }),
    match: true,
  },
  {
    name: 'detail.state differs',
    doc: SYNTAX,
    pattern: { source: ['aws.ec2'], detail: { state: ['terminated'] } },
    event: ec2,
    match: false,
  },
  {
    name: 'a field named in the pattern is missing from the event',
    doc: SYNTAX,
    pattern: { source: ['aws.ec2'], detail: { state: ['running'] } },
    event: { source: 'aws.ec2' },
    match: false,
  },
  {
    name: 'the same field at another nesting level does not count',
    doc: SYNTAX,
    pattern: { detail: { state: ['running'] } },
    event: { state: 'running', detail: {} },
    match: false,
  },
  // Matching on multiple field values: any value of the array.
  {
    name: 'source is one of several',
    doc: SYNTAX,
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    event: ec2,
    match: true,
  },
  {
    name: 'source is none of several',
    doc: SYNTAX,
    pattern: { source: ['aws.s3', 'aws.fargate'] },
    event: ec2,
    match: false,
  },

  // event-ruler README, "Simple matching": this rule matches the sample event.
  {
    name: 'README simple matching',
    doc: RULER,
    pattern: {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    },
    event: ec2,
    match: true,
  },

  // Comparison operators: "And".
  {
    name: 'And: both fields match',
    doc: OPERATORS,
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Monday' },
    match: true,
  },
  {
    name: 'And: one field differs',
    doc: OPERATORS,
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Tuesday' },
    match: false,
  },

  // Equals is exact and case-sensitive; "Empty" matches only "".
  ...cases(OPERATORS, 'Equals "Alice"', inDetail('Name', ['Alice']), 'Name', [
    ['Alice', true],
    ['alice', false],
    ['Alice ', false],
  ]),
  ...cases(OPERATORS, 'Empty', inDetail('LastName', ['']), 'LastName', [
    ['', true],
    ['Doe', false],
    [null, false],
    [undefined, false],
  ]),
  ...cases(OPERATORS, 'Equals (ignore case)', inDetail('Name', [{ 'equals-ignore-case': 'alice' }]), 'Name', [
    ['ALICE', true],
    ['Alice', true],
    ['Alicia', false],
    [5, false],
  ]),

  // Prefix and suffix, plain and ignoring case.
  {
    name: 'prefix on time',
    doc: CONTENT_FILTERING,
    pattern: { time: [{ prefix: '2017-10-02' }] },
    event: ec2,
    match: true,
  },
  {
    name: 'prefix on time, other day',
    doc: CONTENT_FILTERING,
    pattern: { time: [{ prefix: '2017-10-03' }] },
    event: ec2,
    match: false,
  },
  ...cases(OPERATORS, 'Begins with "us-"', inDetail('Region', [{ prefix: 'us-' }]), 'Region', [
    ['us-east-1', true],
    ['eu-west-1', false],
    ['US-EAST-1', false],
  ]),
  ...cases(
    OPERATORS,
    'Begins with, ignore case',
    inDetail('service', [{ prefix: { 'equals-ignore-case': 'EventB' } }]),
    'service',
    [
      ['EventBridge', true],
      ['EVENTBRIDGE', true],
      ['eventbus', true],
      ['SQS', false],
    ],
  ),
  ...cases(OPERATORS, 'Ends with ".png"', inDetail('FileName', [{ suffix: '.png' }]), 'FileName', [
    ['image.png', true],
    ['image.PNG', false],
    ['image.png.zip', false],
  ]),
  ...cases(
    OPERATORS,
    'Ends with, ignore case',
    inDetail('FileName', [{ suffix: { 'equals-ignore-case': '.png' } }]),
    'FileName',
    [
      ['image.PNG', true],
      ['image.Png', true],
      ['image.jpg', false],
    ],
  ),
  { name: 'suffix on source', doc: RULER, pattern: { source: [{ suffix: 'ec2' }] }, event: ec2, match: true },
  {
    name: 'suffix on source, other',
    doc: RULER,
    pattern: { source: [{ suffix: 'ec3' }] },
    event: ec2,
    match: false,
  },

  // Anything-but, in all its forms. It never matches a field the event lacks.
  ...cases(OPERATORS, 'Anything-but', inDetail('state', [{ 'anything-but': 'initializing' }]), 'state', [
    ['running', true],
    ['initializing', false],
    ['Initializing', true],
    [undefined, false],
  ]),
  ...cases(
    CONTENT_FILTERING,
    'anything-but a number',
    inDetail('x-limit', [{ 'anything-but': 123 }]),
    'x-limit',
    [
      [301.8, true],
      [123, false],
    ],
  ),
  ...cases(
    CONTENT_FILTERING,
    'anything-but a list of strings',
    inDetail('state', [{ 'anything-but': ['stopped', 'overloaded'] }]),
    'state',
    [
      ['running', true],
      ['stopped', false],
      ['overloaded', false],
    ],
  ),
  ...cases(
    CONTENT_FILTERING,
    'anything-but a list of numbers',
    inDetail('x-limit', [{ 'anything-but': [100, 200, 300] }]),
    'x-limit',
    [
      [301.8, true],
      [200, false],
    ],
  ),
  ...cases(
    CONTENT_FILTERING,
    'anything-but prefix',
    inDetail('state', [{ 'anything-but': { prefix: 'init' } }]),
    'state',
    [
      ['running', true],
      ['initializing', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but (begins with)',
    inDetail('Region', [{ 'anything-but': { prefix: 'us-' } }]),
    'Region',
    [
      ['eu-west-1', true],
      ['us-east-1', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but (ends with)',
    inDetail('FileName', [{ 'anything-but': { suffix: '.png' } }]),
    'FileName',
    [
      ['notes.txt', true],
      ['photo.png', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but (ignore case)',
    inDetail('state', [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }]),
    'state',
    [
      ['running', true],
      ['INITIALIZING', false],
      ['initializing', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but (ignore case) with a list',
    inDetail('state', [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }]),
    'state',
    [
      ['running', true],
      ['stopped', false],
      ['OVERLOADED', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but using a wildcard',
    inDetail('FilePath', [{ 'anything-but': { wildcard: '*/lib/*' } }]),
    'FilePath',
    [
      ['/usr/bin/ls', true],
      ['/usr/lib/libc.so', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'Anything-but using a list of wildcards',
    inDetail('FilePath', [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }]),
    'FilePath',
    [
      ['/etc/hosts', true],
      ['/usr/bin/ls', false],
      ['/usr/lib/libc.so', false],
    ],
  ),

  // Numeric matching: JSON numbers only, ranges, several operators.
  {
    name: 'numeric: all three conditions hold',
    doc: CONTENT_FILTERING,
    pattern: {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    event: ec2,
    match: true,
  },
  ...cases(
    CONTENT_FILTERING,
    'numeric > 0, <= 5',
    inDetail('c-count', [{ numeric: ['>', 0, '<=', 5] }]),
    'c-count',
    [
      [5, true],
      [0.000001, true],
      [0, false],
      [5.000001, false],
      ['5', false],
      [undefined, false],
    ],
  ),
  ...cases(OPERATORS, 'numeric >= 10, < 20', inDetail('Price', [{ numeric: ['>=', 10, '<', 20] }]), 'Price', [
    [10, true],
    [19.99, true],
    [20, false],
    [9.999999, false],
  ]),
  ...cases(OPERATORS, 'numeric = 3.018e2', inDetail('x-limit', [{ numeric: ['=', 3.018e2] }]), 'x-limit', [
    [301.8, true],
    [301.9, false],
  ]),

  // IP address matching, IPv4 and IPv6.
  ...cases(
    CONTENT_FILTERING,
    'cidr 10.0.0.0/24',
    inDetail('sourceIPAddress', [{ cidr: '10.0.0.0/24' }]),
    'sourceIPAddress',
    [
      ['10.0.0.0', true],
      ['10.0.0.255', true],
      ['10.0.1.1', false],
      ['10.0.0', false],
      ['AWS Internal', false],
    ],
  ),
  ...cases(
    OPERATORS,
    'cidr IPv6 2001:db8::/32',
    inDetail('sourceIPAddress', [{ cidr: '2001:db8::/32' }]),
    'sourceIPAddress',
    [
      ['2001:db8::1', true],
      ['2001:0DB8:ffff:0:0:0:0:1', true],
      ['2001:db9::1', false],
      ['10.0.0.1', false],
    ],
  ),
  {
    name: 'README complex example',
    doc: RULER,
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    event: ec2,
    match: true,
  },

  // Exists matching, only on leaves.
  ...cases(CONTENT_FILTERING, 'exists: true', inDetail('state', [{ exists: true }]), 'state', [
    ['pending', true],
    [undefined, false],
    [{ c1: 100 }, false],
  ]),
  ...cases(CONTENT_FILTERING, 'exists: false', inDetail('c-count', [{ exists: false }]), 'c-count', [
    [undefined, true],
    [5, false],
    // "The preceding event pattern also matches ... because c-count isn't a leaf node."
    [{ c1: 100 }, true],
  ]),
  {
    name: 'exists: true does not match an event without detail.state',
    doc: CONTENT_FILTERING,
    pattern: inDetail('state', [{ exists: true }]),
    event: {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { 'c-count': { c1: 100 } },
    },
    match: false,
  },

  // Null values and empty strings are not interchangeable.
  ...[
    { pattern: inDetail('eventVersion', ['']), match: true },
    { pattern: inDetail('responseElements', [null]), match: true },
    { pattern: inDetail('eventVersion', [null]), match: false },
    { pattern: inDetail('responseElements', ['']), match: false },
  ].map(
    ({ pattern, match }): Case => ({
      name: `null/empty: ${JSON.stringify(pattern)}`,
      doc: NULLS,
      pattern,
      event: {
        version: '0',
        id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
        'detail-type': 'EC2 Instance Launch Successful',
        source: 'aws.autoscaling',
        account: '123456789012',
        time: '2015-11-11T21:31:47Z',
        region: 'us-east-1',
        resources: [],
        detail: { eventVersion: '', responseElements: null },
      },
      match,
    }),
  ),

  // Arrays: the intersection of pattern values and event values must not be empty.
  {
    name: 'resources: first pattern value is the second event value',
    doc: ARRAYS,
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    event: {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    match: true,
  },
  {
    name: 'resources: no common value',
    doc: ARRAYS,
    pattern: { resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'] },
    event: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
    match: false,
  },
];

/** event-ruler README, "JSON Array Matching": objects in arrays are matched element by element. */
const employees = {
  employees: [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ],
};
const nestedEmployees = {
  employees: [
    [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
    ],
    [{ firstName: 'Peter', lastName: 'Jones' }],
  ],
};
table.push(
  {
    name: 'array of objects',
    doc: RULER,
    pattern: { employees: { firstName: ['Anna'] } },
    event: employees,
    match: true,
  },
  {
    name: 'multi-level arrays',
    doc: RULER,
    pattern: { employees: { firstName: ['Peter'] } },
    event: nestedEmployees,
    match: true,
  },
  {
    name: 'fields from different elements do not combine (array-consistent)',
    doc: RULER,
    pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
    event: employees,
    match: false,
  },
  {
    name: 'fields from the same element do',
    doc: RULER,
    pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } },
    event: employees,
    match: true,
  },
);

/** `$or`, from the operators page and the event-ruler README. */
const cloudwatch = (fields: Record<string, unknown>) => ({ source: 'aws.cloudwatch', ...fields });
const normalOr: EventPattern = {
  source: ['aws.cloudwatch'],
  $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
};
const numericOr: EventPattern = {
  detail: {
    $or: [
      { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
      { 'd-count': [{ numeric: ['<', 10] }] },
      { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
    ],
  },
};
const parallelOr: EventPattern = {
  $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
};
const nestedOr: EventPattern = {
  source: ['aws.cloudwatch'],
  $or: [
    { metricName: ['CPUUtilization', 'ReadLatency'] },
    {
      metricType: ['MetricType'],
      namespace: ['AWS/EC2', 'AWS/ES'],
      $or: [{ metricId: [1234] }, { spaceId: [1000] }],
    },
    { scope: ['Service'] },
  ],
};
table.push(
  {
    name: '$or: first branch',
    doc: RULER,
    pattern: normalOr,
    event: cloudwatch({ metricName: 'ReadLatency' }),
    match: true,
  },
  {
    name: '$or: second branch',
    doc: RULER,
    pattern: normalOr,
    event: cloudwatch({ namespace: 'AWS/ES' }),
    match: true,
  },
  {
    name: '$or: no branch',
    doc: RULER,
    pattern: normalOr,
    event: cloudwatch({ namespace: 'AWS/S3' }),
    match: false,
  },
  {
    name: '$or: branch matches but the AND field does not',
    doc: RULER,
    pattern: normalOr,
    event: { source: 'aws.ec2', metricName: 'ReadLatency' },
    match: false,
  },
  {
    name: '$or in detail: c-count',
    doc: OPERATORS,
    pattern: numericOr,
    event: ec2With({ 'd-count': 50, 'x-limit': 1 }),
    match: true,
  },
  {
    name: '$or in detail: none',
    doc: OPERATORS,
    pattern: numericOr,
    event: ec2With({ 'c-count': 9, 'd-count': 50, 'x-limit': 1 }),
    match: false,
  },
  {
    name: 'parallel $or: both groups satisfied',
    doc: RULER,
    pattern: parallelOr,
    event: { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } },
    match: true,
  },
  {
    name: 'parallel $or: only one group satisfied',
    doc: RULER,
    pattern: parallelOr,
    event: { namespace: 'AWS/EC2', detail: { source: 'aws.ec2' } },
    match: false,
  },
  {
    name: 'nested $or: inner branch by number',
    doc: RULER,
    pattern: nestedOr,
    event: cloudwatch({ metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 }),
    match: true,
  },
  {
    name: 'nested $or: AND inside the branch fails',
    doc: RULER,
    pattern: nestedOr,
    event: cloudwatch({ metricType: 'MetricType', spaceId: 1000 }),
    match: false,
  },
  {
    name: 'nested $or: numbers do not match strings',
    doc: RULER,
    pattern: nestedOr,
    event: cloudwatch({ metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: '1000' }),
    match: false,
  },
  {
    name: 'nested $or: last branch',
    doc: RULER,
    pattern: nestedOr,
    event: cloudwatch({ scope: 'Service' }),
    match: true,
  },
);

/** Wildcards: `*` is any run of characters, `\*` a literal asterisk. */
table.push(
  ...cases(OPERATORS, 'wildcard dir/*.png', inDetail('FileName', [{ wildcard: 'dir/*.png' }]), 'FileName', [
    ['dir/ab.png', true],
    ['dir/.png', true],
    ['dir/sub/ab.png', true],
    ['dir/ab.png.txt', false],
    ['other/ab.png', false],
  ]),
  ...cases(
    OPERATORS,
    'wildcard on an event bus ARN',
    inDetail('EventBusArn', [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }]),
    'EventBusArn',
    [
      ['arn:aws:events:us-east-1:123456789012:event-bus/default', true],
      ['arn:aws:events:us-west-2:123456789012:event-bus/default', false],
    ],
  ),
  ...cases(
    RULER,
    'wildcard Simple*Service',
    inDetail('service', [{ wildcard: 'Simple*Service' }]),
    'service',
    [
      ['SimpleNotificationService', true],
      ['SimpleService', true],
      ['simpleQueueService', false],
    ],
  ),
  ...cases(RULER, 'escaped asterisk', inDetail('name', [{ wildcard: 'a\\*b*' }]), 'name', [
    ['a*bc', true],
    ['axbc', false],
  ]),
  ...cases(RULER, 'escaped backslash', inDetail('name', [{ wildcard: 'a\\\\*' }]), 'name', [
    ['a\\b', true],
    ['ab', false],
  ]),
  ...cases(RULER, 'wildcard without *', inDetail('name', [{ wildcard: 'exact' }]), 'name', [
    ['exact', true],
    ['exactly', false],
  ]),
  ...cases(RULER, 'wildcard *a*a*', inDetail('name', [{ wildcard: '*ab*ab*' }]), 'name', [
    ['xabyab', true],
    ['abab', true],
    ['aba', false],
  ]),
);

describe('documented EventBridge examples', () => {
  it.each(table)('$name ($doc)', ({ pattern, event, match }) => {
    expect(validatePattern(pattern)).toEqual([]);
    expect(compilePattern(pattern)(event)).toBe(match);
    expect(matchesPattern(pattern, event)).toBe(match);
  });

  it('covers every operator', () => {
    const text = JSON.stringify(table.map((c) => c.pattern));
    for (const op of [...OPERATOR_NAMES, OR_KEY]) {
      expect(text).toContain(`"${op}"`);
    }
  });
});
