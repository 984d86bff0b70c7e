import {
  CloudTrailClient,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { CreateAliasCommand, DeleteAliasCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AwsCallError, awsCall, describeAwsError, hasCode, SDK_RETRY } from './aws-errors';
import type {
  AccessKey,
  AdvancedEventSelector,
  BucketState,
  CreateResult,
  EventSelectorsResponse,
  IamPort,
  InventoryPort,
  KmsPort,
  LifecycleRule,
  ObjectVersion,
  S3Port,
  SecureStringInput,
  SsmPort,
  Tag,
  TrailPort,
} from './ports';
import { AwsSecrets, type SecretsPort } from './secrets';

/**
 * The ports over the AWS SDK v3. Each method is one call (or one paginated
 * listing); "already exists" and "not found" become results where the planter
 * expects them, everything else an AwsCallError naming the action and resource.
 * Throttling is retried by the SDK (SDK_RETRY: standard mode, 8 attempts, backoff).
 */

/** Runs `call`; a listed "not found" code returns `fallback` instead of failing. */
async function tolerate<T>(
  action: string,
  resource: string,
  codes: string[],
  fallback: T,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (hasCode(error, ...codes)) return fallback;
    throw describeAwsError(action, resource, error);
  }
}

const awsTags = (tags: Tag[]) => tags.map((t) => ({ Key: t.key, Value: t.value }));

/** A Standard-tier SecureString. PutParameter takes tags only when it creates, never with Overwrite. */
function putSecureString(
  input: SecureStringInput,
  mode: { tags: Tag[]; overwrite?: never } | { overwrite: true; tags?: never },
): PutParameterCommand {
  return new PutParameterCommand({
    Name: input.name,
    Value: input.value,
    Type: 'SecureString',
    KeyId: input.keyId,
    Description: input.description,
    Tier: 'Standard',
    ...(mode.tags ? { Tags: awsTags(mode.tags) } : {}),
    Overwrite: mode.overwrite ?? false,
  });
}

export class AwsSsm implements SsmPort {
  constructor(private readonly client: SSMClient) {}

  async createSecureString(input: SecureStringInput & { tags: Tag[] }): Promise<CreateResult> {
    return tolerate<CreateResult>(
      'ssm:PutParameter',
      input.name,
      ['ParameterAlreadyExists'],
      'exists',
      async () => {
        await this.client.send(putSecureString(input, { tags: input.tags }));
        return 'created';
      },
    );
  }

  async overwriteSecureString(input: SecureStringInput): Promise<number> {
    const { Version } = await awsCall('ssm:PutParameter', input.name, () =>
      this.client.send(putSecureString(input, { overwrite: true })),
    );
    // PutParameter always reports it; a response without one would be an SDK change.
    if (typeof Version !== 'number') throw new Error(`ssm:PutParameter on ${input.name} returned no Version`);
    return Version;
  }

  async addTags(name: string, tags: Tag[]): Promise<void> {
    await awsCall('ssm:AddTagsToResource', name, () =>
      this.client.send(
        new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: awsTags(tags) }),
      ),
    );
  }

  async deleteParameter(name: string): Promise<void> {
    await tolerate('ssm:DeleteParameter', name, ['ParameterNotFound'], undefined, async () => {
      await this.client.send(new DeleteParameterCommand({ Name: name }));
    });
  }

  async parameterExists(name: string): Promise<boolean> {
    // DescribeParameters (metadata, on every parameter) rather than GetParameter: the
    // role then needs no read of parameters that are not its own.
    return awsCall('ssm:DescribeParameters', name, async () => {
      const page = await this.client.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }],
        }),
      );
      return (page.Parameters ?? []).length > 0;
    });
  }
}

// The SDK's exception names (S3's HeadBucket 404 is NotFound; IAM's classes end in
// Exception), with IAM's wire codes for errors that carry only a Code.
const NO_BUCKET = ['NoSuchBucket', 'NotFound'];
const NO_ENTITY = ['NoSuchEntityException', 'NoSuchEntity'];
const ENTITY_EXISTS = ['EntityAlreadyExistsException', 'EntityAlreadyExists'];

export class AwsS3 implements S3Port {
  constructor(private readonly client: S3Client) {}

  async headBucket(bucket: string): Promise<BucketState> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return 'owned';
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || hasCode(error, ...NO_BUCKET)) return 'missing';
      // 403: another account's; 301: in another region, so not one this stack planted here.
      if (status === 403 || status === 301 || hasCode(error, 'Forbidden', 'PermanentRedirect'))
        return 'foreign';
      throw describeAwsError('s3:HeadBucket', bucket, error);
    }
  }

  async createBucket(bucket: string, region: string): Promise<CreateResult> {
    return tolerate<CreateResult>(
      's3:CreateBucket',
      bucket,
      ['BucketAlreadyOwnedByYou'],
      'exists',
      async () => {
        await this.client.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ObjectOwnership: 'BucketOwnerEnforced',
            // us-east-1 takes no location constraint.
            CreateBucketConfiguration:
              region === 'us-east-1' ? undefined : { LocationConstraint: region as never },
          }),
        );
        return 'created';
      },
    );
  }

  async putPublicAccessBlock(bucket: string): Promise<void> {
    await awsCall('s3:PutBucketPublicAccessBlock', bucket, () =>
      this.client.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      ),
    );
  }

  async putOwnershipControls(bucket: string): Promise<void> {
    await awsCall('s3:PutBucketOwnershipControls', bucket, () =>
      this.client.send(
        new PutBucketOwnershipControlsCommand({
          Bucket: bucket,
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        }),
      ),
    );
  }

  async putEncryption(bucket: string): Promise<void> {
    // SSE-S3, not the parameters' KMS key: whoever can read the bucket must be able to read the bait.
    await awsCall('s3:PutEncryptionConfiguration', bucket, () =>
      this.client.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      ),
    );
  }

  async putVersioning(bucket: string): Promise<void> {
    await awsCall('s3:PutBucketVersioning', bucket, () =>
      this.client.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      ),
    );
  }

  async putLifecycle(bucket: string, rules: readonly LifecycleRule[]): Promise<void> {
    await awsCall('s3:PutLifecycleConfiguration', bucket, () =>
      this.client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: [...rules] },
        }),
      ),
    );
  }

  async putTagging(bucket: string, tags: Tag[]): Promise<void> {
    await awsCall('s3:PutBucketTagging', bucket, () =>
      this.client.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: awsTags(tags) } })),
    );
  }

  async putPolicy(bucket: string, policy: string): Promise<void> {
    await awsCall('s3:PutBucketPolicy', bucket, () =>
      this.client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy })),
    );
  }

  async putObject(input: { bucket: string; key: string; body: string; contentType: string }): Promise<void> {
    await awsCall('s3:PutObject', `s3://${input.bucket}/${input.key}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: input.key,
          Body: input.body,
          ContentType: input.contentType,
          ServerSideEncryption: 'AES256',
        }),
      ),
    );
  }

  async listObjectVersions(bucket: string): Promise<ObjectVersion[]> {
    return tolerate('s3:ListBucketVersions', bucket, NO_BUCKET, [] as ObjectVersion[], async () => {
      const out: ObjectVersion[] = [];
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      for (;;) {
        const page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        );
        for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
          if (v.Key) out.push({ key: v.Key, versionId: v.VersionId ?? 'null' });
        }
        if (!page.IsTruncated) return out;
        keyMarker = page.NextKeyMarker;
        versionMarker = page.NextVersionIdMarker;
      }
    });
  }

  async deleteObjectVersions(bucket: string, versions: ObjectVersion[]): Promise<void> {
    for (let i = 0; i < versions.length; i += 1000) {
      const batch = versions.slice(i, i + 1000);
      const result = await awsCall('s3:DeleteObjectVersion', bucket, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Quiet: true, Objects: batch.map((v) => ({ Key: v.key, VersionId: v.versionId })) },
          }),
        ),
      );
      const errors = result.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new AwsCallError(
          's3:DeleteObjectVersion',
          `s3://${bucket}/${first?.Key}`,
          first?.Code ?? 'UnknownError',
          first?.Code === 'AccessDenied' ? 'denied' : 'other',
          `s3:DeleteObjectVersion failed for ${errors.length} of ${batch.length} versions in ${bucket}, ` +
            `first ${first?.Key} (${first?.VersionId}): ${first?.Code}: ${first?.Message}`,
        );
      }
    }
  }

  async deleteBucket(bucket: string): Promise<void> {
    await tolerate('s3:DeleteBucket', bucket, NO_BUCKET, undefined, async () => {
      await this.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    });
  }
}

export class AwsIam implements IamPort {
  constructor(private readonly client: IAMClient) {}

  private static user(name: string): string {
    return `user/${name}`;
  }

  async userExists(userName: string): Promise<boolean> {
    return tolerate('iam:GetUser', AwsIam.user(userName), NO_ENTITY, false, async () => {
      await this.client.send(new GetUserCommand({ UserName: userName }));
      return true;
    });
  }

  async createUser(input: {
    userName: string;
    tags: Tag[];
  }): Promise<{ result: CreateResult; userId?: string }> {
    return tolerate<{ result: CreateResult; userId?: string }>(
      'iam:CreateUser',
      AwsIam.user(input.userName),
      ENTITY_EXISTS,
      { result: 'exists' },
      async () => {
        const { User } = await this.client.send(
          new CreateUserCommand({ UserName: input.userName, Path: '/', Tags: awsTags(input.tags) }),
        );
        return { result: 'created', userId: User?.UserId };
      },
    );
  }

  async putUserPolicy(userName: string, policyName: string, document: string): Promise<void> {
    await awsCall('iam:PutUserPolicy', AwsIam.user(userName), () =>
      this.client.send(
        new PutUserPolicyCommand({ UserName: userName, PolicyName: policyName, PolicyDocument: document }),
      ),
    );
  }

  async tagUser(userName: string, tags: Tag[]): Promise<void> {
    await awsCall('iam:TagUser', AwsIam.user(userName), () =>
      this.client.send(new TagUserCommand({ UserName: userName, Tags: awsTags(tags) })),
    );
  }

  async createAccessKey(userName: string): Promise<AccessKey> {
    const { AccessKey: key } = await awsCall('iam:CreateAccessKey', AwsIam.user(userName), () =>
      this.client.send(new CreateAccessKeyCommand({ UserName: userName })),
    );
    if (!key?.AccessKeyId || !key.SecretAccessKey)
      throw new Error(`iam:CreateAccessKey on ${AwsIam.user(userName)} returned no key`);
    return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  }

  async listAccessKeys(userName: string): Promise<{ accessKeyId: string; status: string }[]> {
    return tolerate('iam:ListAccessKeys', AwsIam.user(userName), NO_ENTITY, [], async () => {
      const { AccessKeyMetadata } = await this.client.send(new ListAccessKeysCommand({ UserName: userName }));
      return (AccessKeyMetadata ?? []).flatMap((k) =>
        k.AccessKeyId ? [{ accessKeyId: k.AccessKeyId, status: k.Status ?? 'Active' }] : [],
      );
    });
  }

  async deleteAccessKey(userName: string, accessKeyId: string): Promise<void> {
    await tolerate(
      'iam:DeleteAccessKey',
      `${AwsIam.user(userName)} key ${accessKeyId}`,
      NO_ENTITY,
      undefined,
      async () => {
        await this.client.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
      },
    );
  }

  async listUserPolicies(userName: string): Promise<string[]> {
    return tolerate('iam:ListUserPolicies', AwsIam.user(userName), NO_ENTITY, [] as string[], async () => {
      const { PolicyNames } = await this.client.send(new ListUserPoliciesCommand({ UserName: userName }));
      return PolicyNames ?? [];
    });
  }

  async deleteUserPolicy(userName: string, policyName: string): Promise<void> {
    await tolerate('iam:DeleteUserPolicy', AwsIam.user(userName), NO_ENTITY, undefined, async () => {
      await this.client.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: policyName }));
    });
  }

  async listAttachedUserPolicies(userName: string): Promise<string[]> {
    return tolerate(
      'iam:ListAttachedUserPolicies',
      AwsIam.user(userName),
      NO_ENTITY,
      [] as string[],
      async () => {
        const { AttachedPolicies } = await this.client.send(
          new ListAttachedUserPoliciesCommand({ UserName: userName }),
        );
        return (AttachedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []));
      },
    );
  }

  async detachUserPolicy(userName: string, policyArn: string): Promise<void> {
    await tolerate('iam:DetachUserPolicy', AwsIam.user(userName), NO_ENTITY, undefined, async () => {
      await this.client.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: policyArn }));
    });
  }

  async deleteLoginProfile(userName: string): Promise<void> {
    await tolerate('iam:DeleteLoginProfile', AwsIam.user(userName), NO_ENTITY, undefined, async () => {
      await this.client.send(new DeleteLoginProfileCommand({ UserName: userName }));
    });
  }

  async deleteUser(userName: string): Promise<void> {
    await tolerate('iam:DeleteUser', AwsIam.user(userName), NO_ENTITY, undefined, async () => {
      await this.client.send(new DeleteUserCommand({ UserName: userName }));
    });
  }
}

/** CloudTrail in the trail's home region (from its ARN), where its selectors can be read. */
export class AwsTrail implements TrailPort {
  private readonly clients = new Map<string, CloudTrailClient>();

  constructor(private readonly makeClient: (region: string) => CloudTrailClient = defaultTrailClient) {}

  private client(trailArn: string): CloudTrailClient {
    const region = trailArn.split(':')[3];
    if (!region)
      throw new Error(`${trailArn} is not a trail ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)`);
    let client = this.clients.get(region);
    if (!client) {
      client = this.makeClient(region);
      this.clients.set(region, client);
    }
    return client;
  }

  async getEventSelectors(trailArn: string): Promise<EventSelectorsResponse> {
    return awsCall('cloudtrail:GetEventSelectors', trailArn, () =>
      this.client(trailArn).send(new GetEventSelectorsCommand({ TrailName: trailArn })),
    );
  }

  async getTrailStatus(trailArn: string): Promise<{ isLogging: boolean }> {
    const status = await awsCall('cloudtrail:GetTrailStatus', trailArn, () =>
      this.client(trailArn).send(new GetTrailStatusCommand({ Name: trailArn })),
    );
    return { isLogging: status.IsLogging === true };
  }

  async putEventSelectors(trailArn: string, selectors: AdvancedEventSelector[]): Promise<void> {
    await awsCall('cloudtrail:PutEventSelectors', trailArn, () =>
      this.client(trailArn).send(
        new PutEventSelectorsCommand({ TrailName: trailArn, AdvancedEventSelectors: selectors }),
      ),
    );
  }
}

/** Names only, every page up to the cap. */
async function pages(
  limit: number,
  read: (token: string | undefined) => Promise<{ names: string[]; next?: string | undefined }>,
): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await read(token);
    names.push(...page.names);
    token = page.next;
  } while (token && names.length < limit);
  return names.slice(0, limit);
}

/** What the account already holds, for naming (inventory.ts). */
export class AwsInventory implements InventoryPort {
  constructor(
    private readonly clients: {
      ssm: SSMClient;
      s3: S3Client;
      iam: IAMClient;
      secrets: SecretsManagerClient;
      kms: KMSClient;
    },
  ) {}

  listParameterNames(limit: number): Promise<string[]> {
    return awsCall('ssm:DescribeParameters', 'parameters', () =>
      pages(limit, async (token) => {
        const page = await this.clients.ssm.send(
          new DescribeParametersCommand({ NextToken: token, MaxResults: 50 }),
        );
        return {
          names: (page.Parameters ?? []).flatMap((p) => (p.Name ? [p.Name] : [])),
          next: page.NextToken,
        };
      }),
    );
  }

  listBucketNames(): Promise<string[]> {
    return awsCall('s3:ListBuckets', 'buckets', () =>
      pages(10_000, async (token) => {
        const page = await this.clients.s3.send(
          new ListBucketsCommand({ ContinuationToken: token, MaxBuckets: 1000 }),
        );
        return {
          names: (page.Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : [])),
          next: page.ContinuationToken,
        };
      }),
    );
  }

  listUserNames(limit: number): Promise<string[]> {
    return awsCall('iam:ListUsers', 'users', () =>
      pages(limit, async (token) => {
        const page = await this.clients.iam.send(new ListUsersCommand({ Marker: token }));
        return {
          names: (page.Users ?? []).flatMap((u) => (u.UserName ? [u.UserName] : [])),
          next: page.Marker,
        };
      }),
    );
  }

  listSecretNames(limit: number): Promise<string[]> {
    return awsCall('secretsmanager:ListSecrets', 'secrets', () =>
      pages(limit, async (token) => {
        const page = await this.clients.secrets.send(
          new ListSecretsCommand({ NextToken: token, MaxResults: 100 }),
        );
        return {
          names: (page.SecretList ?? []).flatMap((s) => (s.Name ? [s.Name] : [])),
          next: page.NextToken,
        };
      }),
    );
  }

  listAliasNames(limit: number): Promise<string[]> {
    return awsCall('kms:ListAliases', 'aliases', () =>
      pages(limit, async (token) => {
        const page = await this.clients.kms.send(new ListAliasesCommand({ Marker: token, Limit: 100 }));
        return {
          names: (page.Aliases ?? []).flatMap((a) => (a.AliasName ? [a.AliasName] : [])),
          next: page.NextMarker,
        };
      }),
    );
  }
}

export class AwsKms implements KmsPort {
  constructor(private readonly client: KMSClient) {}

  async createAlias(aliasName: string, targetKeyId: string): Promise<CreateResult> {
    return tolerate<CreateResult>(
      'kms:CreateAlias',
      aliasName,
      ['AlreadyExistsException'],
      'exists',
      async () => {
        await this.client.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
        return 'created';
      },
    );
  }

  async aliasTarget(aliasName: string): Promise<string | undefined> {
    return awsCall('kms:ListAliases', aliasName, async () => {
      let marker: string | undefined;
      do {
        const page = await this.client.send(new ListAliasesCommand({ Marker: marker, Limit: 100 }));
        const found = (page.Aliases ?? []).find((a) => a.AliasName === aliasName);
        if (found) return found.TargetKeyId ?? '';
        marker = page.NextMarker;
      } while (marker);
      return undefined;
    });
  }

  async deleteAlias(aliasName: string): Promise<void> {
    await tolerate('kms:DeleteAlias', aliasName, ['NotFoundException'], undefined, async () => {
      await this.client.send(new DeleteAliasCommand({ AliasName: aliasName }));
    });
  }
}

function defaultTrailClient(region: string): CloudTrailClient {
  return new CloudTrailClient({ region, ...SDK_RETRY });
}

export interface AwsPorts {
  ssm: SsmPort;
  s3: S3Port;
  iam: IamPort;
  trail: TrailPort;
  inventory: InventoryPort;
  kms: KmsPort;
  secrets: SecretsPort;
}

/** Static credentials (a member role's session), in the SDK's shape. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * The ports with clients configured for retries, in the function's region; with
 * `credentials`, as that session (a member account's role) instead of the function's.
 */
export function awsPorts(region: string, credentials?: SessionCredentials): AwsPorts {
  const options = { region, ...SDK_RETRY, ...(credentials ? { credentials } : {}) };
  const ssm = new SSMClient(options);
  const s3 = new S3Client(options);
  const iam = new IAMClient(options);
  const kms = new KMSClient(options);
  const secrets = new SecretsManagerClient(options);
  return {
    ssm: new AwsSsm(ssm),
    s3: new AwsS3(s3),
    iam: new AwsIam(iam),
    trail: new AwsTrail(),
    inventory: new AwsInventory({ ssm, s3, iam, secrets, kms }),
    secrets: new AwsSecrets(secrets),
    kms: new AwsKms(kms),
  };
}
