import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import type { Actor, Finding } from '../../layers/findings/finding';
import {
  automationScope,
  ORGANIZATION_ROLE_PATTERNS,
  type OrganizationGuardrails,
  protectedPatternsFor,
  StaticOrganizationLookup,
} from '../../layers/response/guardrails';
import {
  type AccountContext,
  decide,
  decodePolicy,
  encodePolicy,
  responsePolicy,
} from '../../layers/response/policy';
import { isCoveredBy, principalOf } from '../../layers/response/principal';
import { findingFrom, userRecord } from './fixtures';

/** Organization guardrails (issue 11): protected principals per account and OU, gradual enablement. */

const SECURITY = '111122223333';
const LISTED = '444455556666';
const IN_ENABLED_OU = '777788889999';
const ELSEWHERE = '222233334444';
const ENABLED_OU = 'ou-ab12-enabled1';
const OTHER_OU = 'ou-ab12-pilot000';
const ROOT = 'r-ab12';

const config = parseConfig({
  dryRun: false,
  organization: {
    securityAccount: SECURITY,
    targets: { organizationalUnitIds: [ENABLED_OU, OTHER_OU] },
    memberRoleName: 'platform-operations-access',
    automation: { accounts: [SECURITY, LISTED], organizationalUnitIds: [ENABLED_OU] },
    protectedPrincipals: {
      [LISTED]: [`arn:aws:iam::${LISTED}:role/payments-oncall`, 'arn:aws:iam::*:user/batch-*'],
    },
  },
});
const policy = responsePolicy(config, { ownRoles: [], account: SECURITY });
const guardrails = policy.organization as OrganizationGuardrails;
const lookup = new StaticOrganizationLookup({
  [IN_ENABLED_OU]: [ENABLED_OU, ROOT],
  [ELSEWHERE]: [OTHER_OU, ROOT],
  [LISTED]: [OTHER_OU, ROOT],
});

const base = findingFrom(userRecord, { window: 'guardrails' });
const finding = (actor: Actor): Finding => ({ ...base, actor });
const user = (account: string, name: string): Actor => ({
  arn: `arn:aws:iam::${account}:user/${name}`,
  type: 'IAMUser',
  accessKeyId: 'AKIAEXAMPLE000000001',
  account,
});
const session = (account: string, role: string): Actor => ({
  arn: `arn:aws:sts::${account}:assumed-role/${role}/s-1`,
  type: 'AssumedRole',
  accessKeyId: 'ASIAEXAMPLE000000001',
  account,
});

interface Case {
  name: string;
  actor: Actor;
  outcome: 'notify' | 'act';
  reason: RegExp;
}

const cases: Case[] = [
  {
    name: "the organization's access role, in any member account",
    actor: session(LISTED, 'OrganizationAccountAccessRole'),
    outcome: 'notify',
    reason: /protected principal \(matches arn:\*:iam::\*:role\/OrganizationAccountAccessRole\)/,
  },
  {
    name: "Control Tower's execution role",
    actor: session(IN_ENABLED_OU, 'AWSControlTowerExecution'),
    outcome: 'notify',
    reason: /AWSControlTower\*/,
  },
  {
    name: 'a service-managed StackSet execution role',
    actor: session(IN_ENABLED_OU, 'stacksets-exec-0123456789abcdef0123456789abcdef'),
    outcome: 'notify',
    reason: /stacksets-exec-\*/,
  },
  {
    name: 'the self-managed StackSet execution role',
    actor: session(LISTED, 'AWSCloudFormationStackSetExecutionRole'),
    outcome: 'notify',
    reason: /AWSCloudFormationStackSetExecutionRole/,
  },
  {
    name: 'the member role the security account assumes',
    actor: session(IN_ENABLED_OU, 'platform-operations-access'),
    outcome: 'notify',
    reason: /role\/platform-operations-access/,
  },
  {
    name: 'a principal the config protects in its account',
    actor: session(LISTED, 'payments-oncall'),
    outcome: 'notify',
    reason: /protected principal \(matches arn:aws:iam::444455556666:role\/payments-oncall\)/,
  },
  {
    name: "an account's list protects no one in another account, even with a wildcard account",
    actor: user(IN_ENABLED_OU, 'batch-nightly'),
    outcome: 'notify',
    // Not protected: it goes on to the account check (this deployment acts in its own account).
    reason: /belongs to account 777788889999, not this one/,
  },
  {
    name: 'its wildcard pattern protects in its own account',
    actor: user(LISTED, 'batch-nightly'),
    outcome: 'notify',
    reason: /matches arn:aws:iam::\*:user\/batch-\*/,
  },
  {
    name: 'an account in no enabled OU and not listed: notify, saying where it is',
    actor: user(ELSEWHERE, 'alice'),
    outcome: 'notify',
    reason:
      /account 222233334444 \(in ou-ab12-pilot000 < r-ab12\) is not enabled for automatic action \(organization\.automation\): notify only/,
  },
  {
    name: 'a listed account is enabled (and the response acts only where it runs)',
    actor: user(LISTED, 'alice'),
    outcome: 'notify',
    reason: /belongs to account 444455556666, not this one/,
  },
  {
    name: 'the security account, listed: acted on',
    actor: user(SECURITY, 'alice'),
    outcome: 'act',
    reason: /rule 0 acts automatically/,
  },
];

async function decideWithLookup(actor: Actor) {
  const account = actor.account ?? '';
  const context: AccountContext = { organizationalUnits: await lookup.organizationalUnitsOf(account) };
  return decide(finding(actor), policy, [], context);
}

describe('organization guardrails through the decision', () => {
  it.each(cases)('$name', async (c) => {
    const decision = await decideWithLookup(c.actor);
    expect(decision.outcome).toBe(c.outcome);
    expect(decision.reason).toMatch(c.reason);
  });

  it('an account whose OUs cannot be read is notified, with why', () => {
    const decision = decide(finding(user(IN_ENABLED_OU, 'alice')), policy, [], {
      lookupError: 'AccessDeniedException: not a delegated administrator',
    });
    expect(decision.outcome).toBe('notify');
    expect(decision.reason).toBe(
      'the organizational units of account 777788889999 could not be read (AccessDeniedException: not a delegated administrator): notify only',
    );
  });

  it('single-account mode is unchanged: no organization guardrails in the policy', () => {
    const single = responsePolicy(parseConfig({ dryRun: false }), { ownRoles: [], account: SECURITY });
    expect(single.organization).toBeUndefined();
    expect(decide(finding(user(SECURITY, 'alice')), single).outcome).toBe('act');
  });

  it('travels in the environment and comes back whole', () => {
    expect(decodePolicy(encodePolicy(policy))).toEqual(policy);
  });
});

describe('automation scope', () => {
  const table: [string, string | undefined, string[], boolean, RegExp][] = [
    ['listed account', LISTED, [], true, /account 444455556666 is enabled/],
    ['account in an enabled OU', IN_ENABLED_OU, [ENABLED_OU, ROOT], true, /is in ou-ab12-enabled1/],
    ['enabled OU higher up the tree', IN_ENABLED_OU, ['ou-ab12-team0001', ENABLED_OU, ROOT], true, /is in/],
    ['account elsewhere', ELSEWHERE, [OTHER_OU, ROOT], false, /not enabled for automatic action/],
    ['OUs unknown', ELSEWHERE, [], false, /^account 222233334444 is not enabled/],
    ['no account in the finding', undefined, [], false, /names no account/],
  ];
  it.each(table)('%s', (_name, account, ous, automatic, reason) => {
    const scope = automationScope(guardrails, account, ous);
    expect(scope.automatic).toBe(automatic);
    expect(scope.reason).toMatch(reason);
  });

  it('nothing is enabled by default: automation is widened by listing', () => {
    const defaults = parseConfig({
      organization: { securityAccount: SECURITY, targets: { organizationalUnitIds: [ENABLED_OU] } },
    });
    const scope = automationScope(
      responsePolicy(defaults, { ownRoles: [] }).organization as OrganizationGuardrails,
      LISTED,
      [ENABLED_OU],
    );
    expect(scope.automatic).toBe(false);
  });
});

describe('protected patterns per account', () => {
  it("always the organization's own roles and the member role; the account's own list only for it", () => {
    expect(protectedPatternsFor(guardrails, ELSEWHERE)).toEqual([
      ...ORGANIZATION_ROLE_PATTERNS,
      'arn:*:iam::*:role/platform-operations-access',
    ]);
    expect(protectedPatternsFor(guardrails, LISTED)).toContain(`arn:aws:iam::${LISTED}:role/payments-oncall`);
  });

  it('covers the organization roles whatever their path (Control Tower uses service-role/)', () => {
    const withPath = principalOf({
      arn: `arn:aws:iam::${LISTED}:role/service-role/AWSControlTowerStackSetRole`,
      type: 'AssumedRole',
    });
    expect(ORGANIZATION_ROLE_PATTERNS.some((p) => isCoveredBy(p, withPath))).toBe(true);
    expect(ORGANIZATION_ROLE_PATTERNS.some((p) => isCoveredBy(p, principalOf(session(LISTED, 'app'))))).toBe(
      false,
    );
  });
});
