import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../layers/response/audit';
import { QUARANTINE_POLICY_NAME, REVOKE_POLICY_NAME } from '../../layers/response/policy';
import { honeytrail } from '../helpers/cli';
import { tokenIn } from './cli-run';
import type { FakeAws } from './fake-aws';
import { eventOf, findingFrom, ROLE_NAME, roleRecord, USER_KEY, USER_NAME, userRecord } from './fixtures';
import { LocalWorkflow } from './local-run';

/**
 * Every path of the response, executed from the synthesized definition with
 * aws-local-stepfunctions: the real Lambda handlers, aws-sdk integrations sent
 * to mocked AWS clients, executions started by the real intake function and
 * answered by the real CLI commands.
 */

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const QUARANTINE = `arn:aws:iam::aws:policy/${QUARANTINE_POLICY_NAME}`;
const PROTECTED_USER = 'breakglass-admin';
const PLANTED_USER = 'ci-payments-deploy';
const PLANTED_ARN = `arn:aws:iam::111122223333:user/${PLANTED_USER}`;
const PLANTED_KEY = 'AKIAPLANTED000000001';
let window = 0;
/** A fresh finding id each time: executions are named after it. */
const nextWindow = () => `w${++window}`;

function resetWorld(aws: FakeAws) {
  // Each test is a world of its own: no incident of an earlier test is open.
  aws.table.clear();
  aws.iam = {
    users: {
      [USER_NAME]: {
        keys: [{ id: USER_KEY, secret: 'old-secret', status: 'Active' }],
        attached: [],
        inline: {},
        groups: ['developers'],
        tags: { owner: 'payments-team@example.com' },
      },
      [PROTECTED_USER]: {
        keys: [{ id: 'AKIAPROTECTED0000001', secret: 's', status: 'Active' }],
        attached: [],
        inline: {},
        groups: [],
        tags: {},
      },
      'ci-payments-deploy': {
        keys: [{ id: 'AKIAPLANTED000000001', secret: 's', status: 'Active' }],
        attached: [],
        inline: {},
        groups: [],
        tags: {},
      },
    },
    roles: { [ROLE_NAME]: { attached: [], inline: {} } },
  };
  aws.secrets = {};
  aws.parameters = {};
  aws.published = [];
  aws.calls = [];
  aws.failures = {};
}

function userFinding(options: Parameters<typeof findingFrom>[1] = {}) {
  return findingFrom(userRecord, { window: nextWindow(), ...options });
}

async function respond(local: LocalWorkflow, finding = userFinding()) {
  const started = await local.deliver(eventOf(finding));
  expect(started.duplicate).toBe(false);
  const executionArn = started.executionArn ?? '';
  return { finding, executionArn, result: await local.settled(executionArn) };
}

async function auditOf(local: LocalWorkflow, findingId: string): Promise<AuditRecord[]> {
  const { code, out, err } = await honeytrail(
    'audit',
    '--bucket',
    local.bucket,
    '--finding',
    findingId,
    '--json',
  );
  expect(err).toBe('');
  expect(code).toBe(0);
  return JSON.parse(out) as AuditRecord[];
}

const events = (records: AuditRecord[]) => records.map((r) => `${r.event}${r.step ? `:${r.step}` : ''}`);

/** One synthesized app for every acting path (synthesis is the slow part). */
let local: LocalWorkflow;
beforeAll(async () => {
  local = await LocalWorkflow.create({
    dryRun: false,
    response: {
      protectedPrincipals: [`arn:aws:iam::*:user/${PROTECTED_USER}`],
      approvalTimeoutMinutes: 30,
      healthCheckAlarms: ['api-5xx'],
    },
    decoys: { iam: { userName: 'ci-payments-deploy' } },
  });
});
afterAll(() => local?.dispose());
beforeEach(() => {
  if (!local) return;
  resetWorld(local.aws);
  local.alarming = [];
  local.waits = {};
});

describe('the synthesized definition', () => {
  it('passes asl-validator', () => {
    const { isValid, errorsText } = aslValidator(local.definition);
    expect(isValid, errorsText('\n')).toBe(true);
  });

  it('uses direct IAM integrations for every IAM change and Lambdas only where logic is needed', () => {
    const resources = Object.values(
      local.definition.States as Record<string, { Type: string; Resource?: string }>,
    )
      .filter((s) => s.Type === 'Task')
      .map((s) => s.Resource ?? '');
    const iam = resources
      .filter((r) => r.startsWith('arn:aws:states:::aws-sdk:iam:'))
      .map((r) => r.split(':').pop());
    expect(new Set(iam)).toEqual(
      new Set([
        'updateAccessKey',
        'attachUserPolicy',
        'detachUserPolicy',
        'attachRolePolicy',
        'detachRolePolicy',
        'putUserPolicy',
        'putRolePolicy',
        'deleteUserPolicy',
        'deleteRolePolicy',
        'deleteAccessKey',
      ]),
    );
    expect(resources).toContain('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(resources).toContain('arn:aws:states:::aws-sdk:cloudwatch:describeAlarms');
  });

  it('catches every task, and retries IAM throttling with backoff', () => {
    type Task = {
      Type: string;
      Resource?: string;
      Catch?: unknown[];
      Retry?: { ErrorEquals: string[]; BackoffRate?: number }[];
    };
    const states = Object.entries(local.definition.States as Record<string, Task>).filter(
      ([, s]) => s.Type === 'Task',
    );
    expect(states.length).toBeGreaterThan(40);
    for (const [name, state] of states)
      expect(state.Catch?.length, `${name} has no Catch`).toBeGreaterThan(0);
    for (const [name, state] of states.filter(([, s]) =>
      s.Resource?.startsWith('arn:aws:states:::aws-sdk:iam:'),
    )) {
      const retry = state.Retry?.find((r) => r.ErrorEquals.includes('Iam.ThrottlingException'));
      expect(retry?.BackoffRate, `${name} retries throttling with backoff`).toBeGreaterThan(1);
    }
  });
});

describe('response paths', () => {
  it('automatic: deactivates the key, quarantines, stores a new key, deletes the old one after the grace period', async () => {
    const { finding, executionArn, result } = await respond(local);
    expect(result.status).toBe('SUCCEEDED');
    const user = local.aws.iam.users[USER_NAME];
    expect(user?.keys.map((k) => k.id)).not.toContain(USER_KEY);
    expect(user?.keys).toHaveLength(1);
    expect(user?.attached).toEqual([QUARANTINE]);
    const stored = JSON.parse(local.aws.secrets[`credentials/iam-users/${USER_NAME}`] ?? '{}');
    expect(stored.AccessKeyId).toBe(user?.keys[0]?.id);
    expect(stored.SecretAccessKey).toBe(local.aws.iam.users[USER_NAME]?.keys[0]?.secret);
    // The state machine's data never carries the new secret.
    expect(JSON.stringify(result.output)).not.toContain(stored.SecretAccessKey);

    const records = await auditOf(local, finding.id);
    expect(events(records)).toEqual([
      'decision',
      'plan',
      'before:deactivate-key',
      'after:deactivate-key',
      'before:attach-quarantine',
      'after:attach-quarantine',
      'before:rotate-key',
      'after:rotate-key',
      'complete',
      'before:delete-old-key',
      'after:delete-old-key',
    ]);
    for (const record of records) {
      expect(record.findingId).toBe(finding.id);
      expect(record.executionArn).toBe(executionArn);
      expect(record.decidedBy).toBe('policy');
    }
    const deactivated = records.find((r) => r.event === 'after' && r.step === 'deactivate-key');
    expect(deactivated?.change).toBe(`access key ${USER_KEY} of user ${USER_NAME}: Active -> Inactive`);
    expect(deactivated?.undo).toContain(`npx platform-ops revert ${executionArn}`);
    expect(records[0]?.rule).toBe('#0 resource-access>=high:auto');

    // Evidence before acting, in the records bucket.
    const evidence = [...local.aws.objects.keys()].find((k) => k.includes(`evidence/${finding.id}/`));
    const document = JSON.parse(local.aws.objects.get(evidence ?? '') ?? '{}');
    expect(document.facts.accessKeys[0]).toMatchObject({ accessKeyId: USER_KEY, status: 'Active' });
    expect(document.facts.groups).toEqual(['developers']);
    expect(document.recentCalls.events[0].eventName).toBe('GetParameter');
    expect(local.aws.calls.indexOf('LookupEvents')).toBeLessThan(local.aws.calls.indexOf('UpdateAccessKey'));

    const contained = local.aws.published.find((p) => p.subject?.startsWith('Contained'));
    expect(contained?.message).toContain('payments-team@example.com');
    // The owner (from the user's tag) can subscribe with an SNS filter policy on `owner`.
    expect(contained?.owner).toBe('payments-team@example.com');
    expect(contained?.message).toContain(`npx platform-ops revert ${executionArn}`);
  });

  it('a role session: denies sessions issued before now and quarantines the role', async () => {
    const finding = findingFrom(roleRecord, { window: nextWindow() });
    const { result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    const role = local.aws.iam.roles[ROLE_NAME];
    expect(role?.attached).toEqual([QUARANTINE]);
    const deny = JSON.parse(role?.inline[REVOKE_POLICY_NAME] ?? '{}');
    expect(deny.Statement[0]).toMatchObject({ Effect: 'Deny', Action: ['*'], Resource: ['*'] });
    const cutOff = Date.parse(deny.Statement[0].Condition.DateLessThan['aws:TokenIssueTime']);
    expect(Math.abs(cutOff - Date.now())).toBeLessThan(60_000);
    expect(events(await auditOf(local, finding.id))).toContain('after:revoke-sessions');
  });

  it('approval granted: asks with the token, `honeytrail approve` lets it act, the approver is recorded', async () => {
    const finding = userFinding({ kind: 'anomaly' });
    const started = await local.deliver(eventOf(finding));
    const token = await local.awaitingApproval(started.executionArn ?? '');
    const message = local.aws.published.find((p) => p.subject?.startsWith('Approval needed'));
    expect(tokenIn(message?.message ?? '')).toBe(token);
    expect(message?.message).toContain('npx platform-ops deny');
    expect(local.aws.iam.users[USER_NAME]?.keys[0]?.status).toBe('Active');

    const approved = await honeytrail('approve', token, '--reason', 'confirmed with the team');
    expect(approved.out).toContain(`approved by ${local.aws.caller}`);
    const result = await local.settled(started.executionArn ?? '');
    expect(result.status).toBe('SUCCEEDED');
    expect(local.aws.iam.users[USER_NAME]?.attached).toEqual([QUARANTINE]);
    const records = await auditOf(local, finding.id);
    const granted = records.find((r) => r.event === 'approval-granted');
    expect(granted).toMatchObject({ decidedBy: local.aws.caller, reason: 'confirmed with the team' });
    expect(records.find((r) => r.event === 'after' && r.step === 'deactivate-key')?.decidedBy).toBe(
      local.aws.caller,
    );
  });

  it('one incident: a later finding that calls for action escalates the waiting approval, no second response', async () => {
    const waiting = userFinding({ kind: 'anomaly' });
    const first = await local.deliver(eventOf(waiting));
    await local.awaitingApproval(first.executionArn ?? '');
    // The same user touches a resource: the incident now calls for action (resource-access high: auto).
    const second = await respond(local, userFinding());
    expect(second.result.status).toBe('SUCCEEDED');
    const result = await local.settled(first.executionArn ?? '');
    expect(result.status).toBe('SUCCEEDED');
    // The waiting response went on: approved by the escalation, contained, rotated (its new key checked).
    expect(events(await auditOf(local, waiting.id))).toEqual(
      expect.arrayContaining(['approval-granted', 'after:deactivate-key', 'after:rotate-key', 'complete']),
    );
    const decisions = [
      ...(await auditOf(local, waiting.id)),
      ...(await auditOf(local, second.finding.id)),
    ].filter((r) => r.event === 'decision');
    expect(decisions.map((r) => [r.outcome, r.detail.role])).toEqual([
      ['approve', 'respond'],
      ['notify', 'escalate'],
    ]);
    expect(decisions[1]?.incidentId).toBe(decisions[0]?.incidentId);
    expect(decisions[1]?.reason).toMatch(/escalated response f-\S+ from approval to action/);
    const granted = (await auditOf(local, waiting.id)).find((r) => r.event === 'approval-granted');
    expect(granted).toMatchObject({
      decidedBy: 'policy',
      reason: expect.stringMatching(/^incident \S+ .*escalated by finding/),
    });
    // Deactivated once, by the first response.
    expect(local.aws.calls.filter((c) => c === 'UpdateAccessKey')).toHaveLength(1);
  });

  it('approval denied: `honeytrail deny --false-positive` means no action, labelled', async () => {
    const before = local.aws.snapshot();
    const finding = userFinding({ kind: 'anomaly' });
    const started = await local.deliver(eventOf(finding));
    const token = await local.awaitingApproval(started.executionArn ?? '');
    const denied = await honeytrail('deny', token, '--false-positive', '--reason', 'scheduled job');
    expect(denied.code).toBe(0);
    const result = await local.settled(started.executionArn ?? '');
    expect(result.status).toBe('SUCCEEDED');
    expect(local.aws.snapshot()).toEqual(before);
    const record = (await auditOf(local, finding.id)).find((r) => r.event === 'approval-denied');
    expect(record).toMatchObject({
      decidedBy: local.aws.caller,
      labels: ['false-positive'],
      reason: 'scheduled job',
    });
    // Answering again: the task is gone.
    const again = await honeytrail('approve', token);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no response is waiting for that token/);
  });

  it('approval timed out: no action', async () => {
    const before = local.aws.snapshot();
    const finding = userFinding({ kind: 'anomaly' });
    const started = await local.deliver(eventOf(finding));
    local.expire(await local.awaitingApproval(started.executionArn ?? ''));
    const result = await local.settled(started.executionArn ?? '');
    expect(result.status).toBe('SUCCEEDED');
    expect(local.aws.snapshot()).toEqual(before);
    expect(events(await auditOf(local, finding.id))).toEqual([
      'decision',
      'plan',
      'approval-requested',
      'approval-timed-out',
    ]);
    expect(local.aws.published.at(-1)?.subject).toBe('No action: the approval timed out');
  });

  it('a protected principal is only reported', async () => {
    const before = local.aws.snapshot();
    const finding = userFinding();
    finding.actor = {
      ...finding.actor,
      arn: `arn:aws:iam::111122223333:user/${PROTECTED_USER}`,
      accessKeyId: 'AKIAPROTECTED0000001',
    };
    const { result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    expect(local.aws.snapshot()).toEqual(before);
    const [decision] = await auditOf(local, finding.id);
    expect(decision).toMatchObject({ event: 'decision', outcome: 'notify' });
    expect(decision?.reason).toMatch(/protected principal/);
    expect(local.aws.calls).not.toContain('ListAccessKeys');
  });

  it('the planted key itself: records, alerts and replaces the planted resources; nothing real changes', async () => {
    const before = local.aws.snapshot();
    const finding = userFinding({ decoy: { kind: 'iam-access-key', name: 'ci-payments-deploy/access-key' } });
    finding.actor = {
      ...finding.actor,
      arn: 'arn:aws:iam::111122223333:user/ci-payments-deploy',
      accessKeyId: 'AKIAPLANTED000000001',
    };
    const refreshes = local.refreshCalls;
    const { result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    expect(local.refreshCalls).toBe(refreshes + 1);
    expect(local.aws.snapshot()).toEqual(before);
    expect(events(await auditOf(local, finding.id))).toEqual([
      'decision',
      'plan',
      'before:refresh-credentials',
      'after:refresh-credentials',
      'complete',
    ]);
    expect(local.aws.published.at(-1)?.subject).toBe('Credentials replaced after use of a retired key');
  });

  it('sends the planter a refresh for this response, named after the execution', async () => {
    const finding = userFinding({ decoy: { kind: 'iam-access-key', name: 'ci-payments-deploy/access-key' } });
    finding.actor = { ...finding.actor, arn: PLANTED_ARN, accessKeyId: PLANTED_KEY };
    const { executionArn, result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    expect(local.refreshEvents.at(-1)).toEqual({
      action: 'refresh',
      reason: 'response',
      id: executionArn.split(':').pop(),
    });
  });

  it('an anomaly about the planted user (no decoy ref): the registry says it is planted, so it is replaced', async () => {
    const before = local.aws.snapshot();
    // An anomaly names no decoy: only the registry can say the user is planted.
    const { resource: _decoy, ...finding } = userFinding({ kind: 'anomaly', severity: 'critical' });
    finding.actor = {
      ...finding.actor,
      arn: 'arn:aws:iam::111122223333:user/ci-payments-deploy',
      accessKeyId: 'AKIAPLANTED000000001',
    };
    local.aws.plantedUsers = ['ci-payments-deploy'];
    try {
      const refreshes = local.refreshCalls;
      const { result } = await respond(local, finding);
      expect(result.status).toBe('SUCCEEDED');
      expect(local.refreshCalls).toBe(refreshes + 1);
      expect(local.aws.snapshot()).toEqual(before);
    } finally {
      local.aws.plantedUsers = [];
    }
  });

  it('the same finding twice starts one response', async () => {
    const finding = userFinding();
    const first = await local.deliver(eventOf(finding));
    const second = await local.deliver(eventOf({ ...finding, count: 5, lastSeen: new Date().toISOString() }));
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    await local.settled(first.executionArn ?? '');
    expect([...local.executions.keys()].filter((arn) => arn.endsWith(`f-${finding.id}`))).toHaveLength(1);
    expect(local.aws.calls.filter((c) => c === 'UpdateAccessKey')).toHaveLength(1);
  });

  it('throttled IAM calls are retried', async () => {
    local.aws.failures.UpdateAccessKey = { name: 'Throttling', times: 2 };
    local.aws.failures.AttachUserPolicy = { name: 'Throttling', times: 1 };
    const { result } = await respond(local);
    expect(result.status).toBe('SUCCEEDED');
    expect(local.aws.calls.filter((c) => c === 'UpdateAccessKey')).toHaveLength(3);
    expect(local.aws.iam.users[USER_NAME]?.attached).toEqual([QUARANTINE]);
  });

  it('a malformed event is rejected with what is wrong, and starts nothing', async () => {
    const executions = local.executions.size;
    await expect(
      local.deliver({ source: 'platform.security-findings', 'detail-type': 'x', detail: { id: 1 } }),
    ).rejects.toThrow(/not a finding event: detail\.schemaVersion/);
    expect(local.executions.size).toBe(executions);
  });
});

/**
 * What ReadOnlyAccess reads of an execution (states:DescribeExecution,
 * GetExecutionHistory): its input, every state's input and output, every task's
 * parameters and result. None of it may name what was used: the finding's
 * resource, its title, or a reserved user's name and key.
 */
describe('execution data names nothing that was used', () => {
  const DECOY_PARAMETER = '/prod/payments/db-password';
  const names = [PLANTED_USER, PLANTED_KEY, DECOY_PARAMETER, 'ci-payments-deploy/access-key'];
  const named = (data: unknown[]) => {
    const text = JSON.stringify(data);
    return names.filter((name) => text.includes(name));
  };

  it('a real user reading a reserved parameter: acted on, the parameter named nowhere', async () => {
    const finding = userFinding({ decoy: { kind: 'ssm-parameter', name: DECOY_PARAMETER } });
    finding.title = `GetParameter of ${DECOY_PARAMETER} by ${finding.actor.arn}`;
    const { result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toContain('DeactivateKeyCall');
    expect(result.data.length).toBeGreaterThan(20);
    expect(result.data[0]).toMatchObject({ state: '(execution)', kind: 'input' });
    expect(Object.keys(result.data[0]?.value as object).sort()).toEqual([
      'digest',
      'findingId',
      'mode',
      'receivedAt',
    ]);
    expect(named(result.data)).toEqual([]);
    expect(JSON.stringify(result.data)).not.toContain(finding.title);
  });

  it('the reserved key itself: replaced, its user and key named nowhere (the records and the mail name them)', async () => {
    const finding = userFinding({ decoy: { kind: 'iam-access-key', name: 'ci-payments-deploy/access-key' } });
    finding.actor = { ...finding.actor, arn: PLANTED_ARN, accessKeyId: PLANTED_KEY };
    finding.title = `Reserved access key used by ${PLANTED_ARN}`;
    const { result } = await respond(local, finding);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toContain('RefreshCredentials');
    expect(named(result.data)).toEqual([]);
    const [decision] = await auditOf(local, finding.id);
    expect(decision?.principal).toBe(PLANTED_ARN);
    expect(local.aws.published.at(-1)?.message).toContain(`Principal:  ${PLANTED_ARN}`);
  });

  it('started directly (as the live suite does): the finding kept, the input its id and digest', async () => {
    const finding = userFinding({ decoy: { kind: 'ssm-parameter', name: DECOY_PARAMETER } });
    const result = await local.settled(await local.startFinding(finding));
    expect(result.status).toBe('SUCCEEDED');
    expect(named(result.data)).toEqual([]);
  });

  it('the reserved user only reported (no rule acts): its name stays out of the state too', async () => {
    const { resource: _decoy, ...finding } = userFinding({ kind: 'anomaly', severity: 'low' });
    finding.actor = { ...finding.actor, arn: PLANTED_ARN, accessKeyId: PLANTED_KEY };
    local.aws.plantedUsers = [PLANTED_USER];
    try {
      const { result } = await respond(local, finding);
      expect(result.status).toBe('SUCCEEDED');
      expect(result.states).toContain('NotifyOnly');
      expect(named(result.data)).toEqual([]);
      expect(local.aws.published.at(-1)?.message).toContain(`Principal:  ${PLANTED_ARN}`);
    } finally {
      local.aws.plantedUsers = [];
    }
  });
});

describe('each AWS call failing in turn leaves no half state', () => {
  /**
   * The principal is either as before, or deliberately contained: the key
   * deactivated and quarantined, any new key stored, the old key only deleted
   * once the new one is stored.
   */
  function assertNoHalfState(before: ReturnType<FakeAws['snapshot']>, aws: FakeAws) {
    const after = aws.snapshot();
    if (JSON.stringify(after) === JSON.stringify(before)) return 'as before';
    const user = after.users[USER_NAME];
    const old = user?.keys.find((k) => k.id === USER_KEY);
    const stored = JSON.parse(after.secrets[`credentials/iam-users/${USER_NAME}`] ?? '{}').AccessKeyId as
      | string
      | undefined;
    const newKeys = (user?.keys ?? []).filter((k) => k.id !== USER_KEY);
    for (const key of newKeys) expect(key.id, 'a new key that is not stored').toBe(stored);
    if (!old) expect(stored, 'the old key was deleted before a new one was stored').toBeDefined();
    else expect(old.status).toBe('Inactive');
    expect(user?.attached).toEqual([QUARANTINE]);
    return newKeys.length
      ? old
        ? 'contained, rotated, old key kept'
        : 'contained and rotated'
      : 'contained';
  }

  const cases: [string, string, number, string][] = [
    // call, SDK error, successful calls first, expected end state
    ['ListAccessKeys', 'ServiceFailureException', 0, 'as before'],
    // Recent calls only inform people: without them the response goes on (the evidence says why).
    ['LookupEvents', 'ThrottlingException', 0, 'contained and rotated'],
    ['UpdateAccessKey', 'AccessDenied', 0, 'as before'],
    ['AttachUserPolicy', 'ServiceFailureException', 0, 'as before'],
    ['CreateAccessKey', 'LimitExceededException', 0, 'contained'],
    ['CreateSecret', 'AccessDeniedException', 0, 'contained'],
    ['DeleteAccessKey', 'ServiceFailureException', 0, 'contained, rotated, old key kept'],
    // The intake's copy of the finding is written; the decision record fails.
    ['PutObject', 'ServiceUnavailable', 1, 'as before'],
    // The finding, the records: decision, evidence, plan, before deactivation; the "after" record fails.
    ['PutObject', 'InternalError', 5, 'as before'],
    ['Publish', 'AuthorizationError', 0, 'contained and rotated'],
  ];

  it.each(cases)('%s fails (%s after %i calls): %s', async (call, error, after, expected) => {
    const before = local.aws.snapshot();
    local.aws.failures[call] = { name: error, after };
    const { finding, result } = await respond(local);
    expect(assertNoHalfState(before, local.aws)).toBe(expected);
    if (expected === 'as before' && call !== 'PutObject') {
      const recorded = events(await auditOf(local, finding.id));
      expect(recorded.some((e) => e.startsWith('failed:'))).toBe(true);
      if (recorded.includes('plan')) expect(recorded).toContain('rolled-back');
      expect(result.status).toBe('FAILED');
    }
  });

  it('the intake cannot keep the finding: it raises and starts nothing (EventBridge retries, then the queue)', async () => {
    const before = local.aws.snapshot();
    const executions = local.executions.size;
    local.aws.failures.PutObject = { name: 'ServiceUnavailable', times: 1 };
    await expect(local.deliver(eventOf(userFinding()))).rejects.toMatchObject({ name: 'ServiceUnavailable' });
    expect(local.executions.size).toBe(executions);
    expect(local.aws.snapshot()).toEqual(before);
  });

  it('a new key whose storing failed is deleted even when the first delete fails too', async () => {
    const before = local.aws.snapshot();
    local.aws.failures.CreateSecret = { name: 'InternalServiceError' };
    local.aws.failures.DeleteAccessKey = { name: 'ServiceFailureException', times: 1 };
    const { finding } = await respond(local);
    expect(assertNoHalfState(before, local.aws)).toBe('contained');
    expect(events(await auditOf(local, finding.id))).toContain('after:cleanup-new-keys');
  });

  it('a rollback that cannot finish stops for a person and says what to check', async () => {
    local.aws.failures.AttachUserPolicy = { name: 'ServiceFailureException' };
    // Deactivation succeeds; every later UpdateAccessKey (the reactivation) fails.
    local.aws.failures.UpdateAccessKey = { name: 'ServiceFailureException', after: 1 };
    const { finding, result } = await respond(local);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UndoIncomplete');
    const message = local.aws.published.find((p) => p.subject?.startsWith('Action needed'));
    expect(message?.message).toContain(
      `aws iam update-access-key --user-name ${USER_NAME} --access-key-id ${USER_KEY} --status Active`,
    );
    expect(events(await auditOf(local, finding.id))).toContain('undo-failed:undo');
  });
});

describe('revert', () => {
  it('`honeytrail revert` stops the response in its grace period and undoes it; the new key stays', async () => {
    // The grace period waits (until stopped) so a revert can find the old key.
    local.waits = { GracePeriod: 30_000 };
    const finding = userFinding();
    const started = await local.deliver(eventOf(finding));
    const original = started.executionArn ?? '';
    for (let i = 0; i < 400 && !local.aws.calls.includes('CreateSecret'); i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(local.aws.iam.users[USER_NAME]?.keys.find((k) => k.id === USER_KEY)?.status).toBe('Inactive');

    const reverted = await honeytrail('revert', original, '--false-positive', '--reason', 'pen test');
    expect(reverted.code).toBe(0);
    const revertArn = /revert started: (\S+)/.exec(reverted.out)?.[1] ?? '';
    expect((await local.settled(revertArn)).status).toBe('SUCCEEDED');
    expect((await local.settled(original)).status).toBe('ABORTED');

    const user = local.aws.iam.users[USER_NAME];
    expect(user?.keys.find((k) => k.id === USER_KEY)?.status).toBe('Active');
    expect(user?.attached).toEqual([]);
    expect(user?.keys).toHaveLength(2);
    const records = await auditOf(local, finding.id);
    const revertRecords = records.filter((r) => r.executionArn === revertArn);
    expect(events(revertRecords)).toEqual([
      'revert-requested',
      'before:detach-quarantine',
      'after:detach-quarantine',
      'before:reactivate-key',
      'after:reactivate-key',
      'reverted',
    ]);
    expect(revertRecords[0]).toMatchObject({ decidedBy: local.aws.caller, labels: ['false-positive'] });
    expect(revertRecords[0]?.reason).toContain('pen test');

    // A second revert finds nothing left to undo.
    const again = await honeytrail('revert', original);
    const againArn = /revert started: (\S+)/.exec(again.out)?.[1] ?? '';
    expect((await local.settled(againArn)).status).toBe('SUCCEEDED');
    const last = (await auditOf(local, finding.id)).filter((r) => r.executionArn === againArn);
    expect(events(last)).toEqual(['revert-requested', 'reverted']);
  });

  it('a failed health check after acting reverts by itself', async () => {
    local.alarming = ['api-5xx'];
    const finding = userFinding();
    const started = await local.deliver(eventOf(finding));
    const result = await local.settled(started.executionArn ?? '');
    expect(result.status).toBe('SUCCEEDED');
    const user = local.aws.iam.users[USER_NAME];
    expect(user?.keys.find((k) => k.id === USER_KEY)?.status).toBe('Active');
    expect(user?.attached).toEqual([]);
    const records = await auditOf(local, finding.id);
    expect(records.at(-1)).toMatchObject({ event: 'reverted', reason: 'health-check' });
    expect(events(records)).not.toContain('before:delete-old-key');
  });

  it('revert of an execution that is not a response is refused with the reason', async () => {
    const bad = await honeytrail('revert', 'arn:aws:states:us-east-1:111122223333:execution:other:run-1');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/is not a response execution/);
    const worse = await honeytrail('revert', 'not-an-arn');
    expect(worse.err).toMatch(/expected an execution ARN/);
  });
});

describe('dry run (the default)', () => {
  let dry: LocalWorkflow;
  beforeAll(async () => {
    // Its own app: the policy (dryRun) is synthesized into the functions' environment.
    local.dispose();
    dry = await LocalWorkflow.create({});
  });
  afterAll(() => dry?.dispose());
  beforeEach(() => resetWorld(dry.aws));

  it('plans, records and notifies every step; executes none', async () => {
    const before = dry.aws.snapshot();
    const { finding, result } = await respond(dry);
    expect(result.status).toBe('SUCCEEDED');
    expect(dry.aws.snapshot()).toEqual(before);
    const records = await auditOf(dry, finding.id);
    expect(events(records)).toEqual([
      'decision',
      'plan',
      'planned:deactivate-key',
      'planned:attach-quarantine',
      'planned:rotate-key',
      'planned:delete-old-key',
      'notified',
    ]);
    expect(records.every((r) => r.dryRun)).toBe(true);
    expect(dry.aws.published[0]?.subject).toBe(`Dry run: would contain ${USER_NAME}`);
  });

  it('`honeytrail audit` prints the trail for people, and filters by time', async () => {
    const { finding } = await respond(dry);
    const text = await honeytrail('audit', '--bucket', dry.bucket, '--finding', finding.id);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`f-${finding.id}`);
    expect(text.out).toMatch(/planned\s+deactivate-key\s+\[dry-run\]/);
    const none = await honeytrail(
      'audit',
      '--bucket',
      dry.bucket,
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
    );
    expect(none.out).toBe('no audit records match\n');
    const bad = await honeytrail('audit', '--bucket', dry.bucket, '--since', 'yesterday');
    expect(bad.err).toMatch(/--since: expected an ISO time/);
  });
});
