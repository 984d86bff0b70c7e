import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { OrganizationConfig } from '../../layers/config/organization';
import { allRegions, type HoneytrailConfig } from '../../layers/config/schema';
import { FINDING_EVENT_SOURCE } from '../../layers/findings/finding';
import { MODEL_KEYS } from '../../layers/scoring/aws';
import { TRAINING_JOB_INPUT } from '../../layers/scoring/events';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../layers/scoring/labels';
import { acknowledge, nagResource } from '../nag/acknowledge';
import type { AuditTrail } from './audit-trail';
import { HouseFunction } from './house-function';
import type { Notifications } from './notifications';
import { privateKmsBucketProps } from './private-bucket';
import type { StateStore } from './state-store';

/** The id of CDK's singleton that configures notifications on buckets it does not own. */
const BUCKET_NOTIFICATIONS_HANDLER = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

export interface ActivityAnalyticsProps {
  readonly config: HoneytrailConfig;
  readonly state: StateStore;
  readonly notifications: Notifications;
  /** Its `logBucket` feeds scoring; without one, training reads LookupEvents and nothing scores new files. */
  readonly trail: AuditTrail;
  /**
   * Organization mode: the organization trail's log archive (another account) is
   * read instead of the stack's trail bucket. Its new log files arrive through
   * `notificationTopicArn` (an S3 event notification topic of the bucket, raw
   * delivery); without one, nothing scores new files until that notification exists.
   */
  readonly logArchive?: OrganizationConfig['logArchive'];
}

/**
 * Anomaly scoring of CloudTrail activity (isolation forest, layers/scoring):
 * - a training function on a schedule (config scoring.trainSchedule) reads the
 *   last scoring.trainingDays of history (the trail's log files, or LookupEvents),
 *   and writes the model to a versioned, KMS-encrypted bucket; it also keeps the
 *   labels that "Finding Labelled" events on the central bus carry;
 * - a scoring function fed by a queue of the trail bucket's "object created"
 *   notifications (batches, partial batch failure, dead-letter queue).
 *
 * Stealth: ids, names and descriptions read as usage analytics. The model holds
 * each principal's usual IPs and tools: its key grants decrypt to the two roles
 * only, so ReadOnlyAccess (s3:Get*, no kms:Decrypt) cannot read it.
 */
export class ActivityAnalytics extends Construct {
  readonly key: kms.Key;
  readonly modelBucket: s3.Bucket;
  readonly trainFunction: HouseFunction;
  readonly scoreFunction: HouseFunction;
  /** Undefined when the trail has no bucket we know of. */
  readonly queue: sqs.Queue | undefined;
  readonly deadLetters: sqs.Queue;
  readonly schedule: events.Rule;
  readonly feedbackRule: events.Rule;

  constructor(scope: Construct, id: string, props: ActivityAnalyticsProps) {
    super(scope, id);
    const { config, state, notifications, trail } = props;
    const stack = Stack.of(this);
    const logArchive = props.logArchive;
    const logBucket = logArchive
      ? s3.Bucket.fromBucketName(this, 'LogArchive', logArchive.bucket)
      : trail.logBucket;

    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'Platform analytics encryption',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.modelBucket = new s3.Bucket(this, 'Artifacts', {
      ...privateKmsBucketProps(this.key),
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }],
    });
    acknowledge(
      this.modelBucket,
      'AwsSolutions-S1',
      'Written and read by two platform functions only; every other reader fails on the bucket key. Its objects are regenerated weekly; access logging would add a second bucket for no evidence value.',
    );

    this.deadLetters = new sqs.Queue(this, 'Failed', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetters,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the log-delivery queue and of the baseline job.',
    );

    const commonEnvironment = { MODEL_BUCKET: this.modelBucket.bucketName };
    this.trainFunction = new HouseFunction(this, 'Baselines', {
      handlerDir: 'train',
      serviceName: 'usage-baselines',
      description: 'Builds usage baselines',
      timeout: Duration.minutes(15),
      memorySize: 2048,
      environment: {
        ...commonEnvironment,
        TRAIL_BUCKET: logBucket?.bucketName ?? '',
        HISTORY_REGIONS: allRegions(config).join(','),
        WINDOW_MINUTES: String(config.scoring.windowMinutes),
        HISTORY_DAYS: String(config.scoring.trainingDays),
        MIN_THRESHOLD: String(config.scoring.threshold),
      },
    });
    this.scoreFunction = new HouseFunction(this, 'Usage', {
      handlerDir: 'score',
      serviceName: 'usage-analytics',
      description: 'Processes audit log deliveries',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      environment: {
        ...commonEnvironment,
        STATE_TABLE: state.table.tableName,
        TOPIC_ARN: notifications.topic.topicArn,
        BUS_NAME: notifications.bus.eventBusName,
        ACCOUNT_ID: stack.account,
        SECURITY_HUB: config.detection.securityHub ? 'on' : 'off',
      },
    });

    this.grantModelAccess();
    this.grantFindingOutputs(props);
    state.allowReadWrite(this.scoreFunction.role);

    if (logBucket) {
      // Log files only: AWSLogs/<account>/CloudTrail/<region>/... (and digests, skipped by the function).
      this.trainFunction.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [logBucket.bucketArn] }),
      );
      for (const fn of [this.trainFunction, this.scoreFunction]) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: [logBucket.arnForObjects('AWSLogs/*')],
          }),
        );
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Resource::${nagResource(fn, logBucket.arnForObjects('AWSLogs/*'))}]`,
          'Reads the trail log files, whose keys carry account, region and date: the prefix is as narrow as it gets.',
        );
      }
    } else {
      // No bucket to read: history comes from LookupEvents.
      this.trainFunction.allowOnAnyResource(
        ['cloudtrail:LookupEvents'],
        'CloudTrail LookupEvents supports no resource-level permissions; with no trail bucket to read, the baseline history comes from it.',
      );
    }

    this.schedule = new events.Rule(this, 'Rebuild', {
      schedule: events.Schedule.expression(config.scoring.trainSchedule),
      description: 'Scheduled usage baseline refresh',
    });
    this.schedule.addTarget(
      new targets.LambdaFunction(this.trainFunction.function, {
        event: events.RuleTargetInput.fromObject(TRAINING_JOB_INPUT),
        retryAttempts: 2,
      }),
    );
    this.feedbackRule = new events.Rule(this, 'Feedback', {
      eventBus: notifications.bus,
      description: 'Review outcomes',
      eventPattern: { source: [FINDING_EVENT_SOURCE], detailType: [FINDING_LABELLED_DETAIL_TYPE] },
    });
    this.feedbackRule.addTarget(
      new targets.LambdaFunction(this.trainFunction.function, {
        deadLetterQueue: this.deadLetters,
        retryAttempts: 4,
      }),
    );
    this.trainFunction.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetters),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });

    if (logArchive?.kmsKeyArn) {
      // Log files of an organization trail encrypted with SSE-KMS: reading them is decrypting.
      for (const fn of [this.trainFunction, this.scoreFunction]) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [logArchive.kmsKeyArn] }),
        );
      }
    }
    if (logArchive) {
      this.queue = logArchive.notificationTopicArn
        ? this.deliveryQueue(undefined, logArchive.notificationTopicArn)
        : undefined;
    } else {
      this.queue = logBucket ? this.deliveryQueue(logBucket) : undefined;
    }
  }

  /** The queue of new log files, and the scoring function reading it. */
  private deliveryQueue(logBucket: s3.IBucket | undefined, topicArn?: string): sqs.Queue {
    const queue = new sqs.Queue(this, 'Deliveries', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the function timeout, as Lambda's SQS guidance asks.
      visibilityTimeout: Duration.minutes(30),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: 5 },
    });
    this.scoreFunction.function.addEventSource(
      new sources.SqsEventSource(queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(30),
        reportBatchItemFailures: true,
      }),
    );
    const filter = { prefix: 'AWSLogs/', suffix: '.json.gz' };
    if (topicArn || !logBucket) {
      // The log archive account's topic of the bucket's "object created" events. Raw
      // delivery: the message is the S3 event itself, as a direct notification's is.
      // The topic's policy there must allow sns:Subscribe from this account.
      if (topicArn) {
        sns.Topic.fromTopicArn(this, 'LogArchiveTopic', topicArn).addSubscription(
          new subscriptions.SqsSubscription(queue, { rawMessageDelivery: true }),
        );
      }
      return queue;
    }
    const owned = logBucket instanceof s3.Bucket;
    if (owned) {
      // Set on the bucket itself rather than through CDK's notification custom
      // resource (a Lambda and a role more). The queue policy cannot name the bucket
      // (the bucket waits for the policy: a cycle), so it names the account.
      const policy = queue.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
            ArnLike: { 'aws:SourceArn': `arn:${Stack.of(this).partition}:s3:::*` },
          },
        }),
      );
      const cfnBucket = logBucket.node.defaultChild as s3.CfnBucket;
      cfnBucket.notificationConfiguration = {
        queueConfigurations: [
          {
            event: 's3:ObjectCreated:*',
            queue: queue.queueArn,
            filter: {
              s3Key: {
                rules: [
                  { name: 'prefix', value: filter.prefix },
                  { name: 'suffix', value: filter.suffix },
                ],
              },
            },
          },
        ],
      };
      if (policy.policyDependable) cfnBucket.node.addDependency(policy.policyDependable);
    } else {
      // An existing trail's bucket is not this stack's: CDK's notification resource configures it.
      logBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queue), filter);
      const handler = Stack.of(this).node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER);
      if (handler) {
        acknowledge(
          handler,
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "CDK's own bucket-notification handler (deploy time only); its role and policy are CDK's to define.",
        );
      }
    }
    return queue;
  }

  private grantModelAccess(): void {
    const model = this.modelBucket.arnForObjects('models/*');
    const feedback = this.modelBucket.arnForObjects(`${MODEL_KEYS.labelsPrefix}*`);
    this.trainFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [model, feedback] }),
    );
    this.trainFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.modelBucket.bucketArn] }),
    );
    this.scoreFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [model] }),
    );
    // ListBucket lets a missing model be a 404 (not a 403) for HeadObject.
    this.scoreFunction.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.modelBucket.bucketArn] }),
    );
    this.key.grant(this.trainFunction.role, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.key.grant(this.scoreFunction.role, 'kms:Decrypt');
    for (const [fn, resources] of [
      [this.trainFunction, [model, feedback]],
      [this.scoreFunction, [model]],
    ] as const) {
      for (const resource of resources) {
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Resource::${nagResource(fn, resource)}]`,
          'The model and its labels are objects under one fixed prefix of the bucket this construct owns.',
        );
      }
    }
  }

  private grantFindingOutputs({ config, notifications }: ActivityAnalyticsProps): void {
    const role = this.scoreFunction.role;
    notifications.topic.grantPublish(role);
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      "Topic.grantPublish on the encrypted findings topic: the action set is CDK's, the resource is that one key.",
    );
    // A detector: exempt from the bus policy's Deny on findings.
    notifications.allowPublishFindings(role);
    if (config.detection.securityHub) {
      const stack = Stack.of(this);
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['securityhub:BatchImportFindings'],
          resources: [
            stack.formatArn({
              service: 'securityhub',
              resource: 'product',
              resourceName: `${stack.account}/default`,
            }),
          ],
        }),
      );
    }
  }
}
