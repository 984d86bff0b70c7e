import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { type Finding, findingSchema } from '../findings/finding';
import { findingDigest } from '../findings/records';
import { putOnce } from './s3-audit-store';
import { type FindingRef, safeName } from './state';

/**
 * Findings the intake accepted, kept where the response reads them back.
 *
 * Why not in the execution's input: Step Functions execution input and every
 * state's input and output are readable with ReadOnlyAccess
 * (states:DescribeExecution, states:GetExecutionHistory), and a finding names
 * the resource that was used (`resource`, `title`, and for a reserved key the
 * actor). So the execution carries only the finding's id and digest, and the
 * ledger reads the finding from here.
 *
 * Why here and not the state table: the intake must not be able to write the
 * state table (a record there vouches for a finding; layers/findings/records.ts).
 * The records bucket is as closed to ReadOnlyAccess: its objects are SSE-KMS
 * with the workflow key, and ReadOnlyAccess has no kms:Decrypt. Written once
 * (If-None-Match) under object lock, like the audit records: the finding that
 * started a response is part of its audit trail.
 */

export const RECEIVED_PREFIX = 'received/';

export class FindingNotKept extends Error {
  override readonly name = 'FindingNotKept';
}

/** A port: S3 deployed, memory in tests and the drill. */
export interface ReceivedFindings {
  /** Keeps a finding once; keeping the same finding again (a retried delivery) is a no-op. */
  keep(finding: Finding, digest: string): Promise<void>;
  /** The finding of that id and digest; throws FindingNotKept when there is none, or it does not match. */
  get(ref: FindingRef): Promise<Finding>;
}

/** `received/<finding id>/<digest>.json`: neither part names anything. */
export function receivedKey(ref: FindingRef): string {
  return `${RECEIVED_PREFIX}${safeName(ref.findingId).slice(0, 200)}/${ref.digest}.json`;
}

/** Parses what was kept and checks it is the finding the execution names. */
export function readKept(text: string, ref: FindingRef, where: string): Finding {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FindingNotKept(`${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = findingSchema.safeParse(json);
  if (!parsed.success) throw new FindingNotKept(`${where} is not a finding: ${parsed.error.message}`);
  if (parsed.data.id !== ref.findingId || findingDigest(parsed.data) !== ref.digest)
    throw new FindingNotKept(`${where} does not match finding ${ref.findingId} digest ${ref.digest}`);
  return parsed.data;
}

export class MemoryReceivedFindings implements ReceivedFindings {
  readonly kept = new Map<string, string>();

  async keep(finding: Finding, digest: string): Promise<void> {
    const key = receivedKey({ findingId: finding.id, digest });
    if (!this.kept.has(key)) this.kept.set(key, JSON.stringify(finding));
  }

  async get(ref: FindingRef): Promise<Finding> {
    const key = receivedKey(ref);
    const text = this.kept.get(key);
    if (text === undefined) throw new FindingNotKept(`no finding kept under ${key}`);
    return readKept(text, ref, key);
  }
}

export class S3ReceivedFindings implements ReceivedFindings {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async keep(finding: Finding, digest: string): Promise<void> {
    await putOnce(this.s3, this.bucket, receivedKey({ findingId: finding.id, digest }), finding);
  }

  async get(ref: FindingRef): Promise<Finding> {
    const key = receivedKey(ref);
    const where = `s3://${this.bucket}/${key}`;
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return readKept((await object.Body?.transformToString()) ?? '', ref, where);
    } catch (error) {
      if (error instanceof NoSuchKey) throw new FindingNotKept(`no finding kept at ${where}`);
      throw error;
    }
  }
}
