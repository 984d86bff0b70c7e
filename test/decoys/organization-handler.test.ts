import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  ListStackInstancesCommand,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { HeadBucketCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { shapeOf } from '../../layers/decoys/catalogue';
import { StackSetAccountListing } from '../../layers/decoys/member-aws';
import { encodeShape } from '../../layers/decoys/spec';

/**
 * The plant function in organization mode, wired to mocked clients: it assumes the
 * member role in each member account, plants there with that session, keeps one
 * registry item per account, and answers FAILED naming the member that failed
 * (after planting the others).
 */

const slept = vi.hoisted(() => [] as number[]);
vi.mock('../../layers/decoys/planter', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../layers/decoys/planter')>()),
  sleepFor: async (ms: number) => {
    slept.push(ms);
  },
}));

const SECURITY = '222233334444';
const MEMBER_A = '444455556666';
const MEMBER_B = '777788889999';
const ROLE = 'arn:aws:iam::*:role/platform-shared-services/platform-operations-access';

process.env.STATE_TABLE = 'state-table';
process.env.AWS_REGION = 'eu-west-1';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.MEMBER_ROLE_ARN = ROLE;
process.env.MEMBER_ACCOUNTS = `${MEMBER_A},${MEMBER_B}`;
const { handler } = await import('../../functions/plant/handler');

const sts = mockClient(STSClient);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);
const iam = mockClient(IAMClient);
const kms = mockClient(KMSClient);
const dynamo = mockClient(DynamoDBClient);
const doc = mockClient(DynamoDBDocumentClient);
const secretsManager = mockClient(SecretsManagerClient);
const cloudformation = mockClient(CloudFormationClient);
const all = [sts, ssm, s3, iam, kms, dynamo, doc, secretsManager, cloudformation];

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

const context = {
  functionName: 'platform-shared-services-Rotation',
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:${SECURITY}:function:f`,
  logGroupName: '/aws/lambda/f',
  logStreamName: '2025/03/14/[$LATEST]abc',
  getRemainingTimeInMillis: () => 900_000,
} as unknown as Context;

const createEvent = (requestId: string) => ({
  RequestType: 'Create',
  ResponseURL: responseUrl,
  StackId: `arn:aws:cloudformation:eu-west-1:${SECURITY}:stack/platform-shared-services/x`,
  RequestId: requestId,
  LogicalResourceId: 'SecretRotationState2AA135AD',
  ResourceType: 'Custom::SecretRotation',
  ResourceProperties: { ServiceToken: 'arn', Shape: encodeShape(shapeOf(parseConfig({}))) },
});

/** STS models no AccessDenied: the SDK throws its base class named after the code. */
const denied = (roleArn: string) =>
  new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: `not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    $metadata: { httpStatusCode: 403 },
  });

const sessionOf = (account: string) => ({
  AccessKeyId: `ASIA${account}`,
  SecretAccessKey: 'session-secret',
  SessionToken: `token-${account}`,
  Expiration: new Date(Date.now() + 3_600_000),
});

/** The access key id the client that sent a call was configured with. */
async function callerKey(call: { thisValue: unknown }): Promise<string> {
  const client = call.thisValue as { config: { credentials: () => Promise<{ accessKeyId: string }> } };
  return (await client.config.credentials()).accessKeyId;
}

beforeEach(() => {
  responses.length = 0;
  slept.length = 0;
  for (const mock of all) mock.reset();
  kms.onAnyCommand().resolves({});
  secretsManager.onAnyCommand().resolves({});
  secretsManager
    .on(DescribeSecretCommand)
    .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 400 } }));
  secretsManager.on(CreateSecretCommand).callsFake((input: { Name: string }) => ({
    ARN: `arn:aws:secretsmanager:eu-west-1:${MEMBER_A}:secret:${input.Name}-Ab12Cd`,
  }));
  dynamo.on(PutItemCommand).resolves({});
  doc.on(GetCommand).resolves({});
  doc.on(PutCommand).resolves({});
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
  ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
  iam.onAnyCommand().resolves({});
  iam
    .on(GetUserCommand)
    .rejects(new NoSuchEntityException({ message: 'cannot be found', $metadata: { httpStatusCode: 404 } }));
  iam.on(CreateUserCommand).resolves({
    User: { UserName: 'u', UserId: 'AIDAEXAMPLEEXAMPLE1', Arn: 'a', Path: '/', CreateDate: new Date() },
  });
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
  iam.on(CreateAccessKeyCommand).resolves({
    AccessKey: { UserName: 'u', AccessKeyId: 'AKIAEXAMPLEEXAMPLE12', SecretAccessKey: 's', Status: 'Active' },
  });
  s3.onAnyCommand().resolves({});
  s3.on(HeadBucketCommand).rejects(
    new NotFound({ message: 'UnknownError', $metadata: { httpStatusCode: 404 } }),
  );
});

describe('plant handler, organization mode', () => {
  it('plants each member as its role, one registry item per account, SecureStrings under aws/ssm', async () => {
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => ({
      Credentials: sessionOf(input.RoleArn.split(':')[4]!),
    }));
    await handler(createEvent('r-1'), context);
    expect(responses).toEqual([expect.objectContaining({ Status: 'SUCCESS', RequestId: 'r-1' })]);

    expect(
      sts
        .commandCalls(AssumeRoleCommand)
        .map((c) => c.args[0].input.RoleArn)
        .sort(),
    ).toEqual([
      `arn:aws:iam::${MEMBER_A}:role/platform-shared-services/platform-operations-access`,
      `arn:aws:iam::${MEMBER_B}:role/platform-shared-services/platform-operations-access`,
    ]);
    // Nothing is planted with the function's own credentials: every write is a member session's.
    const writers = new Set(await Promise.all(ssm.commandCalls(PutParameterCommand).map(callerKey)));
    expect([...writers].sort()).toEqual([`ASIA${MEMBER_A}`, `ASIA${MEMBER_B}`]);
    expect(
      ssm.commandCalls(PutParameterCommand).every((c) => c.args[0].input.KeyId === 'alias/aws/ssm'),
    ).toBe(true);
    // IAM is global: one user per member account.
    expect(iam.commandCalls(CreateUserCommand)).toHaveLength(2);
    const registryItems = doc
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input.Item as { pk: string; sk: string })
      .filter((item) => item.pk === 'inventory');
    expect([...new Set(registryItems.map((item) => item.sk))].sort()).toEqual([MEMBER_A, MEMBER_B]);
  });

  it('a member whose role stays denied fails alone: FAILED naming it, the other planted', async () => {
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
      const account = input.RoleArn.split(':')[4]!;
      if (account === MEMBER_B) throw denied(input.RoleArn);
      return { Credentials: sessionOf(account) };
    });
    await handler(createEvent('r-2'), context);
    expect(responses[0]).toMatchObject({ Status: 'FAILED' });
    expect(responses[0]!.Reason).toMatch(
      /planting failed in 1 of 2 member accounts \(the others are done\): account 777788889999: sts:AssumeRole .* was denied .*denied on all 5 tries/,
    );
    // Bounded backoff: 2 + 4 + 8 + 16 s, then the error.
    expect(slept.filter((ms) => ms >= 2000 && Number.isInteger(Math.log2(ms / 1000)))).toEqual(
      expect.arrayContaining([2000, 4000, 8000, 16000]),
    );
    const registryAccounts = doc
      .commandCalls(PutCommand)
      .map((c) => (c.args[0].input.Item as { pk: string; sk: string }).sk);
    expect(registryAccounts).toContain(MEMBER_A);
    expect(registryAccounts).not.toContain(MEMBER_B);
  });
});

describe('member accounts from the access StackSet', () => {
  it('lists the instances of the target OU, every page, as the delegated administrator', async () => {
    cloudformation
      .on(ListStackInstancesCommand)
      .resolvesOnce({
        Summaries: [
          { Account: MEMBER_B, OrganizationalUnitId: 'ou-ab12-cdef3456', Status: 'CURRENT' },
          { Account: '999999999999', OrganizationalUnitId: 'ou-ab12-other000', Status: 'CURRENT' },
        ],
        NextToken: 'next',
      })
      .resolvesOnce({
        Summaries: [
          { Account: MEMBER_A, OrganizationalUnitId: 'ou-ab12-cdef3456', Status: 'OUTDATED' },
          { Account: '111111111111', OrganizationalUnitId: 'ou-ab12-cdef3456', Status: 'INOPERABLE' },
        ],
      });
    const listing = new StackSetAccountListing(
      new CloudFormationClient({}),
      'platform-shared-services-access',
    );
    expect(await listing.accountsIn('ou-ab12-cdef3456')).toEqual([MEMBER_A, MEMBER_B]);
    const calls = cloudformation.commandCalls(ListStackInstancesCommand);
    expect(calls.map((c) => c.args[0].input.CallAs)).toEqual(['DELEGATED_ADMIN', 'DELEGATED_ADMIN']);
    expect(calls[1]!.args[0].input.NextToken).toBe('next');
  });

  it('a denied listing names the call and the StackSet', async () => {
    cloudformation.on(ListStackInstancesCommand).rejects(
      new CloudFormationServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'not authorized',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const listing = new StackSetAccountListing(
      new CloudFormationClient({}),
      'platform-shared-services-access',
    );
    await expect(listing.accountsIn('ou-ab12-cdef3456')).rejects.toThrow(
      /cloudformation:ListStackInstances on platform-shared-services-access was denied/,
    );
  });
});
