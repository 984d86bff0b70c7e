import { Logger } from '@aws-lambda-powertools/logger';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { stepPlanSchema } from '../../layers/response/plan';
import {
  cleanupNewKeys,
  IamKeyAdmin,
  rotateKey,
  SecretsManagerVault,
  SsmParameterVault,
  StsKeyCheck,
} from '../../layers/response/rotate';

/**
 * Creates and stores a user's new access key in one step (the secret never
 * enters the state machine's data) and confirms it works (sts:GetCallerIdentity
 * signed with it) before the old key may be deleted; or deletes new keys that
 * were not stored.
 */
const logger = new Logger();
const keys = new IamKeyAdmin(new IAMClient({}));
// Each check signs with the new key itself, so it needs no permission of this function's.
const check = new StsKeyCheck();
const vaults = {
  'secrets-manager': new SecretsManagerVault(new SecretsManagerClient({})),
  'ssm-parameter': new SsmParameterVault(new SSMClient({})),
};

const inputSchema = z.object({ op: z.enum(['rotate', 'cleanup']), plan: stepPlanSchema });

export const handler = async (event: unknown) => {
  const parsed = inputSchema.safeParse(event);
  if (!parsed.success) throw new Error(`rotation input is malformed: ${parsed.error.message}`);
  const { op, plan } = parsed.data;
  const vault = vaults[plan.keyStore];
  if (op === 'rotate') {
    const result = await rotateKey(plan, { keys, vault, check, now: () => new Date() });
    logger.info('key rotated', { user: plan.userName, newAccessKeyId: result.newAccessKeyId });
    return result;
  }
  const result = await cleanupNewKeys(plan, { keys, vault });
  logger.info('new keys cleaned up', { user: plan.userName, ...result });
  return result;
};
