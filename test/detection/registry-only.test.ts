import { describe, expect, it } from 'vitest';
import { toEnvelope } from '../../layers/cloudtrail/record';
import { classifyRecord } from '../../layers/detection/classify';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { classifyContextOf } from '../../layers/detection/replay';
import { buildDetectionRules, type DetectionContext, type KnownDecoy } from '../../layers/detection/rules';
import { matchesPattern } from '../../layers/event-pattern';
import { TEST_ACCOUNT } from '../helpers/app';
import { attackerRole, attackerUser, type CallSpec, call, decoyUser } from './records';

/**
 * Broad rules (the default) are built from no decoy at all: names are chosen at
 * plant time and only the registry knows them. These names appear in no plan and
 * no config; a call on any of them still crosses a deployed rule and the touch
 * function finds it in the registry, and the same call on a look-alike does not.
 */

const REGION = 'eu-west-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${TEST_ACCOUNT}:key/${KEY_ID}`;
const USER_ARN = `arn:aws:iam::${TEST_ACCOUNT}:user/svc/report-export`;
const KEY_IDS = ['AKIAQ3EGWSXRRUNTIME1'];
const PARAMETER = '/reporting/prod/warehouse/password';
const PARAMETER_ARN = `arn:aws:ssm:${REGION}:${TEST_ACCOUNT}:parameter${PARAMETER}`;
const BUCKET = 'reporting-exports-7h2k';

/** What the registry would hold after planting, names chosen at run time. */
const registry: KnownDecoy[] = [
  { kind: 'ssm-parameter', name: PARAMETER, arn: PARAMETER_ARN },
  { kind: 's3-bucket', name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
  {
    kind: 's3-object',
    name: 'nightly/2024-08-01.sql.gz',
    arn: `arn:aws:s3:::${BUCKET}/nightly/2024-08-01.sql.gz`,
    bucket: BUCKET,
  },
  { kind: 'iam-user', name: 'report-export', arn: USER_ARN },
  { kind: 'iam-access-key', name: 'report-export/access-key', arn: USER_ARN, accessKeyIds: KEY_IDS },
  // The key as the registry knows it: its ARN (no alias, no environment variable).
  { kind: 'kms-key', name: KEY_ARN, arn: KEY_ARN },
];

const context: DetectionContext = {
  style: 'broad',
  ruleNamePrefix: 'platform-shared-services-route-',
  busName: 'platform-shared-services-events',
  trailName: 'platform-shared-services-audit',
  trailArn: `arn:aws:cloudtrail:${REGION}:${TEST_ACCOUNT}:trail/platform-shared-services-audit`,
  planterRoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/platform-rotation`,
};
const rules = buildDetectionRules([], context);
const index = new DecoyIndex(registry);

function outcome(spec: Omit<CallSpec, 'region'> & { region?: string }) {
  const record = call({ region: REGION, ...spec });
  const routed = rules.filter((r) => matchesPattern(r.pattern, toEnvelope(record))).map((r) => r.concern);
  const { matches: touches } = classifyRecord(record, index, classifyContextOf(context));
  return { routed, decoy: touches[0]?.resource.name, category: touches[0]?.category };
}

const role = () => {
  const identity = attackerRole();
  delete identity.invokedBy;
  return identity;
};

describe('broad rules and the registry alone', () => {
  it('no rule pattern names a decoy of the registry', () => {
    const text = JSON.stringify(rules.map((r) => r.pattern));
    for (const decoy of registry) {
      expect(text).not.toContain(decoy.name);
      expect(text).not.toContain(decoy.arn);
    }
    for (const id of [...KEY_IDS, KEY_ID]) expect(text).not.toContain(id);
  });

  it.each([
    ['GetParameter', { name: PARAMETER, withDecryption: true }],
    ['GetParameters', { names: ['/other/x', `${PARAMETER}:2`] }],
    ['GetParametersByPath', { path: '/reporting/prod', recursive: true }],
    ['ListTagsForResource', { resourceType: 'Parameter', resourceId: PARAMETER }],
    ['DeleteParameter', { name: PARAMETER_ARN }],
  ] as const)('ssm:%s naming a registry parameter', (eventName, requestParameters) => {
    const result = outcome({ template: 'ssmRole', eventName, userIdentity: role(), requestParameters });
    expect(result.routed).toContain('parameters');
    expect(result.decoy).toBe(PARAMETER);
  });

  it('kms:Decrypt with the encryption context of a registry parameter', () => {
    const result = outcome({
      template: 'kms',
      eventName: 'Decrypt',
      userIdentity: role(),
      requestParameters: { encryptionContext: { PARAMETER_ARN } },
    });
    expect(result.routed).toContain('keys');
    expect(result).toMatchObject({ decoy: PARAMETER, category: 'parameter-decrypt' });
  });

  it.each([
    ['ScheduleKeyDeletion by key id', 'ScheduleKeyDeletion', { keyId: KEY_ID, pendingWindowInDays: 7 }, []],
    ['DisableKey by key ARN', 'DisableKey', { keyId: KEY_ARN }, []],
    [
      'PutKeyPolicy by an alias the registry does not know (CloudTrail resolves the key)',
      'PutKeyPolicy',
      { keyId: 'alias/anything', policyName: 'default' },
      [{ accountId: TEST_ACCOUNT, type: 'AWS::KMS::Key', ARN: KEY_ARN }],
    ],
  ] as const)('kms writes on the registry key: %s', (_label, eventName, requestParameters, resources) => {
    const result = outcome({
      template: 'kms',
      eventName,
      userIdentity: role(),
      requestParameters,
      resources: [...resources],
    });
    expect(result.routed).toContain('keys');
    expect(result).toMatchObject({ decoy: KEY_ARN, category: 'resource-change' });
  });

  it.each([
    ['GetObject', { bucketName: BUCKET, key: 'nightly/2024-08-01.sql.gz' }, 'nightly/2024-08-01.sql.gz'],
    ['ListObjectsV2', { bucketName: BUCKET, prefix: '' }, BUCKET],
    ['GetBucketAcl', { bucketName: BUCKET }, BUCKET],
    ['GetBucketIntelligentTieringConfiguration', { bucketName: BUCKET }, BUCKET],
    ['PutBucketPolicy', { bucketName: BUCKET, policy: '{}' }, BUCKET],
  ] as const)('s3:%s on the registry bucket', (eventName, requestParameters, decoy) => {
    const result = outcome({ template: 's3', eventName, userIdentity: attackerUser(), requestParameters });
    expect(result.routed).toContain('objects');
    expect(result.decoy).toBe(decoy);
  });

  it.each([
    ['GetUser', { userName: 'report-export' }, 'report-export'],
    ['UpdateAccessKey', { accessKeyId: KEY_IDS[0], status: 'Inactive' }, 'report-export/access-key'],
  ] as const)('iam:%s naming the registry user or its key', (eventName, requestParameters, decoy) => {
    const result = outcome({
      template: 'iam',
      eventName,
      region: 'us-east-1',
      userIdentity: attackerUser(),
      requestParameters,
    });
    expect(result.routed).toContain('directory');
    expect(result.decoy).toBe(decoy);
  });

  it.each([
    ['its key id', decoyUser(USER_ARN, KEY_IDS[0])],
    ['its ARN under a session key (GetSessionToken)', decoyUser(USER_ARN, 'ASIAQ3EGWSXRSESSION9')],
  ])('any call signed by the registry user, by %s, denied and without parameters', (_label, identity) => {
    const result = outcome({
      template: 'sts',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeInstances',
      userIdentity: identity,
      requestParameters: null,
      denied: true,
    });
    expect(result.routed).toContain('identity');
    expect(result).toMatchObject({ decoy: 'report-export/access-key', category: 'key-use' });
  });

  it.each([
    ['ssm', 'ssmRole', 'GetParameter', { name: '/reporting/prod/warehouse/password-old' }],
    ['kms', 'kms', 'ScheduleKeyDeletion', { keyId: '99999999-12ab-34cd-56ef-1234567890ab' }],
    ['s3', 's3', 'GetObject', { bucketName: 'reporting-exports-7h2k-old', key: 'a' }],
    ['iam', 'iam', 'GetUser', { userName: 'report-exporter' }],
  ] as const)(
    'the same call on a %s look-alike is routed but is no touch',
    (_s, template, eventName, params) => {
      const result = outcome({ template, eventName, userIdentity: role(), requestParameters: params });
      expect(result.routed).not.toHaveLength(0);
      expect(result.decoy).toBeUndefined();
    },
  );
});
