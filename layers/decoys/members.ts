import { isDenied } from './aws-errors';
import type { DecoyShape } from './catalogue';
import {
  Planter,
  type PlanterDeps,
  type PlantResult,
  type RefreshResult,
  type RemoveResult,
} from './planter';
import type { RegistryPort } from './registry';

/**
 * Organization mode: the security account plants nothing into itself; the planter
 * plants into each member account, through the role every member gets
 * (infra/constructs/member-access.ts), one registry item per account
 * (registry.ts registryKey). IAM is global, so the user is planted once per
 * account (the planter's single run per account does it once).
 *
 * One member failing never stops the others: each account's outcome is reported
 * on its own, and a run with failures ends with MemberAccountsError naming them
 * (the accounts that succeeded stay planted and registered).
 */

/** The AWS the planter sees inside one member account (the role's credentials). */
export type MemberPorts = Pick<PlanterDeps, 'ssm' | 's3' | 'iam' | 'inventory' | 'kms' | 'secrets'>;

/** organizations:ListAccountsForParent, every page: the ACTIVE account ids directly under a parent. */
export interface AccountListingPort {
  accountsIn(parentId: string): Promise<string[]>;
}

/** The member's ports with the role's credentials (sts:AssumeRole into the member role). */
export type MemberConnector = (account: string) => Promise<MemberPorts>;

/** AWS managed key for SecureString parameters: the member role has no grant on the security account's key. */
export const MEMBER_PARAMETER_KEY = 'alias/aws/ssm';

export class MemberAccountsError extends Error {
  override readonly name = 'MemberAccountsError';
  constructor(
    message: string,
    readonly outcomes: readonly MemberOutcome<unknown>[],
  ) {
    super(message);
  }
}

export type MemberOutcome<T> =
  | { account: string; ok: true; value: T; attempts: number }
  | { account: string; ok: false; error: string; attempts: number };

/**
 * The accounts that get decoys: the listed ones, else every account under the
 * target OUs (or root). Never the security account, which holds the control plane.
 */
export async function memberAccounts(
  targets: { accounts: readonly string[]; organizationalUnitIds: readonly string[] },
  securityAccount: string,
  listing: AccountListingPort | undefined,
): Promise<string[]> {
  let accounts: string[] = [...targets.accounts];
  if (accounts.length === 0) {
    if (targets.organizationalUnitIds.length === 0) return [];
    if (!listing)
      throw new Error(
        'organization mode: no target accounts are listed and no account listing is wired to read the target OUs',
      );
    for (const parent of targets.organizationalUnitIds) accounts.push(...(await listing.accountsIn(parent)));
  }
  accounts = [...new Set(accounts)].filter((account) => account !== securityAccount);
  return accounts.sort();
}

/** Bounded backoff for a role that was just created (IAM is eventually consistent). */
export interface MemberRetry {
  /** Tries in all, the first included. Default 5. */
  attempts?: number;
  /** The first wait; each next one doubles. Default 2 s (2+4+8+16 = 30 s at most). */
  firstDelayMs?: number;
  sleep: (ms: number) => Promise<void>;
}

export interface MemberRunDeps {
  accounts: readonly string[];
  connect: MemberConnector;
  registryFor: (account: string) => RegistryPort;
  /** The planter's other dependencies, the same for every account. */
  planter: Omit<PlanterDeps, keyof MemberPorts | 'registry' | 'trailSelectors'>;
  retry: MemberRetry;
  /** Accounts worked on at once (each spreads its writes over seconds). Default 4. */
  concurrency?: number;
  /** The role's name, for the error after the last try. */
  roleName?: string;
}

/**
 * Runs `work` with a planter inside each member account. A denied call (the role
 * just created and not yet visible to STS or IAM, or its policy not yet applied)
 * is retried with bounded backoff; after the last try the error names the account.
 */
export async function forEachMember<T>(
  deps: MemberRunDeps,
  work: (planter: Planter, account: string) => Promise<T>,
): Promise<MemberOutcome<T>[]> {
  const outcomes: MemberOutcome<T>[] = [];
  const queue = [...deps.accounts];
  const worker = async () => {
    for (let account = queue.shift(); account !== undefined; account = queue.shift())
      outcomes.push(await inAccount(account, deps, work));
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, worker));
  const order = new Map(deps.accounts.map((account, index) => [account, index]));
  return outcomes.sort((a, b) => (order.get(a.account) ?? 0) - (order.get(b.account) ?? 0));
}

async function inAccount<T>(
  account: string,
  deps: MemberRunDeps,
  work: (planter: Planter, account: string) => Promise<T>,
): Promise<MemberOutcome<T>> {
  const attempts = Math.max(1, deps.retry.attempts ?? 5);
  const firstDelay = deps.retry.firstDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      const ports = await deps.connect(account);
      const planter = new Planter({ ...deps.planter, ...ports, registry: deps.registryFor(account) });
      return { account, ok: true, value: await work(planter, account), attempts: attempt };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!isDenied(error) || attempt >= attempts) {
        const role = deps.roleName ? `the role ${deps.roleName}` : 'the member role';
        const hint = isDenied(error)
          ? ` (denied on all ${attempt} tries: ${role} may be missing in ${account}, or its policy lacks the permission)`
          : '';
        deps.planter.log?.warn('member account failed', { account, attempts: attempt });
        return { account, ok: false, error: `account ${account}: ${message}${hint}`, attempts: attempt };
      }
      await deps.retry.sleep(firstDelay * 2 ** (attempt - 1));
    }
  }
}

/** Throws MemberAccountsError naming each account that failed; returns the outcomes otherwise. */
export function requireAll<T>(outcomes: MemberOutcome<T>[], what: string): MemberOutcome<T>[] {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return outcomes;
  const lines = failed.map((o) => (o.ok ? '' : o.error));
  throw new MemberAccountsError(
    `${what} failed in ${failed.length} of ${outcomes.length} member accounts (the others are done): ${lines.join('; ')}`,
    outcomes,
  );
}

/** Plants (or updates) the shape in every member account. */
export function plantMembers(
  deps: MemberRunDeps,
  shape: DecoyShape,
  target: { partition: string; stackName?: string },
): Promise<MemberOutcome<PlantResult>[]> {
  return forEachMember(deps, (planter, account) =>
    planter.plantShape(shape, { ...target, account, parameterKeyAlias: MEMBER_PARAMETER_KEY }),
  );
}

/** The scheduled refresh in every member account. */
export function refreshMembers(
  deps: MemberRunDeps,
  options: Parameters<Planter['refresh']>[0],
): Promise<MemberOutcome<RefreshResult>[]> {
  return forEachMember(deps, (planter) => planter.refresh(options));
}

/** Removal (stack delete) in every member account. */
export function removeMembers(deps: MemberRunDeps): Promise<MemberOutcome<RemoveResult>[]> {
  return forEachMember(deps, (planter) => planter.remove());
}

/**
 * The custom resource's planter in organization mode (custom-resource.ts
 * PlanterLike): plants the shape in every member account instead of this one.
 * `accounts` is read when a run starts (new accounts of the target OUs join).
 */
export class OrganizationPlanter {
  step = 'starting';

  constructor(
    private readonly deps: Omit<MemberRunDeps, 'accounts'> & {
      accounts: () => Promise<readonly string[]>;
    },
  ) {}

  private async run<T>(
    what: string,
    work: (deps: MemberRunDeps) => Promise<MemberOutcome<T>[]>,
  ): Promise<MemberOutcome<T>[]> {
    this.step = 'listing the member accounts';
    const accounts = await this.deps.accounts();
    this.step = `${what} in ${accounts.length} member accounts`;
    return requireAll(await work({ ...this.deps, accounts }), what);
  }

  /** Names are chosen per account: the custom resource gets no spec back (each account's is in its registry). */
  async plantShape(
    shape: DecoyShape,
    target: { partition: string; stackName?: string },
  ): Promise<{ spec?: undefined }> {
    await this.run('planting', (deps) =>
      plantMembers(deps, shape, { partition: target.partition, stackName: target.stackName }),
    );
    return {};
  }

  async plant(): Promise<never> {
    throw new Error(
      'organization mode plants from the Shape property (names are chosen in each member account), not from a Plan',
    );
  }

  async remove(): Promise<MemberOutcome<RemoveResult>[]> {
    return this.run('removal', (deps) => removeMembers(deps));
  }

  async refresh(options: Parameters<Planter['refresh']>[0]): Promise<MemberOutcome<RefreshResult>[]> {
    return this.run('rotation', (deps) => refreshMembers(deps, options));
  }
}
