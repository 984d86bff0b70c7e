import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReadProblem, readCloudTrail, recordsFromText } from '../../layers/cloudtrail/reader';
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
    // A digest file lists log files, not records: nothing to read, nothing lost.
    write(
      join('walk', 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'd.json.gz'),
      gzipSync(JSON.stringify({ digestStartTime: '2024-05-01T00:00:00Z', logFiles: [] })),
    );
    const { records, problems } = await readAll([join(dir, 'walk')]);
    expect(problems).toEqual([]);
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
      { source: path, location: 'line 3', message: expect.stringMatching(/not valid JSON/) },
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
