import { describe, expect, it } from 'vitest';
import { MemoryAccount } from '../../layers/decoys/memory';
import { specParts } from '../../layers/decoys/spec';
import { checkTrailCoverage } from '../../layers/decoys/trail-check';
import { collectStrings, tellsIn } from '../../layers/stealth/tells';
import { makePlanter, makeSpec } from './fixtures';

/**
 * Everything the planter writes is readable by someone: parameter names, values,
 * descriptions and tags; bucket names, tags, policy, object keys and bodies; user
 * names, tags, policy names and documents. None may carry a tell. The registry is
 * included although ReadOnlyAccess cannot read it.
 */

const configs = {
  default: {},
  'another seed, prefix and more parameters': {
    naming: { seed: 'seven', prefix: 'acme' },
    decoys: { ssm: { count: 9 } },
  },
  'mysql and every vendor': {
    naming: { service: 'orders' },
    decoys: {
      ssm: {
        parameters: [
          { name: '/prod/orders/mysql-root-password', format: 'password' as const },
          { name: '/prod/orders/db-connection-string', format: 'database-url' as const },
          { name: '/prod/orders/stripe-secret-key', format: 'api-token' as const },
          { name: '/prod/orders/sendgrid-api-key', format: 'api-token' as const },
          { name: '/prod/orders/github-deploy-token', format: 'api-token' as const },
          { name: '/prod/orders/slack-bot-token', format: 'api-token' as const },
          { name: '/prod/orders/token-signing-key', format: 'jwt-signing-key' as const },
        ],
      },
    },
  },
};

describe('stealth of everything planted', () => {
  it.each(Object.entries(configs))(
    '%s: plant, 25 refreshes, update and removal write no tell',
    async (_, config) => {
      const account = new MemoryAccount();
      const spec = makeSpec(config);
      await makePlanter(account, 'plant').plant(spec);
      for (let i = 0; i < 25; i++) await makePlanter(account, `refresh-${i}`).refresh();
      await makePlanter(account, 'update').plant(
        makeSpec({ ...config, decoys: { iam: { userName: 'ledger-sync' } } }),
      );
      await makePlanter(account).remove();

      const strings = account.calls.flatMap((call) => collectStrings(call.args, call.action));
      expect(strings.length).toBeGreaterThan(500);
      const tells = strings.flatMap(({ path, value }) => tellsIn(value, path));
      expect(tells).toEqual([]);
    },
  );

  it('failure Reasons (shown in stack events) carry no tell either', async () => {
    const spec = makeSpec();
    const parts = specParts(spec);
    const reasons: string[] = [];
    const refuse = async (prepare: (account: MemoryAccount) => void) => {
      const account = new MemoryAccount();
      prepare(account);
      await makePlanter(account)
        .plant(spec)
        .catch((error: Error) => reasons.push(error.message));
    };
    await refuse((a) => a.iam.createUser({ userName: parts.user!.name, tags: [] }));
    await refuse((a) => a.foreignBuckets.add(parts.bucket!.name));
    await refuse((a) =>
      a.parameters.set(parts.parameters[0]!.name, {
        value: 'x',
        keyId: 'k',
        description: '',
        tags: [],
        version: 1,
      }),
    );
    reasons.push(
      ...checkTrailCoverage({ EventSelectors: [{ IncludeManagementEvents: false }] }, parts.bucket!.name),
    );
    expect(reasons).toHaveLength(6);
    expect(reasons.flatMap((reason) => tellsIn(reason))).toEqual([]);
  });

  it('the check itself catches a tell in a written value', () => {
    expect(tellsIn('DB_PASSWORD=hunter2-decoy')).not.toEqual([]);
    expect(tellsIn('lineage 0f8fad5b-d9cb-469f-a165-70867728950e')).not.toEqual([]);
  });
});
