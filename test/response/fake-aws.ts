import {
  CloudTrailClient,
  CloudTrailServiceException,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  ServiceFailureException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
  ThrottlingException as SsmThrottlingException,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

/**
 * A small, stateful stand-in for the AWS calls the response makes: IAM users and
 * roles with keys and policies, Secrets Manager, SSM, S3 (with conditional puts),
 * SNS and CloudTrail, over aws-sdk-client-mock (every client instance, including
 * the handlers' module-scope ones, goes through it). Any call can be made to fail.
 */

export interface FakeKey {
  id: string;
  secret: string;
  status: 'Active' | 'Inactive';
}
export interface FakeUser {
  keys: FakeKey[];
  attached: string[];
  inline: Record<string, string>;
  groups: string[];
  tags: Record<string, string>;
}
export interface FakeRole {
  attached: string[];
  inline: Record<string, string>;
}

export interface IamWorld {
  users: Record<string, FakeUser>;
  roles: Record<string, FakeRole>;
}

export interface Failure {
  /** The SDK error name to throw, e.g. ServiceFailureException, Throttling, AccessDenied. */
  name: string;
  /** How many calls fail before calls succeed again; default every call. */
  times?: number;
  /** How many calls succeed before the failures start; default none. */
  after?: number;
}

// Some modelled exceptions (SSM's ThrottlingException) also carry the body's `Message`.
type ExceptionMetadata = { message: string; Message: string; $metadata: { httpStatusCode?: number } };
type ModelledException = new (options: ExceptionMetadata) => Error;
type BaseException = new (
  options: Omit<ExceptionMetadata, 'Message'> & { name: string; $fault: 'client' | 'server' },
) => Error;

/**
 * Each service's exceptions as the SDK raises them: its own class for a modelled
 * error (NoSuchEntityException, ParameterNotFound, InternalServiceError...), and
 * for an unmodelled one (IAM's Throttling, S3's PreconditionFailed) the client's
 * ServiceException base named after the error code, which is what the SDK does.
 */
const SERVICES: Record<string, { base: BaseException; modelled: Record<string, ModelledException> }> = {
  iam: {
    base: IAMServiceException,
    modelled: { NoSuchEntityException, LimitExceededException, ServiceFailureException },
  },
  ssm: {
    base: SSMServiceException,
    modelled: { ParameterNotFound, ThrottlingException: SsmThrottlingException },
  },
  secrets: {
    base: SecretsManagerServiceException,
    modelled: { InternalServiceError, ResourceExistsException, ResourceNotFoundException },
  },
  s3: { base: S3ServiceException, modelled: { NoSuchKey } },
  sns: { base: SNSServiceException, modelled: {} },
  sts: { base: STSServiceException, modelled: {} },
  cloudtrail: { base: CloudTrailServiceException, modelled: {} },
};

/** The service an operation of the fakes belongs to (IAM unless listed). */
const SERVICE_OF: Record<string, string> = {
  GetParameter: 'ssm',
  PutParameter: 'ssm',
  CreateSecret: 'secrets',
  GetSecretValue: 'secrets',
  PutSecretValue: 'secrets',
  GetObject: 's3',
  PutObject: 's3',
  ListObjectsV2: 's3',
  Publish: 'sns',
  GetCallerIdentity: 'sts',
  LookupEvents: 'cloudtrail',
};

function sdkError(service: string, name: string, message = name, httpStatusCode = 400): Error {
  const { base, modelled } = SERVICES[service]!;
  const Modelled = modelled[name];
  if (Modelled) return new Modelled({ message, Message: message, $metadata: { httpStatusCode } });
  return new base({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    message,
    $metadata: { httpStatusCode },
  });
}

/** The state-table items the fakes keep (the rest is the registry and the finding records). */
const isStateItem = (pk: string | undefined) =>
  pk !== undefined && (pk.startsWith('incident') || pk.startsWith('budget#'));

interface ConditionalPut {
  Item: Record<string, unknown> & { pk: string; sk: string };
  ConditionExpression?: string;
  ExpressionAttributeValues?: Record<string, unknown>;
}

function conditionFailed(): Error {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

export class FakeAws {
  iam: IamWorld = { users: {}, roles: {} };
  secrets: Record<string, string> = {};
  parameters: Record<string, string> = {};
  objects = new Map<string, string>();
  published: { subject?: string; message: string; owner?: string }[] = [];
  calls: string[] = [];
  failures: Record<string, Failure> = {};
  caller = 'arn:aws:iam::111122223333:user/oncall-alice';
  private keySeq = 0;
  readonly mocks: AwsClientStub<
    | IAMClient
    | S3Client
    | SNSClient
    | SecretsManagerClient
    | SSMClient
    | STSClient
    | CloudTrailClient
    | DynamoDBDocumentClient
  >[] = [];
  /** The planted users the registry lists (the ledger reads them from the state table). */
  plantedUsers: string[] = [];
  /** Incident and budget items of the state table, by `pk/sk`. */
  readonly table = new Map<string, Record<string, unknown>>();
  /** Findings a detector recorded before publishing them: `issued#<id>/<digest>`. */
  readonly issuedFindings = new Set<string>();

  private registryItem() {
    if (this.plantedUsers.length === 0) return undefined;
    const now = '2024-01-01T00:00:00Z';
    return {
      pk: 'inventory',
      sk: 'current',
      version: 1,
      spec: {
        service: 'payments',
        environment: 'prod',
        items: this.plantedUsers.map((name) => ({
          kind: 'iam-user',
          name,
          arn: `arn:aws:iam::111122223333:user/${name}`,
        })),
      },
      owned: this.plantedUsers.map((name) => ({
        kind: 'iam-user',
        name,
        arn: `arn:aws:iam::111122223333:user/${name}`,
        state: 'planted',
        claimedAt: now,
        plantedAt: now,
      })),
      keys: [],
      plantedAt: now,
      updatedAt: now,
    };
  }

  install(): void {
    this.table.clear();
    const iam = mockClient(IAMClient);
    const s3 = mockClient(S3Client);
    const sns = mockClient(SNSClient);
    const secrets = mockClient(SecretsManagerClient);
    const ssm = mockClient(SSMClient);
    const sts = mockClient(STSClient);
    const cloudtrail = mockClient(CloudTrailClient);
    const dynamo = mockClient(DynamoDBDocumentClient);
    this.mocks.push(iam, s3, sns, secrets, ssm, sts, cloudtrail, dynamo);
    // The registry item, reduced to what the ledger reads: the planted users; and the
    // detectors' finding records (issued#<id> / <digest>), which the intake checks.
    dynamo
      .on(GetCommand)
      .callsFake((input: { Key?: { pk?: string; sk?: string } }) =>
        input.Key?.pk?.startsWith('issued#')
          ? { Item: this.issuedFindings.has(`${input.Key.pk}/${input.Key.sk}`) ? input.Key : undefined }
          : isStateItem(input.Key?.pk)
            ? { Item: this.table.get(`${input.Key?.pk}/${input.Key?.sk}`) }
            : { Item: this.registryItem() },
      );
    // Incidents and the automation budget: conditional writes, as the state table does them.
    dynamo.on(PutCommand).callsFake((input: ConditionalPut) => {
      if (!this.holds(input)) throw conditionFailed();
      this.table.set(`${input.Item.pk}/${input.Item.sk}`, input.Item);
      return {};
    });
    dynamo.on(TransactWriteCommand).callsFake((input: { TransactItems?: { Put?: ConditionalPut }[] }) => {
      const puts = (input.TransactItems ?? []).flatMap((t) => (t.Put ? [t.Put] : []));
      const reasons = puts.map((put) => ({ Code: this.holds(put) ? 'None' : 'ConditionalCheckFailed' }));
      if (reasons.some((r) => r.Code !== 'None'))
        throw new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: reasons,
        });
      for (const put of puts) this.table.set(`${put.Item.pk}/${put.Item.sk}`, put.Item);
      return {};
    });

    const user = (name: string | undefined) => {
      const found = this.iam.users[name ?? ''];
      if (!found)
        throw sdkError('iam', 'NoSuchEntityException', `The user with name ${name} cannot be found.`);
      return found;
    };
    const role = (name: string | undefined) => {
      const found = this.iam.roles[name ?? ''];
      if (!found)
        throw sdkError('iam', 'NoSuchEntityException', `The role with name ${name} cannot be found.`);
      return found;
    };
    const keyOf = (u: FakeUser, id: string | undefined) => {
      const key = u.keys.find((k) => k.id === id);
      if (!key)
        throw sdkError('iam', 'NoSuchEntityException', `The Access Key with id ${id} cannot be found.`);
      return key;
    };
    // Users and roles hold policies alike.
    const attach = (p: FakeRole, arn = '') => {
      if (!p.attached.includes(arn)) p.attached.push(arn);
      return {};
    };
    const detach = (p: FakeRole, arn = '') => {
      if (!p.attached.includes(arn)) throw sdkError('iam', 'NoSuchEntityException', 'Policy is not attached');
      p.attached = p.attached.filter((a) => a !== arn);
      return {};
    };
    const putInline = (p: FakeRole, name = '', document = '') => {
      p.inline[name] = document;
      return {};
    };
    const deleteInline = (p: FakeRole, name = '') => {
      if (!(name in p.inline)) throw sdkError('iam', 'NoSuchEntityException', 'no such policy');
      delete p.inline[name];
      return {};
    };
    const on =
      <I, O>(name: string, fake: (input: I) => O) =>
      (input: I) => {
        this.calls.push(name);
        this.maybeFail(name);
        return fake(input);
      };

    iam
      .on(ListAccessKeysCommand)
      .callsFake(
        on('ListAccessKeys', (i: { UserName?: string }) => ({
          AccessKeyMetadata: user(i.UserName).keys.map((k) => ({
            AccessKeyId: k.id,
            Status: k.status,
            UserName: i.UserName,
            CreateDate: new Date('2024-01-01T00:00:00Z'),
          })),
        })),
      )
      .on(GetAccessKeyLastUsedCommand)
      .callsFake(
        on('GetAccessKeyLastUsed', () => ({
          AccessKeyLastUsed: { LastUsedDate: new Date('2024-06-01T00:00:00Z') },
        })),
      )
      .on(ListAttachedUserPoliciesCommand)
      .callsFake(
        on('ListAttachedUserPolicies', (i: { UserName?: string }) => ({
          AttachedPolicies: user(i.UserName).attached.map((arn) => ({
            PolicyArn: arn,
            PolicyName: arn.split('/').pop(),
          })),
        })),
      )
      .on(ListUserPoliciesCommand)
      .callsFake(
        on('ListUserPolicies', (i: { UserName?: string }) => ({
          PolicyNames: Object.keys(user(i.UserName).inline),
        })),
      )
      .on(GetUserPolicyCommand)
      .callsFake(
        on('GetUserPolicy', (i: { UserName?: string; PolicyName?: string }) => ({
          PolicyDocument: encodeURIComponent(user(i.UserName).inline[i.PolicyName ?? ''] ?? ''),
        })),
      )
      .on(ListGroupsForUserCommand)
      .callsFake(
        on('ListGroupsForUser', (i: { UserName?: string }) => ({
          Groups: user(i.UserName).groups.map((g) => ({ GroupName: g })),
        })),
      )
      .on(ListUserTagsCommand)
      .callsFake(
        on('ListUserTags', (i: { UserName?: string }) => ({
          Tags: Object.entries(user(i.UserName).tags).map(([Key, Value]) => ({ Key, Value })),
        })),
      )
      .on(GetRoleCommand)
      .callsFake(
        on('GetRole', (i: { RoleName?: string }) => {
          role(i.RoleName);
          return { Role: { RoleName: i.RoleName, Tags: [] } };
        }),
      )
      .on(ListAttachedRolePoliciesCommand)
      .callsFake(
        on('ListAttachedRolePolicies', (i: { RoleName?: string }) => ({
          AttachedPolicies: role(i.RoleName).attached.map((arn) => ({ PolicyArn: arn })),
        })),
      )
      .on(ListRolePoliciesCommand)
      .callsFake(
        on('ListRolePolicies', (i: { RoleName?: string }) => ({
          PolicyNames: Object.keys(role(i.RoleName).inline),
        })),
      )
      .on(GetRolePolicyCommand)
      .callsFake(
        on('GetRolePolicy', (i: { RoleName?: string; PolicyName?: string }) => ({
          PolicyDocument: encodeURIComponent(role(i.RoleName).inline[i.PolicyName ?? ''] ?? ''),
        })),
      )
      .on(UpdateAccessKeyCommand)
      .callsFake(
        on(
          'UpdateAccessKey',
          (i: { UserName?: string; AccessKeyId?: string; Status?: 'Active' | 'Inactive' }) => {
            keyOf(user(i.UserName), i.AccessKeyId).status = i.Status ?? 'Active';
            return {};
          },
        ),
      )
      .on(CreateAccessKeyCommand)
      .callsFake(
        on('CreateAccessKey', (i: { UserName?: string }) => {
          const u = user(i.UserName);
          if (u.keys.length >= 2)
            throw sdkError('iam', 'LimitExceededException', 'Cannot exceed quota for AccessKeysPerUser: 2');
          const key: FakeKey = {
            id: `AKIANEW${String(++this.keySeq).padStart(13, '0')}`,
            secret: `secret-${this.keySeq}`,
            status: 'Active',
          };
          u.keys.push(key);
          return {
            AccessKey: {
              UserName: i.UserName,
              AccessKeyId: key.id,
              SecretAccessKey: key.secret,
              Status: 'Active',
            },
          };
        }),
      )
      .on(DeleteAccessKeyCommand)
      .callsFake(
        on('DeleteAccessKey', (i: { UserName?: string; AccessKeyId?: string }) => {
          const u = user(i.UserName);
          keyOf(u, i.AccessKeyId);
          u.keys = u.keys.filter((k) => k.id !== i.AccessKeyId);
          return {};
        }),
      )
      .on(AttachUserPolicyCommand)
      .callsFake(
        on('AttachUserPolicy', (i: { UserName?: string; PolicyArn?: string }) =>
          attach(user(i.UserName), i.PolicyArn),
        ),
      )
      .on(DetachUserPolicyCommand)
      .callsFake(
        on('DetachUserPolicy', (i: { UserName?: string; PolicyArn?: string }) =>
          detach(user(i.UserName), i.PolicyArn),
        ),
      )
      .on(AttachRolePolicyCommand)
      .callsFake(
        on('AttachRolePolicy', (i: { RoleName?: string; PolicyArn?: string }) =>
          attach(role(i.RoleName), i.PolicyArn),
        ),
      )
      .on(DetachRolePolicyCommand)
      .callsFake(
        on('DetachRolePolicy', (i: { RoleName?: string; PolicyArn?: string }) =>
          detach(role(i.RoleName), i.PolicyArn),
        ),
      )
      .on(PutUserPolicyCommand)
      .callsFake(
        on('PutUserPolicy', (i: { UserName?: string; PolicyName?: string; PolicyDocument?: string }) =>
          putInline(user(i.UserName), i.PolicyName, i.PolicyDocument),
        ),
      )
      .on(PutRolePolicyCommand)
      .callsFake(
        on('PutRolePolicy', (i: { RoleName?: string; PolicyName?: string; PolicyDocument?: string }) =>
          putInline(role(i.RoleName), i.PolicyName, i.PolicyDocument),
        ),
      )
      .on(DeleteUserPolicyCommand)
      .callsFake(
        on('DeleteUserPolicy', (i: { UserName?: string; PolicyName?: string }) =>
          deleteInline(user(i.UserName), i.PolicyName),
        ),
      )
      .on(DeleteRolePolicyCommand)
      .callsFake(
        on('DeleteRolePolicy', (i: { RoleName?: string; PolicyName?: string }) =>
          deleteInline(role(i.RoleName), i.PolicyName),
        ),
      );

    secrets
      .on(CreateSecretCommand)
      .callsFake(
        on('CreateSecret', (i: { Name?: string; SecretString?: string }) => {
          const name = i.Name ?? '';
          if (name in this.secrets)
            throw new ResourceExistsException({ message: 'exists', $metadata: { httpStatusCode: 400 } });
          this.secrets[name] = i.SecretString ?? '';
          return { ARN: `arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}-AbCdEf`, Name: name };
        }),
      )
      .on(PutSecretValueCommand)
      .callsFake(
        on('PutSecretValue', (i: { SecretId?: string; SecretString?: string }) => {
          this.secrets[i.SecretId ?? ''] = i.SecretString ?? '';
          return { ARN: `arn:aws:secretsmanager:us-east-1:111122223333:secret:${i.SecretId}-AbCdEf` };
        }),
      )
      .on(GetSecretValueCommand)
      .callsFake(
        on('GetSecretValue', (i: { SecretId?: string }) => {
          const value = this.secrets[i.SecretId ?? ''];
          if (value === undefined)
            throw new ResourceNotFoundException({ message: 'not found', $metadata: { httpStatusCode: 400 } });
          return { SecretString: value };
        }),
      );

    ssm
      .on(PutParameterCommand)
      .callsFake(
        on('PutParameter', (i: { Name?: string; Value?: string }) => {
          this.parameters[i.Name ?? ''] = i.Value ?? '';
          return { Version: 1 };
        }),
      )
      .on(GetParameterCommand)
      .callsFake(
        on('GetParameter', (i: { Name?: string }) => {
          const value = this.parameters[i.Name ?? ''];
          if (value === undefined)
            throw new ParameterNotFound({ message: 'not found', $metadata: { httpStatusCode: 400 } });
          return { Parameter: { Name: i.Name, Value: value } };
        }),
      );

    s3.on(PutObjectCommand)
      .callsFake(
        on('PutObject', (i: { Bucket?: string; Key?: string; Body?: unknown; IfNoneMatch?: string }) => {
          const key = `${i.Bucket}/${i.Key}`;
          if (i.IfNoneMatch === '*' && this.objects.has(key)) {
            throw sdkError(
              's3',
              'PreconditionFailed',
              'At least one of the pre-conditions you specified did not hold',
              412,
            );
          }
          this.objects.set(key, String(i.Body));
          return { ETag: '"etag"' };
        }),
      )
      .on(GetObjectCommand)
      .callsFake(
        on('GetObject', (i: { Bucket?: string; Key?: string }) => {
          const body = this.objects.get(`${i.Bucket}/${i.Key}`);
          if (body === undefined) throw sdkError('s3', 'NoSuchKey', 'The specified key does not exist.', 404);
          return { Body: { transformToString: async () => body } };
        }),
      )
      .on(ListObjectsV2Command)
      .callsFake(
        on(
          'ListObjectsV2',
          (i: { Bucket?: string; Prefix?: string; StartAfter?: string; ContinuationToken?: string }) => {
            const prefix = `${i.Bucket}/`;
            const keys = [...this.objects.keys()]
              .filter((k) => k.startsWith(prefix))
              .map((k) => k.slice(prefix.length))
              .filter((k) => k.startsWith(i.Prefix ?? ''))
              .filter((k) => !i.StartAfter || k > i.StartAfter)
              .sort();
            // Pages of 3, to exercise continuation.
            const start = i.ContinuationToken ? Number(i.ContinuationToken) : 0;
            const page = keys.slice(start, start + 3);
            const more = start + 3 < keys.length;
            return {
              Contents: page.map((Key) => ({ Key })),
              IsTruncated: more,
              NextContinuationToken: more ? String(start + 3) : undefined,
            };
          },
        ),
      );

    sns.on(PublishCommand).callsFake(
      on(
        'Publish',
        (i: {
          Subject?: string;
          Message?: string;
          MessageAttributes?: Record<string, { StringValue?: string }>;
        }) => {
          this.published.push({
            subject: i.Subject,
            message: i.Message ?? '',
            ...(i.MessageAttributes?.owner ? { owner: i.MessageAttributes.owner.StringValue } : {}),
          });
          return { MessageId: String(this.published.length) };
        },
      ),
    );
    // Signed with a user's key: that user (the rotation's check of a new key); else the operator.
    sts.on(GetCallerIdentityCommand).callsFake(async (input: unknown, getClient: () => STSClient) => {
      // The operator's client resolves no credentials here (none in the test's environment).
      const keyId = await getClient()
        .config.credentials()
        .then((c) => c.accessKeyId)
        .catch(() => undefined);
      const owner = Object.entries(this.iam.users).find(([, u]) => u.keys.some((k) => k.id === keyId))?.[0];
      return on('GetCallerIdentity', () => ({
        Arn: owner ? `arn:aws:iam::111122223333:user/${owner}` : this.caller,
        Account: '111122223333',
      }))(input);
    });
    cloudtrail.on(LookupEventsCommand).callsFake(
      on('LookupEvents', () => ({
        Events: [
          {
            EventId: 'e1',
            EventName: 'GetParameter',
            EventSource: 'ssm.amazonaws.com',
            EventTime: new Date('2024-06-01T00:00:00Z'),
            CloudTrailEvent: JSON.stringify({
              awsRegion: 'us-east-1',
              sourceIPAddress: '203.0.113.9',
              errorCode: 'AccessDenied',
            }),
          },
        ],
      })),
    );
  }

  restore(): void {
    for (const mock of this.mocks.splice(0)) mock.restore();
  }

  /**
   * The condition expressions the incident and budget stores write with, evaluated
   * over the fake table (not a general DynamoDB expression evaluator).
   */
  private holds(put: ConditionalPut): boolean {
    const stored = this.table.get(`${put.Item.pk}/${put.Item.sk}`);
    const values = put.ExpressionAttributeValues ?? {};
    switch (put.ConditionExpression) {
      case undefined:
        return true;
      case 'attribute_not_exists(pk)':
        return stored === undefined;
      case 'version = :version':
        return stored !== undefined && stored.version === values[':version'];
      case 'attribute_not_exists(pk) OR incidentId = :id OR lastSeen < :since':
        return (
          stored === undefined ||
          stored.incidentId === values[':id'] ||
          String(stored.lastSeen) < String(values[':since'])
        );
      default:
        throw new Error(`the fake table does not evaluate ${put.ConditionExpression}`);
    }
  }

  private maybeFail(name: string): void {
    const failure = this.failures[name];
    if (!failure) return;
    if (failure.after !== undefined && failure.after > 0) {
      failure.after--;
      return;
    }
    if (failure.times !== undefined) {
      if (failure.times <= 0) return;
      failure.times--;
    }
    throw sdkError(SERVICE_OF[name] ?? 'iam', failure.name, `${name} failed (${failure.name})`);
  }

  /** IAM and the key stores, comparable with toEqual (order-insensitive where IAM is). */
  snapshot() {
    const users = Object.fromEntries(
      Object.entries(this.iam.users).map(([name, u]) => [
        name,
        {
          keys: [...u.keys]
            .map((k) => ({ id: k.id, status: k.status }))
            .sort((a, b) => a.id.localeCompare(b.id)),
          attached: [...u.attached].sort(),
          inline: { ...u.inline },
        },
      ]),
    );
    const roles = Object.fromEntries(
      Object.entries(this.iam.roles).map(([name, r]) => [
        name,
        { attached: [...r.attached].sort(), inline: { ...r.inline } },
      ]),
    );
    return structuredClone({
      users,
      roles,
      secrets: { ...this.secrets },
      parameters: { ...this.parameters },
    });
  }
}
