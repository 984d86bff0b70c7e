import { describe, expect, it } from 'vitest';
import { findTells, MARKER_WORDS, tellsIn } from '../../layers/stealth/tells';
import { synthApp } from '../helpers/app';

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
    ['three regions and broad rules', { homeRegion: 'eu-west-1', monitoredRegions: ['eu-central-1'] }],
  ])('every string of every synthesized template is clean with %s', (_label, config) => {
    const { app } = synthApp(config);
    const assembly = app.synth();
    for (const stack of assembly.stacks) {
      expect(stack.stackName).not.toMatch(/honey|decoy|canary/i);
      expect(findTells(stack.template)).toEqual([]);
    }
  });
});
