import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMBER_ROLE_NAME } from '../../layers/config/organization';
import { DEFAULT_ENABLED_REGIONS, isOptInRegion } from '../../layers/config/regions';
import { allRegions, ConfigError, parseConfig } from '../../layers/config/schema';

const SECURITY = '222233334444';
const OU = 'ou-ab12-cdef3456';
const organization = (block: Record<string, unknown>) => ({
  organization: { securityAccount: SECURITY, targets: { organizationalUnitIds: [OU] }, ...block },
});

describe('regions covered', () => {
  it('by default, every region enabled by default in the partition: the 17 commercial ones', () => {
    const regions = allRegions(parseConfig({}));
    expect(regions).toHaveLength(17);
    expect(regions).toEqual([...DEFAULT_ENABLED_REGIONS.aws].sort());
    expect(regions.some(isOptInRegion)).toBe(false);
  });

  it('monitoredRegions only adds: an opt-in region joins the default ones', () => {
    const regions = allRegions(parseConfig({ monitoredRegions: ['af-south-1', 'eu-west-1'] }));
    expect(regions).toHaveLength(18);
    expect(regions).toContain('af-south-1');
    expect(isOptInRegion('af-south-1')).toBe(true);
  });

  it('in another partition, only that partition’s regions', () => {
    expect(allRegions(parseConfig({ homeRegion: 'cn-north-1' }))).toEqual(['cn-north-1', 'cn-northwest-1']);
    expect(allRegions(parseConfig({ homeRegion: 'us-gov-west-1' }))).toEqual([
      'us-gov-east-1',
      'us-gov-west-1',
    ]);
  });

  it('organization mode with a list of regions covers that list, home and us-east-1', () => {
    const config = parseConfig({ homeRegion: 'eu-west-1', ...organization({ regions: ['eu-central-1'] }) });
    expect(allRegions(config)).toEqual(['eu-central-1', 'eu-west-1', 'us-east-1']);
    expect(allRegions(parseConfig(organization({})))).toHaveLength(17);
  });
});

describe('organization block', () => {
  it('is optional, and complete with only the security account and targets', () => {
    expect(parseConfig({}).organization).toBeUndefined();
    const parsed = parseConfig(organization({})).organization!;
    expect(parsed.regions).toBe('all');
    expect(parsed.memberRoleName).toBe(DEFAULT_MEMBER_ROLE_NAME);
    expect(parsed.automation).toEqual({ accounts: [], organizationalUnitIds: [] });
    expect(parsed.protectedPrincipals).toEqual({});
    expect(parsed.organizationId).toBeUndefined();
    expect(parsed.logArchive).toBeUndefined();
  });

  it('accepts a full block', () => {
    const parsed = parseConfig(
      organization({
        organizationId: 'o-a1b2c3d4e5',
        targets: { organizationalUnitIds: [OU, 'r-ab12'], accounts: ['333344445555'] },
        regions: ['us-east-1', 'eu-west-1', 'af-south-1'],
        memberRoleName: 'ops-readiness',
        automation: { accounts: ['333344445555'], organizationalUnitIds: [OU] },
        protectedPrincipals: { '333344445555': ['arn:aws:iam::333344445555:role/admin-*'] },
        logArchive: {
          bucket: 'org-trail-logs-555566667777',
          kmsKeyArn: 'arn:aws:kms:us-east-1:555566667777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          notificationTopicArn: 'arn:aws:sns:us-east-1:555566667777:log-archive-objects',
        },
      }),
    ).organization!;
    expect(parsed.targets.accounts).toEqual(['333344445555']);
    expect(parsed.logArchive?.bucket).toBe('org-trail-logs-555566667777');
  });

  it.each([
    [{ securityAccount: '2222' }, 'organization.securityAccount', /12-digit/],
    [{ organizationId: 'o-short' }, 'organization.organizationId', /o-/],
    [
      { targets: { organizationalUnitIds: [] } },
      'organization.targets.organizationalUnitIds',
      /at least one/,
    ],
    [
      { targets: { organizationalUnitIds: ['ou-x'] } },
      'organization.targets.organizationalUnitIds.0',
      /ou-ab12/,
    ],
    [
      { targets: { organizationalUnitIds: [], accounts: ['333344445555'] } },
      'organization.targets.organizationalUnitIds',
      /within its target OUs/,
    ],
    [
      { targets: { organizationalUnitIds: [OU], accounts: [SECURITY] } },
      'organization.targets.accounts.0',
      /security account/,
    ],
    [{ regions: [] }, 'organization.regions', /.+/],
    [{ regions: ['us-east-9'] }, 'organization.regions.0', /AWS region/],
    [{ regions: ['cn-north-1'] }, 'organization.regions.0', /partition/],
    [{ memberRoleName: 'has space' }, 'organization.memberRoleName', /IAM role name/],
    [{ memberRoleName: 'OrganizationAccountAccessRole' }, 'organization.memberRoleName', /your own/],
    [{ memberRoleName: 'honeytoken-reader' }, 'organization.memberRoleName', /marker words/],
    [{ automation: { accounts: ['1'] } }, 'organization.automation.accounts.0', /12-digit/],
    [
      { automation: { organizationalUnitIds: ['x'] } },
      'organization.automation.organizationalUnitIds.0',
      /ou-/,
    ],
    [{ protectedPrincipals: { abc: [] } }, 'organization.protectedPrincipals', /12-digit/],
    [
      { protectedPrincipals: { '333344445555': ['admin'] } },
      'organization.protectedPrincipals.333344445555.0',
      /ARN/,
    ],
    [
      { protectedPrincipals: { '333344445555': ['arn:aws:iam::999988887777:role/admin'] } },
      'organization.protectedPrincipals.333344445555.0',
      /account 333344445555/,
    ],
    [{ logArchive: { bucket: 'Not_A_Bucket' } }, 'organization.logArchive.bucket', /S3 bucket name/],
    [
      { logArchive: { bucket: 'logs-archive', kmsKeyArn: 'key' } },
      'organization.logArchive.kmsKeyArn',
      /KMS key ARN/,
    ],
    [
      { logArchive: { bucket: 'logs-archive', notificationTopicArn: 'arn:aws:sns:moon-1:555566667777:t' } },
      'organization.logArchive.notificationTopicArn',
      /real region/,
    ],
    [{ extra: true }, 'organization', /extra/],
  ])('rejects %j at synth, naming %s', (block, key, message) => {
    const attempt = () => parseConfig(organization(block));
    expect(attempt).toThrow(ConfigError);
    const line = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message.split('\n').find((l) => l.trim().startsWith(`honeytrail.${key}`));
      }
    })();
    expect(line, `no line for ${key}`).toBeDefined();
    expect(line).toMatch(message);
  });
});
