import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import type { Actor, Finding } from '../../layers/findings/finding';
import {
  DEPLOYER_ROLE_PATTERNS,
  type Decision,
  decide,
  decodePolicy,
  encodePolicy,
  matchRule,
  type ResponsePolicy,
  responsePolicy,
} from '../../layers/response/policy';
import { globMatch, isCoveredBy, principalOf } from '../../layers/response/principal';
import { findTells } from '../../layers/stealth/tells';
import { findingFrom, userRecord } from './fixtures';

const ACCOUNT = '111122223333';
const STACK_ROLE = `arn:aws:iam::${ACCOUNT}:role/platform-shared-services-WorkflowLedgerRole1A2B3C-XYZ`;

function policy(
  overrides: Record<string, unknown> = {},
  response: Record<string, unknown> = {},
): ResponsePolicy {
  const config = parseConfig({
    dryRun: false,
    response: {
      protectedPrincipals: [`arn:aws:iam::${ACCOUNT}:user/breakglass`, 'arn:aws:iam::*:role/admin-*'],
      ...response,
    },
    ...overrides,
  });
  return responsePolicy(config, { ownRoles: [STACK_ROLE], account: ACCOUNT });
}

const base = findingFrom(userRecord, { window: 'policy' });
function finding(actor: Partial<Actor>, rest: Partial<Finding> = {}): Finding {
  return { ...base, ...rest, actor: { ...base.actor, ...actor } };
}
const user = (name: string, key = 'AKIAEXAMPLE000000001') =>
  ({ arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, type: 'IAMUser', accessKeyId: key }) as Actor;
const session = (role: string, key = 'ASIAEXAMPLE000000001') =>
  ({
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/session-1`,
    type: 'AssumedRole',
    accessKeyId: key,
  }) as Actor;

interface Case {
  name: string;
  finding: Finding;
  policy?: ResponsePolicy;
  outcome: Decision['outcome'];
  path?: Decision['path'];
  reason?: RegExp;
  rule?: number | null;
  steps?: string[];
}

const cases: Case[] = [
  {
    name: 'resource-access, high, a user key: act on the key',
    finding: finding(user('alice')),
    outcome: 'act',
    path: 'user-key',
    rule: 0,
    steps: ['deactivate-key', 'attach-quarantine', 'rotate-key', 'delete-old-key'],
  },
  {
    name: 'the same in dry-run (the default): plan only',
    finding: finding(user('alice')),
    policy: policy({ dryRun: true }),
    outcome: 'dry-run',
    path: 'user-key',
    reason: /dry run/,
  },
  {
    name: 'anomaly, high: needs approval',
    finding: finding(user('alice'), { kind: 'anomaly' }),
    outcome: 'approve',
    path: 'user-key',
    rule: 2,
  },
  {
    name: 'anomaly below the rule severity: notify',
    finding: finding(user('alice'), { kind: 'anomaly', severity: 'medium' }),
    outcome: 'notify',
    reason: /no rule acts on anomaly findings of medium severity/,
    rule: null,
  },
  {
    name: 'unlogged use: the rule says notify',
    finding: finding(user('alice'), { kind: 'unlogged-use' }),
    outcome: 'notify',
    reason: /rule 3 says notify only/,
  },
  {
    name: 'root is never acted on',
    finding: finding({ arn: `arn:aws:iam::${ACCOUNT}:root`, type: 'Root', accessKeyId: 'AKIAROOT' }),
    outcome: 'notify',
    reason: /root/,
  },
  {
    name: 'an AWS service principal is never acted on',
    finding: finding({ arn: 'cloudformation.amazonaws.com', type: 'AWSService', accessKeyId: undefined }),
    outcome: 'notify',
    reason: /service principals/,
  },
  {
    name: 'a protected user (exact ARN)',
    finding: finding(user('breakglass')),
    outcome: 'notify',
    reason: /protected principal/,
  },
  {
    name: 'a protected role (wildcard), through its session',
    finding: finding(session('admin-oncall')),
    outcome: 'notify',
    reason: /protected principal \(matches arn:aws:iam::\*:role\/admin-\*\)/,
  },
  {
    name: 'the deployer: a CDK bootstrap role',
    finding: finding(session(`cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-us-east-1`)),
    outcome: 'notify',
    reason: /protected principal \(matches arn:\*:iam::\*:role\/cdk-\*-cfn-exec-role-\*\)/,
  },
  {
    name: "the stack's own role",
    finding: finding(session('platform-shared-services-WorkflowLedgerRole1A2B3C-XYZ')),
    outcome: 'notify',
    reason: /protected principal/,
  },
  {
    name: 'a role session: revoke and quarantine',
    finding: finding(session('payments-app')),
    outcome: 'act',
    path: 'session',
    steps: ['revoke-sessions', 'attach-quarantine'],
  },
  {
    name: "a user's temporary credentials: revoke the user's sessions",
    finding: finding(user('alice', 'ASIAEXAMPLE000000009')),
    outcome: 'act',
    path: 'session',
    steps: ['revoke-sessions', 'attach-quarantine'],
  },
  {
    name: 'the planted key itself: replace it, never ask',
    finding: finding(user('ci-payments-deploy'), {
      kind: 'tamper',
      resource: { kind: 'iam-access-key', name: 'ci-payments-deploy/access-key' },
    }),
    outcome: 'act',
    path: 'refresh',
    steps: ['refresh-credentials'],
  },
  {
    name: 'the planted key in dry-run: planned',
    finding: finding(user('ci-payments-deploy'), {
      resource: { kind: 'iam-user', name: 'ci-payments-deploy' },
    }),
    policy: policy({ dryRun: true }),
    outcome: 'dry-run',
    path: 'refresh',
  },
  {
    name: 'a real user calling GetUser on the planted user is a real principal',
    finding: finding(user('alice'), { resource: { kind: 'iam-user', name: 'ci-payments-deploy' } }),
    outcome: 'act',
    path: 'user-key',
  },
  {
    name: 'a principal of another account is only reported',
    finding: finding({
      arn: 'arn:aws:iam::999988887777:user/mallory',
      type: 'IAMUser',
      accessKeyId: 'AKIAOTHER',
      account: '999988887777',
    }),
    outcome: 'notify',
    reason: /account 999988887777/,
  },
  {
    name: 'an AWS-managed role cannot be changed',
    finding: finding(session('AWSReservedSSO_AdministratorAccess_0123456789abcdef')),
    outcome: 'notify',
    reason: /managed by AWS/,
  },
  {
    name: 'a federated user has nothing to contain',
    finding: finding({ arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob`, type: 'FederatedUser' }),
    outcome: 'notify',
    reason: /FederatedUser/,
  },
  {
    name: 'a user without an access key in the finding',
    finding: finding({ ...user('alice'), accessKeyId: undefined }),
    outcome: 'notify',
    reason: /names no access key/,
  },
  {
    name: 'rotation and quarantine off: deactivate only',
    finding: finding(user('alice')),
    policy: policy({}, { rotateKeys: false, attachQuarantinePolicy: false }),
    outcome: 'act',
    steps: ['deactivate-key'],
  },
  {
    name: 'the most specific rule wins whatever the order',
    finding: finding(user('alice'), { kind: 'anomaly', severity: 'critical' }),
    policy: policy(
      {},
      {
        rules: [
          { kind: 'anomaly', minSeverity: 'medium', action: 'approve' },
          { kind: 'anomaly', minSeverity: 'critical', action: 'auto' },
        ],
      },
    ),
    outcome: 'act',
    rule: 1,
  },
];

describe('response policy', () => {
  it.each(cases)('$name', (c) => {
    const decision = decide(c.finding, c.policy ?? policy());
    expect(decision.outcome).toBe(c.outcome);
    if (c.path) expect(decision.path).toBe(c.path);
    if (c.reason) expect(decision.reason).toMatch(c.reason);
    if (c.rule !== undefined) expect(decision.rule?.index ?? null).toBe(c.rule);
    if (c.steps) expect(decision.actions.map((a) => a.step)).toEqual(c.steps);
    if (c.outcome === 'notify') expect(decision.actions).toEqual([]);
    for (const action of decision.actions) expect(action.undo).not.toBe('');
  });

  it('protects the deployer and the stack roles on top of the config list', () => {
    const p = policy();
    expect(p.protectedPrincipals).toEqual(expect.arrayContaining([...DEPLOYER_ROLE_PATTERNS, STACK_ROLE]));
  });

  it('travels in the environment without naming what is planted, and comes back whole', () => {
    const p = policy();
    const wire = encodePolicy(p);
    expect(findTells(JSON.parse(wire))).toEqual([]);
    expect(decodePolicy(wire)).toEqual(p);
    expect(() => decodePolicy('{')).toThrow(/not JSON/);
    expect(() => decodePolicy('{"dryRun":"yes"}')).toThrow(/malformed/);
  });

  it('matches rules by kind and minimum severity', () => {
    const rules = policy().rules;
    expect(matchRule(rules, { kind: 'resource-access', severity: 'critical' })?.index).toBe(0);
    expect(matchRule(rules, { kind: 'resource-access', severity: 'medium' })).toBeNull();
  });
});

describe('principals', () => {
  it('reads users, sessions, roles, root and services from an actor', () => {
    expect(principalOf(user('ops/alice'))).toMatchObject({ kind: 'user', userName: 'alice' });
    expect(principalOf(session('app'))).toMatchObject({
      kind: 'role',
      roleName: 'app',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/app`,
      sessionName: 'session-1',
    });
    expect(principalOf({ arn: `arn:aws:iam::${ACCOUNT}:root`, type: 'Root' })).toMatchObject({
      kind: 'root',
    });
    expect(principalOf({ arn: 'lambda.amazonaws.com', type: 'AWSService' })).toMatchObject({
      kind: 'service',
    });
  });

  it('covers a role named with a path by its name and account (assumed-role ARNs drop the path)', () => {
    const principal = principalOf(session('BreakGlass'));
    expect(isCoveredBy(`arn:aws:iam::${ACCOUNT}:role/emergency/BreakGlass`, principal)).toBe(true);
    expect(isCoveredBy('arn:aws:iam::444455556666:role/emergency/BreakGlass', principal)).toBe(false);
    expect(isCoveredBy('BreakGlass', principal)).toBe(true);
    expect(isCoveredBy(`arn:aws:iam::${ACCOUNT}:user/BreakGlass`, principal)).toBe(false);
  });

  it('globs like IAM: * any run, ? one character, the rest literal', () => {
    expect(globMatch('arn:aws:iam::*:role/cdk-*', 'arn:aws:iam::1:role/cdk-x')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
  });
});

describe('the planted user, known from the registry', () => {
  it('an anomaly about the planted user replaces it instead of rotating a real key', () => {
    const anomaly = finding(user('payments-backup-agent'), { kind: 'anomaly' });
    expect(decide(anomaly, policy()).path).toBe('user-key');
    const decision = decide(anomaly, policy(), ['payments-backup-agent']);
    expect(decision.path).toBe('refresh');
    expect(decision.outcome).toBe('act');
  });

  it('another user is not taken for the planted one', () => {
    const anomaly = finding(user('alice'), { kind: 'anomaly' });
    expect(decide(anomaly, policy(), ['payments-backup-agent']).path).toBe('user-key');
  });
});
