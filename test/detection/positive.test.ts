import { beforeAll, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { findingSchema } from '../../layers/findings/finding';
import { TEST_ACCOUNT } from '../helpers/app';
import { DETECTION_CONFIG, type Deployment, deployment, detect, HOME, OTHER } from './helpers';
import { attackerRole, attackerUser, call, decoyUser, type TemplateName } from './records';

/**
 * Every decoy kind × every API the issue lists × allowed and denied × home and a
 * non-home region: a real-shaped record is forwarded by its region's synthesized
 * rules, matched by the central rules, and yields exactly one finding with the
 * right actor and decoy.
 */

interface Case {
  label: string;
  regions: string[];
  template: TemplateName;
  eventSource?: string;
  eventName: string;
  actor: 'role' | 'user' | 'decoy';
  params: (d: Deployment, region: string) => Record<string, unknown> | null;
  resources?: (d: Deployment) => Record<string, unknown>[];
  decoy: (d: Deployment) => string;
  kind: 'resource-access' | 'tamper';
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** A denied call of the planted key carries no request parameters. */
  deniedWithoutParameters?: boolean;
  allowedOnly?: boolean;
}

const named = (d: Deployment, kind: string, index = 0) => d.decoys.filter((x) => x.kind === kind)[index]!;
const parameter = (d: Deployment) => named(d, 'ssm-parameter', 1);
const bucket = (d: Deployment) => named(d, 's3-bucket');
const object = (d: Deployment) => named(d, 's3-object', 1);
const user = (d: Deployment) => named(d, 'iam-user');
const key = (d: Deployment) => named(d, 'kms-key');
const parentOf = (name: string) => name.slice(0, name.lastIndexOf('/'));
const objectResources = (d: Deployment) => [
  { type: 'AWS::S3::Bucket', ARN: bucket(d).arn, accountId: TEST_ACCOUNT },
  { type: 'AWS::S3::Object', ARN: object(d).arn },
];
const bucketResources = (d: Deployment) => [
  { type: 'AWS::S3::Bucket', ARN: bucket(d).arn, accountId: TEST_ACCOUNT },
];
const REGIONAL = [HOME, OTHER];
const IAM_REGION = ['us-east-1'];

const cases: Case[] = [
  // Parameters, and their key.
  ...(
    [
      [
        'GetParameter by name',
        'GetParameter',
        (d: Deployment) => ({ name: parameter(d).name, withDecryption: true }),
      ],
      [
        'GetParameter by name:version',
        'GetParameter',
        (d: Deployment) => ({ name: `${parameter(d).name}:3` }),
      ],
      [
        'GetParameter by ARN',
        'GetParameter',
        (d: Deployment, region: string) => ({
          name: `arn:aws:ssm:${region}:${TEST_ACCOUNT}:parameter${parameter(d).name}`,
          withDecryption: true,
        }),
      ],
      [
        'GetParameters (names)',
        'GetParameters',
        (d: Deployment) => ({
          names: ['/prod/shared/feature-flags', parameter(d).name],
          withDecryption: true,
        }),
      ],
      [
        'GetParametersByPath (parent path)',
        'GetParametersByPath',
        (d: Deployment) => ({ path: parentOf(parameter(d).name), recursive: false, withDecryption: true }),
      ],
      [
        'GetParametersByPath (recursive from /)',
        'GetParametersByPath',
        () => ({ path: '/', recursive: true, withDecryption: true, maxResults: 10 }),
      ],
      [
        'GetParametersByPath (parent path, without decryption)',
        'GetParametersByPath',
        (d: Deployment) => ({ path: parentOf(parameter(d).name), recursive: false }),
      ],
      [
        'GetParameterHistory',
        'GetParameterHistory',
        (d: Deployment) => ({ name: parameter(d).name, withDecryption: true }),
      ],
    ] as const
  ).map(
    ([label, eventName, params]): Case => ({
      label,
      regions: REGIONAL,
      template: 'ssmRole',
      eventName,
      actor: 'role',
      params,
      // A path read returns every parameter under it: one finding, on the first of them.
      decoy: (d) => (eventName === 'GetParametersByPath' ? named(d, 'ssm-parameter', 0) : parameter(d)).name,
      kind: 'resource-access',
      // A path read returns the values in clear only with decryption: without it, medium.
      severity: label.endsWith('without decryption)') ? 'medium' : 'high',
    }),
  ),
  ...(
    [
      ['parameterFilters', 'Equals'],
      ['parameterFilters', 'BeginsWith'],
      ['filters', undefined],
    ] as const
  ).map(
    ([field, option]): Case => ({
      label: `DescribeParameters filtered on the name (${field}${option ? ` ${option}` : ''})`,
      regions: REGIONAL,
      template: 'ssmRole',
      eventName: 'DescribeParameters',
      actor: 'role',
      // The shape of a real record (panther-tests: aws_ssm_decrypt_ssm_params, "Unrelated Event").
      params: (d) => ({
        [field]: [{ key: 'Name', ...(option ? { option } : {}), values: [parameter(d).name] }],
      }),
      decoy: (d) => parameter(d).name,
      kind: 'resource-access',
      severity: 'low',
    }),
  ),
  ...(['Encrypt', 'GenerateDataKey'] as const).map(
    (eventName): Case => ({
      label: `kms:${eventName} with the parameter encryption context (a new value written)`,
      regions: REGIONAL,
      template: 'kms',
      eventName,
      actor: 'role',
      params: (d) => ({
        keyId: 'alias/aws/ssm',
        encryptionContext: { PARAMETER_ARN: parameter(d).arn },
      }),
      decoy: (d) => parameter(d).name,
      kind: 'tamper',
      severity: 'high',
    }),
  ),
  {
    label: 'GetParameters by an IAM user',
    regions: REGIONAL,
    template: 'ssm',
    eventName: 'GetParameters',
    actor: 'user',
    params: (d) => ({ names: [parameter(d).name], withDecryption: true }),
    decoy: (d) => parameter(d).name,
    kind: 'resource-access',
    severity: 'high',
  },
  {
    label: 'kms:Decrypt with the parameter encryption context',
    regions: REGIONAL,
    template: 'kms',
    eventName: 'Decrypt',
    actor: 'role',
    params: (d) => ({
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { PARAMETER_ARN: parameter(d).arn },
    }),
    decoy: (d) => parameter(d).name,
    kind: 'resource-access',
    severity: 'high',
  },
  ...(['DeleteParameter', 'PutParameter', 'LabelParameterVersion'] as const).map(
    (eventName): Case => ({
      label: eventName,
      regions: REGIONAL,
      template: 'ssmRole',
      eventName,
      actor: 'role',
      params: (d) => ({
        name: parameter(d).name,
        ...(eventName === 'PutParameter' ? { overwrite: true, type: 'SecureString' } : {}),
      }),
      decoy: (d) => parameter(d).name,
      kind: 'tamper',
      severity: 'high',
    }),
  ),
  ...(['ScheduleKeyDeletion', 'DisableKey'] as const).map(
    (eventName): Case => ({
      label: `kms:${eventName} on the parameters' key`,
      // A KMS key is regional: it can be named only against its own region's endpoint.
      regions: [HOME],
      template: 'kms',
      eventName,
      actor: 'role',
      // These calls take a key id or key ARN, never an alias; CloudTrail resolves the key in resources.
      params: (d) => ({
        keyId: eventName === 'DisableKey' ? key(d).arn.split(':key/')[1] : key(d).arn,
        pendingWindowInDays: 7,
      }),
      resources: (d) => [{ accountId: TEST_ACCOUNT, type: 'AWS::KMS::Key', ARN: key(d).arn }],
      decoy: (d) => key(d).name,
      kind: 'tamper',
      severity: 'high',
    }),
  ),

  // The bait bucket: object calls (data events), listings, bucket settings.
  ...(['GetObject', 'HeadObject', 'PutObject', 'DeleteObject'] as const).map(
    (eventName): Case => ({
      label: `s3:${eventName} on a bait object`,
      regions: REGIONAL,
      template: 's3',
      eventName,
      actor: 'user',
      params: (d) => ({
        bucketName: bucket(d).name,
        key: object(d).name,
        Host: `${bucket(d).name}.s3.amazonaws.com`,
      }),
      resources: objectResources,
      decoy: (d) => object(d).name,
      kind: 'resource-access',
      severity: 'high',
    }),
  ),
  {
    label: 's3:CopyObject out of the bait bucket',
    regions: REGIONAL,
    template: 's3Copy',
    eventName: 'CopyObject',
    actor: 'role',
    params: (d) => ({
      bucketName: 'exfil-drop-2024',
      key: 'dump.sql',
      'x-amz-copy-source': `${bucket(d).name}/${object(d).name}`,
    }),
    resources: (d) => [
      ...objectResources(d),
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::exfil-drop-2024/dump.sql' },
    ],
    decoy: (d) => object(d).name,
    kind: 'resource-access',
    severity: 'high',
  },
  ...(['ListObjects', 'ListObjectsV2'] as const).map(
    (eventName): Case => ({
      label: `s3:${eventName} on the bait bucket`,
      regions: REGIONAL,
      template: 's3',
      eventName,
      actor: 'role',
      params: (d) => ({
        bucketName: bucket(d).name,
        prefix: '',
        'list-type': eventName === 'ListObjectsV2' ? '2' : undefined,
      }),
      resources: bucketResources,
      decoy: (d) => bucket(d).name,
      kind: 'resource-access',
      severity: 'high',
    }),
  ),
  ...(['GetBucketPolicy', 'GetBucketAcl', 'GetBucketLocation'] as const).map(
    (eventName): Case => ({
      label: `s3:${eventName} (bucket-level read)`,
      regions: REGIONAL,
      template: 's3',
      eventName,
      actor: 'role',
      params: (d) => ({ bucketName: bucket(d).name, Host: `${bucket(d).name}.s3.amazonaws.com` }),
      resources: bucketResources,
      decoy: (d) => bucket(d).name,
      kind: 'resource-access',
      severity: 'low',
    }),
  ),
  ...(['DeleteBucket', 'PutBucketPolicy'] as const).map(
    (eventName): Case => ({
      label: `s3:${eventName}`,
      regions: REGIONAL,
      template: 's3',
      eventName,
      actor: 'role',
      params: (d) => ({ bucketName: bucket(d).name }),
      resources: bucketResources,
      decoy: (d) => bucket(d).name,
      kind: 'tamper',
      severity: 'high',
    }),
  ),

  // The planted user, as the subject of IAM calls (logged in us-east-1 only).
  ...(
    [
      ['GetUser', 'low'],
      ['ListAccessKeys', 'low'],
      ['DeleteUser', 'high'],
      ['CreateAccessKey', 'high'],
      ['AttachUserPolicy', 'high'],
    ] as const
  ).map(
    ([eventName, severity]): Case => ({
      label: `iam:${eventName} on the planted user`,
      regions: IAM_REGION,
      template: 'iam',
      eventName,
      actor: 'user',
      params: (d) => ({
        userName: user(d).name,
        ...(eventName === 'AttachUserPolicy'
          ? { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }
          : {}),
      }),
      decoy: (d) => user(d).name,
      kind: severity === 'low' ? 'resource-access' : 'tamper',
      severity,
    }),
  ),

  // Any call signed with the planted key: matched on the identity, denied ones carry no parameters.
  ...(
    [
      ['sts.amazonaws.com', 'GetCallerIdentity', [HOME, OTHER, 'us-east-1'], true],
      ['s3.amazonaws.com', 'ListBuckets', [HOME, OTHER], false],
      ['ec2.amazonaws.com', 'DescribeInstances', [HOME, OTHER], false],
      ['ssm.amazonaws.com', 'DescribeParameters', [HOME, OTHER], false],
      ['iam.amazonaws.com', 'ListUsers', ['us-east-1'], false],
      ['secretsmanager.amazonaws.com', 'ListSecrets', [HOME, OTHER], false],
    ] as const
  ).map(
    ([eventSource, eventName, regions, allowedOnly]): Case => ({
      label: `${eventSource.split('.')[0]}:${eventName} signed with the planted key`,
      regions: [...regions],
      template: 'sts',
      eventSource,
      eventName,
      actor: 'decoy',
      params: () => null,
      decoy: (d) => `${user(d).name}/access-key`,
      kind: 'resource-access',
      severity: 'critical',
      deniedWithoutParameters: true,
      allowedOnly,
    }),
  ),

  // Tampering with the trail and the routing.
  ...(
    [
      ['StopLogging', (d: Deployment) => ({ name: d.context.trailArn })],
      ['DeleteTrail', (d: Deployment) => ({ name: d.context.trailName })],
      ['UpdateTrail', (d: Deployment) => ({ name: d.context.trailName, isMultiRegionTrail: false })],
      [
        'PutEventSelectors',
        (d: Deployment) => ({
          trailName: d.context.trailName,
          eventSelectors: [{ readWriteType: 'WriteOnly' }],
        }),
      ],
      [
        'PutAdvancedEventSelectors',
        (d: Deployment) => ({ trailName: d.context.trailArn, advancedEventSelectors: [] }),
      ],
    ] as const
  ).map(
    ([eventName, params]): Case => ({
      label: `cloudtrail:${eventName} on the trail`,
      regions: REGIONAL,
      template: 'trail',
      eventName,
      actor: 'user',
      params,
      decoy: (d) => d.context.trailName,
      kind: 'tamper',
      severity: 'critical',
    }),
  ),
  ...(
    [
      ['DeleteRule', (d: Deployment) => ({ name: `${d.context.ruleNamePrefix}20`, force: true })],
      ['DisableRule', (d: Deployment) => ({ name: `${d.context.ruleNamePrefix}10` })],
      ['RemoveTargets', (d: Deployment) => ({ rule: `${d.context.ruleNamePrefix}40`, ids: ['Central'] })],
      [
        'PutRule',
        (d: Deployment) => ({ name: `${d.context.ruleNamePrefix}30`, eventPattern: '{"source":["none"]}' }),
      ],
      ['PutTargets', (d: Deployment) => ({ rule: `${d.context.ruleNamePrefix}60`, targets: [{ id: 'x' }] })],
      ['DeleteEventBus', (d: Deployment) => ({ name: d.context.busName })],
    ] as const
  ).map(
    ([eventName, params]): Case => ({
      label: `events:${eventName} on the routing`,
      regions: REGIONAL,
      template: 'events',
      eventSource: 'events.amazonaws.com',
      eventName,
      actor: 'role',
      params,
      decoy: (d) => {
        const p = params(d) as { name?: string; rule?: string };
        return eventName === 'DeleteEventBus' ? d.context.busName : String(p.name ?? p.rule);
      },
      kind: 'tamper',
      severity: 'critical',
    }),
  ),
];

interface Run {
  name: string;
  spec: Case;
  region: string;
  denied: boolean;
}

const runs: Run[] = cases.flatMap((spec) =>
  spec.regions.flatMap((region) =>
    (spec.allowedOnly ? [false] : [false, true]).map((denied) => ({
      name: `${spec.label} | ${region === HOME ? 'home' : region} | ${denied ? 'denied' : 'allowed'}`,
      spec,
      region,
      denied,
    })),
  ),
);

let d: Deployment;

function recordOf(run: Run): CloudTrailRecord {
  const { spec, region, denied } = run;
  const userArn = user(d).arn;
  const identity =
    spec.actor === 'decoy' ? decoyUser(userArn) : spec.actor === 'user' ? attackerUser() : attackerRole();
  // The events fixture comes from a CloudFormation-driven change: an attacker's call is direct.
  delete identity.invokedBy;
  return call({
    template: spec.template,
    eventSource: spec.eventSource,
    eventName: spec.eventName,
    region,
    userIdentity: identity,
    requestParameters: denied && spec.deniedWithoutParameters ? null : spec.params(d, region),
    resources: spec.resources?.(d),
    denied,
  });
}

describe.each(['named', 'broad'] as const)(
  'every touch of every decoy becomes one finding (%s rules)',
  (style) => {
    beforeAll(() => {
      d = deployment({ ...DETECTION_CONFIG, detection: { ruleStyle: style } });
    });

    it(`covers ${runs.length} calls`, () => {
      expect(runs.length).toBeGreaterThan(150);
    });

    it.each(runs)('$name', async (run) => {
      const record = recordOf(run);
      const { routed, outcomes, sink } = await detect(d, [record]);
      expect(routed.forwardedBy, 'a forwarding rule of the record region matches').not.toHaveLength(0);
      expect(routed.invokedBy, 'a central rule matches').not.toHaveLength(0);
      expect(outcomes.filter((o) => o.result === 'alerted')).toHaveLength(1);
      expect(sink.findings).toHaveLength(1);
      const finding = findingSchema.parse(sink.findings[0]);
      expect(finding.actor.arn).toBe(record.userIdentity?.arn);
      expect(finding.actor.type).toBe(record.userIdentity?.type);
      expect(finding.resource?.name).toBe(run.spec.decoy(d));
      expect(finding.kind).toBe(run.spec.kind);
      expect(finding.severity).toBe(run.spec.severity);
      expect(finding.region).toBe(run.region);
      expect(finding.outcome).toBe(run.denied ? 'denied' : 'allowed');
      expect(finding.eventNames).toEqual([run.spec.eventName]);
      expect(finding.sourceIp).toBe(record.sourceIPAddress);
      expect(finding.count).toBe(1);
      if (run.spec.actor === 'decoy')
        expect(finding.actor.accessKeyId).toBe(record.userIdentity?.accessKeyId);
    });
  },
);
