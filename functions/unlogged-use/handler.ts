import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { IAMClient } from '@aws-sdk/client-iam';
import { documentClient, readRegistry } from '../../layers/decoys/registry';
import { DynamoTouchStore } from '../../layers/detection/dynamo-store';
import { decoyKeys, iamLastUsed } from '../../layers/detection/iam-last-used';
import { checkUnloggedUse, type KeyCheck } from '../../layers/detection/unlogged';
import { FINDING_SINK_ENVIRONMENT, findingSinkFromEnvironment } from '../../layers/findings/aws-sink';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * Schedule → compares each decoy key's last use (IAM) with the calls the touch
 * function saw signed by it; a use CloudTrail never showed is an unlogged-use finding.
 */
const env = readEnvironment({
  STATE_TABLE: { description: 'the state table (registry, key use)' },
  ...FINDING_SINK_ENVIRONMENT,
});
const logger = new Logger();
const metrics = new Metrics();
const dynamo = documentClient();
const iam = new IAMClient({});
const store = new DynamoTouchStore(dynamo, env.STATE_TABLE);
const sink = findingSinkFromEnvironment(env);

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
    // Counts only: this log group is readable with ReadOnlyAccess, and a key id in it
    // would name the planted key (one FilterLogEvents on the id confirms it). The
    // reported uses are findings, with the key, for the operators.
    logger.info('credential usage reviewed', { checked: checks.length, verdicts: countVerdicts(checks) });
    return { checked: checks.length, reported };
  } finally {
    metrics.publishStoredMetrics();
  }
};

function countVerdicts(checks: readonly KeyCheck[]): Partial<Record<KeyCheck['verdict'], number>> {
  const counts: Partial<Record<KeyCheck['verdict'], number>> = {};
  for (const { verdict } of checks) counts[verdict] = (counts[verdict] ?? 0) + 1;
  return counts;
}
