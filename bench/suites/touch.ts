/**
 * Touch suite: the touch function's own processing per event, warm, with its state
 * and sink in memory (AWS calls excluded), p50 and p99 per path (a new finding, a
 * touch counted into an open window, a matched call that is no touch); and replay
 * throughput on generated CloudTrail log files (1 million records, 100 thousand
 * with --quick), end to end: gunzip, parse, validate, match, classify, dedupe.
 *
 * Rows: {"suite":"touch","measure":"handler","path":"new-finding","events":5000,"p50_us":..,"p99_us":..,"goal_p99_ms":5}
 *       {"suite":"touch","measure":"replay","records":1000000,"seconds":..,"records_per_s":..,"findings":..}
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { replay } from '../../bin/commands/replay';
import { touchHandler } from '../../functions/touch/touch-handler';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import { type CloudTrailRecord, toEnvelope } from '../../layers/cloudtrail/record';
import { auditTrailName, centralBusName, routeNamePrefix } from '../../layers/config/names';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { ReplayEngine } from '../../layers/detection/replay';
import { MemoryTouchStore } from '../../layers/detection/store';
import { percentile } from '../../layers/drill/kpi';
import { MemorySink } from '../../layers/findings/publish';
import type { BenchOptions, BenchRow } from './types';

export const name = 'touch';

const ACCOUNT = '123456789012';
const DATA = fileURLToPath(new URL('../../test/data/cloudtrail/', import.meta.url));
const GOAL_P99_MS = 5;

const config = parseConfig({});
const decoys = planDecoys(config, { account: ACCOUNT, region: config.homeRegion }).resources;
const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
/** The deployment's names, as the stack makes them. */
const names = {
  trailName: auditTrailName(config),
  trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${auditTrailName(config)}`,
  ruleNamePrefix: routeNamePrefix(config),
  busName: centralBusName(config),
};
const user = decoys.find((d) => d.kind === 'iam-user')!;

export async function run({ json, quick }: BenchOptions): Promise<BenchRow[]> {
  const progress = (text: string) => {
    if (!json && process.stderr.isTTY) process.stderr.write(`  touch: ${text}\n`);
  };
  const templates = await loadTemplates();
  progress('handler, per event');
  const rows = await benchHandler(quick ? 2_000 : 10_000, templates);
  const records = quick ? 100_000 : 1_000_000;
  progress(`replay engine, ${records} records in memory`);
  rows.push(await benchEngine(records, templates));
  progress(`replay, ${records} records from gzipped log files`);
  rows.push(await benchReplay(records, templates));
  return rows;
}

export function notes(rows: readonly BenchRow[]): string[] {
  const handler = rows.filter((r) => r.measure === 'handler');
  const worst = Math.max(...handler.map((r) => Number(r.p99_us)));
  const engine = rows.find((r) => r.measure === 'replay-engine');
  const replayRow = rows.find((r) => r.measure === 'replay');
  return [
    `touch: handler p99 ${(worst / 1000).toFixed(2)} ms at worst (goal ${GOAL_P99_MS} ms, AWS calls excluded): ${worst / 1000 < GOAL_P99_MS ? 'met' : 'NOT met'}`,
    ...(engine && replayRow
      ? [
          `touch: replay end to end ${replayRow.records_per_s} records/s; rules and touch logic alone ` +
            `${engine.records_per_s} records/s, so reading (gunzip, JSON.parse, schema check) takes ` +
            `${Math.round(100 * Math.max(0, 1 - Number(replayRow.records_per_s) / Number(engine.records_per_s)))}% of replay's time`,
        ]
      : []),
  ];
}

async function loadTemplates(): Promise<CloudTrailRecord[]> {
  const records: CloudTrailRecord[] = [];
  for await (const record of readCloudTrail([DATA])) records.push(record);
  return records;
}

function touchRecord(i: number, actorIndex: number): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE${actorIndex}:session`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app-${actorIndex}/session`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAEXAMPLE0000001',
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${ACCOUNT}:role/app-${actorIndex}` },
      },
    },
    eventTime: new Date(Date.UTC(2024, 7, 1) + i * 1000).toISOString(),
    eventSource: 'ssm.amazonaws.com',
    eventName: 'GetParameter',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { name: parameter.name, withDecryption: true },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `bench-${i}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

async function benchHandler(perPath: number, templates: readonly CloudTrailRecord[]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const paths: [string, (i: number) => CloudTrailRecord][] = [
    // Every event a new actor: a new window, a finding published (to memory).
    ['new-finding', (i) => touchRecord(i, i)],
    // One actor over and over: counted into the open window.
    ['counted', (i) => touchRecord(i, 0)],
    // A matched call on no decoy (what broad rules send): classified and dropped.
    ['not-a-touch', (i) => ({ ...templates[i % templates.length]!, eventID: `other-${i}` })],
  ];
  const measure = async (path: string, make: (i: number) => CloudTrailRecord): Promise<BenchRow> => {
    const handler = touchHandler({
      settings: {
        context: { ...names, trustedRoleArns: [`arn:aws:iam::${ACCOUNT}:role/rotation`] },
        windowMinutes: 60,
        allowlist: compileAllowlist({ principalArns: [], cidrs: ['203.0.113.0/24'] }),
      },
      loadResources: async () => decoys,
      store: new MemoryTouchStore(),
      sink: new MemorySink(),
      now: () => Date.UTC(2024, 7, 1),
      count: () => {},
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const events = Array.from({ length: perPath * 2 }, (_, i) =>
      JSON.parse(JSON.stringify(toEnvelope(make(i)))),
    );
    // Warm-up: the first half, not measured.
    for (let i = 0; i < perPath; i++) await handler(events[i]);
    const times: number[] = [];
    for (let i = perPath; i < events.length; i++) {
      const start = process.hrtime.bigint();
      await handler(events[i]);
      times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    return {
      suite: 'touch',
      measure: 'handler',
      path,
      events: times.length,
      p50_us: Math.round(percentile(times, 0.5) * 10) / 10,
      p99_us: Math.round(percentile(times, 0.99) * 10) / 10,
      goal_p99_ms: GOAL_P99_MS,
    };
  };
  // One path at a time: overlapping measurements would time each other.
  for (const [path, make] of paths) rows.push(await measure(path, make));
  return rows;
}

/** Writes `count` records as gzipped CloudTrail log files, 1 in 1000 a touch of a decoy. */
function writeLogs(dir: string, count: number, templates: readonly CloudTrailRecord[]): number {
  const perFile = 1000;
  let touches = 0;
  const base = Date.UTC(2024, 7, 1);
  for (let file = 0; file * perFile < count; file++) {
    const records: unknown[] = [];
    for (let j = 0; j < perFile && file * perFile + j < count; j++) {
      const i = file * perFile + j;
      const eventTime = new Date(base + i * 50).toISOString().replace(/\.\d{3}Z$/, 'Z');
      if (i % 1000 === 999) {
        touches += 1;
        const touch = i % 2000 === 999 ? touchRecord(i, i % 7) : keyUse(i);
        records.push({ ...touch, eventTime });
      } else {
        records.push({ ...templates[i % templates.length]!, eventID: `rec-${i}`, eventTime });
      }
    }
    const key = `${ACCOUNT}_CloudTrail_us-east-1_20240801T0000Z_${String(file).padStart(6, '0')}.json.gz`;
    writeFileSync(join(dir, key), gzipSync(JSON.stringify({ Records: records }), { level: 1 }));
  }
  return touches;
}

function keyUse(i: number): CloudTrailRecord {
  return {
    ...touchRecord(i, 0),
    userIdentity: {
      type: 'IAMUser',
      arn: user.arn,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAEXAMPLEKEY000001',
      userName: user.name,
    },
    eventSource: 'sts.amazonaws.com',
    eventName: 'GetCallerIdentity',
    requestParameters: null,
  };
}

/** The rules and the touch logic alone, on records already in memory (what replay adds to reading). */
async function benchEngine(count: number, templates: readonly CloudTrailRecord[]): Promise<BenchRow> {
  const engine = new ReplayEngine({
    decoys,
    context: { style: config.detection.ruleStyle, ...names },
    windowMinutes: 60,
    allowlist: config.detection.allowlist,
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const record =
      i % 1000 === 999 ? touchRecord(i, i % 7) : { ...templates[i % templates.length]!, eventID: `rec-${i}` };
    await engine.push(record);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    suite: 'touch',
    measure: 'replay-engine',
    records: count,
    matched: engine.stats.matched,
    findings: engine.findings().length,
    seconds: Math.round(seconds * 100) / 100,
    records_per_s: Math.round(count / seconds),
  };
}

async function benchReplay(count: number, templates: readonly CloudTrailRecord[]): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-touch-'));
  try {
    const touches = writeLogs(dir, count, templates);
    const plan = join(dir, '..', `${dir.split('/').at(-1)}-plan.json`);
    writeFileSync(plan, JSON.stringify({ decoys }));
    const start = process.hrtime.bigint();
    const summary = await replay(
      [dir],
      { decoys: plan, json: true, account: ACCOUNT, trustedRole: [] },
      { out: () => {}, err: () => {} },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rmSync(plan, { force: true });
    return {
      suite: 'touch',
      measure: 'replay',
      records: summary.records,
      touches,
      matched: summary.matched,
      findings: summary.findings.length,
      seconds: Math.round(seconds * 100) / 100,
      records_per_s: Math.round(summary.records / seconds),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
