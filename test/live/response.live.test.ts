import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  PutRolePolicyCommand,
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
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINDING_SCHEMA_VERSION, findingId, findingSchema } from '../../layers/findings/finding';
import type { AuditRecord } from '../../layers/response/audit';
import { QUARANTINE_POLICY_NAME } from '../../layers/response/policy';
import { honeytrail } from '../helpers/cli';
import { LocalWorkflow } from '../response/local-run';
import { gapNote, lacks } from './emulator';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * The response against a real account (or an AWS-compatible endpoint): the
 * synthesized state machine runs locally, its IAM calls and the real handlers
 * go to AWS through the SDK's standard settings. A throwaway user with a key is
 * contained, rotated (Secrets Manager) and reverted; `honeytrail audit` reads the
 * records from S3; `approve`/`deny` answer an execution waiting on a task token
 * (its result is checked) and explain a token that is not one.
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
      // moto knows the AWS-managed quarantine policy too (test/live/setup/moto.ts loads them).
      {
        dryRun: false,
        response: { keyStorePath, oldKeyGraceMinutes: 0, attachQuarantinePolicy: true },
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
      kind: 'resource-access',
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
    // As the intake does: the finding kept in the records bucket, the execution given its id and digest.
    const arn = await local.startFinding(f);
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
    expect(attached.map((p) => p.PolicyName)).toContain(QUARANTINE_POLICY_NAME);

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

  it('approve and deny reach Step Functions, which rejects a token that is not one, and say so', async () => {
    // Step Functions answers InvalidToken (moto too, executing state machines); the
    // commands must explain it and fail, and nothing else (a parse error, no
    // credentials, a wrong endpoint) may pass for it.
    const explanation = 'that is not a task token (copy it whole from the message)';
    for (const command of ['approve', 'deny']) {
      const run = await honeytrail(command, 'not-a-real-token');
      expect(run.code, `${command}: ${run.err}`).toBe(1);
      expect(run.out).toBe('');
      expect(run.err).toContain(explanation);
    }
  }, 60_000);
});

/** Retries `attempt` until it stops throwing (IAM propagation, executions settling). */
async function eventually<T>(what: string, attempt: () => Promise<T>, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what}: still failing after ${seconds} s: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

describe.skipIf(!live.ok)('approval through Step Functions', () => {
  const env = live as LiveEnvironment;
  const iam = new IAMClient({});
  const sns = new SNSClient({});
  const sfn = new SFNClient({});
  const roleName = `review-gate-${suffix}`;
  let topicArn = '';
  let roleArn = '';
  const stateMachines: string[] = [];

  beforeAll(async () => {
    topicArn = (await sns.send(new CreateTopicCommand({ Name: `review-gate-${suffix}` }))).TopicArn ?? '';
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    roleArn = role.Role?.Arn ?? '';
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'publish',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn }],
        }),
      }),
    );
  }, 120_000);

  afterAll(async () => {
    const quiet = async (what: Promise<unknown>) => what.catch(() => undefined);
    for (const stateMachineArn of stateMachines)
      await quiet(sfn.send(new DeleteStateMachineCommand({ stateMachineArn })));
    await quiet(iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: 'publish' })));
    await quiet(iam.send(new DeleteRoleCommand({ RoleName: roleName })));
    if (topicArn) await quiet(sns.send(new DeleteTopicCommand({ TopicArn: topicArn })));
  }, 120_000);

  /**
   * The response's approval step in miniature, twice in a row: each task publishes
   * its token and waits for the answer; the first answer is kept in the input of
   * the second. One execution carries both cases: moto 5.2.1 fails (HTTP 500) any
   * StartExecution after an execution has run, so the suite starts only one.
   */
  const gate = (topic: string) => ({
    StartAt: 'AwaitApproval',
    States: {
      AwaitApproval: {
        Type: 'Task',
        Resource: 'arn:aws:states:::sns:publish.waitForTaskToken',
        Parameters: { TopicArn: topic, 'Message.$': '$$.Task.Token' },
        TimeoutSeconds: 600,
        ResultPath: '$.approval',
        Next: 'AwaitSecondApproval',
      },
      AwaitSecondApproval: {
        Type: 'Task',
        Resource: 'arn:aws:states:::sns:publish.waitForTaskToken',
        Parameters: { TopicArn: topic, 'Message.$': '$$.Task.Token' },
        TimeoutSeconds: 600,
        End: true,
      },
    },
  });
  let executionArn = '';
  const tokens: string[] = [];

  async function history() {
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    return events;
  }

  /** The token of the `nth` task the execution waits on (0-based), from its history. */
  async function token(nth: number): Promise<string> {
    tokens[nth] ??= await eventually(`task token ${nth + 1} of ${executionArn}`, async () => {
      const scheduled = (await history()).filter((e) => e.type === 'TaskScheduled')[nth];
      const parameters = scheduled?.taskScheduledEventDetails?.parameters;
      const message = parameters ? (JSON.parse(parameters) as { Message?: string }).Message : undefined;
      if (!message) throw new Error(`no TaskScheduled event ${nth + 1} yet`);
      return message;
    });
    return tokens[nth];
  }

  it('`approve` answers the waiting execution: it goes on, with the approver and the reason', async () => {
    // A new role is not assumable by Step Functions for a few seconds.
    const stateMachineArn = await eventually('states:CreateStateMachine with a new role', async () => {
      const created = await sfn.send(
        new CreateStateMachineCommand({
          name: `review-gate-${suffix}`,
          definition: JSON.stringify(gate(topicArn)),
          roleArn,
        }),
      );
      return created.stateMachineArn ?? '';
    });
    stateMachines.push(stateMachineArn);
    executionArn =
      (await sfn.send(new StartExecutionCommand({ stateMachineArn, name: `review-${suffix}`, input: '{}' })))
        .executionArn ?? '';

    const run = await honeytrail('approve', await token(0), '--reason', 'live test');
    expect(run.err).toBe('');
    expect(run.out).toBe(`approved by ${env.callerArn}: the response goes ahead\n`);
    const approval = await eventually('the second task to start', async () => {
      const entered = (await history()).find(
        (e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'AwaitSecondApproval',
      );
      if (!entered) throw new Error('AwaitSecondApproval not entered yet');
      return (JSON.parse(entered.stateEnteredEventDetails?.input ?? '{}') as { approval?: unknown }).approval;
    });
    expect(approval).toMatchObject({ approved: true, approver: env.callerArn, reason: 'live test' });
  }, 180_000);

  it('`deny` answers the waiting execution: it fails with ApprovalDenied', async () => {
    const run = await honeytrail('deny', await token(1), '--reason', 'not us', '--false-positive');
    expect(run.err).toBe('');
    expect(run.out).toBe(`denied by ${env.callerArn}: no action will be taken\n`);
    const execution = await eventually(`${executionArn} to finish`, async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status === 'RUNNING') throw new Error('still running');
      return described;
    });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('ApprovalDenied');
  }, 180_000);

  it.skipIf(lacks('taskFailureCause'))(
    gapNote('the denial carries the approver, the reason and the false-positive label', 'taskFailureCause'),
    async () => {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      expect(JSON.parse(execution.cause ?? '{}')).toEqual({
        approver: env.callerArn,
        reason: 'not us',
        falsePositive: true,
      });
    },
    60_000,
  );

  it.skipIf(lacks('answeredTaskToken'))(
    gapNote('a token already answered is refused and explained (TaskTimedOut)', 'answeredTaskToken'),
    async () => {
      const again = await honeytrail('approve', await token(0));
      expect(again.code).toBe(1);
      expect(again.err).toContain('that approval has timed out or was already answered');
    },
    60_000,
  );
});
