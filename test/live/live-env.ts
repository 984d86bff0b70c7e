import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EMULATOR_VARIABLE, emulator } from './emulator';

/**
 * Decides whether a live suite runs, from the SDK's standard settings only:
 * region (AWS_REGION, AWS_DEFAULT_REGION or the shared config), credentials (the
 * default provider chain), and an optional AWS_ENDPOINT_URL for an AWS-compatible
 * endpoint, which every SDK client picks up by itself. It proves the credentials
 * with sts:GetCallerIdentity: nothing configured skips with a message, configured
 * but failing fails. Usage in a suite:
 *
 *   const live = await liveEnvironment();
 *   describe.skipIf(!live.ok)('...', () => { const { account, region } = live as LiveEnvironment; ... });
 */

export interface LiveEnvironment {
  ok: true;
  region: string;
  account: string;
  /** The caller, for messages. */
  callerArn: string;
  endpoint: string | undefined;
}

export interface LiveSkip {
  ok: false;
  reason: string;
}

function sharedConfigPresent(): boolean {
  const config = process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config');
  const credentials = process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials');
  return existsSync(config) || existsSync(credentials);
}

/** Credential sources the default chain can use without a network probe. */
function credentialSourceHint(): boolean {
  const env = process.env;
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      sharedConfigPresent(),
  );
}

let cached: Promise<LiveEnvironment | LiveSkip> | undefined;

export function liveEnvironment(): Promise<LiveEnvironment | LiveSkip> {
  cached ??= detect();
  return cached;
}

async function detect(): Promise<LiveEnvironment | LiveSkip> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  // An emulator's skips must never apply to a real account.
  if (emulator() && !endpoint)
    throw new Error(
      `[live] ${EMULATOR_VARIABLE}=${emulator()} but no AWS_ENDPOINT_URL: run through vitest.live.config.ts ` +
        '(its global setup starts the emulator), or unset the variable to test a real account',
    );
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region && !sharedConfigPresent()) {
    return skip('no AWS region configured (set AWS_REGION or a profile with a region)');
  }
  // The instance-metadata probe is allowed only where one is expected (it costs seconds elsewhere).
  if (
    !credentialSourceHint() &&
    !process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT &&
    !process.env.LIVE_TRY_IMDS
  ) {
    return skip(
      'no AWS credentials configured (environment, profile, web identity or container credentials)',
    );
  }
  const sts = new STSClient({ ...(region ? { region } : {}), maxAttempts: 2 });
  try {
    const resolvedRegion = await sts.config.region();
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (!identity.Account || !identity.Arn) return skip('sts:GetCallerIdentity returned no account');
    return { ok: true, region: resolvedRegion, account: identity.Account, callerArn: identity.Arn, endpoint };
  } catch (error) {
    // Configured but not working is a failure to report, not a reason to skip quietly.
    throw new Error(
      `[live] AWS settings are configured but sts:GetCallerIdentity failed` +
        `${endpoint ? ` at ${endpoint}` : ''}: ${(error as Error).name}: ${(error as Error).message}`,
    );
  } finally {
    sts.destroy();
  }
}

function skip(reason: string): LiveSkip {
  const message =
    `[live] skipped: ${reason}. Configure credentials and a region (optionally AWS_ENDPOINT_URL) to run it, ` +
    `or run it against moto on loopback with ${EMULATOR_VARIABLE}=moto (npm run test:live:moto).`;
  // Printed once per suite file, so `npm run test:live` says why nothing ran.
  console.warn(message);
  return { ok: false, reason: message };
}
