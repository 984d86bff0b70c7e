import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient, readRegistry } from '../../layers/decoys/registry';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
import type { TouchMetric } from '../../layers/detection/touch';
import {
  TOUCH_SETTINGS_ENVIRONMENT,
  touchSettingsFromEnvironment,
} from '../../layers/detection/touch-environment';
import { FINDING_SINK_ENVIRONMENT, findingSinkFromEnvironment } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';
import { touchHandler } from './touch-handler';

/** Central bus (CloudTrail events the routing rules matched) → findings. */
const env = readEnvironment({
  STATE_TABLE: { description: 'the state table (registry, dedupe windows, audit)' },
  ...FINDING_SINK_ENVIRONMENT,
  ...TOUCH_SETTINGS_ENVIRONMENT,
});

/**
 * The deployed metric names: anyone who can list metrics (ReadOnlyAccess) reads
 * them, so they are the platform's words, not the detector's ("Touches" would say
 * what is being touched). The source keeps its names; this is where they change.
 */
const METRIC_NAMES: Record<TouchMetric, string> = {
  MatchedCalls: 'MatchedCalls',
  Findings: 'Findings',
  Duplicates: 'Duplicates',
  Allowlisted: 'Allowlisted',
  Ignored: 'Skipped',
  MalformedEvents: 'MalformedEvents',
  OversizedEvents: 'OversizedEvents',
  PublishFailures: 'PublishFailures',
};

const logger = new Logger();
const metrics = new Metrics();
const dynamo = documentClient();

const processEvent = touchHandler({
  ...touchSettingsFromEnvironment(env),
  // Organization mode keeps one registry per member account; single-account mode one
  // for the account, under its own key: the account's, else that one.
  loadResources: async (account) =>
    (
      (account ? await readRegistry({ tableName: env.STATE_TABLE, client: dynamo, account }) : undefined) ??
      (await readRegistry({ tableName: env.STATE_TABLE, client: dynamo }))
    )?.resources ?? [],
  store: new DynamoTouchStore(dynamo, env.STATE_TABLE),
  sink: findingSinkFromEnvironment(env),
  now: () => Date.now(),
  count: (metric, value = 1) => metrics.addMetric(METRIC_NAMES[metric], MetricUnit.Count, value),
  logger,
});

export const handler = async (event: unknown) => {
  try {
    return await processEvent(event);
  } finally {
    metrics.publishStoredMetrics();
  }
};
