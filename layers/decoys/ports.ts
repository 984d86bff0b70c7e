/**
 * The planter's view of AWS: one method per AWS call, so a test can fail any one
 * of them and the AWS adapters (aws-ports.ts) stay thin. "Missing" on a delete is
 * success; "already exists" on a create is a result, not an error; everything else
 * throws an error naming the call and the resource.
 */

export interface Tag {
  key: string;
  value: string;
}

export type CreateResult = 'created' | 'exists';

export interface SecureStringInput {
  name: string;
  value: string;
  /** Key id, ARN or alias of the customer-managed key. */
  keyId: string;
  description: string;
}

export interface SsmPort {
  /** PutParameter without Overwrite, with tags; `exists` when the name is taken. */
  createSecureString(input: SecureStringInput & { tags: Tag[] }): Promise<CreateResult>;
  /**
   * PutParameter with Overwrite (SSM refuses tags together with Overwrite). Returns
   * the parameter's new version (PutParameter's `Version`), which the state file
   * quotes and the registry keeps.
   */
  overwriteSecureString(input: SecureStringInput): Promise<number>;
  /**
   * AddTagsToResource: sets these tags on an existing parameter (a key it already
   * has is overwritten), so a plant re-asserts the tags of earlier deployments.
   */
  addTags(name: string, tags: Tag[]): Promise<void>;
  /** DeleteParameter; a missing parameter is success. */
  deleteParameter(name: string): Promise<void>;
  /** GetParameter without decryption: does the name exist? */
  parameterExists(name: string): Promise<boolean>;
}

/** HeadBucket: 404 missing, 200 in this account, 403 another account's. */
export type BucketState = 'missing' | 'owned' | 'foreign';

export interface ObjectVersion {
  key: string;
  versionId: string;
}

/** An S3 lifecycle rule, in PutBucketLifecycleConfiguration's shape (the fields the planter sets). */
export interface LifecycleRule {
  ID: string;
  Status: 'Enabled';
  Filter: { Prefix: string };
  Expiration?: { Days: number } | { ExpiredObjectDeleteMarker: true };
  NoncurrentVersionExpiration?: { NoncurrentDays: number };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
}

export interface S3Port {
  headBucket(bucket: string): Promise<BucketState>;
  /** CreateBucket in `region`; `exists` when this account already owns it. */
  createBucket(bucket: string, region: string): Promise<CreateResult>;
  putPublicAccessBlock(bucket: string): Promise<void>;
  putOwnershipControls(bucket: string): Promise<void>;
  putEncryption(bucket: string): Promise<void>;
  putVersioning(bucket: string): Promise<void>;
  /** The bucket's whole lifecycle configuration (content.ts bucketLifecycleRules). */
  putLifecycle(bucket: string, rules: readonly LifecycleRule[]): Promise<void>;
  putTagging(bucket: string, tags: Tag[]): Promise<void>;
  putPolicy(bucket: string, policy: string): Promise<void>;
  putObject(input: { bucket: string; key: string; body: string; contentType: string }): Promise<void>;
  /** Every version and delete marker (all pages); a missing bucket has none. */
  listObjectVersions(bucket: string): Promise<ObjectVersion[]>;
  deleteObjectVersions(bucket: string, versions: ObjectVersion[]): Promise<void>;
  /** DeleteBucket; a missing bucket is success. */
  deleteBucket(bucket: string): Promise<void>;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface IamPort {
  /** GetUser: does the name exist? */
  userExists(userName: string): Promise<boolean>;
  /** CreateUser at path `/`; `exists` when the name is taken. `userId`: IAM's unique id (AIDA...). */
  createUser(input: { userName: string; tags: Tag[] }): Promise<{ result: CreateResult; userId?: string }>;
  putUserPolicy(userName: string, policyName: string, document: string): Promise<void>;
  /** TagUser: sets these tags (a key the user already has is overwritten). */
  tagUser(userName: string, tags: Tag[]): Promise<void>;
  createAccessKey(userName: string): Promise<AccessKey>;
  /** A missing user has no keys. */
  listAccessKeys(userName: string): Promise<{ accessKeyId: string; status: string }[]>;
  deleteAccessKey(userName: string, accessKeyId: string): Promise<void>;
  listUserPolicies(userName: string): Promise<string[]>;
  deleteUserPolicy(userName: string, policyName: string): Promise<void>;
  listAttachedUserPolicies(userName: string): Promise<string[]>;
  detachUserPolicy(userName: string, policyArn: string): Promise<void>;
  deleteLoginProfile(userName: string): Promise<void>;
  deleteUser(userName: string): Promise<void>;
}

/**
 * Read-only listings of what the account already holds (names only), so the
 * planter can name decoys after the account's own conventions (inventory.ts).
 * Each reads every page up to `limit` names.
 */
export interface InventoryPort {
  /** ssm:DescribeParameters: names only, never values. */
  listParameterNames(limit: number): Promise<string[]>;
  /** s3:ListBuckets. */
  listBucketNames(): Promise<string[]>;
  /** iam:ListUsers. */
  listUserNames(limit: number): Promise<string[]>;
  /** secretsmanager:ListSecrets: names only. */
  listSecretNames?(limit: number): Promise<string[]>;
  /** kms:ListAliases. */
  listAliasNames?(limit: number): Promise<string[]>;
}

/** The parameters key's alias, chosen at plant time (the template carries none). */
export interface KmsPort {
  /** CreateAlias; `exists` when the alias name is taken (by any key). */
  createAlias(aliasName: string, targetKeyId: string): Promise<CreateResult>;
  /** The key an alias points at (ListAliases), undefined when the alias does not exist. */
  aliasTarget(aliasName: string): Promise<string | undefined>;
  /** DeleteAlias; a missing alias is success. */
  deleteAlias(aliasName: string): Promise<void>;
}

// RegistryPort and RegistryConflictError live with the record they store (registry.ts).

/** The CloudTrail responses the trail check reads (SDK shapes, trimmed). */
export interface FieldSelector {
  Field: string | undefined;
  Equals?: string[] | undefined;
  StartsWith?: string[] | undefined;
  EndsWith?: string[] | undefined;
  NotEquals?: string[] | undefined;
  NotStartsWith?: string[] | undefined;
  NotEndsWith?: string[] | undefined;
}

export interface EventSelectorsResponse {
  EventSelectors?:
    | {
        ReadWriteType?: string | undefined;
        IncludeManagementEvents?: boolean | undefined;
        DataResources?: { Type?: string | undefined; Values?: string[] | undefined }[] | undefined;
        ExcludeManagementEventSources?: string[] | undefined;
      }[]
    | undefined;
  AdvancedEventSelectors?:
    | { Name?: string | undefined; FieldSelectors: FieldSelector[] | undefined }[]
    | undefined;
}

/** An advanced event selector as CloudTrail's PutEventSelectors takes it (SDK shape). */
export interface AdvancedEventSelector {
  Name?: string | undefined;
  FieldSelectors: FieldSelector[] | undefined;
}

export interface TrailPort {
  getEventSelectors(trailArn: string): Promise<EventSelectorsResponse>;
  getTrailStatus(trailArn: string): Promise<{ isLogging: boolean }>;
  /** PutEventSelectors with advanced selectors (replaces the trail's selectors). */
  putEventSelectors?(trailArn: string, selectors: AdvancedEventSelector[]): Promise<void>;
}

export type Clock = () => Date;

/** Uniform integers in [0, max) (random.ts). */
export type { RandomSource } from './random';

/** Shaped so Powertools' Logger fits it. */
export interface PlanterLog {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}
