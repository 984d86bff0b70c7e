import * as z from 'zod';
import type { HoneytrailConfig } from '../config/schema';

/**
 * Response guardrails for an organization (issue 11): which principals of a
 * member account are never acted on, and where automatic action is enabled at
 * all. Pure: from the `organization` config block, an account and the OUs it
 * sits in, to an answer with its reason. The decide step applies them
 * (layers/response/policy.ts).
 *
 * Gradual enablement, as the design's guardrails put it: enable automation for
 * a subset, measure, widen. Everywhere else a finding is notified, and the
 * notification says why nothing was done.
 */

/**
 * The organization's own roles, protected in every account whatever the config
 * says: AWS Organizations' access role, Control Tower's roles (AWSControlTowerExecution
 * and the AWSControlTower* service roles), the StackSet execution roles of both
 * permission models (service-managed `stacksets-exec-*`, self-managed
 * AWSCloudFormationStackSetExecutionRole). Matched against the role's ARN without
 * its path (an assumed-role ARN carries none), so a path does not matter.
 */
export const ORGANIZATION_ROLE_PATTERNS = [
  'arn:*:iam::*:role/OrganizationAccountAccessRole',
  'arn:*:iam::*:role/AWSControlTower*',
  'arn:*:iam::*:role/stacksets-exec-*',
  'arn:*:iam::*:role/AWSCloudFormationStackSetExecutionRole',
] as const;

/** The organization part of the response policy (it travels in the ledger's environment). */
export const organizationGuardrailsSchema = z.object({
  /** The role the security account assumes in each member: never contained by the response it serves. */
  memberRoleName: z.string().min(1),
  /** Automatic action only for principals of these accounts, or of accounts in these OUs. */
  automation: z.object({
    accounts: z.array(z.string()),
    organizationalUnitIds: z.array(z.string()),
  }),
  /** Per account: ARN patterns never acted on. */
  protectedPrincipals: z.record(z.string(), z.array(z.string())),
});
export type OrganizationGuardrails = z.infer<typeof organizationGuardrailsSchema>;

/** The guardrails of a config, or undefined in single-account mode. */
export function organizationGuardrails(config: HoneytrailConfig): OrganizationGuardrails | undefined {
  const organization = config.organization;
  if (!organization) return undefined;
  return {
    memberRoleName: organization.memberRoleName,
    automation: {
      accounts: [...organization.automation.accounts],
      organizationalUnitIds: [...organization.automation.organizationalUnitIds],
    },
    protectedPrincipals: Object.fromEntries(
      Object.entries(organization.protectedPrincipals).map(([account, patterns]) => [account, [...patterns]]),
    ),
  };
}

/**
 * The patterns that protect a principal of `account`: the organization's own
 * roles, the member role, and what the config lists for that account (an
 * account's list never protects anyone in another account).
 */
export function protectedPatternsFor(
  guardrails: OrganizationGuardrails,
  account: string | undefined,
): string[] {
  const listed = account ? (guardrails.protectedPrincipals[account] ?? []) : [];
  return [
    ...ORGANIZATION_ROLE_PATTERNS,
    `arn:*:iam::*:role/${guardrails.memberRoleName}`,
    ...listed.filter((pattern) => patternAccountMatches(pattern, account)),
  ];
}

/** A pattern's account part, when it names one, is the account's (validation says so; this makes it hold). */
function patternAccountMatches(pattern: string, account: string | undefined): boolean {
  const part = pattern.split(':')[4] ?? '';
  return part === '' || /[*?]/.test(part) || part === account;
}

export type AutomationScope = { automatic: true; reason: string } | { automatic: false; reason: string };

/**
 * May the response act automatically on a principal of `account`? Yes when the
 * account is listed, or when one of its OUs (the account's parent and the OUs
 * above it, nearest first) is. An account unknown to the finding is never
 * automatic: the response cannot tell where it would act.
 */
export function automationScope(
  guardrails: OrganizationGuardrails,
  account: string | undefined,
  organizationalUnits: readonly string[],
): AutomationScope {
  const { accounts, organizationalUnitIds } = guardrails.automation;
  if (!account)
    return { automatic: false, reason: 'the finding names no account: automatic action needs one' };
  if (accounts.includes(account))
    return { automatic: true, reason: `account ${account} is enabled for automatic action` };
  const ou = organizationalUnits.find((id) => organizationalUnitIds.includes(id));
  if (ou) return { automatic: true, reason: `account ${account} is in ${ou}, enabled for automatic action` };
  const where = organizationalUnits.length ? ` (in ${organizationalUnits.join(' < ')})` : '';
  return {
    automatic: false,
    reason: `account ${account}${where} is not enabled for automatic action (organization.automation): notify only`,
  };
}

/**
 * The OUs an account sits in, nearest first up to the root (organizations:ListParents,
 * from the security account). A port: the findings name an account, not its OU.
 */
export interface OrganizationLookup {
  organizationalUnitsOf(account: string): Promise<readonly string[]>;
}

/** A fixed map: tests and the drill. */
export class StaticOrganizationLookup implements OrganizationLookup {
  constructor(private readonly parents: Readonly<Record<string, readonly string[]>>) {}
  async organizationalUnitsOf(account: string): Promise<readonly string[]> {
    return this.parents[account] ?? [];
  }
}
