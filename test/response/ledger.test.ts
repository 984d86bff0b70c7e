import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { findingDigest } from '../../layers/findings/records';
import { type AuditRecord, MemoryAuditStore } from '../../layers/response/audit';
import type { OrganizationLookup } from '../../layers/response/guardrails';
import { KPI } from '../../layers/response/kpi';
import { type LedgerInput, monotonicClock, runLedger } from '../../layers/response/ledger';
import type { Message } from '../../layers/response/messages';
import { finalisePlan, revokePolicyDocument } from '../../layers/response/plan';
import { type Decision, decide, HELD_PRINCIPAL, responsePolicy } from '../../layers/response/policy';
import { MemoryReceivedFindings } from '../../layers/response/received';
import { planRevert, RevertError } from '../../layers/response/revert';
import { findingFrom, incidentPorts, USER_KEY, USER_NAME, userRecord } from './fixtures';

/** The ledger and the planning around it, without AWS: memory store, collecting notifier, fixed clock. */

const ACCOUNT = '111122223333';
const policy = responsePolicy(parseConfig({ dryRun: false }), { ownRoles: [], account: ACCOUNT });
const finding = findingFrom(userRecord, { window: 'ledger' });
/** What the execution carries of the finding. */
const ref = { findingId: finding.id, digest: findingDigest(finding) };
const EXECUTION = {
  arn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:m:f-${finding.id}`,
  startedAt: '2024-08-01T15:30:00.000Z',
};
const facts = {
  exists: true,
  accessKeys: [{ accessKeyId: USER_KEY, status: 'Active' }],
  attachedPolicyArns: [],
  inlinePolicyNames: [],
  groups: [],
  tags: { owner: 'team@example.com' },
};

function setup() {
  const store = new MemoryAuditStore();
  const findings = new MemoryReceivedFindings();
  void findings.keep(finding, ref.digest);
  const messages: Message[] = [];
  let t = Date.parse('2024-08-01T15:30:00.000Z');
  const deps = {
    store,
    notifier: { publish: async (m: Message) => void messages.push(m) },
    policy,
    now: () => {
      t += 1000;
      return new Date(t);
    },
    evidenceLocation: 's3://records',
    findings,
    ...incidentPorts(),
  };
  const call = (input: Omit<LedgerInput, 'execution'> & { execution?: LedgerInput['execution'] }) =>
    runLedger({ execution: EXECUTION, ...input }, deps);
  return { store, messages, call, findings };
}

describe('ledger', () => {
  it('decides by policy and records the decision with its rule', async () => {
    const { store, call } = setup();
    const { result } = await call({
      op: 'decide',
      record: 'Decide',
      state: { mode: 'respond', ...ref, done: {} },
    });
    expect(result).toMatchObject({ outcome: 'act', path: 'user-key' });
    expect(store.records[0]).toMatchObject({
      event: 'decision',
      rule: '#0 resource-access>=high:auto',
      decidedBy: 'policy',
    });
  });

  it('writes a record once even when the same state calls twice (a Lambda retry)', async () => {
    const { store, call } = setup();
    const decision = decide(finding, policy);
    const plan = finalisePlan(decision, facts);
    const state = { mode: 'respond' as const, ...ref, decision, evidence: { key: 'e', plan }, done: {} };
    await call({ op: 'before', record: 'BeforeDeactivateKey', step: 'deactivate-key', state });
    await call({ op: 'before', record: 'BeforeDeactivateKey', step: 'deactivate-key', state });
    expect(store.records).toHaveLength(1);
  });

  it('dates the session deny at the moment of the call', async () => {
    const { call } = setup();
    const decision = decide(findingFrom(userRecord, { window: 'x' }), policy);
    const { result } = await call({
      op: 'before',
      record: 'BeforeRevokeSessions',
      step: 'revoke-sessions',
      state: { mode: 'respond', decision, done: {} },
    });
    const document = JSON.parse((result as { policyDocument: string }).policyDocument);
    expect(document.Statement[0].Condition.DateLessThan['aws:TokenIssueTime']).toBe(
      '2024-08-01T15:30:01.000Z',
    );
  });

  it('emits the KPIs: automatic actions, time to containment, approvals, false positives', async () => {
    const { call } = setup();
    const decision = decide(finding, policy);
    const plan = finalisePlan(decision, facts);
    const state = {
      mode: 'respond' as const,
      ...ref,
      decision,
      evidence: { key: 'e', plan },
      receivedAt: '2024-08-01T15:29:00.000Z',
      done: { deactivateKey: {} },
    };
    const after = await call({ op: 'after', record: 'AfterDeactivateKey', step: 'deactivate-key', state });
    expect(after.kpis).toEqual([{ name: KPI.automaticActions, unit: 'Count', value: 1 }]);
    const contained = await call({ op: 'contained', record: 'Contained', state });
    expect(contained.kpis).toEqual([{ name: KPI.findingToContainment, unit: 'Milliseconds', value: 62_000 }]);
    const approvalState = { ...state, decision: { ...decision, outcome: 'approve' as const } };
    const requested = await call({
      op: 'request-approval',
      record: 'RequestApproval',
      token: 'tok',
      state: approvalState,
    });
    expect(requested.kpis.map((k) => k.name)).toEqual([KPI.approvalsRequested]);
    const denied = await call({
      op: 'approval-denied',
      record: 'ApprovalDenied',
      state: {
        ...approvalState,
        error: {
          Error: 'ApprovalDenied',
          Cause: JSON.stringify({ approver: 'arn:aws:iam::1:user/bob', falsePositive: true }),
        },
      },
    });
    expect(denied.kpis).toEqual([
      { name: KPI.approvalsDenied, unit: 'Count', value: 1 },
      {
        name: KPI.falsePositives,
        unit: 'Count',
        value: 1,
        dimension: { name: 'Reason', value: 'denied' },
      },
    ]);
  });

  it('tells the approver how to approve and deny, and what happens without an answer', async () => {
    const { messages, call } = setup();
    const decision = { ...decide(finding, policy), outcome: 'approve' as const };
    await call({
      op: 'request-approval',
      record: 'RequestApproval',
      token: 'AAAA+token/with=chars',
      state: {
        mode: 'respond',
        ...ref,
        decision,
        evidence: { key: 'evidence/x.json', plan: finalisePlan(decision, facts) },
        done: {},
      },
    });
    const body = messages[0]?.body ?? '';
    expect(body).toContain("npx platform-ops approve 'AAAA+token/with=chars'");
    expect(body).toContain("npx platform-ops deny 'AAAA+token/with=chars'");
    expect(body).toContain('Without an answer within 60 minutes nothing is done.');
    expect(body).toContain('s3://records/evidence/x.json');
    expect(messages[0]?.subject.length).toBeLessThanOrEqual(100);
  });

  it('rejects malformed input with what is wrong', async () => {
    const { call } = setup();
    await expect(
      call({ op: 'decide', record: 'Decide', state: { mode: 'respond', done: {} } }),
    ).rejects.toThrow(/op decide needs the finding's id and digest/);
    await expect(
      call({
        op: 'decide',
        record: 'Decide',
        state: { mode: 'respond', findingId: finding.id, digest: '0'.repeat(64), done: {} },
      }),
    ).rejects.toThrow(/no finding kept under received\//);
    await expect(runLedger({ op: 'nope' }, { store: new MemoryAuditStore() } as never)).rejects.toThrow(
      /ledger input is malformed/,
    );
  });

  it("keeps a reserved user's name out of the state, and in the records and mails", async () => {
    const { store, messages, call, findings } = setup();
    // The reserved (planted) user's own key, used: the actor names the reserved user.
    const used = findingFrom(userRecord, { window: 'held', decoy: { kind: 'iam-user', name: USER_NAME } });
    const usedRef = { findingId: used.id, digest: findingDigest(used) };
    await findings.keep(used, usedRef.digest);
    const decided = await call({
      op: 'decide',
      record: 'Decide',
      state: { mode: 'respond', ...usedRef, done: {} },
    });
    const decision = decided.result as Decision;
    expect(decision).toMatchObject({ path: 'refresh', principal: HELD_PRINCIPAL, target: null });
    expect(JSON.stringify(decision)).not.toContain(USER_NAME);
    expect(JSON.stringify(decision)).not.toContain(USER_KEY);
    expect(store.records[0]?.principal).toBe(used.actor.arn);

    await call({
      op: 'contained',
      record: 'Contained',
      state: { mode: 'respond', ...usedRef, decision, done: {} },
    });
    expect(store.records[1]?.principal).toBe(used.actor.arn);
    expect(messages[0]?.body).toContain(`Principal:  ${used.actor.arn}`);
  });

  it('a revert of a reserved-key response hands the state the held decision, and where the finding is', async () => {
    const { store, call, findings } = setup();
    const used = findingFrom(userRecord, {
      window: 'held-revert',
      decoy: { kind: 'iam-user', name: USER_NAME },
    });
    const usedRef = { findingId: used.id, digest: findingDigest(used) };
    await findings.keep(used, usedRef.digest);
    const execution = { ...EXECUTION, arn: `${EXECUTION.arn.replace(/f-[^:]+$/, '')}f-${used.id}` };
    await call({
      op: 'decide',
      record: 'Decide',
      state: { mode: 'respond', ...usedRef, done: {} },
      execution,
    });
    const planned = await call({
      op: 'plan-revert',
      record: 'PlanRevert',
      state: { mode: 'revert', revertOf: execution.arn, requestedBy: 'me', done: {} },
      execution: { ...EXECUTION, arn: `${EXECUTION.arn}-revert` },
    });
    const result = planned.result as { decision: Decision; findingId: string; digest: string };
    expect(result.decision.principal).toBe(HELD_PRINCIPAL);
    expect(JSON.stringify(result)).not.toContain(USER_NAME);
    expect(result).toMatchObject(usedRef);
    expect(store.records.at(-1)?.principal).toBe(used.actor.arn);
  });

  it("organization mode: looks up the principal's OUs for gradual enablement; a failed lookup notifies", async () => {
    const member = '444455556666';
    const orgPolicy = responsePolicy(
      parseConfig({
        dryRun: false,
        organization: {
          securityAccount: ACCOUNT,
          targets: { organizationalUnitIds: ['ou-ab12-enabled1'] },
          automation: { organizationalUnitIds: ['ou-ab12-enabled1'] },
        },
      }),
      { ownRoles: [], account: ACCOUNT },
    );
    const memberFinding = findingFrom(userRecord, { window: 'org' });
    memberFinding.actor = {
      ...memberFinding.actor,
      arn: `arn:aws:iam::${member}:user/alice`,
      account: member,
    };
    const memberRef = { findingId: memberFinding.id, digest: findingDigest(memberFinding) };
    const findings = new MemoryReceivedFindings();
    await findings.keep(memberFinding, memberRef.digest);
    const run = (organization: OrganizationLookup) =>
      runLedger(
        {
          op: 'decide',
          record: 'Decide',
          state: { mode: 'respond', ...memberRef, done: {} },
          execution: EXECUTION,
        },
        {
          store: new MemoryAuditStore(),
          notifier: { publish: async () => undefined },
          policy: orgPolicy,
          now: () => new Date(),
          evidenceLocation: 's3://records',
          findings,
          ...incidentPorts(),
          organization,
        },
      );
    const asked: string[] = [];
    const outside = await run({
      organizationalUnitsOf: async (account) => {
        asked.push(account);
        return ['ou-ab12-pilot000'];
      },
    });
    expect(asked).toEqual([member]);
    expect((outside.result as Decision).reason).toMatch(/not enabled for automatic action/);
    const failed = await run({
      organizationalUnitsOf: async () => {
        throw Object.assign(new Error('rate exceeded'), { name: 'TooManyRequestsException' });
      },
    });
    expect((failed.result as Decision).reason).toMatch(
      /could not be read \(TooManyRequestsException: rate exceeded\)/,
    );
  });

  it('a monotonic clock never repeats a millisecond', () => {
    const clock = monotonicClock(() => 1000);
    expect([clock(), clock(), clock()].map((d) => d.getTime())).toEqual([1000, 1001, 1002]);
  });
});

describe('plans', () => {
  it('skips what would change nothing, so undo never undoes what the response did not do', () => {
    const decision = decide(finding, policy);
    const plan = finalisePlan(decision, {
      ...facts,
      accessKeys: [
        { accessKeyId: USER_KEY, status: 'Inactive' },
        { accessKeyId: 'AKIAOTHER00000000001', status: 'Active' },
      ],
      attachedPolicyArns: ['arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3'],
    });
    expect(plan).toMatchObject({
      deactivateKey: false,
      attachQuarantine: false,
      rotate: false,
      owner: 'team@example.com',
    });
    expect(plan.skipped.map((s) => s.step)).toEqual(['attach-quarantine', 'deactivate-key', 'rotate-key']);
  });

  it('does nothing to a principal that is gone or a key that is not its own', () => {
    const decision = decide(finding, policy);
    expect(finalisePlan(decision, { ...facts, exists: false }).deactivateKey).toBe(false);
    const foreign = finalisePlan(decision, {
      ...facts,
      accessKeys: [{ accessKeyId: 'AKIAOTHER', status: 'Active' }],
    });
    expect(foreign).toMatchObject({ deactivateKey: false, attachQuarantine: false });
  });

  it('the session deny is the console\'s "revoke older sessions" policy', () => {
    expect(JSON.parse(revokePolicyDocument(new Date('2024-01-01T00:00:00Z')))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: ['*'],
          Resource: ['*'],
          Condition: { DateLessThan: { 'aws:TokenIssueTime': '2024-01-01T00:00:00.000Z' } },
        },
      ],
    });
  });
});

describe('revert plans', () => {
  const decision = decide(finding, policy);
  const plan = finalisePlan(decision, facts);
  const record = (
    event: AuditRecord['event'],
    step?: string,
    extra: Partial<AuditRecord> = {},
  ): AuditRecord => ({
    schemaVersion: 1,
    at: '2024-08-01T15:30:00.000Z',
    findingId: finding.id,
    executionArn: EXECUTION.arn,
    executionStartedAt: EXECUTION.startedAt,
    sequence: `${event}-${step}`,
    event,
    step,
    decidedBy: 'policy',
    dryRun: false,
    labels: [],
    detail: {},
    ...extra,
  });
  const history = [
    record('decision', undefined, { detail: { decision } }),
    record('plan', undefined, { detail: { plan } }),
    record('before', 'deactivate-key'),
    record('after', 'deactivate-key'),
    record('before', 'attach-quarantine'),
  ];

  it('undoes every step that started, even one whose "after" was never written', () => {
    const revert = planRevert(history, EXECUTION.arn);
    expect(Object.keys(revert.done).sort()).toEqual(['attachQuarantine', 'deactivateKey']);
    expect(revert.plan.userName).toBe(USER_NAME);
  });

  it('does not undo twice, and cannot reactivate a deleted key', () => {
    const undone = [
      ...history,
      record('after', 'detach-quarantine', { executionArn: 'revert-1', detail: { revertOf: EXECUTION.arn } }),
    ];
    expect(Object.keys(planRevert(undone, EXECUTION.arn).done)).toEqual(['deactivateKey']);
    const deleted = [...history, record('before', 'delete-old-key')];
    const revert = planRevert(deleted, EXECUTION.arn);
    expect(revert.done.deactivateKey).toBeUndefined();
    expect(revert.notes.join()).toMatch(/deleted after its grace period/);
  });

  it('a dry run or an unknown execution has nothing to undo', () => {
    const dry = history.map((r) =>
      r.event === 'decision'
        ? { ...r, detail: { decision: { ...decision, dryRun: true, outcome: 'dry-run' } } }
        : r,
    );
    expect(planRevert(dry, EXECUTION.arn).done).toEqual({});
    expect(() => planRevert(history, 'arn:other')).toThrow(RevertError);
  });
});
