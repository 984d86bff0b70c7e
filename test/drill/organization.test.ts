import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toEnvelope } from '../../layers/cloudtrail/record';
import { organizationConfig } from '../../layers/drill/organization';
import { DeployedRouting, type EventEnvelope } from '../../layers/drill/routing';
import { type DrillResult, runDrill } from '../../layers/drill/runner';
import { DEFAULT_SCENARIO_PATH, loadScenario, parseScenario } from '../../layers/drill/scenario';
import type { DeployedRule } from '../../layers/drill/template';
import { synthesizeInChild } from './synth-child';

/**
 * The multi-account drill: a security account and two member accounts, an intruder
 * moving from one member into the other. One run (one synthesis) for the file.
 */

const SCENARIO = join(DEFAULT_SCENARIO_PATH, '..', 'cross-account-role-hop.json');
const PAYMENTS = '111111111111';
const ANALYTICS = '333333333333';
const SECURITY = '222233334444';

describe('the organization drill (cross-account-role-hop)', () => {
  let result: DrillResult;
  beforeAll(async () => {
    const scenario = loadScenario(SCENARIO);
    const deployment = await synthesizeInChild(organizationConfig({}, scenario), SECURITY);
    result = await runDrill({ config: {}, scenario, deployment });
  }, 240_000);

  it('passes: every touch in both members found, no benign principal acted on', () => {
    expect(result.failures).toEqual([]);
    expect(result.kpis).toMatchObject({
      missedTouches: 0,
      benignActedOn: 0,
      actionsExecuted: 0,
      passed: true,
    });
    expect(result.kpis.touchesExpected).toBe(7);
    // Three attack principals (the leaked key, the hopped session, the planted key) of one actor,
    // linked by its address: one incident, one response each, each named within 10 minutes.
    // (Benign principals' low or medium anomaly findings, scored as log files arrive, open
    // incidents of their own that only notify: counted in kpis.incidents, acted on never.)
    const attackIncidents = result.incidents.filter((incident) =>
      incident.principals.some((principal) => result.attackPrincipals.includes(principal)),
    );
    expect(attackIncidents).toHaveLength(1);
    // The incident names a role session by its role.
    expect(attackIncidents[0]!.principals).toHaveLength(result.attackPrincipals.length);
    expect(result.kpis).toMatchObject({ maxResponsesPerAttacker: 1, attackersUnmet: 0 });
    expect(result.kpis.timeToDetectMs.max).toBeLessThanOrEqual(600_000);
  });

  it('plants decoys in each member account, none in the security account', () => {
    const members = result.organization!.members;
    expect(Object.keys(members)).toEqual(['payments', 'analytics']);
    for (const [name, account] of [
      ['payments', PAYMENTS],
      ['analytics', ANALYTICS],
    ] as const) {
      const decoys = members[name]!.decoys;
      expect(decoys.length).toBeGreaterThan(5);
      for (const decoy of decoys.filter((d) => d.arn.split(':')[4]))
        expect(decoy.arn.split(':')[4]).toBe(account);
    }
    const names = (name: string) => new Set(members[name]!.decoys.map((d) => d.name));
    expect([...names('payments')].filter((n) => names('analytics').has(n))).toEqual([]);
  });

  it('routes member events through the member’s own forwarding rules to the security account’s central bus', () => {
    const byIndex = (i: number) => result.steps[i]!;
    // The planted key of analytics tried in Ireland: the member's rule in eu-west-1, then the central bus.
    const ireland = byIndex(10);
    expect(ireland).toMatchObject({
      account: ANALYTICS,
      region: 'eu-west-1',
      detected: true,
      routedFrom: ANALYTICS,
    });
    expect(ireland.rules[0]).toMatch(/^eu-west-1\/.* > us-east-1\/.*$/);
    const member = result.kpis.organization!;
    expect(member.securityAccount).toBe(SECURITY);
    expect(member.findingsMisattributed).toBe(0);
    for (const kpis of member.members) {
      expect(kpis.touchesDetected).toBe(kpis.touchesExpected);
      expect(kpis.forwardedByMember).toBe(kpis.touchesDetected);
    }
    expect(member.members.map((m) => [m.name, m.touchesExpected])).toEqual([
      ['payments', 2],
      ['analytics', 5],
    ]);
  });

  it('names the member account in each finding and plans the response in that account', () => {
    const touches = result.findings.filter((f) => f.finding.kind === 'resource-access');
    const payments = touches.find((f) => f.finding.account === PAYMENTS)!;
    expect(payments.finding.resource?.arn).toContain(`:${PAYMENTS}:`);
    expect(payments.response).toMatchObject({
      outcome: 'dry-run',
      principal: `arn:aws:iam::${PAYMENTS}:user/alice`,
      actingAs: `arn:aws:iam::${PAYMENTS}:role/platform-operations-access`,
    });
    const hopped = touches.find((f) => f.finding.actor.arn.includes('assumed-role/cross-account-deploy'))!;
    expect(hopped.finding.account).toBe(ANALYTICS);
    expect(hopped.response?.actingAs).toBe(`arn:aws:iam::${ANALYTICS}:role/platform-operations-access`);
    expect(hopped.response?.planned.join('\n')).toMatch(/role cross-account-deploy/);
    for (const kpis of result.kpis.organization!.members) expect(kpis.responses).toBeGreaterThan(0);
  });
});

describe('organization scenarios: validation', () => {
  const base = {
    name: 'x',
    organization: { securityAccount: SECURITY, members: { a: PAYMENTS } },
    actors: { me: { synthetic: 'alice', sourceIp: '198.51.100.7', account: 'a' } },
    attack: { steps: [{ actor: 'me', call: 'sts:GetCallerIdentity', account: 'a' }] },
  };
  it('accepts members named by steps and actors', () => {
    expect(parseScenario(base).organization?.members).toEqual({ a: PAYMENTS });
  });
  it.each([
    [
      { ...base, attack: { steps: [{ actor: 'me', call: 'sts:GetCallerIdentity', account: 'b' }] } },
      'attack.steps.0.account: no member account "b" in organization.members (known: a)',
    ],
    [
      { ...base, organization: undefined },
      'actors.me.account: an account is named only in an organization scenario ("organization")',
    ],
    [
      { ...base, organization: { securityAccount: PAYMENTS, members: { a: PAYMENTS } } },
      'organization.securityAccount: the security account holds no decoys: it cannot also be a member',
    ],
  ])('names the wrong field', (raw, message) => {
    expect(() => parseScenario(raw)).toThrow(message);
  });
});

describe('routing across accounts', () => {
  const rule = (account: string, region: string, bus: string, target: string): DeployedRule => ({
    stackName: `s-${account}-${region}`,
    account,
    region,
    logicalId: 'R',
    name: `r-${account}-${region}-${bus}`,
    bus,
    state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
    pattern: { source: ['aws.sts'] },
    targets: [{ id: 't', arn: target }],
  });
  const central = `arn:aws:events:us-east-1:${SECURITY}:event-bus/central`;
  const fn = `arn:aws:lambda:us-east-1:${SECURITY}:function:touch`;
  const routing = new DeployedRouting([
    rule(PAYMENTS, 'eu-west-1', 'default', central),
    rule(SECURITY, 'us-east-1', 'central', fn),
    rule(SECURITY, 'eu-west-1', 'default', central),
  ]);
  const event = (account: string) =>
    toEnvelope({
      eventTime: '2024-05-14T09:00:00Z',
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetCallerIdentity',
      awsRegion: 'eu-west-1',
      recipientAccountId: account,
      readOnly: true,
    }) as EventEnvelope;

  it('a member event goes through the member’s rule, across accounts, to the central bus’s rule', () => {
    const [delivery] = routing.deliver(event(PAYMENTS), 'eu-west-1', 'default', PAYMENTS);
    expect(delivery?.path.map((r) => r.account)).toEqual([PAYMENTS, SECURITY]);
    expect(delivery?.targetArn).toBe(fn);
  });

  it('an account with no member rules forwards nothing', () => {
    expect(routing.deliver(event(ANALYTICS), 'eu-west-1', 'default', ANALYTICS)).toEqual([]);
    expect(routing.rulesOn('eu-west-1', 'default', ANALYTICS)).toEqual([]);
  });
});
