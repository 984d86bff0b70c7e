import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PowertoolsKpiSink } from '../../layers/response/kpi-metrics';
import { countLabel, isLabelEvent, SfnExecutionStarter, startResponse } from '../../layers/response/start';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * EventBridge (central bus) → one response execution per finding; "Finding
 * Labelled" events are counted (false positives). A malformed event throws with
 * what is wrong; the function's on-failure queue keeps it.
 */
const env = readEnvironment({
  WORKFLOW_ARN: { pattern: /^arn:aws[a-z-]*:states:/, description: 'the state machine to start' },
});
const logger = new Logger();
const kpis = new PowertoolsKpiSink(new Metrics());
const starter = new SfnExecutionStarter(new SFNClient({}), env.WORKFLOW_ARN);

export const handler = async (event: unknown) => {
  if (isLabelEvent(event)) {
    const labelled = countLabel(event);
    kpis.publish(labelled.kpis);
    logger.info('finding labelled', { findingId: labelled.findingId, label: labelled.label });
    return { labelled: labelled.label };
  }
  const result = await startResponse(event, { starter, now: () => new Date() });
  kpis.publish(result.kpis);
  logger.info(result.duplicate ? 'duplicate finding: response already started' : 'response started', {
    executionName: result.executionName,
    executionArn: result.executionArn,
  });
  return {
    executionName: result.executionName,
    executionArn: result.executionArn,
    duplicate: result.duplicate,
  };
};
