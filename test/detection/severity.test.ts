import { beforeAll, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { callTargetOf } from '../../layers/detection/classify';
import { touchCategories } from '../../layers/detection/severity';
import {
  DETECTION_CONFIG,
  type Deployment,
  deployment,
  detect,
  HOME,
  planterRoleArn,
  route,
} from './helpers';
import { attackerRole, call, decoyUser, roleSession, type TemplateName } from './records';

/**
 * Severity that matches intent (issue 12, item 4), on real-shaped records through the
 * deployed rules of both styles and the touch function: a path read with decryption is
 * high, a name-filtered DescribeParameters is low, a KMS Encrypt for the parameter by
 * anyone but the planter is a change to it, and a call signed with the reserved key says
 * what it tried to reach.
 */

const named = (d: Deployment, kind: string, index = 0) => d.decoys.filter((x) => x.kind === kind)[index]!;
const parameter = (d: Deployment) => named(d, 'ssm-parameter', 1);
const parentOf = (name: string) => name.slice(0, name.lastIndexOf('/'));

interface Row {
  label: string;
  template: TemplateName;
  eventSource?: string;
  eventName: string;
  identity?: (d: Deployment) => Record<string, unknown>;
  params: (d: Deployment) => Record<string, unknown> | null;
  resources?: (d: Deployment) => Record<string, unknown>[];
  /** undefined: no finding. */
  expected?: {
    decoy: (d: Deployment) => string;
    kind: 'resource-access' | 'tamper';
    severity: 'low' | 'medium' | 'high' | 'critical';
    title: (d: Deployment) => string;
  };
}

const rows: Row[] = [
  // 1. GetParametersByPath: CloudTrail logs no response elements, so the requested path says what came back.
  {
    label: 'path read with decryption covering the parameter',
    template: 'ssmRole',
    eventName: 'GetParametersByPath',
    params: (d) => ({ path: parentOf(parameter(d).name), recursive: false, withDecryption: true }),
    expected: {
      decoy: (d) => named(d, 'ssm-parameter', 0).name,
      kind: 'resource-access',
      severity: 'high',
      title: () => `${touchCategories['parameter-path-decrypt'].label} (ssm:GetParametersByPath)`,
    },
  },
  {
    label: 'recursive path read from / with decryption',
    template: 'ssmRole',
    eventName: 'GetParametersByPath',
    params: () => ({ path: '/', recursive: true, withDecryption: true, maxResults: 10 }),
    expected: {
      decoy: (d) => named(d, 'ssm-parameter', 0).name,
      kind: 'resource-access',
      severity: 'high',
      title: () => touchCategories['parameter-path-decrypt'].label,
    },
  },
  {
    label: 'path read without decryption covering the parameter',
    template: 'ssmRole',
    eventName: 'GetParametersByPath',
    params: (d) => ({ path: parentOf(parameter(d).name), recursive: false, withDecryption: false }),
    expected: {
      decoy: (d) => named(d, 'ssm-parameter', 0).name,
      kind: 'resource-access',
      severity: 'medium',
      title: () => `: ${touchCategories['parameter-path-read'].label} (`,
    },
  },
  {
    label: 'path read with decryption of a sibling path',
    template: 'ssmRole',
    eventName: 'GetParametersByPath',
    params: (d) => ({ path: `${parentOf(parameter(d).name)}-legacy`, recursive: true, withDecryption: true }),
  },

  // 2. DescribeParameters: aimed at the parameter by a name filter, low; a listing, nothing.
  {
    label: 'DescribeParameters, parameterFilters Name Equals the parameter',
    template: 'ssmDescribe',
    eventName: 'DescribeParameters',
    params: (d) => ({ parameterFilters: [{ key: 'Name', option: 'Equals', values: [parameter(d).name] }] }),
    expected: {
      decoy: (d) => parameter(d).name,
      kind: 'resource-access',
      severity: 'low',
      title: () => `${touchCategories['parameter-lookup'].label} (ssm:DescribeParameters)`,
    },
  },
  {
    label: 'DescribeParameters, older filters Name the parameter among others',
    template: 'ssmDescribe',
    eventName: 'DescribeParameters',
    params: (d) => ({
      filters: [{ key: 'Name', values: ['/prod/shared/feature-flags', parameter(d).name] }],
    }),
    expected: {
      decoy: (d) => parameter(d).name,
      kind: 'resource-access',
      severity: 'low',
      title: () => touchCategories['parameter-lookup'].label,
    },
  },
  {
    label: 'DescribeParameters paging through every parameter (the real Stratus record)',
    template: 'ssmList',
    eventName: 'DescribeParameters',
    identity: () => attackerRole(),
    params: () => ({ maxResults: 10 }),
  },
  {
    label: 'DescribeParameters filtered on a look-alike name',
    template: 'ssmDescribe',
    eventName: 'DescribeParameters',
    params: (d) => ({ parameterFilters: [{ key: 'Name', values: [`${parameter(d).name}-old`] }] }),
  },
  {
    label: 'DescribeParameters filtered on another key carrying the name',
    template: 'ssmDescribe',
    eventName: 'DescribeParameters',
    params: (d) => ({ parameterFilters: [{ key: 'tag:owner', values: [parameter(d).name] }] }),
  },

  // 3. KMS Encrypt (SSM storing a new SecureString value) with the parameter's ARN: a write.
  {
    label: 'kms:Encrypt with the parameter ARN by another role',
    template: 'kms',
    eventName: 'Encrypt',
    params: (d) => ({ keyId: 'alias/aws/ssm', encryptionContext: { PARAMETER_ARN: parameter(d).arn } }),
    expected: {
      decoy: (d) => parameter(d).name,
      kind: 'tamper',
      severity: touchCategories['resource-change'].severity,
      title: () => `${touchCategories['resource-change'].label} (kms:Encrypt)`,
    },
  },
  {
    label: 'kms:Encrypt with the parameter ARN by the planter',
    template: 'kms',
    eventName: 'Encrypt',
    identity: (d) => ({ ...roleSession(planterRoleArn(d)), invokedBy: 'ssm.amazonaws.com' }),
    params: (d) => ({ keyId: 'alias/aws/ssm', encryptionContext: { PARAMETER_ARN: parameter(d).arn } }),
  },
  {
    label: "kms:Encrypt with another parameter's ARN",
    template: 'kms',
    eventName: 'Encrypt',
    params: (d) => ({
      keyId: 'alias/aws/ssm',
      encryptionContext: { PARAMETER_ARN: `${parameter(d).arn}-old` },
    }),
  },

  // 4. Signed with the reserved key: the title names the call's target.
  ...(
    [
      [
        'ssm.amazonaws.com',
        'GetParameter',
        (d: Deployment) => ({ name: parameter(d).name }),
        (d: Deployment) => `ssm:GetParameter on ${parameter(d).name}`,
      ],
      [
        'secretsmanager.amazonaws.com',
        'GetSecretValue',
        () => ({ secretId: 'prod/db/admin' }),
        () => 'secretsmanager:GetSecretValue on prod/db/admin',
      ],
      [
        's3.amazonaws.com',
        'GetObject',
        () => ({ bucketName: 'finance-exports', key: 'q3/payroll.csv' }),
        () => 's3:GetObject on finance-exports/q3/payroll.csv',
      ],
      [
        'iam.amazonaws.com',
        'CreateUser',
        () => ({ userName: 'svc-backup' }),
        () => 'iam:CreateUser on svc-backup',
      ],
      ['sts.amazonaws.com', 'GetCallerIdentity', () => null, () => '(sts:GetCallerIdentity) by'],
    ] as const
  ).map(
    ([eventSource, eventName, params, title]): Row => ({
      label: `${eventName} signed with the reserved key`,
      template: 'sts',
      eventSource,
      eventName,
      identity: (d) => decoyUser(named(d, 'iam-user').arn),
      params,
      expected: {
        decoy: (d) => `${named(d, 'iam-user').name}/access-key`,
        kind: 'resource-access',
        severity: 'critical',
        title,
      },
    }),
  ),
];

describe.each(['broad', 'named'] as const)('severity that matches intent (%s rules)', (style) => {
  let d: Deployment;
  beforeAll(() => {
    d = deployment({ ...DETECTION_CONFIG, detection: { ruleStyle: style } });
  });

  const record = (row: Row): CloudTrailRecord =>
    call({
      template: row.template,
      ...(row.eventSource ? { eventSource: row.eventSource } : {}),
      eventName: row.eventName,
      region: HOME,
      userIdentity: row.identity?.(d) ?? attackerRole(),
      requestParameters: row.params(d),
      ...(row.resources ? { resources: row.resources(d) } : {}),
    });

  it.each(rows.map((row) => [row.label, row] as const))('%s', async (_label, row) => {
    const { sink, routed } = await detect(d, [record(row)]);
    if (!row.expected) {
      expect(sink.findings).toEqual([]);
      return;
    }
    expect(routed.forwardedBy, 'forwarded by the regional rules').not.toEqual([]);
    expect(routed.invokedBy, 'matched by a central rule').not.toEqual([]);
    expect(sink.findings).toHaveLength(1);
    const finding = sink.findings[0]!;
    expect(finding.resource?.name).toBe(row.expected.decoy(d));
    expect(finding.kind).toBe(row.expected.kind);
    expect(finding.severity).toBe(row.expected.severity);
    expect(finding.title).toContain(row.expected.title(d));
  });
});

describe('what the broad rules forward for these calls', () => {
  let d: Deployment;
  beforeAll(() => {
    d = deployment({ ...DETECTION_CONFIG, detection: { ruleStyle: 'broad' } });
  });

  it('a DescribeParameters without a name filter reaches no rule: listings are not paid for', () => {
    const listing = call({
      template: 'ssmList',
      eventName: 'DescribeParameters',
      region: HOME,
      userIdentity: attackerRole(),
    });
    expect(route(d, listing).invokedBy).toEqual([]);
  });

  it('a KMS Encrypt without a parameter ARN in its context reaches no rule', () => {
    const encrypt = call({
      template: 'kms',
      eventName: 'Encrypt',
      region: HOME,
      userIdentity: attackerRole(),
      requestParameters: { keyId: 'alias/app', encryptionContext: { tenant: 'a' } },
    });
    expect(route(d, encrypt).invokedBy).toEqual([]);
  });
});

describe('callTargetOf: what a call is aimed at, in the request', () => {
  const base = (requestParameters: Record<string, unknown> | null, resources?: Record<string, unknown>[]) =>
    call({
      template: 'sts',
      eventName: 'Anything',
      region: HOME,
      userIdentity: attackerRole(),
      requestParameters,
      ...(resources ? { resources } : {}),
    });
  it.each([
    ['a secret id', { secretId: 'prod/db/admin', versionStage: 'AWSCURRENT' }, undefined, 'prod/db/admin'],
    ['an object', { bucketName: 'b', key: 'k/v.csv' }, undefined, 'b/k/v.csv'],
    ['a bucket', { bucketName: 'b', location: '' }, undefined, 'b'],
    ['several names', { names: ['/a', '/b', '/c'] }, undefined, '/a and 2 more'],
    ['a path', { path: '/prod', recursive: true }, undefined, '/prod'],
    [
      'nothing in the request: the resolved resource',
      {},
      [{ ARN: 'arn:aws:kms:eu-west-1:1:key/k' }],
      'arn:aws:kms:eu-west-1:1:key/k',
    ],
    ['no request at all', null, undefined, undefined],
  ] as const)('%s', (_label, params, resources, expected) => {
    expect(callTargetOf(base(params ? { ...params } : null, resources ? [...resources] : undefined))).toBe(
      expected,
    );
  });

  it('cuts a long target so the title stays readable', () => {
    const target = callTargetOf(base({ name: `/${'x'.repeat(500)}` }));
    expect(target).toHaveLength(200);
    expect(target?.endsWith('…')).toBe(true);
  });
});
