import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../bin/commands/replay';
import { toEnvelope } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { parseDecoyPlan } from '../../layers/detection/plan-file';
import { TEST_ACCOUNT } from '../helpers/app';
import { attackerRole, attackerUser, call, DATA, decoyUser } from './records';

/**
 * `honeytrail replay --decoys plan.json --json` on real CloudTrail records finds
 * exactly the touches of the listed decoys: the shared data sets with touches of
 * one plan's decoys and of another plan's mixed in, in three file shapes.
 */
const ours = planDecoys(parseConfig({ naming: { seed: 'ours' } }), {
  account: TEST_ACCOUNT,
  region: 'us-east-1',
}).resources;
const theirs = planDecoys(parseConfig({ naming: { seed: 'theirs', service: 'ledger' } }), {
  account: '444455556666',
  region: 'us-east-1',
}).resources;

function touchesOf(decoys: typeof ours, start: number, recipientAccountId = TEST_ACCOUNT) {
  const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
  const bucket = decoys.find((d) => d.kind === 's3-bucket')!;
  const object = decoys.find((d) => d.kind === 's3-object')!;
  const user = decoys.find((d) => d.kind === 'iam-user')!;
  const at = (minutes: number) =>
    new Date(Date.UTC(2024, 7, 1, 15, start + minutes)).toISOString().replace('.000', '');
  return [
    call({
      recipientAccountId,
      template: 'ssmRole',
      eventName: 'GetParameter',
      region: 'eu-central-1',
      userIdentity: attackerRole(),
      requestParameters: { name: parameter.name },
      eventTime: at(0),
    }),
    call({
      recipientAccountId,
      template: 'ssmRole',
      eventName: 'GetParameter',
      region: 'eu-central-1',
      userIdentity: attackerRole(),
      requestParameters: { name: parameter.name },
      eventTime: at(3),
    }),
    call({
      recipientAccountId,
      template: 's3',
      eventName: 'GetObject',
      region: 'us-east-1',
      userIdentity: attackerUser(),
      requestParameters: { bucketName: bucket.name, key: object.name },
      eventTime: at(5),
    }),
    call({
      recipientAccountId,
      template: 'sts',
      eventName: 'GetCallerIdentity',
      region: 'ap-south-1',
      userIdentity: decoyUser(user.arn),
      requestParameters: null,
      eventTime: at(7),
      denied: false,
    }),
  ];
}

let root: string;
let dir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'replay-'));
  dir = join(root, 'logs');
  mkdirSync(dir);
  const mine = touchesOf(ours, 0);
  const other = touchesOf(theirs, 10, '444455556666');
  writeFileSync(join(root, 'plan.json'), JSON.stringify({ decoys: ours }));
  // A CloudTrail log file (gzipped), JSON lines with a broken line, and EventBridge envelopes.
  writeFileSync(
    join(dir, '111122223333_CloudTrail_us-east-1_20240801T1500Z_a.json.gz'),
    gzipSync(JSON.stringify({ Records: [mine[0], other[0], mine[2]] })),
  );
  writeFileSync(
    join(dir, 'export.jsonl'),
    `${JSON.stringify(mine[1])}\n{"eventName": "oops"\n${JSON.stringify(other[1])}\n`,
  );
  writeFileSync(
    join(dir, 'envelopes.json'),
    JSON.stringify([toEnvelope(mine[3]!), toEnvelope(other[3]!), toEnvelope(other[2]!)]),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

/** The findings `--json` wrote, one a line. */
function jsonLines(out: string[]) {
  const text = out.join('').trim();
  return text ? text.split('\n').map((line) => JSON.parse(line)) : [];
}

describe('honeytrail replay', () => {
  it('--json: one finding a line, exactly the touches of the listed decoys', async () => {
    const { io, out, err } = capture();
    const summary = await replay(
      [DATA, dir],
      { decoys: join(root, 'plan.json'), json: true, account: TEST_ACCOUNT, trustedRole: [] },
      io,
    );
    const findings = jsonLines(out);
    expect(findings.map((f) => [f.kind, f.severity, f.resource.kind, f.count])).toEqual([
      ['resource-access', 'high', 'ssm-parameter', 2],
      ['resource-access', 'high', 's3-object', 1],
      ['resource-access', 'critical', 'iam-access-key', 1],
    ]);
    for (const finding of findings) {
      expect(ours.map((d) => d.name)).toContain(finding.resource.name);
      for (const field of [
        'kind',
        'severity',
        'sourceIp',
        'region',
        'eventNames',
        'resource',
        'count',
        'firstSeen',
        'lastSeen',
      ]) {
        expect(finding, field).toHaveProperty(field);
      }
      expect(finding.actor).toHaveProperty('arn');
    }
    expect(findings[2].actor.accessKeyId).toBe('AKIAQ3EGWSXRJQ7M2XOB');
    expect(findings[0].region).toBe('eu-central-1');
    expect(findings[0].firstSeen).toBe('2024-08-01T15:00:00.000Z');
    expect(findings[0].lastSeen).toBe('2024-08-01T15:03:00.000Z');
    expect(summary.unreadable).toBe(1);
    const report = err.join('');
    expect(report).toMatch(
      /^7\d\d records read, \d+ matched by the 9 rules, 3 finding\(s\) for 13 decoys; 1 unreadable/,
    );
    expect(report).toMatch(/unreadable: .*export\.jsonl line 2\b/);
  });

  it('without --json: a readable account of each finding and the summary on stdout', async () => {
    const { io, out } = capture();
    await replay([dir], { decoys: join(root, 'plan.json'), account: TEST_ACCOUNT, trustedRole: [] }, io);
    const text = out.join('');
    expect(text).toMatch(/^\[HIGH\] resource-access: Resource ssm-parameter /);
    expect(text).toContain('2 call(s): GetParameter');
    expect(text).toMatch(/8 records read, \d+ matched by the 9 rules, 3 finding\(s\)/);
  });

  it('the other plan finds the other touches', async () => {
    writeFileSync(join(root, 'theirs.json'), JSON.stringify({ decoys: theirs }));
    const { io, out } = capture();
    await replay(
      [dir],
      { decoys: join(root, 'theirs.json'), json: true, account: TEST_ACCOUNT, trustedRole: [] },
      io,
    );
    const findings = jsonLines(out);
    expect(findings.map((f) => f.resource.name).sort()).toEqual(
      [
        theirs.find((d) => d.kind === 'ssm-parameter')!.name,
        theirs.find((d) => d.kind === 's3-object')!.name,
        theirs.find((d) => d.kind === 'iam-access-key')!.name,
      ].sort(),
    );
  });

  it('a wrong --decoys file is named with what is wrong', () => {
    expect(() => parseDecoyPlan({ decoys: [{ kind: 'lamp', name: 'x', arn: 'y' }] }, 'plan.json')).toThrow(
      /plan\.json is not a decoy plan .*decoys file\.decoys\.0\.kind/,
    );
  });
});

describe('a decoy belongs to one account', () => {
  it('the same names read in another account are not touches of ours', async () => {
    const logs = join(root, 'elsewhere');
    mkdirSync(logs);
    // Our decoys' names, called in someone else's account (a shared log archive).
    writeFileSync(
      join(logs, 'other-account.json'),
      JSON.stringify({ Records: touchesOf(ours, 30, '999988887777') }),
    );
    const { io, out } = capture();
    await replay(
      [logs],
      { decoys: join(root, 'plan.json'), json: true, account: TEST_ACCOUNT, trustedRole: [] },
      io,
    );
    // Still ours wherever the record lands: the decoy key (key ids are unique) and the
    // bucket (bucket names are global; a cross-account reader's copy of the event is
    // recorded in the reader's account).
    const kinds = jsonLines(out).map((finding) => finding.resource.kind as string);
    expect(kinds).not.toContain('ssm-parameter');
    expect(kinds.sort()).toEqual(['iam-access-key', 's3-object']);
  });
});
