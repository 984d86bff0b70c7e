import type { AuditRecord } from './audit';
import { emptyPlan, type StepPlan, stepPlanSchema } from './plan';
import { type Decision, decisionSchema } from './policy';
import { DONE_KEYS, type Done, type FindingRef, findingRefSchema, UNDO_STEPS } from './state';

/**
 * Revert plans: what to undo for an execution, from its audit records.
 *
 * A step counts as done once its "before" record exists (the call may have gone
 * through even if the execution stopped before recording "after"); every undo
 * is idempotent (reactivating an active key, detaching a policy that is not
 * attached), so undoing a step that never landed is harmless. A step already
 * undone (its undo has an "after" record, from a rollback or an earlier revert)
 * is not undone again. A deleted key cannot be reactivated.
 */

export class RevertError extends Error {
  override readonly name = 'RevertError';
}

export interface RevertPlan {
  decision: Decision;
  plan: StepPlan;
  done: Done;
  notes: string[];
  /** The reverted execution's finding (id and digest), when its decision record names it. */
  ref?: FindingRef;
}

export function planRevert(records: readonly AuditRecord[], revertOf: string): RevertPlan {
  const own = records.filter((r) => r.executionArn === revertOf || r.detail.revertOf === revertOf);
  const decisionRecord = own.find((r) => r.event === 'decision' && r.executionArn === revertOf);
  if (!decisionRecord) throw new RevertError(`no audit records of a response for execution ${revertOf}`);
  const decision = decisionSchema.parse(decisionRecord.detail.decision);
  const found = findingRefSchema.safeParse({
    findingId: decision.findingId,
    digest: decisionRecord.detail.digest,
  });
  const ref = found.success ? found.data : undefined;
  const planRecord = own.find((r) => r.event === 'plan' && r.executionArn === revertOf);
  const notes: string[] = [];
  if (!planRecord) {
    notes.push('the response never reached a plan: nothing was changed');
    return { decision, plan: emptyPlan(decision), done: {}, notes, ref };
  }
  const plan = stepPlanSchema.parse(planRecord.detail.plan);
  if (decision.dryRun || decision.outcome === 'dry-run') {
    notes.push('a dry run changes nothing');
    return { decision, plan, done: {}, notes, ref };
  }
  const started = new Set(own.filter((r) => r.event === 'before').map((r) => r.step));
  const undone = new Set(own.filter((r) => r.event === 'after').map((r) => r.step));
  const done: Record<string, unknown> = {};
  for (const [step, undo] of Object.entries(UNDO_STEPS)) {
    if (!started.has(step)) continue;
    if (undone.has(undo)) {
      notes.push(`${step} was already undone`);
      continue;
    }
    done[DONE_KEYS[step as keyof typeof DONE_KEYS]] = {};
  }
  if (started.has('delete-old-key') && done.deactivateKey) {
    delete done.deactivateKey;
    notes.push(`access key ${plan.accessKeyId} was deleted after its grace period and cannot be reactivated`);
  }
  if (started.has('rotate-key')) notes.push('the new access key stays: its owner may already use it');
  return { decision, plan, done, notes, ref };
}
