import { describe, expect, it } from 'vitest';
import { allRegions, ConfigError, formerFindingKinds, parseConfig } from '../../layers/config/schema';
import { findingKinds } from '../../layers/config/vocabulary';

describe('config', () => {
  it('an empty config is complete and valid', () => {
    const config = parseConfig({});
    expect(config.homeRegion).toBe('us-east-1');
    expect(config.dryRun).toBe(true);
    expect(config.decoys.ssm.count).toBeGreaterThan(0);
    expect(config.refreshSchedule).toBe('rate(1 day)');
  });

  it('names the wrong key, what it accepts and what it got', () => {
    expect(() => parseConfig({ scoring: { windowMinutes: 1 } })).toThrow(ConfigError);
    expect(() => parseConfig({ scoring: { windowMinutes: 1 } })).toThrow(
      /honeytrail\.scoring\.windowMinutes: .*(got 1)/,
    );
    expect(() => parseConfig({ homeRegion: 'moon-1' })).toThrow(
      /honeytrail\.homeRegion: expected an AWS region/,
    );
    expect(() => parseConfig({ refreshSchedule: 'daily' })).toThrow(/refreshSchedule: expected rate/);
    expect(() => parseConfig({ alertEmail: 'nobody' })).toThrow(/alertEmail: expected an email/);
  });

  it('reads a response rule kind by its current name or a former one, and names an unknown one', () => {
    const rule = (kind: string) => ({ response: { rules: [{ kind, action: 'notify' }] } });
    for (const kind of findingKinds) expect(parseConfig(rule(kind)).response.rules[0]!.kind).toBe(kind);
    for (const [former, current] of Object.entries(formerFindingKinds))
      expect(parseConfig(rule(former)).response.rules[0]!.kind).toBe(current);
    expect(() => parseConfig(rule('no-such-kind'))).toThrow(/response\.rules\.0\.kind: .*no-such-kind/);
  });

  it('rejects unknown keys so a typo does not pass silently', () => {
    expect(() => parseConfig({ dryrun: false })).toThrow(/dryrun/);
  });

  it('requires a trail ARN when using an existing trail', () => {
    expect(() => parseConfig({ trail: { mode: 'existing' } })).toThrow(/trail\.existingTrailArn/);
  });

  it('always covers home, us-east-1 (where IAM events arrive) and every default region; monitoredRegions adds', () => {
    const regions = allRegions(parseConfig({ homeRegion: 'eu-west-1', monitoredRegions: ['eu-south-1'] }));
    expect(regions).toHaveLength(18);
    expect(regions).toEqual(expect.arrayContaining(['eu-south-1', 'eu-west-1', 'us-east-1', 'ap-south-1']));
  });
});
