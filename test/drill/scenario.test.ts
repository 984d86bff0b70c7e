import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { type DrillWorld, fillPlaceholders, playScenario } from '../../layers/drill/play';
import {
  defaultScenario,
  loadScenario,
  parseDuration,
  parseScenario,
  SCENARIO_FORMAT,
  ScenarioError,
} from '../../layers/drill/scenario';

const ACCOUNT = '111122223333';
const config = parseConfig({});
const world: DrillWorld = {
  account: ACCOUNT,
  homeRegion: 'us-east-1',
  partition: 'aws',
  decoys: planDecoys(config, { account: ACCOUNT, region: 'us-east-1' }).resources.map((d) =>
    d.kind === 'iam-access-key' ? { ...d, accessKeyId: 'AKIAPLANTEDPLANTED00' } : d,
  ),
  plantedKeyId: 'AKIAPLANTEDPLANTED00',
  trailName: 'platform-shared-services-audit',
  trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/platform-shared-services-audit`,
  busName: 'platform-shared-services-events',
  keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/0000`,
};

const minimal = {
  name: 'mini',
  benign: { synthetic: null, historyDays: 0, playStart: '2024-05-13T08:00:00Z', playHours: 1 },
  actors: {
    me: {
      identity: { type: 'IAMUser', arn: 'arn:aws:iam::{{account}}:user/me', accountId: '{{account}}' },
      sourceIp: '198.51.100.7',
    },
  },
  attack: {
    start: '+10m',
    steps: [
      { actor: 'me', call: 'ssm:GetParameter', request: { name: '{{parameter:0}}' }, touchesDecoy: true },
      {
        actor: 'me',
        after: '1m30s',
        call: 's3:GetObject',
        request: { bucketName: '{{bucket}}', key: '{{object:env-file}}' },
      },
      { actor: 'me', after: '5s', call: 'iam:ListUsers', region: 'eu-west-1', error: 'AccessDenied' },
    ],
  },
};

describe('scenario files', () => {
  it('the default scenario is valid and documented', () => {
    const scenario = defaultScenario();
    expect(scenario.name).toBe('leaked-developer-key');
    expect(scenario.attack.steps.filter((s) => s.touchesDecoy).length).toBeGreaterThanOrEqual(6);
    for (const field of [
      '"actors"',
      '"touchesDecoy"',
      '{{object:KIND}}',
      '"playStart"',
      '"via"',
      '"record"',
    ]) {
      expect(SCENARIO_FORMAT).toContain(field);
    }
  });

  it('parses durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('40s')).toBe(40_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });

  it('names each wrong field with what it expects and what it got', () => {
    const bad = {
      ...minimal,
      account: '12',
      actors: { me: { synthetic: 'alice', plantedUser: true, sourceIp: 'nowhere' } },
      attack: { start: 'later', steps: [{ actor: 'me', call: 'GetParameter' }] },
    };
    let message = '';
    try {
      parseScenario(bad, 'bad.json');
    } catch (error) {
      expect(error).toBeInstanceOf(ScenarioError);
      message = (error as Error).message;
    }
    expect(message).toContain('bad.json is not a valid scenario');
    expect(message).toContain('account: expected a 12-digit account id (got "12")');
    expect(message).toContain('attack.start: expected "+<duration>" from playStart');
    expect(message).toContain(
      'attack.steps.0.call: expected service:EventName such as s3:GetObject (got "GetParameter")',
    );
    expect(message).toContain('actors.me: give exactly one of "synthetic", "plantedUser" or "identity"');
  });

  it('reports unreadable and non-JSON files by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenario-'));
    try {
      const file = join(dir, 'x.json');
      writeFileSync(file, '{ not json');
      expect(() => loadScenario(file)).toThrow(/scenario file .*x\.json is not valid JSON/);
      expect(() => loadScenario(join(dir, 'missing.json'))).toThrow(
        /cannot read scenario file .*missing\.json/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('playing a scenario', () => {
  it('turns steps into CloudTrail records with the plan filled in, in time order', () => {
    const played = playScenario(parseScenario(minimal), world);
    expect(played.history).toEqual([]);
    const records = played.played.map((p) => p.record);
    expect(records.map((r) => r.eventName)).toEqual(['GetParameter', 'GetObject', 'ListUsers']);
    expect(records.map((r) => r.eventTime)).toEqual([
      '2024-05-13T08:10:00Z',
      '2024-05-13T08:11:30Z',
      '2024-05-13T08:11:35Z',
    ]);
    const [parameter, object, users] = records as [
      (typeof records)[0],
      (typeof records)[0],
      (typeof records)[0],
    ];
    expect(parameter.requestParameters).toEqual({
      name: world.decoys.find((d) => d.kind === 'ssm-parameter')!.name,
    });
    expect(parameter.userIdentity?.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/me`);
    // Object reads are data events naming the object, as the trail's selectors see them.
    expect(object.eventCategory).toBe('Data');
    expect(object.managementEvent).toBe(false);
    expect(object.resources?.[0]).toEqual({
      type: 'AWS::S3::Object',
      ARN: world.decoys.find((d) => d.objectKind === 'env-file')!.arn,
    });
    // IAM is global: its calls are logged in us-east-1 whatever the step says.
    expect(users.awsRegion).toBe('us-east-1');
    expect(users.errorCode).toBe('AccessDenied');
    expect(users.requestParameters).toBeNull();
    expect(played.played.map((p) => p.step)).toEqual([0, 1, 2]);
    // Same scenario, same records.
    expect(playScenario(parseScenario(minimal), world).played).toEqual(played.played);
  });

  it('signs planted-user steps with the planted key', () => {
    const scenario = parseScenario({
      ...minimal,
      actors: { key: { plantedUser: true, sourceIp: '198.51.100.7' } },
      attack: { steps: [{ actor: 'key', call: 'sts:GetCallerIdentity', touchesDecoy: true }] },
    });
    const [step] = playScenario(scenario, world).played;
    expect(step!.record.userIdentity).toMatchObject({
      type: 'IAMUser',
      accessKeyId: 'AKIAPLANTEDPLANTED00',
      arn: world.decoys.find((d) => d.kind === 'iam-user')!.arn,
    });
  });

  it('an unknown placeholder is an error naming where it is and what is known', () => {
    expect(() => fillPlaceholders({ a: ['{{parameter:9}}'] }, world, 'attack.steps.3.request')).toThrow(
      /attack\.steps\.3\.request\.a\.0: unknown placeholder \{\{parameter:9\}\} \(known here: .*\{\{bucket\}\}/,
    );
  });

  it('splits synthetic benign activity into history (training) and the played period', () => {
    const scenario = parseScenario({
      ...minimal,
      benign: {
        synthetic: { seed: 3, developers: 1, applications: 1 },
        historyDays: 1,
        playStart: '2024-05-13T08:00:00Z',
        playHours: 1,
      },
      actors: { dev: { synthetic: 'alice', sourceIp: '198.51.100.7' } },
      attack: { steps: [{ actor: 'dev', call: 'sts:GetCallerIdentity' }] },
    });
    const played = playScenario(scenario, world);
    const playStart = Date.parse('2024-05-13T08:00:00Z');
    expect(played.history.length).toBeGreaterThan(100);
    expect(played.history.every((r) => Date.parse(r.eventTime) < playStart)).toBe(true);
    expect(played.played.every((p) => Date.parse(p.record.eventTime) >= playStart)).toBe(true);
    const attack = played.played.find((p) => p.phase === 'attack')!.record;
    // The leaked key is alice's own: same key id as her benign calls, a new address.
    const benignAlice = played.history.find((r) => r.userIdentity?.userName === 'alice');
    expect(attack.userIdentity?.accessKeyId).toBe(benignAlice?.userIdentity?.accessKeyId);
    expect(attack.sourceIPAddress).toBe('198.51.100.7');
  });
});
