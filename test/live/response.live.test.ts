import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDING_SCHEMA_VERSION, findingId, findingSchema } from '../../layers/findings/finding';
import type { AuditRecord } from '../../layers/response/audit';
import { QUARANTINE_POLICY_NAME } from '../../layers/response/policy';
import { honeytrail } from '../helpers/cli';
import { LocalWorkflow } from '../response/local-run';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * The response against a real account (or an AWS-compatible endpoint): the
 * synthesized state machine runs locally, its IAM calls and the real handlers
 * go to AWS through the SDK's standard settings. A throwaway user with a key is
 * contained, rotated (Secrets Manager) and reverted; `honeytrail audit` reads the
 * records from S3; `approve`/`deny` reach Step Functions and explain a bad token.
 * Everything made here is removed at the end. Names are neutral.
 */

const live = await liveEnvironment();
const suffix = randomBytes(4).toString('hex').replace(/^\d/, 'k');

describe.skipIf(!live.ok)('response against AWS', () => {
  const env = live as LiveEnvironment;
  const iam = new IAMClient({});
  const s3 = new S3Client({});
  const sns = new SNSClient({});
  const secrets = new SecretsManagerClient({});
  const userName = `svc-review-${suffix}`;
  const bucket = `review-records-${suffix}-${env.account}`.slice(0, 63);
  const keyStorePath = `qa-review-${suffix}`;
  let topicArn = '';
  let oldKey = '';
  let local: LocalWorkflow;

  beforeAll(async () => {
    await iam.send(new CreateUserCommand({ UserName: userName }));
    oldKey =
      (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey?.AccessKeyId ?? '';
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(env.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: env.region as never } }),
      }),
    );
    topicArn = (await sns.send(new CreateTopicCommand({ Name: `review-${suffix}` }))).TopicArn ?? '';
    local = await LocalWorkflow.create(
      // An AWS-compatible endpoint may not know AWS-managed policies such as the quarantine one.
      {
        dryRun: false,
        response: { keyStorePath, oldKeyGraceMinutes: 0, attachQuarantinePolicy: !env.endpoint },
      },
      { live: { account: env.account, region: env.region, bucket, topicArn } },
    );
  }, 120_000);

  afterAll(async () => {
    local?.dispose();
    const quiet = async (what: Promise<unknown>) => what.catch(() => undefined);
    const keys = await quiet(iam.send(new ListAccessKeysCommand({ UserName: userName })));
    for (const key of (keys as { AccessKeyMetadata?: { AccessKeyId?: string }[] })?.AccessKeyMetadata ?? [])
      await quiet(iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId })));
    const attached = await quiet(iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName })));
    for (const policy of (attached as { AttachedPolicies?: { PolicyArn?: string }[] })?.AttachedPolicies ??
      [])
      await quiet(iam.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: policy.PolicyArn })));
    const inline = await quiet(iam.send(new ListUserPoliciesCommand({ UserName: userName })));
    for (const name of (inline as { PolicyNames?: string[] })?.PolicyNames ?? [])
      await quiet(iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: name })));
    await quiet(iam.send(new DeleteUserCommand({ UserName: userName })));
    await quiet(
      secrets.send(
        new DeleteSecretCommand({
          SecretId: `${keyStorePath}/${userName}`,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
    );
    const versions = await quiet(s3.send(new ListObjectVersionsCommand({ Bucket: bucket })));
    const objects = ((versions as { Versions?: { Key?: string; VersionId?: string }[] })?.Versions ?? []).map(
      (v) => ({
        Key: v.Key,
        VersionId: v.VersionId,
      }),
    );
    if (objects.length)
      await quiet(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } })));
    await quiet(s3.send(new DeleteBucketCommand({ Bucket: bucket })));
    await quiet(sns.send(new DeleteTopicCommand({ TopicArn: topicArn })));
  }, 120_000);

  const finding = () => {
    const arn = `arn:aws:iam::${env.account}:user/${userName}`;
    const now = new Date().toISOString();
    return findingSchema.parse({
      schemaVersion: FINDING_SCHEMA_VERSION,
      id: findingId(['live', arn, suffix]),
      kind: 'decoy-touch',
      severity: 'high',
      title: `GetParameter by ${arn}`,
      actor: { arn, type: 'IAMUser', accessKeyId: oldKey, account: env.account },
      region: env.region,
      eventNames: ['GetParameter'],
      firstSeen: now,
      lastSeen: now,
      count: 1,
    });
  };

  it('contains and rotates a real user, records it, and reverts it', async () => {
    const f = finding();
    const arn = local.startLocal(`f-${f.id}`, {
      mode: 'respond',
      finding: f,
      receivedAt: new Date().toISOString(),
    });
    const result = await local.settled(arn);
    expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');

    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    expect(keys.map((k) => k.AccessKeyId)).not.toContain(oldKey);
    const stored = JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: `${keyStorePath}/${userName}` })))
        .SecretString ?? '{}',
    );
    expect(keys.map((k) => k.AccessKeyId)).toEqual([stored.AccessKeyId]);
    const attached =
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }))).AttachedPolicies ?? [];
    if (!env.endpoint) expect(attached.map((p) => p.PolicyName)).toContain(QUARANTINE_POLICY_NAME);

    const audit = await honeytrail('audit', '--bucket', bucket, '--finding', f.id, '--json');
    expect(audit.err).toBe('');
    const records = JSON.parse(audit.out) as AuditRecord[];
    expect(records.map((r) => r.event)).toEqual(
      expect.arrayContaining(['decision', 'plan', 'before', 'after', 'complete']),
    );

    // Revert (locally started: no state machine is deployed here): the quarantine goes; the
    // old key was deleted after its (zero) grace period, so it stays deleted.
    const revertArn = local.startLocal(`r-${f.id}-1`, {
      mode: 'revert',
      revertOf: arn,
      requestedBy: env.callerArn,
      reason: 'live test',
      falsePositive: false,
    });
    expect((await local.settled(revertArn)).status).toBe('SUCCEEDED');
    const after =
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }))).AttachedPolicies ?? [];
    expect(after.map((p) => p.PolicyName)).not.toContain(QUARANTINE_POLICY_NAME);
  }, 300_000);

  it('approve and deny reach Step Functions and explain a token that is not one', async () => {
    const approve = await honeytrail('approve', 'not-a-real-token');
    const deny = await honeytrail('deny', 'not-a-real-token');
    if (env.endpoint) {
      // AWS-compatible endpoints may accept any token; the commands must still complete.
      expect(approve.code === 0 ? approve.out : approve.err).toMatch(/approved by|token/i);
      expect(deny.code === 0 ? deny.out : deny.err).toMatch(/denied by|token/i);
      return;
    }
    expect(approve.code).toBe(1);
    expect(approve.err).toMatch(/token/i);
    expect(deny.code).toBe(1);
  }, 60_000);
});
