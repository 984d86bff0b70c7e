import { RegionDisabledException, STSServiceException } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { shapeOf } from '../../layers/decoys/catalogue';
import {
  MEMBER_PARAMETER_KEY,
  MemberAccountsError,
  type MemberPorts,
  type MemberRunDeps,
  memberAccounts,
  OrganizationPlanter,
  plantMembers,
} from '../../layers/decoys/members';
import { MemoryAccount } from '../../layers/decoys/memory';
import { seededRandom } from '../../layers/decoys/random';
import { registryView } from '../../layers/decoys/registry';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { REGION, steppingClock } from './fixtures';

/**
 * Organization mode, pure: the planter plants into each member account through a
 * connector (the member role's session), one registry item per account, and one
 * member failing never stops the others.
 */

const SECURITY = '222233334444';
const MEMBER_A = '444455556666';
const MEMBER_B = '777788889999';
const shape = shapeOf(parseConfig({}));

/** STS models no AccessDenied: the SDK throws its base class named after the code. */
const assumeDenied = (account: string) =>
  new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: `User: arn:aws:sts::${SECURITY}:assumed-role/x/y is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/p/platform-operations-access`,
    $metadata: { httpStatusCode: 403 },
  });

function portsOf(account: MemoryAccount): MemberPorts {
  return {
    ssm: account.ssm,
    s3: account.s3,
    iam: account.iam,
    inventory: account.inventory,
    kms: account.kms,
    secrets: account.secrets,
  };
}

function organization(
  accounts: readonly string[],
  failures: Record<string, (attempt: number) => Error | undefined> = {},
) {
  const members = new Map(accounts.map((a) => [a, new MemoryAccount()]));
  const attempts = new Map<string, number>();
  const slept: number[] = [];
  const deps: MemberRunDeps = {
    accounts,
    connect: async (account) => {
      const attempt = (attempts.get(account) ?? 0) + 1;
      attempts.set(account, attempt);
      const error = failures[account]?.(attempt);
      if (error) throw error;
      const member = members.get(account);
      if (!member) throw new Error(`no such account ${account}`);
      return portsOf(member);
    },
    registryFor: (account) => (members.get(account) as MemoryAccount).registry,
    planter: { clock: steppingClock(), random: seededRandom('org'), region: REGION },
    retry: { attempts: 4, firstDelayMs: 1000, sleep: async (ms) => void slept.push(ms) },
    roleName: 'platform-operations-access',
  };
  return { members, attempts, slept, deps };
}

describe('member accounts', () => {
  it('are the listed accounts when there are any, never the security account', async () => {
    expect(
      await memberAccounts(
        { accounts: [MEMBER_B, MEMBER_A, MEMBER_A], organizationalUnitIds: ['ou-ab12-cdef3456'] },
        SECURITY,
        undefined,
      ),
    ).toEqual([MEMBER_A, MEMBER_B]);
  });

  it('else every account under the target OUs, from the listing port', async () => {
    const listing = {
      accountsIn: async (parent: string) =>
        parent === 'ou-ab12-cdef3456'
          ? [MEMBER_B, SECURITY]
          : parent === 'ou-ab12-ghij7890'
            ? [MEMBER_A]
            : [],
    };
    expect(
      await memberAccounts(
        { accounts: [], organizationalUnitIds: ['ou-ab12-cdef3456', 'ou-ab12-ghij7890'] },
        SECURITY,
        listing,
      ),
    ).toEqual([MEMBER_A, MEMBER_B]);
  });

  it('OUs without a listing port is a clear error', async () => {
    await expect(
      memberAccounts({ accounts: [], organizationalUnitIds: ['ou-ab12-cdef3456'] }, SECURITY, undefined),
    ).rejects.toThrow(/no account listing is wired to read the target OUs/);
  });
});

describe('planting into member accounts', () => {
  it('plants each member with its own registry item, parameters under the AWS managed key, no alias', async () => {
    const { members, deps } = organization([MEMBER_A, MEMBER_B]);
    const outcomes = await plantMembers(deps, shape, {
      partition: 'aws',
      stackName: 'platform-shared-services',
    });
    expect(outcomes.map((o) => [o.account, o.ok])).toEqual([
      [MEMBER_A, true],
      [MEMBER_B, true],
    ]);
    for (const [account, member] of members) {
      const record = member.registryItem;
      expect(record, account).toBeDefined();
      // Each account's decoys carry that account in their ARNs: a finding names its member account.
      const view = registryView(record!);
      const user = view.resources.find((d) => d.kind === 'iam-user');
      expect(user?.arn).toBe(`arn:aws:iam::${account}:user/${user?.name}`);
      expect(view.resources.find((d) => d.kind === 'ssm-parameter')?.arn).toContain(`:${account}:parameter/`);
      // SecureStrings under aws/ssm: the member role has no grant on the security account's key.
      expect([...member.parameters.values()].every((p) => p.keyId === MEMBER_PARAMETER_KEY)).toBe(true);
      expect(member.aliases.size).toBe(0);
      // Secrets under Secrets Manager's own managed key (aws/ssm is SSM's only).
      expect(member.storedSecrets.size).toBeGreaterThan(0);
      for (const secret of member.storedSecrets.values())
        expect(secret.kmsKeyId).toBe('alias/aws/secretsmanager');
      expect(record!.owned.some((o) => o.kind === 'kms-alias')).toBe(false);
      // IAM is global: one user per account.
      expect(member.users.size).toBe(1);
      // The AWS managed key is never a decoy of its own (every decrypt in the account uses it).
      expect(new DecoyIndex(view.resources).keys.size).toBe(0);
    }
  });

  it('retries a denied AssumeRole right after the role appears, with bounded backoff', async () => {
    const { attempts, slept, deps, members } = organization([MEMBER_A], {
      [MEMBER_A]: (attempt) => (attempt <= 2 ? assumeDenied(MEMBER_A) : undefined),
    });
    const [outcome] = await plantMembers(deps, shape, { partition: 'aws' });
    expect(outcome).toMatchObject({ account: MEMBER_A, ok: true, attempts: 3 });
    expect(attempts.get(MEMBER_A)).toBe(3);
    expect(slept).toEqual([1000, 2000]);
    expect(members.get(MEMBER_A)!.registryItem).toBeDefined();
  });

  it('one member failing does not stop the others; the error names the account after the last try', async () => {
    const { deps, members, slept } = organization([MEMBER_A, MEMBER_B], {
      [MEMBER_A]: () => assumeDenied(MEMBER_A),
    });
    const outcomes = await plantMembers(deps, shape, { partition: 'aws' });
    expect(outcomes[1]).toMatchObject({ account: MEMBER_B, ok: true });
    expect(members.get(MEMBER_B)!.registryItem).toBeDefined();
    expect(members.get(MEMBER_A)!.registryItem).toBeUndefined();
    const failed = outcomes[0]!;
    expect(failed.ok).toBe(false);
    expect(failed.attempts).toBe(4);
    expect(!failed.ok && failed.error).toMatch(
      /^account 444455556666: .*sts:AssumeRole.*\(denied on all 4 tries: the role platform-operations-access may be missing in 444455556666/s,
    );
    // 1 + 2 + 4 s: bounded.
    expect(slept).toEqual([1000, 2000, 4000]);
  });

  it('an error that is not a denial is not retried', async () => {
    const { deps, attempts } = organization([MEMBER_A], {
      [MEMBER_A]: () =>
        new RegionDisabledException({ message: 'STS is not activated in this region', $metadata: {} }),
    });
    const [outcome] = await plantMembers(deps, shape, { partition: 'aws' });
    expect(outcome).toMatchObject({ ok: false, attempts: 1 });
    expect(attempts.get(MEMBER_A)).toBe(1);
  });

  it('the organization planter reports every failed account at the end, after planting the rest', async () => {
    const { deps, members } = organization([MEMBER_A, MEMBER_B], {
      [MEMBER_B]: () => assumeDenied(MEMBER_B),
    });
    const planter = new OrganizationPlanter({ ...deps, accounts: async () => [MEMBER_A, MEMBER_B] });
    const attempt = planter.plantShape(shape, { partition: 'aws' });
    await expect(attempt).rejects.toBeInstanceOf(MemberAccountsError);
    await expect(planter.plantShape(shape, { partition: 'aws' })).rejects.toThrow(
      /planting failed in 1 of 2 member accounts \(the others are done\): account 777788889999: /,
    );
    expect(members.get(MEMBER_A)!.registryItem).toBeDefined();
  });

  it('refresh and removal run in every member; removal leaves nothing behind', async () => {
    const { deps, members } = organization([MEMBER_A, MEMBER_B]);
    const planter = new OrganizationPlanter({ ...deps, accounts: async () => [MEMBER_A, MEMBER_B] });
    await planter.plantShape(shape, { partition: 'aws' });
    const refreshed = await planter.refresh({ rotateKey: true });
    expect(refreshed.map((o) => o.ok && o.value.rotated)).toEqual([true, true]);
    await planter.remove();
    for (const member of members.values()) {
      expect(member.registryItem).toBeUndefined();
      expect(member.users.size).toBe(0);
      expect(member.parameters.size).toBe(0);
    }
  });
});
