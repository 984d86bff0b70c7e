import { EVIDENCE_PREFIX } from './audit';
import { finalisePlan, type PrincipalFacts, type StepPlan } from './plan';
import type { Decision } from './policy';
import { type ExecutionRef, executionName } from './state';

/**
 * Evidence before acting: the principal's keys, attached and inline policies,
 * groups, tags and its recent CloudTrail calls, written once to the
 * object-locked bucket. The facts also finalise the plan (what is already
 * inactive or attached is not touched).
 */

export interface RecentCall {
  eventTime: string;
  eventName: string;
  eventSource: string;
  region?: string;
  sourceIp?: string;
  errorCode?: string;
  eventId?: string;
}

/** What a PrincipalReader knows of a user or role: the plan's facts and the inline policy documents. */
export type PrincipalEvidence = PrincipalFacts & { inlinePolicies: Record<string, string> };

/** The facts of a principal that does not exist (or whose facts were never read). */
export function noPrincipal(): PrincipalEvidence {
  return {
    exists: false,
    accessKeys: [],
    attachedPolicyArns: [],
    inlinePolicyNames: [],
    groups: [],
    tags: {},
    inlinePolicies: {},
  };
}

/** Read-only questions about a principal. The adapter asks IAM and CloudTrail. */
export interface PrincipalReader {
  userFacts(userName: string): Promise<PrincipalEvidence>;
  roleFacts(roleName: string): Promise<PrincipalEvidence>;
  /** CloudTrail LookupEvents by access key id (or user name), newest first, bounded. */
  recentCalls(lookup: { accessKeyId?: string; userName?: string }, since: Date): Promise<RecentCall[]>;
}

export interface EvidenceWriter {
  /** Writes once; writing the same key again (a retry) is a no-op. */
  put(key: string, body: string): Promise<void>;
}

export interface EvidenceResult {
  key: string;
  plan: StepPlan;
}

export const RECENT_CALLS_HOURS = 24;

export function evidenceKey(findingId: string, executionArn: string): string {
  return `${EVIDENCE_PREFIX}${findingId}/${executionName(executionArn)}.json`;
}

export async function collectEvidence(
  decision: Decision,
  execution: ExecutionRef,
  deps: { reader: PrincipalReader; writer: EvidenceWriter; now: () => Date },
): Promise<EvidenceResult> {
  const now = deps.now();
  const target = decision.target;
  let facts = noPrincipal();
  if (target?.kind === 'user') facts = await deps.reader.userFacts(target.name);
  if (target?.kind === 'role') facts = await deps.reader.roleFacts(target.name);

  const since = new Date(now.getTime() - RECENT_CALLS_HOURS * 3600_000);
  const lookup = target?.accessKeyId
    ? { accessKeyId: target.accessKeyId }
    : target?.kind === 'user'
      ? { userName: target.name }
      : undefined;
  // The IAM facts decide the plan; the recent calls only inform people. CloudTrail's lookup
  // allows 2 calls a second per account: when it fails, the evidence says so and the response goes on.
  let recentCalls: RecentCall[] = [];
  let recentCallsError: string | undefined;
  if (lookup) {
    try {
      recentCalls = await deps.reader.recentCalls(lookup, since);
    } catch (error) {
      recentCallsError = `${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  const plan = finalisePlan(decision, facts);
  const key = evidenceKey(decision.findingId, execution.arn);
  const document = {
    collectedAt: now.toISOString(),
    findingId: decision.findingId,
    executionArn: execution.arn,
    principal: decision.principal,
    target,
    facts,
    recentCalls: { since: since.toISOString(), lookup, events: recentCalls, error: recentCallsError },
    plan,
  };
  await deps.writer.put(key, JSON.stringify(document, null, 2));
  return { key, plan };
}
