import { describe, expect, it } from 'vitest';
import { findTells } from '../../layers/stealth/tells';
import { honeytrail as run } from '../helpers/cli';

describe('honeytrail plan', () => {
  it('--json prints the decoy list format, every kind, no tell', async () => {
    const { code, out } = await run('plan', '--json', '--account', '123456789012', '--region', 'eu-west-1');
    expect(code).toBe(0);
    const plan = JSON.parse(out) as { decoys: { kind: string; name: string; arn: string }[] };
    const kinds = new Set(plan.decoys.map((d) => d.kind));
    for (const kind of ['ssm-parameter', 's3-object', 'iam-user']) expect(kinds).toContain(kind);
    for (const d of plan.decoys)
      expect(d.arn).toContain(d.kind === 's3-object' || d.kind === 's3-bucket' ? ':s3:::' : '123456789012');
    expect(findTells(plan.decoys.map(({ kind: _kind, ...rest }) => rest))).toEqual([]);
  });

  it('prints a readable plan with the breadcrumbs', async () => {
    const { code, out } = await run('plan');
    expect(code).toBe(0);
    expect(out).toMatch(/ssm-parameter/);
    expect(out).toMatch(/leads to:/);
  });

  it('rejects a malformed account id with a clear message', async () => {
    const { code, err } = await run('plan', '--account', '12');
    expect(code).toBe(1);
    expect(err).toMatch(/--account: expected 12 digits/);
  });
});
