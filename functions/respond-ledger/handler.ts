import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readRegistry } from '../../layers/decoys/registry';
import { SfnEscalation, SnsNotifier } from '../../layers/response/aws-adapters';
import { DynamoBudgetStore, DynamoIncidentStore } from '../../layers/response/incident-store';
import { PowertoolsKpiSink } from '../../layers/response/kpi-metrics';
import { type LedgerDeps, monotonicClock, runLedger } from '../../layers/response/ledger';
import { decodePolicy } from '../../layers/response/policy';
import { S3ReceivedFindings } from '../../layers/response/received';
import { S3AuditStore } from '../../layers/response/s3-audit-store';
import { readEnvironment } from '../../layers/runtime/env';

/**
 * The state machine's ledger: decides by policy, records every decision and
 * action before and after, asks for approval and notifies. Findings of one actor
 * group into one incident with one response per principal (state table). Retries of the same
 * state write nothing twice (records are conditional puts named by state).
 */
const env = readEnvironment({
  RECORDS_BUCKET: { description: 'the object-locked bucket of evidence and audit records' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/ },
  RESPONSE_POLICY: { description: 'the response policy as JSON' },
  STATE_TABLE: { description: 'the state table (registry, incidents, automation budget)' },
});
const policy = decodePolicy(env.RESPONSE_POLICY);
const logger = new Logger();
const kpis = new PowertoolsKpiSink(new Metrics());
/** The planted users, from the registry: one read per decision, so never stale. */
async function reservedUsers(): Promise<readonly string[]> {
  const view = await readRegistry({ tableName: env.STATE_TABLE });
  return (view?.resources ?? []).filter((d) => d.kind === 'iam-user').map((d) => d.name);
}
// `satisfies` so a renamed port is a compile error here, not a silently missing dependency.
const s3 = new S3Client({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const deps = {
  incidents: new DynamoIncidentStore(doc, env.STATE_TABLE),
  budget: new DynamoBudgetStore(doc, env.STATE_TABLE),
  escalation: new SfnEscalation(new SFNClient({})),
  reservedUsers,
  store: new S3AuditStore(s3, env.RECORDS_BUCKET),
  findings: new S3ReceivedFindings(s3, env.RECORDS_BUCKET),
  notifier: new SnsNotifier(new SNSClient({}), env.TOPIC_ARN),
  policy,
  now: monotonicClock(),
  evidenceLocation: `s3://${env.RECORDS_BUCKET}`,
} satisfies LedgerDeps;

export const handler = async (event: unknown) => {
  const { result, kpis: produced } = await runLedger(event, deps);
  kpis.publish(produced);
  const input = event as { op?: string; record?: string; execution?: { arn?: string } };
  logger.info('ledger', { op: input.op, record: input.record, execution: input.execution?.arn });
  return result;
};
