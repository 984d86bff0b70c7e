import { beforeAll, describe, expect, it } from 'vitest';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import { IntrinsicResolver, type StackTemplate } from '../../layers/drill/template';
import { listOf, type PolicyDocument, stackTemplates, statementsOf } from './stack-templates';

/**
 * Every resource policy the app synthesizes must deploy. CloudFormation hands a
 * resource policy to the service, and the service rejects an action the resource
 * type does not take (a DynamoDB table policy with dynamodb:GetRecords fails with
 * "The following action names are invalid"; aws-cdk PR 36228). cfn-lint does not
 * check these policies, so this test does: each action (or wildcard) of each
 * statement, per resource type, against the lists below.
 */

interface AcceptedActions {
  /** The one service prefix the resource's policy takes. */
  service: string;
  actions: readonly string[];
  /** Where the list comes from. */
  source: string;
}

/**
 * The table APIs the DynamoDB page marks "Resource-based policy support: Yes",
 * as IAM actions (PartiQL statements authorize as PartiQL<Verb>; TransactWriteItems'
 * condition checks as ConditionCheckItem). Stream APIs are supported only in a
 * stream's own policy, never in the table's.
 */
const DYNAMODB_TABLE: AcceptedActions = {
  service: 'dynamodb',
  source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-iam-actions.html',
  actions: [
    // Data plane
    'DeleteItem',
    'GetItem',
    'PutItem',
    'Query',
    'Scan',
    'UpdateItem',
    'BatchGetItem',
    'BatchWriteItem',
    'ConditionCheckItem',
    // PartiQL (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html)
    'PartiQLSelect',
    'PartiQLInsert',
    'PartiQLUpdate',
    'PartiQLDelete',
    // Control plane
    'DeleteTable',
    'DescribeTable',
    'UpdateTable',
    // Global tables (2019.11.21)
    'DescribeTableReplicaAutoScaling',
    'UpdateTableReplicaAutoScaling',
    // Tags
    'ListTagsOfResource',
    'TagResource',
    'UntagResource',
    // Backup, PITR, Contributor Insights, export
    'CreateBackup',
    'DescribeContinuousBackups',
    'RestoreTableToPointInTime',
    'UpdateContinuousBackups',
    'DescribeContributorInsights',
    'UpdateContributorInsights',
    'ExportTableToPointInTime',
    // Kinesis Data Streams destinations
    'DescribeKinesisStreamingDestination',
    'DisableKinesisStreamingDestination',
    'EnableKinesisStreamingDestination',
    'UpdateKinesisStreamingDestination',
    // Resource-based policy, TTL
    'GetResourcePolicy',
    'PutResourcePolicy',
    'DeleteResourcePolicy',
    'DescribeTimeToLive',
    'UpdateTimeToLive',
  ],
};

/** Same page, "DynamoDB Streams API operations": what a stream's own policy takes. */
const DYNAMODB_STREAM: AcceptedActions = {
  service: 'dynamodb',
  source:
    'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-iam-actions.html#rbac-ds-actions',
  actions: ['DescribeStream', 'GetRecords', 'GetShardIterator'],
};

/**
 * For the other types: the actions whose "Resource types" column in the Service
 * Authorization Reference names the resource (bucket/object, queue, topic, key,
 * event-bus, function), without the Create* that makes the resource (its policy
 * cannot exist before it).
 */
const S3_BUCKET: AcceptedActions = {
  service: 's3',
  source:
    'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html (bucket, object)',
  actions: [
    'AbortMultipartUpload',
    'BypassGovernanceRetention',
    'DeleteBucket',
    'DeleteBucketPolicy',
    'DeleteBucketWebsite',
    'DeleteObject',
    'DeleteObjectTagging',
    'DeleteObjectVersion',
    'DeleteObjectVersionTagging',
    'GetAccelerateConfiguration',
    'GetAnalyticsConfiguration',
    'GetBucketAcl',
    'GetBucketCORS',
    'GetBucketLocation',
    'GetBucketLogging',
    'GetBucketNotification',
    'GetBucketObjectLockConfiguration',
    'GetBucketOwnershipControls',
    'GetBucketPolicy',
    'GetBucketPolicyStatus',
    'GetBucketPublicAccessBlock',
    'GetBucketRequestPayment',
    'GetBucketTagging',
    'GetBucketVersioning',
    'GetBucketWebsite',
    'GetEncryptionConfiguration',
    'GetIntelligentTieringConfiguration',
    'GetInventoryConfiguration',
    'GetLifecycleConfiguration',
    'GetMetricsConfiguration',
    'GetObject',
    'GetObjectAcl',
    'GetObjectAttributes',
    'GetObjectLegalHold',
    'GetObjectRetention',
    'GetObjectTagging',
    'GetObjectTorrent',
    'GetObjectVersion',
    'GetObjectVersionAcl',
    'GetObjectVersionAttributes',
    'GetObjectVersionForReplication',
    'GetObjectVersionTagging',
    'GetObjectVersionTorrent',
    'GetReplicationConfiguration',
    'InitiateReplication',
    'ListBucket',
    'ListBucketMultipartUploads',
    'ListBucketVersions',
    'ListMultipartUploadParts',
    'ObjectOwnerOverrideToBucketOwner',
    'PutAccelerateConfiguration',
    'PutAnalyticsConfiguration',
    'PutBucketAcl',
    'PutBucketCORS',
    'PutBucketLogging',
    'PutBucketNotification',
    'PutBucketObjectLockConfiguration',
    'PutBucketOwnershipControls',
    'PutBucketPolicy',
    'PutBucketPublicAccessBlock',
    'PutBucketRequestPayment',
    'PutBucketTagging',
    'PutBucketVersioning',
    'PutBucketWebsite',
    'PutEncryptionConfiguration',
    'PutIntelligentTieringConfiguration',
    'PutInventoryConfiguration',
    'PutLifecycleConfiguration',
    'PutMetricsConfiguration',
    'PutObject',
    'PutObjectAcl',
    'PutObjectLegalHold',
    'PutObjectRetention',
    'PutObjectTagging',
    'PutObjectVersionAcl',
    'PutObjectVersionTagging',
    'PutReplicationConfiguration',
    'ReplicateDelete',
    'ReplicateObject',
    'ReplicateTags',
    'RestoreObject',
  ],
};

const SQS_QUEUE: AcceptedActions = {
  service: 'sqs',
  source: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html (queue)',
  actions: [
    'AddPermission',
    'CancelMessageMoveTask',
    'ChangeMessageVisibility',
    'DeleteMessage',
    'DeleteQueue',
    'GetQueueAttributes',
    'GetQueueUrl',
    'ListDeadLetterSourceQueues',
    'ListMessageMoveTasks',
    'ListQueueTags',
    'PurgeQueue',
    'ReceiveMessage',
    'RemovePermission',
    'SendMessage',
    'SetQueueAttributes',
    'StartMessageMoveTask',
    'TagQueue',
    'UntagQueue',
  ],
};

const SNS_TOPIC: AcceptedActions = {
  service: 'sns',
  source: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html (topic)',
  actions: [
    'AddPermission',
    'DeleteTopic',
    'GetDataProtectionPolicy',
    'GetTopicAttributes',
    'ListSubscriptionsByTopic',
    'ListTagsForResource',
    'Publish',
    'PutDataProtectionPolicy',
    'RemovePermission',
    'SetTopicAttributes',
    'Subscribe',
    'TagResource',
    'UntagResource',
  ],
};

const KMS_KEY: AcceptedActions = {
  service: 'kms',
  source:
    'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html (key)',
  actions: [
    'CancelKeyDeletion',
    'CreateAlias',
    'CreateGrant',
    'Decrypt',
    'DeleteAlias',
    'DeleteImportedKeyMaterial',
    'DeriveSharedSecret',
    'DescribeKey',
    'DisableKey',
    'DisableKeyRotation',
    'EnableKey',
    'EnableKeyRotation',
    'Encrypt',
    'GenerateDataKey',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateMac',
    'GetKeyPolicy',
    'GetKeyRotationStatus',
    'GetParametersForImport',
    'GetPublicKey',
    'ImportKeyMaterial',
    'ListGrants',
    'ListKeyPolicies',
    'ListKeyRotations',
    'ListResourceTags',
    'PutKeyPolicy',
    'ReEncryptFrom',
    'ReEncryptTo',
    'ReplicateKey',
    'RetireGrant',
    'RevokeGrant',
    'RotateKeyOnDemand',
    'ScheduleKeyDeletion',
    'Sign',
    'SynchronizeMultiRegionKey',
    'TagResource',
    'UntagResource',
    'UpdateAlias',
    'UpdateKeyDescription',
    'UpdatePrimaryRegion',
    'Verify',
    'VerifyMac',
  ],
};

const EVENT_BUS: AcceptedActions = {
  service: 'events',
  source:
    'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html (event-bus)',
  actions: [
    'CreateArchive',
    'DeleteEventBus',
    'DescribeEventBus',
    'ListTagsForResource',
    'PutEvents',
    'StartReplay',
    'TagResource',
    'UntagResource',
    'UpdateEventBus',
  ],
};

const LAMBDA_FUNCTION: AcceptedActions = {
  service: 'lambda',
  source:
    'https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html (Action: lambda:InvokeFunction, lambda:GetFunction, ...)',
  actions: ['InvokeFunction', 'InvokeFunctionUrl', 'GetFunction', 'GetFunctionConfiguration'],
};

/** A role's trust policy takes the STS calls that assume a role or add to its session. */
const ROLE_TRUST: AcceptedActions = {
  service: 'sts',
  source: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html',
  actions: [
    'AssumeRole',
    'AssumeRoleWithSAML',
    'AssumeRoleWithWebIdentity',
    'TagSession',
    'SetSourceIdentity',
    'SetContext',
  ],
};

type PolicyKind =
  | 'dynamodb-table'
  | 'dynamodb-stream'
  | 's3-bucket'
  | 'sqs-queue'
  | 'sns-topic'
  | 'kms-key'
  | 'event-bus'
  | 'lambda-function'
  | 'role-trust';

const ACCEPTED: Record<PolicyKind, AcceptedActions> = {
  'dynamodb-table': DYNAMODB_TABLE,
  'dynamodb-stream': DYNAMODB_STREAM,
  's3-bucket': S3_BUCKET,
  'sqs-queue': SQS_QUEUE,
  'sns-topic': SNS_TOPIC,
  'kms-key': KMS_KEY,
  'event-bus': EVENT_BUS,
  'lambda-function': LAMBDA_FUNCTION,
  'role-trust': ROLE_TRUST,
};

/** `*` any run of characters, `?` one; IAM compares action names case-insensitively. */
function actionMatches(pattern: string, action: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(action);
}

/**
 * Why the resource type would reject this action, or undefined if it takes it.
 * A wildcard is accepted when it names at least one accepted action (`kms:*`,
 * `s3:GetBucket*`); `*` alone is any action of the service.
 */
function rejection(kind: PolicyKind, action: string): string | undefined {
  const accepted = ACCEPTED[kind];
  if (action === '*') return undefined;
  const [service, name] = action.split(':');
  if (service?.toLowerCase() !== accepted.service || !name) return `not a ${accepted.service}: action`;
  return accepted.actions.some((known) => actionMatches(name, known))
    ? undefined
    : `not an action a ${kind} policy takes (${accepted.source})`;
}

interface FoundPolicy {
  stack: string;
  logicalId: string;
  type: string;
  /** Where in the properties the document sits. */
  at: string;
  kind: PolicyKind | 'identity' | undefined;
  actions: string[];
}

/** Which resource policy a document found at `at` in a resource of `type` is. */
function kindOf(type: string, at: string): FoundPolicy['kind'] {
  switch (type) {
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy':
      return 'identity';
    case 'AWS::IAM::Role':
      return at.startsWith('AssumeRolePolicyDocument') ? 'role-trust' : 'identity';
    case 'AWS::DynamoDB::GlobalTable':
    case 'AWS::DynamoDB::Table':
      return /StreamSpecification/.test(at) ? 'dynamodb-stream' : 'dynamodb-table';
    case 'AWS::S3::BucketPolicy':
      return 's3-bucket';
    case 'AWS::SQS::QueuePolicy':
      return 'sqs-queue';
    case 'AWS::SNS::TopicPolicy':
      return 'sns-topic';
    case 'AWS::KMS::Key':
      return 'kms-key';
    case 'AWS::Events::EventBus':
    case 'AWS::Events::EventBusPolicy':
      return 'event-bus';
    default:
      return undefined;
  }
}

/**
 * Every policy document in every resource of the stacks, wherever it sits (an
 * object with a Statement, or a JSON string of one), with intrinsics resolved;
 * plus the policies that are not documents (Lambda permissions, the legacy
 * EventBusPolicy form). A document in a resource type this test does not know
 * comes back with kind undefined, so a new kind of resource policy fails the test
 * instead of going unchecked.
 */
function policiesIn(stacks: readonly StackTemplate[]): FoundPolicy[] {
  const found: FoundPolicy[] = [];
  for (const stack of stacks) {
    const resolver = new IntrinsicResolver(stack);
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      const add = (at: string, actions: string[]) =>
        found.push({
          stack: stack.stackName,
          logicalId,
          type: resource.Type,
          at,
          kind: kindOf(resource.Type, at),
          actions,
        });
      const properties = resource.Properties ?? {};
      if (resource.Type === 'AWS::Lambda::Permission') {
        found.push({
          stack: stack.stackName,
          logicalId,
          type: resource.Type,
          at: 'Action',
          kind: 'lambda-function',
          actions: [String(properties.Action)],
        });
        continue;
      }
      if (resource.Type === 'AWS::Events::EventBusPolicy' && properties.Action !== undefined) {
        add('Action', [String(properties.Action)]);
        continue;
      }
      const visit = (value: unknown, at: string): void => {
        if (typeof value === 'string') {
          if (!value.trimStart().startsWith('{') || !value.includes('Statement')) return;
          visit(JSON.parse(value) as unknown, at);
          return;
        }
        if (Array.isArray(value)) {
          value.forEach((item, i) => {
            visit(item, `${at}[${i}]`);
          });
          return;
        }
        if (value === null || typeof value !== 'object') return;
        const object = value as Record<string, unknown>;
        if ('Statement' in object) {
          const document = resolver.resolve(object, `${logicalId}.${at}`) as PolicyDocument;
          const actions = statementsOf(document).flatMap((s) => [
            ...listOf(s.Action),
            ...listOf(s.NotAction),
          ]);
          add(at, actions);
          return;
        }
        for (const [key, item] of Object.entries(object)) visit(item, at ? `${at}.${key}` : key);
      };
      visit(properties, '');
    }
  }
  return found;
}

const CONFIGS: Record<string, HoneytrailConfigInput> = {
  default: {},
  'everything on, trail created': {
    monitoredRegions: ['eu-west-1', 'ap-southeast-2'],
    alertEmail: 'ops@example.com',
    dryRun: false,
    trail: { dataEvents: 'all-buckets' },
    detection: {
      ruleStyle: 'broad',
      securityHub: true,
      allowlist: { principalArns: ['arn:aws:iam::111122223333:role/scanner'], cidrs: ['203.0.113.0/24'] },
    },
    response: {
      protectedPrincipals: ['arn:aws:iam::111122223333:role/BreakGlass'],
      keyStore: 'ssm-parameter',
      healthCheckAlarms: ['api-5xx'],
    },
  },
  'existing trail': {
    trail: {
      mode: 'existing',
      existingTrailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/organization',
      existingTrailBucket: 'organization-trail-logs',
    },
    detection: { securityHub: true },
  },
};

const policies = new Map<string, FoundPolicy[]>();

beforeAll(() => {
  for (const [name, config] of Object.entries(CONFIGS))
    policies.set(name, policiesIn(stackTemplates(config)));
}, 180_000);

describe('every resource policy deploys', () => {
  it.each(Object.keys(CONFIGS))('%s: every action is one its resource type takes', (name) => {
    const found = policies.get(name) ?? [];
    const unknown = found
      .filter((p) => p.kind === undefined)
      .map((p) => `${p.stack} ${p.logicalId} (${p.type}) ${p.at}`);
    expect(unknown, 'a policy document in a resource type this test does not check').toEqual([]);
    const resourcePolicies = found.filter(
      (p): p is FoundPolicy & { kind: PolicyKind } => p.kind !== undefined && p.kind !== 'identity',
    );
    const problems = resourcePolicies.flatMap((p) =>
      p.actions.flatMap((action) => {
        const why = rejection(p.kind, action);
        return why ? [`${p.stack} ${p.logicalId} ${p.at}: ${action}: ${why}`] : [];
      }),
    );
    expect(problems).toEqual([]);
    // The checks are not vacuous: the state table, central bus, buckets, queues, keys and topic are all there.
    const kinds = new Set(resourcePolicies.map((p) => p.kind));
    for (const kind of [
      'dynamodb-table',
      'event-bus',
      's3-bucket',
      'sqs-queue',
      'sns-topic',
      'kms-key',
      'lambda-function',
      'role-trust',
    ])
      expect(kinds).toContain(kind);
    const byKind = new Map<string, { policies: number; actions: number }>();
    for (const p of resourcePolicies) {
      const entry = byKind.get(p.kind) ?? { policies: 0, actions: 0 };
      entry.policies += 1;
      entry.actions += p.actions.length;
      byKind.set(p.kind, entry);
    }
    const total = resourcePolicies.reduce((n, p) => n + p.actions.length, 0);
    console.log(
      `resource policies [${name}]: ${resourcePolicies.length} policies, ${total} actions checked, 0 rejected; ${[
        ...byKind,
      ]
        .sort()
        .map(([kind, n]) => `${kind} ${n.policies}/${n.actions}`)
        .join(', ')}`,
    );
  });

  it('the state table policy names table actions only, no stream actions', () => {
    const table = (policies.get('default') ?? []).filter((p) => p.kind === 'dynamodb-table');
    expect(table).toHaveLength(1);
    const actions = table[0]?.actions ?? [];
    expect(actions).toContain('dynamodb:GetItem');
    for (const stream of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream'])
      expect(actions).not.toContain(stream);
  });

  it('rejects what the services reject, and takes wildcards that name an accepted action', () => {
    // The policy the first deploy failed on (issue #9).
    expect(rejection('dynamodb-table', 'dynamodb:GetRecords')).toMatch(/rbac-iam-actions/);
    expect(rejection('dynamodb-table', 'dynamodb:GetShardIterator')).toBeDefined();
    expect(rejection('dynamodb-table', 'dynamodb:ListStreams')).toBeDefined();
    expect(rejection('dynamodb-stream', 'dynamodb:GetRecords')).toBeUndefined();
    expect(rejection('dynamodb-table', 'dynamodb:getitem')).toBeUndefined();
    expect(rejection('kms-key', 'kms:*')).toBeUndefined();
    expect(rejection('kms-key', 'kms:GenerateDataKey*')).toBeUndefined();
    expect(rejection('kms-key', 'kms:ListKeys')).toBeDefined();
    expect(rejection('s3-bucket', 's3:GetBucket*')).toBeUndefined();
    expect(rejection('s3-bucket', 's3:ListAllMyBuckets')).toBeDefined();
    expect(rejection('event-bus', 'events:PutEvents')).toBeUndefined();
    expect(rejection('event-bus', 'events:PutRule')).toBeDefined();
    expect(rejection('sqs-queue', 'sns:Publish')).toBeDefined();
    expect(rejection('lambda-function', 'lambda:InvokeFunction')).toBeUndefined();
  });
});
