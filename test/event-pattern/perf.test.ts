import { describe, expect, it } from 'vitest';
import { compilePattern, type EventPattern } from '../../layers/event-pattern';

/**
 * A sanity run over many CloudTrail-shaped events: compiled once, the matchers
 * must give the counts the generator implies. No timing is asserted.
 */
const EVENTS = 200_000;
const NAMES = ['GetParameter', 'GetParameters', 'DescribeInstances', 'ListBuckets', 'AssumeRole'];

function event(i: number): Record<string, unknown> {
  const eventName = NAMES[i % NAMES.length]!;
  return {
    'detail-type': 'AWS API Call via CloudTrail',
    source: eventName === 'AssumeRole' ? 'aws.sts' : 'aws.ssm',
    detail: {
      eventName,
      sourceIPAddress: i % 4 === 0 ? `10.0.${(i >> 8) & 255}.${i & 255}` : 'ssm.amazonaws.com',
      userIdentity: { accessKeyId: i % 1000 === 0 ? 'AKIAHONEYTOKEN000001' : `AKIA${i}` },
      requestParameters: { names: i % 10 === 1 ? ['/prod/a', '/prod/db-password'] : ['/prod/a'] },
      ...(i % 3 === 0 ? { errorCode: 'AccessDenied' } : {}),
    },
  };
}

const patterns: Record<string, EventPattern> = {
  decoyParameter: {
    source: ['aws.ssm'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventName: ['GetParameters'], requestParameters: { names: ['/prod/db-password'] } },
  },
  honeyKey: { detail: { userIdentity: { accessKeyId: ['AKIAHONEYTOKEN000001'] } } },
  succeededFromVpc: {
    detail: { errorCode: [{ exists: false }], sourceIPAddress: [{ cidr: '10.0.0.0/16' }] },
  },
  readsByWildcard: { detail: { eventName: [{ wildcard: 'Get*s' }, { prefix: 'Describe' }] } },
};

describe('throughput sanity check', () => {
  it('matches 200k events with the expected counts', () => {
    const matchers = Object.fromEntries(Object.entries(patterns).map(([k, p]) => [k, compilePattern(p)]));
    const counts: Record<string, number> = Object.fromEntries(Object.keys(patterns).map((k) => [k, 0]));
    const expected: Record<string, number> = { ...counts };
    for (let i = 0; i < EVENTS; i++) {
      const e = event(i);
      for (const [name, match] of Object.entries(matchers)) if (match(e)) counts[name]!++;
      const n = NAMES[i % NAMES.length];
      if (n === 'GetParameters' && i % 10 === 1) expected.decoyParameter!++;
      if (i % 1000 === 0) expected.honeyKey!++;
      if (i % 3 !== 0 && i % 4 === 0) expected.succeededFromVpc!++;
      if (n === 'GetParameters' || n === 'DescribeInstances') expected.readsByWildcard!++;
    }
    expect(counts).toEqual(expected);
    expect(counts.decoyParameter).toBeGreaterThan(0);
  });
});
