/**
 * Turns SDK errors into errors that name the call and the resource, so a failed
 * deployment's Reason says what to fix ("iam:CreateUser on arn:...:user/x was
 * denied"), not just "AccessDenied".
 */

/** Retries with exponential backoff and jitter, done by the SDK itself (standard mode). */
export const SDK_RETRY = { maxAttempts: 8, retryMode: 'standard' } as const;

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'AuthorizationError',
  // SNS's class for the AuthorizationError code.
  'AuthorizationErrorException',
  'InsufficientPermissionsException',
]);

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

export type AwsErrorKind = 'denied' | 'throttled' | 'other';

export class AwsCallError extends Error {
  override readonly name = 'AwsCallError';
  constructor(
    readonly action: string,
    readonly resource: string,
    readonly code: string,
    readonly kind: AwsErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The AWS error code of an SDK error, or '' for anything else. The SDK's name
 * comes first: it is the exception class's name for a modelled error (IAM's
 * NoSuchEntityException, whose wire `Code` is NoSuchEntity) and the wire code
 * for an unmodelled one (AccessDenied), so it is the same in every protocol.
 * `Code`/`code` remain for errors that only carry those (Node's ECONNRESET).
 */
export function errorCode(error: unknown): string {
  if (!error || typeof error !== 'object') return '';
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const candidate of [e.name, e.Code, e.code]) {
    if (typeof candidate === 'string' && candidate && candidate !== 'Error') return candidate;
  }
  return '';
}

export function hasCode(error: unknown, ...codes: string[]): boolean {
  if (error instanceof AwsCallError) return codes.includes(error.code);
  return codes.includes(errorCode(error));
}

export function describeAwsError(action: string, resource: string, error: unknown): AwsCallError {
  if (error instanceof AwsCallError) return error;
  const code = errorCode(error) || 'UnknownError';
  const detail = error instanceof Error ? error.message : String(error);
  const attempts = (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
  if (DENIED.has(code)) {
    return new AwsCallError(
      action,
      resource,
      code,
      'denied',
      `${action} on ${resource} was denied (${code}): the function's role needs ${action} on it, ` +
        `or a service control policy, permissions boundary or resource policy denies it. AWS said: ${detail}`,
      { cause: error },
    );
  }
  if (THROTTLED.has(code)) {
    return new AwsCallError(
      action,
      resource,
      code,
      'throttled',
      `${action} on ${resource} was throttled (${code})${attempts ? ` on all ${attempts} attempts` : ''}; ` +
        'nothing was lost, retrying later is safe',
      { cause: error },
    );
  }
  return new AwsCallError(
    action,
    resource,
    code,
    'other',
    `${action} on ${resource} failed: ${code}: ${detail}`,
    {
      cause: error,
    },
  );
}

/** Was the call denied (an SDK error or an AwsCallError of the denied kind)? */
export function isDenied(error: unknown): boolean {
  if (error instanceof AwsCallError) return error.kind === 'denied';
  return DENIED.has(errorCode(error));
}

/** Runs one AWS call and rethrows its error with the action and resource named. */
export async function awsCall<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw describeAwsError(action, resource, error);
  }
}
