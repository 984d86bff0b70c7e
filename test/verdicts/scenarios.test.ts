import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordsFromText } from '../../layers/cloudtrail/reader';
import { type DrillWorld, playScenario } from '../../layers/drill/play';
import { parseScenario } from '../../layers/drill/scenario';
import { principalOf, windowKey, windowsOf } from '../../layers/features';
import { featureRowsOf } from '../../layers/scoring/train';
import {
  computeCredentialsOutside,
  historyFor,
  runVerdicts,
  tracesByWindow,
  type Verdict,
  type VerdictName,
} from '../../layers/verdicts';
import { roleHistory } from './helpers';

/**
 * Each verdict against its drill scenario (layers/drill/scenarios/verdict-*.json):
 * the scenario's attack records, among its benign ones, earn the verdict, and no
 * benign principal earns any. The benign history is cut to one day here (the
 * generator is slow, and the verdicts need the history only for the networks a
 * principal has used); the full drill plays the scenarios as written.
 */
const SCENARIOS = join(__dirname, '..', '..', 'layers', 'drill', 'scenarios');

const WORLD: DrillWorld = {
  account: '111122223333',
  homeRegion: 'eu-west-1',
  partition: 'aws',
  decoys: [],
  plantedKeyId: 'AKIAIOSFODNN7EXAMPLE',
  trailName: 'management-events',
  trailArn: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events',
  busName: 'security-findings',
  keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
};

function judgeScenario(file: string) {
  const raw = JSON.parse(readFileSync(join(SCENARIOS, file), 'utf8'));
  const scenario = parseScenario({ ...raw, benign: { ...raw.benign, historyDays: 1 } }, file);
  const played = playScenario(scenario, WORLD);
  const { baselines } = featureRowsOf(windowsOf(played.history, 60), 60, []);
  const records = played.played.map((p) => p.record);
  const calls = tracesByWindow(records, 60);
  const attackers = new Set(
    played.played.filter((p) => p.phase === 'attack').map((p) => principalOf(p.record).key),
  );
  const attack: Verdict[] = [];
  const benign: { principal: string; verdicts: Verdict[] }[] = [];
  for (const window of windowsOf(records, 60)) {
    const verdicts = runVerdicts({
      principal: window.principal,
      calls: calls.get(windowKey(window.principal.key, window.windowStart)) ?? [],
      history: historyFor(window.principal, baselines),
    });
    if (attackers.has(window.principal.key)) attack.push(...verdicts);
    else if (verdicts.length > 0) benign.push({ principal: window.principal.arn, verdicts });
  }
  const attackEventIds = new Set(
    played.played.filter((p) => p.phase === 'attack').map((p) => p.record.eventID),
  );
  return { attack, benign, attackEventIds };
}

describe.each<[string, VerdictName, string]>([
  ['verdict-compute-credentials.json', 'compute-credentials-outside', 'high'],
  ['verdict-tactic-sequence.json', 'tactic-sequence', 'critical'],
  ['verdict-denied-burst.json', 'denied-burst', 'high'],
  ['verdict-key-two-networks.json', 'key-two-networks', 'high'],
])('%s', (file, name, severity) => {
  let judged: ReturnType<typeof judgeScenario>;
  beforeAll(() => {
    judged = judgeScenario(file);
  });

  it(`earns ${name} (${severity}) on the attack's calls`, () => {
    const verdict = judged.attack.find((v) => v.verdict === name);
    expect(verdict, `verdicts: ${judged.attack.map((v) => v.verdict).join(', ')}`).toBeDefined();
    expect(verdict!.severity).toBe(severity);
    expect(verdict!.evidence.some((id) => judged.attackEventIds.has(id))).toBe(true);
  });

  it('no benign principal earns a verdict', () => {
    expect(judged.benign).toEqual([]);
  });
});

describe('a real detonation: Stratus Red Team ec2-steal-instance-credentials', () => {
  const file = 'aws.credential-access.ec2-steal-instance-credentials.json';
  const records = recordsFromText(
    readFileSync(join(__dirname, '..', 'data', 'cloudtrail', 'stratus-detonations', file), 'utf8'),
    file,
  ).filter((record) => record.userIdentity?.type === 'AssumedRole');
  const principal = principalOf(records[0]!);
  const calls = [...tracesByWindow(records, 60).values()].flat();

  it('the instance profile used from outside the instance network is caught', () => {
    const verdict = computeCredentialsOutside({ principal, calls, history: roleHistory(['172.31.20.7']) });
    expect(verdict).toMatchObject({ verdict: 'compute-credentials-outside', severity: 'high' });
    expect(verdict!.reason).toContain('EC2 instance profile stratus-red-team-ec2-steal-credentials-role');
    expect(verdict!.reason).toContain('18.236.253.47');
  });

  it('without any history of the role there is nothing to compare with', () => {
    expect(computeCredentialsOutside({ principal, calls })).toBeUndefined();
  });
});
