import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { findTells, MARKER_WORDS, tellsIn } from '../../layers/stealth/tells';
import { TEST_ACCOUNT } from '../helpers/app';
import { sharedApp } from './shared-app';

describe('no tells in what is deployed', () => {
  it('the tell scanner catches marker words, camelCase and UUIDs, and spares "bootstrap"', () => {
    expect(tellsIn('DecoyFleetRole')).not.toHaveLength(0);
    expect(tellsIn('my-honeypot')).not.toHaveLength(0);
    expect(tellsIn('arn:aws:s3:::traps-bucket')).not.toHaveLength(0);
    expect(tellsIn('/prod/x/9f1c2d3e-1111-4222-8333-444455556666')).not.toHaveLength(0);
    expect(tellsIn('CheckBootstrapVersion')).toHaveLength(0);
    expect(tellsIn('OnFailure')).toHaveLength(0);
  });

  it.each(MARKER_WORDS)(
    'catches the marker word "%s" alone, capitalised, plural and inside a name',
    (word) => {
      const capitalised = `${word[0]!.toUpperCase()}${word.slice(1)}`;
      for (const value of [word, `${capitalised}Fleet`, `prod-${word}s`, `/prod/${word}/x`]) {
        expect(tellsIn(value), value).not.toHaveLength(0);
      }
    },
  );

  it.each([
    ['the default config', {}],
    [
      'another home region and an opt-in region',
      { homeRegion: 'eu-west-1', monitoredRegions: ['eu-south-1'] },
    ],
    [
      'organization mode (the member templates inside the StackSets too)',
      {
        organization: {
          securityAccount: '222233334444',
          targets: { organizationalUnitIds: ['ou-ab12-cdef3456'] },
        },
      },
    ],
  ])('every string of every synthesized template is clean with %s', (_label, config) => {
    for (const stack of sharedApp(config).stacks()) {
      expect(stack.stackName).not.toMatch(/honey|decoy|canary/i);
      expect(findTells(stack.template)).toEqual([]);
    }
  });
});

describe('nothing the detection deploys names a decoy (default config)', () => {
  type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  const config = {};
  const stacks = sharedApp(config).stacks();
  /** Every name and ARN `honeytrail plan` prints for this account (the access key by its user). */
  const names = planDecoys(parseConfig(config), {
    account: TEST_ACCOUNT,
    region: 'us-east-1',
  }).resources.flatMap((d) => [d.kind === 'iam-access-key' ? d.name.split('/')[0]! : d.name, d.arn]);
  const namedIn = (value: unknown) => {
    const text = JSON.stringify(value);
    return names.filter((name) => text.includes(name));
  };

  it('the plan has names to look for', () => {
    expect(names.length).toBeGreaterThan(8);
  });

  it('no rule pattern in any stack contains a decoy name or ARN', () => {
    let patterns = 0;
    for (const stack of stacks) {
      for (const [id, resource] of Object.entries(stack.template.Resources as Resources)) {
        if (resource.Type !== 'AWS::Events::Rule' || !resource.Properties?.EventPattern) continue;
        patterns += 1;
        expect(namedIn(resource.Properties), `${stack.stackName} ${id}`).toEqual([]);
      }
    }
    // Home: central and forwarding rules; the other region: forwarding rules.
    expect(patterns).toBeGreaterThanOrEqual(3 * 7);
  });

  it('the routing (rules, functions, environments, role policies), the trail and the regional stacks name none', () => {
    for (const stack of stacks) {
      const home = stack.id === 'Main';
      const ours = Object.entries(stack.template.Resources as Resources).filter(
        ([id]) => !home || id.startsWith('EventRouting') || id.startsWith('AuditTrail'),
      );
      expect(ours.length, stack.stackName).toBeGreaterThan(0);
      for (const [id, resource] of ours) expect(namedIn(resource), `${stack.stackName} ${id}`).toEqual([]);
    }
  });
});
