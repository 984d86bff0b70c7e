import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  AUDIT_PREFIX,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  auditKey,
  auditRecordSchema,
  keyMatches,
  listStartAfter,
  recordMatches,
  sortRecords,
} from './audit';

/** True for S3's answer to a conditional write whose object already exists. */
export function isAlreadyWritten(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'PreconditionFailed' ||
    e?.$metadata?.httpStatusCode === 412 ||
    e?.name === 'ConditionalRequestConflict'
  );
}

/**
 * Audit records in the object-locked bucket. Writes are conditional
 * (If-None-Match), so a retried Lambda never writes a record twice and nobody
 * can replace one; the bucket's default retention locks each version.
 */
/**
 * Writes `value` as JSON under `key` once: a second write of the same key (a retry)
 * is a no-op, never an overwrite, as the object-locked records bucket needs.
 */
export async function putOnce(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
        IfNoneMatch: '*',
        // Object lock requires an integrity checksum on every write.
        ChecksumAlgorithm: 'SHA256',
      }),
    );
  } catch (error) {
    if (isAlreadyWritten(error)) return;
    throw error;
  }
}

export class S3AuditStore implements AuditStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly readConcurrency = 8,
  ) {}

  async append(record: AuditRecord): Promise<void> {
    await putOnce(this.s3, this.bucket, auditKey(record), record);
  }

  async query(query: AuditQuery): Promise<AuditRecord[]> {
    const keys: string[] = [];
    let token: string | undefined;
    const startAfter = listStartAfter(query.since);
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: AUDIT_PREFIX,
          ContinuationToken: token,
          StartAfter: token ? undefined : startAfter,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('.json') && keyMatches(object.Key, query)) keys.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    const records: AuditRecord[] = [];
    for (let i = 0; i < keys.length; i += this.readConcurrency) {
      const batch = await Promise.all(keys.slice(i, i + this.readConcurrency).map((key) => this.read(key)));
      records.push(...batch.filter((r) => recordMatches(r, query)));
    }
    return sortRecords(records);
  }

  private async read(key: string): Promise<AuditRecord> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const text = (await object.Body?.transformToString()) ?? '';
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`audit record s3://${this.bucket}/${key} is not JSON: ${(error as Error).message}`);
    }
    const parsed = auditRecordSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(`audit record s3://${this.bucket}/${key} is malformed: ${parsed.error.message}`);
    return parsed.data;
  }
}
