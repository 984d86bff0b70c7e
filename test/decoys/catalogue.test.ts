import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { decoyKinds, planDecoys } from '../../layers/decoys/catalogue';
import { findTells } from '../../layers/stealth/tells';

const target = { account: '123456789012', region: 'eu-west-1' };

describe('decoy catalogue', () => {
  it('plans every kind with ARNs in the given account and region', () => {
    const plan = planDecoys(parseConfig({}), target);
    expect(new Set(plan.resources.map((d) => d.kind))).toEqual(new Set(decoyKinds));
    for (const decoy of plan.resources) {
      expect(decoy.arn).toMatch(/^arn:aws:/);
      if (decoy.kind === 'ssm-parameter') {
        expect(decoy.arn).toBe(`arn:aws:ssm:eu-west-1:123456789012:parameter${decoy.name}`);
        expect(decoy.name).toMatch(/^\/prod\/[a-z-]+\/[a-z-]+$/);
      }
      if (decoy.kind === 'iam-user') expect(decoy.arn).toBe(`arn:aws:iam::123456789012:user/${decoy.name}`);
    }
  });

  it('is deterministic, and differs between accounts with the default config', () => {
    const config = parseConfig({});
    expect(planDecoys(config, target)).toEqual(planDecoys(config, target));
    const other = planDecoys(config, { ...target, account: '210987654321' });
    expect(other.resources.map((d) => d.name)).not.toEqual(
      planDecoys(config, target).resources.map((d) => d.name),
    );
  });

  it('honours explicit names', () => {
    const config = parseConfig({
      decoys: {
        ssm: { parameters: [{ name: '/prod/billing/stripe-secret-key', format: 'api-token' }] },
        s3: { bucketName: 'acme-billing-exports-{account}' },
        iam: { userName: 'billing-etl' },
      },
    });
    const names = planDecoys(config, target).resources.map((d) => d.name);
    expect(names).toContain('/prod/billing/stripe-secret-key');
    expect(names).toContain('acme-billing-exports-123456789012');
    expect(names).toContain('billing-etl');
  });

  it('links breadcrumbs: the .env file leads to the access key', () => {
    const plan = planDecoys(parseConfig({}), target);
    const env = plan.resources.find((d) => d.objectKind === 'env-file')!;
    const key = plan.resources.find((d) => d.kind === 'iam-access-key')!;
    expect(env.leadsTo).toContain(key.name);
  });

  it('skips disabled kinds', () => {
    const plan = planDecoys(
      parseConfig({ decoys: { iam: { enabled: false }, s3: { enabled: false } } }),
      target,
    );
    expect(plan.resources.map((d) => d.kind)).not.toContain('iam-user');
    expect(plan.resources.map((d) => d.kind)).not.toContain('s3-object');
  });

  it.each(['1', '2', '3', '4', '5', '6', '7', '8'])('carries no tell with seed %s', (seed) => {
    const plan = planDecoys(parseConfig({ naming: { seed } }), target);
    const { resources: decoys } = plan;
    expect(findTells(decoys.map(({ name, arn, leadsTo }) => ({ name, arn, leadsTo })))).toEqual([]);
  });
});
