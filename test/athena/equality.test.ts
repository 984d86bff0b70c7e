import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHeader, type FeatureTable, featureTableOf } from '../../layers/athena/rows';
import {
  DENIED_PATTERN,
  type ExcludedSpan,
  READ_VERB_PATTERN,
  windowFeaturesQuery,
} from '../../layers/athena/window-features-sql';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import {
  baselinesToJson,
  FEATURE_NAMES,
  isDenied,
  isWrite,
  OTHER,
  principalOf,
  userAgentFamily,
  WindowBuilder,
  windowsOf,
} from '../../layers/features';
import { injectAttack, syntheticActivity, syntheticIdentity } from '../../layers/scoring/synthetic';
import {
  featureRowsOf,
  trainModelFromComputedWindows,
  trainModelFromWindows,
} from '../../layers/scoring/train';
import { duckDbWith, runAsAthena, TABLE } from './duckdb';

/**
 * The SQL features equal the in-process features on the same records: the query
 * text Athena runs, run in DuckDB over the same CloudTrail records loaded as the
 * CloudTrail SerDe shows them, compared window by window and feature by feature
 * with featureRowsOf (what trainModelFromWindows trains on).
 */

const DATA = join(__dirname, '..', 'data', 'cloudtrail');
const STRATUS = join(DATA, 'stratus-detonations');
/** Counts compare exactly; ratios and logarithms to this (different summation order). */
const TOLERANCE = 1e-9;
const COUNT_FEATURES = new Set([
  'distinctApis',
  'distinctServices',
  'sensitiveCalls',
  'newSourceIps',
  'newUserAgents',
  'regions',
  'newRegions',
  'noveltyKinds',
]);
/** CloudTrail's own time format, the only one in real log files (Athena reads it with from_iso8601_timestamp). */
const CLOUDTRAIL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let shipped: Promise<CloudTrailRecord[]> | undefined;

function shippedRecords(): Promise<CloudTrailRecord[]> {
  shipped ??= (async () => {
    const records: CloudTrailRecord[] = [];
    for await (const record of readCloudTrail([DATA])) records.push(record);
    return records;
  })();
  return shipped;
}

function stratus(technique: string): CloudTrailRecord[] {
  const text = readFileSync(join(STRATUS, `${technique}.json`), 'utf8');
  const json = JSON.parse(text) as CloudTrailRecord[] | { Records: CloudTrailRecord[] };
  return Array.isArray(json) ? json : json.Records;
}

interface Case {
  readonly records: CloudTrailRecord[];
  readonly windowMinutes: number;
  readonly excluded?: readonly ExcludedSpan[];
}

async function sqlTable(connection: DuckDBConnection, c: Case, range: { start: Date; end: Date }) {
  const sql = windowFeaturesQuery({
    table: TABLE,
    windowMinutes: c.windowMinutes,
    ...range,
    excluded: c.excluded ?? [],
  });
  const { header, cells } = await runAsAthena(connection, sql);
  checkHeader(header);
  return featureTableOf(cells);
}

function rangeOf(records: readonly CloudTrailRecord[]) {
  const times = records.map((r) => Date.parse(r.eventTime));
  return { start: new Date(Math.min(...times)), end: new Date(Math.max(...times) + 1) };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every difference between the two, as readable lines (empty: equal). */
function differences(c: Case, table: FeatureTable): string[] {
  const labels = (c.excluded ?? []).map((span, i) => ({
    findingId: `label-${i}-xxxxxxxx`,
    label: 'true-positive' as const,
    labelledAt: '2024-01-01T00:00:00Z',
    principalKey: span.principalKey,
    windowStart: span.start.toISOString(),
    windowEnd: span.end.toISOString(),
  }));
  // A window's principal is its first record's: in time order, as the SQL takes the earliest call's.
  const inTimeOrder = [...c.records].sort(
    (a, b) =>
      Date.parse(a.eventTime) - Date.parse(b.eventTime) ||
      compare(principalOf(a).identity, principalOf(b).identity),
  );
  const reference = featureRowsOf(windowsOf(inTimeOrder, c.windowMinutes), c.windowMinutes, labels);
  const problems: string[] = [];
  if (table.rows.length !== reference.rows.length) {
    problems.push(`SQL has ${table.rows.length} windows, in-process ${reference.rows.length}`);
  }
  if (table.excludedWindows !== reference.excluded) {
    problems.push(`SQL excluded ${table.excludedWindows} windows, in-process ${reference.excluded}`);
  }
  const n = Math.min(table.rows.length, reference.rows.length);
  for (let i = 0; i < n && problems.length < 20; i++) {
    const sql = table.rows[i]!;
    const { window, vector } = reference.rows[i]!;
    const at = `${window.principal.key} @ ${new Date(window.windowStart).toISOString()}`;
    if (sql.principalKey !== window.principal.key || sql.windowStart !== window.windowStart) {
      problems.push(
        `row ${i}: SQL ${sql.principalKey} @ ${new Date(sql.windowStart).toISOString()}, in-process ${at}`,
      );
      continue;
    }
    if (sql.identity !== window.principal.identity) {
      problems.push(`${at}: identity ${sql.identity} vs ${window.principal.identity}`);
    }
    if (sql.calls !== window.calls) problems.push(`${at}: calls ${sql.calls} vs ${window.calls}`);
    FEATURE_NAMES.forEach((name, f) => {
      const a = sql.vector[f]!;
      const b = vector[f]!;
      const equal =
        COUNT_FEATURES.has(name) && name !== 'sensitiveCalls' ? a === b : Math.abs(a - b) <= TOLERANCE;
      if (!equal) problems.push(`${at}: ${name} SQL ${a}, in-process ${b}`);
    });
    const same = (what: string, got: readonly string[], want: Iterable<string>) => {
      const expected = [...new Set([...want].filter((v) => v !== OTHER))].sort();
      if (JSON.stringify([...got].sort()) !== JSON.stringify(expected)) {
        problems.push(`${at}: ${what} ${JSON.stringify([...got].sort())} vs ${JSON.stringify(expected)}`);
      }
    };
    same('source IPs', sql.sourceIps, window.sourceIps.keys());
    same('user agent families', sql.userAgentFamilies, [...window.userAgents.keys()].map(userAgentFamily));
    same('APIs', sql.apis, window.apis.keys());
    same('regions', sql.regions, window.regions.keys());
  }
  return problems;
}

describe('SQL window features equal the in-process features', () => {
  let real: CloudTrailRecord[];
  let realDb: DuckDBConnection;
  let synthetic: CloudTrailRecord[];
  let syntheticDb: DuckDBConnection;

  beforeAll(async () => {
    const all = await shippedRecords();
    real = all.filter((r) => CLOUDTRAIL_TIME.test(r.eventTime));
    // The shipped set is varied (310 Stratus detonations, 441 Panther rule fixtures,
    // 10 EventBridge events); rule fixtures in other time formats are left out.
    expect(real.length).toBeGreaterThan(600);
    realDb = await duckDbWith(real);

    // Two days of a busy account's routine with real attacks injected: warm
    // histories, hour habits, role sessions judged against their role.
    const start = new Date('2024-05-06T00:00:00Z');
    // The application role's steady stream (four records in five) is thinned to keep
    // the test fast; both sides see the same records.
    let applicationCalls = 0;
    const routine = [...syntheticActivity({ start, days: 2 })].filter(
      (r) => !r.userIdentity?.arn?.includes('orders-api') || applicationCalls++ % 8 === 0,
    );
    synthetic = [
      ...routine,
      ...injectAttack(stratus('aws.credential-access.secretsmanager-retrieve-secrets'), {
        at: new Date('2024-05-07T21:10:00Z'),
        as: syntheticIdentity('alice', 1),
      }),
      ...injectAttack(stratus('aws.persistence.iam-backdoor-user'), { at: new Date('2024-05-07T10:20:00Z') }),
      ...injectAttack(stratus('aws.credential-access.ec2-steal-instance-credentials'), {
        at: new Date('2024-05-07T02:30:00Z'),
        as: syntheticIdentity('orders-api', 1),
      }),
    ];
    syntheticDb = await duckDbWith(synthetic);
  }, 60_000);

  afterAll(() => {
    realDb?.closeSync();
    syntheticDb?.closeSync();
  });

  it('on every shipped real CloudTrail record, hourly windows', async () => {
    const c: Case = { records: real, windowMinutes: 60 };
    const table = await sqlTable(realDb, c, rangeOf(real));
    expect(table.rows.length).toBeGreaterThan(140);
    expect(differences(c, table)).toEqual([]);
  });

  it('on every shipped real CloudTrail record, 5-minute windows', async () => {
    const c: Case = { records: real, windowMinutes: 5 };
    expect(differences(c, await sqlTable(realDb, c, rangeOf(real)))).toEqual([]);
  });

  it('on a synthetic account with real attacks injected (warm histories), with a labelled attack left out', async () => {
    const attack = synthetic.find((r) => r.eventTime.startsWith('2024-05-07T21:1'))!;
    const key = principalOf(attack).key;
    const c: Case = {
      records: synthetic,
      windowMinutes: 60,
      excluded: [
        { principalKey: key, start: new Date('2024-05-07T21:00:00Z'), end: new Date('2024-05-07T22:00:00Z') },
      ],
    };
    const table = await sqlTable(syntheticDb, c, rangeOf(synthetic));
    expect(table.rows.length).toBeGreaterThan(100);
    expect(table.excludedWindows).toBe(1);
    expect(differences(c, table)).toEqual([]);
    // Some windows are judged against habits (not everything is new).
    expect(
      table.rows.filter((row) => row.vector[FEATURE_NAMES.indexOf('noveltyKinds')] === 0).length,
    ).toBeGreaterThan(10);
  });

  it('a range selects the same records in both (the first day only)', async () => {
    const range = { start: new Date('2024-05-06T00:00:00Z'), end: new Date('2024-05-07T00:00:00Z') };
    const inRange = synthetic.filter((r) => {
      const t = Date.parse(r.eventTime);
      return t >= range.start.getTime() && t < range.end.getTime();
    });
    const c: Case = { records: inRange, windowMinutes: 60 };
    expect(differences(c, await sqlTable(syntheticDb, c, range))).toEqual([]);
  });

  it('trains the same model from the SQL rows as from the records', async () => {
    const c: Case = { records: synthetic, windowMinutes: 60 };
    const table = await sqlTable(syntheticDb, c, rangeOf(synthetic));
    const fromSql = trainModelFromComputedWindows(table, { windowMinutes: 60, trees: 50 });
    const fromRecords = trainModelFromWindows(new WindowBuilder(60).addAll(synthetic), {
      windowMinutes: 60,
      trees: 50,
    });
    if (fromSql.status !== 'trained' || fromRecords.status !== 'trained') throw new Error('did not train');
    expect(baselinesToJson(fromSql.model.baselines)).toEqual(baselinesToJson(fromRecords.model.baselines));
    expect(fromSql.model.training).toEqual(fromRecords.model.training);
    expect(fromSql.model.threshold).toBeCloseTo(fromRecords.model.threshold, 3);
  });
});

describe("the SQL's patterns are the in-process rules", () => {
  it('READ_VERB_PATTERN decides writes as isWrite does when readOnly is absent', async () => {
    const names = new Set((await shippedRecords()).map((r) => r.eventName));
    for (const verb of [
      'GetObject',
      'ListUsers',
      'GenerateCredentialReport',
      'GenerateDataKey',
      'Getaway',
      'PutObject',
      'Decrypt',
      'TestFoo',
    ]) {
      names.add(verb);
    }
    const pattern = new RegExp(READ_VERB_PATTERN);
    const disagree = [...names].filter(
      (eventName) =>
        isWrite({ eventName, eventSource: 'x', eventTime: '', awsRegion: '' }) === pattern.test(eventName),
    );
    expect(disagree).toEqual([]);
  });

  it('DENIED_PATTERN decides denials as isDenied does', async () => {
    const codes = new Set((await shippedRecords()).flatMap((r) => (r.errorCode ? [r.errorCode] : [])));
    for (const code of [
      'AccessDenied',
      'Client.UnauthorizedOperation',
      'accessdeniedexception',
      'NoSuchKey',
      'ThrottlingException',
    ]) {
      codes.add(code);
    }
    const pattern = new RegExp(DENIED_PATTERN.replace('(?i)', ''), 'i');
    expect([...codes].filter((code) => isDenied(code) !== pattern.test(code))).toEqual([]);
  });
});
