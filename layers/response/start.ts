import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { FINDING_DETAIL_TYPES, FINDING_EVENT_SOURCE, type Finding, findingSchema } from '../findings/finding';
import { type FindingRecords, findingDigest } from '../findings/records';
import { issueLines } from '../runtime/issues';
import { FINDING_LABELLED_DETAIL_TYPE, labelEventDetailSchema } from '../scoring/labels';
import { count, falsePositive, KIND_LABELS, KPI, type Kpi, latency } from './kpi';
import type { Notifier } from './ledger';
import type { ReceivedFindings } from './received';
import {
  type FindingRefusal,
  REFUSAL_REASONS,
  type RefusalLog,
  type RefusalReason,
  refusalMessage,
} from './refusals';
import { type RespondInput, responseExecutionName } from './state';

/**
 * Starts one response per finding. The execution is named after the finding id,
 * and Step Functions refuses a second execution of the same name (Standard
 * workflows keep names for 90 days): a finding delivered twice, or republished
 * with a higher count, starts one response and the duplicate is counted.
 *
 * The execution's input is the finding's id and digest only: execution input is
 * readable with ReadOnlyAccess, and a finding names the resource that was used.
 * The finding itself is kept in the records bucket (layers/response/received.ts).
 *
 * Only findings this stack's detectors wrote start anything: each detector records
 * a finding (id and content digest) in the state table before publishing it, and
 * the intake refuses an event whose finding has no such record (put by someone
 * else, or altered), or whose detail-type is not its kind's. A refusal starts
 * nothing, is kept in the records bucket, counted and mailed.
 */

export const findingEventSchema = z.object({
  /** EventBridge's id of the event (set by EventBridge, the same on every retry of a delivery). */
  id: z.string().optional(),
  source: z.literal(FINDING_EVENT_SOURCE),
  'detail-type': z.string(),
  time: z.string().optional(),
  detail: findingSchema,
});

export class FindingRejected extends Error {
  override readonly name = 'FindingRejected';
}

/** What is wrong with an event, field by field. */
function problemsOf(error: z.ZodError): string {
  return issueLines(error, { root: '(event)' }).join('; ');
}

export interface ExecutionStarter {
  /** Starts `name`; `duplicate` when an execution of that name already exists. */
  start(name: string, input: RespondInput): Promise<{ executionArn?: string; duplicate: boolean }>;
}

export interface IntakeDeps {
  starter: ExecutionStarter;
  /** The detectors' records of the findings they published. */
  records: FindingRecords;
  /** Where refused findings are kept, and who is told. */
  refusals: RefusalLog;
  alerts: Notifier;
  now: () => Date;
  /**
   * Where accepted findings are kept for the response to read (the execution
   * carries only id and digest): the records bucket deployed; in the drill and
   * tests, the same memory store the ledger is given.
   */
  received: ReceivedFindings;
}

export interface IntakeResult {
  executionName: string;
  executionArn?: string;
  duplicate: boolean;
  /** Set when the finding was refused: no execution was started. */
  refused?: FindingRefusal;
  kpis: Kpi[];
}

export async function startResponse(event: unknown, deps: IntakeDeps): Promise<IntakeResult> {
  const parsed = findingEventSchema.safeParse(event);
  if (!parsed.success) throw new FindingRejected(`not a finding event: ${problemsOf(parsed.error)}`);
  const finding = parsed.data.detail;
  const now = deps.now();
  const name = responseExecutionName(finding.id);
  const digest = findingDigest(finding);
  const detailType = parsed.data['detail-type'];
  const reason = await refusalReason(finding, detailType, digest, deps.records);
  if (reason) {
    const refused: FindingRefusal = {
      at: now.toISOString(),
      eventId: parsed.data.id ?? `${finding.id}-${now.getTime()}`,
      findingId: finding.id,
      digest,
      detailType,
      kind: finding.kind,
      principal: finding.actor.arn,
      reason,
    };
    // Kept first: the alert may fail and be retried, the record is written once.
    await deps.refusals.append(refused);
    await deps.alerts.publish(refusalMessage(refused));
    return {
      executionName: name,
      duplicate: false,
      refused,
      kpis: [count(KPI.rejectedFindings, { name: 'Reason', value: reason })],
    };
  }
  // Kept before the start: the first state reads it. The execution input names no resource.
  await deps.received.keep(finding, digest);
  const started = await deps.starter.start(name, {
    mode: 'respond',
    findingId: finding.id,
    digest,
    receivedAt: now.toISOString(),
  });
  const kind = { name: 'Kind' as const, value: KIND_LABELS[finding.kind] };
  const kpis: Kpi[] = started.duplicate
    ? [count(KPI.duplicateFindings, kind)]
    : [count(KPI.findings, kind), ...latency(KPI.eventToFinding, finding.lastSeen, now)];
  return { executionName: name, ...started, kpis };
}

/** Why a finding event must not start anything, if it must not. */
async function refusalReason(
  finding: Finding,
  detailType: string,
  digest: string,
  records: FindingRecords,
): Promise<RefusalReason | undefined> {
  if (detailType !== FINDING_DETAIL_TYPES[finding.kind]) return REFUSAL_REASONS.detailType;
  return (await records.has(finding.id, digest)) ? undefined : REFUSAL_REASONS.notIssued;
}

export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: RespondInput) {
    try {
      const result = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return { executionArn: result.executionArn, duplicate: false };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error)?.name === 'ExecutionAlreadyExists')
        return { duplicate: true };
      throw error;
    }
  }
}

/**
 * "Finding Labelled" events (a person's verdict, from `honeytrail label`) come
 * to the intake too: a false positive is counted for the dashboard.
 */
export function countLabel(event: unknown): { findingId: string; label: string; kpis: Kpi[] } {
  const parsed = z
    .object({
      source: z.literal(FINDING_EVENT_SOURCE),
      'detail-type': z.literal(FINDING_LABELLED_DETAIL_TYPE),
      detail: labelEventDetailSchema,
    })
    .safeParse(event);
  if (!parsed.success) throw new FindingRejected(`not a label event: ${problemsOf(parsed.error)}`);
  const { findingId, label } = parsed.data.detail;
  return { findingId, label, kpis: label === 'false-positive' ? [falsePositive('labelled')] : [] };
}

export function isLabelEvent(event: unknown): boolean {
  return (event as { 'detail-type'?: unknown })?.['detail-type'] === FINDING_LABELLED_DETAIL_TYPE;
}
