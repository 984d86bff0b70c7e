import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  logFileRecords,
  logFileText,
  type ReadProblem,
  UnreadableLogFileError,
} from '../../layers/cloudtrail/reader';
import { type CloudTrailRecord, parseEventTime } from '../../layers/cloudtrail/record';
import { MemorySink } from '../../layers/findings/publish';
import { S3LogObjects, S3TrailHistory } from '../../layers/scoring/aws';
import { processScoringBatch } from '../../layers/scoring/events';
import { MemoryLogObjects, MemoryWindowStore } from '../../layers/scoring/memory';
import { scoreLogObject } from '../../layers/scoring/service';
import { scenario } from './scenario';

/**
 * Bad input to the scorer: one bad record costs only itself (skipped, counted, named
 * with the file and its index); a file that cannot be read at all is named, counted
 * and fails its message, so SQS retries it and then keeps it in the dead-letter
 * queue. It is never scored in part nor taken as done.
 */

const KEY =
  'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/13/111122223333_CloudTrail_eu-west-1_x.json.gz';
const SOURCE = `s3://trail/${KEY}`;

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const record = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventVersion: '1.09',
  userIdentity: {
    type: 'IAMUser',
    principalId: 'AIDAQ3EGWSXRN4EXAMPLE',
    arn: 'arn:aws:iam::111122223333:user/alice',
    accountId: '111122223333',
    accessKeyId: 'AKIAQ3EGWSXREXAMPLE1',
    userName: 'alice',
  },
  eventTime: '2024-05-13T21:10:00Z',
  eventSource: 'secretsmanager.amazonaws.com',
  eventName: 'ListSecrets',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '198.51.100.7',
  userAgent: 'aws-cli/2.15.0',
  requestParameters: null,
  responseElements: null,
  eventID: 'b1c2d3e4-0000-4000-8000-000000000001',
  readOnly: true,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '111122223333',
  ...overrides,
});

/** Bytes that are neither gzip nor JSON (a fixed sequence, so the test is the same every run). */
function randomBytes(length = 512): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0x93; // not '{', not gzip's 0x1f 0x8b
  return bytes;
}

function truncatedGzip(): Uint8Array {
  const whole = gzipSync(JSON.stringify({ Records: [record(), record()] }));
  return whole.subarray(0, Math.floor(whole.length / 2));
}

const UNREADABLE: [string, string | Uint8Array, RegExp][] = [
  ['random bytes', randomBytes(), /not JSON/],
  ['a truncated gzip', truncatedGzip(), /cannot be decompressed/],
  ['JSON without Records', JSON.stringify({ Events: [record()] }), /no Records field/],
  ['Records not an array', JSON.stringify({ Records: { 0: record() } }), /Records is an object/],
  ['Records a string', JSON.stringify({ Records: 'none' }), /Records is a string/],
  ['a JSON array', JSON.stringify([record()]), /got an array/],
  ['an empty file', '', /not JSON/],
];

function readLogFile(content: string | Uint8Array, onProblem: (problem: ReadProblem) => void = () => {}) {
  const text = typeof content === 'string' ? content : logFileText(content, SOURCE);
  return logFileRecords(text, SOURCE, onProblem);
}

describe('event times', () => {
  it.each([
    ['+275760-09-13T00:00:00Z', 'the last date JavaScript can hold'],
    ['+010000-01-01T00:00:00Z', 'a five-digit year'],
    ['1969-12-31T23:59:59Z', 'before 1970'],
    ['yesterday', 'not a date'],
    ['', 'empty'],
  ])('%s (%s) is no event time', (text) => {
    expect(parseEventTime(text)).toBeUndefined();
  });

  it('accepts the range ends', () => {
    expect(parseEventTime('1970-01-01T00:00:00Z')).toBe(0);
    expect(parseEventTime('9999-12-31T23:59:59Z')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59));
  });
});

describe('a log file: one bad record costs only itself', () => {
  it.each([
    ['an out-of-range eventTime', { eventTime: '+275760-09-13T00:00:00Z' }, /eventTime: not a date/],
    ['an unparseable eventTime', { eventTime: 'not-a-time' }, /eventTime: not a date/],
    ['no eventName', { eventName: undefined }, /eventName/],
  ])('a record with %s is skipped and named by its index; the others are read', (_label, bad, reason) => {
    const problems: ReadProblem[] = [];
    const file = JSON.stringify({
      Records: [record(), record(bad), record({ eventName: 'GetSecretValue' })],
    });
    const records = readLogFile(file, (problem) => problems.push(problem));
    expect(records.map((r) => r.eventName)).toEqual(['ListSecrets', 'GetSecretValue']);
    expect(problems).toEqual([
      { source: SOURCE, location: 'Records[1]', recordIndex: 1, message: expect.stringMatching(reason) },
    ]);
  });

  it('a record that is not an object is skipped the same way', () => {
    const problems: ReadProblem[] = [];
    const records = readLogFile(JSON.stringify({ Records: [7, record()] }), (p) => problems.push(p));
    expect(records).toHaveLength(1);
    expect(problems[0]).toMatchObject({ recordIndex: 0, message: /got a number/ });
  });

  it('reads a gzipped log file as CloudTrail delivers it', () => {
    expect(readLogFile(gzipSync(JSON.stringify({ Records: [record()] })))).toHaveLength(1);
  });
});

describe('a log file that cannot be read at all is one error, naming the file', () => {
  it.each(UNREADABLE)('%s', (_label, content, reason) => {
    let thrown: unknown;
    try {
      readLogFile(content);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnreadableLogFileError);
    expect((thrown as UnreadableLogFileError).source).toBe(SOURCE);
    expect((thrown as UnreadableLogFileError).reason).toMatch(reason);
    expect((thrown as Error).message).toContain(SOURCE);
  });
});

describe('S3LogObjects', () => {
  it('a truncated gzip is an unreadable file, not an S3 error', async () => {
    const bytes = truncatedGzip();
    s3.on(GetObjectCommand).resolves({
      Body: { transformToByteArray: async () => bytes } as never,
    });
    const reading = new S3LogObjects(new S3Client({})).getText({ bucket: 'trail', key: KEY });
    await expect(reading).rejects.toBeInstanceOf(UnreadableLogFileError);
    await expect(reading).rejects.toThrow(`${SOURCE}: cannot be decompressed`);
  });
});

describe('S3TrailHistory (training)', () => {
  it('one unreadable file among weeks of history is a reading problem, not a failed training', async () => {
    const day = 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/13/';
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/', Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'AWSLogs/111122223333/' }],
    });
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/111122223333/CloudTrail/', Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/' }],
    });
    s3.on(ListObjectsV2Command, { Prefix: day }).resolves({
      Contents: [{ Key: `${day}a.json.gz` }, { Key: `${day}b.json.gz` }],
    });
    const broken = truncatedGzip();
    const good = gzipSync(JSON.stringify({ Records: [record()] }));
    s3.on(GetObjectCommand, { Key: `${day}a.json.gz` }).resolves({
      Body: { transformToByteArray: async () => broken } as never,
    });
    s3.on(GetObjectCommand, { Key: `${day}b.json.gz` }).resolves({
      Body: { transformToByteArray: async () => new Uint8Array(good) } as never,
    });
    const records: CloudTrailRecord[] = [];
    const problems: ReadProblem[] = [];
    const result = await new S3TrailHistory(new S3Client({}), 'trail').read(
      { start: new Date('2024-05-13T00:00:00Z'), end: new Date('2024-05-13T23:00:00Z') },
      (r) => records.push(r),
      { onProblem: (p) => problems.push(p), shouldStop: () => false },
    );
    expect(result).toEqual({ truncated: false });
    expect(records).toHaveLength(1);
    expect(problems).toEqual([
      {
        source: `s3://trail/${day}a.json.gz`,
        location: 'file',
        message: expect.stringMatching(/decompressed/),
      },
    ]);
  });
});

describe('the scoring function with bad input', () => {
  const { model, attacks } = scenario();
  const alice = attacks.find((a) => a.as === 'alice')!;

  function setup() {
    const logs = new MemoryLogObjects();
    const windows = new MemoryWindowStore();
    const sink = new MemorySink();
    const counts = new Map<string, number>();
    const warnings: { message: string; details?: Record<string, unknown> }[] = [];
    const errors: { message: string; details?: Record<string, unknown> }[] = [];
    const deps = {
      logs,
      models: { current: async () => ({ model, version: 'v1' }) },
      windows,
      sink,
      now: () => Date.parse('2024-05-13T22:10:00Z'),
      log: {
        info: () => {},
        warn: (message: string, details?: Record<string, unknown>) => warnings.push({ message, details }),
        error: (message: string, details?: Record<string, unknown>) => errors.push({ message, details }),
      },
      count: (metric: string, value = 1) => counts.set(metric, (counts.get(metric) ?? 0) + value),
    };
    return { logs, windows, sink, counts, warnings, errors, deps };
  }

  const notification = (key: string) =>
    JSON.stringify({
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'trail' }, object: { key } } }],
    });

  it('a record with an out-of-range time is skipped, counted and named; the file is scored', async () => {
    const { logs, sink, counts, warnings, deps } = setup();
    const bad = { ...alice.records[0]!, eventTime: '+275760-09-13T00:00:00Z' } as CloudTrailRecord;
    const records = [...alice.records.slice(0, 3), bad, ...alice.records.slice(3)];
    logs.objects.set(`trail/${KEY}`, JSON.stringify({ Records: records }));

    const outcome = await scoreLogObject({ bucket: 'trail', key: KEY }, deps);

    expect(outcome).toMatchObject({ records: alice.records.length, skippedRecords: 1 });
    expect(counts.get('SkippedRecords')).toBe(1);
    expect(warnings).toEqual([
      {
        message: 'record skipped',
        details: { bucket: 'trail', key: KEY, recordIndex: 3, reason: expect.stringMatching(/eventTime/) },
      },
    ]);
    expect(sink.findings.some((f) => f.actor.arn.endsWith('user/alice'))).toBe(true);
  });

  it('past ten skipped records, the rest are named by index on one line', async () => {
    const { logs, warnings, deps } = setup();
    const bad = Array.from({ length: 12 }, () => record({ eventTime: 'soon' }));
    logs.objects.set(`trail/${KEY}`, JSON.stringify({ Records: [record(), ...bad] }));
    await scoreLogObject({ bucket: 'trail', key: KEY }, deps);
    expect(warnings).toHaveLength(11);
    expect(warnings[10]).toEqual({
      message: 'more records skipped',
      details: { bucket: 'trail', key: KEY, recordIndexes: [11, 12] },
    });
  });

  it.each(UNREADABLE)(
    'an unreadable file (%s) fails its message, is named and counted, and nothing of it is kept',
    async (_label, content, reason) => {
      const { logs, windows, sink, counts, errors, deps } = setup();
      logs.objects.set(`trail/${KEY}`, content);
      const result = await processScoringBatch(
        { Records: [{ messageId: 'm1', body: notification(KEY) }] },
        deps,
      );
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
      expect(counts.get('UnreadableLogFiles')).toBe(1);
      expect(errors).toEqual([
        {
          message: expect.stringMatching(/log file unreadable.*retried.*dead-letter queue/),
          details: { messageId: 'm1', bucket: 'trail', key: KEY, reason: expect.stringMatching(reason) },
        },
      ]);
      expect(windows.items.size).toBe(0);
      expect(sink.findings).toEqual([]);
    },
  );

  it('a file unreadable on the first delivery is scored in full when the retry can read it', async () => {
    const { logs, windows, counts, deps } = setup();
    logs.objects.set(`trail/${KEY}`, truncatedGzip());
    const event = { Records: [{ messageId: 'm1', body: notification(KEY) }] };
    expect((await processScoringBatch(event, deps)).batchItemFailures).toHaveLength(1);

    logs.objects.set(`trail/${KEY}`, gzipSync(JSON.stringify({ Records: alice.records })));
    expect(await processScoringBatch(event, deps)).toEqual({ batchItemFailures: [] });
    const calls = [...windows.items.values()].reduce((total, item) => total + item.window.calls, 0);
    expect(calls).toBe(alice.records.length);
    expect(counts.get('RecordsScored')).toBe(alice.records.length);
  });

  it('an unreadable file fails only its own message in a batch', async () => {
    const { logs, counts, deps } = setup();
    const goodKey = KEY.replace('_x.json.gz', '_y.json.gz');
    logs.objects.set(`trail/${KEY}`, randomBytes());
    logs.objects.set(`trail/${goodKey}`, JSON.stringify({ Records: alice.records }));
    const result = await processScoringBatch(
      {
        Records: [
          { messageId: 'bad', body: notification(KEY) },
          { messageId: 'good', body: notification(goodKey) },
        ],
      },
      deps,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(counts.get('RecordsScored')).toBe(alice.records.length);
  });

  it('Insights files are not log files: skipped without reading', async () => {
    const { deps } = setup();
    const outcome = await scoreLogObject(
      { bucket: 'trail', key: 'AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2024/05/13/x.json.gz' },
      deps,
    );
    expect(outcome.skipped).toMatch(/Insights/);
  });
});
