import type {
  AccessKey,
  BucketState,
  CreateResult,
  IamPort,
  InventoryPort,
  KmsPort,
  LifecycleRule,
  ObjectVersion,
  S3Port,
  SecureStringInput,
  SsmPort,
  Tag,
} from './ports';

import { ALNUM, DIGITS, randomString, seededRandom, UPPER } from './random';
import { RegistryConflictError, type RegistryPort, type RegistryRecord } from './registry';
import { memorySecrets, type SecretsPort, type StoredSecret } from './secrets';

/**
 * An in-memory account behind the planter's ports: AWS's rules that matter to the
 * planter (two access keys per user, DeleteUser conflicts, conditional registry
 * writes) and a log of every call, any one of which can be made to fail. The tests
 * use it; nothing here talks to AWS.
 */

export interface Call {
  /** AWS style: "iam:CreateAccessKey", "registry:PutItem". */
  action: string;
  args: unknown[];
}

export interface StoredParameter {
  value: string;
  keyId: string;
  description: string;
  tags: Tag[];
  version: number;
}

export interface StoredVersion {
  versionId: string;
  /** When it was written, by the account's clock. */
  writtenAt: Date;
  body?: string;
  contentType?: string;
}

export interface StoredBucket {
  region: string;
  publicAccessBlock: boolean;
  ownership?: string;
  encryption?: string;
  versioning: boolean;
  lifecycle?: LifecycleRule[];
  tags: Tag[];
  policy?: string;
  objects: Map<string, StoredVersion[]>;
}

export interface StoredUser {
  userId: string;
  tags: Tag[];
  policies: Map<string, string>;
  attached: Set<string>;
  keys: Map<string, { secretAccessKey: string; status: 'Active' | 'Inactive' }>;
  loginProfile: boolean;
}

/** AddTagsToResource and TagUser: a key already present takes the new value. */
function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  return [...current.filter((t) => !added.some((a) => a.key === t.key)), ...added];
}

export class AwsLikeError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class MemoryAccount {
  readonly calls: Call[] = [];
  readonly parameters = new Map<string, StoredParameter>();
  readonly buckets = new Map<string, StoredBucket>();
  /** Bucket names taken by other accounts (HeadBucket 403). */
  readonly foreignBuckets = new Set<string>();
  readonly users = new Map<string, StoredUser>();
  /** KMS aliases: name → target key id. */
  readonly aliases = new Map<string, string>();
  /** Secret names (Secrets Manager), listed by the inventory; the planter's secrets join them. */
  readonly secretNames: string[] = [];
  /** Secrets the planter created (secrets.ts), by name. */
  readonly storedSecrets = new Map<string, StoredSecret>();
  registryItem: RegistryRecord | undefined;
  /** The account's time: object write times, and what applyLifecycle compares them with. */
  clock: () => Date = () => new Date();

  /** Decides whether the call about to run fails, and with what. */
  failure: ((call: Call, index: number) => Error | undefined) | undefined;

  private readonly random = seededRandom('memory-account');
  private versionCounter = 0;

  /** Fails exactly the call with this index (0-based, counted over all calls from now on). */
  failCall(index: number, error: Error = new AwsLikeError('InternalFailure', 'injected failure')): void {
    const start = this.calls.length;
    this.failure = (_call, i) => (i === start + index ? error : undefined);
  }

  heal(): void {
    this.failure = undefined;
  }

  private async call<T>(action: string, args: unknown[], effect: () => T): Promise<T> {
    const call = { action, args: structuredClone(args) };
    const index = this.calls.length;
    this.calls.push(call);
    const error = this.failure?.(call, index);
    if (error) throw error;
    return effect();
  }

  readonly ssm: SsmPort = {
    createSecureString: (input: SecureStringInput & { tags: Tag[] }) =>
      this.call('ssm:PutParameter', [input], (): CreateResult => {
        if (this.parameters.has(input.name)) return 'exists';
        this.parameters.set(input.name, { ...input, tags: [...input.tags], version: 1 });
        return 'created';
      }),
    overwriteSecureString: (input: SecureStringInput) =>
      this.call('ssm:PutParameter', [{ ...input, overwrite: true }], () => {
        const existing = this.parameters.get(input.name);
        const version = (existing?.version ?? 0) + 1;
        this.parameters.set(input.name, { ...input, tags: existing?.tags ?? [], version });
        return version;
      }),
    addTags: (name: string, tags: Tag[]) =>
      this.call('ssm:AddTagsToResource', [name, tags], () => {
        const parameter = this.parameters.get(name);
        if (!parameter) throw new AwsLikeError('InvalidResourceId', `no parameter ${name}`);
        parameter.tags = mergeTags(parameter.tags, tags);
      }),
    deleteParameter: (name: string) =>
      this.call('ssm:DeleteParameter', [name], () => {
        this.parameters.delete(name);
      }),
    parameterExists: (name: string) => this.call('ssm:GetParameter', [name], () => this.parameters.has(name)),
  };

  private bucket(name: string): StoredBucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new AwsLikeError('NoSuchBucket', `The specified bucket does not exist: ${name}`);
    return bucket;
  }

  readonly s3: S3Port = {
    headBucket: (bucket) =>
      this.call('s3:HeadBucket', [bucket], (): BucketState => {
        if (this.foreignBuckets.has(bucket)) return 'foreign';
        return this.buckets.has(bucket) ? 'owned' : 'missing';
      }),
    createBucket: (bucket, region) =>
      this.call('s3:CreateBucket', [bucket, region], (): CreateResult => {
        if (this.foreignBuckets.has(bucket)) throw new AwsLikeError('BucketAlreadyExists', bucket);
        if (this.buckets.has(bucket)) return 'exists';
        this.buckets.set(bucket, {
          region,
          publicAccessBlock: false,
          versioning: false,
          tags: [],
          objects: new Map(),
        });
        return 'created';
      }),
    putPublicAccessBlock: (bucket) =>
      this.call('s3:PutPublicAccessBlock', [bucket], () => {
        this.bucket(bucket).publicAccessBlock = true;
      }),
    putOwnershipControls: (bucket) =>
      this.call('s3:PutBucketOwnershipControls', [bucket, 'BucketOwnerEnforced'], () => {
        this.bucket(bucket).ownership = 'BucketOwnerEnforced';
      }),
    putEncryption: (bucket) =>
      this.call('s3:PutBucketEncryption', [bucket, 'AES256'], () => {
        this.bucket(bucket).encryption = 'AES256';
      }),
    putVersioning: (bucket) =>
      this.call('s3:PutBucketVersioning', [bucket, 'Enabled'], () => {
        this.bucket(bucket).versioning = true;
      }),
    putLifecycle: (bucket, rules) =>
      this.call('s3:PutLifecycleConfiguration', [bucket, rules], () => {
        this.bucket(bucket).lifecycle = [...rules];
      }),
    putTagging: (bucket, tags) =>
      this.call('s3:PutBucketTagging', [bucket, tags], () => {
        this.bucket(bucket).tags = [...tags];
      }),
    putPolicy: (bucket, policy) =>
      this.call('s3:PutBucketPolicy', [bucket, policy], () => {
        this.bucket(bucket).policy = policy;
      }),
    putObject: (input) =>
      this.call('s3:PutObject', [input], () => {
        const bucket = this.bucket(input.bucket);
        const versions = bucket.objects.get(input.key) ?? [];
        versions.push({
          versionId: this.nextVersionId(),
          writtenAt: this.clock(),
          body: input.body,
          contentType: input.contentType,
        });
        bucket.objects.set(input.key, versions);
      }),
    listObjectVersions: (bucketName) =>
      this.call('s3:ListObjectVersions', [bucketName], (): ObjectVersion[] => {
        const bucket = this.buckets.get(bucketName);
        if (!bucket) return [];
        return [...bucket.objects.entries()].flatMap(([key, versions]) =>
          versions.map((v) => ({ key, versionId: v.versionId })),
        );
      }),
    deleteObjectVersions: (bucketName, versions) =>
      this.call('s3:DeleteObjects', [bucketName, versions], () => {
        const bucket = this.bucket(bucketName);
        for (const { key, versionId } of versions) {
          const left = (bucket.objects.get(key) ?? []).filter((v) => v.versionId !== versionId);
          if (left.length > 0) bucket.objects.set(key, left);
          else bucket.objects.delete(key);
        }
      }),
    deleteBucket: (bucketName) =>
      this.call('s3:DeleteBucket', [bucketName], () => {
        const bucket = this.buckets.get(bucketName);
        if (!bucket) return;
        if (bucket.objects.size > 0)
          throw new AwsLikeError('BucketNotEmpty', 'The bucket you tried to delete is not empty');
        this.buckets.delete(bucketName);
      }),
  };

  /**
   * What S3's lifecycle does by `now` to the current objects: an object under a rule's
   * prefix with `Expiration.Days` is gone once that many days passed since its last
   * write (S3 rounds to the next midnight UTC; whole days are enough here).
   */
  applyLifecycle(now: Date): void {
    for (const bucket of this.buckets.values()) {
      for (const rule of bucket.lifecycle ?? []) {
        if (!rule.Expiration || !('Days' in rule.Expiration)) continue;
        const cutoff = now.getTime() - rule.Expiration.Days * 86_400_000;
        for (const [key, versions] of bucket.objects) {
          const last = versions.at(-1);
          if (key.startsWith(rule.Filter.Prefix) && last && last.writtenAt.getTime() <= cutoff)
            bucket.objects.delete(key);
        }
      }
    }
  }

  private nextVersionId(): string {
    this.versionCounter++;
    return `${randomString(this.random, 24, UPPER + DIGITS)}${this.versionCounter}`;
  }

  private user(name: string): StoredUser {
    const user = this.users.get(name);
    if (!user) throw new AwsLikeError('NoSuchEntity', `The user with name ${name} cannot be found.`);
    return user;
  }

  readonly iam: IamPort = {
    userExists: (userName) => this.call('iam:GetUser', [userName], () => this.users.has(userName)),
    createUser: ({ userName, tags }) =>
      this.call('iam:CreateUser', [{ userName, path: '/', tags }], () => {
        if (this.users.has(userName)) return { result: 'exists' as const };
        const userId = `AIDA${randomString(this.random, 17, UPPER + DIGITS)}`;
        this.users.set(userName, {
          userId,
          tags: [...tags],
          policies: new Map(),
          attached: new Set(),
          keys: new Map(),
          loginProfile: false,
        });
        return { result: 'created' as const, userId };
      }),
    putUserPolicy: (userName, policyName, document) =>
      this.call('iam:PutUserPolicy', [userName, policyName, document], () => {
        this.user(userName).policies.set(policyName, document);
      }),
    tagUser: (userName, tags) =>
      this.call('iam:TagUser', [userName, tags], () => {
        const user = this.user(userName);
        user.tags = mergeTags(user.tags, tags);
      }),
    createAccessKey: (userName) =>
      this.call('iam:CreateAccessKey', [userName], (): AccessKey => {
        const user = this.user(userName);
        if (user.keys.size >= 2)
          throw new AwsLikeError('LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');
        const key = {
          accessKeyId: `AKIA${randomString(this.random, 16, UPPER + DIGITS)}`,
          secretAccessKey: randomString(this.random, 40, `${ALNUM}+/`),
        };
        user.keys.set(key.accessKeyId, { secretAccessKey: key.secretAccessKey, status: 'Active' });
        return key;
      }),
    listAccessKeys: (userName) =>
      this.call('iam:ListAccessKeys', [userName], () => {
        const user = this.users.get(userName);
        return user
          ? [...user.keys.entries()].map(([accessKeyId, k]) => ({ accessKeyId, status: k.status }))
          : [];
      }),
    deleteAccessKey: (userName, accessKeyId) =>
      this.call('iam:DeleteAccessKey', [userName, accessKeyId], () => {
        this.users.get(userName)?.keys.delete(accessKeyId);
      }),
    listUserPolicies: (userName) =>
      this.call('iam:ListUserPolicies', [userName], () => [
        ...(this.users.get(userName)?.policies.keys() ?? []),
      ]),
    deleteUserPolicy: (userName, policyName) =>
      this.call('iam:DeleteUserPolicy', [userName, policyName], () => {
        this.users.get(userName)?.policies.delete(policyName);
      }),
    listAttachedUserPolicies: (userName) =>
      this.call('iam:ListAttachedUserPolicies', [userName], () => [
        ...(this.users.get(userName)?.attached ?? []),
      ]),
    detachUserPolicy: (userName, policyArn) =>
      this.call('iam:DetachUserPolicy', [userName, policyArn], () => {
        this.users.get(userName)?.attached.delete(policyArn);
      }),
    deleteLoginProfile: (userName) =>
      this.call('iam:DeleteLoginProfile', [userName], () => {
        const user = this.users.get(userName);
        if (user) user.loginProfile = false;
      }),
    deleteUser: (userName) =>
      this.call('iam:DeleteUser', [userName], () => {
        const user = this.users.get(userName);
        if (!user) return;
        if (user.keys.size || user.policies.size || user.attached.size || user.loginProfile)
          throw new AwsLikeError('DeleteConflict', 'Cannot delete entity, must delete access keys first.');
        this.users.delete(userName);
      }),
  };

  readonly inventory: InventoryPort = {
    listParameterNames: (limit) =>
      this.call('ssm:DescribeParameters', [], () => [...this.parameters.keys()].slice(0, limit)),
    listBucketNames: () => this.call('s3:ListBuckets', [], () => [...this.buckets.keys()]),
    listUserNames: (limit) => this.call('iam:ListUsers', [], () => [...this.users.keys()].slice(0, limit)),
    listSecretNames: (limit) =>
      this.call('secretsmanager:ListSecrets', [], () => this.secretNames.slice(0, limit)),
    listAliasNames: (limit) =>
      this.call('kms:ListAliases', [], () => [...this.aliases.keys()].slice(0, limit)),
  };

  readonly secrets: SecretsPort = memorySecrets(
    this.storedSecrets,
    this.secretNames,
    (action, args, effect) => this.call(action, args, effect),
  );

  readonly kms: KmsPort = {
    createAlias: (aliasName, targetKeyId) =>
      this.call('kms:CreateAlias', [aliasName, targetKeyId], (): CreateResult => {
        if (this.aliases.has(aliasName)) return 'exists';
        this.aliases.set(aliasName, targetKeyId);
        return 'created';
      }),
    aliasTarget: (aliasName) => this.call('kms:ListAliases', [aliasName], () => this.aliases.get(aliasName)),
    deleteAlias: (aliasName) =>
      this.call('kms:DeleteAlias', [aliasName], () => {
        this.aliases.delete(aliasName);
      }),
  };

  readonly registry: RegistryPort = {
    load: () =>
      this.call('registry:GetItem', [], () =>
        this.registryItem ? structuredClone(this.registryItem) : undefined,
      ),
    save: (record) =>
      this.call('registry:PutItem', [record], () => {
        const stored = this.registryItem?.version ?? 0;
        if (stored !== record.version)
          throw new RegistryConflictError(`expected version ${record.version}, found ${stored}`);
        const next = { ...structuredClone(record), version: record.version + 1 };
        this.registryItem = structuredClone(next);
        return next;
      }),
    remove: () =>
      this.call('registry:DeleteItem', [], () => {
        this.registryItem = undefined;
      }),
  };

  /** Current body of an object (its latest version). */
  objectBody(bucket: string, key: string): string | undefined {
    return this.buckets.get(bucket)?.objects.get(key)?.at(-1)?.body;
  }

  /** Actions called, in order, for assertions. */
  actions(): string[] {
    return this.calls.map((c) => c.action);
  }
}
