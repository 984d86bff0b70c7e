import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import type { DecoyNames, DecoyPlan } from '../../layers/decoys/catalogue';
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
    });

    this.plantFunction = new HouseFunction(this, 'Rotation', {
      handlerDir: 'plant',
      serviceName: 'secret-rotation',
      description: `Rotates ${names.service} credentials`,
      timeout: Duration.minutes(5),
      environment: {
        STATE_TABLE: props.state.table.tableName,
        KEY_ID: this.key.keyId,
        EXISTING_TRAIL_ARN: props.existingTrailArn ?? '',
      },
    });
    const role = this.plantFunction.role;
    props.state.allowReadWrite(role);
    this.key.grant(role, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey');

    const arns = (kind: string) => plan.decoys.filter((d) => d.kind === kind).map((d) => d.arn);
    const parameterArns = arns('ssm-parameter');
    if (parameterArns.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'ssm:PutParameter',
            'ssm:DeleteParameter',
            'ssm:DeleteParameters',
            'ssm:GetParameter',
            'ssm:GetParameters',
            'ssm:AddTagsToResource',
            'ssm:DescribeParameters',
          ],
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
            's3:PutEncryptionConfiguration',
            's3:PutBucketPublicAccessBlock',
            's3:PutBucketOwnershipControls',
            's3:PutBucketTagging',
            's3:PutBucketPolicy',
            's3:ListBucket',
            's3:ListBucketVersions',
            's3:GetBucketLocation',
          ],
          resources: bucketArns,
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: bucketArns.map((arn) => `${arn}/*`),
        }),
      );
    }
    const userArns = arns('iam-user');
    if (userArns.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'iam:CreateUser',
            'iam:DeleteUser',
            'iam:GetUser',
            'iam:TagUser',
            'iam:PutUserPolicy',
            'iam:DeleteUserPolicy',
            'iam:ListUserPolicies',
            'iam:PutUserPermissionsBoundary',
            'iam:DeleteUserPermissionsBoundary',
            'iam:CreateAccessKey',
            'iam:DeleteAccessKey',
            'iam:UpdateAccessKey',
            'iam:ListAccessKeys',
            'iam:GetAccessKeyLastUsed',
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

    this.resource = new CustomResource(this, 'State', {
      serviceToken: this.plantFunction.function.functionArn,
      resourceType: 'Custom::SecretRotation',
      properties: { Plan: JSON.stringify(plan), StackRegion: stack.region, Naming: config.naming.seed },
    });

    const schedule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.expression(config.refreshSchedule),
      description: 'Scheduled credential rotation',
    });
    schedule.addTarget(
      new targets.LambdaFunction(this.plantFunction.function, {
        event: events.RuleTargetInput.fromObject({ action: 'refresh' }),
        retryAttempts: 2,
      }),
    );
  }
}
