import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { acknowledge } from '../nag/acknowledge';

export interface AuditTrailProps {
  readonly config: HoneytrailConfig;
  /** The bucket whose objects need data events (the only one). */
  readonly dataEventBucketName: string | undefined;
  /** Deployed trail name: neutral. */
  readonly trailName: string;
}

/**
 * The advanced event selectors detection needs: every management event (read and
 * write) and S3 object-level events for one bucket only. Never data events on the
 * trail's own bucket: each delivery would log an event about itself, a loop.
 */
export function trailSelectors(
  partition: string,
  dataEventBucketName: string | undefined,
  scope: { dataEvents: 'planted-bucket' | 'all-buckets'; ownBucketName: string } = {
    dataEvents: 'planted-bucket',
    ownBucketName: '',
  },
): cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] {
  const selectors: cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] = [
    { name: 'Management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
  ];
  if (dataEventBucketName && scope.dataEvents === 'all-buckets') {
    selectors.push({
      name: 'Object activity',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
        { field: 'resources.ARN', notStartsWith: [`arn:${partition}:s3:::${scope.ownBucketName}/`] },
      ],
    });
  } else if (dataEventBucketName) {
    selectors.push({
      name: 'Object activity',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
        { field: 'resources.ARN', startsWith: [`arn:${partition}:s3:::${dataEventBucketName}/`] },
      ],
    });
  }
  return selectors;
}

/**
 * The trail detection depends on (CloudTrail events reach EventBridge only while a
 * trail is logging), or the existing one named in the config.
 */
export class AuditTrail extends Construct {
  readonly trailArn: string;
  readonly trailName: string;
  /** The bucket log files land in, when known (scoring reads it). */
  readonly logBucket: s3.IBucket | undefined;

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
      return;
    }

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
      advancedEventSelectors: trailSelectors(stack.partition, props.dataEventBucketName, {
        dataEvents: config.trail.dataEvents,
        ownBucketName: logBucket.bucketName,
      }),
    });
    trail.node.addDependency(logBucket.policy!);
  }
}
