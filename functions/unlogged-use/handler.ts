import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { documentClient, readRegistry } from '../../layers/decoys/registry';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
import { decoyKeys, iamLastUsed } from '../../layers/detection/iam-last-used';
import { checkUnloggedUse } from '../../layers/detection/unlogged';
import { AwsFindingSink } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * Schedule → compares each decoy key's last use (IAM) with the calls the touch
 * function saw signed by it; a use CloudTrail never showed is an unlogged-use finding.
 */
const env = readEnvironment({
  AWS_REGION: { description: 'set by Lambda' },
  STATE_TABLE: { description: 'the state table (registry, key use)' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/, description: 'the findings topic' },
  BUS_NAME: { description: 'the central bus' },
  SECURITY_HUB: { pattern: /^(on|off)$/ },
});
const logger = new Logger();
const metrics = new Metrics();
const dynamo = documentClient();
const iam = new IAMClient({});
const store = new DynamoTouchStore(dynamo, env.STATE_TABLE);
const topicAccount = env.TOPIC_ARN.split(':')[4] ?? '';
const sink = new AwsFindingSink({
  sns: new SNSClient({}),
  topicArn: env.TOPIC_ARN,
  eventBridge: new EventBridgeClient({}),
  busName: env.BUS_NAME,
  ...(env.SECURITY_HUB === 'on'
    ? { securityHub: { client: new SecurityHubClient({}), accountId: topicAccount, region: env.AWS_REGION } }
    : {}),
});

export const handler = async () => {
  try {
    const keys = decoyKeys(await readRegistry({ tableName: env.STATE_TABLE, client: dynamo }));
    const checks = await checkUnloggedUse(
      keys,
      {},
      { lastUsed: iamLastUsed(iam), store, sink, now: () => Date.now() },
    );
    const reported = checks.filter((c) => c.verdict === 'reported').length;
    metrics.addMetric('KeysChecked', MetricUnit.Count, checks.length);
    metrics.addMetric('UnloggedUses', MetricUnit.Count, reported);
    logger.info('decoy keys checked', { checks: checks.map(({ finding: _f, ...check }) => check) });
    return { checked: checks.length, reported };
  } finally {
    metrics.publishStoredMetrics();
  }
};
