import { randomBytes } from 'node:crypto';
import { CreateRoleCommand, DeleteRoleCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { shapeOf } from '../../layers/decoys/catalogue';
import { stsMemberConnector } from '../../layers/decoys/member-aws';
import {
  MEMBER_PARAMETER_KEY,
  type MemberConnector,
  type MemberRunDeps,
  plantMembers,
  removeMembers,
} from '../../layers/decoys/members';
import { MemoryAccount } from '../../layers/decoys/memory';
import { cryptoRandom } from '../../layers/decoys/random';
import { registryView } from '../../layers/decoys/registry';
import { emulator, lacks } from './emulator';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * Organization-mode planting against moto's accounts: the planter assumes the member
 * role in two member accounts (moto keeps each account's resources apart by the
 * session's account) and plants each with its own registry, then removes them.
 * Against a real organization this needs member accounts and their role: it runs
 * only on moto.
 */

const live = await liveEnvironment();
const onMoto = live.ok && emulator() === 'moto';

const suffix = randomBytes(4).toString('hex').replace(/^\d/, 'k');
const MEMBERS = ['444455556666', '777788889999'];
const ROLE_PATH = `/platform-${suffix}/`;
const ROLE_NAME = 'platform-operations-access';

/**
 * moto applies a bucket policy's Deny without its Condition (MOTO_GAPS): the
 * member's PutBucketPolicy is withheld, or the object writes after it would be denied.
 */
function withheldPolicies(connect: MemberConnector): MemberConnector {
  if (!lacks('bucketPolicyConditions')) return connect;
  return async (account) => {
    const ports = await connect(account);
    const s3 = new Proxy(ports.s3, {
      get: (target, key, receiver) =>
        key === 'putPolicy' ? async () => {} : Reflect.get(target, key, receiver),
    });
    return { ...ports, s3 };
  };
}

describe.skipIf(!onMoto)('organization-mode planting (moto accounts)', () => {
  const env = live as LiveEnvironment;
  const sts = new STSClient({ region: env.region });
  const registries = new Map(MEMBERS.map((account) => [account, new MemoryAccount().registry]));
  const deps: MemberRunDeps = {
    accounts: MEMBERS,
    connect: withheldPolicies(
      stsMemberConnector({
        sts,
        rolePattern: `arn:aws:iam::*:role${ROLE_PATH}${ROLE_NAME}`,
        region: env.region,
        sessionName: 'platform-operations',
      }),
    ),
    registryFor: (account) => registries.get(account)!,
    planter: { clock: () => new Date(), random: cryptoRandom, region: env.region },
    retry: { attempts: 2, firstDelayMs: 100, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  };
  const shape = shapeOf(parseConfig({ naming: { service: `ledger-${suffix}`, environment: 'qa' } }));

  /** Clients acting as the member role in `account`. */
  async function asMember(account: string) {
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role${ROLE_PATH}${ROLE_NAME}`,
        RoleSessionName: 'check',
      }),
    );
    const credentials = {
      accessKeyId: Credentials!.AccessKeyId!,
      secretAccessKey: Credentials!.SecretAccessKey!,
      sessionToken: Credentials!.SessionToken!,
    };
    return {
      sts: new STSClient({ region: env.region, credentials }),
      ssm: new SSMClient({ region: env.region, credentials }),
      iam: new IAMClient({ region: env.region, credentials }),
    };
  }

  afterAll(async () => {
    await removeMembers(deps).catch(() => undefined);
    for (const account of MEMBERS) {
      const member = await asMember(account).catch(() => undefined);
      await member?.iam.send(new DeleteRoleCommand({ RoleName: ROLE_NAME })).catch(() => undefined);
    }
  });

  it('plants each member account as its role, one registry each, SecureStrings under aws/ssm', async () => {
    // The role each member gets from the access StackSet (moto does not check trust on AssumeRole).
    for (const account of MEMBERS) {
      const member = await asMember(account);
      expect((await member.sts.send(new GetCallerIdentityCommand({}))).Account).toBe(account);
      await member.iam.send(
        new CreateRoleCommand({ RoleName: ROLE_NAME, Path: ROLE_PATH, AssumeRolePolicyDocument: '{}' }),
      );
    }
    const outcomes = await plantMembers(deps, shape, { partition: 'aws' });
    expect(outcomes.map((o) => [o.account, o.ok, o.ok ? '' : o.error])).toEqual(
      MEMBERS.map((account) => [account, true, '']),
    );
    for (const account of MEMBERS) {
      const record = await registries.get(account)!.load();
      const view = registryView(record!);
      const user = view.resources.find((d) => d.kind === 'iam-user')!;
      expect(user.arn).toContain(`::${account}:user/`);
      const member = await asMember(account);
      // The user and the parameters exist in that member account, written under aws/ssm.
      expect((await member.iam.send(new GetUserCommand({ UserName: user.name }))).User?.Arn).toContain(
        `::${account}:`,
      );
      const names = view.resources.filter((d) => d.kind === 'ssm-parameter').map((d) => d.name);
      const described = await member.ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: names }],
        }),
      );
      expect(described.Parameters?.map((p) => p.Name).sort()).toEqual([...names].sort());
      expect(described.Parameters?.every((p) => p.KeyId === MEMBER_PARAMETER_KEY)).toBe(true);
    }
    // Nothing planted in the account that runs the planter.
    const own = await new SSMClient({ region: env.region }).send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [`/qa/ledger-${suffix}`] }],
      }),
    );
    expect(own.Parameters ?? []).toEqual([]);
  });

  it('removes what it planted in every member', async () => {
    const outcomes = await removeMembers(deps);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    for (const account of MEMBERS) expect(await registries.get(account)!.load()).toBeUndefined();
  });
});
