import { Logger } from '@aws-lambda-powertools/logger';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { AwsPrincipalReader, S3EvidenceWriter } from '../../layers/response/aws-adapters';
import { collectEvidence } from '../../layers/response/evidence';
import { decisionSchema } from '../../layers/response/policy';
import { executionRefSchema } from '../../layers/response/state';
import { readEnvironment } from '../../layers/runtime/env';

/** Collects evidence about the principal before anything is changed, and finalises the plan. */
const env = readEnvironment({
  RECORDS_BUCKET: { description: 'the object-locked bucket of evidence and audit records' },
});
const logger = new Logger();
const deps = {
  reader: new AwsPrincipalReader(new IAMClient({}), new CloudTrailClient({})),
  writer: new S3EvidenceWriter(new S3Client({}), env.RECORDS_BUCKET),
  now: () => new Date(),
};

const inputSchema = z.object({ decision: decisionSchema, execution: executionRefSchema });

export const handler = async (event: unknown) => {
  const parsed = inputSchema.safeParse(event);
  if (!parsed.success) throw new Error(`evidence input is malformed: ${parsed.error.message}`);
  const result = await collectEvidence(parsed.data.decision, parsed.data.execution, deps);
  logger.info('evidence collected', { key: result.key, skipped: result.plan.skipped });
  return result;
};
