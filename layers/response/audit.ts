import * as z from 'zod';
import { outcomes, responsePaths } from './policy';
import { executionName, safeName } from './state';

/**
 * The audit trail of responses: every decision and every action, recorded before
 * and after, with who decided, what changed and how to undo it.
 *
 * Append-only by construction: records live in an S3 bucket with object lock
 * (a locked version cannot be overwritten or deleted until its retention ends),
 * each under a key of its own written with If-None-Match, and the writers' roles
 * have s3:PutObject only. The key layout is
 *   audit/<execution start>_<execution name>/<sequence>.json
 * so a listing is in time order, `--since` is a StartAfter, and `--finding` a
 * prefix test on the execution name (it carries the finding id).
 */

export const AUDIT_SCHEMA_VERSION = 1;
export const AUDIT_PREFIX = 'audit/';
export const EVIDENCE_PREFIX = 'evidence/';

export const auditEvents = [
  'decision',
  'plan',
  'planned',
  'before',
  'after',
  'failed',
  'skipped',
  'approval-requested',
  'approval-granted',
  'approval-denied',
  'approval-timed-out',
  'complete',
  'rolled-back',
  'revert-requested',
  'reverted',
  'undo-failed',
  'notified',
] as const;
export type AuditEvent = (typeof auditEvents)[number];

export const auditRecordSchema = z.object({
  schemaVersion: z.literal(AUDIT_SCHEMA_VERSION),
  at: z.string(),
  findingId: z.string(),
  /** The incident the finding belongs to (layers/response/incidents.ts). */
  incidentId: z.string().optional(),
  executionArn: z.string(),
  executionStartedAt: z.string(),
  /** Names the record within its execution (the state that wrote it): the object name. */
  sequence: z.string(),
  event: z.enum(auditEvents),
  /** The action or undo step this record is about. */
  step: z.string().optional(),
  outcome: z.enum(outcomes).optional(),
  path: z.enum(responsePaths).optional(),
  rule: z.string().optional(),
  /** Who decided: "policy", an approver's ARN, or whoever asked for a revert. */
  decidedBy: z.string(),
  /** The principal acted on (or that would have been). */
  principal: z.string().optional(),
  dryRun: z.boolean(),
  change: z.string().optional(),
  undo: z.string().optional(),
  reason: z.string().optional(),
  error: z.object({ error: z.string(), cause: z.string() }).optional(),
  labels: z.array(z.string()).default([]),
  /** Machine-readable details: the decision, the plan, the step's parameters. */
  detail: z.record(z.string(), z.unknown()).default({}),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

export interface AuditQuery {
  findingId?: string;
  executionArn?: string;
  since?: Date;
}

/** Where audit records go. A port: S3 in AWS, memory in tests. */
export interface AuditStore {
  /** Writes a record once; writing the same record again (a retry) is a no-op. */
  append(record: AuditRecord): Promise<void>;
  query(query: AuditQuery): Promise<AuditRecord[]>;
}

/** Folder of an execution's records: its start time first, so listings are in time order. */
export function executionFolder(executionArn: string, startedAt: string): string {
  return `${AUDIT_PREFIX}${startedAt}_${executionName(executionArn)}/`;
}

export function auditKey(record: AuditRecord): string {
  return `${executionFolder(record.executionArn, record.executionStartedAt)}${record.sequence}.json`;
}

/**
 * The longest an execution writes records after it starts: approval (7 days at
 * most), health check (1 day) and key grace (7 days), with a margin. A `--since`
 * listing starts this much earlier so long executions are not missed.
 */
export const LONGEST_EXECUTION_MS = 16 * 24 * 3600 * 1000;

/** Where a listing for `since` starts (S3 StartAfter). */
export function listStartAfter(since: Date | undefined): string | undefined {
  if (!since) return undefined;
  return `${AUDIT_PREFIX}${new Date(since.getTime() - LONGEST_EXECUTION_MS).toISOString()}`;
}

/** Does a key (or folder) belong to the query? Cheap tests on the name before reading the object. */
export function keyMatches(key: string, query: AuditQuery): boolean {
  const folder = key.slice(AUDIT_PREFIX.length).split('/')[0] ?? '';
  const separator = folder.indexOf('_');
  const started = folder.slice(0, separator);
  const name = folder.slice(separator + 1);
  if (query.executionArn && name !== executionName(query.executionArn)) return false;
  if (query.findingId && !name.includes(safeName(query.findingId))) return false;
  if (query.since && Date.parse(started) < query.since.getTime() - LONGEST_EXECUTION_MS) return false;
  return true;
}

export function recordMatches(record: AuditRecord, query: AuditQuery): boolean {
  if (query.findingId && safeName(record.findingId) !== safeName(query.findingId)) return false;
  if (query.executionArn && record.executionArn !== query.executionArn) return false;
  if (query.since && Date.parse(record.at) < query.since.getTime()) return false;
  return true;
}

export function sortRecords(records: AuditRecord[]): AuditRecord[] {
  return [...records].sort(
    (a, b) =>
      a.at.localeCompare(b.at) ||
      a.executionArn.localeCompare(b.executionArn) ||
      a.sequence.localeCompare(b.sequence),
  );
}

/** Audit records in memory: unit tests and the local run. */
export class MemoryAuditStore implements AuditStore {
  readonly records: AuditRecord[] = [];
  async append(record: AuditRecord): Promise<void> {
    const duplicate = this.records.some(
      (r) => r.executionArn === record.executionArn && r.sequence === record.sequence,
    );
    if (!duplicate) this.records.push(record);
  }
  async query(query: AuditQuery): Promise<AuditRecord[]> {
    return sortRecords(this.records.filter((r) => recordMatches(r, query)));
  }
}

/** One line per record, for `honeytrail audit` without --json. */
export function formatRecord(record: AuditRecord): string {
  const parts = [
    record.at,
    record.findingId.slice(0, 12),
    record.event.padEnd(18),
    (record.step ?? '').padEnd(19),
    record.dryRun ? '[dry-run]' : '',
    record.change ?? record.reason ?? '',
    record.decidedBy !== 'policy' ? `(by ${record.decidedBy})` : '',
    record.undo ? `undo: ${record.undo}` : '',
    record.error ? `error: ${record.error.error}: ${record.error.cause}` : '',
    record.labels.length ? `labels: ${record.labels.join(',')}` : '',
  ];
  return parts.filter(Boolean).join('  ');
}

/**
 * The records bucket's logical id starts with this (construct "Workflow" in the
 * main stack, bucket "Records"); `honeytrail audit` finds the bucket by it. A
 * CDK test keeps the two in step.
 */
export const RECORDS_LOGICAL_ID_PREFIX = 'WorkflowRecords';
