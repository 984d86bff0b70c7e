import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { windowsOf } from '../../layers/features';
import { ANONYMOUS_IDENTITY, isAnonymousCaller, principalOf } from '../../layers/features/principal';
import { ACCOUNT, call } from './helpers';

/**
 * Anonymous S3 requests as OTRF's honey-bucket dataset records them (test/cloudtrail/
 * fixtures/otrf-s3-honeybucket, MIT): userIdentity {type: AWSAccount, principalId: "",
 * accountId: ANONYMOUS_PRINCIPAL}, one scanner per source address.
 */
function honeyBucketRequests() {
  const csv = readFileSync(
    join(__dirname, '..', 'cloudtrail', 'fixtures', 'otrf-s3-honeybucket', 'AWS_S3_HoneyBucketLogs.csv'),
    'utf8',
  );
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((row) => {
      // Event Name is the second column; Event DateTime and Source IP are plain values in every row.
      const eventName = row.split(',')[1]!;
      const time = /,(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ),/.exec(row)![1]!;
      const address = /,(\d{1,3}(?:\.\d{1,3}){3}),/.exec(row)![1]!;
      expect(row).toContain("'principalId': '', 'accountId': 'ANONYMOUS_PRINCIPAL'");
      return call({
        eventTime: time,
        eventSource: 's3.amazonaws.com',
        eventName,
        sourceIPAddress: address,
        userIdentity: { type: 'AWSAccount', principalId: '', accountId: 'ANONYMOUS_PRINCIPAL' },
      });
    });
}

describe('anonymous callers are keyed by source address', () => {
  it('each address of the honey-bucket scans is a principal of its own, all judged as anonymous', () => {
    const requests = honeyBucketRequests();
    const addresses = new Set(requests.map((r) => r.sourceIPAddress));
    expect(addresses.size).toBeGreaterThan(1);
    const principals = requests.map(principalOf);
    expect(new Set(principals.map((p) => p.key))).toEqual(
      new Set([...addresses].map((address) => `anonymous:${address}`)),
    );
    for (const principal of principals) {
      expect(principal).toMatchObject({ identity: ANONYMOUS_IDENTITY, type: 'AWSAccount' });
      expect(principal).not.toHaveProperty('account');
    }
  });

  it('so they are windowed apart, not collapsed into one principal', () => {
    const requests = honeyBucketRequests().map((r) => ({ ...r, eventTime: '2022-02-18T10:00:00Z' }));
    const windows = windowsOf(requests, 60);
    expect(windows.length).toBe(new Set(requests.map((r) => r.sourceIPAddress)).size);
  });

  it('an empty principalId with nothing else to tell callers apart is anonymous too', () => {
    const record = call({
      userIdentity: { type: 'AWSAccount', principalId: '' },
      sourceIPAddress: '192.0.2.5',
    });
    expect(isAnonymousCaller(record)).toBe(true);
    expect(principalOf(record).key).toBe('anonymous:192.0.2.5');
    expect(principalOf({ ...record, sourceIPAddress: undefined }).key).toBe('anonymous:unknown');
  });

  it('identified callers are not anonymous', () => {
    expect(isAnonymousCaller(call())).toBe(false);
    expect(isAnonymousCaller(call({ userIdentity: undefined }))).toBe(false);
    expect(
      isAnonymousCaller(call({ userIdentity: { type: 'AWSService', invokedBy: 's3.amazonaws.com' } })),
    ).toBe(false);
    // Another account's principal calling in: principalId set, no ARN.
    const crossAccount = call({
      userIdentity: { type: 'AWSAccount', principalId: 'AIDAOTHER', accountId: '444455556666' },
    });
    expect(isAnonymousCaller(crossAccount)).toBe(false);
    expect(principalOf(crossAccount).key).toBe('AWSAccount:AIDAOTHER');
    expect(principalOf(call({ userIdentity: { type: 'Root', principalId: ACCOUNT } })).key).toBe(
      `Root:${ACCOUNT}`,
    );
  });
});
