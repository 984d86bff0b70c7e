import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PowertoolsKpiSink } from '../../layers/response/kpi-metrics';
import { SfnExecutionStarter, startResponse } from '../../layers/response/start';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * EventBridge (central bus, finding events) → one response execution per
 * finding. A malformed event throws with what is wrong; the function's
 * on-failure queue keeps it.
 */
const env = readEnvironment({
  WORKFLOW_ARN: { pattern: /^arn:aws[a-z-]*:states:/, description: 'the state machine to start' },
});
const logger = new Logger();
const kpis = new PowertoolsKpiSink(new Metrics());
const starter = new SfnExecutionStarter(new SFNClient({}), env.WORKFLOW_ARN);

export const handler = async (event: unknown) => {
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
