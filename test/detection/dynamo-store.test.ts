import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
import type { TouchInput } from '../../layers/detection/store';
import type { Finding } from '../../layers/findings/finding';

const dynamo = mockClient(DynamoDBDocumentClient);
const store = new DynamoTouchStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
  'state',
);

const T = Date.UTC(2024, 7, 1, 15);
const input: TouchInput = {
  subjectKey: 'subject1',
  deliveryKey: 'event-1\u0000subject1',
  openingFindingId: 'finding-1',
  eventTime: T,
  windowMs: 3_600_000,
  eventName: 'GetParameter',
  eventId: 'event-1',
  outcome: 'allowed',
  severity: 'high',
  now: T,
};

const windowItem = {
  pk: 'window#subject1',
  sk: 'window',
  findingId: 'finding-1',
  windowStart: T,
  firstSeen: T,
  lastSeen: T + 60_000,
  count: 2,
  eventNames: new Set(['GetParameters', 'GetParameter']),
  eventIds: ['event-0'],
  outcomes: new Set(['allowed', 'denied']),
  severities: new Set(['medium', 'high']),
};

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

beforeEach(() => {
  dynamo.reset();
});

describe('DynamoTouchStore.record', () => {
  it('counts into the open window in one transaction with the delivery marker', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(GetCommand).resolves({ Item: windowItem });
    const result = await store.record(input);
    expect(result.status).toBe('counted');
    expect(result.window).toMatchObject({
      findingId: 'finding-1',
      count: 2,
      eventNames: ['GetParameter', 'GetParameters'],
      outcomes: ['allowed', 'denied'],
      severity: 'high',
      alerted: false,
    });
    const [transaction] = dynamo.commandCalls(TransactWriteCommand);
    const [delivery, update] = transaction!.args[0].input.TransactItems!;
    expect(delivery!.Put).toMatchObject({
      Item: { pk: 'delivery#event-1#subject1', sk: '-' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(update!.Update).toMatchObject({
      Key: { pk: 'window#subject1', sk: 'window' },
      ConditionExpression: 'attribute_exists(pk) AND windowStart > :cutoff',
    });
    expect(update!.Update!.ExpressionAttributeValues![':cutoff']).toBe(T - 3_600_000);
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input.ConsistentRead).toBe(true);
  });

  it('opens a new window when there is none or it has ended', async () => {
    dynamo.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'ConditionalCheckFailed')).resolves({});
    dynamo.on(GetCommand).resolves({ Item: { ...windowItem, count: 1 } });
    const result = await store.record(input);
    expect(result.status).toBe('opened');
    const opening = dynamo.commandCalls(TransactWriteCommand)[1]!.args[0].input.TransactItems![1]!.Put!;
    expect(opening.ConditionExpression).toBe('attribute_not_exists(pk) OR windowStart <= :cutoff');
    expect(opening.Item).toMatchObject({
      findingId: 'finding-1',
      windowStart: T,
      count: 1,
      eventIds: ['event-1'],
    });
  });

  it('a delivery seen before is a duplicate, counted nowhere', async () => {
    dynamo.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    dynamo.on(GetCommand).resolves({ Item: { ...windowItem, alertedAt: T } });
    const result = await store.record(input);
    expect(result.status).toBe('duplicate');
    expect(result.window.alerted).toBe(true);
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('loses cleanly to a concurrent opener and counts into its window', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'ConditionalCheckFailed'))
      .rejectsOnce(cancelled('None', 'ConditionalCheckFailed'))
      .resolves({});
    dynamo.on(GetCommand).resolves({ Item: windowItem });
    expect((await store.record(input)).status).toBe('counted');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it('throttling and other failures propagate, so the invocation is retried', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store.record(input)).rejects.toThrow(/slow down/);
    dynamo.reset();
    dynamo.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None'));
    await expect(store.record(input)).rejects.toThrow(TransactionCanceledException);
  });
});

describe('DynamoTouchStore alert state', () => {
  const finding = {
    id: 'finding-1',
    kind: 'resource-access',
    severity: 'high',
    count: 3,
    firstSeen: 'a',
    lastSeen: 'b',
  } as Finding;

  it('claims with a lease, conditional on no alert and no live claim', async () => {
    dynamo.on(UpdateCommand).resolves({});
    expect(await store.claimAlert('subject1', 'finding-1', T, 120_000)).toBe(true);
    const update = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.ConditionExpression).toBe(
      'findingId = :id AND attribute_not_exists(alertedAt) AND (attribute_not_exists(claimUntil) OR claimUntil < :now)',
    );
    expect(update.ExpressionAttributeValues).toMatchObject({ ':until': T + 120_000, ':now': T });
    dynamo.reset();
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    expect(await store.claimAlert('subject1', 'finding-1', T, 120_000)).toBe(false);
  });

  it('completing an alert marks the window and writes the audit record', async () => {
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    await store.completeAlert('subject1', finding, T);
    expect(dynamo.commandCalls(UpdateCommand)[0]!.args[0].input.UpdateExpression).toBe(
      'SET alertedAt = :now REMOVE claimUntil',
    );
    const audit = dynamo.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    expect(audit).toMatchObject({ pk: 'finding#finding-1', sk: 'audit', count: 3, kind: 'resource-access' });
    expect(JSON.parse(audit.finding as string)).toMatchObject({ id: 'finding-1' });
    expect(audit.expiresAt).toBeGreaterThan(T / 1000 + 365 * 24 * 3600);
  });

  it('audit updates only move the count forward', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'older', $metadata: {} }));
    await expect(store.updateAudit(finding)).resolves.toBeUndefined();
    expect(dynamo.commandCalls(UpdateCommand)[0]!.args[0].input.ConditionExpression).toBe(
      'attribute_exists(pk) AND #count < :count',
    );
  });
});

describe('DynamoTouchStore key use (unlogged-use check)', () => {
  it('keeps the latest call seen per key, and reads it back', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'older', $metadata: {} }));
    await store.recordKeyUse('AKIAQ3EGWSXRLIVE0001', T);
    const write = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(write.Key).toEqual({ pk: 'key-use#AKIAQ3EGWSXRLIVE0001', sk: 'last' });
    expect(write.ConditionExpression).toBe('attribute_not_exists(lastSeen) OR lastSeen < :t');
    dynamo.on(GetCommand).resolves({ Item: { lastSeen: T } });
    expect(await store.lastKeyUse('AKIAQ3EGWSXRLIVE0001')).toBe(T);
    dynamo.on(GetCommand).resolves({});
    expect(await store.lastKeyUse('AKIAQ3EGWSXRLIVE0001')).toBeUndefined();
  });

  it('reports one last-used date once, and can take the mark back', async () => {
    dynamo
      .on(PutCommand)
      .resolvesOnce({})
      .rejects(new ConditionalCheckFailedException({ message: 'seen', $metadata: {} }));
    expect(await store.markUnloggedReported('AKIAQ3EGWSXRLIVE0001', T, T)).toBe(true);
    expect(await store.markUnloggedReported('AKIAQ3EGWSXRLIVE0001', T, T)).toBe(false);
    dynamo.on(DeleteCommand).resolves({});
    await store.clearUnloggedReported('AKIAQ3EGWSXRLIVE0001', T);
    expect(dynamo.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual({
      pk: 'unlogged#AKIAQ3EGWSXRLIVE0001',
      sk: String(T),
    });
  });
});
