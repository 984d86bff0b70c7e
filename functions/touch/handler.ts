import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient, readRegistry } from '../../layers/decoys/registry';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
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

const logger = new Logger();
const metrics = new Metrics();
const dynamo = documentClient();

const processEvent = touchHandler({
  ...touchSettingsFromEnvironment(env),
  loadDecoys: async () => (await readRegistry({ tableName: env.STATE_TABLE, client: dynamo }))?.decoys ?? [],
  store: new DynamoTouchStore(dynamo, env.STATE_TABLE),
  sink: findingSinkFromEnvironment(env),
  now: () => Date.now(),
  count: (metric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value),
  logger,
});

export const handler = async (event: unknown) => {
  try {
    return await processEvent(event);
  } finally {
    metrics.publishStoredMetrics();
  }
};
