import { describe, expect, it } from 'vitest';
import { compilePattern, type EventPattern, matchingRules } from '../../layers/event-pattern';

/** A CloudTrail record as EventBridge delivers it ("AWS API Call via CloudTrail"). */
function apiCall(source: string, detail: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '0',
    id: '6f87d04b-9f74-4f04-a780-7acf4b0a9b38',
    'detail-type': 'AWS API Call via CloudTrail',
    source,
    account: '111122223333',
    time: '2024-05-01T12:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLE',
        arn: 'arn:aws:iam::111122223333:user/ci',
        accountId: '111122223333',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        userName: 'ci',
      },
      eventTime: '2024-05-01T12:00:00Z',
      eventSource: `${source.slice(4)}.amazonaws.com`,
      awsRegion: 'eu-west-1',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.15.0',
      requestParameters: null,
      responseElements: null,
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '111122223333',
      ...detail,
    },
  };
}

const getParameters = (names: string[], extra: Record<string, unknown> = {}) =>
  apiCall('aws.ssm', {
    eventName: 'GetParameters',
    requestParameters: { names, withDecryption: true },
    ...extra,
  });

const decoyParameter: EventPattern = {
  source: ['aws.ssm'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventName: ['GetParameters'],
    requestParameters: { names: ['/prod/db-password'] },
  },
};

describe('CloudTrail events', () => {
  it('matches a decoy name anywhere in GetParameters names', () => {
    const isTouch = compilePattern(decoyParameter);
    expect(isTouch(getParameters(['/prod/api-url', '/prod/db-password', '/prod/region']))).toBe(true);
    expect(isTouch(getParameters(['/prod/db-password']))).toBe(true);
    expect(isTouch(getParameters(['/prod/api-url', '/prod/db-password-old']))).toBe(false);
    expect(isTouch(getParameters([]))).toBe(false);
  });

  it('does not match another API or a denied call without request parameters', () => {
    const isTouch = compilePattern(decoyParameter);
    expect(
      isTouch(
        apiCall('aws.ssm', { eventName: 'GetParameter', requestParameters: { name: '/prod/db-password' } }),
      ),
    ).toBe(false);
    expect(isTouch(apiCall('aws.ssm', { eventName: 'GetParameters', errorCode: 'AccessDenied' }))).toBe(
      false,
    );
  });

  it('matches an access key id exactly', () => {
    const keyUsed = compilePattern({ detail: { userIdentity: { accessKeyId: ['AKIAIOSFODNN7EXAMPLE'] } } });
    expect(keyUsed(getParameters(['/x']))).toBe(true);
    const other = getParameters(['/x']);
    (other.detail as { userIdentity: { accessKeyId: string } }).userIdentity.accessKeyId =
      'akiaiosfodnn7example';
    expect(keyUsed(other)).toBe(false);
  });

  it('tells successful calls from failed ones with errorCode exists: false', () => {
    const succeeded = compilePattern({ source: ['aws.ssm'], detail: { errorCode: [{ exists: false }] } });
    expect(succeeded(getParameters(['/x']))).toBe(true);
    expect(
      succeeded(getParameters(['/x'], { errorCode: 'AccessDenied', errorMessage: 'not authorized' })),
    ).toBe(false);
  });

  it('matches sourceIPAddress by CIDR and ignores service names there', () => {
    const fromOffice = compilePattern({
      detail: { sourceIPAddress: [{ cidr: '203.0.113.0/24' }, { cidr: '2001:db8::/32' }] },
    });
    expect(fromOffice(getParameters(['/x']))).toBe(true);
    expect(fromOffice(getParameters(['/x'], { sourceIPAddress: '2001:db8:85a3::8a2e:370:7334' }))).toBe(true);
    expect(fromOffice(getParameters(['/x'], { sourceIPAddress: '198.51.100.7' }))).toBe(false);
    expect(fromOffice(getParameters(['/x'], { sourceIPAddress: 'ssm.amazonaws.com' }))).toBe(false);
    expect(fromOffice(getParameters(['/x'], { sourceIPAddress: 'AWS Internal' }))).toBe(false);
  });

  it('matches an element of the resources array of objects', () => {
    const decoyBucket = compilePattern({
      source: ['aws.s3'],
      detail: { resources: { ARN: [{ prefix: 'arn:aws:s3:::decoy-' }], type: ['AWS::S3::Object'] } },
    });
    const getObject = (resources: unknown[]) => apiCall('aws.s3', { eventName: 'GetObject', resources });
    expect(
      decoyBucket(
        getObject([
          { type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::decoy-backups' },
          { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::decoy-backups/db.sql' },
        ]),
      ),
    ).toBe(true);
    // ARN and type from different elements do not make a match.
    expect(
      decoyBucket(
        getObject([
          { type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::decoy-backups' },
          { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::real/db.sql' },
        ]),
      ),
    ).toBe(false);
  });

  it('routes one event to the rules that match it', () => {
    const rules = [
      { name: 'decoy-parameter', pattern: decoyParameter },
      {
        name: 'decoy-key',
        pattern: { detail: { userIdentity: { accessKeyId: ['AKIAHONEYTOKEN000001'] } } },
      },
      {
        name: 'writes-outside-office',
        pattern: {
          'detail-type': ['AWS API Call via CloudTrail'],
          detail: {
            readOnly: [false],
            sourceIPAddress: [{ 'anything-but': { prefix: '203.0.113.' } }],
          },
        },
      },
      {
        name: 'reads-by-ci',
        pattern: {
          detail: {
            readOnly: [true],
            userIdentity: { arn: [{ wildcard: 'arn:aws:iam::*:user/ci' }] },
            eventName: [{ prefix: 'Get' }, { prefix: 'Describe' }, { prefix: 'List' }],
          },
        },
      },
    ];
    expect(matchingRules(rules, getParameters(['/prod/db-password']))).toEqual([
      'decoy-parameter',
      'reads-by-ci',
    ]);
    const write = apiCall('aws.iam', {
      eventName: 'CreateAccessKey',
      readOnly: false,
      sourceIPAddress: '198.51.100.9',
      userIdentity: { type: 'IAMUser', accessKeyId: 'AKIAHONEYTOKEN000001' },
    });
    expect(matchingRules(rules, write)).toEqual(['decoy-key', 'writes-outside-office']);
  });
});
