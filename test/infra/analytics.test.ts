import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { allRegions, type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { TRAINING_JOB_INPUT } from '../../layers/scoring/events';
import { findTells } from '../../layers/stealth/tells';
import { synthApp } from '../helpers/app';
import { sharedApp } from './shared-app';

const EXISTING_TRAIL = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail';

function template(config: HoneytrailConfigInput = {}): Template {
  return sharedApp(config).template();
}

/** Resources of one type whose logical id starts with the construct's id. */
function analytics(t: Template, type: string): [string, { Properties?: Record<string, unknown> }][] {
  return Object.entries(t.findResources(type)).filter(([id]) => id.startsWith('Analytics'));
}

function variables(fn: { Properties?: Record<string, unknown> }): Record<string, unknown> {
  return (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
}

function functionNamed(t: Template, handlerEnvKey: string) {
  const found = analytics(t, 'AWS::Lambda::Function').find(([, r]) => handlerEnvKey in variables(r));
  if (!found) throw new Error(`no analytics function with ${handlerEnvKey}`);
  return found;
}

describe('model bucket', () => {
  const t = template();

  it('is versioned, KMS-encrypted with its own key, private and TLS-only', () => {
    const [id, bucket] = analytics(t, 'AWS::S3::Bucket')[0]!;
    expect(id).toMatch(/^AnalyticsArtifacts/);
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('only the two functions can decrypt the model (ReadOnlyAccess has no kms:Decrypt on it)', () => {
    const [, key] = analytics(t, 'AWS::KMS::Key')[0]!;
    const policy = key.Properties?.KeyPolicy as { Statement: unknown[] } | undefined;
    const statements = policy?.Statement ?? [];
    // The account root statement (key administration) plus nothing else: role grants live in the role policies.
    expect(statements).toHaveLength(1);
    expect(key.Properties?.EnableKeyRotation).toBe(true);
  });
});

describe('scoring new log files', () => {
  const t = template();

  it('the trail bucket notifies a queue of new log files, filtered to AWSLogs/*.json.gz', () => {
    const queues = analytics(t, 'AWS::SQS::Queue');
    const [deliveryId] = queues.find(([id]) => id.startsWith('AnalyticsDeliveries'))!;
    t.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Event: 's3:ObjectCreated:*',
            Queue: { 'Fn::GetAtt': [deliveryId, 'Arn'] },
            Filter: {
              S3Key: {
                Rules: [
                  { Name: 'prefix', Value: 'AWSLogs/' },
                  { Name: 'suffix', Value: '.json.gz' },
                ],
              },
            },
          },
        ],
      },
    });
    // S3 may send, from this account only; the queue policy exists before the bucket's notification.
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': '111122223333' } }),
          }),
        ]),
      },
    });
  });

  it('the queue is encrypted, TLS-only, with a dead-letter queue; the function reports partial batch failures', () => {
    const queues = analytics(t, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    const [deliveryId, delivery] = queues.find(([id]) => id.startsWith('AnalyticsDeliveries'))!;
    const [failedId, failed] = queues.find(([id]) => id.startsWith('AnalyticsFailed'))!;
    expect(delivery.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [failedId, 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(failed.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [deliveryId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: Match.arrayWith([{ Ref: deliveryId }]),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('the scoring function publishes to the topic and the bus and keeps windows in the state table', () => {
    const [, fn] = functionNamed(t, 'STATE_TABLE');
    expect(variables(fn)).toMatchObject({
      MODEL_BUCKET: { Ref: expect.stringMatching(/^AnalyticsArtifacts/) },
      SECURITY_HUB: 'off',
    });
    expect(fn.Properties?.Timeout).toBe(300);
  });
});

describe('training', () => {
  it('runs on the configured schedule with the job input, and reads the trail bucket', () => {
    const t = template({
      scoring: { trainSchedule: 'rate(3 days)', windowMinutes: 30, trainingDays: 21, threshold: 0.7 },
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(3 days)',
      Targets: [Match.objectLike({ Input: JSON.stringify(TRAINING_JOB_INPUT) })],
    });
    const [, fn] = functionNamed(t, 'HISTORY_DAYS');
    expect(variables(fn)).toMatchObject({
      WINDOW_MINUTES: '30',
      HISTORY_DAYS: '21',
      MIN_THRESHOLD: '0.7',
      TRAIL_BUCKET: { Ref: expect.stringMatching(/^AuditTrailLogBucket/) },
    });
    expect(fn.Properties).toMatchObject({ Timeout: 900, MemorySize: 2048 });
  });

  it('"Finding Labelled" events on the central bus reach the training function, which keeps the label', () => {
    const t = template();
    t.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^NotificationsBus') },
      EventPattern: { source: ['platform.security-findings'], 'detail-type': ['Finding Labelled'] },
    });
  });

  it('an existing trail without a bucket: LookupEvents, and no queue', () => {
    const t = template({ trail: { mode: 'existing', existingTrailArn: EXISTING_TRAIL } });
    expect(analytics(t, 'AWS::SQS::Queue').map(([id]) => id)).toEqual([
      expect.stringMatching(/^AnalyticsFailed/),
    ]);
    expect(analytics(t, 'AWS::Lambda::EventSourceMapping')).toHaveLength(0);
    const [, fn] = functionNamed(t, 'HISTORY_DAYS');
    expect(variables(fn)).toMatchObject({
      TRAIL_BUCKET: '',
      // Every covered region: the 17 enabled by default.
      HISTORY_REGIONS: allRegions(parseConfig({})).join(','),
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'cloudtrail:LookupEvents', Resource: '*' })]),
      },
    });
  });

  it("an existing trail's bucket is configured through CDK's notification resource", () => {
    const t = template({
      trail: { mode: 'existing', existingTrailArn: EXISTING_TRAIL, existingTrailBucket: 'org-trail-logs' },
    });
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'org-trail-logs',
      NotificationConfiguration: {
        QueueConfigurations: [Match.objectLike({ Events: ['s3:ObjectCreated:*'] })],
      },
    });
  });
});

describe('configuration and stealth', () => {
  it('scoring.enabled false deploys none of it', () => {
    const t = template({ scoring: { enabled: false } });
    expect(analytics(t, 'AWS::Lambda::Function')).toHaveLength(0);
    expect(analytics(t, 'AWS::S3::Bucket')).toHaveLength(0);
  });

  it('names, descriptions and environment read as usage analytics, with no tell', () => {
    const t = template();
    const resources = Object.fromEntries(
      Object.entries(t.toJSON().Resources as Record<string, unknown>).filter(([id]) =>
        id.startsWith('Analytics'),
      ),
    );
    expect(Object.keys(resources).length).toBeGreaterThan(10);
    expect(findTells(resources)).toEqual([]);
    const descriptions = analytics(t, 'AWS::Lambda::Function').map(([, r]) => r.Properties?.Description);
    expect(descriptions.sort()).toEqual(['Builds usage baselines', 'Processes audit log deliveries']);
  });

  it.each([
    ['an existing trail with a bucket', { existingTrailBucket: 'org-trail-logs' }],
    ['an existing trail without one', {}],
  ])('cdk-nag reports nothing unacknowledged with %s', (_label, trail) => {
    const { app } = synthApp(
      { trail: { mode: 'existing', existingTrailArn: EXISTING_TRAIL, ...trail } },
      { nag: true },
    );
    expect(() => app.synth()).not.toThrow();
  });
});
