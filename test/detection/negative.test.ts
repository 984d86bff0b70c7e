import { beforeAll, describe, expect, it } from 'vitest';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { ReplayEngine } from '../../layers/detection/replay';
import { TEST_ACCOUNT } from '../helpers/app';
import {
  DETECTION_CONFIG,
  type Deployment,
  deployment,
  detect,
  HOME,
  planterRoleArn,
  route,
} from './helpers';
import { attackerRole, attackerUser, call, DATA, roleSession } from './records';

/**
 * Nothing legitimate raises a finding: the planter's own create/refresh/delete calls,
 * the deployer's CloudFormation updates, every record of the shared data sets, and
 * calls on names that only look like a decoy's.
 */

const named = (d: Deployment, kind: string, index = 0) => d.decoys.filter((x) => x.kind === kind)[index]!;

describe.each(['named', 'broad'] as const)('nothing legitimate raises a finding (%s rules)', (style) => {
  let d: Deployment;
  beforeAll(() => {
    d = deployment({ ...DETECTION_CONFIG, detection: { ruleStyle: style } });
  });

  function planterCalls(): CloudTrailRecord[] {
    const planter = roleSession(planterRoleArn(d));
    const parameter = named(d, 'ssm-parameter');
    const bucket = named(d, 's3-bucket');
    const object = named(d, 's3-object');
    const user = named(d, 'iam-user');
    const ssm = (eventName: string, requestParameters: Record<string, unknown>) =>
      call({ template: 'ssmRole', eventName, region: HOME, userIdentity: planter, requestParameters });
    const s3 = (eventName: string, requestParameters: Record<string, unknown>) =>
      call({
        template: 's3',
        eventName,
        region: HOME,
        userIdentity: planter,
        requestParameters,
        resources: [{ type: 'AWS::S3::Bucket', ARN: bucket.arn }],
      });
    const iam = (eventName: string, requestParameters: Record<string, unknown>) =>
      call({ template: 'iam', eventName, region: 'us-east-1', userIdentity: planter, requestParameters });
    const kms = (eventName: string) =>
      call({
        template: 'kms',
        eventName,
        region: HOME,
        userIdentity: { ...planter, invokedBy: 'ssm.amazonaws.com' },
        requestParameters: { encryptionContext: { PARAMETER_ARN: parameter.arn } },
      });
    return [
      ssm('PutParameter', { name: parameter.name, type: 'SecureString', overwrite: true }),
      ssm('AddTagsToResource', { resourceType: 'Parameter', resourceId: parameter.name }),
      ssm('GetParameter', { name: parameter.name, withDecryption: true }),
      ssm('DeleteParameter', { name: parameter.name }),
      ssm('DeleteParameters', { names: [parameter.name] }),
      kms('Encrypt'),
      kms('GenerateDataKey'),
      kms('Decrypt'),
      s3('CreateBucket', { bucketName: bucket.name }),
      s3('PutBucketPolicy', { bucketName: bucket.name, policy: '' }),
      s3('PutBucketVersioning', { bucketName: bucket.name }),
      s3('PutObject', { bucketName: bucket.name, key: object.name }),
      s3('GetObject', { bucketName: bucket.name, key: object.name }),
      s3('ListObjectVersions', { bucketName: bucket.name, versions: '' }),
      s3('DeleteObject', { bucketName: bucket.name, key: object.name }),
      s3('DeleteBucket', { bucketName: bucket.name }),
      iam('CreateUser', { userName: user.name }),
      iam('TagUser', { userName: user.name, tags: [{ key: 'team', value: 'payments' }] }),
      iam('PutUserPolicy', { userName: user.name, policyName: 'access' }),
      iam('CreateAccessKey', { userName: user.name }),
      iam('ListAccessKeys', { userName: user.name }),
      iam('UpdateAccessKey', {
        userName: user.name,
        accessKeyId: 'AKIAQ3EGWSXROLDKEY01',
        status: 'Inactive',
      }),
      iam('DeleteAccessKey', { userName: user.name, accessKeyId: 'AKIAQ3EGWSXROLDKEY01' }),
      iam('DeleteUser', { userName: user.name }),
    ];
  }

  it("the planter's create, refresh and delete calls reach no central rule and raise nothing", async () => {
    for (const record of planterCalls()) {
      expect(route(d, record).invokedBy, `${record.eventSource} ${record.eventName}`).toEqual([]);
      const { sink } = await detect(d, [record]);
      expect(sink.findings).toEqual([]);
    }
  });

  it('the planter completing the trail selectors (plant time) reaches the touch function but raises nothing', async () => {
    const record = call({
      template: 'trail',
      eventName: 'PutEventSelectors',
      region: HOME,
      userIdentity: roleSession(planterRoleArn(d)),
      requestParameters: { trailName: d.context.trailName, advancedEventSelectors: [] },
    });
    const { routed, outcomes, sink } = await detect(d, [record]);
    // The tampering rules leave out only the deployer (CloudFormation); the touch function
    // drops the planter's own call.
    expect(routed.invokedBy).not.toEqual([]);
    expect(outcomes).toEqual([]);
    expect(sink.findings).toEqual([]);
  });

  it("the deployer's CloudFormation updates of the trail and the rules raise nothing", async () => {
    const deployer = { ...attackerRole(), invokedBy: 'cloudformation.amazonaws.com' };
    const records = [
      call({
        template: 'trail',
        eventName: 'UpdateTrail',
        region: HOME,
        userIdentity: deployer,
        requestParameters: { name: d.context.trailName },
      }),
      ...['PutRule', 'DeleteRule', 'PutTargets', 'RemoveTargets'].map((eventName) =>
        call({
          template: 'events',
          eventSource: 'events.amazonaws.com',
          eventName,
          region: HOME,
          userIdentity: deployer,
          requestParameters: { name: `${d.context.ruleNamePrefix}20`, rule: `${d.context.ruleNamePrefix}20` },
        }),
      ),
    ];
    for (const record of records) {
      expect(route(d, record).invokedBy, record.eventName).toEqual([]);
      expect((await detect(d, [record])).sink.findings).toEqual([]);
    }
  });

  it('calls on look-alike names (a real parameter next to a decoy, a sibling path...) raise nothing', async () => {
    const parameter = named(d, 'ssm-parameter');
    const bucket = named(d, 's3-bucket');
    const object = named(d, 's3-object');
    const user = named(d, 'iam-user');
    const parent = parameter.name.slice(0, parameter.name.lastIndexOf('/'));
    const sibling = parent.replace(/\/([^/]+)$/, '/$1-legacy');
    const role = attackerRole();
    const ssm = (eventName: string, requestParameters: Record<string, unknown>) =>
      call({ template: 'ssmRole', eventName, region: HOME, userIdentity: role, requestParameters });
    const records = [
      ssm('GetParameter', { name: `${parameter.name}-old`, withDecryption: true }),
      ssm('GetParameter', { name: `${parameter.name}/rotation`, withDecryption: true }),
      ssm('GetParameter', { name: `${sibling}/${parameter.name.split('/').at(-1)}` }),
      ssm('GetParameter', { name: `arn:aws:ssm:${HOME}:${TEST_ACCOUNT}:parameter${parameter.name}-old` }),
      ssm('GetParameters', { names: [`${parameter.name}-old`, `${parameter.name}2`] }),
      ssm('GetParameterHistory', { name: parameter.name.toUpperCase() }),
      ssm('GetParametersByPath', { path: `${parent}-legacy`, recursive: true }),
      ssm('GetParametersByPath', { path: parameter.name.slice(0, -3), recursive: true }),
      ssm('GetParametersByPath', { path: parameter.name, recursive: true }),
      // An ancestor, but not the parent, and not recursive: the decoy is not in the answer.
      ssm('GetParametersByPath', { path: parent.slice(0, parent.lastIndexOf('/')) || '/', recursive: false }),
      ssm('DeleteParameter', { name: `${parameter.name}-old` }),
      call({
        template: 'kms',
        eventName: 'Decrypt',
        region: HOME,
        userIdentity: role,
        requestParameters: { encryptionContext: { PARAMETER_ARN: `${parameter.arn}-old` } },
      }),
      call({
        template: 's3',
        eventName: 'GetObject',
        region: HOME,
        userIdentity: attackerUser(),
        requestParameters: { bucketName: `${bucket.name}-replica`, key: object.name },
        resources: [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket.name}-replica/${object.name}` }],
      }),
      call({
        template: 's3',
        eventName: 'GetBucketAcl',
        region: HOME,
        userIdentity: attackerUser(),
        requestParameters: { bucketName: `backup-${bucket.name}` },
      }),
      call({
        template: 'iam',
        eventName: 'DeleteUser',
        region: 'us-east-1',
        userIdentity: attackerUser(),
        requestParameters: { userName: `${user.name}2` },
      }),
      call({
        template: 'sts',
        eventName: 'GetCallerIdentity',
        region: HOME,
        userIdentity: { ...attackerUser(), arn: `${user.arn}-ci`, userName: `${user.name}-ci` },
        requestParameters: null,
      }),
      call({
        template: 'trail',
        eventName: 'StopLogging',
        region: HOME,
        userIdentity: attackerUser(),
        requestParameters: { name: `${d.context.trailName}-org` },
      }),
      call({
        template: 'events',
        eventSource: 'events.amazonaws.com',
        eventName: 'DeleteRule',
        region: HOME,
        userIdentity: { ...role },
        requestParameters: { name: 'nightly-report-schedule' },
      }),
    ];
    for (const record of records) {
      const { sink } = await detect(d, [record]);
      expect(sink.findings, `${record.eventName} ${JSON.stringify(record.requestParameters)}`).toEqual([]);
    }
  });

  it('every record of the shared CloudTrail data sets raises nothing against the default plan', async () => {
    const config = parseConfig({});
    const decoys = planDecoys(config, { account: TEST_ACCOUNT, region: config.homeRegion }).resources;
    const engine = new ReplayEngine({
      decoys,
      context: { ...d.context, planterRoleArn: planterRoleArn(d) },
      windowMinutes: 60,
      allowlist: { principalArns: [], cidrs: [] },
    });
    const problems: string[] = [];
    let central = 0;
    for await (const record of readCloudTrail([DATA], { onProblem: (p) => problems.push(p.message) })) {
      await engine.push(record);
      if (route(d, record).invokedBy.length > 0) central += 1;
    }
    expect(problems).toEqual([]);
    expect(engine.stats.records).toBeGreaterThan(700);
    expect(engine.findings()).toEqual([]);
    // Named rules match none of them; broad rules let some through for the function to drop.
    if (style === 'named') {
      expect(central).toBe(0);
      expect(engine.stats.matched).toBe(0);
    }
  });
});
