import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  IAMServiceException,
  ListAccessKeysCommand,
  NoSuchEntityException,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { HeadBucketCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeSpec } from '../../layers/decoys/spec';
import { makeSpec } from './fixtures';

/** The handler wired to mocked clients and a local response URL. */

/** The waits the wired planter asks for: recorded, not waited (the timer is sleepFor). */
const slept = vi.hoisted(() => [] as number[]);
vi.mock('../../layers/decoys/planter', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../layers/decoys/planter')>()),
  sleepFor: async (ms: number) => {
    slept.push(ms);
  },
}));

process.env.STATE_TABLE = 'state-table';
process.env.AWS_REGION = 'eu-west-1';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const { handler } = await import('../../functions/plant/handler');

const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const iam = mockClient(IAMClient);
const dynamo = mockClient(DynamoDBClient);
const doc = mockClient(DynamoDBDocumentClient);
const secretsManager = mockClient(SecretsManagerClient);

const responses: Record<string, unknown>[] = [];
let server: ReturnType<typeof createServer>;
let responseUrl = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      responses.push(JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cfn-response`;
});
afterAll(() => server.close());

const spec = makeSpec();
const context = {
  functionName: 'platform-shared-services-Rotation',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f',
  memoryLimitInMB: '512',
  awsRequestId: 'aws-request',
  logGroupName: '/aws/lambda/f',
  logStreamName: '2025/03/14/[$LATEST]abc',
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

const createEvent = (requestId: string) => ({
  RequestType: 'Create',
  ResponseURL: responseUrl,
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/platform-shared-services/x',
  RequestId: requestId,
  LogicalResourceId: 'SecretRotationState2AA135AD',
  ResourceType: 'Custom::SecretRotation',
  ResourceProperties: { ServiceToken: 'arn', Plan: encodeSpec(spec), StackRegion: 'eu-west-1', Naming: '1' },
});

beforeEach(() => {
  responses.length = 0;
  slept.length = 0;
  for (const mock of [ssm, s3, iam, dynamo, doc, secretsManager]) mock.reset();
  secretsManager.onAnyCommand().resolves({});
  secretsManager
    .on(DescribeSecretCommand)
    .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 400 } }));
  secretsManager.on(CreateSecretCommand).callsFake((input: { Name: string }) => ({
    ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${input.Name}-Ab12Cd`,
  }));
  dynamo.on(PutItemCommand).resolves({});
  dynamo.on(UpdateItemCommand).resolves({});
  doc.on(GetCommand).resolves({});
  doc.on(PutCommand).resolves({});
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
  iam
    .on(GetUserCommand)
    .rejects(new NoSuchEntityException({ message: 'cannot be found', $metadata: { httpStatusCode: 404 } }));
  s3.onAnyCommand().resolves({});
  s3.on(HeadBucketCommand).rejects(
    new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } }),
  );
  iam.on(CreateUserCommand).resolves({
    User: { UserName: 'u', UserId: 'AIDAEXAMPLEEXAMPLE1', Arn: 'a', Path: '/', CreateDate: new Date() },
  });
  iam.on(PutUserPolicyCommand).resolves({});
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
  iam.on(CreateAccessKeyCommand).resolves({
    AccessKey: {
      UserName: 'u',
      AccessKeyId: 'AKIAEXAMPLEEXAMPLE12',
      SecretAccessKey: 'secret',
      Status: 'Active',
    },
  });
});

describe('plant handler', () => {
  it('Create plants and answers SUCCESS, once per request id', async () => {
    await handler(createEvent('r-1'), context);
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        RequestId: 'r-1',
        PhysicalResourceId: 'SecretRotationState2AA135AD',
      }),
    ]);
    expect(ssm.commandCalls(PutParameterCommand).length).toBe(4);
    // The three files and the dump's dated copy.
    expect(s3.commandCalls(PutObjectCommand).length).toBe(4);
    // The writes are spread (the handler wires the timer), within a deploy's 20 seconds.
    expect(slept.length).toBeGreaterThan(0);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(20_000);
    const idempotency = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(idempotency.Item?.pk).toEqual({ S: 'requests#stack' });
    expect(idempotency.Item?.expiresAt).toBeDefined();
  });

  it('a duplicate delivery of a completed request does nothing again', async () => {
    dynamo.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'exists',
        $metadata: {},
        Item: {
          pk: { S: 'requests#stack' },
          sk: { S: 'x' },
          status: { S: 'COMPLETED' },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          data: { M: { status: { S: 'SUCCESS' }, physicalResourceId: { S: 'SecretRotationState2AA135AD' } } },
        },
      }),
    );
    const result = await handler(createEvent('r-1'), context);
    expect(result).toEqual({ status: 'SUCCESS', physicalResourceId: 'SecretRotationState2AA135AD' });
    expect(ssm.calls()).toHaveLength(0);
    expect(iam.calls()).toHaveLength(0);
  });

  it('a denied call answers FAILED naming the action, the resource and the logs', async () => {
    iam.on(CreateUserCommand).rejects(
      // IAM models no AccessDenied: the SDK throws its base class named after the code.
      new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'not authorized',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await handler(createEvent('r-2'), context);
    expect(responses[0]).toMatchObject({ Status: 'FAILED' });
    expect(responses[0]!.Reason).toMatch(
      /^iam:CreateUser on user\/[\w-]+ was denied \(AccessDenied\).*Details: log group \/aws\/lambda\/f, stream/,
    );
  });

  it('the scheduled refresh with nothing planted does nothing, keyed on the event id', async () => {
    expect(
      await handler({ action: 'refresh', id: 'event-1', time: '2025-03-14T03:00:00Z' }, context),
    ).toMatchObject({
      rotated: false,
    });
    const record = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input.Item;
    expect(record?.pk).toEqual({ S: 'requests#refresh' });
  });

  it('a refresh without an event id still runs', async () => {
    expect(await handler({ action: 'refresh' }, context)).toMatchObject({ rotated: false });
  });

  it("the response workflow's refresh (reason response, the execution name as id) is keyed on its id", async () => {
    expect(
      await handler({ action: 'refresh', reason: 'response', id: 'f-0123456789abcdef' }, context),
    ).toMatchObject({ rotated: false, secrets: 0 });
    expect(dynamo.commandCalls(PutItemCommand)[0]!.args[0].input.Item?.pk).toEqual({ S: 'requests#refresh' });
  });

  it('a malformed refresh request names the field', async () => {
    await expect(handler({ action: 'refresh', reason: 'incident' }, context)).rejects.toThrow(
      /malformed refresh request: .*reason/,
    );
  });

  it('answers even when the idempotency store is unavailable (the work is idempotent)', async () => {
    dynamo.on(PutItemCommand).rejects(
      // Unmodelled in DynamoDB: the base class, named after the code.
      new DynamoDBServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'no access to the table',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await handler(createEvent('r-3'), context);
    expect(responses).toEqual([expect.objectContaining({ Status: 'SUCCESS', RequestId: 'r-3' })]);
  });

  it('a broken environment still answers FAILED, naming the variable', async () => {
    vi.resetModules();
    const saved = process.env.STATE_TABLE;
    delete process.env.STATE_TABLE;
    try {
      const fresh = await import('../../functions/plant/handler');
      await fresh.handler(createEvent('r-4'), context);
    } finally {
      process.env.STATE_TABLE = saved;
    }
    expect(responses[0]).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: 'SecretRotationState2AA135AD',
    });
    expect(responses[0]!.Reason).toMatch(/STATE_TABLE is not set/);
  });

  it('rejects an unknown event, saying what it expected', async () => {
    await expect(handler({ detail: {} }, context)).rejects.toThrow(
      /unexpected event \(keys: detail\): expected \{"action":"refresh"\} or a CloudFormation custom resource request/,
    );
  });
});
