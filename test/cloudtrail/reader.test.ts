import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countReadProblems,
  describeReadProblem,
  logFileRecords,
  MAX_RECORD_DEPTH,
  problemKind,
  type ReadProblem,
  readCloudTrail,
  recordsFromText,
  summarizeReadProblems,
} from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';

const DATA = join(__dirname, '..', 'data', 'cloudtrail');
const FIXTURES = join(__dirname, 'fixtures');

async function readAll(paths: string[]) {
  const problems: ReadProblem[] = [];
  const records: CloudTrailRecord[] = [];
  for await (const record of readCloudTrail(paths, { onProblem: (p) => problems.push(p) }))
    records.push(record);
  return { records, problems };
}

function record(overrides: Record<string, unknown> = {}) {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/ci', accessKeyId: 'AKIAEXAMPLE1' },
    eventTime: '2024-05-01T10:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'ListUsers',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    ...overrides,
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reader-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('the copied real data', () => {
  it('every file of test/data/cloudtrail reads with zero problems', async () => {
    const { records, problems } = await readAll([DATA]);
    expect(problems).toEqual([]);
    // 310 Stratus detonation records, 441 Panther test records, 10 EventBridge envelopes.
    expect(records).toHaveLength(761);
  });

  it('reads each subfolder as its own shape', async () => {
    expect((await readAll([join(DATA, 'stratus-detonations')])).records).toHaveLength(310);
    expect((await readAll([join(DATA, 'panther-tests')])).records).toHaveLength(441);
    const envelopes = await readAll([join(DATA, 'eventbridge-envelopes')]);
    expect(envelopes.records).toHaveLength(10);
    // The envelope is unwrapped: what comes out is the record, not `detail`'s parent.
    expect(envelopes.records.every((r) => typeof r.eventName === 'string' && !('detail' in r))).toBe(true);
  });

  it("strips Panther's p_ fields", async () => {
    const { records } = await readAll([join(DATA, 'panther-tests')]);
    expect(records.some((r) => Object.keys(r).some((key) => key.startsWith('p_')))).toBe(false);
  });

  it('reports each of the 96 unreadable Panther fixtures, naming what is missing', async () => {
    const { records, problems } = await readAll([join(FIXTURES, 'panther-unreadable.jsonl')]);
    expect(records).toHaveLength(0);
    expect(problems).toHaveLength(96);
    expect(problems[0]).toMatchObject({
      source: join(FIXTURES, 'panther-unreadable.jsonl'),
      location: 'line 1 event',
    });
    expect(problems[0]!.message).toMatch(/eventTime/);
  });
});

describe('shapes', () => {
  it('an S3 log file, gzipped, found by a recursive directory walk in sorted order', async () => {
    const logDir = join('walk', 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1');
    write(join(logDir, 'b.json.gz'), gzipSync(JSON.stringify({ Records: [record({ eventName: 'B1' })] })));
    write(
      join(logDir, 'a.json.gz'),
      gzipSync(JSON.stringify({ Records: [record({ eventName: 'A1' }), record({ eventName: 'A2' })] })),
    );
    write(join('walk', 'notes.txt'), 'not data');
    write(join('walk', 'export.parquet'), 'PAR1');
    // A digest file lists log files, not records: nothing to read, nothing lost.
    write(
      join('walk', 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'd.json.gz'),
      gzipSync(JSON.stringify({ digestStartTime: '2024-05-01T00:00:00Z', logFiles: [] })),
    );
    const { records, problems } = await readAll([join(dir, 'walk')]);
    // Data in a format not read is named, never passed over silently; notes are not data.
    expect(problems).toEqual([
      {
        source: join(dir, 'walk', 'export.parquet'),
        location: 'file',
        message: 'skipped: not a .json, .jsonl, .ndjson or .gz file (name it to read it anyway)',
        skipped: true,
      },
    ]);
    expect(records.map((r) => r.eventName)).toEqual(['A1', 'A2', 'B1']);
  });

  it('a pretty-printed JSON array, JSON lines of records, envelopes and log files', async () => {
    const array = write(
      'array.json',
      JSON.stringify([record({ eventName: 'X' }), record({ eventName: 'Y' })], null, 2),
    );
    const lines = write(
      'lines.jsonl',
      [
        JSON.stringify(record({ eventName: 'L1' })),
        JSON.stringify({
          'detail-type': 'AWS API Call via CloudTrail',
          source: 'aws.iam',
          detail: record({ eventName: 'L2' }),
        }),
        '',
        JSON.stringify({ Records: [record({ eventName: 'L3' })] }),
      ].join('\n'),
    );
    const { records, problems } = await readAll([array, lines]);
    expect(problems).toEqual([]);
    expect(records.map((r) => r.eventName)).toEqual(['X', 'Y', 'L1', 'L2', 'L3']);
  });

  it('LookupEvents output, whose records are JSON strings', () => {
    const text = JSON.stringify({
      Events: [
        {
          EventId: '1',
          EventName: 'ListUsers',
          CloudTrailEvent: JSON.stringify(record({ eventName: 'ListUsers' })),
        },
        {
          EventId: '2',
          EventName: 'GetUser',
          CloudTrailEvent: JSON.stringify(record({ eventName: 'GetUser' })),
        },
      ],
    });
    expect(recordsFromText(text, 'lookup.json').map((r) => r.eventName)).toEqual(['ListUsers', 'GetUser']);
  });

  it('a single EventBridge envelope and an array of them', () => {
    const envelope = {
      id: 'e1',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.s3',
      detail: record(),
    };
    expect(recordsFromText(JSON.stringify(envelope), 'one.json')).toHaveLength(1);
    expect(recordsFromText(JSON.stringify([envelope, envelope]), 'two.json')).toHaveLength(2);
  });

  it("brings other tools' spellings back to CloudTrail's (booleans as strings, nulls)", () => {
    const [read] = recordsFromText(
      JSON.stringify(
        record({
          readOnly: 'True',
          sessionCredentialFromConsole: true,
          resources: null,
          userIdentity: { type: 'Root', invokedBy: null },
        }),
      ),
      'spelled.json',
    );
    expect(read).toMatchObject({
      readOnly: true,
      sessionCredentialFromConsole: 'true',
      userIdentity: { type: 'Root' },
    });
    expect(read).not.toHaveProperty('resources');
  });
});

describe('bad input is reported, never dropped silently', () => {
  it('a truncated JSON document is one problem naming the file', async () => {
    const full = JSON.stringify({ Records: [record(), record()] }, null, 2);
    const path = write('truncated.json', full.slice(0, full.length - 40));
    const { records, problems } = await readAll([path]);
    expect(records).toEqual([]);
    expect(problems).toEqual([
      { source: path, location: 'file', message: expect.stringMatching(/not valid JSON/) },
    ]);
  });

  it('a truncated JSON lines file keeps the good lines and names the bad one', async () => {
    const good = JSON.stringify(record());
    const path = write('truncated.jsonl', `${good}\n${good}\n${good.slice(0, 30)}`);
    const { records, problems } = await readAll([path]);
    expect(records).toHaveLength(2);
    expect(problems).toEqual([
      { source: path, location: 'line 3', recordIndex: 2, message: expect.stringMatching(/not valid JSON/) },
    ]);
  });

  it('an object that is not a record, and a record missing a field, are named by index', () => {
    const problems: ReadProblem[] = [];
    const text = JSON.stringify({
      Records: [record(), { hello: 'world' }, record({ eventName: undefined }), 42],
    });
    const records = recordsFromText(text, 'mixed.json', (p) => problems.push(p));
    expect(records).toHaveLength(1);
    expect(problems.map((p) => p.location)).toEqual(['Records[1]', 'Records[2]', 'Records[3]']);
    expect(problems[1]!.message).toMatch(/eventName/);
    expect(problems[2]!.message).toMatch(/got a number/);
  });

  it('a record whose eventTime is not a date is a problem', () => {
    const problems: ReadProblem[] = [];
    expect(
      recordsFromText(JSON.stringify(record({ eventTime: 'redacted' })), 'r.json', (p) => problems.push(p)),
    ).toEqual([]);
    expect(problems[0]?.message).toMatch(/eventTime: not a date/);
  });

  it('a bad gzip file is a problem, and the next file is still read', async () => {
    const goodGzip = gzipSync(JSON.stringify({ Records: [record()] }));
    const bad = write(
      'bad.json.gz',
      Buffer.concat([goodGzip.subarray(0, 12), Buffer.from('garbage, not deflate')]),
    );
    const after = write('after.json', JSON.stringify(record({ eventName: 'After' })));
    const { records, problems } = await readAll([bad, after]);
    expect(records.map((r) => r.eventName)).toEqual(['After']);
    expect(problems).toEqual([
      { source: bad, location: 'gzip', message: expect.stringMatching(/cannot read/) },
    ]);
  });

  it('an empty file is a problem (an empty log file is worth knowing about)', async () => {
    const path = write('empty.json', '');
    const blank = write('blank.jsonl', '\n  \n');
    const { records, problems } = await readAll([path, blank]);
    expect(records).toEqual([]);
    expect(problems.map((p) => [p.source, p.message])).toEqual([
      [path, 'empty: no CloudTrail records'],
      [blank, 'empty: no CloudTrail records'],
    ]);
    expect(recordsFromText('', 'x', () => {})).toEqual([]);
  });

  it('a LookupEvents event whose CloudTrailEvent is not JSON', () => {
    const problems: ReadProblem[] = [];
    recordsFromText(JSON.stringify({ Events: [{ CloudTrailEvent: '{"eventName":' }] }), 'lookup.json', (p) =>
      problems.push(p),
    );
    expect(problems).toEqual([
      {
        source: 'lookup.json',
        location: 'Events[0]',
        recordIndex: 0,
        message: expect.stringMatching(/CloudTrailEvent is not valid JSON/),
      },
    ]);
  });

  it('a path that does not exist is an error naming it, before anything is read', async () => {
    await expect(readAll([join(dir, 'nope.json')])).rejects.toThrow(/nope\.json: no such file/);
  });
});

describe('streaming', () => {
  it('yields the first records of a large JSON lines file before the file is read to its end', async () => {
    const line = JSON.stringify(record());
    const path = write('big.jsonl', `${Array.from({ length: 12_000 }, () => line).join('\n')}\n`);
    const size = readFileSync(path).length;
    let bytesAtFirstRecord = -1;
    let last = { bytesRead: 0, bytesTotal: 0, records: 0 };
    for await (const _ of readCloudTrail([path], { onProgress: (p) => (last = p) })) {
      if (bytesAtFirstRecord < 0) bytesAtFirstRecord = last.bytesRead;
    }
    expect(size).toBeGreaterThan(2 << 20);
    expect(bytesAtFirstRecord).toBeGreaterThan(0);
    expect(bytesAtFirstRecord).toBeLessThan(size);
    expect(last).toEqual({ bytesRead: size, bytesTotal: size, records: 12_000 });
  });
});

describe('exports from other tools (fixtures: test/cloudtrail/fixtures/README.md)', () => {
  it('Logstash / OTRF Security-Datasets: the time in @timestamp, no eventTime', async () => {
    const path = join(FIXTURES, 'otrf-ec2-proxy-s3-exfiltration.jsonl');
    const { records, problems } = await readAll([path]);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(8);
    const first = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!);
    expect(first).not.toHaveProperty('eventTime');
    expect(records[0]).toMatchObject({ eventTime: first['@timestamp'], eventName: 'DescribeInstanceTypes' });
  });

  it('keeps eventTime where a record has both (then @timestamp is often the ingestion time)', () => {
    const [read] = recordsFromText(
      JSON.stringify(record({ '@timestamp': '2024-05-01T10:03:00.000Z' })),
      'both.json',
    );
    expect(read?.eventTime).toBe('2024-05-01T10:00:00Z');
  });

  it("Datadog: source address and user agent under the pipeline's network.client.ip and http.useragent", async () => {
    const { records, problems } = await readAll([join(FIXTURES, 'datadog-pipeline.jsonl')]);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ sourceIPAddress: '54.162.201.161', userAgent: 'Datadog' });
  });

  it('Datadog: the same attributes as dotted keys', () => {
    // record() has no userAgent; its sourceIPAddress is left out here.
    const { sourceIPAddress: _ip, ...rest } = record();
    const [read] = recordsFromText(
      JSON.stringify({ ...rest, 'network.client.ip': '203.0.113.9', 'http.useragent': 'Boto3/1.34.0' }),
      'dotted.json',
    );
    expect(read).toMatchObject({ sourceIPAddress: '203.0.113.9', userAgent: 'Boto3/1.34.0' });
  });

  it("the Datadog Forwarder's events from a CloudTrail log group: the record as JSON text in message", async () => {
    const { records, problems } = await readAll([join(FIXTURES, 'datadog-forwarder-cloudwatch.jsonl')]);
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.eventName, r.sourceIPAddress])).toEqual([
      ['DescribeLogStreams', '54.161.67.200'],
      ['DescribeEventAggregates', '68.194.150.7'],
    ]);
  });

  it('a CloudWatch Logs subscription payload (logEvents) and FilterLogEvents output (events)', async () => {
    const path = join(FIXTURES, 'cloudwatch-subscription-cloudtrail.json');
    const { records, problems } = await readAll([path]);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(4);
    const { logEvents } = JSON.parse(readFileSync(path, 'utf8'));
    const filtered = recordsFromText(JSON.stringify({ events: logEvents }), 'filter-log-events.json');
    expect(filtered.map((r) => r.eventID)).toEqual(records.map((r) => r.eventID));
  });

  it('a log event whose message is no record is a problem of its own', () => {
    const problems: ReadProblem[] = [];
    const text = JSON.stringify({
      logEvents: [{ message: 'START RequestId: 1' }, { message: JSON.stringify(record()) }],
    });
    expect(recordsFromText(text, 'mixed.json', (p) => problems.push(p))).toHaveLength(1);
    expect(problems).toEqual([
      {
        source: 'mixed.json',
        location: 'logEvents[0]',
        recordIndex: 0,
        message: expect.stringMatching(/message is not valid JSON/),
      },
    ]);
  });
});

describe('CSV is named as skipped, never passed over silently', () => {
  const csvDir = join(FIXTURES, 'otrf-s3-honeybucket');
  const csv = join(csvDir, 'AWS_S3_HoneyBucketLogs.csv');

  it('a directory holding only a CSV', async () => {
    const { records, problems } = await readAll([csvDir]);
    expect(records).toEqual([]);
    expect(problems).toEqual([
      {
        source: csv,
        location: 'file',
        message: expect.stringMatching(/^skipped: CSV is not read/),
        skipped: true,
      },
    ]);
    expect(problems[0]!.message).toMatch(/Export the records as JSON/);
    expect(countReadProblems(problems)).toEqual({ records: 0, files: 0, skipped: 1 });
  });

  it('a CSV named on the command line, gzipped or not', async () => {
    const gzipped = write('events.csv.gz', gzipSync(readFileSync(csv)));
    const { problems } = await readAll([csv, gzipped]);
    expect(problems.map((p) => [p.source, problemKind(p)])).toEqual([
      [csv, 'skipped'],
      [gzipped, 'skipped'],
    ]);
  });
});

describe('unreadable is counted per record, with the file and index', () => {
  it('each of the 96 unreadable Panther lines is one record, indexed in its file', async () => {
    const { problems } = await readAll([join(FIXTURES, 'panther-unreadable.jsonl')]);
    expect(problems.map((p) => p.recordIndex)).toEqual(Array.from({ length: 96 }, (_, i) => i));
    expect(countReadProblems(problems)).toEqual({ records: 96, files: 0, skipped: 0 });
    expect(summarizeReadProblems(problems)).toBe('96 unreadable record(s)');
  });

  it('the index counts good records too: the third record of a log file is record 2', () => {
    const problems: ReadProblem[] = [];
    recordsFromText(JSON.stringify({ Records: [record(), record(), { eventName: 'x' }] }), 'f.json', (p) =>
      problems.push(p),
    );
    expect(problems).toMatchObject([{ location: 'Records[2]', recordIndex: 2 }]);
    expect(describeReadProblem(problems[0]!)).toMatch(
      /^f\.json Records\[2\] \(record 2\): not a CloudTrail record/,
    );
  });

  it('JSON lines whose first line is cut: that line costs one record, the rest are read', async () => {
    const lines = readFileSync(join(FIXTURES, 'otrf-ec2-proxy-s3-exfiltration.jsonl'), 'utf8').split('\n');
    const cut = [lines[0]!.slice(0, 200), ...lines.slice(1)].join('\n');
    const path = write('cut-first-line.jsonl', cut);
    const expected = [
      { source: path, location: 'line 1', recordIndex: 0, message: expect.stringMatching(/not valid JSON/) },
    ];
    const streamed = await readAll([path]);
    expect(streamed.records).toHaveLength(7);
    expect(streamed.problems).toEqual(expected);
    const problems: ReadProblem[] = [];
    expect(recordsFromText(cut, path, (p) => problems.push(p))).toHaveLength(7);
    expect(problems).toEqual(expected);
  });

  it('a byte order mark (Windows tools write one) does not cost the first record', async () => {
    const path = write('bom.jsonl', `\uFEFF${JSON.stringify(record())}\n${JSON.stringify(record())}\n`);
    const { records, problems } = await readAll([path]);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(2);
    expect(recordsFromText(`\uFEFF${JSON.stringify({ Records: [record()] })}`, 'bom.json')).toHaveLength(1);
  });

  it('a file lost whole (broken gzip, truncated document) is counted as a file, not as records', async () => {
    const path = write('half.json', JSON.stringify({ Records: [record(), record()] }, null, 2).slice(0, 100));
    const { problems } = await readAll([path]);
    expect(countReadProblems(problems)).toEqual({ records: 0, files: 1, skipped: 0 });
    expect(summarizeReadProblems(problems)).toBe('1 unreadable file(s)');
  });
});

describe('JSON nested without end is a problem naming the file, not a stack overflow', () => {
  const DEPTH = 100_000;
  const deepObject = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

  it('a file of arrays 100k deep', async () => {
    const deep = write('deep-arrays.json', `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`);
    const after = write('after-deep.json', JSON.stringify(record({ eventName: 'After' })));
    const { records, problems } = await readAll([deep, after]);
    expect(records.map((r) => r.eventName)).toEqual(['After']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ source: deep, recordIndex: 0 });
    expect(problems[0]!.message).toMatch(/nested more than 8 wrappers deep/);
  });

  it('a record whose request parameters nest 100k deep, in JSON lines', async () => {
    const deep = JSON.stringify(record()).replace(/}$/, `,"requestParameters":{"a":${deepObject}}}`);
    const path = write('deep-record.jsonl', `${deep}\n${JSON.stringify(record({ eventName: 'Fine' }))}\n`);
    const { records, problems } = await readAll([path]);
    expect(records.map((r) => r.eventName)).toEqual(['Fine']);
    expect(problems).toEqual([
      {
        source: path,
        location: 'line 1',
        recordIndex: 0,
        message: `not a CloudTrail record: JSON nested more than ${MAX_RECORD_DEPTH} levels deep`,
      },
    ]);
    // What was read can be written out again (JSON.stringify recurses).
    expect(() => JSON.stringify(records)).not.toThrow();
  });

  it('in a log file read by the scoring function, the deep record costs only itself', () => {
    const deep = JSON.parse(JSON.stringify(record()));
    const text = `{"Records":[${JSON.stringify(deep).replace(/}$/, `,"responseElements":${deepObject}}`)},${JSON.stringify(record())}]}`;
    const problems: ReadProblem[] = [];
    expect(logFileRecords(text, 'deep.json', (p) => problems.push(p))).toHaveLength(1);
    expect(problems).toMatchObject([{ source: 'deep.json', location: 'Records[0]', recordIndex: 0 }]);
  });

  it('a record nested as deep as the limit allows is read', () => {
    // The record is level 1: requestParameters and the objects under it take the other MAX_RECORD_DEPTH - 1.
    const levels = MAX_RECORD_DEPTH - 1;
    const nested = `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const text = JSON.stringify(record()).replace(/}$/, `,"requestParameters":${nested}}`);
    expect(recordsFromText(text, 'limit.json')).toHaveLength(1);
    const over = JSON.stringify(record()).replace(/}$/, `,"requestParameters":{"a":${nested}}}`);
    expect(recordsFromText(over, 'over.json')).toHaveLength(0);
  });
});
