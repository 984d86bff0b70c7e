import type { Command } from 'commander';

/** `--region` / `--profile`, on every command that talks to AWS. */
export interface AwsOptions {
  region?: string;
  profile?: string;
}

/** What the SDK clients of a command are made with: the region resolved, the profile if one was named. */
export interface AwsSettings {
  region: string;
  profile?: string;
}

export function withAwsOptions(
  command: Command,
  regionHelp = 'AWS region (default: AWS_REGION or the profile)',
): Command {
  return command
    .option('--region <region>', regionHelp)
    .option(
      '--profile <name>',
      'AWS profile from ~/.aws/config (default: AWS_PROFILE, or the default chain)',
    );
}

/**
 * Resolves the region the way the SDK would (option, AWS_REGION, the profile) before
 * any work, runs `work` with it, and turns a credentials failure into what is missing
 * and how to set it (alone, the SDK says "Region is missing" or "Could not load
 * credentials from any providers"). `hint` says where the deployment lives.
 */
export async function withAws<T>(
  options: AwsOptions,
  hint: string | undefined,
  work: (settings: AwsSettings) => Promise<T>,
): Promise<T> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  const profile = options.profile ?? process.env.AWS_PROFILE;
  const sts = new STSClient({
    ...(options.region && { region: options.region }),
    ...(options.profile && { profile: options.profile }),
  });
  let region = '';
  try {
    region = await sts.config.region();
  } catch {
    // "Region is missing": said below, with how to set it.
  } finally {
    sts.destroy();
  }
  if (!region) {
    throw new Error(
      [
        `no AWS region${profile ? ` (profile "${profile}" sets none)` : ''}: pass --region${hint ? ` (${hint})` : ''},`,
        'or set AWS_REGION, or add "region = ..." to the profile in ~/.aws/config',
      ].join(' '),
    );
  }
  try {
    return await work({ region, ...(options.profile && { profile: options.profile }) });
  } catch (error) {
    // Credentials are resolved at the first call (so tests with mocked clients need none).
    // The provider chain's error class lives in @smithy/property-provider, not a dependency
    // of ours: its name is its contract.
    if ((error as Error).name !== 'CredentialsProviderError') throw error;
    throw new Error(
      [
        `no AWS credentials${profile ? ` for profile "${profile}"` : ''} (${(error as Error).message.split('\n')[0]}):`,
        'pass --profile NAME (a profile in ~/.aws/config; for SSO run "aws sso login --profile NAME" first),',
        'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or run where a role is available',
      ].join(' '),
    );
  }
}
