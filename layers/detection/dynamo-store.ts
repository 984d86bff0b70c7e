import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Severity, severities } from '../config/vocabulary';
import type { Finding } from '../findings/finding';
import { maxSeverity } from './severity';
import type { KeyUseStore, TouchInput, TouchRecordResult, TouchStore, TouchWindow } from './store';

/**
 * The touch state in the state table (`pk`, `sk`, TTL `expiresAt` in epoch seconds).
 * Idempotency is our own conditional writes rather than Powertools' idempotency
 * utility, because the dedupe window needs them anyway:
 *
 * - `delivery#<CloudTrail event id>#<subject>`: put with attribute_not_exists in
 *   the same transaction that counts the touch into its window, so a delivery is
 *   counted once or not at all (kept 48 hours: EventBridge retries for up to 24).
 * - `window#<subject>` / `window`: the open window (finding id, start, count, calls,
 *   outcomes, severities, alert state). A touch older than the window's end opens a
 *   new one, with a conditional put that loses cleanly to a concurrent opener.
 * - `finding#<id>` / `audit`: the published finding, kept a year and a month.
 * - `key-use#<access key id>` / `last`: the latest call seen signed by a decoy key.
 * - `unlogged#<access key id>` / `<last used ms>`: an unlogged use already reported.
 *
 * Limits, by design: `lastSeen` is the latest touch processed (deliveries out of
 * order can leave it slightly early); the window keeps the first CloudTrail event id
 * only, so the item stays small however long an attacker keeps at it.
 */

const DELIVERY_TTL_S = 48 * 3600;
const AUDIT_TTL_S = 400 * 24 * 3600;
const KEY_USE_TTL_S = 400 * 24 * 3600;
const MAX_OPEN_ATTEMPTS = 4;

/** The open window of a subject. */
const windowKeyOf = (subjectKey: string) => ({ pk: `window#${subjectKey}`, sk: 'window' });

interface WindowItem {
  findingId: string;
  windowStart: number;
  firstSeen: number;
  lastSeen: number;
  count: number;
  eventNames?: Set<string>;
  eventIds?: string[];
  outcomes?: Set<string>;
  severities?: Set<string>;
  alertedAt?: number;
  claimUntil?: number;
}

export class DynamoTouchStore implements TouchStore, KeyUseStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async record(input: TouchInput): Promise<TouchRecordResult> {
    const windowKey = windowKeyOf(input.subjectKey);
    const delivery = {
      Put: {
        TableName: this.tableName,
        Item: {
          pk: `delivery#${input.deliveryKey.replace('\u0000', '#')}`,
          sk: '-',
          expiresAt: Math.floor(input.now / 1000) + DELIVERY_TTL_S,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const cutoff = input.eventTime - input.windowMs;
    for (let attempt = 0; attempt < MAX_OPEN_ATTEMPTS; attempt++) {
      // Count into the open window...
      const counted = await this.transact([
        delivery,
        {
          Update: {
            TableName: this.tableName,
            Key: windowKey,
            UpdateExpression:
              'SET lastSeen = :t ADD #count :one, eventNames :name, outcomes :outcome, severities :severity',
            ConditionExpression: 'attribute_exists(pk) AND windowStart > :cutoff',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: {
              ':t': input.eventTime,
              ':one': 1,
              ':name': new Set([input.eventName]),
              ':outcome': new Set([input.outcome]),
              ':severity': new Set([input.severity]),
              ':cutoff': cutoff,
            },
          },
        },
      ]);
      if (counted === 'ok') return { status: 'counted', window: await this.window(input.subjectKey) };
      if (counted === 0) return { status: 'duplicate', window: await this.window(input.subjectKey) };
      // An earlier version's window still open: moved under the current key, then counted into.
      // ...or open a new one when there is none or it has ended.
      const opened = await this.transact([
        delivery,
        {
          Put: {
            TableName: this.tableName,
            Item: {
              ...windowKey,
              findingId: input.openingFindingId,
              windowStart: input.eventTime,
              firstSeen: input.eventTime,
              lastSeen: input.eventTime,
              count: 1,
              eventNames: new Set([input.eventName]),
              eventIds: input.eventId ? [input.eventId] : [],
              outcomes: new Set([input.outcome]),
              severities: new Set([input.severity]),
              expiresAt: Math.floor((input.eventTime + input.windowMs) / 1000) + DELIVERY_TTL_S,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR windowStart <= :cutoff',
            ExpressionAttributeValues: { ':cutoff': cutoff },
          },
        },
      ]);
      if (opened === 'ok') return { status: 'opened', window: await this.window(input.subjectKey) };
      if (opened === 0) return { status: 'duplicate', window: await this.window(input.subjectKey) };
      // Someone opened a window between the two writes: count into it.
    }
    throw new Error(`window ${input.subjectKey}: still contended after ${MAX_OPEN_ATTEMPTS} attempts`);
  }

  async claimAlert(subjectKey: string, findingId: string, now: number, leaseMs: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: windowKeyOf(subjectKey),
        UpdateExpression: 'SET claimUntil = :until',
        ConditionExpression:
          'findingId = :id AND attribute_not_exists(alertedAt) AND (attribute_not_exists(claimUntil) OR claimUntil < :now)',
        ExpressionAttributeValues: { ':until': now + leaseMs, ':id': findingId, ':now': now },
      }),
    );
  }

  async completeAlert(subjectKey: string, finding: Finding, now: number): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: windowKeyOf(subjectKey),
        UpdateExpression: 'SET alertedAt = :now REMOVE claimUntil',
        ConditionExpression: 'findingId = :id',
        ExpressionAttributeValues: { ':now': now, ':id': finding.id },
      }),
    );
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: this.auditItem(finding, now) }));
  }

  async releaseAlert(subjectKey: string, findingId: string): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: windowKeyOf(subjectKey),
        UpdateExpression: 'REMOVE claimUntil',
        ConditionExpression: 'findingId = :id',
        ExpressionAttributeValues: { ':id': findingId },
      }),
    );
  }

  async updateAudit(finding: Finding): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `finding#${finding.id}`, sk: 'audit' },
        UpdateExpression:
          'SET #count = :count, lastSeen = :lastSeen, severity = :severity, finding = :finding',
        ConditionExpression: 'attribute_exists(pk) AND #count < :count',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: {
          ':count': finding.count,
          ':lastSeen': finding.lastSeen,
          ':severity': finding.severity,
          ':finding': JSON.stringify(finding),
        },
      }),
    );
  }

  async recordKeyUse(accessKeyId: string, eventTime: number): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `key-use#${accessKeyId}`, sk: 'last' },
        UpdateExpression: 'SET lastSeen = :t, expiresAt = :expires',
        ConditionExpression: 'attribute_not_exists(lastSeen) OR lastSeen < :t',
        ExpressionAttributeValues: {
          ':t': eventTime,
          ':expires': Math.floor(eventTime / 1000) + KEY_USE_TTL_S,
        },
      }),
    );
  }

  async lastKeyUse(accessKeyId: string): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `key-use#${accessKeyId}`, sk: 'last' },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.lastSeen === 'number' ? Item.lastSeen : undefined;
  }

  async markUnloggedReported(accessKeyId: string, lastUsed: number, now: number): Promise<boolean> {
    return this.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `unlogged#${accessKeyId}`,
          sk: String(lastUsed),
          reportedAt: now,
          expiresAt: Math.floor(now / 1000) + AUDIT_TTL_S,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async clearUnloggedReported(accessKeyId: string, lastUsed: number): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: `unlogged#${accessKeyId}`, sk: String(lastUsed) },
      }),
    );
  }

  private auditItem(finding: Finding, now: number) {
    return {
      pk: `finding#${finding.id}`,
      sk: 'audit',
      kind: finding.kind,
      severity: finding.severity,
      count: finding.count,
      firstSeen: finding.firstSeen,
      lastSeen: finding.lastSeen,
      finding: JSON.stringify(finding),
      expiresAt: Math.floor(now / 1000) + AUDIT_TTL_S,
    };
  }

  private async window(subjectKey: string): Promise<TouchWindow> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: windowKeyOf(subjectKey),
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error(`window ${subjectKey} vanished right after it was written`);
    const item = Item as WindowItem;
    const severityList = [...(item.severities ?? [])].filter((s): s is Severity =>
      (severities as readonly string[]).includes(s),
    );
    return {
      subjectKey,
      findingId: item.findingId,
      windowStart: item.windowStart,
      firstSeen: item.firstSeen,
      lastSeen: item.lastSeen,
      count: item.count,
      eventNames: [...(item.eventNames ?? [])].sort(),
      eventIds: item.eventIds ?? [],
      outcomes: [...(item.outcomes ?? [])].filter(
        (o): o is 'allowed' | 'denied' => o === 'allowed' || o === 'denied',
      ),
      severity: severityList.reduce<Severity>(maxSeverity, 'low'),
      alerted: item.alertedAt !== undefined,
    };
  }

  /** Runs a transaction: 'ok', or the index of the first item whose condition failed. */
  private async transact(
    items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>,
  ) {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return 'ok' as const;
    } catch (error) {
      const reasons = (error as { name?: string; CancellationReasons?: { Code?: string }[] })
        .CancellationReasons;
      if ((error as Error).name === 'TransactionCanceledException' && reasons) {
        const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        // Any other reason (throttling, a conflicting transaction) is for the caller's retry.
        if (
          failed >= 0 &&
          reasons.every((r) => r.Code === 'None' || r.Code === 'ConditionalCheckFailed' || !r.Code)
        ) {
          return failed;
        }
      }
      throw error;
    }
  }

  /** Sends a conditional write: true when written, false when its condition did not hold. */
  private async conditional(command: UpdateCommand | PutCommand): Promise<boolean> {
    try {
      // Narrowed first: send's overloads take one command type, not a union.
      if (command instanceof UpdateCommand) await this.client.send(command);
      else await this.client.send(command);
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
