import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { findingSinkFromEnvironment } from '../../layers/findings/aws-sink';
import { FINDING_SCHEMA_VERSION, type Finding } from '../../layers/findings/finding';
import { findingEntry } from '../../layers/findings/publish';
import {
  canonicalJson,
  DynamoFindingRecords,
  FINDING_RECORD_TTL_S,
  type FindingRecords,
  findingDigest,
  MemoryFindingRecords,
  RecordedFindingSink,
} from '../../layers/findings/records';

/**
 * The detectors' records of the findings they publish: a digest that does not
 * depend on how the finding object was built, a sink that records before it
 * publishes, and the two stores (memory, DynamoDB) that keep them.
 */

const finding: Finding = {
  schemaVersion: FINDING_SCHEMA_VERSION,
  id: '0123456789abcdef0123456789abcdef',
  kind: 'anomaly',
  severity: 'high',
  title: 'Unusual activity by alice',
  actor: { arn: 'arn:aws:iam::111122223333:user/alice', type: 'IAMUser', accessKeyId: 'AKIAEXAMPLE' },
  sourceIp: '203.0.113.7',
  region: 'us-east-1',
  eventNames: ['ListBuckets', 'GetObject'],
  eventIds: [],
  score: {
    score: 0.7312345678901234,
    threshold: 0.62,
    windowStart: '2024-05-13T10:00:00Z',
    windowEnd: '2024-05-13T10:15:00Z',
    topFeatures: [{ name: 'distinctCalls', value: 14, norm: 2.5, deviation: 3.1 }],
  },
  firstSeen: '2024-05-13T10:01:00Z',
  lastSeen: '2024-05-13T10:14:00Z',
  count: 2,
  evidence: [],
  response: { status: 'none' },
};

/** The same finding with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  );
}

describe('finding digest', () => {
  it('is canonical: key order, absent members and defaults do not change it', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }], e: null })).toBe(
      '{"a":[{"d":2}],"b":1,"e":null}',
    );
    const digest = findingDigest(finding);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(findingDigest(reversed(finding) as Finding)).toBe(digest);
    expect(findingDigest({ ...finding, userAgent: undefined })).toBe(digest);
    // The intake reads the detail that EventBridge carries: the JSON of the entry, parsed.
    const { Detail } = findingEntry(finding, 'bus');
    expect(findingDigest(JSON.parse(Detail) as Finding)).toBe(digest);
    // Defaults the schema fills in (eventIds, evidence, response) are part of the same content.
    const { eventIds: _e, evidence: _v, response: _r, ...bare } = finding;
    expect(findingDigest(bare as Finding)).toBe(digest);
  });

  it('changes with any change of content: the principal, the count, a score digit', () => {
    const digest = findingDigest(finding);
    const variants: Finding[] = [
      { ...finding, actor: { ...finding.actor, arn: 'arn:aws:iam::111122223333:role/BreakGlass' } },
      { ...finding, count: 3 },
      { ...finding, score: { ...finding.score!, score: 0.7312345678901235 } },
      { ...finding, eventNames: ['GetObject', 'ListBuckets'] },
    ];
    for (const variant of variants) expect(findingDigest(variant)).not.toBe(digest);
  });
});

describe('RecordedFindingSink', () => {
  it('records the finding (id and digest) before handing it on', async () => {
    const order: string[] = [];
    const records: FindingRecords = {
      record: async (id, digest) => void order.push(`record ${id} ${digest}`),
      has: async () => false,
    };
    const sink = new RecordedFindingSink(records, {
      publish: async (f) => void order.push(`publish ${f.id}`),
    });
    await sink.publish(finding);
    expect(order).toEqual([`record ${finding.id} ${findingDigest(finding)}`, `publish ${finding.id}`]);
  });

  it('publishes nothing when the record cannot be written (the retry does both)', async () => {
    const published: Finding[] = [];
    const records: FindingRecords = {
      record: async () => Promise.reject(new Error('table unavailable')),
      has: async () => false,
    };
    const sink = new RecordedFindingSink(records, { publish: async (f) => void published.push(f) });
    await expect(sink.publish(finding)).rejects.toThrow(/table unavailable/);
    expect(published).toEqual([]);
  });
});

describe('MemoryFindingRecords', () => {
  it('knows an id with the digest recorded, and no other digest of it', async () => {
    const records = new MemoryFindingRecords();
    await records.record(finding.id, findingDigest(finding));
    expect(await records.has(finding.id, findingDigest(finding))).toBe(true);
    expect(await records.has(finding.id, findingDigest({ ...finding, count: 3 }))).toBe(false);
    expect(await records.has('another-finding-id', findingDigest(finding))).toBe(false);
  });
});

describe('DynamoFindingRecords', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  afterEach(() => dynamo.reset());
  const store = () =>
    new DynamoFindingRecords(
      DynamoDBDocumentClient.from(new DynamoDBClient({})),
      'state',
      () => 1_700_000_000_000,
    );

  it('writes issued#<id> / <digest> with a TTL', async () => {
    dynamo.on(PutCommand).resolves({});
    await store().record(finding.id, 'abc123');
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: 'state',
      Item: { pk: `issued#${finding.id}`, sk: 'abc123', expiresAt: 1_700_000_000 + FINDING_RECORD_TTL_S },
    });
  });

  it('reads the record strongly consistent: found, or not', async () => {
    dynamo
      .on(GetCommand, { Key: { pk: `issued#${finding.id}`, sk: 'abc123' } })
      .resolves({ Item: { pk: `issued#${finding.id}` } })
      .on(GetCommand, { Key: { pk: `issued#${finding.id}`, sk: 'other' } })
      .resolves({});
    expect(await store().has(finding.id, 'abc123')).toBe(true);
    expect(await store().has(finding.id, 'other')).toBe(false);
    expect(dynamo.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it('raises the service error (the intake fails, EventBridge retries; nothing is started)', async () => {
    dynamo
      .on(GetCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store().has(finding.id, 'abc123')).rejects.toThrow(ProvisionedThroughputExceededException);
  });
});

describe('findingSinkFromEnvironment', () => {
  it('records each finding in STATE_TABLE before the mail and the event', async () => {
    const dynamo = mockClient(DynamoDBDocumentClient);
    const sns = mockClient(SNSClient);
    const eventBridge = mockClient(EventBridgeClient);
    const order: string[] = [];
    dynamo.on(PutCommand).callsFake(() => void order.push('record'));
    sns.on(PublishCommand).callsFake(() => void order.push('mail'));
    eventBridge.on(PutEventsCommand).callsFake(() => {
      order.push('event');
      return { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] };
    });
    try {
      const sink = findingSinkFromEnvironment({
        AWS_REGION: 'us-east-1',
        TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:topic',
        BUS_NAME: 'platform-shared-services-events',
        SECURITY_HUB: 'off',
        STATE_TABLE: 'state',
      });
      await sink.publish(finding);
      expect(order[0]).toBe('record');
      expect(order.slice(1).sort()).toEqual(['event', 'mail']);
      expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
        TableName: 'state',
        Item: { pk: `issued#${finding.id}`, sk: findingDigest(finding) },
      });
    } finally {
      dynamo.restore();
      sns.restore();
      eventBridge.restore();
    }
  });
});
