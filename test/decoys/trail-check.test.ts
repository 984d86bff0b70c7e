import { describe, expect, it } from 'vitest';
import type { EventSelectorsResponse, FieldSelector, TrailPort } from '../../layers/decoys/ports';
import { checkTrail, checkTrailCoverage } from '../../layers/decoys/trail-check';

const bucket = 'ledger-prod-exports-123456789012-eu-west-1';
const keys = [
  'config/ledger/.env.prod',
  'db/ledger-prod-full.sql',
  'terraform/prod/ledger/terraform.tfstate',
];
const management = {
  Name: 'Management',
  FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }],
};
const objectsOf = (arnPrefix: string, extra: FieldSelector[] = []) => ({
  Name: 'Objects',
  FieldSelectors: [
    { Field: 'eventCategory', Equals: ['Data'] },
    { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
    { Field: 'resources.ARN', StartsWith: [arnPrefix] },
    ...extra,
  ],
});

const cases: [string, EventSelectorsResponse, RegExp[]][] = [
  [
    'advanced: management + the bait bucket (what the stack itself creates)',
    { AdvancedEventSelectors: [management, objectsOf(`arn:aws:s3:::${bucket}/`)] },
    [],
  ],
  [
    'advanced: object events on every bucket',
    { AdvancedEventSelectors: [management, objectsOf('arn:aws:s3:::')] },
    [],
  ],
  [
    'advanced: object events without an ARN filter (all buckets)',
    {
      AdvancedEventSelectors: [
        management,
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          ],
        },
      ],
    },
    [],
  ],
  [
    'advanced: management only',
    { AdvancedEventSelectors: [management] },
    [
      /S3 data events \(GetObject\) are not logged for s3:\/\/ledger.*\.env\.prod.*StartsWith arn:aws:s3:::ledger/,
    ],
  ],
  [
    'advanced: another bucket only',
    { AdvancedEventSelectors: [management, objectsOf('arn:aws:s3:::some-other-bucket/')] },
    [/S3 data events/],
  ],
  [
    'advanced: only a prefix of the bucket',
    { AdvancedEventSelectors: [management, objectsOf(`arn:aws:s3:::${bucket}/db/`)] },
    [/not logged for s3:\/\/.*\.env\.prod, s3:\/\/.*terraform\.tfstate:/],
  ],
  [
    'advanced: object writes only',
    {
      AdvancedEventSelectors: [
        management,
        objectsOf(`arn:aws:s3:::${bucket}/`, [{ Field: 'readOnly', Equals: ['false'] }]),
      ],
    },
    [/S3 data events/],
  ],
  [
    'advanced: the bait bucket excluded',
    {
      AdvancedEventSelectors: [
        management,
        objectsOf('arn:aws:s3:::', [{ Field: 'resources.ARN', NotStartsWith: [`arn:aws:s3:::${bucket}/`] }]),
      ],
    },
    [/S3 data events/],
  ],
  [
    'advanced: management write only',
    {
      AdvancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Management'] },
            { Field: 'readOnly', Equals: ['false'] },
          ],
        },
        objectsOf(`arn:aws:s3:::${bucket}/`),
      ],
    },
    [/management read events are not logged/],
  ],
  [
    'advanced: KMS excluded from management events',
    {
      AdvancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Management'] },
            { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] },
          ],
        },
        objectsOf(`arn:aws:s3:::${bucket}/`),
      ],
    },
    [/management read events kms:Decrypt are not logged/],
  ],
  [
    "advanced: only one role's calls (an unknown field that requires a value)",
    {
      AdvancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Management'] },
            { Field: 'userIdentity.arn', StartsWith: ['arn:aws:sts::123456789012:assumed-role/Admin'] },
          ],
        },
        objectsOf(`arn:aws:s3:::${bucket}/`),
      ],
    },
    [/management read events are not logged/, /management write events are not logged/],
  ],
  [
    'basic: all management events and the bucket',
    {
      EventSelectors: [
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: true,
          DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }],
        },
      ],
    },
    [],
  ],
  [
    'basic: all S3 buckets ("arn:aws:s3")',
    {
      EventSelectors: [
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: true,
          DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }],
        },
      ],
    },
    [],
  ],
  [
    'basic: write-only, management only, KMS excluded',
    {
      EventSelectors: [
        {
          ReadWriteType: 'WriteOnly',
          IncludeManagementEvents: true,
          ExcludeManagementEventSources: ['kms.amazonaws.com'],
        },
      ],
    },
    [/management read events are not logged/, /S3 data events/],
  ],
  [
    'basic: KMS excluded',
    {
      EventSelectors: [
        {
          ReadWriteType: 'All',
          ExcludeManagementEventSources: ['kms.amazonaws.com'],
          DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }],
        },
      ],
    },
    [/kms:Decrypt are not logged/],
  ],
  [
    'basic: data events without management events',
    {
      EventSelectors: [
        {
          ReadWriteType: 'All',
          IncludeManagementEvents: false,
          DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }],
        },
      ],
    },
    [/management read events are not logged/, /management write events are not logged/],
  ],
  ['no selectors at all', {}, [/logs nothing/]],
];

describe('checkTrailCoverage', () => {
  it.each(cases)('%s', (_, response, expected) => {
    const problems = checkTrailCoverage(response, bucket, { objectKeys: keys });
    expect(problems).toHaveLength(expected.length);
    for (const [i, pattern] of expected.entries()) expect(problems[i]).toMatch(pattern);
  });

  it('without object keys, a bucket-wide selector is required', () => {
    const prefixOnly = { AdvancedEventSelectors: [management, objectsOf(`arn:aws:s3:::${bucket}/db/`)] };
    expect(checkTrailCoverage(prefixOnly, bucket)).toEqual([
      expect.stringMatching(/objects of s3:\/\/ledger/),
    ]);
  });

  it('with no bait bucket, only management events matter', () => {
    expect(checkTrailCoverage({ AdvancedEventSelectors: [management] }, undefined)).toEqual([]);
  });
});

describe('checkTrail', () => {
  const port = (response: EventSelectorsResponse, isLogging: boolean): TrailPort => ({
    getEventSelectors: async () => response,
    getTrailStatus: async () => ({ isLogging }),
  });
  const arn = 'arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail';

  it('reports a trail that is not logging', async () => {
    const problems = await checkTrail(port({ AdvancedEventSelectors: [management] }, false), arn, undefined);
    expect(problems).toEqual(['the trail is not logging: start it (cloudtrail:StartLogging)']);
  });

  it('passes a logging trail that covers everything', async () => {
    const response = { AdvancedEventSelectors: [management, objectsOf(`arn:aws:s3:::${bucket}/`)] };
    expect(await checkTrail(port(response, true), arn, bucket, { objectKeys: keys })).toEqual([]);
  });
});
