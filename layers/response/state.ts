import * as z from 'zod';
import { stepPlanSchema } from './plan';
import { decisionSchema } from './policy';

/**
 * The data the response state machine carries from state to state (its JSONPath
 * `$`), and the input that starts it. The Lambdas parse the parts they read;
 * everything else passes through untouched.
 */

/**
 * What an execution carries of its finding: the id and digest, never the finding.
 * Execution input and every state's data are readable with ReadOnlyAccess
 * (states:DescribeExecution, GetExecutionHistory), and a finding names the resource
 * that was used; the ledger reads the finding from where the intake kept it
 * (layers/response/received.ts).
 */
export const findingRefSchema = z.object({
  findingId: z.string().min(8),
  /** findingDigest() of the finding: what the detectors recorded and the intake checked. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a sha256 hex digest' }),
});
export type FindingRef = z.infer<typeof findingRefSchema>;

/** The response to a finding; the execution is named after the finding, so one finding starts one response. */
export const respondInputSchema = findingRefSchema.extend({
  mode: z.literal('respond'),
  /** When the finding reached the response (time-to-containment starts here). */
  receivedAt: z.string(),
});

/** Undo what an earlier execution did, from its audit records. */
export const revertInputSchema = z.object({
  mode: z.literal('revert'),
  revertOf: z.string().regex(/^arn:aws[a-z-]*:states:/, { message: 'expected an execution ARN' }),
  requestedBy: z.string().min(1),
  reason: z.string().default(''),
  falsePositive: z.boolean().default(false),
});

export type RespondInput = z.infer<typeof respondInputSchema>;
export type RevertInput = z.input<typeof revertInputSchema>;

/** Forward steps that leave something to undo, and the state key their success is kept under. */
export const DONE_KEYS = {
  'deactivate-key': 'deactivateKey',
  'attach-quarantine': 'attachQuarantine',
  'revoke-sessions': 'revokeSessions',
  'rotate-key': 'rotateKey',
  'delete-old-key': 'deleteOldKey',
  'refresh-credentials': 'refreshCredentials',
} as const;

/** The undo of each reversible step. Rotation is not undone (the owner may already use the new key). */
export const UNDO_STEPS = {
  'deactivate-key': 'reactivate-key',
  'attach-quarantine': 'detach-quarantine',
  'revoke-sessions': 'restore-sessions',
} as const;

export const doneSchema = z
  .object({
    deactivateKey: z.unknown().optional(),
    attachQuarantine: z.unknown().optional(),
    revokeSessions: z.unknown().optional(),
    rotateKey: z.unknown().optional(),
    deleteOldKey: z.unknown().optional(),
    refreshCredentials: z.unknown().optional(),
  })
  .passthrough();
export type Done = z.infer<typeof doneSchema>;

export const approvalSchema = z.object({
  approved: z.boolean(),
  approver: z.string().default('unknown'),
  reason: z.string().default(''),
  falsePositive: z.boolean().default(false),
  at: z.string().optional(),
});
export type Approval = z.infer<typeof approvalSchema>;

/** Step Functions' error object, as a Catch with ResultPath puts it. */
export const stateErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional().default('') });

export const rotationResultSchema = z.object({
  newAccessKeyId: z.string(),
  storedIn: z.string(),
});

export const workflowStateSchema = z
  .object({
    mode: z.enum(['respond', 'revert']),
    findingId: z.string().optional(),
    digest: z.string().optional(),
    receivedAt: z.string().optional(),
    revertOf: z.string().optional(),
    requestedBy: z.string().optional(),
    reason: z.string().optional(),
    falsePositive: z.boolean().optional(),
    decision: decisionSchema.optional(),
    evidence: z.object({ key: z.string(), plan: stepPlanSchema }).passthrough().optional(),
    approval: approvalSchema.optional(),
    rotation: rotationResultSchema.optional(),
    done: doneSchema.default({}),
    error: stateErrorSchema.optional(),
    undoReason: z.enum(['rollback', 'health-check', 'revert']).optional(),
    health: z.object({ alarming: z.number() }).passthrough().optional(),
  })
  .passthrough();
export type WorkflowState = z.infer<typeof workflowStateSchema>;

export const executionRefSchema = z.object({
  arn: z.string(),
  startedAt: z.string(),
});
export type ExecutionRef = z.infer<typeof executionRefSchema>;

/** Execution names: Step Functions allows 80 characters of [0-9A-Za-z_-]. */
export function safeName(value: string): string {
  return value.replace(/[^0-9A-Za-z_-]/g, '_');
}

/** The name in an execution ARN (its last segment). */
export function executionName(executionArn: string): string {
  return executionArn.split(':').pop() ?? executionArn;
}

export function responseExecutionName(findingId: string): string {
  return `f-${safeName(findingId)}`.slice(0, 80);
}

export function revertExecutionName(findingId: string, now: Date): string {
  const suffix = `-${now.getTime()}`;
  return `r-${safeName(findingId).slice(0, 80 - 2 - suffix.length)}${suffix}`;
}

/** The finding id in an execution name made by the two functions above (sanitized as in the name). */
export function findingIdOfExecution(executionArn: string): string | undefined {
  const name = executionName(executionArn);
  if (name.startsWith('f-')) return name.slice(2) || undefined;
  if (name.startsWith('r-')) return name.slice(2).replace(/-\d+$/, '') || undefined;
  return undefined;
}
