import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys, shapeOf } from '../../layers/decoys/catalogue';
import {
  type AccountInventory,
  emptyInventory,
  inferConventions,
  withoutPlatformNames,
} from '../../layers/decoys/inventory';
import { MemoryAccount } from '../../layers/decoys/memory';
import { chooseNames, reconcileNames } from '../../layers/decoys/naming';
import { Planter } from '../../layers/decoys/planter';
import { seededRandom } from '../../layers/decoys/random';
import { findTells } from '../../layers/stealth/tells';
import { ACCOUNT, makePlanterDeps, REGION } from './fixtures';

const shape = shapeOf(parseConfig({}));
const inventory = (parts: Partial<AccountInventory>): AccountInventory => ({
  ...emptyInventory(ACCOUNT, REGION),
  ...parts,
});

/** Realistic inventories: each with the conventions a reader would see in it. */
const ONE_CONVENTION = inventory({
  parameters: [
    '/prod/payments/api-url',
    '/prod/payments/db-host',
    '/prod/orders/queue-url',
    '/staging/payments/api-url',
    '/prod/identity/issuer',
  ],
  buckets: [
    `acme-prod-payments-exports-${ACCOUNT}`,
    `acme-prod-orders-archive-${ACCOUNT}`,
    `acme-staging-payments-exports-${ACCOUNT}`,
    'acme-prod-identity-logs-123456789012',
  ],
  users: ['svc-payments-api', 'svc-orders-worker', 'svc-reporting', 'alice.jones'],
  aliases: ['alias/aws/ssm', 'alias/payments-prod', 'alias/orders-prod'],
});

const SERVICE_FIRST = inventory({
  parameters: ['/billing/production/DB_HOST', '/billing/production/API_URL', '/search/production/ES_URL'],
  buckets: [`billing-artifacts-${ACCOUNT}-${REGION}`, `search-snapshots-${ACCOUNT}-${REGION}`],
  users: ['billing-ci', 'search-ci', 'web-ci'],
});

const MIXED = inventory({
  parameters: ['/prod/ledger/db-url', 'legacy_flag', '/ledger/dev/x', '/cdk-bootstrap/hnb659fds/version'],
  buckets: ['cdk-hnb659fds-assets-123456789012-eu-west-1', 'marketing-site', 'ledger-prod-reports'],
  users: ['jenkins', 'bob', 'terraform'],
  secrets: ['prod/ledger/postgres'],
});

describe('inferConventions', () => {
  it.each([
    [
      'empty',
      emptyInventory(ACCOUNT, REGION),
      { services: [], environment: undefined, parameterLayout: undefined },
    ],
    [
      'one convention',
      ONE_CONVENTION,
      {
        environment: 'prod',
        parameterLayout: 'env/service',
        org: 'acme',
        bucketPattern: '{org}-{env}-{service}-{purpose}-{account}',
        userPrefix: 'svc',
      },
    ],
    [
      'service first, underscores, account and region suffixes, a -ci suffix',
      SERVICE_FIRST,
      {
        environment: 'production',
        parameterLayout: 'service/env',
        leafSeparator: '_',
        bucketPattern: '{service}-{purpose}-{account}-{region}',
        userSuffix: 'ci',
      },
    ],
    ['mixed', MIXED, { environment: 'prod', parameterLayout: 'env/service' }],
  ])('%s', (_name, inv, expected) => {
    expect(inferConventions(inv)).toMatchObject(expected);
  });

  it('ranks the services it sees, most frequent first', () => {
    expect(inferConventions(ONE_CONVENTION).services.slice(0, 2)).toEqual(['payments', 'orders']);
    expect(inferConventions(MIXED).services[0]).toBe('ledger');
  });
});

describe('withoutPlatformNames', () => {
  it("leaves out the stack's own and the CDK bootstrap's names", () => {
    const inv = inventory({
      buckets: [
        'platform-shared-services-logbucketf5552923-1a2b3c',
        'cdk-hnb659fds-assets-123456789012-eu-west-1',
        'acme-prod-exports',
      ],
      parameters: ['/cdk-bootstrap/hnb659fds/version', '/prod/payments/api-url'],
      aliases: ['alias/platform-shared-services-key', 'alias/payments-prod'],
    });
    expect(withoutPlatformNames(inv, 'platform-shared-services')).toMatchObject({
      buckets: ['acme-prod-exports'],
      parameters: ['/prod/payments/api-url'],
      aliases: ['alias/payments-prod'],
    });
  });
});

describe('chooseNames', () => {
  const random = () => seededRandom('secret');

  it('names decoys as neighbours of the real ones, never taking an existing name', () => {
    const names = chooseNames(shape, ONE_CONVENTION, random());
    expect(['payments', 'orders', 'identity']).toContain(names.service);
    for (const p of names.parameters) {
      expect(p.name).toMatch(/^\/prod\/[a-z-]+\/[a-z-]+$/);
      expect(ONE_CONVENTION.parameters).not.toContain(p.name);
    }
    expect(names.bucketName).toMatch(new RegExp(`^acme-prod-${names.service}-[a-z-]+-${ACCOUNT}$`));
    expect(ONE_CONVENTION.buckets).not.toContain(names.bucketName);
    expect(names.userName).toMatch(new RegExp(`^svc-${names.service}-[a-z]+$`));
    expect(names.keyAlias).toMatch(/^alias\//);
    expect(ONE_CONVENTION.aliases).not.toContain(names.keyAlias);
    expect(findTells(names)).toEqual([]);
  });

  it('follows a service-first layout with underscores', () => {
    const names = chooseNames(shape, SERVICE_FIRST, random());
    for (const p of names.parameters) expect(p.name).toMatch(/^\/[a-z-]+\/production\/[a-z_]+$/);
    expect(names.bucketName).toMatch(new RegExp(`-${ACCOUNT}-${REGION}$`));
    expect(names.userName).toMatch(/-ci$/);
  });

  it('falls back to the vocabulary in an empty account, and the seed changes the names', () => {
    const empty = emptyInventory(ACCOUNT, REGION);
    const a = chooseNames(shape, empty, seededRandom('one'));
    const b = chooseNames(shape, empty, seededRandom('two'));
    expect(a.parameters[0]!.name).toMatch(/^\/prod\//);
    expect(chooseNames(shape, empty, seededRandom('one'))).toEqual(a);
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(b));
  });

  it('keeps explicit names', () => {
    const explicit = shapeOf(
      parseConfig({
        decoys: {
          ssm: { parameters: [{ name: '/prod/billing/stripe-secret-key', format: 'api-token' }] },
          s3: { bucketName: 'acme-billing-exports-{account}' },
          iam: { userName: 'billing-etl' },
        },
      }),
    );
    const names = chooseNames(explicit, ONE_CONVENTION, random());
    expect(names.parameters).toEqual([{ name: '/prod/billing/stripe-secret-key', format: 'api-token' }]);
    expect(names.bucketName).toBe(`acme-billing-exports-${ACCOUNT}`);
    expect(names.userName).toBe('billing-etl');
  });

  it('reconciling keeps what is planted and adds what the shape adds', () => {
    const before = chooseNames(shape, ONE_CONVENTION, random());
    const bigger = shapeOf(parseConfig({ decoys: { ssm: { count: 6 } } }));
    const fresh = chooseNames(bigger, ONE_CONVENTION, seededRandom('other'));
    const after = reconcileNames(bigger, before, fresh);
    expect(after.parameters.slice(0, 4)).toEqual(before.parameters);
    expect(after.parameters).toHaveLength(6);
    expect(after.bucketName).toBe(before.bucketName);
    expect(after.userName).toBe(before.userName);
  });
});

describe('the planter chooses names at plant time', () => {
  it('draws a secret seed once, keeps it in the registry, and reuses the names', async () => {
    const account = new MemoryAccount();
    account.parameters.set('/prod/payments/api-url', {
      value: 'x',
      keyId: 'alias/aws/ssm',
      description: '',
      tags: [],
      version: 1,
    });
    let draws = 0;
    const planter = () =>
      new Planter({
        ...makePlanterDeps(account),
        inventory: account.inventory,
        kms: account.kms,
        newSeed: () => `seed-${++draws}`,
      });
    const target = { account: ACCOUNT, partition: 'aws', keyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/k` };
    const first = await planter().plantShape(shape, target);
    expect(account.registryItem?.seed).toBe('seed-1');
    const names = first.spec!.plan.resources.map((d) => d.name);
    // The example plan (public vocabulary, config seed, account id) recomputes none of them.
    const example = planDecoys(parseConfig({}), { account: ACCOUNT, region: REGION }).resources.map(
      (d) => d.name,
    );
    expect(names.filter((n) => example.includes(n))).toEqual([]);
    // Neighbours of the account's own parameter.
    expect(first.spec!.service).toBe('payments');

    const again = await planter().plantShape(shape, target);
    expect(again.spec!.plan.resources.map((d) => d.name)).toEqual(names);
    expect(account.registryItem?.seed).toBe('seed-1');
    // Drawn at the first plant only.
    expect(draws).toBe(1);
    expect(again.created).toEqual([]);
    // Tagged with the key the role's ABAC conditions use.
    for (const [name, stored] of account.parameters)
      if (name !== '/prod/payments/api-url') expect(stored.tags.map((t) => t.key)).toContain('managed-by');
    expect(account.aliases.get(first.spec!.plan.resources.find((d) => d.kind === 'kms-key')!.name)).toBe(
      target.keyId,
    );
  });

  it('sets the trail selectors: the planted bucket among a few real buckets of the account', async () => {
    const account = new MemoryAccount();
    for (const name of ['acme-prod-orders-exports', 'acme-prod-web-assets', 'trail-logs-bucket'])
      account.buckets.set(name, {
        region: REGION,
        publicAccessBlock: true,
        versioning: false,
        tags: [],
        objects: new Map(),
      });
    const put: { arn: string; selectors: unknown }[] = [];
    const seen: { trailBucket: string; logged: string[]; cover: string[] }[] = [];
    const planter = new Planter({
      ...makePlanterDeps(account),
      inventory: account.inventory,
      kms: account.kms,
      trailSelectors: {
        port: {
          getEventSelectors: async () => ({}),
          getTrailStatus: async () => ({ isLogging: true }),
          putEventSelectors: async (arn, selectors) => {
            put.push({ arn, selectors });
          },
        },
        arn: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/audit`,
        trailBucket: 'trail-logs-bucket',
        selectors: (input) => {
          seen.push(input);
          return [];
        },
      },
    });
    const result = await planter.plantShape(shape, { account: ACCOUNT, partition: 'aws', keyId: 'k' });
    const bucket = result.spec!.plan.resources.find((d) => d.kind === 's3-bucket')!.name;
    expect(put).toHaveLength(1);
    expect(seen[0]!.logged).toEqual([bucket]);
    expect(seen[0]!.cover.sort()).toEqual(['acme-prod-orders-exports', 'acme-prod-web-assets']);
    expect(seen[0]!.trailBucket).toBe('trail-logs-bucket');
  });

  it('refuses an alias another key holds, and removes nothing it does not own', async () => {
    const account = new MemoryAccount();
    const planter = new Planter({ ...makePlanterDeps(account), kms: account.kms, newSeed: () => 'fixed' });
    const names = chooseNames(shape, emptyInventory(ACCOUNT, REGION), seededRandom('fixed'));
    account.aliases.set(names.keyAlias, 'someone-elses-key');
    await expect(
      planter.plantShape(shape, { account: ACCOUNT, partition: 'aws', keyId: 'k' }),
    ).rejects.toThrow(/KMS alias .* already exists and was not created by this stack/);
    expect(account.aliases.get(names.keyAlias)).toBe('someone-elses-key');
    expect(account.parameters.size).toBe(0);
  });

  it('claims an alias that already points at its key (an earlier version made it a stack resource), and writes under the key ARN', async () => {
    const account = new MemoryAccount();
    const keyId = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b`;
    const planter = new Planter({ ...makePlanterDeps(account), kms: account.kms, newSeed: () => 'fixed' });
    const names = chooseNames(shape, emptyInventory(ACCOUNT, REGION), seededRandom('fixed'));
    account.aliases.set(names.keyAlias, '0a1b');
    const result = await planter.plantShape(shape, { account: ACCOUNT, partition: 'aws', keyId });
    expect(result.created).toContain(`kms-alias ${names.keyAlias}`);
    for (const stored of account.parameters.values()) expect(stored.keyId).toBe(keyId);
    expect(account.registryItem?.keyArn).toBe(keyId);
    // The scheduled refresh writes under the same key, without the custom resource.
    await new Planter({ ...makePlanterDeps(account, 'later'), kms: account.kms }).refresh();
    for (const stored of account.parameters.values()) expect(stored.keyId).toBe(keyId);
  });
});
