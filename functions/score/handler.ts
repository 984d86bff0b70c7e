import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AwsFindingSink } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';
import { DynamoWindowStore, S3LogObjects, S3ModelStore } from '../../layers/scoring/aws';
import { processScoringBatch } from '../../layers/scoring/events';
import { modelCache } from '../../layers/scoring/service';

/** Trail bucket → S3 notification → SQS → here: score the delivered log files. */
const env = readEnvironment({
  AWS_REGION: { description: 'set by Lambda' },
  MODEL_BUCKET: { description: 'the bucket the training function writes the model to' },
  STATE_TABLE: { description: 'the state table (principal-windows between log files)' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/, description: 'the findings topic' },
  BUS_NAME: { description: 'the central bus' },
  ACCOUNT_ID: { pattern: /^\d{12}$/ },
  SECURITY_HUB: { pattern: /^(on|off)$/ },
});

const logger = new Logger();
const metrics = new Metrics();
const s3 = new S3Client({});
const count = (metric: string, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value);
const log = {
  info: (message: string, details?: Record<string, unknown>) => logger.info(message, details ?? {}),
  warn: (message: string, details?: Record<string, unknown>) => logger.warn(message, details ?? {}),
  error: (message: string, details?: Record<string, unknown>) => logger.error(message, details ?? {}),
};
// Module scope: the parsed model survives between invocations of a warm container.
const models = modelCache(new S3ModelStore(s3, env.MODEL_BUCKET), {
  checkEveryMs: 5 * 60_000,
  now: () => Date.now(),
  log,
  count,
});
const deps = {
  logs: new S3LogObjects(s3),
  models,
  windows: new DynamoWindowStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    env.STATE_TABLE,
  ),
  sink: new AwsFindingSink({
    sns: new SNSClient({}),
    topicArn: env.TOPIC_ARN,
    eventBridge: new EventBridgeClient({}),
    busName: env.BUS_NAME,
    ...(env.SECURITY_HUB === 'on'
      ? {
          securityHub: {
            client: new SecurityHubClient({}),
            accountId: env.ACCOUNT_ID,
            region: env.AWS_REGION,
          },
        }
      : {}),
  }),
  now: () => Date.now(),
  log,
  count,
};

export const handler = async (event: unknown) => {
  try {
    return await processScoringBatch(event, deps);
  } finally {
    metrics.publishStoredMetrics();
  }
};
