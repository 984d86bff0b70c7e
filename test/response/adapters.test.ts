import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findingDigest } from '../../layers/findings/records';
import { type AuditRecord, RECORDS_LOGICAL_ID_PREFIX } from '../../layers/response/audit';
import { AwsPrincipalReader } from '../../layers/response/aws-adapters';
import { KPI } from '../../layers/response/kpi';
import { findRecordsBucket, parseSince, stateMachineOf } from '../../layers/response/operator';
import type { StepPlan } from '../../layers/response/plan';
import { FindingNotKept, S3ReceivedFindings } from '../../layers/response/received';
import {
  cleanupNewKeys,
  IamKeyAdmin,
  rotateKey,
  SsmParameterVault,
  StsKeyCheck,
} from '../../layers/response/rotate';
import { S3AuditStore } from '../../layers/response/s3-audit-store';
import { countLabel, SfnExecutionStarter, startResponse } from '../../layers/response/start';
import { FakeAws } from './fake-aws';
import { eventOf, findingFrom, USER_KEY, USER_NAME, userRecord } from './fixtures';
import { issued } from './intake-fixtures';

/** The AWS adapters over aws-sdk-client-mock (FakeAws keeps state across calls). */

const aws = new FakeAws();
beforeEach(() => {
  aws.install();
  aws.failures = {};
  aws.calls = [];
  aws.iam = {
    users: {
      [USER_NAME]: {
        keys: [{ id: USER_KEY, secret: 's', status: 'Inactive' }],
        attached: [],
        inline: { AWSRevokeOlderSessions: '{"x":1}' },
        groups: [],
        tags: {},
      },
    },
    roles: {},
  };
});
afterEach(() => aws.restore());

const plan = (over: Partial<StepPlan> = {}): StepPlan => ({
  path: 'user-key',
  targetKind: 'user',
  userName: USER_NAME,
  accessKeyId: USER_KEY,
  deactivateKey: true,
  attachQuarantine: false,
  revokeSessions: false,
  rotate: true,
  quarantinePolicyArn: '',
  revokePolicyName: 'AWSRevokeOlderSessions',
  hasPreviousRevokePolicy: false,
  keysBefore: [USER_KEY],
  keyStore: 'ssm-parameter',
  keyStoreName: `/credentials/iam-users/${USER_NAME}`,
  skipped: [],
  ...over,
});

describe('rotation (SSM SecureString store)', () => {
  const deps = () => ({
    keys: new IamKeyAdmin(new IAMClient({})),
    vault: new SsmParameterVault(new SSMClient({})),
    check: new StsKeyCheck('us-east-1'),
    now: () => new Date(0),
    sleep: async () => {},
  });

  it('creates and stores the new key in one step', async () => {
    const result = await rotateKey(plan(), deps());
    const stored = JSON.parse(aws.parameters[`/credentials/iam-users/${USER_NAME}`] ?? '{}');
    expect(stored).toMatchObject({ UserName: USER_NAME, AccessKeyId: result.newAccessKeyId });
    expect(result.storedIn).toBe(`/credentials/iam-users/${USER_NAME}`);
  });

  it('a retry after storing returns the stored key instead of making another', async () => {
    const first = await rotateKey(plan(), deps());
    const again = await rotateKey(plan(), deps());
    expect(again.newAccessKeyId).toBe(first.newAccessKeyId);
    expect(aws.iam.users[USER_NAME]?.keys).toHaveLength(2);
  });

  it('a store failure deletes the new key before raising RotationFailed', async () => {
    aws.failures.PutParameter = { name: 'ThrottlingException' };
    await expect(rotateKey(plan(), deps())).rejects.toMatchObject({ name: 'RotationFailed' });
    expect(aws.iam.users[USER_NAME]?.keys.map((k) => k.id)).toEqual([USER_KEY]);
  });

  it('if deleting that key fails too, says so (UnstoredKeyLeft) and cleanup removes it', async () => {
    aws.failures.PutParameter = { name: 'ThrottlingException' };
    aws.failures.DeleteAccessKey = { name: 'ServiceFailureException', times: 1 };
    await expect(rotateKey(plan(), deps())).rejects.toMatchObject({ name: 'UnstoredKeyLeft' });
    expect(aws.iam.users[USER_NAME]?.keys).toHaveLength(2);
    const cleaned = await cleanupNewKeys(plan(), deps());
    expect(cleaned.deleted).toHaveLength(1);
    expect(aws.iam.users[USER_NAME]?.keys.map((k) => k.id)).toEqual([USER_KEY]);
  });

  it('confirms the new key works (GetCallerIdentity signed with it) before returning', async () => {
    const result = await rotateKey(plan(), deps());
    expect(result.verifiedAs).toBe(`arn:aws:iam::111122223333:user/${USER_NAME}`);
    expect(aws.calls.slice(-1)).toEqual(['GetCallerIdentity']);
  });

  it('waits for a new key IAM has not propagated yet (InvalidClientTokenId), then confirms it', async () => {
    aws.failures.GetCallerIdentity = { name: 'InvalidClientTokenId', times: 2 };
    const pauses: number[] = [];
    const result = await rotateKey(plan(), { ...deps(), sleep: async (ms) => void pauses.push(ms) });
    expect(result.verifiedAs).toContain(`:user/${USER_NAME}`);
    expect(pauses).toEqual([1000, 2000]);
  });

  it('a new key that never works fails the rotation (NewKeyNotWorking): the old key is not deleted', async () => {
    aws.failures.GetCallerIdentity = { name: 'InvalidClientTokenId' };
    await expect(rotateKey(plan(), deps())).rejects.toMatchObject({
      name: 'NewKeyNotWorking',
      message: expect.stringMatching(
        /still fails sts:GetCallerIdentity after 6 tries .*the old key is not deleted/,
      ),
    });
    expect(aws.iam.users[USER_NAME]?.keys.map((k) => k.id)).toContain(USER_KEY);
    expect(aws.calls).not.toContain('DeleteAccessKey');
  });

  it('any other STS error is raised as it is (not taken for propagation)', async () => {
    aws.failures.GetCallerIdentity = { name: 'RegionDisabledException', times: 1 };
    await expect(rotateKey(plan(), deps())).rejects.toMatchObject({ name: 'RegionDisabledException' });
  });

  it('will not rotate a user who already has two keys', async () => {
    aws.iam.users[USER_NAME]?.keys.push({ id: 'AKIASECOND', secret: 's', status: 'Active' });
    await expect(rotateKey(plan({ keysBefore: [USER_KEY, 'AKIASECOND'] }), deps())).rejects.toMatchObject({
      name: 'RotationNotPossible',
    });
  });
});

describe('evidence reader', () => {
  it('reads keys, policies (decoded), groups and recent calls; a missing user is "not there"', async () => {
    const reader = new AwsPrincipalReader(new IAMClient({}), new CloudTrailClient({}));
    const facts = await reader.userFacts(USER_NAME);
    expect(facts).toMatchObject({ exists: true, existingRevokePolicy: '{"x":1}' });
    expect(facts.accessKeys[0]).toMatchObject({ accessKeyId: USER_KEY, status: 'Inactive' });
    expect((await reader.userFacts('nobody')).exists).toBe(false);
    expect((await reader.roleFacts('nothing')).exists).toBe(false);
    const calls = await reader.recentCalls({ accessKeyId: USER_KEY }, new Date(0));
    expect(calls[0]).toMatchObject({
      eventName: 'GetParameter',
      sourceIp: '203.0.113.9',
      errorCode: 'AccessDenied',
    });
  });
});

describe('audit store (S3)', () => {
  const record = (at: string, findingId: string, name: string, sequence: string): AuditRecord => ({
    schemaVersion: 1,
    at,
    findingId,
    executionArn: `arn:aws:states:us-east-1:111122223333:execution:m:${name}`,
    executionStartedAt: at,
    sequence,
    event: 'decision',
    decidedBy: 'policy',
    dryRun: false,
    labels: [],
    detail: {},
  });

  it('appends once, lists across pages in time order, filters by finding and time', async () => {
    const store = new S3AuditStore(new S3Client({}), 'records');
    const a = record('2024-01-01T00:00:00.000Z', 'aaaa1111', 'f-aaaa1111', 'Decide');
    const b = record('2024-03-01T00:00:00.000Z', 'bbbb2222', 'f-bbbb2222', 'Decide');
    const c = record('2024-03-01T00:00:01.000Z', 'bbbb2222', 'f-bbbb2222', 'RecordPlan');
    for (const r of [c, a, b, b]) await store.append(r);
    expect(aws.calls.filter((x) => x === 'PutObject')).toHaveLength(4);
    expect(aws.objects.size).toBe(3);
    expect((await store.query({})).map((r) => r.sequence)).toEqual(['Decide', 'Decide', 'RecordPlan']);
    expect(await store.query({ findingId: 'bbbb2222' })).toHaveLength(2);
    expect(await store.query({ since: new Date('2024-03-01T00:00:00.500Z') })).toEqual([c]);
  });

  it('names a malformed record by its key', async () => {
    aws.objects.set('records/audit/2024_f-x/Decide.json', '{"not":"a record"}');
    await expect(new S3AuditStore(new S3Client({}), 'records').query({})).rejects.toThrow(
      /audit record s3:\/\/records\/audit\/2024_f-x\/Decide.json is malformed/,
    );
  });
});

describe('received findings in the records bucket', () => {
  const store = () => new S3ReceivedFindings(new S3Client({}), 'records');
  let n = 0;
  const fresh = () => {
    const finding = findingFrom(userRecord, { window: `received-${++n}` });
    return { finding, ref: { findingId: finding.id, digest: findingDigest(finding) } };
  };

  it('keeps a finding once under its id and digest, and reads it back', async () => {
    const { finding, ref } = fresh();
    await store().keep(finding, ref.digest);
    await store().keep(finding, ref.digest); // a retried delivery: If-None-Match, no overwrite
    expect([...aws.objects.keys()].filter((k) => k.includes(finding.id))).toEqual([
      `records/received/${finding.id}/${ref.digest}.json`,
    ]);
    expect(await store().get(ref)).toEqual(finding);
  });

  it('names what is missing or does not match, by its key', async () => {
    const { finding, ref } = fresh();
    await expect(store().get(ref)).rejects.toThrow(
      new FindingNotKept(`no finding kept at s3://records/received/${finding.id}/${ref.digest}.json`),
    );
    aws.objects.set(
      `records/received/${finding.id}/${ref.digest}.json`,
      JSON.stringify({ ...finding, count: 7 }),
    );
    await expect(store().get(ref)).rejects.toThrow(/does not match finding/);
  });

  it('raises what S3 raises otherwise (the ledger task retries)', async () => {
    const { ref } = fresh();
    aws.failures.GetObject = { name: 'SlowDown', times: 1 };
    await expect(store().get(ref)).rejects.toMatchObject({ name: 'SlowDown' });
    delete aws.failures.GetObject;
  });
});

describe('intake', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());

  it('names the execution after the finding; a second start is a duplicate, counted', async () => {
    const finding = findingFrom(userRecord, { window: 'intake' });
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:x' })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const starter = new SfnExecutionStarter(new SFNClient({}), 'arn:aws:states:us-east-1:1:stateMachine:m');
    const now = () => new Date(Date.parse(finding.lastSeen) + 4000);
    const received = new S3ReceivedFindings(new S3Client({}), 'records');
    const first = await startResponse(eventOf(finding), { ...issued(finding), starter, now, received });
    expect(first).toMatchObject({ executionName: `f-${finding.id}`, duplicate: false });
    expect(first.kpis).toEqual([
      { name: KPI.findings, unit: 'Count', value: 1, dimension: { name: 'Kind', value: 'resource-access' } },
      { name: KPI.eventToFinding, unit: 'Milliseconds', value: 4000 },
    ]);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    // Only the id and digest: execution input is readable with ReadOnlyAccess.
    const digest = findingDigest(finding);
    expect(input).toEqual({
      mode: 'respond',
      findingId: finding.id,
      digest,
      receivedAt: now().toISOString(),
    });
    expect(await received.get({ findingId: finding.id, digest })).toEqual(finding);
    const second = await startResponse(eventOf(finding), { ...issued(finding), starter, now, received });
    expect(second.duplicate).toBe(true);
    expect(second.kpis.map((k) => k.name)).toEqual([KPI.duplicateFindings]);
  });

  it('counts a false-positive label; refuses what is not a label, naming it', () => {
    const base = { source: 'platform.security-findings', 'detail-type': 'Finding Labelled' };
    expect(
      countLabel({ ...base, detail: { findingId: 'abcdefgh1234', label: 'false-positive' } }).kpis,
    ).toEqual([
      { name: KPI.falsePositives, unit: 'Count', value: 1, dimension: { name: 'Reason', value: 'labelled' } },
    ]);
    expect(
      countLabel({ ...base, detail: { findingId: 'abcdefgh1234', label: 'true-positive' } }).kpis,
    ).toEqual([]);
    expect(() => countLabel({ ...base, detail: { findingId: 'x' } })).toThrow(
      /not a label event: detail\.findingId/,
    );
  });

  it('other errors are raised (EventBridge and the failure queue keep the event)', async () => {
    sfn
      .on(StartExecutionCommand)
      // Step Functions models no ThrottlingException: the SDK throws its base class named so.
      .rejects(
        new SFNServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          message: 'slow down',
          $metadata: { httpStatusCode: 400 },
        }),
      );
    const starter = new SfnExecutionStarter(new SFNClient({}), 'arn:aws:states:us-east-1:1:stateMachine:m');
    await expect(
      startResponse(eventOf(findingFrom(userRecord)), {
        ...issued(findingFrom(userRecord)),
        starter,
        now: () => new Date(),
      }),
    ).rejects.toThrow(/slow down/);
  });
});

describe('operator helpers', () => {
  it('finds the records bucket in the stack by its logical id', async () => {
    const cloudformation = mockClient(CloudFormationClient);
    cloudformation
      .on(ListStackResourcesCommand)
      .resolvesOnce({
        StackResourceSummaries: [
          {
            ResourceType: 'AWS::S3::Bucket',
            LogicalResourceId: 'AuditTrailLogBucket1',
            PhysicalResourceId: 'logs',
            LastUpdatedTimestamp: new Date(),
            ResourceStatus: 'CREATE_COMPLETE',
          },
        ],
        NextToken: 'p2',
      })
      .resolvesOnce({
        StackResourceSummaries: [
          {
            ResourceType: 'AWS::S3::Bucket',
            LogicalResourceId: `${RECORDS_LOGICAL_ID_PREFIX}ABC123`,
            PhysicalResourceId: 'records-bucket',
            LastUpdatedTimestamp: new Date(),
            ResourceStatus: 'CREATE_COMPLETE',
          },
        ],
      });
    expect(await findRecordsBucket(new CloudFormationClient({}), 'stack', RECORDS_LOGICAL_ID_PREFIX)).toBe(
      'records-bucket',
    );
    cloudformation.restore();
  });

  it('reads --since as a time or a duration back, and execution ARNs as their state machine', () => {
    const now = new Date('2024-01-02T00:00:00Z');
    expect(parseSince('24h', now).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(parseSince('2024-01-01', now).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(stateMachineOf('arn:aws:states:eu-west-1:111122223333:execution:m:f-1')).toBe(
      'arn:aws:states:eu-west-1:111122223333:stateMachine:m',
    );
  });
});
