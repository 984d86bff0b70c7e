import { describe, expect, it } from 'vitest';
import type { Finding } from '../../layers/findings/finding';
import {
  applyVerdicts,
  type CallTrace,
  decideWindow,
  MAX_TRACES,
  mergeTraces,
  traceOf,
  type Verdict,
} from '../../layers/verdicts';
import { call } from './helpers';

const finding: Finding = {
  schemaVersion: 1,
  id: 'a'.repeat(32),
  kind: 'anomaly',
  severity: 'medium',
  title: 'Anomalous activity by orders-api-task/5e4d (score 0.71: newSourceIps)',
  actor: { arn: 'arn:aws:sts::1:assumed-role/orders-api-task/5e4d', type: 'AssumedRole' },
  region: 'eu-west-1',
  eventNames: ['ListUsers'],
  eventIds: ['w1', 'w2'],
  firstSeen: '2024-05-13T10:00:00Z',
  lastSeen: '2024-05-13T10:05:00Z',
  count: 2,
  evidence: [],
  response: { status: 'none' },
};
const high: Verdict = {
  verdict: 'compute-credentials-outside',
  severity: 'high',
  reason: 'credentials of the ECS task role orders-api-task used from 203.0.113.77',
  evidence: ['e9', 'w2'],
};
const medium: Verdict = {
  verdict: 'denied-burst',
  severity: 'medium',
  reason: '6 denied calls',
  evidence: ['e3'],
};

describe('applyVerdicts: the verdicts onto the anomaly finding', () => {
  it.each<[string, Verdict[], Finding['severity']]>([
    ['no verdict: the finding as it was', [], 'medium'],
    ['a high verdict raises medium to high', [high], 'high'],
    ['a medium verdict leaves medium as it is', [medium], 'medium'],
    ['the most severe verdict wins', [medium, high], 'high'],
  ])('%s', (_, verdicts, severity) => {
    const applied = applyVerdicts(finding, verdicts);
    expect(applied.severity).toBe(severity);
    if (verdicts.length === 0) expect(applied).toEqual(finding);
    for (const verdict of verdicts) expect(applied.title).toContain(`${verdict.verdict}: ${verdict.reason}`);
  });

  it('never lowers a severity; evidence comes first among the event ids, each once', () => {
    const applied = applyVerdicts({ ...finding, severity: 'critical' }, [high]);
    expect(applied.severity).toBe('critical');
    expect(applied.eventIds).toEqual(['e9', 'w2', 'w1']);
    expect(applied.id).toBe(finding.id);
  });
});

describe('decideWindow: one finding per window, again only when it grows', () => {
  it.each<[string, Parameters<typeof decideWindow>[0], ReturnType<typeof decideWindow>]>([
    [
      'below the threshold, no verdict: nothing',
      { aboveThreshold: false, severity: 'low', verdicts: [] },
      { publish: false, why: 'below the threshold and no verdict' },
    ],
    [
      'above the threshold, first time: publish',
      { aboveThreshold: true, severity: 'medium', verdicts: [] },
      { publish: true, severity: 'medium', raised: false },
    ],
    [
      'a verdict below the threshold: publish',
      { aboveThreshold: false, severity: 'high', verdicts: [high] },
      { publish: true, severity: 'high', raised: false },
    ],
    [
      'reported at medium, now high: raise',
      { aboveThreshold: true, severity: 'high', verdicts: [high], reportedSeverity: 'medium' },
      { publish: true, severity: 'high', raised: true },
    ],
    [
      'reported at high, still high: nothing',
      { aboveThreshold: true, severity: 'high', verdicts: [high], reportedSeverity: 'high' },
      { publish: false, why: 'already reported at high' },
    ],
  ])('%s', (_, options, decision) => {
    expect(decideWindow(options)).toEqual(decision);
  });
});

describe('the calls kept per window', () => {
  it('traceOf keeps what the verdicts read, including the metadata-service delivery', () => {
    expect(
      traceOf({
        eventTime: '2024-08-02T08:23:55Z',
        eventSource: 'sts.amazonaws.com',
        eventName: 'GetCallerIdentity',
        awsRegion: 'us-west-2',
        sourceIPAddress: '18.236.253.47',
        eventID: 'ev',
        userIdentity: {
          type: 'AssumedRole',
          accessKeyId: 'ASIAX',
          sessionContext: { ec2RoleDelivery: '1.0' },
        },
      }),
    ).toEqual({
      id: 'ev',
      time: Date.parse('2024-08-02T08:23:55Z'),
      service: 'sts',
      eventName: 'GetCallerIdentity',
      sourceIp: '18.236.253.47',
      accessKeyId: 'ASIAX',
      ec2RoleDelivery: '1.0',
    });
    expect(
      traceOf({ eventTime: 'yesterday', eventSource: 's3', eventName: 'X', awsRegion: 'r' }),
    ).toBeUndefined();
  });

  it('merging is idempotent: the same calls twice are kept once, in time order', () => {
    const calls = [call(2, 's3:ListBuckets', { id: 'b' }), call(1, 'sts:GetCallerIdentity', { id: 'a' })];
    const once = mergeTraces([], calls);
    expect(mergeTraces(once, calls)).toEqual(once);
    expect(once.map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('over the cap, denied calls, calls with a tactic and new addresses are kept before routine ones', () => {
    const routine: CallTrace[] = Array.from({ length: MAX_TRACES + 50 }, (_, i) =>
      call(i * 0.1, 'dynamodb:GetItem', { id: `r${i}`, sourceIp: '10.20.1.1' }),
    );
    const notable = [
      call(30, 'iam:CreateAccessKey', { id: 'n1', sourceIp: '10.20.1.1' }),
      call(31, 's3:GetObject', { id: 'n2', sourceIp: '10.20.1.1', errorCode: 'AccessDenied' }),
      call(32, 'dynamodb:GetItem', { id: 'n3', sourceIp: '203.0.113.9' }),
    ];
    const kept = mergeTraces(routine, notable);
    expect(kept).toHaveLength(MAX_TRACES);
    expect(kept.map((c) => c.id)).toEqual(expect.arrayContaining(['n1', 'n2', 'n3', 'r0']));
  });
});
