import { createHash } from 'node:crypto';
import { CustomResource, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { memberRoleArn, memberStackSetName } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { type DecoyShape, OWNERSHIP_TAG_KEY } from '../../layers/decoys/catalogue';
import { DECOY_WRITER } from '../../layers/decoys/content';
import { encodeShape, shapeRevision } from '../../layers/decoys/spec';
import { acknowledge, nagResource } from '../nag/acknowledge';
import type { AuditTrail } from './audit-trail';
import { HouseFunction } from './house-function';
import { protectedIamArns } from './incident-workflow';
import type { StateStore } from './state-store';

export interface DecoyFleetProps {
  readonly config: HoneytrailConfig;
  /** What to plant, without generated names (catalogue.ts shapeOf). */
  readonly shape: DecoyShape;
  readonly state: StateStore;
  /** Set when the trail is an existing one whose selectors must be checked. */
  readonly existingTrailArn?: string;
  /** The stack's trail: when it wants plant-time selectors, the planter sets them. */
  readonly trail?: AuditTrail;
}

/**
 * Plants the decoys through a custom resource (create, update, delete) and
 * refreshes them on a schedule. The decoys themselves are made by the function,
 * not by CloudFormation, so they never show up as resources of this stack; and
 * their names are chosen by the function at plant time (layers/decoys/naming.ts),
 * so the template names none of them: the custom resource carries the shape only.
 */
export class DecoyFleet extends Construct {
  readonly plantFunction: HouseFunction;
  readonly key: kms.Key;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DecoyFleetProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { shape, config } = props;
    const arn = (service: string, resource: string, region = stack.region) =>
      `arn:${stack.partition}:${service}:${region}:${stack.account}:${resource}`;

    // The parameters' own key, like a service's secrets key: kms:Decrypt with the
    // parameter's encryption context is a touch even when GetParameter is not seen.
    // No alias and no service in the description: both are readable in the template.
    // The planter gives the key an alias it chooses at plant time, after the
    // account's own aliases; the key stays a stack resource so that
    // CloudFormation owns its lifecycle (key policy, rotation, the pending window on
    // deletion), which a key created at run time would lose on a failed delete.
    this.key = new kms.Key(this, 'Key', {
      // Worded like the stack's other keys; names no service.
      description: 'Platform secrets encryption',
      enableKeyRotation: true,
      // Only the planted parameters use it, and they are deleted first (the custom
      // resource depends on the key): nothing is left to decrypt once the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    const selectorTrail = props.trail?.plantTimeSelectors ? props.trail : undefined;
    const organization = config.organization;
    // Organization mode: the planter works in each member account through its role
    // (layers/decoys/members.ts); the accounts are the listed ones, else those the
    // access StackSet deployed the role to in the target OUs.
    const memberEnvironment: Record<string, string> = organization
      ? {
          MEMBER_ROLE_ARN: memberRoleArn(config, stack.partition),
          ...(organization.targets.accounts.length > 0
            ? { MEMBER_ACCOUNTS: organization.targets.accounts.join(',') }
            : {
                MEMBER_UNITS: organization.targets.organizationalUnitIds.join(','),
                MEMBER_STACK_SET: memberStackSetName(config, 'access'),
              }),
        }
      : {};
    this.plantFunction = new HouseFunction(this, 'Rotation', {
      handlerDir: 'plant',
      serviceName: 'secret-rotation',
      description: 'Rotates service credentials',
      // Members are planted a few at a time, each spreading its writes over seconds.
      timeout: Duration.minutes(organization ? 15 : 5),
      // No key id here: it is UUID-shaped and env values are visible. The custom
      // resource passes the key's ARN; the scheduled refresh uses the alias.
      environment: {
        STATE_TABLE: props.state.table.tableName,
        ...(props.existingTrailArn ? { EXISTING_TRAIL_ARN: props.existingTrailArn } : {}),
        ...(selectorTrail?.logBucket
          ? { TRAIL_ARN: selectorTrail.trailArn, TRAIL_BUCKET: selectorTrail.logBucket.bucketName }
          : {}),
        ...memberEnvironment,
      },
    });
    const role = this.plantFunction.role;
    props.state.allowReadWrite(role);
    if (memberEnvironment.MEMBER_STACK_SET) {
      const stackSetInstances = `arn:${stack.partition}:cloudformation:${stack.region}:*:stackset/${memberEnvironment.MEMBER_STACK_SET}:*`;
      // The target OUs' accounts, as the access StackSet's instances (read as the delegated administrator).
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['cloudformation:ListStackInstances'],
          resources: [stackSetInstances],
        }),
      );
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::${nagResource(this, stackSetInstances)}]`,
        'One StackSet by name; its id suffix is assigned at creation, and a service-managed StackSet run by a delegated administrator is owned by the management account.',
      );
    }
    // Writing SecureString values only encrypts; the planter never reads them back.
    this.key.grant(role, 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateAlias', 'kms:DeleteAlias');
    if (selectorTrail) selectorTrail.allowSelectorUpdates(role);

    // Naming after the account: names only (DescribeParameters never returns values).
    // These List/Describe actions have no resource-level scoping.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ssm:DescribeParameters',
          's3:ListAllMyBuckets',
          'iam:ListUsers',
          'secretsmanager:ListSecrets',
          'kms:ListAliases',
        ],
        resources: ['*'],
      }),
    );
    // The alias is chosen at plant time: CreateAlias/DeleteAlias need the alias
    // resource too, and KMS aliases carry no tags to condition on.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:CreateAlias', 'kms:DeleteAlias'],
        resources: [arn('kms', 'alias/*')],
      }),
    );

    // The policies name no decoy: the names are chosen at plant time. Least privilege
    // without singling anything out is ABAC on the ownership tag the planter writes on
    // everything it creates (the same key real IaC-managed resources carry), and the
    // planter refuses any name its registry does not list (ForeignResourceError).
    // The tag's value too, not only its key: real resources are often tagged
    // `managed-by` (terraform, cdk, ...), and the role must not reach those.
    const tagged = (conditionKey: string) => ({
      StringEquals: { [`${conditionKey}/${OWNERSHIP_TAG_KEY}`]: DECOY_WRITER },
    });
    if (shape.parameters.length > 0) {
      const parameters = arn('ssm', 'parameter/*');
      // Creating: PutParameter with Tags (AddTagsToResource is authorized with it).
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
          resources: [parameters],
          conditions: tagged('aws:RequestTag'),
        }),
      );
      // Overwriting (no tags allowed with Overwrite) and deleting: parameters that carry the tag.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'],
          resources: [parameters],
          conditions: tagged('ssm:resourceTag'),
        }),
      );
    }
    if (shape.bucket) {
      // S3 general purpose buckets evaluate tag conditions only once ABAC is switched
      // on per bucket (PutBucketAbac), which GetBucketAbac shows to ReadOnlyAccess: on
      // the planted bucket alone it would single it out. So: every bucket of this
      // account, and the registry check in the planter.
      const sameAccount = { StringEquals: { 's3:ResourceAccount': stack.account } };
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            's3:CreateBucket',
            's3:DeleteBucket',
            's3:PutBucketVersioning',
            's3:PutLifecycleConfiguration',
            's3:PutEncryptionConfiguration',
            's3:PutBucketPublicAccessBlock',
            's3:PutBucketOwnershipControls',
            's3:PutBucketTagging',
            's3:PutBucketPolicy',
            // HeadBucket
            's3:ListBucket',
            's3:ListBucketVersions',
          ],
          resources: [`arn:${stack.partition}:s3:::*`],
          conditions: sameAccount,
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: [`arn:${stack.partition}:s3:::*/*`],
          conditions: sameAccount,
        }),
      );
    }
    if (shape.user) {
      const users = `arn:${stack.partition}:iam::${stack.account}:user/*`;
      // Is a name free before it is claimed (a read ReadOnlyAccess has anyway).
      role.addToPolicy(new iam.PolicyStatement({ actions: ['iam:GetUser'], resources: [users] }));
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['iam:CreateUser'],
          resources: [users],
          conditions: tagged('aws:RequestTag'),
        }),
      );
      // Tagging needs the tag already on the user: a request tag alone would let the
      // role tag any unprotected user into its reach.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['iam:TagUser'],
          resources: [users],
          conditions: {
            StringEquals: {
              ...tagged('aws:RequestTag').StringEquals,
              ...tagged('aws:ResourceTag').StringEquals,
            },
          },
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'iam:PutUserPolicy',
            'iam:CreateAccessKey',
            'iam:ListAccessKeys',
            'iam:DeleteAccessKey',
            // Removal: whatever DeleteUser requires gone first (a responder may have attached a policy).
            'iam:ListUserPolicies',
            'iam:DeleteUserPolicy',
            'iam:ListAttachedUserPolicies',
            'iam:DetachUserPolicy',
            'iam:DeleteLoginProfile',
            'iam:DeleteUser',
          ],
          resources: [users],
          conditions: tagged('aws:ResourceTag'),
        }),
      );
      // A protected principal (the deployer, the stack's roles, the configured ones) may
      // carry the same tag: never theirs, whatever the tag says.
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'NeverProtectedPrincipals',
          effect: iam.Effect.DENY,
          actions: [
            'iam:CreateUser',
            'iam:TagUser',
            'iam:PutUserPolicy',
            'iam:CreateAccessKey',
            'iam:DeleteAccessKey',
            'iam:DeleteUserPolicy',
            'iam:DetachUserPolicy',
            'iam:DeleteLoginProfile',
            'iam:DeleteUser',
          ],
          resources: protectedIamArns(stack, config),
        }),
      );
    }
    const hasSecrets = (shape.secrets?.length ?? 0) > 0;
    if (hasSecrets) {
      const secrets = arn('secretsmanager', 'secret:*');
      // Is a name free before it is claimed (a read ReadOnlyAccess has anyway); a tag
      // condition would turn "not found" into "denied".
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [secrets] }),
      );
      // Creating with tags (TagResource is authorized with it).
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
          resources: [secrets],
          conditions: tagged('aws:RequestTag'),
        }),
      );
      // New values and removal: secrets that carry the tag. Never GetSecretValue.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret'],
          resources: [secrets],
          conditions: tagged('aws:ResourceTag'),
        }),
      );
      // Secrets Manager needs kms:Decrypt besides GenerateDataKey to write under a
      // customer-managed key; only through Secrets Manager, which the role cannot read from.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
        }),
      );
    }
    if (props.existingTrailArn) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['cloudtrail:GetEventSelectors', 'cloudtrail:GetTrailStatus'],
          resources: [props.existingTrailArn],
        }),
      );
    }
    // Decoy names are chosen at plant time and must not appear in this readable policy.
    const reasons: [string, string][] = [
      ['*', 'Listings (names only) have no resource-level scope.'],
      [
        arn('kms', 'alias/*'),
        'The key alias is chosen at plant time; aliases carry no tags to condition on.',
      ],
      [
        arn('ssm', 'parameter/*'),
        'Scoped by the ownership tag (ABAC); the planter acts only on what its registry lists.',
      ],
      [
        `arn:${stack.partition}:iam::${stack.account}:user/*`,
        'Scoped by the ownership tag (ABAC), GetUser excepted (a read); the planter acts only on what its registry lists.',
      ],
      [
        `arn:${stack.partition}:s3:::*`,
        'Bucket ABAC needs a per-bucket switch (PutBucketAbac) readable with GetBucketAbac that would single the bucket out: limited to this account; the planter acts only on what its registry lists.',
      ],
      [
        `arn:${stack.partition}:s3:::*/*`,
        'Objects of the planted bucket, whose name is chosen at plant time; this account only.',
      ],
      ...(hasSecrets
        ? ([
            [
              arn('secretsmanager', 'secret:*'),
              'Scoped by the ownership tag (ABAC), DescribeSecret excepted (a read); the planter acts only on what its registry lists.',
            ],
          ] as [string, string][])
        : []),
    ];
    for (const [resource, reason] of reasons)
      acknowledge(role, `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`, reason);

    // The template is readable (cloudformation:GetTemplate): the shape only (kinds,
    // counts, formats, explicit names the user configured), a revision, and the key.
    this.resource = new CustomResource(this, 'State', {
      serviceToken: this.plantFunction.function.functionArn,
      resourceType: 'Custom::SecretRotation',
      // The function always answers within its own 5 minutes; this bounds the wait if it
      // cannot run at all (CloudFormation's default is an hour). Leaves room for Lambda's retries.
      serviceTimeout: Duration.minutes(20),
      properties: {
        Shape: encodeShape(shape),
        Revision: shapeRevision(shape),
        KeyArn: this.key.keyArn,
        ...(selectorTrail?.resource ? { TrailRevision: trailRevision(selectorTrail.resource) } : {}),
      },
    });
    // The key must exist before the planter aliases it; the trail before its selectors are set.
    this.resource.node.addDependency(this.key);
    if (selectorTrail?.resource) this.resource.node.addDependency(selectorTrail.resource);

    const schedule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.expression(config.refreshSchedule),
      description: 'Scheduled credential rotation',
    });
    schedule.addTarget(
      new targets.LambdaFunction(this.plantFunction.function, {
        // The event id makes a redelivered schedule event a no-op (idempotency key).
        event: events.RuleTargetInput.fromObject({
          action: 'refresh',
          reason: 'schedule',
          id: events.EventField.eventId,
          time: events.EventField.time,
        }),
        retryAttempts: 2,
      }),
    );
  }
}

/**
 * A digest of the trail resource's properties, for the custom resource. A deploy
 * that updates the trail puts the template's selectors back (management events
 * only; audit-trail.ts), which would stop the bucket's object events until
 * someone put them again. With the digest among its properties, the same deploy
 * updates the custom resource right after the trail (it depends on it), and the
 * planter puts the object selectors back at once. Chosen over a check on every
 * scheduled run: no daily GetEventSelectors by the rotation role, and no gap of
 * up to a day.
 */
export function trailRevision(trail: cloudtrail.CfnTrail): string {
  const properties = {
    advancedEventSelectors: trail.advancedEventSelectors,
    cloudWatchLogsLogGroupArn: trail.cloudWatchLogsLogGroupArn,
    cloudWatchLogsRoleArn: trail.cloudWatchLogsRoleArn,
    enableLogFileValidation: trail.enableLogFileValidation,
    eventSelectors: trail.eventSelectors,
    includeGlobalServiceEvents: trail.includeGlobalServiceEvents,
    insightSelectors: trail.insightSelectors,
    isLogging: trail.isLogging,
    isMultiRegionTrail: trail.isMultiRegionTrail,
    isOrganizationTrail: trail.isOrganizationTrail,
    kmsKeyId: trail.kmsKeyId,
    s3BucketName: trail.s3BucketName,
    s3KeyPrefix: trail.s3KeyPrefix,
    snsTopicName: trail.snsTopicName,
    tags: trail.tags.renderTags(),
    trailName: trail.trailName,
  };
  return Lazy.uncachedString({
    produce: (context) =>
      createHash('sha256')
        .update(JSON.stringify(context.resolve(properties)))
        .digest('hex')
        .slice(0, 16),
  });
}
