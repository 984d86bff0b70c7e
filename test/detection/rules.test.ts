import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { type Decoy, planDecoys } from '../../layers/decoys/catalogue';
import {
  ancestorPaths,
  buildDetectionRules,
  type DetectionContext,
  DetectionRuleError,
  PATTERN_SIZE_LIMIT,
  patternSize,
} from '../../layers/detection/rules';
import { matchesPattern, validatePattern } from '../../layers/event-pattern';
import { findTells } from '../../layers/stealth/tells';
import { TEST_ACCOUNT } from '../helpers/app';

const context: DetectionContext = {
  style: 'named',
  ruleNamePrefix: 'platform-shared-services-route-',
  busName: 'platform-shared-services-events',
  trailName: 'platform-shared-services-audit',
  trailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/platform-shared-services-audit`,
  planterRoleArn: `arn:aws:iam::${TEST_ACCOUNT}:role/platform-rotation`,
};

const plan = (raw: unknown = {}) =>
  planDecoys(parseConfig(raw), { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;

describe('buildDetectionRules', () => {
  it.each(['named', 'broad'] as const)(
    '%s: every pattern is valid, under the size limit, with neutral names',
    (style) => {
      const rules = buildDetectionRules(plan(), { ...context, style });
      expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
      for (const rule of rules) {
        expect(validatePattern(rule.pattern), rule.name).toEqual([]);
        expect(patternSize(rule.pattern)).toBeLessThanOrEqual(PATTERN_SIZE_LIMIT);
        expect(rule.name).toMatch(/^platform-shared-services-route-\d\d$/);
        expect(rule.name.length).toBeLessThanOrEqual(64);
        expect(findTells({ name: rule.name, description: rule.description })).toEqual([]);
      }
      expect(new Set(rules.map((r) => r.concern))).toEqual(
        new Set(['identity', 'parameters', 'keys', 'objects', 'directory', 'secrets', 'tampering']),
      );
    },
  );

  it('named rules list the decoys; broad rules name none of them', () => {
    const decoys = plan();
    const secretNames = decoys
      .filter((d) => d.kind !== 'kms-key')
      .map((d) => (d.kind === 'iam-access-key' ? d.name.split('/')[0]! : d.name));
    const namedText = JSON.stringify(buildDetectionRules(decoys, context).map((r) => r.pattern));
    const broadText = JSON.stringify(
      buildDetectionRules(decoys, { ...context, style: 'broad' }).map((r) => r.pattern),
    );
    for (const name of secretNames.filter((n) => !n.includes('/') || n.startsWith('/'))) {
      expect(namedText, name).toContain(name);
      expect(broadText, name).not.toContain(name);
    }
  });

  it('splits twenty parameters over several rules, each under the limit, none left out', () => {
    const decoys = plan({ decoys: { ssm: { count: 20 } } });
    const rules = buildDetectionRules(decoys, context);
    const parameterRules = rules.filter((r) => r.concern === 'parameters');
    const keyRules = rules.filter((r) => r.concern === 'keys');
    expect(parameterRules.length).toBeGreaterThan(1);
    for (const decoy of decoys.filter((d) => d.kind === 'ssm-parameter')) {
      const event = {
        source: 'aws.ssm',
        'detail-type': 'AWS API Call via CloudTrail',
        detail: { eventSource: 'ssm.amazonaws.com', requestParameters: { name: decoy.name } },
      };
      expect(
        parameterRules.filter((r) => matchesPattern(r.pattern, event)),
        decoy.name,
      ).toHaveLength(1);
      expect(JSON.stringify(keyRules.map((r) => r.pattern))).toContain(decoy.arn);
    }
    for (const rule of rules) expect(patternSize(rule.pattern)).toBeLessThanOrEqual(PATTERN_SIZE_LIMIT);
  });

  it('counts an unresolved CDK token at its largest, so a synthesized pattern fits once resolved', () => {
    const token = ['$', '{Token[AWS.AccountId.4]}'].join('');
    expect(patternSize({ a: [token] })).toBe(JSON.stringify({ a: ['x'] }).length - 1 + 100);
  });

  it("the registry's key ids (live and retired) join the user ARN in the identity and directory rules", () => {
    const decoys = plan().map((d) =>
      d.kind === 'iam-access-key'
        ? { ...d, accessKeyIds: ['AKIAQ3EGWSXRLIVE0001'], retiredAccessKeyIds: ['AKIAQ3EGWSXROLD00001'] }
        : d,
    );
    const rules = buildDetectionRules(decoys, context);
    const identity = JSON.stringify(rules.find((r) => r.concern === 'identity')!.pattern);
    expect(identity).toContain('AKIAQ3EGWSXRLIVE0001');
    expect(identity).toContain('AKIAQ3EGWSXROLD00001');
    expect(identity).toContain(decoys.find((d) => d.kind === 'iam-user')!.arn);
  });

  it('named style watches broadly the kinds named at plant time: all of them, and it is the broad style', () => {
    const all = ['ssm-parameter', 's3-bucket', 'iam-user', 'secretsmanager-secret'] as const;
    const broad = buildDetectionRules([], { ...context, style: 'broad' });
    expect(buildDetectionRules(plan(), { ...context, watchedBroadly: all })).toEqual(broad);
    expect(buildDetectionRules([], { ...context, style: 'broad', watchedBroadly: all })).toEqual(broad);
  });

  it('named style lists the kinds the config names, and watches the others broadly', () => {
    const decoys = plan();
    const bucket = decoys.find((d) => d.kind === 's3-bucket')!;
    const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
    const rules = buildDetectionRules(
      decoys.filter((d) => d.kind !== 's3-bucket' && d.kind !== 's3-object'),
      { ...context, watchedBroadly: ['s3-bucket'] },
    );
    const text = (concern: string) =>
      JSON.stringify(rules.filter((r) => r.concern === concern).map((r) => r.pattern));
    expect(text('objects')).not.toContain(bucket.name);
    expect(text('objects')).toContain('"exists":true');
    expect(text('parameters')).toContain(parameter.name);
  });

  it('broad style watches only the planted kinds', () => {
    const rules = buildDetectionRules([], { ...context, style: 'broad', watchedBroadly: ['ssm-parameter'] });
    expect(rules.map((r) => r.concern)).toEqual(['parameters', 'keys', 'tampering', 'tampering']);
  });

  it('leaves out what is not planted', () => {
    const rules = buildDetectionRules(
      plan({ decoys: { s3: { enabled: false }, iam: { enabled: false }, secrets: { enabled: false } } }),
      context,
    );
    expect(rules.map((r) => r.concern)).toEqual(['parameters', 'keys', 'tampering', 'tampering']);
  });

  it('excludes the planter by its session issuer, keeping callers that have none', () => {
    const [objects] = buildDetectionRules(plan(), context).filter((r) => r.concern === 'objects');
    const bucket = plan().find((d) => d.kind === 's3-bucket')!;
    const event = (userIdentity: Record<string, unknown>) => ({
      source: 'aws.s3',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: 's3.amazonaws.com',
        requestParameters: { bucketName: bucket.name },
        userIdentity,
      },
    });
    expect(matchesPattern(objects!.pattern, event({ type: 'IAMUser', arn: 'arn:aws:iam::1:user/a' }))).toBe(
      true,
    );
    expect(
      matchesPattern(
        objects!.pattern,
        event({ type: 'AssumedRole', sessionContext: { sessionIssuer: { arn: context.planterRoleArn } } }),
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        objects!.pattern,
        event({ type: 'AssumedRole', sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::1:role/x' } } }),
      ),
    ).toBe(true);
  });

  it('names a wrong prefix, and a decoy too large for any pattern', () => {
    expect(() => buildDetectionRules(plan(), { ...context, ruleNamePrefix: 'has space' })).toThrow(
      /ruleNamePrefix "has space"/,
    );
    const huge: Decoy = {
      kind: 'ssm-parameter',
      name: `/prod/${'x'.repeat(900)}`,
      arn: `arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/prod/${'x'.repeat(900)}`,
    };
    expect(() => buildDetectionRules([huge], context)).toThrow(DetectionRuleError);
    expect(() => buildDetectionRules([huge], context)).toThrow(/decoy \/prod\/x+ alone makes a pattern over/);
  });
});

describe('ancestorPaths', () => {
  it('lists every path whose GetParametersByPath can return the parameter, with and without the slash', () => {
    expect(ancestorPaths(['/prod/payments/db-password']).sort()).toEqual(
      ['/', '/prod', '/prod/', '/prod/payments', '/prod/payments/'].sort(),
    );
    expect(ancestorPaths(['plain-name'])).toEqual([]);
  });
});
