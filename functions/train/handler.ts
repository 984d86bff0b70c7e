import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { AthenaQueryEngine, S3OrganizationAccounts } from '../../layers/athena/aws';
import {
  type OrganizationTrainingDeps,
  processOrganizationTrainingEvent,
} from '../../layers/athena/training';
import { EnvironmentError, readEnvironment } from '../../layers/runtime/env';
import { LookupEventsHistory, S3LabelStore, S3ModelStore, S3TrailHistory } from '../../layers/scoring/aws';
import { processTrainingEvent } from '../../layers/scoring/events';

/**
 * Weekly: learn the account's activity from its CloudTrail history. On "Finding Labelled": keep the label.
 * Organization mode (QUERY_WORKGROUP set): the history is the organization trail's, and its
 * per-principal window features come from one Athena query (layers/athena).
 */
const env = readEnvironment({
  MODEL_BUCKET: { description: 'where the model, its status and the labels are kept' },
  TRAIL_BUCKET: { optional: true, description: "the trail's log bucket; empty: LookupEvents" },
  HISTORY_REGIONS: { pattern: /^[a-z0-9-]+(,[a-z0-9-]+)*$/, description: 'regions LookupEvents reads' },
  WINDOW_MINUTES: { pattern: /^\d+$/ },
  HISTORY_DAYS: { pattern: /^\d+$/ },
  MIN_THRESHOLD: { pattern: /^0?\.\d+$/ },
  QUERY_WORKGROUP: { optional: true, pattern: /^[A-Za-z0-9._-]{1,128}$/, description: 'organization mode' },
  QUERY_TABLE: { optional: true, pattern: /^[a-z0-9_]+\.[a-z0-9_]+$/, description: 'database.table' },
  TRAIL_ACCOUNTS: { optional: true, pattern: /^(\*|\d{12}(,\d{12})*)$/, description: "'*' or account ids" },
  TRAIL_ORGANIZATION: { optional: true, pattern: /^o-[a-z0-9]{10,32}$/ },
});

/** Stop reading history with this much time left, to train and write the model. */
const RESERVE_MS = 3 * 60_000;

const logger = new Logger();
const metrics = new Metrics();
const s3 = new S3Client({});
const log = {
  info: (message: string, details?: Record<string, unknown>) => logger.info(message, details ?? {}),
  warn: (message: string, details?: Record<string, unknown>) => logger.warn(message, details ?? {}),
  error: (message: string, details?: Record<string, unknown>) => logger.error(message, details ?? {}),
};
const count = (metric: string, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value);
const history = env.TRAIL_BUCKET
  ? new S3TrailHistory(s3, env.TRAIL_BUCKET)
  : new LookupEventsHistory(
      new Map(
        env.HISTORY_REGIONS.split(',').map((region) => [
          region,
          new CloudTrailClient({ region, retryMode: 'adaptive', maxAttempts: 8 }),
        ]),
      ),
    );
const models = new S3ModelStore(s3, env.MODEL_BUCKET);
const labels = new S3LabelStore(s3, env.MODEL_BUCKET, (key, message) => {
  logger.warn('unreadable label left out', { key, message });
  count('UnreadableLabels');
});

/** Organization mode's dependencies, or undefined in single-account mode. */
function organizationDeps(): Omit<OrganizationTrainingDeps, 'shouldStop'> | undefined {
  if (!env.QUERY_WORKGROUP) return undefined;
  const { QUERY_TABLE: table, TRAIL_ACCOUNTS: accounts, TRAIL_ORGANIZATION: organization } = env;
  if (!table || !accounts || !env.TRAIL_BUCKET || (accounts === '*' && !organization)) {
    throw new EnvironmentError(
      'environment: QUERY_WORKGROUP is set (organization mode) but QUERY_TABLE, TRAIL_ACCOUNTS, TRAIL_BUCKET ' +
        "or (with TRAIL_ACCOUNTS='*') TRAIL_ORGANIZATION is not",
    );
  }
  const [database] = table.split('.') as [string];
  return {
    queries: new AthenaQueryEngine(
      new AthenaClient({ retryMode: 'adaptive', maxAttempts: 8 }),
      env.QUERY_WORKGROUP,
      database,
    ),
    accounts: new S3OrganizationAccounts(s3, env.TRAIL_BUCKET, organization ?? ''),
    models,
    labels,
    settings: {
      windowMinutes: Number(env.WINDOW_MINUTES),
      trainingDays: Number(env.HISTORY_DAYS),
      minThreshold: Number(env.MIN_THRESHOLD),
      table,
      accounts: accounts === '*' ? '*' : accounts.split(','),
    },
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log,
    count,
  };
}
const organization = organizationDeps();

export const handler = async (event: unknown, context: Context) => {
  try {
    if (organization) {
      return await processOrganizationTrainingEvent(event, {
        ...organization,
        shouldStop: () => context.getRemainingTimeInMillis() < RESERVE_MS,
      });
    }
    return await processTrainingEvent(event, {
      history,
      models,
      labels,
      settings: {
        windowMinutes: Number(env.WINDOW_MINUTES),
        trainingDays: Number(env.HISTORY_DAYS),
        minThreshold: Number(env.MIN_THRESHOLD),
      },
      now: () => new Date(),
      shouldStop: () => context.getRemainingTimeInMillis() < RESERVE_MS,
      log,
      count,
    });
  } finally {
    metrics.publishStoredMetrics();
  }
};
