import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoFindingRecords } from '../../layers/findings/records';
import { SnsNotifier } from '../../layers/response/aws-adapters';
import { PowertoolsKpiSink } from '../../layers/response/kpi-metrics';
import { S3ReceivedFindings } from '../../layers/response/received';
import { S3RefusalLog } from '../../layers/response/refusals';
import {
  countLabel,
  type IntakeDeps,
  isLabelEvent,
  SfnExecutionStarter,
  startResponse,
} from '../../layers/response/start';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * EventBridge (central bus) → one response execution per finding; "Finding
 * Labelled" events are counted (false positives). A finding no detector recorded
 * is refused: kept in the records bucket, counted and mailed, nothing started.
 * A malformed event throws with what is wrong; the function's on-failure queue
 * keeps it.
 */
const env = readEnvironment({
  WORKFLOW_ARN: { pattern: /^arn:aws[a-z-]*:states:/, description: 'the state machine to start' },
  STATE_TABLE: { description: 'the state table, where detectors record the findings they publish' },
  RECORDS_BUCKET: { description: 'the object-locked bucket accepted and refused findings are kept in' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/, description: 'the notifications topic' },
});
const logger = new Logger();
const kpis = new PowertoolsKpiSink(new Metrics());
const s3 = new S3Client({});
const deps = {
  starter: new SfnExecutionStarter(new SFNClient({}), env.WORKFLOW_ARN),
  records: new DynamoFindingRecords(DynamoDBDocumentClient.from(new DynamoDBClient({})), env.STATE_TABLE),
  refusals: new S3RefusalLog(s3, env.RECORDS_BUCKET),
  received: new S3ReceivedFindings(s3, env.RECORDS_BUCKET),
  alerts: new SnsNotifier(new SNSClient({}), env.TOPIC_ARN),
  now: () => new Date(),
} satisfies IntakeDeps;

export const handler = async (event: unknown) => {
  if (isLabelEvent(event)) {
    const labelled = countLabel(event);
    kpis.publish(labelled.kpis);
    logger.info('finding labelled', { findingId: labelled.findingId, label: labelled.label });
    return { labelled: labelled.label };
  }
  const result = await startResponse(event, deps);
  kpis.publish(result.kpis);
  if (result.refused) {
    logger.warn('finding rejected: not issued by the platform', { ...result.refused });
    return { refused: result.refused.reason, findingId: result.refused.findingId };
  }
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
