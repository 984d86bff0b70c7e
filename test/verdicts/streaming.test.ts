import { beforeAll, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { MemorySink } from '../../layers/findings/publish';
import { MemoryLogObjects, MemoryWindowStore } from '../../layers/scoring/memory';
import type { ActivityModel } from '../../layers/scoring/model';
import { type ScoringDeps, scoreLogObject } from '../../layers/scoring/service';
import { syntheticActivity } from '../../layers/scoring/synthetic';
import { trainModel } from '../../layers/scoring/train';

/**
 * Item 3 of the verdicts work: a principal-window is scored and judged as each log
 * file arrives, so a finding comes with the first file that makes the case; one
 * window raises one finding, and again only when its severity grows; a log file
 * delivered twice counts once.
 */
const ACCOUNT = '111122223333';
const START = Date.parse('2024-05-06T00:00:00Z');
const ATTACK = Date.parse('2024-05-09T10:02:00Z');
const TASK_ID = '5e4d6c2a8b9f4c1d9e0fa1b2c3d4e5f6';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-api-task`;

let model: ActivityModel;
beforeAll(() => {
  const history = [...syntheticActivity({ start: new Date(START), days: 3, developers: 2, seed: 3 })];
  const result = trainModel(history, { windowMinutes: 60, seed: 1 });
  if (result.status !== 'trained') throw new Error(result.message);
  model = result.model;
});

let n = 0;
function stolenTaskCall(offsetSeconds: number, api: string, errorCode?: string): CloudTrailRecord {
  const [service, eventName] = api.split(':') as [string, string];
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLEROLEID0001:${TASK_ID}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/orders-api-task/${TASK_ID}`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAEXAMPLESTOLEN001',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLEROLEID0001',
          arn: ROLE,
          accountId: ACCOUNT,
          userName: 'orders-api-task',
        },
        attributes: { creationDate: '2024-05-09T06:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: new Date(ATTACK + offsetSeconds * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: `${service}.amazonaws.com`,
    eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.77',
    userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64',
    ...(errorCode && { errorCode }),
    eventID: `stream-${++n}`,
    recipientAccountId: ACCOUNT,
  };
}

function setup() {
  const logs = new MemoryLogObjects();
  const windows = new MemoryWindowStore();
  const sink = new MemorySink();
  const counts = new Map<string, number>();
  const deps: ScoringDeps = {
    logs,
    models: { current: async () => ({ model, version: 'v1' }) },
    windows,
    sink,
    now: () => ATTACK + 3_600_000,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    count: (metric, value = 1) => counts.set(metric, (counts.get(metric) ?? 0) + value),
  };
  let files = 0;
  const deliver = async (
    records: CloudTrailRecord[],
    key = `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/file-${++files}.json.gz`,
  ) => {
    logs.objects.set(`trail/${key}`, JSON.stringify({ Records: records }));
    return scoreLogObject({ bucket: 'trail', key, version: 'seq-1' }, deps);
  };
  return { deliver, sink, windows, counts };
}

describe('verdicts within minutes', () => {
  it('the first log file with the stolen session raises a high finding; a later one raises it once more, to critical', async () => {
    const { deliver, sink, counts } = setup();
    // File 1 (delivered ~5 minutes after the calls): who am I, what buckets.
    const first = await deliver([
      stolenTaskCall(0, 'sts:GetCallerIdentity'),
      stolenTaskCall(20, 's3:ListBuckets'),
    ]);
    expect(first.findings).toHaveLength(1);
    expect(sink.findings[0]).toMatchObject({ kind: 'anomaly', severity: 'high' });
    expect(sink.findings[0]!.title).toMatch(
      /compute-credentials-outside: credentials of the ECS task role orders-api-task/,
    );

    // File 2: more discovery, nothing worse: no second finding.
    const second = await deliver([
      stolenTaskCall(200, 'ec2:DescribeInstances'),
      stolenTaskCall(230, 'iam:ListRoles'),
    ]);
    expect(second.findings).toEqual([]);

    // File 3: a secret, then a new access key, allowed: the window rises to critical.
    const third = await deliver([
      stolenTaskCall(400, 'secretsmanager:GetSecretValue'),
      stolenTaskCall(430, 'iam:CreateAccessKey'),
    ]);
    expect(third.findings).toHaveLength(1);
    expect(sink.findings).toHaveLength(2);
    expect(sink.findings[1]).toMatchObject({ severity: 'critical' });
    expect(sink.findings[1]!.id).not.toBe(sink.findings[0]!.id);
    expect(sink.findings[1]!.title).toMatch(/tactic-sequence: discovery/);
    expect(counts.get('AnomalyFindings')).toBe(1);
    expect(counts.get('AnomalyFindingsRaised')).toBe(1);
  });

  it('the same log file delivered twice counts once and raises nothing new', async () => {
    const { deliver, sink, windows } = setup();
    const records = [stolenTaskCall(0, 'sts:GetCallerIdentity'), stolenTaskCall(20, 's3:ListBuckets')];
    await deliver(records, 'AWSLogs/x/file-a.json.gz');
    await deliver(records, 'AWSLogs/x/file-a.json.gz');
    expect(sink.findings).toHaveLength(1);
    const [item] = [...windows.items.values()];
    expect(item!.window.calls).toBe(2);
    expect(item!.traces).toHaveLength(2);
    expect(item!.reportedSeverity).toBe('high');
  });

  it('a window stored before severities were kept (reported once) is not reported again', async () => {
    const { deliver, sink, windows } = setup();
    await deliver([stolenTaskCall(0, 'sts:GetCallerIdentity')]);
    for (const item of windows.items.values()) delete item.reportedSeverity;
    await deliver([
      stolenTaskCall(400, 'secretsmanager:GetSecretValue'),
      stolenTaskCall(430, 'iam:CreateAccessKey'),
    ]);
    expect(sink.findings).toHaveLength(1);
  });

  it("the application's own calls, from its network, raise nothing", async () => {
    const { deliver, sink } = setup();
    const own = [
      ...syntheticActivity({ start: new Date(START + 3 * 86_400_000), days: 1, developers: 2, seed: 3 }),
    ]
      .filter((record) => record.userIdentity?.sessionContext?.sessionIssuer?.arn === ROLE)
      .slice(0, 300);
    expect(own.length).toBeGreaterThan(100);
    for (let i = 0; i < own.length; i += 50) await deliver(own.slice(i, i + 50));
    expect(sink.findings.filter((f) => /verdict|compute-credentials/.test(f.title))).toEqual([]);
  });
});
