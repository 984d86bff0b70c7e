import * as z from 'zod';
import type { HoneytrailConfig } from '../config/schema';
import { findingKinds, type Severity, severities } from '../config/vocabulary';
import type { Finding } from '../findings/finding';
import {
  type BudgetSettings,
  type BudgetVerdict,
  budgetReason,
  budgetSettingsSchema,
  DEFAULT_BUDGET,
} from './budget';
import {
  automationScope,
  organizationGuardrails,
  organizationGuardrailsSchema,
  protectedPatternsFor,
} from './guardrails';
import { KIND_LABELS } from './kpi';
import { isCoveredBy, type Principal, principalOf } from './principal';

/**
 * Response policy as code (design.md, Response guardrails). Pure: from a finding
 * and the policy (the deployment's config plus the stack's own roles) to a
 * decision that says what will happen and why. The state machine only follows it.
 */

/** CDK bootstrap roles: whoever deploys the stack acts through them. */
export const DEPLOYER_ROLE_PATTERNS = [
  'arn:*:iam::*:role/cdk-*-cfn-exec-role-*',
  'arn:*:iam::*:role/cdk-*-deploy-role-*',
  'arn:*:iam::*:role/cdk-*-file-publishing-role-*',
  'arn:*:iam::*:role/cdk-*-image-publishing-role-*',
  'arn:*:iam::*:role/cdk-*-lookup-role-*',
] as const;

/** AWS's own answer to a leaked key (design.md, AWS facts). */
export const QUARANTINE_POLICY_NAME = 'AWSCompromisedKeyQuarantineV3';
/** The inline policy name the console's "Revoke active sessions" uses: ordinary in any account. */
export const REVOKE_POLICY_NAME = 'AWSRevokeOlderSessions';

export const ruleSchema = z.object({
  kind: z.enum(findingKinds),
  minSeverity: z.enum(severities),
  action: z.enum(['notify', 'approve', 'auto']),
});
export type ResponseRule = z.infer<typeof ruleSchema>;

/** An actor quiet this long starts a new incident: a working day, as attacks that pause for a shift come back. */
export const DEFAULT_INCIDENT_SPAN_MINUTES = 12 * 60;

/** The policy the decide step runs with; serialized into its environment at synth. */
export const responsePolicySchema = z.object({
  dryRun: z.boolean(),
  rules: z.array(ruleSchema),
  /** Config entries, deployer patterns and the stack's own roles: never acted on. */
  protectedPrincipals: z.array(z.string().min(1)),
  rotateKeys: z.boolean(),
  attachQuarantinePolicy: z.boolean(),
  approvalTimeoutMinutes: z.number().int().positive(),
  oldKeyGraceMinutes: z.number().int().min(0),
  healthCheckAlarms: z.array(z.string()),
  healthCheckMinutes: z.number().int().positive(),
  keyStore: z.enum(['secrets-manager', 'ssm-parameter']),
  keyStorePath: z.string().min(1),
  /** The account the stack acts in; principals of other accounts are reported only. */
  account: z.string().optional(),
  partition: z.string().default('aws'),
  /** Organization mode: per-account protected principals and where automatic action is enabled. */
  organization: organizationGuardrailsSchema.optional(),
  /** At most `principals` principals contained automatically in `minutes` (layers/response/budget.ts). */
  errorBudget: budgetSettingsSchema.default(DEFAULT_BUDGET),
  /** A finding joins an actor's incident within this many minutes of its last finding. */
  incidentSpanMinutes: z.number().int().positive().default(DEFAULT_INCIDENT_SPAN_MINUTES),
});
export type ResponsePolicy = z.infer<typeof responsePolicySchema>;

export function responsePolicy(
  config: HoneytrailConfig,
  stack: { ownRoles: string[]; account?: string; partition?: string },
): ResponsePolicy {
  const response = config.response;
  return {
    dryRun: config.dryRun,
    rules: response.rules,
    protectedPrincipals: [...response.protectedPrincipals, ...DEPLOYER_ROLE_PATTERNS, ...stack.ownRoles],
    rotateKeys: response.rotateKeys,
    attachQuarantinePolicy: response.attachQuarantinePolicy,
    approvalTimeoutMinutes: response.approvalTimeoutMinutes,
    oldKeyGraceMinutes: response.oldKeyGraceMinutes,
    healthCheckAlarms: response.healthCheckAlarms,
    healthCheckMinutes: response.healthCheckMinutes,
    keyStore: response.keyStore,
    keyStorePath: response.keyStorePath,
    account: stack.account,
    partition: stack.partition ?? 'aws',
    ...(config.organization ? { organization: organizationGuardrails(config) } : {}),
    errorBudget: response.errorBudget,
    incidentSpanMinutes: response.incidentSpanMinutes,
  };
}

export const outcomes = ['notify', 'dry-run', 'approve', 'act'] as const;
/** notify: report only. dry-run: plan, record, notify, execute nothing. approve: ask first. act: go. */
export type Outcome = (typeof outcomes)[number];

/**
 * What kind of response: a user's long-term key, a session (role, or a user's
 * temporary credentials), or replacing the planted key that was used (its
 * holder has nothing real to contain). Values appear in the deployed definition,
 * so they are plain words.
 */
export const responsePaths = ['none', 'user-key', 'session', 'refresh'] as const;
export type ResponsePath = (typeof responsePaths)[number];

export const stepNames = [
  'deactivate-key',
  'attach-quarantine',
  'rotate-key',
  'delete-old-key',
  'revoke-sessions',
  'refresh-credentials',
] as const;
export type StepName = (typeof stepNames)[number];

export interface PlannedAction {
  step: StepName;
  description: string;
  undo: string;
}

export const targetSchema = z.object({
  kind: z.enum(['user', 'role']),
  arn: z.string(),
  name: z.string(),
  accessKeyId: z.string().optional(),
});
export type Target = z.infer<typeof targetSchema>;

export const decisionSchema = z.object({
  findingId: z.string(),
  kind: z.enum(findingKinds),
  severity: z.enum(severities),
  outcome: z.enum(outcomes),
  path: z.enum(responsePaths),
  reason: z.string(),
  rule: ruleSchema.extend({ index: z.number().int() }).nullable(),
  principal: z.string(),
  target: targetSchema.nullable(),
  actions: z.array(z.object({ step: z.enum(stepNames), description: z.string(), undo: z.string() })),
  dryRun: z.boolean(),
  /** Read by the state machine's Choice and Wait states. */
  healthCheck: z.boolean(),
  healthCheckSeconds: z.number().int(),
  healthAlarms: z.array(z.string()),
  graceSeconds: z.number().int(),
  settings: z.object({
    rotateKeys: z.boolean(),
    attachQuarantinePolicy: z.boolean(),
    keyStore: z.enum(['secrets-manager', 'ssm-parameter']),
    keyStorePath: z.string(),
    partition: z.string(),
  }),
  /**
   * The principal is a reserved (planted) user: its name and key must not travel
   * in the execution's state (readable with ReadOnlyAccess). See decisionForState.
   */
  principalHeld: z.boolean().optional(),
  /** The incident the finding belongs to (layers/response/incidents.ts): a hash, names nothing. */
  incidentId: z.string().optional(),
});
export type Decision = z.infer<typeof decisionSchema>;

/** What the state says instead of a held principal: the ledger reads it from the kept finding. */
export const HELD_PRINCIPAL = '(kept with the finding)';

const rank = (severity: Severity) => severities.indexOf(severity);

/**
 * The rule for a finding: among the rules for its kind whose minSeverity it
 * reaches, the most specific one (highest minSeverity; the first on a tie), so
 * `anomaly ≥ medium → approve` and `anomaly ≥ critical → auto` read as intended
 * whatever their order.
 */
export function matchRule(rules: readonly ResponseRule[], finding: Pick<Finding, 'kind' | 'severity'>) {
  let best: (ResponseRule & { index: number }) | null = null;
  rules.forEach((rule, index) => {
    if (rule.kind !== finding.kind || rank(finding.severity) < rank(rule.minSeverity)) return;
    if (!best || rank(rule.minSeverity) > rank(best.minSeverity)) best = { ...rule, index };
  });
  return best as (ResponseRule & { index: number }) | null;
}

/**
 * The planted IAM user's own key was used: the decoy ref names that user and the
 * caller is it, or (for findings without a decoy ref, e.g. an anomaly) the caller
 * is one of the planted users the registry lists.
 */
export function isPlantedKeyUse(
  finding: Finding,
  principal: Principal,
  plantedUsers: readonly string[] = [],
): boolean {
  if (principal.kind !== 'user') return false;
  if (plantedUsers.some((user) => user === principal.userName || user === principal.arn)) return true;
  const decoy = finding.resource;
  if (!decoy) return false;
  if (decoy.kind !== 'iam-user' && decoy.kind !== 'iam-access-key') return false;
  const plantedUser = decoy.name.replace(/\/access-key$/, '');
  return principal.userName === plantedUser || (decoy.arn !== undefined && decoy.arn === principal.arn);
}

function plannedActions(path: ResponsePath, target: Target | null, policy: ResponsePolicy): PlannedAction[] {
  if (!target && path !== 'refresh') return [];
  const who = target ? `${target.kind} ${target.name}` : '';
  const quarantine: PlannedAction = {
    step: 'attach-quarantine',
    description: `attach ${QUARANTINE_POLICY_NAME} to ${who}`,
    undo: `detach ${QUARANTINE_POLICY_NAME} from ${who}`,
  };
  switch (path) {
    case 'user-key': {
      const key = target?.accessKeyId ?? '(unknown key)';
      const actions: PlannedAction[] = [
        {
          step: 'deactivate-key',
          description: `deactivate access key ${key} of ${who}`,
          undo: `reactivate access key ${key}`,
        },
      ];
      if (policy.attachQuarantinePolicy) actions.push(quarantine);
      if (policy.rotateKeys) {
        const where =
          policy.keyStore === 'secrets-manager'
            ? 'a Secrets Manager secret'
            : 'an SSM SecureString parameter';
        actions.push({
          step: 'rotate-key',
          description: `create a new access key for ${who} and store it in ${where} ${policy.keyStorePath}/${target?.name}`,
          undo: 'the new key stays with its owner; delete it by hand if unwanted',
        });
        actions.push({
          step: 'delete-old-key',
          description: `delete access key ${key} ${policy.oldKeyGraceMinutes} minutes after the new key is stored`,
          undo: 'none once deleted: until then, revert reactivates it',
        });
      }
      return actions;
    }
    case 'session': {
      const actions: PlannedAction[] = [
        {
          step: 'revoke-sessions',
          description: `deny every session of ${who} issued before now (inline policy ${REVOKE_POLICY_NAME})`,
          undo: `remove the inline policy ${REVOKE_POLICY_NAME} (or restore the one it replaced)`,
        },
      ];
      if (policy.attachQuarantinePolicy) actions.push(quarantine);
      return actions;
    }
    case 'refresh':
      return [
        {
          step: 'refresh-credentials',
          description: 'reissue the used access key and the resources issued with it',
          undo: 'none needed: the replaced key was never a real credential',
        },
      ];
    case 'none':
      return [];
  }
}

export function targetOf(principal: Principal): Target | null {
  if (principal.kind === 'user')
    return { kind: 'user', arn: principal.arn, name: principal.userName, accessKeyId: principal.accessKeyId };
  if (principal.kind === 'role')
    return {
      kind: 'role',
      arn: principal.roleArn,
      name: principal.roleName,
      accessKeyId: principal.accessKeyId,
    };
  return null;
}

/** Roles AWS manages itself: their policies cannot be changed by the account. */
function isAwsManagedRole(principal: Principal): boolean {
  return (
    principal.kind === 'role' &&
    (principal.roleName.startsWith('AWSServiceRoleFor') || principal.roleName.startsWith('AWSReservedSSO_'))
  );
}

/** What the decide step knows of where the principal's account sits (organization mode). */
export interface AccountContext {
  /** The account's OUs, nearest first up to the root. */
  organizationalUnits?: readonly string[];
  /** Why the OUs could not be read, if they could not: automatic action then waits. */
  lookupError?: string;
}

/**
 * @param plantedUsers names (or ARNs) of the planted IAM users, from the registry at
 *   run time: never from the policy, which travels in a readable environment variable.
 */
export function decide(
  finding: Finding,
  policy: ResponsePolicy,
  plantedUsers: readonly string[] = [],
  context: AccountContext = {},
): Decision {
  const principal = principalOf(finding.actor);
  const rule = matchRule(policy.rules, finding);
  const reserved = isPlantedKeyUse(finding, principal, plantedUsers);
  const base = {
    findingId: finding.id,
    kind: finding.kind,
    severity: finding.severity,
    rule,
    principal: finding.actor.arn,
    dryRun: policy.dryRun,
    healthCheck: policy.healthCheckAlarms.length > 0,
    healthCheckSeconds: policy.healthCheckMinutes * 60,
    healthAlarms: policy.healthCheckAlarms,
    graceSeconds: policy.oldKeyGraceMinutes * 60,
    settings: {
      rotateKeys: policy.rotateKeys,
      attachQuarantinePolicy: policy.attachQuarantinePolicy,
      keyStore: policy.keyStore,
      keyStorePath: policy.keyStorePath,
      partition: policy.partition,
    },
    ...(reserved ? { principalHeld: true } : {}),
  };
  const notify = (reason: string, target: Target | null = null): Decision => ({
    ...base,
    outcome: 'notify',
    path: 'none',
    reason,
    target,
    actions: [],
  });

  if (principal.kind === 'root') return notify('the account root user is never acted on automatically');
  if (principal.kind === 'service') return notify('AWS service principals are never acted on');
  if (principal.kind === 'other')
    return notify(`a ${principal.type} principal has no key or role this response can contain`);

  const target = targetOf(principal);
  const organization = policy.organization;
  const protectedEntries = [
    ...policy.protectedPrincipals,
    ...(organization ? protectedPatternsFor(organization, principal.account) : []),
  ];
  const protectedBy = protectedEntries.find((entry) => isCoveredBy(entry, principal));
  if (protectedBy) return notify(`protected principal (matches ${protectedBy})`, target);
  if (isAwsManagedRole(principal)) return notify('the role is managed by AWS and cannot be changed', target);
  if (organization) {
    // Gradual enablement: outside the listed accounts and OUs, notify with the reason.
    if (context.lookupError)
      return notify(
        `the organizational units of account ${principal.account} could not be read (${context.lookupError}): notify only`,
        target,
      );
    const scope = automationScope(organization, principal.account, context.organizationalUnits ?? []);
    if (!scope.automatic) return notify(scope.reason, target);
  }
  if (policy.account && principal.account && principal.account !== policy.account)
    return notify(`the principal belongs to account ${principal.account}, not this one`, target);

  if (!rule)
    return notify(`no rule acts on ${finding.kind} findings of ${finding.severity} severity`, target);
  if (rule.action === 'notify') return notify(`rule ${rule.index} says notify only`, target);

  let path: ResponsePath;
  if (reserved) path = 'refresh';
  else if (principal.kind === 'user' && principal.accessKeyId?.startsWith('AKIA')) path = 'user-key';
  else if (principal.accessKeyId?.startsWith('ASIA')) path = 'session';
  else if (principal.kind === 'role') path = 'session';
  else return notify('the finding names no access key to contain', target);

  const actions = plannedActions(path, path === 'refresh' ? null : target, policy);
  const planned = { ...base, path, target: path === 'refresh' ? null : target, actions };
  if (policy.dryRun)
    return { ...planned, outcome: 'dry-run', reason: 'dry run: every action is planned and none executed' };
  // Replacing the planted key changes nothing real, so it never waits for a person.
  if (path === 'refresh')
    return { ...planned, outcome: 'act', reason: 'a reserved key was used: reissue it and alert' };
  if (rule.action === 'approve')
    return { ...planned, outcome: 'approve', reason: `rule ${rule.index} requires approval` };
  return { ...planned, outcome: 'act', reason: `rule ${rule.index} acts automatically` };
}

/**
 * The decision as the execution's state carries it: a held principal (a reserved
 * user, whose name, ARN and key id would say which user is reserved) is replaced
 * by HELD_PRINCIPAL and its target dropped. Everything the state machine's
 * Choice and Wait states read stays.
 */
export function decisionForState(decision: Decision): Decision {
  if (!decision.principalHeld) return decision;
  return { ...decision, principal: HELD_PRINCIPAL, target: null };
}

/** The decision with its held principal back, from the kept finding: for records and messages. */
export function decisionWithPrincipal(decision: Decision, finding: Finding): Decision {
  if (!decision.principalHeld) return decision;
  const target = decision.path === 'refresh' ? null : targetOf(principalOf(finding.actor));
  return { ...decision, principal: finding.actor.arn, target };
}

/**
 * The policy as it travels in a Lambda environment variable, which anyone with
 * ReadOnlyAccess can read: finding kinds are written with their neutral labels
 * ("resource-access" rather than the kind's own name).
 */
const KIND_WIRE: Record<string, string> = KIND_LABELS;

export function encodePolicy(policy: ResponsePolicy): string {
  return JSON.stringify({
    ...policy,
    rules: policy.rules.map((rule) => ({ ...rule, kind: KIND_WIRE[rule.kind] ?? rule.kind })),
  });
}

export function decodePolicy(text: string): ResponsePolicy {
  let raw: { rules?: { kind?: string }[] };
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`the response policy is not JSON: ${(error as Error).message}`);
  }
  const back = Object.fromEntries(Object.entries(KIND_WIRE).map(([kind, wire]) => [wire, kind]));
  const rules = (raw.rules ?? []).map((rule) => ({ ...rule, kind: back[rule.kind ?? ''] ?? rule.kind }));
  const parsed = responsePolicySchema.safeParse({ ...raw, rules });
  if (!parsed.success) throw new Error(`the response policy is malformed: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * The decision within the automation budget: an automatic action beyond it waits
 * for approval, with the budget's state as the reason. Replacing a reserved key
 * changes nothing real and spends nothing.
 */
export function withinBudget(decision: Decision, verdict: BudgetVerdict | undefined): Decision {
  if (!verdict || verdict.granted || decision.outcome !== 'act' || decision.path === 'refresh')
    return decision;
  return { ...decision, outcome: 'approve', reason: budgetReason(verdict) };
}

/** Does the decision spend from the automation budget? */
export const spendsBudget = (decision: Decision) =>
  decision.outcome === 'act' && decision.path !== 'refresh' && decision.actions.length > 0;
