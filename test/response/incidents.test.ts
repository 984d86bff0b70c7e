import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import type { Finding } from '../../layers/findings/finding';
import { findingDigest } from '../../layers/findings/records';
import { MemoryAuditStore } from '../../layers/response/audit';
import { MemoryBudgetStore, spend, spendBudget } from '../../layers/response/budget';
import { DynamoBudgetStore, DynamoIncidentStore } from '../../layers/response/incident-store';
import {
  addFinding,
  type IncidentStore,
  linksOf,
  MemoryIncidentStore,
  openIncident,
  principalSeverity,
  roleOf,
  stagesOf,
  withRole,
} from '../../layers/response/incidents';
import { KPI } from '../../layers/response/kpi';
import { type LedgerDeps, runLedger } from '../../layers/response/ledger';
import type { Message } from '../../layers/response/messages';
import { responsePolicy } from '../../layers/response/policy';
import { MemoryReceivedFindings } from '../../layers/response/received';
import { FakeAws } from './fake-aws';
import { findingFrom, incidentPorts, roleRecord, userRecord } from './fixtures';

/** Incidents and the automation budget: pure logic without mocks, the DynamoDB stores over FakeAws. */

const ACCOUNT = '111122223333';
const T0 = Date.parse('2024-08-01T15:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A finding of the user in the fixtures, `minutes` after T0. */
function userFinding(window: string, minutes: number, over: Partial<Finding> = {}): Finding {
  return { ...findingFrom(userRecord, { window }), firstSeen: at(minutes), lastSeen: at(minutes), ...over };
}

describe('incident grouping (pure)', () => {
  it('links a finding by principal, access key, role session and source address', () => {
    const user = userFinding('a', 0, { sourceIp: '203.0.113.7' });
    expect(linksOf(user)).toEqual([
      `principal:${user.actor.arn}`,
      `key:${user.actor.accessKeyId}`,
      'ip:203.0.113.7',
    ]);
    const session = findingFrom(roleRecord);
    expect(linksOf({ ...session, sourceIp: 'ec2.amazonaws.com' })).toEqual([
      expect.stringMatching(/^principal:arn:aws:iam::\d{12}:role\//),
      `key:${session.actor.accessKeyId}`,
      `session:${session.actor.arn}`,
    ]);
  });

  it('keeps the timeline, the kill-chain stages and the highest severity, not the last', () => {
    const first = userFinding('a', 0, { severity: 'critical', eventNames: ['ssm:GetParameter'] });
    const second = userFinding('b', 5, { severity: 'medium', eventNames: ['iam:ListUsers'] });
    const tamper = userFinding('c', 9, {
      kind: 'tamper',
      severity: 'high',
      eventNames: ['cloudtrail:StopLogging'],
    });
    const incident = addFinding(addFinding(openIncident(first), second), tamper);
    expect(incident.severity).toBe('critical');
    expect(incident.timeline.map((e) => e.findingId)).toEqual([first.id, second.id, tamper.id]);
    expect(incident.stages).toEqual(['defense-evasion', 'credential-access', 'discovery']);
    // The same finding again (a retry) updates its entry, it does not add one.
    expect(addFinding(incident, second).timeline).toHaveLength(3);
  });

  it.each([
    { kind: 'tamper' as const, eventNames: ['DeleteTrail'], stages: ['defense-evasion'] },
    { kind: 'anomaly' as const, eventNames: ['iam:CreateAccessKey'], stages: ['persistence'] },
    { kind: 'anomaly' as const, eventNames: ['GetSecretValue'], stages: ['credential-access'] },
    { kind: 'anomaly' as const, eventNames: ['made-up:Call'], stages: [] },
  ])('stages of $eventNames ($kind): $stages', ({ kind, eventNames, stages }) => {
    expect(stagesOf({ kind, eventNames })).toEqual(stages);
  });

  it('answers a principal at the severity of its own findings: an address-linked bystander is not raised', () => {
    const attacker = userFinding('a', 0, { severity: 'critical', sourceIp: '203.0.113.7' });
    const bystander = {
      ...userFinding('b', 1, { severity: 'low', sourceIp: '203.0.113.7' }),
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/bystander`, type: 'IAMUser', accessKeyId: 'AKIABYSTANDER' },
    };
    const incident = addFinding(openIncident(attacker), bystander);
    expect(incident.severity).toBe('critical');
    expect(principalSeverity(incident, `arn:aws:iam::${ACCOUNT}:user/bystander`)).toBe('low');
  });

  it('one response per principal: join, take over a mere notification, escalate a waiting approval', () => {
    const finding = userFinding('a', 0);
    const principal = finding.actor.arn;
    const first = 'arn:aws:states:us-east-1:1:execution:m:first';
    const open = openIncident(finding);
    expect(roleOf(open, principal, first, 'approve')).toEqual({ role: 'respond' });
    const claimed = withRole(
      open,
      principal,
      { role: 'respond' },
      {
        executionArn: first,
        findingId: finding.id,
        outcome: 'approve',
      },
    );
    expect(roleOf(claimed, principal, 'second', 'approve')).toMatchObject({ role: 'join' });
    // Its own retry keeps the role.
    expect(roleOf(claimed, principal, first, 'approve')).toEqual({ role: 'respond' });
    const waiting = {
      ...claimed,
      responses: {
        [principal]: { ...claimed.responses[principal]!, status: 'awaiting-approval' as const, token: 't' },
      },
    };
    expect(roleOf(waiting, principal, 'second', 'act')).toMatchObject({
      role: 'escalate',
      by: { token: 't' },
    });
    expect(roleOf(waiting, principal, 'second', 'approve')).toMatchObject({ role: 'join' });
    const notified = {
      ...claimed,
      responses: {
        [principal]: {
          ...claimed.responses[principal]!,
          outcome: 'notify' as const,
          status: 'ended' as const,
        },
      },
    };
    expect(roleOf(notified, principal, 'second', 'approve')).toEqual({ role: 'respond' });
    expect(roleOf(notified, principal, 'second', 'notify')).toMatchObject({ role: 'join' });
  });
});

describe('the automation budget (pure)', () => {
  const settings = { principals: 2, minutes: 60 };
  it('grants N principals in M minutes, the same principal again for free, then refuses', () => {
    let state = { spent: [], version: 0 } as Parameters<typeof spend>[0];
    const now = new Date(T0);
    for (const principal of ['a', 'b', 'a']) {
      const result = spend(state, principal, now, settings);
      expect(result.verdict.granted).toBe(true);
      state = result.state;
    }
    expect(spend(state, 'c', now, settings).verdict).toEqual({
      granted: false,
      used: 2,
      limit: 2,
      minutes: 60,
    });
    // An hour later the window has room again.
    expect(spend(state, 'c', new Date(T0 + 61 * 60_000), settings).verdict).toMatchObject({
      granted: true,
      used: 1,
    });
  });
});

/** The ledger's decide op over memory ports, for one execution per finding. */
function ledger(over: Partial<LedgerDeps> = {}) {
  const findings = new MemoryReceivedFindings();
  const messages: Message[] = [];
  const ports = incidentPorts();
  const store = new MemoryAuditStore();
  const deps: LedgerDeps = {
    store,
    notifier: { publish: async (m: Message) => void messages.push(m) },
    policy: responsePolicy(parseConfig({ dryRun: false }), { ownRoles: [], account: ACCOUNT }),
    now: () => new Date(T0 + 3_600_000),
    evidenceLocation: 's3://records',
    findings,
    ...ports,
    ...over,
  };
  const decideFor = async (finding: Finding, execution: string) => {
    const digest = findingDigest(finding);
    await findings.keep(finding, digest);
    return runLedger(
      {
        op: 'decide',
        record: 'Decide',
        state: { mode: 'respond', findingId: finding.id, digest, done: {} },
        execution: { arn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:m:${execution}`, startedAt: at(60) },
      },
      deps,
    );
  };
  return { deps, decideFor, store, messages, escalated: ports.escalated };
}

type Made = { outcome: string; reason: string; incidentId?: string };

describe('ledger: one response per actor', () => {
  it('the first finding responds; later ones join the incident and name the response', async () => {
    const { decideFor, store } = ledger();
    const first = (await decideFor(userFinding('a', 0), 'one')).result as Made;
    const second = (await decideFor(userFinding('b', 3), 'two')).result as Made;
    expect(first).toMatchObject({ outcome: 'act' });
    expect(second.outcome).toBe('notify');
    expect(second.reason).toMatch(/^incident [0-9a-f]{32} \(high, 2 finding\(s\).*answered by response one$/);
    expect(second.incidentId).toBe(first.incidentId);
    expect(store.records.map((r) => [r.incidentId, r.detail.role])).toEqual([
      [first.incidentId, 'respond'],
      [first.incidentId, 'join'],
    ]);
  });

  it('a finding that raises the severity escalates the waiting approval instead of starting a response', async () => {
    const config = parseConfig({
      dryRun: false,
      response: {
        rules: [
          { kind: 'resource-access', minSeverity: 'medium', action: 'approve' },
          { kind: 'resource-access', minSeverity: 'critical', action: 'auto' },
        ],
      },
    });
    const { decideFor, deps, escalated } = ledger({
      policy: responsePolicy(config, { ownRoles: [], account: ACCOUNT }),
    });
    const first = (await decideFor(userFinding('a', 0, { severity: 'medium' }), 'one')).result as Made;
    expect(first.outcome).toBe('approve');
    // The first response asks for approval: its token is kept with the incident.
    await runLedger(
      {
        op: 'request-approval',
        record: 'RequestApproval',
        token: 'token-1',
        state: { mode: 'respond', decision: first as never, done: {} },
        execution: { arn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:m:one`, startedAt: at(60) },
      },
      deps,
    );
    const second = (await decideFor(userFinding('b', 2, { severity: 'critical' }), 'two')).result as Made;
    expect(second.outcome).toBe('notify');
    expect(second.reason).toMatch(/escalated response one from approval to action/);
    expect(escalated).toEqual([
      { token: 'token-1', approval: expect.objectContaining({ approved: true, approver: 'policy' }) },
    ]);
  });

  it('a response that only notified is taken over when the severity calls for one', async () => {
    const { decideFor } = ledger();
    const low = (await decideFor(userFinding('a', 0, { severity: 'low' }), 'one')).result as Made;
    expect(low.outcome).toBe('notify');
    const high = (await decideFor(userFinding('b', 1, { severity: 'high' }), 'two')).result as Made;
    expect(high.outcome).toBe('act');
  });

  it('a quiet actor opens a new incident after the span', async () => {
    const { decideFor, deps } = ledger();
    const first = (await decideFor(userFinding('a', 0), 'one')).result as Made;
    const later = userFinding('b', deps.policy.incidentSpanMinutes + 1);
    const next = (await decideFor(later, 'two')).result as Made;
    expect(next.outcome).toBe('act');
    expect(next.incidentId).not.toBe(first.incidentId);
  });

  it('beyond the automation budget an automatic action waits for approval, and says why', async () => {
    const budget = new MemoryBudgetStore();
    for (const principal of ['p1', 'p2', 'p3'])
      await spendBudget(budget, principal, new Date(T0 + 3_600_000), { principals: 3, minutes: 60 });
    const { decideFor, store } = ledger({ budget });
    const { result, kpis } = await decideFor(userFinding('a', 0), 'one');
    expect(result).toMatchObject({
      outcome: 'approve',
      reason: expect.stringMatching(
        /^automation budget spent: 3 principal\(s\) contained automatically in the last 60 minutes \(limit 3\)/,
      ),
    });
    expect(store.records[0]?.detail.budget).toEqual({ granted: false, used: 3, limit: 3, minutes: 60 });
    expect(kpis.map((k) => [k.name, k.value])).toEqual([
      [KPI.automationBudgetUsed, 3],
      [KPI.automationHeld, 1],
      [KPI.incidentsOpened, 1],
    ]);
  });
});

describe('concurrent decisions for one principal', () => {
  it('cannot both respond: the conditional write makes the second join', async () => {
    const incidents = new MemoryIncidentStore();
    const { decideFor } = ledger({ incidents });
    const results = await Promise.all([
      decideFor(userFinding('a', 0), 'one'),
      decideFor(userFinding('b', 0), 'two'),
    ]);
    const outcomes = results.map((r) => (r.result as Made).outcome).sort();
    expect(outcomes).toEqual(['act', 'notify']);
    expect(incidents.incidents.size).toBe(1);
  });
});

describe('the state-table stores (aws-sdk-client-mock)', () => {
  const aws = new FakeAws();
  beforeEach(() => aws.install());
  afterEach(() => aws.restore());
  const doc = () => DynamoDBDocumentClient.from(new DynamoDBClient({}));

  it('stores, finds by any link, and refuses a stale version or a principal another open incident holds', async () => {
    const store: IncidentStore = new DynamoIncidentStore(doc(), 'state');
    const first = userFinding('a', 0, { sourceIp: '203.0.113.7' });
    const since = new Date(T0 - 3_600_000);
    const incident = openIncident(first);
    expect(await store.save(incident, since)).toBe(true);
    // Saved again at version 0: someone else wrote first.
    expect(await store.save(incident, since)).toBe(false);
    const found = await store.find(['ip:203.0.113.7'], since);
    expect(found).toMatchObject({ id: incident.id, version: 1 });
    // Another new incident for the same principal while this one is open: refused (TransactionCanceledException).
    const rival = openIncident(userFinding('b', 1));
    expect(await store.save(rival, since)).toBe(false);
    expect(await store.save(addFinding(found!, userFinding('b', 1)), since)).toBe(true);
    expect((await store.load(incident.id))?.timeline).toHaveLength(2);
  });

  it('a status change saves the incident alone, even after a newer incident took its principal', async () => {
    const store = new DynamoIncidentStore(doc(), 'state');
    const old = openIncident(userFinding('a', 0));
    expect(await store.save(old, new Date(T0 - 60_000))).toBe(true);
    // A day later the principal is in a new incident.
    const fresh = openIncident(userFinding('b', 24 * 60));
    expect(await store.save(fresh, new Date(T0 + 60_000))).toBe(true);
    const stored = (await store.load(old.id))!;
    expect(await store.save(stored, new Date(0))).toBe(false);
    expect(await store.save(stored, new Date(0), { relink: false })).toBe(true);
    expect((await store.find([`principal:${userFinding('c', 0).actor.arn}`], new Date(T0)))?.id).toBe(
      fresh.id,
    );
  });

  it('keeps the automation budget with conditional puts (ConditionalCheckFailedException: read again)', async () => {
    const store = new DynamoBudgetStore(doc(), 'state');
    const now = new Date(T0);
    expect(await spendBudget(store, 'a', now, { principals: 1, minutes: 60 })).toMatchObject({
      granted: true,
    });
    expect(await store.save({ spent: [], version: 0 })).toBe(false);
    expect(await spendBudget(store, 'b', now, { principals: 1, minutes: 60 })).toMatchObject({
      granted: false,
    });
  });
});
