import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { SDK_RETRY } from '../../layers/decoys/aws-errors';
import { awsPorts } from '../../layers/decoys/aws-ports';
import {
  answerCustomResource,
  type CustomResourceEvent,
  customResourceEventSchema,
  customResourceWork,
  httpsSender,
  physicalIdOf,
  responseBody,
} from '../../layers/decoys/custom-resource';
import { StackSetAccountListing, stsMemberConnector } from '../../layers/decoys/member-aws';
import { memberAccounts, OrganizationPlanter } from '../../layers/decoys/members';
import { Planter, sleepFor } from '../../layers/decoys/planter';
import { cryptoRandom } from '../../layers/decoys/random';
import {
  looksLikeRefresh,
  type RefreshRequest,
  refreshOptionsOf,
  refreshRequestSchema,
} from '../../layers/decoys/refresh-request';
import { DynamoRegistry, documentClient } from '../../layers/decoys/registry';
import { loggedBucketSelectors } from '../../layers/detection/trail-selectors';
import { readEnvironment } from '../../layers/runtime/env';
import { issueLines } from '../../layers/runtime/issues';

/**
 * The planter: a CloudFormation custom resource (create, update, delete) and the
 * scheduled refresh ({"action":"refresh"}). Wiring only; the logic is in
 * layers/decoys (planter.ts, custom-resource.ts).
 */

const logger = new Logger();

function wire() {
  const env = readEnvironment({
    STATE_TABLE: { description: 'the state table, where the registry lives' },
    EXISTING_TRAIL_ARN: {
      optional: true,
      pattern: /^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail\/.+$/,
    },
    // The stack's own trail, when the planter sets its object-event selectors.
    TRAIL_ARN: { optional: true, pattern: /^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail\/.+$/ },
    TRAIL_BUCKET: { optional: true },
    AWS_REGION: { description: 'set by Lambda' },
    // Organization mode: the role each member account has (account `*`), and which accounts.
    MEMBER_ROLE_ARN: { optional: true, pattern: /^arn:aws[a-z-]*:iam::\*:role\/.+$/ },
    MEMBER_ACCOUNTS: { optional: true, pattern: /^\d{12}(,\d{12})*$/ },
    MEMBER_UNITS: { optional: true },
    MEMBER_STACK_SET: { optional: true },
  });
  const dynamo = new DynamoDBClient({ region: env.AWS_REGION, ...SDK_RETRY });
  const registry = new DynamoRegistry(documentClient(dynamo), env.STATE_TABLE);
  const ports = awsPorts(env.AWS_REGION);

  // Duplicate deliveries (CloudFormation or EventBridge retries) do the work once.
  // One persistence layer per idempotent function: each binds to its own key path.
  const persistence = (kind: string) =>
    new DynamoDBPersistenceLayer({
      tableName: env.STATE_TABLE,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: `requests#${kind}`,
      expiryAttr: 'expiresAt',
      awsSdkV3Client: dynamo,
    });

  const newPlanter = () =>
    new Planter({
      ...ports,
      registry,
      clock: () => new Date(),
      random: cryptoRandom,
      region: env.AWS_REGION,
      log: logger,
      // A run's writes are seconds apart, as a real job's (cadence.ts).
      sleep: sleepFor,
      ...(env.TRAIL_ARN && env.TRAIL_BUCKET
        ? {
            trailSelectors: {
              port: ports.trail,
              arn: env.TRAIL_ARN,
              trailBucket: env.TRAIL_BUCKET,
              selectors: (input) =>
                loggedBucketSelectors({ ...input, partition: env.TRAIL_ARN?.split(':')[1] ?? 'aws' }),
            },
          }
        : {}),
    });

  // Organization mode: this account holds no decoys; each member account is planted
  // through its role, with its own registry item (layers/decoys/members.ts).
  const memberRole = env.MEMBER_ROLE_ARN;
  const organizationPlanter = (ownAccount: string) => {
    if (!memberRole) return undefined;
    const list = (value: string | undefined) => (value ? value.split(',').filter(Boolean) : []);
    const listing = env.MEMBER_STACK_SET
      ? new StackSetAccountListing(
          new CloudFormationClient({ region: env.AWS_REGION, ...SDK_RETRY }),
          env.MEMBER_STACK_SET,
        )
      : undefined;
    return new OrganizationPlanter({
      accounts: () =>
        memberAccounts(
          { accounts: list(env.MEMBER_ACCOUNTS), organizationalUnitIds: list(env.MEMBER_UNITS) },
          ownAccount,
          listing,
        ),
      connect: stsMemberConnector({
        sts: new STSClient({ region: env.AWS_REGION, ...SDK_RETRY }),
        rolePattern: memberRole,
        region: env.AWS_REGION,
        sessionName: 'platform-operations',
      }),
      registryFor: (account) => new DynamoRegistry(documentClient(dynamo), env.STATE_TABLE, account),
      planter: {
        clock: () => new Date(),
        random: cryptoRandom,
        region: env.AWS_REGION,
        log: logger,
        sleep: sleepFor,
      },
      // The role may be minutes old (the access StackSet deploys just before): IAM is eventually consistent.
      retry: { sleep: sleepFor },
      roleName: memberRole.split('/').at(-1),
    });
  };

  const refresh = async (event: RefreshRequest, context: Context) => {
    const members = organizationPlanter(accountOf(context));
    if (members) {
      const outcomes = await members.refresh(refreshOptionsOf(event));
      // Counts only: the logs are readable with ReadOnlyAccess.
      logger.info('rotation done', { accounts: outcomes.length });
      return { accounts: outcomes.length };
    }
    // reason "response" (the workflow, after the reserved key was used) rotates the key now.
    const { rotated, parameters, objects, secrets } = await newPlanter().refresh(refreshOptionsOf(event));
    // Counts only (the logs are readable with ReadOnlyAccess): no names, no key ids.
    const counts = { rotated, parameters, objects, secrets };
    logger.info('rotation done', counts);
    return counts;
  };

  const answer = async (event: CustomResourceEvent, context: Context) => {
    const planter = organizationPlanter(accountOf(context)) ?? newPlanter();
    return answerCustomResource(event, {
      work: (e) =>
        customResourceWork(e, {
          planter,
          trail: env.EXISTING_TRAIL_ARN ? { port: ports.trail, arn: env.EXISTING_TRAIL_ARN } : undefined,
          log: logger,
        }),
      sender: httpsSender,
      remainingMs: () => context.getRemainingTimeInMillis(),
      step: () => planter.step,
      logHint: logHint(context),
      log: logger,
    });
  };

  return {
    answer,
    refreshOnce: makeIdempotent(refresh, {
      persistenceStore: persistence('refresh'),
      config: new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: 6 * 3600 }),
    }),
    answerOnce: makeIdempotent(answer, {
      persistenceStore: persistence('stack'),
      config: new IdempotencyConfig({ eventKeyJmesPath: 'RequestId' }),
    }),
  };
}

/** The function's own account, from its ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME). */
function accountOf(context: Context): string {
  const account = context.invokedFunctionArn?.split(':')[4] ?? '';
  if (!/^\d{12}$/.test(account))
    throw new Error(`cannot read the account from the function ARN ${context.invokedFunctionArn}`);
  return account;
}

function logHint(context: Context): string {
  return `Details: log group ${context.logGroupName}, stream ${context.logStreamName}`;
}

// Read the environment and build clients once per container. A failure is kept,
// not thrown: a custom resource request must still get its FAILED answer.
const wired = (() => {
  try {
    return { ok: true as const, ...wire() };
  } catch (error) {
    return { ok: false as const, error: error as Error };
  }
})();

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  logger.addContext(context);
  const custom = customResourceEventSchema.safeParse(event);
  if (custom.success) {
    logger.info('custom resource request', {
      requestType: custom.data.RequestType,
      requestId: custom.data.RequestId,
    });
    if (!wired.ok) return answerFailed(custom.data, `${wired.error.message}. ${logHint(context)}`);
    try {
      return await wired.answerOnce(custom.data, context);
    } catch (error) {
      // A duplicate still in progress answers by itself; rethrow so Lambda retries later.
      if (error instanceof IdempotencyAlreadyInProgressError) throw error;
      if (error instanceof Error && error.message.startsWith('could not deliver')) throw error;
      // The idempotency store failed: the work is idempotent, do it without the store.
      logger.warn('idempotency store unavailable, answering without it', { error: String(error) });
      return wired.answer(custom.data, context);
    }
  }

  if (!wired.ok) throw wired.error;
  const refresh = refreshRequestSchema.safeParse(event);
  if (refresh.success) return wired.refreshOnce(refresh.data, context);
  if (looksLikeRefresh(event))
    throw new Error(
      `malformed refresh request: ${issueLines(refresh.error, { root: '(event)' }).join('; ')}`,
    );

  // Neither: nothing to answer. Say what arrived and what was expected.
  const keys = event && typeof event === 'object' ? Object.keys(event).join(', ') : typeof event;
  throw new Error(
    `unexpected event (keys: ${keys}): expected {"action":"refresh"} or a CloudFormation custom resource ` +
      `request (${issueLines(custom.error).join('; ')})`,
  );
};

async function answerFailed(event: CustomResourceEvent, reason: string) {
  const outcome = { status: 'FAILED' as const, physicalResourceId: physicalIdOf(event), reason };
  logger.error('answering FAILED before any work', { reason });
  await httpsSender.send(event.ResponseURL, responseBody(event, outcome));
  return outcome;
}
