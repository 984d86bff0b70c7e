import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import {
  CloudTrailClient,
  StopLoggingCommand,
  AccessDeniedException as TrailAccessDenied,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AccessDenied,
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { type DecoyPlan, planDecoys } from '../../layers/decoys/catalogue';
import { encodeSpec } from '../../layers/decoys/spec';
import { LiveDrillRefused, runLiveDrill } from '../../layers/drill/live';
import type { Finding } from '../../layers/findings/finding';
import { findingDigest } from '../../layers/findings/records';
import { encodePolicy, responsePolicy } from '../../layers/response/policy';
import { receivedKey } from '../../layers/response/received';

/**
 * The live drill's refusals and its cleanup, against mocked AWS clients: it must
 * not create anything unless the stack is deployed and the deployed response
 * policy acts on nothing but the drill's own user, and it must remove its user
 * whatever happens.
 */

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);
const iam = mockClient(IAMClient);
const sfn = mockClient(SFNClient);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const cloudtrail = mockClient(CloudTrailClient);
const secretsManager = mockClient(SecretsManagerClient);
const all = [sts, cfn, iam, sfn, ssm, s3, cloudtrail, secretsManager];
const RECORDS_BUCKET = 'platform-shared-services-records-1a2b3c4d';

/** CloudFormation models no ValidationError: the SDK throws its base class, named after the code. */
const cfnError = (name: string, message: string, httpStatusCode = 400) =>
  new CloudFormationServiceException({ name, $fault: 'client', message, $metadata: { httpStatusCode } });
const stackMissing = () =>
  cfnError('ValidationError', 'Stack with id platform-shared-services does not exist');

const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:platform-shared-services-access-review`;

function deployedTemplate(policyConfig: Record<string, unknown>, plan?: DecoyPlan): string {
  const config = parseConfig(policyConfig);
  const policy = responsePolicy(config, { ownRoles: [], account: ACCOUNT, partition: 'aws' });
  return JSON.stringify({
    Resources: {
      Ledger: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Environment: {
            Variables: { RECORDS_BUCKET: { Ref: 'Records' }, RESPONSE_POLICY: encodePolicy(policy) },
          },
        },
      },
      Records: { Type: 'AWS::S3::Bucket' },
      ...(plan
        ? {
            Planter: {
              Type: 'Custom::Rotation',
              Properties: { Plan: encodeSpec({ service: 'ledger', environment: 'prod', plan }) },
            },
          }
        : {}),
    },
  });
}

function deployedStack(
  options: { status?: string; policy?: Record<string, unknown>; plan?: DecoyPlan } = {},
) {
  sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/operator` });
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'platform-shared-services',
        StackStatus: (options.status ?? 'CREATE_COMPLETE') as StackStatus,
        CreationTime: new Date(),
      },
    ],
  });
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: deployedTemplate(options.policy ?? {}, options.plan) });
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: [
      {
        LogicalResourceId: 'Workflow',
        ResourceType: 'AWS::StepFunctions::StateMachine',
        PhysicalResourceId: STATE_MACHINE,
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
      {
        LogicalResourceId: 'Trail',
        ResourceType: 'AWS::CloudTrail::Trail',
        PhysicalResourceId: 'platform-shared-services-audit',
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
      {
        LogicalResourceId: 'Records',
        ResourceType: 'AWS::S3::Bucket',
        PhysicalResourceId: RECORDS_BUCKET,
        ResourceStatus: 'CREATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
      },
    ],
  });
}

const fast = { sleep: async () => {}, pollMs: 1, keyReadyMs: 1000 };

beforeEach(() => {
  for (const mock of all) mock.reset();
});
afterEach(() => {
  for (const mock of all) mock.reset();
});

describe('live drill: refusals (nothing is created)', () => {
  it('refuses without credentials', async () => {
    // Not a service error: the credential chain's own (its class lives in a transitive @smithy package).
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    await expect(runLiveDrill({ config: parseConfig({}), ...fast })).rejects.toThrow(
      /no usable AWS credentials for region us-east-1/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses when the stack is not deployed', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
    cfn.on(DescribeStacksCommand).rejects(stackMissing());
    const attempt = runLiveDrill({ config: parseConfig({}), ...fast });
    await expect(attempt).rejects.toBeInstanceOf(LiveDrillRefused);
    await expect(attempt).rejects.toThrow(
      /stack platform-shared-services is not deployed in account 111122223333, region us-east-1: deploy it with "npx cdk deploy" first/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('any other DescribeStacks failure is reported as itself, not as "not deployed"', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
    cfn
      .on(DescribeStacksCommand)
      .rejects(cfnError('AccessDenied', 'not authorized to perform: cloudformation:DescribeStacks', 403));
    const attempt = runLiveDrill({ config: parseConfig({}), ...fast });
    await expect(attempt).rejects.toBeInstanceOf(LiveDrillRefused);
    await expect(attempt).rejects.toThrow(
      /cannot describe stack platform-shared-services in us-east-1: AccessDenied: not authorized/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses a stack that is not in a stable deployed state', async () => {
    deployedStack({ status: 'ROLLBACK_COMPLETE' });
    await expect(runLiveDrill({ config: parseConfig({}), ...fast })).rejects.toThrow(
      /stack platform-shared-services is ROLLBACK_COMPLETE, not deployed and stable/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses when the deployed response is not in dry-run and would act automatically', async () => {
    deployedStack({ policy: { dryRun: false } });
    const decoys = planDecoys(parseConfig({}), { account: ACCOUNT, region: REGION }).resources;
    await expect(runLiveDrill({ config: parseConfig({}), ...fast, decoys })).rejects.toThrow(
      /the response is not in dry-run: rule #0 \(resource-access >= high: auto\) would deactivate access key .* pass --allow-containment/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses without the planted decoys when the template carries no plan (names are chosen at plant time)', async () => {
    deployedStack();
    await expect(runLiveDrill({ config: parseConfig({}), ...fast })).rejects.toThrow(
      /kept only in the registry: pass the planted decoys \(--decoys FILE/,
    );
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses when the deployed template has no response workflow', async () => {
    deployedStack();
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify({ Resources: {} }) });
    await expect(runLiveDrill({ config: parseConfig({}), ...fast })).rejects.toThrow(
      /deploys no response workflow/,
    );
    expect(iam.calls()).toHaveLength(0);
  });
});

describe('live drill: a run against mocked AWS', () => {
  const config = parseConfig({});
  // What the stack planted (its custom resource's Plan), deliberately not what this config would plan.
  const planted = planDecoys(parseConfig({ naming: { service: 'ledger' } }), {
    account: ACCOUNT,
    region: REGION,
  });
  const decoys = planted.resources;

  function mockUser() {
    iam.on(CreateUserCommand).resolves({});
    iam.on(PutUserPolicyCommand).resolves({});
    iam.on(CreateAccessKeyCommand).resolves({
      AccessKey: {
        UserName: 'x',
        AccessKeyId: 'AKIAPROBEPROBEPROBE0',
        SecretAccessKey: 'secret',
        Status: 'Active',
      },
    });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIAPROBEPROBEPROBE0' }] });
    iam.on(ListUserPoliciesCommand).resolves({ PolicyNames: ['probe'] });
    iam.on(ListAttachedUserPoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(DeleteAccessKeyCommand).resolves({});
    iam.on(DeleteUserPolicyCommand).resolves({});
    iam.on(DeleteUserCommand).resolves({});
  }

  /** A GetObject body as the SDK returns it; the drill reads only transformToString. */
  const body = (text: string) =>
    // The SDK's body is a stream mixin; only the method the code under test calls is provided.
    ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

  it('touches each planted decoy with its own user, finds each finding and response, and cleans up', async () => {
    deployedStack({ plan: planted });
    mockUser();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: 'x', Value: 'y' } });
    secretsManager.on(GetSecretValueCommand).resolves({ Name: 'x', SecretString: 'y' });
    cloudtrail
      .on(StopLoggingCommand)
      .rejects(new TrailAccessDenied({ message: 'not authorized', $metadata: { httpStatusCode: 400 } }));

    const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
    const object = decoys.find((d) => d.kind === 's3-object')!;
    const secret = decoys.find((d) => d.kind === 'secretsmanager-secret')!;
    let userArn = '';
    iam.on(CreateUserCommand).callsFake((input: { UserName: string }) => {
      userArn = `arn:aws:iam::${ACCOUNT}:user/${input.UserName}`;
      return {};
    });
    const now = new Date();
    const execution = (id: string, kind: string, decoy: { kind: string; name: string }) => {
      const finding: Finding = {
        schemaVersion: 1,
        id: `finding-${id}`,
        kind: kind as Finding['kind'],
        severity: 'high',
        title: 't',
        actor: { arn: userArn, type: 'IAMUser', accessKeyId: 'AKIAPROBEPROBEPROBE0' },
        region: REGION,
        eventNames: ['x'],
        resource: decoy,
        firstSeen: now.toISOString(),
        lastSeen: now.toISOString(),
        count: 1,
      } as Finding;
      return {
        executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:f-${id}`,
        name: `f-${id}`,
        stateMachineArn: STATE_MACHINE,
        status: 'SUCCEEDED' as const,
        startDate: new Date(Date.now() + 1000),
        finding,
      };
    };
    // Built lazily: the actor is the drill's user, named only once it is created.
    const executions = () => [
      execution('a1a1a1a1a1a1', 'resource-access', { kind: 'ssm-parameter', name: parameter.name }),
      execution('b2b2b2b2b2b2', 'resource-access', { kind: 's3-object', name: object.name }),
      execution('c3c3c3c3c3c3', 'resource-access', { kind: 'secretsmanager-secret', name: secret.name }),
      execution('d4d4d4d4d4d4', 'tamper', { kind: 'trail', name: 'platform-shared-services-audit' }),
    ];
    // The records bucket holds each finding under received/<id>/<digest>.json; the bait object is denied.
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      if (input.Bucket !== RECORDS_BUCKET)
        throw new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } });
      const kept = executions().find(
        (e) => receivedKey({ findingId: e.finding.id, digest: findingDigest(e.finding) }) === input.Key,
      );
      if (!kept) throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      return { Body: body(JSON.stringify(kept.finding)) };
    });
    sfn
      .on(ListExecutionsCommand)
      .callsFake(() => ({ executions: executions().map(({ finding: _f, ...e }) => e) }));
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
      const e = executions().find((x) => x.executionArn === input.executionArn)!;
      return {
        executionArn: e.executionArn,
        stateMachineArn: STATE_MACHINE,
        status: 'SUCCEEDED',
        startDate: now,
        stopDate: new Date(now.getTime() + 1500),
        input: JSON.stringify({
          mode: 'respond',
          receivedAt: now.toISOString(),
          findingId: e.finding.id,
          digest: findingDigest(e.finding),
        }),
      };
    });

    const result = await runLiveDrill({ config, ...fast, timeoutMs: 5000 });
    expect(result.touches.map((t) => t.call)).toEqual([
      'ssm:GetParameter',
      's3:GetObject',
      'secretsmanager:GetSecretValue',
      'cloudtrail:StopLogging (denied)',
    ]);
    expect(result.touches.map((t) => t.callResult)).toEqual([
      'ok',
      'AccessDenied',
      'ok',
      'AccessDeniedException',
    ]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input.SecretId).toBe(secret.name);
    expect(ssm.commandCalls(GetParameterCommand)[0]!.args[0].input.Name).toBe(parameter.name);
    expect(parameter.name).toContain('/ledger/');
    expect(result.missedTouches).toBe(0);
    expect(result.touches.every((t) => t.responseStatus === 'SUCCEEDED')).toBe(true);
    expect(result.findingToResponse.count).toBe(4);
    expect(result.cleanupProblems).toEqual([]);
    expect(iam.commandCalls(DeleteUserCommand)).toHaveLength(1);
    expect(iam.commandCalls(DeleteAccessKeyCommand)).toHaveLength(1);

    // The user may read exactly the decoys it touches, and never change the trail.
    const policy = JSON.parse(iam.commandCalls(PutUserPolicyCommand)[0]!.args[0].input.PolicyDocument!) as {
      Statement: { Effect: string; Action: string[]; Resource: string[] }[];
    };
    expect(policy.Statement.find((s) => s.Action.includes('ssm:GetParameter'))?.Resource).toEqual([
      parameter.arn,
    ]);
    expect(policy.Statement.find((s) => s.Effect === 'Deny')?.Action).toContain('cloudtrail:StopLogging');
  });

  it('removes its user even when a step fails, and reports what it could not find', async () => {
    deployedStack();
    mockUser();
    iam.on(CreateAccessKeyCommand).rejects(
      new LimitExceededException({
        message: 'Cannot exceed quota for AccessKeysPerUser: 2',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    await expect(runLiveDrill({ config, ...fast, decoys })).rejects.toThrow(LimitExceededException);
    expect(iam.commandCalls(DeleteUserPolicyCommand)).toHaveLength(1);
    expect(iam.commandCalls(DeleteUserCommand)).toHaveLength(1);
  });

  it('reports a touch without a finding as missed after the timeout', async () => {
    deployedStack();
    mockUser();
    ssm.on(GetParameterCommand).resolves({});
    s3.on(GetObjectCommand).resolves({});
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
    cloudtrail.on(StopLoggingCommand).resolves({});
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const result = await runLiveDrill({ config, ...fast, timeoutMs: 20, decoys });
    expect(result.missedTouches).toBe(4);
    expect(iam.commandCalls(DeleteUserCommand)).toHaveLength(1);
  });
});
