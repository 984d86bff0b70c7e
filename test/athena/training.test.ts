import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import { ListObjectsV2Command, NoSuchBucket, S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryEngine, S3OrganizationAccounts } from '../../layers/athena/aws';
import {
  type QueryEngine,
  QueryFailedError,
  type QueryStatus,
  QueryTimeoutError,
  runQuery,
} from '../../layers/athena/query';
import { FeatureTableError, featureTableOf } from '../../layers/athena/rows';
import {
  excludedSpansOf,
  type OrganizationTrainingDeps,
  processOrganizationTrainingEvent,
  runOrganizationTraining,
} from '../../layers/athena/training';
import { RESULT_COLUMNS, sqlString, windowFeaturesQuery } from '../../layers/athena/window-features-sql';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { windowsOf } from '../../layers/features';
import { TRAINING_JOB_INPUT } from '../../layers/scoring/events';
import { anomalyFindingId } from '../../layers/scoring/findings';
import { MemoryLabelStore, MemoryModelStore } from '../../layers/scoring/memory';
import { parseActivityModelText } from '../../layers/scoring/model';
import { duckDbWith, runAsAthena, serdeRow, TABLE } from './duckdb';

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
const ORG = 'o-a1b2c3d4e5';
const WORKGROUP = 'analytics';

beforeEach(() => {
  athena.reset();
  s3.reset();
});

/** A scripted engine: the states it reports in turn, then its rows. */
function scriptedEngine(states: QueryStatus[], rows: string[][] = []) {
  const calls: string[] = [];
  const engine: QueryEngine = {
    description: 'scripted',
    async start(_sql, token) {
      calls.push(`start ${token}`);
      return 'q-1';
    },
    async status() {
      calls.push('status');
      return states.length > 1 ? states.shift()! : states[0]!;
    },
    async page(_id, token) {
      calls.push(`page ${token ?? ''}`);
      return token
        ? { columns: ['a'], rows: rows.slice(1) }
        : { columns: ['a'], rows: rows.slice(0, 1), nextToken: 't2' };
    },
    async stop() {
      calls.push('stop');
    },
  };
  return { engine, calls };
}

function clock() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

describe('runQuery waits with backoff and names how a query ended', () => {
  it('polls while queued or running, backing off ×1.5 to the cap, then reads every page', async () => {
    const states: QueryStatus[] = [
      { state: 'QUEUED' },
      ...Array.from({ length: 8 }, () => ({ state: 'RUNNING' as const })),
      { state: 'SUCCEEDED', bytesScanned: 1234 },
    ];
    const { engine, calls } = scriptedEngine(states, [['1'], ['2'], ['3']]);
    const c = clock();
    const outcome = await runQuery(engine, 'SELECT 1', 'token', {
      ...c,
      shouldStop: () => false,
      maxDelayMs: 2000,
    });
    expect(outcome).toMatchObject({ queryId: 'q-1', rows: [['1'], ['2'], ['3']], bytesScanned: 1234 });
    expect(c.waits).toEqual([500, 750, 1125, 1688, 2000, 2000, 2000, 2000, 2000]);
    expect(calls.filter((call) => call.startsWith('page'))).toEqual(['page ', 'page t2']);
  });

  it('a FAILED query throws QueryFailedError with its state reason', async () => {
    const { engine } = scriptedEngine([
      { state: 'RUNNING' },
      {
        state: 'FAILED',
        reason: 'TABLE_NOT_FOUND: line 1:8: Table org_trail.events does not exist',
        retryable: false,
      },
    ]);
    const error = await runQuery(engine, 'SELECT 1', 't', { ...clock(), shouldStop: () => false }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(error).toMatchObject({ queryId: 'q-1', state: 'FAILED', retryable: false });
    expect(error.message).toBe(
      'Athena query q-1 FAILED: TABLE_NOT_FOUND: line 1:8: Table org_trail.events does not exist',
    );
  });

  it('a CANCELLED query is a failure too', async () => {
    const { engine } = scriptedEngine([{ state: 'CANCELLED' }]);
    await expect(runQuery(engine, 'SELECT 1', 't', { ...clock(), shouldStop: () => false })).rejects.toThrow(
      'Athena query q-1 CANCELLED: no reason given',
    );
  });

  it('out of time: stops the query (no further cost) and throws QueryTimeoutError', async () => {
    const { engine, calls } = scriptedEngine([{ state: 'RUNNING' }]);
    const c = clock();
    const error = await runQuery(engine, 'SELECT 1', 't', { ...c, shouldStop: () => c.now() > 5000 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(error.message).toMatch(/^Athena query q-1 still RUNNING after \d+ s: stopped/);
    expect(calls.at(-1)).toBe('stop');
  });
});

describe('AthenaQueryEngine (the SDK adapter)', () => {
  const engine = () => new AthenaQueryEngine(new AthenaClient({}), WORKGROUP, 'org_trail');

  it('starts in the workgroup (which enforces results and encryption) with the idempotency token', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-9' });
    expect(await engine().start('SELECT 1', 'a'.repeat(64))).toBe('q-9');
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryString: 'SELECT 1',
      WorkGroup: WORKGROUP,
      QueryExecutionContext: { Database: 'org_trail' },
      ClientRequestToken: 'a'.repeat(64),
    });
  });

  it("names the call and the SDK's error: InvalidRequestException, TooManyRequestsException", async () => {
    athena
      .on(StartQueryExecutionCommand)
      .rejects(new InvalidRequestException({ $metadata: {}, message: 'WorkGroup analytics is disabled.' }));
    await expect(engine().start('SELECT 1', 't')).rejects.toThrow(
      'StartQueryExecution in workgroup analytics: InvalidRequestException: WorkGroup analytics is disabled.',
    );
    athena
      .on(GetQueryExecutionCommand)
      .rejects(new TooManyRequestsException({ $metadata: {}, message: 'Rate exceeded' }));
    await expect(engine().status('q-1')).rejects.toThrow(
      'GetQueryExecution q-1: TooManyRequestsException: Rate exceeded',
    );
  });

  it("reads the state, Athena's reason and the bytes scanned", async () => {
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: {
          State: 'FAILED',
          StateChangeReason: 'Query exhausted resources at this scale factor',
          AthenaError: { ErrorCategory: 2, ErrorType: 1001, Retryable: true },
        },
        Statistics: { DataScannedInBytes: 42 },
      },
    });
    expect(await engine().status('q-1')).toEqual({
      state: 'FAILED',
      reason: 'Query exhausted resources at this scale factor',
      errorType: 1001,
      retryable: true,
      bytesScanned: 42,
    });
  });

  it('drops the header row of the first page only, and follows NextToken', async () => {
    const header = { Data: [{ VarCharValue: 'a' }, { VarCharValue: 'b' }] };
    const metadata = {
      ColumnInfo: [
        { Name: 'a', Type: 'varchar' },
        { Name: 'b', Type: 'varchar' },
      ],
    };
    athena
      .on(GetQueryResultsCommand, { NextToken: undefined })
      .resolves({
        ResultSet: { ResultSetMetadata: metadata, Rows: [header, { Data: [{ VarCharValue: '1' }, {}] }] },
        NextToken: 'n',
      })
      .on(GetQueryResultsCommand, { NextToken: 'n' })
      .resolves({
        ResultSet: {
          ResultSetMetadata: metadata,
          Rows: [{ Data: [{ VarCharValue: 'a' }, { VarCharValue: 'b' }] }],
        },
      });
    expect(await engine().page('q-1', undefined)).toEqual({
      columns: ['a', 'b'],
      rows: [['1', undefined]],
      nextToken: 'n',
    });
    // A later page's row equal to the header is data.
    expect(await engine().page('q-1', 'n')).toEqual({ columns: ['a', 'b'], rows: [['a', 'b']] });
  });

  it('stops a query', async () => {
    athena.on(StopQueryExecutionCommand).resolves({});
    await engine().stop('q-1');
    expect(athena.commandCalls(StopQueryExecutionCommand)[0]!.args[0].input).toEqual({
      QueryExecutionId: 'q-1',
    });
  });
});

describe('S3OrganizationAccounts', () => {
  it('lists the accounts folders under AWSLogs/<org id>/ (every page), ignoring what is not an account', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        CommonPrefixes: [{ Prefix: `AWSLogs/${ORG}/222233334444/` }, { Prefix: `AWSLogs/${ORG}/notes/` }],
        IsTruncated: true,
        NextContinuationToken: 'c',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 'c' })
      .resolves({ CommonPrefixes: [{ Prefix: `AWSLogs/${ORG}/111122223333/` }] });
    expect(await new S3OrganizationAccounts(new S3Client({}), 'trail-bucket', ORG).list()).toEqual([
      '111122223333',
      '222233334444',
    ]);
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toMatchObject({
      Bucket: 'trail-bucket',
      Prefix: `AWSLogs/${ORG}/`,
      Delimiter: '/',
    });
  });

  it('names the bucket when S3 refuses', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new NoSuchBucket({ $metadata: {}, message: 'The specified bucket does not exist' }),
    );
    await expect(new S3OrganizationAccounts(new S3Client({}), 'gone', ORG).list()).rejects.toThrow(
      `ListObjectsV2 s3://gone/AWSLogs/${ORG}/: NoSuchBucket: The specified bucket does not exist`,
    );
  });
});

describe('feature table rows', () => {
  it("refuses a row that is not the query's, naming the row and column", () => {
    const row = RESULT_COLUMNS.map(() => '1');
    row[RESULT_COLUMNS.indexOf('error_ratio')] = 'abc';
    expect(() => featureTableOf([row])).toThrow(
      new FeatureTableError('row 1, error_ratio: "abc" is not a number'),
    );
    expect(() => featureTableOf([['x']])).toThrow(`row 1 has 1 cells, expected ${RESULT_COLUMNS.length}`);
  });
});

describe('organization training, end to end on shipped records (Athena played by DuckDB)', () => {
  let records: CloudTrailRecord[];
  let db: DuckDBConnection;
  let accounts: string[];

  beforeAll(async () => {
    records = [];
    for await (const record of readCloudTrail([`${__dirname}/../data/cloudtrail/stratus-detonations`])) {
      records.push(record);
    }
    for await (const record of readCloudTrail([`${__dirname}/../data/cloudtrail/panther-tests`])) {
      if (/Z$/.test(record.eventTime)) records.push(record);
    }
    // Accounts as an organization trail's folders name them (rule fixtures carry a few made-up ones).
    records = records.filter((record) => /^\d{12}$/.test(String(serdeRow(record).account)));
    db = await duckDbWith(records);
    const found = await runAsAthena(db, `SELECT DISTINCT account FROM ${TABLE} ORDER BY account`);
    accounts = found.cells.map((row) => row[0]!);
  }, 60_000);

  afterAll(() => db?.closeSync());

  /** Athena mocked: StartQueryExecution runs the SQL in DuckDB, GetQueryResults pages its rows by 50. */
  function athenaRunsInDuckDb() {
    const executed: string[] = [];
    let result: Awaited<ReturnType<typeof runAsAthena>> | undefined;
    athena.on(StartQueryExecutionCommand).callsFake(async (input: { QueryString: string }) => {
      executed.push(input.QueryString);
      result = await runAsAthena(db, input.QueryString);
      return { QueryExecutionId: 'q-org' };
    });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({
        QueryExecution: { Status: { State: 'SUCCEEDED' }, Statistics: { DataScannedInBytes: 9 } },
      });
    athena.on(GetQueryResultsCommand).callsFake(async (input: { NextToken?: string }) => {
      const from = input.NextToken ? Number(input.NextToken) : 0;
      const cells = result!.cells.slice(from, from + 50);
      const header = from === 0 ? [{ Data: result!.header.map((name) => ({ VarCharValue: name })) }] : [];
      return {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: result!.header.map((Name) => ({ Name, Type: 'varchar' })) },
          Rows: [
            ...header,
            ...cells.map((row) => ({ Data: row.map((v) => (v === undefined ? {} : { VarCharValue: v })) })),
          ],
        },
        ...(from + 50 < result!.cells.length && { NextToken: String(from + 50) }),
      };
    });
    return executed;
  }

  function deps(overrides: Partial<OrganizationTrainingDeps> = {}) {
    const models = new MemoryModelStore();
    const labels = new MemoryLabelStore();
    const metrics: Record<string, number> = {};
    const d: OrganizationTrainingDeps = {
      queries: new AthenaQueryEngine(new AthenaClient({}), WORKGROUP, 'org_trail'),
      accounts: new S3OrganizationAccounts(new S3Client({}), 'trail-bucket', ORG),
      models,
      labels,
      settings: {
        windowMinutes: 60,
        trainingDays: 6000,
        minThreshold: 0.6,
        table: TABLE,
        accounts: '*',
        minWindows: 48,
      },
      // Whole windows only: the range ends at the start of the current hour.
      now: () => new Date('2026-01-01T00:30:00Z'),
      sleep: async () => {},
      shouldStop: () => false,
      log: { info: () => {}, warn: () => {}, error: () => {} },
      count: (metric, value = 1) => {
        metrics[metric] = (metrics[metric] ?? 0) + value;
      },
      ...overrides,
    };
    return { deps: d, models, labels, metrics };
  }

  it('lists the accounts, queries Athena once, trains the forest and writes the model and status', async () => {
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: accounts.map((a) => ({ Prefix: `AWSLogs/${ORG}/${a}/` })),
    });
    const executed = athenaRunsInDuckDb();
    const { deps: d, models, metrics } = deps();
    const status = await runOrganizationTraining(d);

    expect(executed).toHaveLength(1);
    expect(executed[0]).toContain(`AND account IN (${accounts.map((a) => `'${a}'`).join(', ')})`);
    expect(executed[0]).toContain("from_iso8601_timestamp('2026-01-01T00:00:00.000Z')");
    expect(status).toMatchObject({ status: 'trained' });
    expect(status.message).toMatch(
      /principal-windows of \d+ principals from Athena workgroup analytics \(query q-org/,
    );
    const model = parseActivityModelText(models.model!.text, 'model');
    expect(model.training.rows).toBe(status.windows);
    expect(model.training.records).toBe(records.length);
    expect(models.status).toEqual(status);
    expect(metrics).toMatchObject({ ModelsTrained: 1 });
    // The idempotency token is the query text's hash: a retry in the same window reuses the query.
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input.ClientRequestToken).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  it('leaves labelled attack windows out in the query, and a label by finding id only after it', async () => {
    const executed = athenaRunsInDuckDb();
    const { deps: d, labels, models } = deps({ settings: { ...deps().deps.settings, accounts } });
    const windows = windowsOf(records, 60);
    const [spanned, byId] = [windows[0]!, windows.at(-1)!];
    await labels.put({
      findingId: 'label-span-000001',
      label: 'true-positive',
      labelledAt: '2025-01-01T00:00:00Z',
      principalKey: spanned.principal.key,
      windowStart: new Date(spanned.windowStart).toISOString(),
      windowEnd: new Date(spanned.windowStart + 3_600_000).toISOString(),
    });
    await labels.put({
      findingId: anomalyFindingId(byId.principal.key, byId.windowStart, 60),
      label: 'true-positive',
      labelledAt: '2025-01-01T00:00:00Z',
    });
    await labels.put({
      findingId: 'label-false-0001',
      label: 'false-positive',
      labelledAt: '2025-01-01T00:00:00Z',
    });
    expect(excludedSpansOf(await labels.list())).toHaveLength(1);
    const status = await runOrganizationTraining(d);
    expect(executed[0]).toContain(
      `(${sqlString(spanned.principal.key)}, CAST(${spanned.windowStart} AS BIGINT)`,
    );
    expect(status.status).toBe('trained');
    const model = parseActivityModelText(models.model!.text, 'model');
    expect(model.training).toMatchObject({
      excludedWindows: 2,
      windows: windows.length,
      rows: windows.length - 2,
    });
  });

  it('too little history: an insufficient-history status and no model', async () => {
    athenaRunsInDuckDb();
    const { deps: d, models } = deps({
      settings: { ...deps().deps.settings, accounts, minWindows: 100_000 },
    });
    const status = await runOrganizationTraining(d);
    expect(status.status).toBe('insufficient-history');
    expect(status.message).toMatch(/100000 needed.*history from Athena workgroup analytics/);
    expect(models.model).toBeUndefined();
  });

  it('a failed query: a failed status naming the reason, and the error rethrown', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-bad' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'FAILED', StateChangeReason: 'HIVE_BAD_DATA: Error parsing field value' },
      },
    });
    const { deps: d, models, metrics } = deps({ settings: { ...deps().deps.settings, accounts } });
    await expect(runOrganizationTraining(d)).rejects.toThrow(QueryFailedError);
    expect(models.status).toMatchObject({
      status: 'failed',
      message: 'Athena query q-bad FAILED: HIVE_BAD_DATA: Error parsing field value',
    });
    expect(metrics).toMatchObject({ TrainingFailed: 1 });
  });

  it('no account has delivered logs yet: says so', async () => {
    s3.on(ListObjectsV2Command).resolves({});
    await expect(runOrganizationTraining(deps().deps)).rejects.toThrow(/no accounts to read/);
  });

  it('events: the schedule trains, a label is stored, anything else is named', async () => {
    athenaRunsInDuckDb();
    const { deps: d, labels } = deps({ settings: { ...deps().deps.settings, accounts } });
    expect(await processOrganizationTrainingEvent(TRAINING_JOB_INPUT, d)).toMatchObject({ kind: 'trained' });
    expect(
      await processOrganizationTrainingEvent(
        {
          'detail-type': 'Finding Labelled',
          time: '2026-01-01T00:00:00Z',
          detail: { findingId: 'finding-0001', label: 'false-positive' },
        },
        d,
      ),
    ).toEqual({ kind: 'label-stored', findingId: 'finding-0001' });
    expect(labels.labels.get('finding-0001')).toMatchObject({ labelledAt: '2026-01-01T00:00:00Z' });
    await expect(processOrganizationTrainingEvent({ Records: [] }, d)).rejects.toThrow(
      /unexpected event \(keys: Records\)/,
    );
  });
});

it('the query refuses parameters Athena would choke on', () => {
  const base = {
    table: TABLE,
    start: new Date('2024-01-01'),
    end: new Date('2024-01-02'),
    windowMinutes: 60,
  };
  expect(() => windowFeaturesQuery({ ...base, table: 'x; DROP TABLE y' })).toThrow(/database.table/);
  expect(() => windowFeaturesQuery({ ...base, windowMinutes: 0 })).toThrow(/windowMinutes/);
  expect(() => windowFeaturesQuery({ ...base, end: base.start })).toThrow(/start before end/);
  expect(() => windowFeaturesQuery({ ...base, accounts: ["1' OR '1'='1"] })).toThrow(/12-digit/);
  expect(
    windowFeaturesQuery({
      ...base,
      excluded: [{ principalKey: "o'brien", start: base.start, end: base.end }],
    }),
  ).toContain("('o''brien', CAST(1704067200000 AS BIGINT)");
});
