import * as z from 'zod';
import { type Decision, QUARANTINE_POLICY_NAME, REVOKE_POLICY_NAME, responsePaths } from './policy';

/**
 * From the decision and what the evidence showed about the principal to the exact
 * steps the state machine takes. Steps that would change nothing (a key already
 * inactive, a policy already attached) are skipped, so undoing them later never
 * undoes something this response did not do.
 */

export const accessKeyFactSchema = z.object({
  accessKeyId: z.string(),
  status: z.string(),
  createDate: z.string().optional(),
  lastUsed: z.string().optional(),
});

export const principalFactsSchema = z.object({
  exists: z.boolean(),
  accessKeys: z.array(accessKeyFactSchema).default([]),
  attachedPolicyArns: z.array(z.string()).default([]),
  inlinePolicyNames: z.array(z.string()).default([]),
  /** The document of an inline AWSRevokeOlderSessions policy already there, restored on undo. */
  existingRevokePolicy: z.string().optional(),
  groups: z.array(z.string()).default([]),
  tags: z.record(z.string(), z.string()).default({}),
});
export type PrincipalFacts = z.infer<typeof principalFactsSchema>;

export const stepPlanSchema = z.object({
  path: z.enum(responsePaths),
  targetKind: z.enum(['user', 'role', 'none']),
  /** User name or role name: the IAM calls' UserName/RoleName. */
  userName: z.string().optional(),
  roleName: z.string().optional(),
  accessKeyId: z.string().optional(),
  deactivateKey: z.boolean(),
  attachQuarantine: z.boolean(),
  revokeSessions: z.boolean(),
  rotate: z.boolean(),
  quarantinePolicyArn: z.string(),
  revokePolicyName: z.string(),
  previousRevokePolicy: z.string().optional(),
  hasPreviousRevokePolicy: z.boolean(),
  /** Keys the user had before this response: cleanup never deletes one of these. */
  keysBefore: z.array(z.string()),
  keyStore: z.enum(['secrets-manager', 'ssm-parameter']),
  /** Secret name, or SSM parameter name (with the leading slash). */
  keyStoreName: z.string(),
  /** Who to tell about a new key, from the user's owner/email tags. */
  owner: z.string().optional(),
  skipped: z.array(z.object({ step: z.string(), reason: z.string() })),
});
export type StepPlan = z.infer<typeof stepPlanSchema>;

const OWNER_TAGS = ['owner', 'Owner', 'email', 'Email', 'contact', 'Contact'];

export function quarantinePolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/${QUARANTINE_POLICY_NAME}`;
}

export function keyStoreName(decision: Pick<Decision, 'settings'>, userName: string): string {
  const path = `${decision.settings.keyStorePath}/${userName}`;
  return decision.settings.keyStore === 'ssm-parameter' ? `/${path}` : path;
}

/** The plan of a response that never reached planning: it changes nothing. */
export function emptyPlan(decision: Decision): StepPlan {
  return {
    path: decision.path,
    targetKind: decision.target?.kind ?? 'none',
    deactivateKey: false,
    attachQuarantine: false,
    revokeSessions: false,
    rotate: false,
    quarantinePolicyArn: '',
    revokePolicyName: '',
    hasPreviousRevokePolicy: false,
    keysBefore: [],
    keyStore: decision.settings.keyStore,
    keyStoreName: '',
    skipped: [],
  };
}

export function finalisePlan(decision: Decision, facts: PrincipalFacts): StepPlan {
  const target = decision.target;
  const settings = decision.settings;
  const skipped: StepPlan['skipped'] = [];
  const quarantineArn = quarantinePolicyArn(settings.partition);
  const plan: StepPlan = {
    path: decision.path,
    targetKind: target?.kind ?? 'none',
    userName: target?.kind === 'user' ? target.name : undefined,
    roleName: target?.kind === 'role' ? target.name : undefined,
    accessKeyId: target?.accessKeyId,
    deactivateKey: false,
    attachQuarantine: false,
    revokeSessions: false,
    rotate: false,
    quarantinePolicyArn: quarantineArn,
    revokePolicyName: REVOKE_POLICY_NAME,
    previousRevokePolicy: facts.existingRevokePolicy,
    hasPreviousRevokePolicy: facts.existingRevokePolicy !== undefined,
    keysBefore: facts.accessKeys.map((key) => key.accessKeyId),
    keyStore: settings.keyStore,
    keyStoreName: target?.kind === 'user' ? keyStoreName(decision, target.name) : '',
    owner: OWNER_TAGS.map((tag) => facts.tags[tag]).find(Boolean),
    skipped,
  };
  const planned = new Set(decision.actions.map((action) => action.step));
  if (decision.path === 'refresh' || decision.path === 'none') return plan;
  if (!target || !facts.exists) {
    skipped.push({
      step: 'all',
      reason: `${target?.kind ?? 'principal'} ${target?.name ?? ''} no longer exists`,
    });
    return plan;
  }

  const quarantined = facts.attachedPolicyArns.includes(quarantineArn);
  if (planned.has('attach-quarantine')) {
    if (quarantined) skipped.push({ step: 'attach-quarantine', reason: 'already attached' });
    else plan.attachQuarantine = true;
  }
  if (decision.path === 'session') {
    plan.revokeSessions = planned.has('revoke-sessions');
    return plan;
  }

  // user-key
  const key = facts.accessKeys.find((k) => k.accessKeyId === target.accessKeyId);
  if (!key) {
    skipped.push({ step: 'deactivate-key', reason: `access key ${target.accessKeyId} is not the user's` });
    plan.attachQuarantine = false;
    return plan;
  }
  if (key.status === 'Active') plan.deactivateKey = true;
  else skipped.push({ step: 'deactivate-key', reason: 'the key is already inactive' });
  if (planned.has('rotate-key')) {
    // IAM allows two keys per user; rotating would need to delete one first.
    if (facts.accessKeys.length >= 2)
      skipped.push({ step: 'rotate-key', reason: 'the user already has two access keys' });
    else plan.rotate = true;
  }
  return plan;
}

/**
 * The inline policy the console's "Revoke active sessions" writes: every session
 * issued before `now` is denied everything; sessions issued later work.
 */
export function revokePolicyDocument(now: Date): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': now.toISOString() } },
      },
    ],
  });
}
