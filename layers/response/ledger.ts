import * as z from 'zod';
import type { Finding } from '../findings/finding';
import { AUDIT_SCHEMA_VERSION, type AuditEvent, type AuditRecord, type AuditStore } from './audit';
import { type AutomationBudgetStore, type BudgetVerdict, spendBudget } from './budget';
import type { OrganizationLookup } from './guardrails';
import {
  addFinding,
  type Incident,
  type IncidentStore,
  incidentForRecord,
  incidentSummary,
  linksOf,
  openIncident,
  principalKeyOf,
  principalSeverity,
  type ResponseRole,
  roleOf,
  withRetries,
  withRole,
  withStatus,
} from './incidents';
import { count, falsePositive, KIND_LABELS, KPI, type Kpi, latency } from './kpi';
import {
  approvalMessage,
  containedMessage,
  dryRunMessage,
  type Message,
  manualActionMessage,
  noActionMessage,
  OPERATOR_CLI,
  refreshedMessage,
  rolledBackMessage,
} from './messages';
import { emptyPlan, revokePolicyDocument, type StepPlan } from './plan';
import {
  type AccountContext,
  type Decision,
  decide,
  decisionForState,
  decisionWithPrincipal,
  type ResponsePolicy,
  spendsBudget,
  withinBudget,
} from './policy';
import { principalOf } from './principal';
import type { ReceivedFindings } from './received';
import { planRevert } from './revert';
import {
  type Approval,
  approvalSchema,
  DONE_KEYS,
  type ExecutionRef,
  executionName,
  executionRefSchema,
  findingIdOfExecution,
  findingRefSchema,
  UNDO_STEPS,
  type WorkflowState,
  workflowStateSchema,
} from './state';

/**
 * The ledger: the one step the state machine calls to decide, to record every
 * decision and action before and after it, to ask for approval, and to tell
 * people. Pure over its ports (audit store, notifier, clock).
 */

export const ledgerOps = [
  'decide',
  'plan',
  'before',
  'after',
  'failed',
  'dry-run',
  'notify-only',
  'request-approval',
  'approval-granted',
  'approval-denied',
  'approval-timed-out',
  'contained',
  'finished',
  'rolled-back',
  'undo-failed',
  'plan-revert',
  'reverted',
] as const;
export type LedgerOp = (typeof ledgerOps)[number];

export const ledgerInputSchema = z.object({
  op: z.enum(ledgerOps),
  /** The state that calls: names the record, so a retried call writes nothing new. */
  record: z.string().min(1),
  step: z.string().optional(),
  state: workflowStateSchema,
  execution: executionRefSchema,
  /** request-approval only: the task token to hand to the approver. */
  token: z.string().optional(),
});
export type LedgerInput = z.input<typeof ledgerInputSchema>;

export interface Notifier {
  publish(message: Message): Promise<void>;
}

export interface LedgerDeps {
  store: AuditStore;
  notifier: Notifier;
  policy: ResponsePolicy;
  now: () => Date;
  /** For messages: where evidence objects are (s3://bucket). */
  evidenceLocation: string;
  /** The planted IAM users (the registry): their use is answered by replacing them. */
  reservedUsers?: () => Promise<readonly string[]>;
  /**
   * Where the intake kept the findings (the execution carries only id and digest):
   * the records bucket deployed; in the drill and tests, the intake's memory store.
   */
  findings: ReceivedFindings;
  /** Organization mode: the OUs of a principal's account, for gradual enablement. */
  organization?: OrganizationLookup;
  /** Incidents: one response per principal per incident (layers/response/incidents.ts). */
  incidents: IncidentStore;
  /** The automation error budget's spending (layers/response/budget.ts). */
  budget: AutomationBudgetStore;
  /** Answers a waiting approval when an incident escalates (Step Functions SendTaskSuccess). */
  escalation: Escalation;
}

/** Approves a response that waits, for an incident whose severity now calls for action. */
export interface Escalation {
  /** 'gone' when the approval no longer waits (answered, timed out). */
  approve(token: string, approval: Approval): Promise<'sent' | 'gone'>;
}

export interface LedgerResult {
  result: unknown;
  kpis: Kpi[];
}

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
}

interface StepText {
  intent: string;
  change: string;
  undo?: string;
}

/** What a step will do, what it did and how to undo it, in words an operator can act on. */
export function describeStep(step: string, plan: StepPlan | undefined, executionArn: string): StepText {
  const user = plan?.userName ?? '?';
  const key = plan?.accessKeyId ?? '?';
  const principal = plan?.targetKind === 'role' ? `role ${plan.roleName}` : `user ${user}`;
  const revert = `${OPERATOR_CLI} revert ${executionArn}`;
  switch (step) {
    case 'deactivate-key':
      return {
        intent: `deactivate access key ${key} of user ${user}`,
        change: `access key ${key} of user ${user}: Active -> Inactive`,
        undo: `${revert} (or: aws iam update-access-key --user-name ${user} --access-key-id ${key} --status Active)`,
      };
    case 'attach-quarantine':
      return {
        intent: `attach ${plan?.quarantinePolicyArn} to ${principal}`,
        change: `${principal}: attached ${plan?.quarantinePolicyArn}`,
        undo: `${revert} (or: aws iam detach-${plan?.targetKind}-policy --${plan?.targetKind}-name ${plan?.targetKind === 'role' ? plan.roleName : user} --policy-arn ${plan?.quarantinePolicyArn})`,
      };
    case 'revoke-sessions':
      return {
        intent: `deny sessions of ${principal} issued before now (inline policy ${plan?.revokePolicyName})`,
        change: `${principal}: inline policy ${plan?.revokePolicyName} ${plan?.hasPreviousRevokePolicy ? 'replaced' : 'added'}`,
        undo: `${revert} (or: aws iam ${plan?.hasPreviousRevokePolicy ? 'put' : 'delete'}-${plan?.targetKind}-policy --${plan?.targetKind}-name ${plan?.targetKind === 'role' ? plan.roleName : user} --policy-name ${plan?.revokePolicyName}${plan?.hasPreviousRevokePolicy ? ' --policy-document <previous, in the plan record>' : ''})`,
      };
    case 'rotate-key':
      return {
        intent: `create a new access key for user ${user} and store it in ${plan?.keyStoreName}`,
        change: `user ${user}: new access key created and stored in ${plan?.keyStoreName}`,
        undo: `delete the new key by hand if unwanted (aws iam delete-access-key --user-name ${user} --access-key-id <new key>)`,
      };
    case 'delete-old-key':
      return {
        intent: `delete the old access key ${key} of user ${user}`,
        change: `access key ${key} of user ${user}: deleted`,
        undo: 'cannot be undone; the new key stays with its owner',
      };
    case 'refresh-credentials':
      return {
        intent: 'reissue the used key and the resources issued with it',
        change: 'key and resources reissued',
      };
    case 'reactivate-key':
      return {
        intent: `reactivate access key ${key} of user ${user}`,
        change: `access key ${key} of user ${user}: Inactive -> Active`,
      };
    case 'detach-quarantine':
      return {
        intent: `detach ${plan?.quarantinePolicyArn} from ${principal}`,
        change: `${principal}: detached ${plan?.quarantinePolicyArn}`,
      };
    case 'restore-sessions':
      return {
        intent: `${plan?.hasPreviousRevokePolicy ? 'restore' : 'remove'} inline policy ${plan?.revokePolicyName} of ${principal}`,
        change: `${principal}: inline policy ${plan?.revokePolicyName} ${plan?.hasPreviousRevokePolicy ? 'restored' : 'removed'}`,
      };
    case 'cleanup-new-keys':
      return {
        intent: `delete any new access key of user ${user} that was not stored`,
        change: `user ${user}: unstored new access keys deleted`,
      };
    default:
      return { intent: step, change: step };
  }
}

function errorText(state: WorkflowState): { error: string; cause: string } | undefined {
  if (!state.error) return undefined;
  return { error: state.error.Error, cause: state.error.Cause.slice(0, 2000) };
}

/** The state's error in one line, for people. */
function errorLine(error: NonNullable<WorkflowState['error']>): string {
  return `${error.Error}: ${error.Cause.slice(0, 300)}`;
}

/** The rule as audit records name it. */
function ruleText(rule: Decision['rule'] | undefined): string | undefined {
  return rule ? `#${rule.index} ${rule.kind}>=${rule.minSeverity}:${rule.action}` : undefined;
}

/** The reversible steps of this execution that ran (forward step, its undo). */
function undoable(state: WorkflowState): [keyof typeof UNDO_STEPS, string][] {
  return (Object.entries(UNDO_STEPS) as [keyof typeof UNDO_STEPS, string][]).filter(
    ([forward]) => state.done[DONE_KEYS[forward]] !== undefined,
  );
}

/** Steps of this execution that ran, in words, from the state's `done`. */
function doneSteps(state: WorkflowState, execution: ExecutionRef): string[] {
  const plan = state.evidence?.plan;
  return Object.entries(DONE_KEYS)
    .filter(([, key]) => state.done[key] !== undefined)
    .map(([step]) => describeStep(step, plan, execution.arn).change);
}

export async function runLedger(raw: unknown, deps: LedgerDeps): Promise<LedgerResult> {
  const parsed = ledgerInputSchema.safeParse(raw);
  if (!parsed.success) throw new LedgerError(`ledger input is malformed: ${parsed.error.message}`);
  const input = parsed.data;
  const { state, execution } = input;
  const now = deps.now();
  const kpis: Kpi[] = [];
  const findings = deps.findings;
  const ref = findingRefSchema.safeParse({ findingId: state.findingId, digest: state.digest });
  // Records and messages name the principal the state holds back (a reserved user).
  const decision = state.decision?.principalHeld
    ? await withPrincipal(state.decision, ref.success ? ref.data : undefined, findings)
    : state.decision;
  const plan = state.evidence?.plan;
  const dryRun = decision?.dryRun ?? deps.policy.dryRun;
  const findingId =
    decision?.findingId ?? state.findingId ?? findingIdOfExecution(execution.arn) ?? 'unknown';

  const record = async (
    event: AuditEvent,
    fields: Partial<AuditRecord> = {},
    sequence = input.record,
  ): Promise<AuditRecord> => {
    const entry: AuditRecord = {
      schemaVersion: AUDIT_SCHEMA_VERSION,
      at: now.toISOString(),
      findingId,
      ...(decision?.incidentId ? { incidentId: decision.incidentId } : {}),
      executionArn: execution.arn,
      executionStartedAt: execution.startedAt,
      sequence,
      event,
      outcome: decision?.outcome,
      path: decision?.path,
      rule: ruleText(decision?.rule),
      decidedBy: state.approval?.approved ? state.approval.approver : (state.requestedBy ?? 'policy'),
      principal: decision?.principal,
      dryRun,
      labels: [],
      ...fields,
      detail: { ...(state.revertOf ? { revertOf: state.revertOf } : {}), ...(fields.detail ?? {}) },
    };
    await deps.store.append(entry);
    return entry;
  };
  const needDecision = (): Decision => {
    if (!decision) throw new LedgerError(`op ${input.op} needs the decision in the state`);
    return decision;
  };
  const step = input.step ?? '';
  /** Keeps this execution's status in its incident, for later findings to join or escalate. */
  const settle = async (status: 'running' | 'awaiting-approval' | 'ended', token?: string) => {
    const id = decision?.incidentId;
    if (!id) return;
    await withRetries(`op ${input.op}`, async () => {
      const incident = await deps.incidents.load(id);
      const next = incident && withStatus(incident, execution.arn, status, token);
      if (!next) return true;
      return (await deps.incidents.save(next, new Date(0), { relink: false })) || undefined;
    });
  };

  switch (input.op) {
    case 'decide': {
      if (!ref.success)
        throw new LedgerError(
          `op decide needs the finding's id and digest in the state: ${ref.error.message}`,
        );
      const finding = await findings.get(ref.data);
      const context = await accountContext(finding, deps);
      const planted = (await deps.reservedUsers?.()) ?? [];
      const principal = principalKeyOf(finding);
      const since = new Date(Date.parse(finding.firstSeen) - deps.policy.incidentSpanMinutes * 60_000);
      // Read, decide at the incident's severity, take a role, write if nobody wrote meanwhile.
      const taken = await withRetries('op decide', async () => {
        const existing = await deps.incidents.find(linksOf(finding), since);
        const incident = existing ? addFinding(existing, finding) : openIncident(finding);
        const severity = principalSeverity(incident, principal);
        let made = decide({ ...finding, severity }, deps.policy, planted, context);
        const role = roleOf(incident, principal, execution.arn, made.outcome);
        let budget: BudgetVerdict | undefined;
        if (role.role !== 'join' && spendsBudget(made)) {
          budget = await spendBudget(deps.budget, made.principal, now, deps.policy.errorBudget);
          made = withinBudget(made, budget);
        }
        // Escalating only approves what waits: beyond the budget it keeps waiting.
        const effective: ResponseRole =
          role.role === 'escalate' && made.outcome !== 'act' ? { role: 'join', by: role.by } : role;
        const next = withRole(incident, principal, effective, {
          executionArn: execution.arn,
          findingId: finding.id,
          outcome: made.outcome,
        });
        return (await deps.incidents.save(next, since))
          ? { incident: { ...next, version: next.version + 1 }, made, role: effective, budget }
          : undefined;
      });
      const { incident, role, budget } = taken;
      let made: Decision = { ...taken.made, incidentId: incident.id };
      if (role.role !== 'respond') made = await joined(made, role, incident, deps);
      await record('decision', {
        incidentId: incident.id,
        outcome: made.outcome,
        path: made.path,
        rule: ruleText(made.rule),
        principal: made.principal,
        dryRun: made.dryRun,
        reason: made.reason,
        detail: {
          decision: made,
          finding,
          digest: ref.data.digest,
          incident: incidentForRecord(incident),
          role: role.role,
          ...(role.role !== 'respond' ? { respondedBy: role.by.executionArn } : {}),
          ...(budget ? { budget } : {}),
        },
      });
      if (budget) kpis.push(...budgetKpis(budget));
      kpis.push(
        count(
          role.role === 'escalate'
            ? KPI.escalations
            : role.role === 'join'
              ? KPI.incidentUpdates
              : incident.timeline.length === 1
                ? KPI.incidentsOpened
                : KPI.incidentUpdates,
        ),
      );
      if (made.outcome === 'dry-run')
        kpis.push(count(KPI.dryRunPlans, { name: 'Kind', value: KIND_LABELS[made.kind] }));
      // The state gets the decision without a reserved user's name; the record keeps it.
      return { result: decisionForState(made), kpis };
    }

    case 'plan': {
      needDecision();
      await record('plan', {
        reason: plan?.skipped.length
          ? plan.skipped.map((s) => `${s.step}: ${s.reason}`).join('; ')
          : undefined,
        detail: { plan, evidence: state.evidence?.key },
      });
      return { result: { recorded: true }, kpis };
    }

    case 'before': {
      const text = describeStep(step, plan, execution.arn);
      await record('before', { step, change: text.intent, undo: text.undo });
      // The revoke policy's cut-off is taken now, right before the call, not when the plan was made.
      return {
        result:
          step === 'revoke-sessions'
            ? { at: now.toISOString(), policyDocument: revokePolicyDocument(now) }
            : { at: now.toISOString() },
        kpis,
      };
    }

    case 'after': {
      const text = describeStep(step, plan, execution.arn);
      const isUndo = (Object.values(UNDO_STEPS) as string[]).includes(step) || step === 'cleanup-new-keys';
      await record('after', {
        step,
        change: text.change,
        undo: text.undo,
        detail: step === 'rotate-key' && state.rotation ? { rotation: state.rotation } : {},
      });
      if (!isUndo && decision?.outcome === 'act') kpis.push(count(KPI.automaticActions));
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'failed': {
      await record('failed', {
        step,
        error: errorText(state),
        change: describeStep(step, plan, execution.arn).intent,
      });
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'dry-run': {
      const made = needDecision();
      let i = 0;
      for (const action of made.actions) {
        const skipped = plan?.skipped.find((s) => s.step === action.step);
        await record(
          'planned',
          { step: action.step, change: action.description, undo: action.undo, reason: skipped?.reason },
          `${input.record}-${String(i++).padStart(2, '0')}`,
        );
      }
      await deps.notifier.publish(dryRunMessage(made, plan, execution.arn));
      await record('notified', { reason: 'dry-run plan sent' }, `${input.record}-notified`);
      await settle('ended');
      return { result: { planned: made.actions.length }, kpis };
    }

    case 'notify-only': {
      const made = needDecision();
      await record('complete', { reason: made.reason });
      await deps.notifier.publish(noActionMessage(made, execution.arn, made.reason));
      await settle('ended');
      return { result: { notified: true }, kpis };
    }

    case 'request-approval': {
      const made = needDecision();
      if (!input.token) throw new LedgerError('op request-approval needs the task token');
      await record('approval-requested', {
        reason: made.reason,
        detail: { timeoutMinutes: deps.policy.approvalTimeoutMinutes },
      });
      await deps.notifier.publish(
        approvalMessage({
          decision: made,
          plan: plan ?? emptyPlan(made),
          executionArn: execution.arn,
          token: input.token,
          evidence: state.evidence ? `${deps.evidenceLocation}/${state.evidence.key}` : '(none)',
          timeoutMinutes: deps.policy.approvalTimeoutMinutes,
        }),
      );
      kpis.push(count(KPI.approvalsRequested));
      await settle('awaiting-approval', input.token);
      return { result: { requested: true }, kpis };
    }

    case 'approval-granted': {
      const approval = approvalSchema.parse(state.approval);
      await record('approval-granted', {
        decidedBy: approval.approver,
        reason: approval.reason || undefined,
      });
      kpis.push(count(KPI.approvalsGranted));
      await settle('running');
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'approval-denied': {
      const made = needDecision();
      // Denied by SendTaskFailure (cause: JSON from `honeytrail deny`) or by an output with approved=false.
      const answer = state.approval ?? parseCause(state.error?.Cause);
      const labels = answer.falsePositive ? ['false-positive'] : [];
      await record('approval-denied', {
        decidedBy: answer.approver,
        reason: answer.reason || undefined,
        labels,
      });
      await deps.notifier.publish(
        noActionMessage(made, execution.arn, `approval denied by ${answer.approver}`),
      );
      kpis.push(count(KPI.approvalsDenied));
      if (answer.falsePositive) kpis.push(falsePositive('denied'));
      await settle('ended');
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'approval-timed-out': {
      const made = needDecision();
      await record('approval-timed-out', {
        reason: `no answer within ${deps.policy.approvalTimeoutMinutes} minutes: no action`,
      });
      await deps.notifier.publish(noActionMessage(made, execution.arn, 'the approval timed out'));
      kpis.push(count(KPI.approvalsTimedOut));
      await settle('ended');
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'contained': {
      const made = needDecision();
      const done = doneSteps(state, execution);
      const problems = state.error ? [errorLine(state.error)] : [];
      await record('complete', {
        reason: problems.length ? `contained with problems: ${problems.join('; ')}` : 'contained',
        detail: { done },
      });
      await deps.notifier.publish(
        made.path === 'refresh'
          ? refreshedMessage(made, execution.arn)
          : containedMessage({
              decision: made,
              plan,
              executionArn: execution.arn,
              done,
              rotation: state.rotation,
              problems,
            }),
      );
      kpis.push(...latency(KPI.findingToContainment, state.receivedAt, now));
      await settle('ended');
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'finished': {
      await record('complete', { reason: input.step ? `finished: ${input.step}` : 'finished' });
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'rolled-back':
    case 'reverted': {
      const made = needDecision();
      const reason = state.undoReason ?? (input.op === 'rolled-back' ? 'rollback' : 'revert');
      const undone = undoable(state).map(([, undo]) => describeStep(undo, plan, execution.arn).change);
      await record(input.op === 'rolled-back' ? 'rolled-back' : 'reverted', {
        reason: reason === 'rollback' ? `rolled back after ${state.error?.Error ?? 'a failure'}` : reason,
        error: errorText(state),
        detail: { undone },
      });
      await deps.notifier.publish(
        rolledBackMessage({
          decision: made,
          executionArn: execution.arn,
          failedStep: input.step ?? 'a step',
          error: state.error ? errorLine(state.error) : 'unknown error',
          undone,
          reason,
        }),
      );
      kpis.push(
        reason === 'rollback'
          ? count(KPI.rollbacks)
          : count(KPI.reverts, {
              name: 'Reason',
              value: reason === 'health-check' ? 'health-check' : 'requested',
            }),
      );
      if (input.op === 'rolled-back') await settle('ended');
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'undo-failed': {
      await record('undo-failed', { step, error: errorText(state) });
      const instructions = undoable(state).map(
        ([forward]) => describeStep(forward, plan, execution.arn).undo ?? forward,
      );
      await deps.notifier.publish(
        manualActionMessage({
          decision,
          executionArn: execution.arn,
          step,
          error: state.error ? errorLine(state.error) : 'unknown error',
          instructions,
        }),
      );
      return { result: { at: now.toISOString() }, kpis };
    }

    case 'plan-revert': {
      if (!state.revertOf) throw new LedgerError('op plan-revert needs revertOf');
      const of = state.revertOf;
      const ofFinding = findingIdOfExecution(of);
      const records = await deps.store.query(ofFinding ? { findingId: ofFinding } : { executionArn: of });
      const revert = planRevert(records, of);
      await record('revert-requested', {
        findingId: revert.decision.findingId,
        outcome: revert.decision.outcome,
        path: revert.decision.path,
        rule: undefined,
        decidedBy: state.requestedBy ?? 'unknown',
        principal: revert.decision.principal,
        dryRun: false,
        reason: [state.reason, ...revert.notes].filter(Boolean).join('; ') || undefined,
        labels: state.falsePositive ? ['false-positive'] : [],
        detail: { done: Object.keys(revert.done), notes: revert.notes },
      });
      if (state.falsePositive) kpis.push(falsePositive('reverted'));
      return {
        result: {
          decision: decisionForState({ ...revert.decision, dryRun: false }),
          // The reverted execution's finding, for records that name a held principal.
          ...(revert.ref ?? {}),
          evidence: { key: '', plan: revert.plan },
          done: revert.done,
          notes: revert.notes,
        },
        kpis,
      };
    }
  }
}

/**
 * The decision with the principal the state holds back, from the kept finding.
 * A record must not be lost for want of a name: when the finding cannot be read,
 * the records and messages say where the name is (HELD_PRINCIPAL) instead.
 */
async function withPrincipal(
  decision: Decision,
  ref: { findingId: string; digest: string } | undefined,
  findings: ReceivedFindings,
): Promise<Decision> {
  if (!ref) return decision;
  try {
    return decisionWithPrincipal(decision, await findings.get(ref));
  } catch {
    return decision;
  }
}

/**
 * The decision of an execution whose finding joined an incident another response
 * answers: it notifies the update (or, escalating, approves the waiting response)
 * and does nothing itself.
 */
async function joined(
  made: Decision,
  role: Exclude<ResponseRole, { role: 'respond' }>,
  incident: Incident,
  deps: LedgerDeps,
): Promise<Decision> {
  const by = executionName(role.by.executionArn);
  let reason = `${incidentSummary(incident)}: answered by response ${by}`;
  if (role.role === 'escalate') {
    const sent = await deps.escalation.approve(role.by.token, {
      approved: true,
      approver: 'policy',
      reason: `${incidentSummary(incident)} escalated by finding ${made.findingId}: ${made.reason}`,
      falsePositive: false,
    });
    reason =
      sent === 'sent'
        ? `${incidentSummary(incident)}: escalated response ${by} from approval to action (${made.reason})`
        : `${incidentSummary(incident)}: response ${by} no longer waits for approval, so it was not escalated`;
  }
  return { ...made, outcome: 'notify', path: 'none', actions: [], reason };
}

/** The automation budget as metrics: its use, and an action it held back. */
function budgetKpis(budget: BudgetVerdict): Kpi[] {
  const used: Kpi = { name: KPI.automationBudgetUsed, unit: 'Count', value: budget.used };
  return budget.granted ? [used] : [used, count(KPI.automationHeld)];
}

/**
 * Where the principal's account sits, in organization mode. A lookup that fails
 * does not stop the decision: the finding is notified, with why nothing was done.
 */
async function accountContext(finding: Finding, deps: LedgerDeps): Promise<AccountContext> {
  if (!deps.policy.organization) return {};
  const principal = principalOf(finding.actor);
  const account = ('account' in principal ? principal.account : undefined) ?? finding.account;
  if (!account || !deps.organization) return {};
  try {
    return { organizationalUnits: await deps.organization.organizationalUnitsOf(account) };
  } catch (error) {
    return { lookupError: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

function parseCause(cause: string | undefined) {
  try {
    return approvalSchema.parse({ approved: false, ...JSON.parse(cause ?? '{}') });
  } catch {
    return approvalSchema.parse({ approved: false, reason: cause ?? '' });
  }
}

/**
 * A clock that never returns the same millisecond twice in one process: records
 * of one execution are ordered by time, and two states can finish within a
 * millisecond of each other.
 */
export function monotonicClock(source: () => number = Date.now): () => Date {
  let last = 0;
  return () => {
    last = Math.max(source(), last + 1);
    return new Date(last);
  };
}
