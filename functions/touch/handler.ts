import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { documentClient, readRegistry } from '../../layers/decoys/registry';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
import { AwsFindingSink } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';
import { touchHandler } from './touch-handler';

/** Central bus (CloudTrail events the routing rules matched) → findings. */
const env = readEnvironment({
  AWS_REGION: { description: 'set by Lambda' },
  STATE_TABLE: { description: 'the state table (registry, dedupe windows, audit)' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/, description: 'the findings topic' },
  BUS_NAME: { description: 'the central bus' },
  SECURITY_HUB: { pattern: /^(on|off)$/ },
  ROUTE_PREFIX: { description: 'the routing rules name prefix' },
  AUDIT_TRAIL_NAME: {},
  AUDIT_TRAIL_ARN: { pattern: /^arn:aws[a-z-]*:cloudtrail:/ },
  TRUSTED_ROLE_ARNS: {
    optional: true,
    description: 'comma-separated role ARNs whose calls are the platform own',
  },
  KEY_ARN: { optional: true },
  WINDOW_MINUTES: { pattern: /^\d+$/ },
  ALLOWED_PRINCIPALS: { optional: true },
  ALLOWED_CIDRS: { optional: true },
});
const list = (value: string | undefined) => (value ? value.split(',').filter(Boolean) : []);

const logger = new Logger();
const metrics = new Metrics();
const dynamo = documentClient();
// The findings topic is this stack's, so its ARN names this account (an existing trail may not).
const accountId = env.TOPIC_ARN.split(':')[4] ?? '';
const sink = new AwsFindingSink({
  sns: new SNSClient({}),
  topicArn: env.TOPIC_ARN,
  eventBridge: new EventBridgeClient({}),
  busName: env.BUS_NAME,
  ...(env.SECURITY_HUB === 'on'
    ? { securityHub: { client: new SecurityHubClient({}), accountId, region: env.AWS_REGION } }
    : {}),
});

const processEvent = touchHandler({
  settings: {
    context: {
      trailName: env.AUDIT_TRAIL_NAME,
      trailArn: env.AUDIT_TRAIL_ARN,
      ruleNamePrefix: env.ROUTE_PREFIX,
      busName: env.BUS_NAME,
      trustedRoleArns: list(env.TRUSTED_ROLE_ARNS),
    },
    windowMinutes: Number(env.WINDOW_MINUTES),
    allowlist: compileAllowlist({
      principalArns: list(env.ALLOWED_PRINCIPALS),
      cidrs: list(env.ALLOWED_CIDRS),
    }),
  },
  keyArn: env.KEY_ARN,
  loadDecoys: async () => (await readRegistry({ tableName: env.STATE_TABLE, client: dynamo }))?.decoys ?? [],
  store: new DynamoTouchStore(dynamo, env.STATE_TABLE),
  sink,
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
