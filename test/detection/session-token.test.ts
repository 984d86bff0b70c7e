import { beforeAll, describe, expect, it } from 'vitest';
import { type CloudTrailRecord, toEnvelope } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { classifyRecord } from '../../layers/detection/classify';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { buildDetectionRules, type DetectionContext, type KnownDecoy } from '../../layers/detection/rules';
import { compilePattern } from '../../layers/event-pattern';
import { findingSchema } from '../../layers/findings/finding';
import { TEST_ACCOUNT } from '../helpers/app';
import { DETECTION_CONFIG, type Deployment, deployment, detect, HOME, OTHER } from './helpers';
import { attackerUser, call, decoyUser } from './records';

/**
 * sts:GetSessionToken needs no permission and no policy can deny it, so the planted
 * key can always mint session credentials (ASIA...). CloudTrail records the calls
 * made with them under the same IAM user: `type: IAMUser`, the user's ARN, the
 * session's key id and a `sessionContext` with only attributes (no issuer, unlike
 * a role session). Both the GetSessionToken call and every call with the session
 * must be caught, and by the user's ARN: the session key id is in no registry.
 */

const PLANTED_KEY = 'AKIAQ3EGWSXRJQ7M2XOB';
const SESSION_KEY = 'ASIAQ3EGWSXRSESSN7QK';

/** The identity CloudTrail writes for a call signed with GetSessionToken credentials of `userArn`. */
function sessionOf(userArn: string): Record<string, unknown> {
  return {
    ...decoyUser(userArn, SESSION_KEY),
    sessionContext: {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: { creationDate: '2024-08-01T15:20:41Z', mfaAuthenticated: 'false' },
    },
  };
}

/** GetSessionToken signed with the planted key: allowed, whatever the user's policy says. */
function getSessionToken(userArn: string, region: string): CloudTrailRecord {
  const record = call({
    template: 'sts',
    eventName: 'GetSessionToken',
    region,
    userIdentity: decoyUser(userArn, PLANTED_KEY),
    requestParameters: { durationSeconds: 129600 },
    eventTime: '2024-08-01T15:20:41Z',
  });
  record.responseElements = {
    credentials: {
      accessKeyId: SESSION_KEY,
      sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
      expiration: 'Aug 3, 2024, 3:20:41 AM',
    },
  };
  return record;
}

/** A call made with the session: GetCallerIdentity succeeds, everything else meets the user's deny. */
function withSession(
  userArn: string,
  region: string,
  eventSource: string,
  eventName: string,
  identity = sessionOf(userArn),
): CloudTrailRecord {
  return call({
    template: 'sts',
    eventSource,
    eventName,
    region,
    userIdentity: identity,
    requestParameters: null,
    denied: eventName !== 'GetCallerIdentity',
    eventTime: '2024-08-01T15:22:09Z',
  });
}

const SESSION_CALLS: [string, string, string[]][] = [
  ['sts.amazonaws.com', 'GetCallerIdentity', [HOME, OTHER, 'us-east-1']],
  ['ssm.amazonaws.com', 'DescribeParameters', [HOME, OTHER]],
  ['s3.amazonaws.com', 'ListBuckets', [HOME]],
  ['secretsmanager.amazonaws.com', 'ListSecrets', [OTHER]],
];

describe.each(['named', 'broad'] as const)('session credentials of the planted key (%s rules)', (style) => {
  let d: Deployment;
  let userArn: string;
  let userName: string;
  beforeAll(() => {
    d = deployment({ ...DETECTION_CONFIG, detection: { ruleStyle: style } });
    const user = d.decoys.find((x) => x.kind === 'iam-user')!;
    userArn = user.arn;
    userName = user.name;
  });

  it.each(['us-east-1', HOME, OTHER])('GetSessionToken itself (%s) is a critical finding', async (region) => {
    const record = getSessionToken(userArn, region);
    const { routed, sink } = await detect(d, [record]);
    expect(routed.forwardedBy).not.toHaveLength(0);
    expect(routed.invokedBy).not.toHaveLength(0);
    expect(sink.findings).toHaveLength(1);
    const finding = findingSchema.parse(sink.findings[0]);
    expect(finding).toMatchObject({
      kind: 'resource-access',
      severity: 'critical',
      eventNames: ['GetSessionToken'],
      outcome: 'allowed',
      actor: { arn: userArn, type: 'IAMUser', accessKeyId: PLANTED_KEY },
      resource: { name: `${userName}/access-key` },
    });
  });

  const runs = SESSION_CALLS.flatMap(([source, name, regions]) =>
    regions.map((region) => ({ source, name, region })),
  );
  it.each(runs)('a call with the session ($name in $region) is a critical finding', async (run) => {
    const record = withSession(userArn, run.region, run.source, run.name);
    const { routed, sink } = await detect(d, [record]);
    expect(routed.forwardedBy, 'a forwarding rule matches').not.toHaveLength(0);
    expect(routed.invokedBy, 'a central rule matches').not.toHaveLength(0);
    expect(sink.findings).toHaveLength(1);
    const finding = findingSchema.parse(sink.findings[0]);
    expect(finding).toMatchObject({
      kind: 'resource-access',
      severity: 'critical',
      eventNames: [run.name],
      outcome: run.name === 'GetCallerIdentity' ? 'allowed' : 'denied',
      actor: { arn: userArn, type: 'IAMUser', accessKeyId: SESSION_KEY },
      resource: { name: `${userName}/access-key` },
      region: run.region,
    });
  });

  it('the token and the calls made with it are one finding, counted', async () => {
    const records = [
      getSessionToken(userArn, 'us-east-1'),
      withSession(userArn, HOME, 'sts.amazonaws.com', 'GetCallerIdentity'),
      withSession(userArn, HOME, 'ssm.amazonaws.com', 'DescribeParameters'),
    ];
    const { outcomes, sink } = await detect(d, records);
    expect(outcomes.map((o) => o.result)).toEqual(['alerted', 'counted', 'counted']);
    expect(sink.findings).toHaveLength(1);
    expect(sink.findings[0]!.eventNames).toEqual(['GetSessionToken']);
  });

  it("another user's session is not a touch", async () => {
    const other = attackerUser();
    const identity = {
      ...sessionOf(String(other.arn)),
      userName: other.userName,
      principalId: other.principalId,
    };
    const record = withSession(String(other.arn), HOME, 'ssm.amazonaws.com', 'DescribeParameters', identity);
    const { sink } = await detect(d, [record]);
    expect(sink.findings).toEqual([]);
  });
});

describe('matching a session by the user, not only by key id', () => {
  const decoys = planDecoys(parseConfig({}), { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;
  const user = decoys.find((d) => d.kind === 'iam-user')!;
  // As the registry knows them: the key with its live and retired ids.
  const registered: KnownDecoy[] = decoys.map((decoy) =>
    decoy.kind === 'iam-access-key'
      ? { ...decoy, accessKeyIds: [PLANTED_KEY], retiredAccessKeyIds: ['AKIAQ3EGWSXROLDKEY01'] }
      : decoy,
  );
  const context: DetectionContext = {
    style: 'named',
    ruleNamePrefix: 'platform-shared-services-route-',
    busName: 'platform-shared-services-events',
    trailName: 'platform-shared-services-audit',
    trailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/platform-shared-services-audit`,
  };

  it.each(['named', 'broad'] as const)(
    '%s: the identity rule routes a session call although its key id is in no list',
    (style) => {
      const identityRules = buildDetectionRules(registered, { ...context, style }).filter(
        (rule) => rule.concern === 'identity',
      );
      const event = toEnvelope(withSession(user.arn, HOME, 'ssm.amazonaws.com', 'DescribeParameters'));
      expect(identityRules.some((rule) => compilePattern(rule.pattern)(event))).toBe(true);
    },
  );

  it('classify names the planted key for a session call', () => {
    const index = new DecoyIndex(registered);
    const record = withSession(user.arn, HOME, 'ssm.amazonaws.com', 'DescribeParameters');
    const [touch] = classifyRecord(record, index, { ...context, trustedRoleArns: [] }).matches;
    expect(touch).toMatchObject({
      category: 'key-use',
      severity: 'critical',
      resource: { kind: 'iam-access-key' },
      actor: { arn: user.arn, accessKeyId: SESSION_KEY },
    });
  });
});
