import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import type { DecoyKind, DecoyNames, DecoyPlan } from '../../layers/decoys/catalogue';
import { encodeSpec } from '../../layers/decoys/spec';
import { acknowledge, nagResource } from '../nag/acknowledge';
import { HouseFunction } from './house-function';
import type { StateStore } from './state-store';

export interface DecoyFleetProps {
  readonly config: HoneytrailConfig;
  readonly plan: DecoyPlan;
  readonly names: DecoyNames;
  readonly state: StateStore;
  /** Set when the trail is an existing one whose selectors must be checked. */
  readonly existingTrailArn?: string;
}

/**
 * Plants the decoys through a custom resource (create, update, delete) and
 * refreshes them on a schedule. The decoys themselves are made by the function,
 * not by CloudFormation, so they never show up as resources of this stack.
 */
export class DecoyFleet extends Construct {
  readonly plantFunction: HouseFunction;
  readonly key: kms.Key;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DecoyFleetProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { names, plan, config } = props;

    // The parameters' own key, like a service's secrets key: kms:Decrypt with the
    // parameter's encryption context is a touch even when GetParameter is not seen.
    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: `Secrets for ${names.service} (${names.environment})`,
      alias: names.keyAlias,
      // Only the planted parameters use it, and they are deleted first (the custom
      // resource depends on the key): nothing is left to decrypt once the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    this.plantFunction = new HouseFunction(this, 'Rotation', {
      handlerDir: 'plant',
      serviceName: 'secret-rotation',
      description: `Rotates ${names.service} credentials`,
      timeout: Duration.minutes(5),
      // No key id here: it is UUID-shaped and env values are visible. The planter
      // names the key by its alias, which the plan carries.
      environment: {
        STATE_TABLE: props.state.table.tableName,
        ...(props.existingTrailArn ? { EXISTING_TRAIL_ARN: props.existingTrailArn } : {}),
      },
    });
    const role = this.plantFunction.role;
    props.state.allowReadWrite(role);
    // Writing SecureString values only encrypts; the planter never reads them back.
    this.key.grant(role, 'kms:Encrypt', 'kms:GenerateDataKey');

    const arns = (kind: DecoyKind) => plan.decoys.filter((d) => d.kind === kind).map((d) => d.arn);
    const parameterArns = arns('ssm-parameter');
    if (parameterArns.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          // GetParameter (never decrypted): is a name free before it is claimed.
          // AddTagsToResource: PutParameter with Tags needs it.
          actions: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'],
          resources: parameterArns,
        }),
      );
    }
    const bucketArns = arns('s3-bucket');
    if (bucketArns.length > 0) {
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
          resources: bucketArns,
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: bucketArns.map((arn) => `${arn}/*`),
        }),
      );
    }
    const userArns = arns('iam-user');
    if (userArns.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            // Is the name free before it is claimed.
            'iam:GetUser',
            'iam:CreateUser',
            // CreateUser with Tags needs it.
            'iam:TagUser',
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
          resources: userArns,
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
    for (const arn of bucketArns) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::${nagResource(this, arn)}/*]`,
        'Object actions are scoped to the one planted bucket; its keys sit under varied prefixes.',
      );
    }

    // The template is readable (cloudformation:GetTemplate): the plan goes in as
    // encodeSpec writes it, without breadcrumb links or the plan's own key names.
    this.resource = new CustomResource(this, 'State', {
      serviceToken: this.plantFunction.function.functionArn,
      resourceType: 'Custom::SecretRotation',
      // The function always answers within its own 5 minutes; this bounds the wait if it
      // cannot run at all (CloudFormation's default is an hour). Leaves room for Lambda's retries.
      serviceTimeout: Duration.minutes(20),
      properties: {
        Plan: encodeSpec({ service: names.service, environment: names.environment, plan }),
        StackRegion: stack.region,
        Naming: config.naming.seed,
      },
    });
    // The parameters are encrypted under the key's alias: it must exist first.
    this.resource.node.addDependency(this.key);

    const schedule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.expression(config.refreshSchedule),
      description: 'Scheduled credential rotation',
    });
    schedule.addTarget(
      new targets.LambdaFunction(this.plantFunction.function, {
        // The event id makes a redelivered schedule event a no-op (idempotency key).
        event: events.RuleTargetInput.fromObject({
          action: 'refresh',
          id: events.EventField.eventId,
          time: events.EventField.time,
        }),
        retryAttempts: 2,
      }),
    );
  }
}
