import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FINDING_SINK_ENVIRONMENT, findingSinkFromEnvironment } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';
import { DynamoWindowStore, S3LogObjects, S3ModelStore } from '../../layers/scoring/aws';
import { processScoringBatch } from '../../layers/scoring/events';
import { modelCache } from '../../layers/scoring/service';

/** Trail bucket → S3 notification → SQS → here: score the delivered log files. */
const env = readEnvironment({
  MODEL_BUCKET: { description: 'the bucket the training function writes the model to' },
  STATE_TABLE: { description: 'the state table (principal-windows between log files)' },
  ACCOUNT_ID: { pattern: /^\d{12}$/ },
  ...FINDING_SINK_ENVIRONMENT,
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
  sink: findingSinkFromEnvironment(env),
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
