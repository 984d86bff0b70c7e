/**
 * The API names detection cares about, in one place: the rule builder lists them in
 * patterns (broad style) and the classifier sorts records with them. CloudTrail
 * `eventName` values, checked against the services' API references and real records
 * in test/data/cloudtrail.
 */

export const CLOUDTRAIL_DETAIL_TYPES = ['AWS API Call via CloudTrail', 'AWS Console Sign In via CloudTrail'];

/** Reads of a parameter's value or history. */
export const PARAMETER_READS = ['GetParameter', 'GetParameters', 'GetParameterHistory'];
/** Reads of every parameter below a path: a decoy is in the answer when it sits under the path. */
export const PARAMETER_PATH_READS = ['GetParametersByPath'];
/**
 * Metadata reads: a decoy is looked up when a filter names it (ParameterFilters or the
 * older Filters, key `Name`). Listing without a name filter is what inventory does.
 */
export const PARAMETER_LOOKUPS = ['DescribeParameters'];
/** Changes to a parameter: only the planter may make them. */
export const PARAMETER_WRITES = [
  'PutParameter',
  'DeleteParameter',
  'DeleteParameters',
  'LabelParameterVersion',
  'UnlabelParameterVersion',
  'AddTagsToResource',
  'RemoveTagsFromResource',
];

/**
 * KMS calls SSM makes to store a SecureString value (Encrypt for standard parameters,
 * GenerateDataKey for advanced ones), with the parameter's ARN in the encryption context:
 * made on behalf of whoever writes the parameter, so a write to it.
 */
export const PARAMETER_ENCRYPTIONS = ['Encrypt', 'GenerateDataKey'];
/** KMS calls that change or retire the parameters' key. */
export const KEY_WRITES = [
  'ScheduleKeyDeletion',
  'DisableKey',
  'PutKeyPolicy',
  'DeleteAlias',
  'UpdateAlias',
  'CreateGrant',
];

/** Object-level S3 calls (data events): every one of them on the bait bucket is a touch. */
export const OBJECT_CALLS = [
  'GetObject',
  'HeadObject',
  'CopyObject',
  'PutObject',
  'DeleteObject',
  'DeleteObjects',
  'GetObjectAcl',
  'GetObjectAttributes',
  'GetObjectTagging',
  'RestoreObject',
  'SelectObjectContent',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
];
/** Listing the bucket's keys: the first thing a reader of a stolen bucket name does. */
export const BUCKET_LISTINGS = [
  'ListObjects',
  'ListObjectsV2',
  'ListObjectVersions',
  'ListBucket',
  'ListBucketVersions',
  'ListMultipartUploads',
];
/** Bucket-level reads: also what scanners do to every bucket, so a lower severity. */
export const BUCKET_READS = [
  'GetBucketPolicy',
  'GetBucketAcl',
  'GetBucketLocation',
  'GetBucketVersioning',
  'GetBucketEncryption',
  'GetBucketTagging',
  'GetBucketPublicAccessBlock',
  'GetBucketOwnershipControls',
  'GetBucketLogging',
  'GetBucketPolicyStatus',
  'GetBucketLifecycle',
  'GetBucketReplication',
  'GetBucketCors',
  'GetBucketWebsite',
  'GetBucketNotification',
  'HeadBucket',
];
/** Bucket-level changes: only the planter may make them. */
export const BUCKET_WRITES = [
  'DeleteBucket',
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketAcl',
  'PutBucketVersioning',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'PutBucketTagging',
  'DeleteBucketTagging',
  'PutBucketPublicAccessBlock',
  'DeleteBucketPublicAccessBlock',
  'PutBucketOwnershipControls',
  'PutBucketLogging',
  'PutBucketLifecycle',
  'PutBucketReplication',
  'PutBucketNotification',
];

/** IAM calls on a user that change it (or its keys, policies, groups). Reads are the rest. */
export const USER_WRITE_PREFIXES = [
  'Create',
  'Delete',
  'Update',
  'Put',
  'Attach',
  'Detach',
  'Add',
  'Remove',
  'Tag',
  'Untag',
  'Enable',
  'Deactivate',
  'Resync',
  'Upload',
  'Change',
];

/** Calls that stop, remove or narrow what the trail records. */
export const TRAIL_TAMPERING = [
  'StopLogging',
  'DeleteTrail',
  'UpdateTrail',
  'PutEventSelectors',
  'PutAdvancedEventSelectors',
];

/** Calls that remove, disable or re-point the routing rules or the central bus. */
export const RULE_TAMPERING = [
  'DeleteRule',
  'DisableRule',
  'RemoveTargets',
  'PutRule',
  'PutTargets',
  'DeleteEventBus',
];

/** CloudFormation deploying the stack itself (userIdentity.invokedBy): the deployer, not an attacker. */
export const CLOUDFORMATION_SERVICE = 'cloudformation.amazonaws.com';

/** Reads of a secret's value. BatchGetSecretValue also logs one GetSecretValue per secret it returns. */
export const SECRET_READS = ['GetSecretValue', 'BatchGetSecretValue'];
/**
 * Reads of a secret's metadata (no value): DescribeSecret shows its key, rotation,
 * tags and versions. Recon aimed at one secret, but also what inventory tools do.
 */
export const SECRET_DESCRIBES = ['DescribeSecret', 'ListSecretVersionIds', 'GetResourcePolicy'];
/** Changes to a secret: only the planter may make them. */
export const SECRET_WRITES = [
  'PutSecretValue',
  'UpdateSecret',
  'DeleteSecret',
  'RestoreSecret',
  'PutResourcePolicy',
  'DeleteResourcePolicy',
  'RotateSecret',
  'CancelRotateSecret',
  'UpdateSecretVersionStage',
  'TagResource',
  'UntagResource',
  'ReplicateSecretToRegions',
  'RemoveRegionsFromReplication',
  'StopReplicationToReplica',
];
