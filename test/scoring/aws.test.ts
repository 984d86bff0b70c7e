import { gzipSync } from 'node:zlib';
import {
  CloudTrailClient,
  LookupEventsCommand,
  AccessDeniedException as TrailAccessDenied,
} from '@aws-sdk/client-cloudtrail';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  AccessDenied,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { windowsOf } from '../../layers/features';
import {
  DynamoWindowStore,
  LookupEventsHistory,
  MODEL_KEYS,
  S3LabelStore,
  S3LogObjects,
  S3ModelStore,
  S3TrailHistory,
} from '../../layers/scoring/aws';

const s3 = mockClient(S3Client);
const dynamo = mockClient(DynamoDBDocumentClient);
const cloudtrail = mockClient(CloudTrailClient);

// The SDK's stream body, as far as the adapters use it.
const body = (content: string | Buffer) => {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return {
    transformToString: async () => bytes.toString('utf8'),
    transformToByteArray: async () => new Uint8Array(bytes),
  } as never;
};

function record(eventTime: string, eventName = 'ListBuckets'): CloudTrailRecord {
  return { eventTime, eventSource: 's3.amazonaws.com', eventName, awsRegion: 'eu-west-1' };
}

beforeEach(() => {
  s3.reset();
  dynamo.reset();
  cloudtrail.reset();
});

describe('S3ModelStore', () => {
  const store = new S3ModelStore(new S3Client({}), 'artifacts');

  it('reads the model and its version, and a missing one as undefined', async () => {
    s3.on(GetObjectCommand, { Key: MODEL_KEYS.model }).resolves({ Body: body('{"m":1}'), VersionId: 'v7' });
    s3.on(HeadObjectCommand)
      .resolvesOnce({ VersionId: 'v7' })
      .rejectsOnce(new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } }));
    expect(await store.getModel()).toEqual({ text: '{"m":1}', version: 'v7' });
    expect(await store.modelVersion()).toBe('v7');
    expect(await store.modelVersion()).toBeUndefined();
    s3.on(GetObjectCommand, { Key: MODEL_KEYS.status }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
    );
    expect(await store.getStatus()).toBeUndefined();
  });

  it('writes JSON, and names the object when S3 refuses', async () => {
    s3.on(PutObjectCommand)
      .resolvesOnce({})
      .rejectsOnce(new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } }));
    await store.putModel('{}');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      Bucket: 'artifacts',
      Key: 'models/activity/current.json',
      ContentType: 'application/json',
    });
    await expect(
      store.putStatus({ status: 'trained', at: 't', records: 1, windows: 1, message: '' }),
    ).rejects.toThrow('PutObject s3://artifacts/models/activity/status.json: AccessDenied');
  });
});

describe('S3LabelStore', () => {
  it('lists the labels and reports an unreadable one by key', async () => {
    const problems: string[] = [];
    const store = new S3LabelStore(new S3Client({}), 'artifacts', (key, message) =>
      problems.push(`${key}: ${message}`),
    );
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'feedback/a.json' }, { Key: 'feedback/b.json' }],
    });
    s3.on(GetObjectCommand, { Key: 'feedback/a.json' }).resolves({
      Body: body(JSON.stringify({ findingId: 'abcdefgh12', label: 'true-positive', labelledAt: 't' })),
    });
    s3.on(GetObjectCommand, { Key: 'feedback/b.json' }).resolves({ Body: body('{"findingId":1}') });
    expect(await store.list()).toEqual([
      { findingId: 'abcdefgh12', label: 'true-positive', labelledAt: 't' },
    ]);
    expect(problems).toEqual([expect.stringMatching(/^feedback\/b\.json: findingId/)]);
    s3.on(PutObjectCommand).resolves({});
    await store.put({ findingId: 'abc/def..12', label: 'false-positive', labelledAt: 't' });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe('feedback/abc_def__12.json');
  });
});

describe('S3LogObjects and S3TrailHistory', () => {
  it('gunzips a delivered log file', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(gzipSync('{"Records":[]}')) });
    expect(await new S3LogObjects(new S3Client({})).getText({ bucket: 'b', key: 'k.json.gz' })).toBe(
      '{"Records":[]}',
    );
  });

  it('walks accounts (organization trails too), regions and days, keeping records in the range', async () => {
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/', Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'AWSLogs/111122223333/' }, { Prefix: 'AWSLogs/o-abc123/' }],
    });
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/o-abc123/', Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'AWSLogs/o-abc123/444455556666/' }],
    });
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/111122223333/CloudTrail/', Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/' }],
    });
    s3.on(ListObjectsV2Command, {
      Prefix: 'AWSLogs/o-abc123/444455556666/CloudTrail/',
      Delimiter: '/',
    }).resolves({});
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/' }).resolves(
      {
        Contents: [{ Key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/x.json.gz' }],
        IsTruncated: true,
        NextContinuationToken: 'more',
      },
    );
    s3.on(ListObjectsV2Command, {
      Prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/',
      ContinuationToken: 'more',
    }).resolves({ Contents: [{ Key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/y.json.gz' }] });
    s3.on(ListObjectsV2Command, { Prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/07/' }).resolves(
      {},
    );
    s3.on(GetObjectCommand, {
      Key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/x.json.gz',
    }).resolves({
      Body: body(
        gzipSync(
          JSON.stringify({ Records: [record('2024-05-06T10:00:00Z'), record('2024-05-05T23:59:00Z')] }),
        ),
      ),
    });
    s3.on(GetObjectCommand, {
      Key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/y.json.gz',
    }).resolves({
      Body: body(
        gzipSync(JSON.stringify({ Records: [record('2024-05-06T11:00:00Z', 'GetObject'), { bad: true }] })),
      ),
    });
    const history = new S3TrailHistory(new S3Client({}), 'trail');
    const records: CloudTrailRecord[] = [];
    const problems: string[] = [];
    const result = await history.read(
      { start: new Date('2024-05-06T00:00:00Z'), end: new Date('2024-05-07T12:00:00Z') },
      (r) => records.push(r),
      { onProblem: (p) => problems.push(`${p.source} ${p.location}`), shouldStop: () => false },
    );
    expect(result).toEqual({ truncated: false });
    expect(records.map((r) => r.eventName)).toEqual(['ListBuckets', 'GetObject']);
    expect(problems).toEqual([
      's3://trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/06/y.json.gz Records[1]',
    ]);
    expect(history.description).toBe('s3://trail/AWSLogs/');
  });
});

describe('LookupEventsHistory', () => {
  it('pages through each region and stops when the time budget is spent', async () => {
    const event = (r: CloudTrailRecord) => ({ CloudTrailEvent: JSON.stringify(r) });
    cloudtrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [event(record('2024-05-06T10:00:00Z'))], NextToken: 'n1' })
      .resolvesOnce({ Events: [event(record('2024-05-06T11:00:00Z'))] });
    const history = new LookupEventsHistory(new Map([['eu-west-1', new CloudTrailClient({})]]));
    const records: CloudTrailRecord[] = [];
    const range = { start: new Date('2024-05-06T00:00:00Z'), end: new Date('2024-05-07T00:00:00Z') };
    expect(
      await history.read(range, (r) => records.push(r), { onProblem: () => {}, shouldStop: () => false }),
    ).toEqual({
      truncated: false,
    });
    expect(records).toHaveLength(2);
    expect(cloudtrail.commandCalls(LookupEventsCommand)[1]!.args[0].input).toMatchObject({
      NextToken: 'n1',
      MaxResults: 50,
    });
    let calls = 0;
    cloudtrail.on(LookupEventsCommand).resolves({ Events: [], NextToken: 'again' });
    expect(
      await history.read(range, () => {}, { onProblem: () => {}, shouldStop: () => ++calls > 3 }),
    ).toEqual({ truncated: true });
  });

  it('names the region when LookupEvents fails', async () => {
    cloudtrail
      .on(LookupEventsCommand)
      .rejects(new TrailAccessDenied({ message: 'not authorized', $metadata: { httpStatusCode: 400 } }));
    const history = new LookupEventsHistory(new Map([['us-east-1', new CloudTrailClient({})]]));
    await expect(
      history.read({ start: new Date(0), end: new Date(1) }, () => {}, {
        onProblem: () => {},
        shouldStop: () => false,
      }),
    ).rejects.toThrow('LookupEvents in us-east-1: AccessDeniedException');
  });
});

describe('DynamoWindowStore', () => {
  const store = new DynamoWindowStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'state');
  const [window] = windowsOf(
    [
      {
        ...record('2024-05-06T10:00:00Z'),
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/a', accessKeyId: 'AKIAA' },
      },
    ],
    60,
  );

  it('writes new windows only if absent, and later versions only over the version read', async () => {
    dynamo.on(PutCommand).resolves({});
    await store.save({ window: window!, sources: ['k#'], version: 1 }, 0, Date.parse('2024-05-08T11:00:00Z'));
    await store.save(
      { window: window!, sources: ['k#', 'l#'], version: 2 },
      1,
      Date.parse('2024-05-08T11:00:00Z'),
    );
    const [first, second] = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      TableName: 'state',
      Item: { pk: 'activity#AKIAA', sk: String(window!.windowStart), version: 1, expiresAt: 1715166000 },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(second).toMatchObject({ ExpressionAttributeValues: { ':expected': 1 } });
  });

  it('a lost race is false, not an error; other errors name the item', async () => {
    dynamo
      .on(PutCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      )
      .rejectsOnce(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    expect(await store.save({ window: window!, sources: [], version: 1 }, 0, 0)).toBe(false);
    await expect(store.save({ window: window!, sources: [], version: 1 }, 0, 0)).rejects.toThrow(
      /PutItem activity#AKIAA .*ProvisionedThroughputExceeded/,
    );
  });

  it('reads a window back', async () => {
    dynamo.on(PutCommand).resolves({});
    await store.save({ window: window!, sources: ['k#'], reportedAt: 'r', version: 3 }, 2, 0);
    const item = dynamo.commandCalls(PutCommand)[0]!.args[0].input.Item;
    dynamo.on(GetCommand).resolves({ Item: item });
    const loaded = await store.load('AKIAA', window!.windowStart);
    expect(loaded).toMatchObject({ sources: ['k#'], reportedAt: 'r', version: 3 });
    expect(loaded!.window.calls).toBe(1);
    dynamo.on(GetCommand).resolves({});
    expect(await store.load('AKIAA', 0)).toBeUndefined();
  });

  it("keeps the window's calls and the severity last reported, the calls as one JSON attribute", async () => {
    dynamo.on(PutCommand).resolves({});
    const traces = [
      {
        id: 'e1',
        time: 1,
        service: 'iam',
        eventName: 'ListUsers',
        errorCode: 'AccessDenied',
        sourceIp: '203.0.113.7',
      },
    ];
    await store.save(
      { window: window!, sources: ['k#'], traces, reportedAt: 'r', reportedSeverity: 'high', version: 2 },
      1,
      0,
    );
    const item = dynamo.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    expect(typeof item.calls).toBe('string');
    expect(item.reportedSeverity).toBe('high');
    dynamo.on(GetCommand).resolves({ Item: item });
    expect(await store.load('AKIAA', window!.windowStart)).toMatchObject({
      traces,
      reportedSeverity: 'high',
    });
  });
});
