import { beforeAll, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { scoreAsDelivered } from '../../layers/scoring/as-delivered';
import type { ActivityModel } from '../../layers/scoring/model';
import { syntheticActivity, syntheticIdentity } from '../../layers/scoring/synthetic';
import { trainModel } from '../../layers/scoring/train';

const START = Date.parse('2024-05-06T00:00:00Z');
const DAY = 86_400_000;
let model: ActivityModel;
let played: CloudTrailRecord[];
beforeAll(() => {
  const all = [...syntheticActivity({ start: new Date(START), days: 4, developers: 2, seed: 5 })];
  const cut = START + 3 * DAY;
  const result = trainModel(
    all.filter((r) => Date.parse(r.eventTime) < cut),
    { windowMinutes: 60, seed: 1 },
  );
  if (result.status !== 'trained') throw new Error(result.message);
  model = result.model;
  played = all.filter((r) => {
    const time = Date.parse(r.eventTime);
    return time >= cut + 9 * 3_600_000 && time < cut + 11 * 3_600_000;
  });
});

describe('scoring as log files arrive', () => {
  it("a copied key's calls raise a finding minutes after the first of them, not at the window's end", async () => {
    const alice = syntheticIdentity('alice', 3, { start: new Date(START), seed: 5, developers: 2 });
    const first = START + 3 * DAY + 9 * 3_600_000 + 7 * 60_000;
    const attack: CloudTrailRecord[] = [
      ['sts', 'GetCallerIdentity'],
      ['iam', 'ListUsers'],
      ['secretsmanager', 'GetSecretValue'],
      ['iam', 'CreateAccessKey'],
    ].map(([service, eventName], i) => ({
      userIdentity: alice,
      eventTime: new Date(first + i * 40_000).toISOString(),
      eventSource: `${service}.amazonaws.com`,
      eventName: eventName!,
      awsRegion: 'eu-west-1',
      sourceIPAddress: '185.220.101.47',
      userAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64',
      eventID: `copied-${i}`,
      recipientAccountId: '111122223333',
    }));
    const records = [...played, ...attack].sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
    const delivered = await scoreAsDelivered(model, records);
    const mine = delivered.filter((d) => d.finding.actor.arn === alice.arn);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]!.finding.severity).toBe('critical');
    expect(mine[0]!.at - first).toBeLessThanOrEqual(10 * 60_000);
  });
});
