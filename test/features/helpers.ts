import type { CloudTrailRecord } from '../../layers/cloudtrail/record';

export const ACCOUNT = '111122223333';

export const alice = {
  type: 'IAMUser',
  principalId: 'AIDAALICE',
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accountId: ACCOUNT,
  accessKeyId: 'AKIAALICEKEY00000001',
  userName: 'alice',
};

export function roleSession(role: string, session: string, key = 'ASIATEMPORARY0000001') {
  return {
    type: 'AssumedRole',
    principalId: `AROAROLE:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: key,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${ACCOUNT}:role/${role}`, userName: role },
    },
  };
}

/** A hand-made record: alice listing S3 buckets from her usual IP with the CLI, unless overridden. */
export function call(overrides: Partial<CloudTrailRecord> & Record<string, unknown> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: alice,
    eventTime: '2024-05-06T10:15:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBuckets',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '198.51.100.10',
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0',
    readOnly: true,
    ...overrides,
  } as CloudTrailRecord;
}
