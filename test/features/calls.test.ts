import { describe, expect, it } from 'vitest';
import {
  apiCategory,
  isDenied,
  isWrite,
  principalOf,
  SENSITIVE_CALLS,
  sensitiveCategory,
  userAgentFamily,
} from '../../layers/features';
import { ACCOUNT, alice, call, roleSession } from './helpers';

describe('principalOf', () => {
  it('an IAM user with a long-term key: the key, judged against the user', () => {
    expect(principalOf(call())).toMatchObject({
      key: 'AKIAALICEKEY00000001',
      identity: alice.arn,
      arn: alice.arn,
      type: 'IAMUser',
      account: ACCOUNT,
    });
  });

  it('a role session: the session ARN (temporary keys change every session), judged against the role', () => {
    const principal = principalOf(call({ userIdentity: roleSession('ci-deploy', 'GitHubActions') }));
    expect(principal).toMatchObject({
      key: `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deploy/GitHubActions`,
      identity: `arn:aws:iam::${ACCOUNT}:role/ci-deploy`,
      sessionName: 'GitHubActions',
      accessKeyId: 'ASIATEMPORARY0000001',
    });
  });

  it('derives the role from the session ARN when sessionContext is missing', () => {
    const { sessionContext: _, ...identity } = roleSession('app', 'task-1');
    expect(principalOf(call({ userIdentity: identity })).identity).toBe(`arn:aws:iam::${ACCOUNT}:role/app`);
  });

  it('never throws on missing identity fields', () => {
    expect(principalOf(call({ userIdentity: undefined })).key).toBe('Unknown:unknown');
    expect(
      principalOf(call({ userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' } })).key,
    ).toBe('service:ec2.amazonaws.com');
    expect(principalOf(call({ userIdentity: { type: 'Root', principalId: ACCOUNT } })).arn).toBe(
      `Root:${ACCOUNT}`,
    );
  });
});

describe('sensitive calls', () => {
  it.each([
    ['secretsmanager', 'GetSecretValue', 'secret-read'],
    ['iam', 'ListUsers', 'iam-enumeration'],
    ['iam', 'GetAccountAuthorizationDetails', 'iam-enumeration'],
    ['iam', 'AttachUserPolicy', 'iam-change'],
    ['iam', 'CreateAccessKey', 'credential-creation'],
    ['cloudtrail', 'StopLogging', 'logging-change'],
    ['cloudtrail', 'PutEventSelectors', 'logging-change'],
    ['organizations', 'LeaveOrganization', 'logging-change'],
    ['ec2', 'GetPasswordData', 'secret-read'],
    ['s3', 'ListBuckets', undefined],
    ['cloudtrail', 'LookupEvents', undefined],
  ])('%s:%s is %s', (service, name, category) => {
    expect(apiCategory(service, name)).toBe(category);
  });

  it('an SSM parameter read without decryption returns no secret; a denied one (no parameters) still counts', () => {
    const read = (requestParameters: Record<string, unknown> | null) =>
      sensitiveCategory(
        call({ eventSource: 'ssm.amazonaws.com', eventName: 'GetParameter', requestParameters }),
      );
    expect(read({ name: '/prod/db', withDecryption: true })).toBe('secret-read');
    expect(read({ name: '/prod/db', withDecryption: false })).toBeUndefined();
    expect(read(null)).toBe('secret-read');
  });

  it('every rule has a reason', () => {
    for (const rule of SENSITIVE_CALLS) expect(rule.why.length).toBeGreaterThan(20);
  });
});

describe('write, denied, user agent', () => {
  it("takes CloudTrail's readOnly, else the verb", () => {
    expect(isWrite(call({ readOnly: false }))).toBe(true);
    expect(isWrite(call({ readOnly: undefined, eventName: 'DescribeInstances' }))).toBe(false);
    expect(isWrite(call({ readOnly: undefined, eventName: 'RunInstances' }))).toBe(true);
  });

  it('recognises denials', () => {
    expect(isDenied('AccessDenied')).toBe(true);
    expect(isDenied('Client.UnauthorizedOperation')).toBe(true);
    expect(isDenied('AccessDeniedException')).toBe(true);
    expect(isDenied('ThrottlingException')).toBe(false);
    expect(isDenied(undefined)).toBe(false);
  });

  it('reduces user agents to product and major version', () => {
    expect(userAgentFamily('aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0')).toBe('aws-cli/2');
    expect(userAgentFamily('aws-cli/2.13.5 Python/3.11.4')).toBe('aws-cli/2');
    expect(userAgentFamily('Boto3/1.34.1 md/Botocore#1.34.1')).toBe('Boto3/1');
    expect(userAgentFamily('[S3Console/0.4, aws-internal/3]')).toBe('S3Console/0');
    expect(userAgentFamily('console.amazonaws.com')).toBe('console.amazonaws.com');
    expect(userAgentFamily(undefined)).toBe('(none)');
  });
});
