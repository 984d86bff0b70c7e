import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configFromContext } from '../../infra/app-builder';
import { loadConfig } from '../../layers/config/load';
import { AWS_REGIONS } from '../../layers/config/regions';
import { allRegions, ConfigError, type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { honeytrail } from '../helpers/cli';

/**
 * Every value a deployment or the deployed code would reject fails parsing (and
 * so `cdk synth` and every `--config` command), naming the key, what is accepted
 * and what was given. One row per kind of bad value.
 */

const long = (n: number) => 'a'.repeat(n);

/** [what is wrong, config, the key named, a phrase of what is accepted]. */
const BAD: [string, HoneytrailConfigInput, string, RegExp][] = [
  // CIDRs: the touch function's parser throws on these at run time.
  [
    'IPv4 prefix over 32',
    { detection: { allowlist: { cidrs: ['10.0.0.0/33'] } } },
    'detection.allowlist.cidrs.0',
    /CIDR/,
  ],
  [
    'IPv4 octet over 255',
    { detection: { allowlist: { cidrs: ['10.0.0.256/24'] } } },
    'detection.allowlist.cidrs.0',
    /CIDR/,
  ],
  [
    'IPv6 prefix over 128',
    { detection: { allowlist: { cidrs: ['2001:db8::/129'] } } },
    'detection.allowlist.cidrs.0',
    /CIDR/,
  ],
  [
    'a CIDR without prefix',
    { detection: { allowlist: { cidrs: ['10.0.0.1'] } } },
    'detection.allowlist.cidrs.0',
    /CIDR/,
  ],
  [
    'malformed IPv6',
    { detection: { allowlist: { cidrs: ['2001:db8:::1/64'] } } },
    'detection.allowlist.cidrs.0',
    /CIDR/,
  ],
  // Regions: shaped like one is not enough.
  ['a made-up home region', { homeRegion: 'us-east-9' }, 'homeRegion', /AWS region name/],
  [
    'a made-up monitored region',
    { monitoredRegions: ['eu-west-1', 'eu-moon-1'] },
    'monitoredRegions.1',
    /AWS region name/,
  ],
  ['an availability zone', { homeRegion: 'us-east-1a' }, 'homeRegion', /AWS region name/],
  [
    'a monitored region of another partition',
    { monitoredRegions: ['eu-west-1', 'cn-north-1'] },
    'monitoredRegions.1',
    /partition homeRegion us-east-1 is in \(aws\)/,
  ],
  [
    'a GovCloud home with commercial regions',
    { homeRegion: 'us-gov-west-1', monitoredRegions: ['us-east-2'] },
    'monitoredRegions.0',
    /aws-us-gov/,
  ],
  // Schedules, as EventBridge reads them.
  ['rate of zero', { refreshSchedule: 'rate(0 days)' }, 'refreshSchedule', /N must be at least 1/],
  ['plural unit for 1', { refreshSchedule: 'rate(1 days)' }, 'refreshSchedule', /write rate\(1 day\)/],
  [
    'singular unit for 7',
    { scoring: { trainSchedule: 'rate(7 day)' } },
    'scoring.trainSchedule',
    /write rate\(7 days\)/,
  ],
  ['a unit EventBridge lacks', { refreshSchedule: 'rate(2 weeks)' }, 'refreshSchedule', /minute\|hour\|day/],
  ['5-field cron', { refreshSchedule: 'cron(0 3 * * *)' }, 'refreshSchedule', /exactly 6 fields/],
  [
    'cron without ?',
    { detection: { unloggedUseSchedule: 'cron(0 3 * * * *)' } },
    'detection.unloggedUseSchedule',
    /must be \?/,
  ],
  ['cron with two ?', { refreshSchedule: 'cron(0 3 ? * ? *)' }, 'refreshSchedule', /must be \?/],
  [
    'cron with a bad field',
    { refreshSchedule: 'cron(0 3 x * ? *)' },
    'refreshSchedule',
    /day-of-month field/,
  ],
  // ARNs.
  [
    'a protected principal that is no ARN',
    { response: { protectedPrincipals: ['not-an-arn'] } },
    'response.protectedPrincipals.0',
    /expected an ARN/,
  ],
  [
    'an allowlisted principal that is no ARN',
    { detection: { allowlist: { principalArns: ['scanner'] } } },
    'detection.allowlist.principalArns.0',
    /principal ARN/,
  ],
  [
    'an allowlist wildcard not at the end',
    { detection: { allowlist: { principalArns: ['arn:aws:iam::111122223333:role/*-scanner'] } } },
    'detection.allowlist.principalArns.0',
    /only a trailing \*/,
  ],
  [
    'an allowlist prefix that allows every account',
    { detection: { allowlist: { principalArns: ['arn:aws:*'] } } },
    'detection.allowlist.principalArns.0',
    /principal ARN/,
  ],
  [
    'a trail ARN of another service',
    { trail: { mode: 'existing', existingTrailArn: 'arn:aws:s3:::org-trail' } },
    'trail.existingTrailArn',
    /CloudTrail trail ARN/,
  ],
  [
    'a trail ARN in no region',
    { trail: { mode: 'existing', existingTrailArn: 'arn:aws:cloudtrail:us-east-9:111122223333:trail/org' } },
    'trail.existingTrailArn',
    /real region/,
  ],
  [
    'a trail ARN with a bad trail name',
    {
      trail: {
        mode: 'existing',
        existingTrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org--trail',
      },
    },
    'trail.existingTrailArn',
    /CloudTrail trail ARN/,
  ],
  // S3 bucket names.
  [
    'upper case and underscore',
    { decoys: { s3: { bucketName: 'My_Bucket' } } },
    'decoys.s3.bucketName',
    /S3 bucket name/,
  ],
  ['too short', { decoys: { s3: { bucketName: 'ab' } } }, 'decoys.s3.bucketName', /has 2 characters/],
  ['too long', { decoys: { s3: { bucketName: long(64) } } }, 'decoys.s3.bucketName', /has 64 characters/],
  [
    'too long once filled in',
    { decoys: { s3: { bucketName: `${long(45)}-{account}-{region}` } } },
    'decoys.s3.bucketName',
    /filled in/,
  ],
  [
    'an unknown placeholder',
    { decoys: { s3: { bucketName: 'backups-{acount}' } } },
    'decoys.s3.bucketName',
    /character other than/,
  ],
  [
    'prefix xn--',
    { decoys: { s3: { bucketName: 'xn--backups' } } },
    'decoys.s3.bucketName',
    /prefix xn-- is reserved/,
  ],
  [
    'prefix sthree-',
    { decoys: { s3: { bucketName: 'sthree-backups' } } },
    'decoys.s3.bucketName',
    /prefix sthree-/,
  ],
  [
    'prefix amzn-s3-demo-',
    { decoys: { s3: { bucketName: 'amzn-s3-demo-backups' } } },
    'decoys.s3.bucketName',
    /prefix amzn-s3-demo-/,
  ],
  [
    'suffix -s3alias',
    { decoys: { s3: { bucketName: 'backups-s3alias' } } },
    'decoys.s3.bucketName',
    /suffix -s3alias/,
  ],
  [
    'suffix --ol-s3',
    { decoys: { s3: { bucketName: 'backups--ol-s3' } } },
    'decoys.s3.bucketName',
    /suffix --ol-s3/,
  ],
  [
    'suffix .mrap',
    { decoys: { s3: { bucketName: 'backups.mrap' } } },
    'decoys.s3.bucketName',
    /suffix \.mrap/,
  ],
  [
    'suffix --x-s3',
    { decoys: { s3: { bucketName: 'backups--x-s3' } } },
    'decoys.s3.bucketName',
    /suffix --x-s3/,
  ],
  [
    'suffix --table-s3',
    { decoys: { s3: { bucketName: 'backups--table-s3' } } },
    'decoys.s3.bucketName',
    /suffix --table-s3/,
  ],
  ['two dots', { decoys: { s3: { bucketName: 'backups..prod' } } }, 'decoys.s3.bucketName', /has "\.\."/],
  ['IP-shaped', { decoys: { s3: { bucketName: '192.168.5.4' } } }, 'decoys.s3.bucketName', /IP address/],
  [
    'ending in a dash',
    { decoys: { s3: { bucketName: 'backups-' } } },
    'decoys.s3.bucketName',
    /start and end/,
  ],
  [
    'an existing trail bucket S3 rejects',
    { trail: { existingTrailBucket: 'Org_Trail' } },
    'trail.existingTrailBucket',
    /S3 bucket name/,
  ],
  // Generated names too long for AWS.
  [
    'naming words too long for the bucket',
    { naming: { prefix: long(25), environment: `p${long(25)}` } },
    'naming',
    /generated bucket name/,
  ],
  [
    'naming words too long for the IAM user',
    { naming: { prefix: long(31), service: `s${long(30)}` }, decoys: { s3: { enabled: false } } },
    'naming',
    /IAM user name/,
  ],
  ['a stack name too long for its trail', { stackName: `p${long(122)}` }, 'stackName', /valid trail name/],
  ['a stack name whose trail name has "--"', { stackName: 'platform-' }, 'stackName', /valid trail name/],
  // SSM parameter names.
  [
    'a reserved parameter prefix',
    { decoys: { ssm: { parameters: [{ name: '/aws/service/x', format: 'password' }] } } },
    'decoys.ssm.parameters.0.name',
    /not starting with aws or ssm/,
  ],
  [
    'an empty parameter level',
    { decoys: { ssm: { parameters: [{ name: '/prod//db-password', format: 'password' }] } } },
    'decoys.ssm.parameters.0.name',
    /no empty level/,
  ],
  [
    'an environment that makes reserved parameter names',
    { naming: { environment: 'ssm-prod' } },
    'naming',
    /generated parameter/,
  ],
  // Marker words in deployed names (layers/stealth/tells.ts).
  ['stack name', { stackName: 'honeypot-stack' }, 'stackName', /marker words.*honey/],
  ['prefix', { naming: { prefix: 'decoyco' } }, 'naming.prefix', /marker words/],
  ['service', { naming: { service: 'traps' } }, 'naming.service', /marker words.*trap/],
  ['environment', { naming: { environment: 'canary' } }, 'naming.environment', /marker words/],
  ['seed', { naming: { seed: 'bait' } }, 'naming.seed', /marker words/],
  [
    'parameter name',
    { decoys: { ssm: { parameters: [{ name: '/prod/lure/db-password', format: 'password' }] } } },
    'decoys.ssm.parameters.0.name',
    /marker words/,
  ],
  [
    'bucket name',
    { decoys: { s3: { bucketName: 'tripwire-{account}' } } },
    'decoys.s3.bucketName',
    /marker words/,
  ],
  ['IAM user name', { decoys: { iam: { userName: 'svc-sentinel' } } }, 'decoys.iam.userName', /marker words/],
  [
    'key store path',
    { response: { keyStorePath: 'deception/keys' } },
    'response.keyStorePath',
    /marker words/,
  ],
  ['alert address', { alertEmail: 'honeytrail-alerts@example.com' }, 'alertEmail', /marker words/],
  ['a UUID in a name', { naming: { seed: '9f1c2d3e-1111-4222-8333-444455556666' } }, 'naming.seed', /UUID/],
];

/** Configs that must keep working: the default, the docs' examples and the other tests' configs. */
const GOOD: [string, HoneytrailConfigInput][] = [
  ['the default', {}],
  ['every commercial region', { monitoredRegions: [...AWS_REGIONS.aws] }],
  ['every China region', { homeRegion: 'cn-northwest-1', monitoredRegions: [...AWS_REGIONS['aws-cn']] }],
  ['GovCloud home', { homeRegion: 'us-gov-west-1' }],
  ['China home', { homeRegion: 'cn-north-1' }],
  [
    'allowlists',
    {
      detection: {
        allowlist: {
          cidrs: ['203.0.113.0/24', '0.0.0.0/0', '10.0.0.7/32', '2001:db8::/32', '::/0'],
          principalArns: [
            'arn:aws:iam::111122223333:role/Scanner',
            'arn:aws:sts::111122223333:assumed-role/Scanner/*',
            'arn:aws-us-gov:iam::111122223333:user/inventory',
          ],
        },
      },
    },
  ],
  [
    'schedules',
    {
      refreshSchedule: 'rate(1 minute)',
      detection: { unloggedUseSchedule: 'cron(0/15 * * * ? *)' },
      scoring: { trainSchedule: 'cron(0 3 ? * MON-FRI *)' },
    },
  ],
  ['more schedules', { refreshSchedule: 'cron(0 8 1 * ? *)', scoring: { trainSchedule: 'rate(12 hours)' } }],
  [
    'protected principals with wildcards',
    {
      response: {
        protectedPrincipals: [
          'arn:aws:iam::111122223333:user/breakglass',
          'arn:aws:iam::*:role/admin-*',
          'arn:aws:sts::111122223333:assumed-role/Ops/*',
          'arn:*:iam::*:role/cdk-*-deploy-role-*',
        ],
      },
    },
  ],
  [
    'an existing trail and its bucket',
    {
      trail: {
        mode: 'existing',
        existingTrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail',
        existingTrailBucket: 'org-trail-logs',
      },
    },
  ],
  ['a bucket template', { decoys: { s3: { bucketName: 'ledger-exports-{account}-{region}' } } }],
  ['a bucket with every placeholder', { decoys: { s3: { bucketName: '{service}-{env}-{account}' } } }],
  ['a bucket name with dots', { decoys: { s3: { bucketName: 'exports.example.com' } } }],
  ['naming words', { naming: { prefix: 'acme', service: 'ledger', environment: 'qa', seed: 'x7' } }],
  ['a stack name', { stackName: 'shared-infra' }],
  ['a 122-character stack name', { stackName: `p${long(121)}` }],
  [
    'a 128-character stack name with an existing trail',
    {
      stackName: `p${long(127)}`,
      trail: { mode: 'existing', existingTrailArn: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/org' },
    },
  ],
  [
    'an explicit user and parameters',
    {
      decoys: {
        iam: { userName: 'ci-payments-deploy' },
        ssm: { parameters: [{ name: '/prod/payments/db-password', format: 'password' }] },
      },
    },
  ],
  ['an alert address', { alertEmail: 'security@example.com' }],
  [
    'the response tests',
    { dryRun: false, response: { keyStorePath: 'qa-review-k1f2e3d4', healthCheckAlarms: ['api-5xx'] } },
  ],
  ['the detection tests', { homeRegion: 'eu-west-1', monitoredRegions: ['eu-central-1', 'ap-southeast-2'] }],
];

describe('config validation', () => {
  it.each(BAD)(
    'rejects %s, naming the key, what it accepts and what it got',
    (_label, config, key, accepted) => {
      let message = '';
      try {
        parseConfig(config);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      const line = message.split('\n').find((l) => l.trim().startsWith(`honeytrail.${key}:`));
      expect(line, message || 'accepted').toBeDefined();
      expect(line).toMatch(/: expected /);
      expect(line).toMatch(accepted);
      expect(line).toMatch(/\(got .+\)$/);
    },
  );

  it.each(GOOD)('accepts %s', (_label, config) => {
    expect(() => parseConfig(config)).not.toThrow();
  });

  it('never deploys to a region of another partition', () => {
    expect(
      allRegions(parseConfig({ homeRegion: 'us-gov-west-1', monitoredRegions: ['us-gov-east-1'] })),
    ).toEqual(['us-gov-east-1', 'us-gov-west-1']);
    expect(allRegions(parseConfig({ homeRegion: 'cn-north-1' }))).toEqual(['cn-north-1', 'cn-northwest-1']);
    expect(allRegions(parseConfig({ homeRegion: 'eu-west-1' })).every((r) => r.startsWith('us-gov'))).toBe(
      false,
    );
    expect(allRegions(parseConfig({ homeRegion: 'eu-west-1' })).some((r) => r.startsWith('cn-'))).toBe(false);
  });

  it('reports every name a config would generate wrongly, once each', () => {
    const config = { naming: { prefix: long(31), service: `s${long(30)}` } };
    expect(() => parseConfig(config)).toThrow(ConfigError);
    const message = (() => {
      try {
        parseConfig(config);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message.match(/generated bucket name/g)).toHaveLength(1);
    expect(message.match(/generated user name/g)).toHaveLength(1);
  });

  it('accepts every CIDR the touch function accepts, and rejects every one it throws on', () => {
    for (const cidr of [
      '10.0.0.0/8',
      '10.0.0.0/33',
      // IPv4-mapped IPv6 is read as IPv4, so its prefix is out of 0-32.
      '::ffff:10.0.0.0/104',
      '300.1.1.1/8',
      'fe80::1/64',
      'fe80::1/200',
      '10.0.0.0/08',
    ]) {
      const atRunTime = (() => {
        try {
          compileAllowlist({ principalArns: [], cidrs: [cidr] });
          return true;
        } catch {
          return false;
        }
      })();
      const atSynth = (() => {
        try {
          parseConfig({ detection: { allowlist: { cidrs: [cidr] } } });
          return true;
        } catch {
          return false;
        }
      })();
      expect(atSynth, cidr).toBe(atRunTime);
    }
  });
});

describe('config sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-validation-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a cut-off config file names the file and says it is not JSON', () => {
    const path = file('cut.json', '{"homeRegion": "eu-west-1", ');
    expect(() => loadConfig({ configFile: path })).toThrow(ConfigError);
    expect(() => loadConfig({ configFile: path })).toThrow(`config file ${path} is not valid JSON`);
    const app = new App({ context: { honeytrailConfig: path } });
    expect(() => configFromContext(app)).toThrow(`config file ${path} is not valid JSON`);
  });

  it('a missing config file names the file', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadConfig({ configFile: path })).toThrow(`cannot read config file ${path}`);
    expect(() => configFromContext(new App({ context: { honeytrailConfig: path } }))).toThrow(path);
  });

  it('-c honeytrail with text that is not JSON names context.honeytrail', () => {
    const app = new App({ context: { honeytrail: '{"homeRegion": eu-west-1}' } });
    expect(() => configFromContext(app)).toThrow(ConfigError);
    expect(() => configFromContext(app)).toThrow(
      /context\.honeytrail: expected a JSON object, but it is not valid JSON/,
    );
  });

  it('-c honeytrail with a bad value names the key', () => {
    const app = new App({ context: { honeytrail: '{"detection":{"allowlist":{"cidrs":["10.0.0.0/33"]}}}' } });
    expect(() => configFromContext(app)).toThrow(
      /context\.honeytrail\.detection\.allowlist\.cidrs\.0: expected a CIDR block.*\(got "10\.0\.0\.0\/33"\)/,
    );
  });

  it('a config file with a bad value names the file and the key', () => {
    const path = file('bad.json', JSON.stringify({ stackName: 'honeypot-stack' }));
    expect(() => loadConfig({ configFile: path })).toThrow(
      `${path}.stackName: expected a name without marker words`,
    );
    expect(() => configFromContext(new App({ context: { honeytrailConfig: path } }))).toThrow(
      `${path}.stackName: expected a name without marker words`,
    );
  });

  it('a command with --config fails the same way', async () => {
    const bad = file('cli-bad.json', JSON.stringify({ homeRegion: 'us-east-9' }));
    const cut = file('cli-cut.json', '{"homeRegion": ');
    const run = await honeytrail('plan', '--config', bad);
    expect(run.code).not.toBe(0);
    expect(run.err).toContain(`${bad}.homeRegion: expected an AWS region name`);
    expect(run.err).toContain('(got "us-east-9")');
    const cutRun = await honeytrail('plan', '--config', cut);
    expect(cutRun.code).not.toBe(0);
    expect(cutRun.err).toContain(`config file ${cut} is not valid JSON`);
  });
});
