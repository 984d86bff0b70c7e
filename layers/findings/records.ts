import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Finding, findingSchema } from './finding';
import type { FindingSink } from './publish';

/**
 * What makes a finding unforgeable: before a detector publishes a finding, it
 * writes a record of it (its id and a digest of its content) to the state table;
 * the intake starts a response only for a finding whose record it finds. An event
 * put on the bus by anyone else, or a genuine finding altered on the way, has no
 * record and is refused. The bus policy keeps the finding detail-types to the
 * detector roles as well; the record is the second, independent check.
 */

/** How long a record is kept: longer than any retry or replay of the finding's event. */
export const FINDING_RECORD_TTL_S = 90 * 24 * 3600;

/**
 * JSON with object keys sorted at every level (arrays keep their order) and
 * undefined members left out, as JSON.stringify leaves them out: the same
 * finding gives the same text however its object was built.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
  return `{${members.join(',')}}`;
}

/**
 * The digest of a finding: sha256 (hex) of the canonical JSON of the finding as
 * the schema reads it (defaults filled, unknown members dropped), so the detector's
 * object and the intake's parse of the event's detail give the same digest.
 */
export function findingDigest(finding: Finding): string {
  return createHash('sha256')
    .update(canonicalJson(findingSchema.parse(finding)))
    .digest('hex');
}

/** The records detectors write and the intake reads. A port: DynamoDB deployed, memory in tests and the drill. */
export interface FindingRecords {
  record(id: string, digest: string): Promise<void>;
  has(id: string, digest: string): Promise<boolean>;
}

/** Records in memory: tests and the drill. */
export class MemoryFindingRecords implements FindingRecords {
  readonly records = new Set<string>();
  async record(id: string, digest: string): Promise<void> {
    this.records.add(`${id}\u0000${digest}`);
  }
  async has(id: string, digest: string): Promise<boolean> {
    return this.records.has(`${id}\u0000${digest}`);
  }
}

/**
 * Records in the state table: `issued#<finding id>` / `<digest>`, TTL `expiresAt`.
 * One item per version of a finding (a republished finding with a higher count
 * has a new digest). Reads are strongly consistent: the record is written just
 * before the event is put, and an eventually consistent read could miss it.
 */
export class DynamoFindingRecords implements FindingRecords {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async record(id: string, digest: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: recordKey(id),
          sk: digest,
          expiresAt: Math.floor(this.now() / 1000) + FINDING_RECORD_TTL_S,
        },
      }),
    );
  }

  async has(id: string, digest: string): Promise<boolean> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: recordKey(id), sk: digest },
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    return result.Item !== undefined;
  }
}

function recordKey(id: string): string {
  return `issued#${id}`;
}

/**
 * A FindingSink that records each finding before handing it on: a finding is
 * never on the bus without its record (if the record cannot be written, nothing
 * is published and the caller's retry tries both again).
 */
export class RecordedFindingSink implements FindingSink {
  constructor(
    private readonly records: FindingRecords,
    private readonly inner: FindingSink,
  ) {}

  async publish(finding: Finding): Promise<void> {
    await this.records.record(finding.id, findingDigest(finding));
    await this.inner.publish(finding);
  }
}
