import { type CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { findingIdOfExecution, type RevertInput, revertExecutionName } from './state';

/**
 * What the operator commands do (`approve`, `deny`, `revert`, `audit`'s bucket
 * lookup), over SDK clients built from the standard settings. Kept out of the
 * commands so tests drive them with mocked clients.
 */

export class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

/** Who is calling: recorded as the approver or the requester. */
export async function callerArn(sts: STSClient): Promise<string> {
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  return identity.Arn ?? 'unknown';
}

function explainTaskError(error: unknown): never {
  const name = (error as { name?: string })?.name ?? '';
  if (name === 'TaskTimedOut')
    throw new OperatorError(
      'that approval has timed out or was already answered: no action was or will be taken by it',
    );
  if (name === 'TaskDoesNotExist')
    throw new OperatorError('no response is waiting for that token (answered, timed out, or stopped)');
  if (name === 'InvalidToken')
    throw new OperatorError('that is not a task token (copy it whole from the message)');
  throw error;
}

export async function approve(
  clients: { sfn: SFNClient; sts: STSClient },
  token: string,
  options: { reason?: string; now?: Date } = {},
): Promise<{ approver: string }> {
  const approver = await callerArn(clients.sts);
  const output = {
    approved: true,
    approver,
    reason: options.reason ?? '',
    at: (options.now ?? new Date()).toISOString(),
  };
  try {
    await clients.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
  } catch (error) {
    explainTaskError(error);
  }
  return { approver };
}

export async function deny(
  clients: { sfn: SFNClient; sts: STSClient },
  token: string,
  options: { reason?: string; falsePositive?: boolean } = {},
): Promise<{ approver: string }> {
  const approver = await callerArn(clients.sts);
  const cause = { approver, reason: options.reason ?? '', falsePositive: options.falsePositive ?? false };
  try {
    await clients.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalDenied', cause: JSON.stringify(cause) }),
    );
  } catch (error) {
    explainTaskError(error);
  }
  return { approver };
}

const EXECUTION_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):execution:([^:]+):([^:]+)$/;

/** The state machine an execution belongs to, from the execution's ARN. */
export function stateMachineOf(executionArn: string): string {
  const match = EXECUTION_ARN.exec(executionArn);
  if (!match)
    throw new OperatorError(
      `expected an execution ARN such as arn:aws:states:us-east-1:123456789012:execution:<state machine>:<name> (got "${executionArn}")`,
    );
  const [, partition, region, account, machine] = match;
  return `arn:${partition}:states:${region}:${account}:stateMachine:${machine}`;
}

export async function revert(
  clients: { sfn: SFNClient; sts: STSClient },
  executionArn: string,
  options: { reason?: string; falsePositive?: boolean; now?: Date } = {},
): Promise<{ executionArn: string }> {
  const stateMachineArn = stateMachineOf(executionArn);
  const findingId = findingIdOfExecution(executionArn);
  if (!findingId)
    throw new OperatorError(`${executionArn} is not a response execution (its name starts with f-)`);
  const requestedBy = await callerArn(clients.sts);
  const input: RevertInput = {
    mode: 'revert',
    revertOf: executionArn,
    requestedBy,
    reason: options.reason ?? '',
    falsePositive: options.falsePositive ?? false,
  };
  const started = await clients.sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      name: revertExecutionName(findingId, options.now ?? new Date()),
      input: JSON.stringify(input),
    }),
  );
  return { executionArn: started.executionArn ?? '' };
}

/** The records bucket of a deployed stack, found by its logical id (no output names it). */
export async function findRecordsBucket(
  cloudformation: CloudFormationClient,
  stackName: string,
  logicalIdPrefix: string,
): Promise<string> {
  let token: string | undefined;
  do {
    const page = await cloudformation.send(
      new ListStackResourcesCommand({ StackName: stackName, NextToken: token }),
    );
    const bucket = (page.StackResourceSummaries ?? []).find(
      (r) => r.ResourceType === 'AWS::S3::Bucket' && r.LogicalResourceId?.startsWith(logicalIdPrefix),
    );
    if (bucket?.PhysicalResourceId) return bucket.PhysicalResourceId;
    token = page.NextToken;
  } while (token);
  throw new OperatorError(
    `stack ${stackName} has no records bucket (is the response deployed?); pass --bucket`,
  );
}

/** `--since`: an ISO time, or a duration back from now such as 30m, 24h, 7d. */
export function parseSince(value: string, now = new Date()): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed))
    throw new OperatorError(`--since: expected an ISO time or a duration such as 24h or 7d (got "${value}")`);
  return new Date(parsed);
}
