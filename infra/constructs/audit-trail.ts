import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { MANAGEMENT_SELECTOR, OBJECT_SELECTOR_NAME } from '../../layers/detection/trail-selectors';
import { acknowledge } from '../nag/acknowledge';

export interface AuditTrailProps {
  readonly config: HoneytrailConfig;
  /**
   * Whether a bucket decoy needs S3 object events. Its name is chosen at plant time
   * and never enters the template: in `planted-bucket` mode the planter adds it to
   * the selectors (see `plantTimeSelectors`).
   */
  readonly objectEvents: boolean;
  /** Deployed trail name: neutral. */
  readonly trailName: string;
}

/**
 * The advanced event selectors the stack synthesizes: every management event (read
 * and write) and, in `all-buckets` mode, S3 object-level events for every bucket but
 * the trail's own (each delivery would log an event about itself, a loop). In
 * `planted-bucket` mode the template names no bucket: management events only, which
 * the planter completes at plant time with loggedBucketSelectors
 * (layers/detection/trail-selectors.ts): the planted bucket among cover buckets.
 */
export function trailSelectors(
  partition: string,
  scope: { objectEvents: boolean; dataEvents: 'planted-bucket' | 'all-buckets'; ownBucketName: string },
): cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] {
  const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
    {
      name: MANAGEMENT_SELECTOR.Name,
      fieldSelectors: MANAGEMENT_SELECTOR.FieldSelectors!.map((f) => ({
        field: f.Field!,
        equalTo: f.Equals,
      })),
    },
  ];
  if (scope.objectEvents && scope.dataEvents === 'all-buckets') {
    selectors.push({
      name: OBJECT_SELECTOR_NAME,
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
        { field: 'resources.ARN', notStartsWith: [`arn:${partition}:s3:::${scope.ownBucketName}/`] },
      ],
    });
  }
  return selectors;
}

/**
 * The trail detection depends on (CloudTrail events reach EventBridge only while a
 * trail is logging), or the existing one named in the config.
 *
 * In `planted-bucket` mode (the default) the planter completes the selectors at
 * plant time (cloudtrail:PutEventSelectors, granted by `allowSelectorUpdates`).
 * CloudFormation leaves them alone while the trail resource is unchanged (drift is
 * only reported, never corrected), but an update of the trail resource can put the
 * template's selectors back (management events only): its update handler puts the
 * desired selectors, and resets them when the property is absent (measured through
 * CloudFormation in go-to-k/cdkd#1563). Object events on the bucket then stop until
 * the planter's next run (its schedule, or a deploy-time run ordered after
 * `resource`). The tamper rule does not report the reset (the
 * deployer's own call).
 */
export class AuditTrail extends Construct {
  readonly trailArn: string;
  readonly trailName: string;
  /** The bucket log files land in, when known (scoring reads it; the planter never selects it). */
  readonly logBucket: s3.IBucket | undefined;
  /**
   * True when the planter must add the planted bucket (among cover buckets) to the
   * selectors at plant time: a trail this stack creates, object events wanted, mode
   * `planted-bucket`. False with `all-buckets` (the template selects every bucket)
   * and with an existing trail (not ours to change).
   */
  readonly plantTimeSelectors: boolean;
  /** The trail resource, when this stack creates it (the planter's run should follow its changes). */
  readonly resource: cloudtrail.CfnTrail | undefined;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;

    if (config.trail.mode === 'existing') {
      this.trailArn = config.trail.existingTrailArn;
      this.trailName = this.trailArn.split(':trail/')[1] ?? this.trailArn;
      this.logBucket = config.trail.existingTrailBucket
        ? s3.Bucket.fromBucketName(this, 'LogBucket', config.trail.existingTrailBucket)
        : undefined;
      this.plantTimeSelectors = false;
      this.resource = undefined;
      return;
    }
    this.plantTimeSelectors = props.objectEvents && config.trail.dataEvents === 'planted-bucket';

    this.trailName = props.trailName;
    this.trailArn = stack.formatArn({
      service: 'cloudtrail',
      resource: 'trail',
      resourceName: this.trailName,
    });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    acknowledge(
      accessLogs,
      'AwsSolutions-S1',
      'This is the server access log bucket itself; logging it to itself would loop.',
    );

    const logBucket = new s3.Bucket(this, 'LogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'trail/',
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    });
    this.logBucket = logBucket;
    const sourceArn = { 'aws:SourceArn': this.trailArn };
    logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'TrailAclCheck',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['s3:GetBucketAcl'],
        resources: [logBucket.bucketArn],
        conditions: { StringEquals: sourceArn },
      }),
    );
    logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'TrailWrite',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logBucket.arnForObjects(`AWSLogs/${stack.account}/*`)],
        conditions: { StringEquals: { ...sourceArn, 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }),
    );

    const trail = new cloudtrail.CfnTrail(this, 'Trail', {
      trailName: this.trailName,
      s3BucketName: logBucket.bucketName,
      isLogging: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      advancedEventSelectors: trailSelectors(stack.partition, {
        objectEvents: props.objectEvents,
        dataEvents: config.trail.dataEvents,
        ownBucketName: logBucket.bucketName,
      }),
    });
    trail.node.addDependency(logBucket.policy!);
    this.resource = trail;
  }

  /**
   * Lets `grantee` (the planter) read and put this trail's event selectors, on this
   * trail only. Nothing when the selectors are not completed at plant time.
   */
  allowSelectorUpdates(grantee: iam.IGrantable): void {
    if (!this.plantTimeSelectors) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudtrail:GetEventSelectors', 'cloudtrail:PutEventSelectors'],
        resources: [this.trailArn],
      }),
    );
  }
}
