import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTells } from '../../layers/stealth/tells';
import { honeytrail as run } from '../helpers/cli';

describe('honeytrail plan', () => {
  it('--json prints the decoy list format, every kind, no tell', async () => {
    const { code, out } = await run('plan', '--json', '--account', '123456789012', '--region', 'eu-west-1');
    expect(code).toBe(0);
    const plan = JSON.parse(out) as {
      resources: { account: string; kind: string; name: string; arn: string }[];
    };
    const kinds = new Set(plan.resources.map((d) => d.kind));
    for (const kind of ['ssm-parameter', 's3-object', 'iam-user']) expect(kinds).toContain(kind);
    for (const d of plan.resources) {
      expect(d.account).toBe('123456789012');
      expect(d.arn).toContain(d.kind === 's3-object' || d.kind === 's3-bucket' ? ':s3:::' : '123456789012');
    }
    expect(findTells(plan.resources.map(({ kind: _kind, ...rest }) => rest))).toEqual([]);
  });

  it('prints a readable plan with the breadcrumbs', async () => {
    const { code, out } = await run('plan');
    expect(code).toBe(0);
    expect(out).toMatch(/ssm-parameter/);
    expect(out).toMatch(/leads to:/);
  });

  it('labels its names as an example (deployed names come from a secret seed), and takes --seed', async () => {
    const one = await run('plan', '--json', '--account', '111122223333', '--seed', 'one');
    const two = await run('plan', '--json', '--account', '111122223333', '--seed', 'two');
    const parsed = JSON.parse(one.out) as { example: string; resources: { name: string }[] };
    expect(parsed.example).toMatch(/secret seed/);
    expect(one.out).not.toEqual(two.out);
    const text = await run('plan');
    expect(text.out).toMatch(/Example decoys[\s\S]*Deployed names differ/);
  });

  it('in organization mode, names the member account of each decoy: one set per listed account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-org-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        organization: {
          securityAccount: '222233334444',
          targets: {
            organizationalUnitIds: ['ou-ab12-cdef3456'],
            accounts: ['444455556666', '777788889999'],
          },
        },
      }),
    );
    const { code, out } = await run('plan', '--json', '--config', file);
    expect(code).toBe(0);
    const plan = JSON.parse(out) as { resources: { account: string; kind: string; arn: string }[] };
    expect([...new Set(plan.resources.map((d) => d.account))]).toEqual(['444455556666', '777788889999']);
    for (const d of plan.resources.filter((r) => r.kind === 'iam-user'))
      expect(d.arn).toContain(`::${d.account}:user/`);
    expect(plan.resources.some((d) => d.account === '222233334444')).toBe(false);
    const text = await run('plan', '--config', file);
    expect(text.out).toMatch(/account 444455556666:[\s\S]*account 777788889999:/);
  });

  it('rejects a malformed account id with a clear message', async () => {
    const { code, err } = await run('plan', '--account', '12');
    expect(code).toBe(1);
    expect(err).toMatch(/--account: expected 12 digits/);
  });
});
