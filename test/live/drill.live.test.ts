import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../layers/config/load';
import { LiveDrillRefused, renderLive, runLiveDrill } from '../../layers/drill/live';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * `npm run drill -- --live` against the account the SDK's standard settings point
 * at. With the stack deployed (cdk.json's config): every touch must produce a
 * finding and a response within DRILL_TIMEOUT_MINUTES (default 10), and the drill
 * must leave nothing behind. Without it: the drill must refuse, creating nothing.
 */

const live = await liveEnvironment();

describe.skipIf(!live.ok)('live drill', () => {
  const { region } = live as LiveEnvironment;
  const config = loadConfig();

  it('touches every decoy, sees each finding and response, and cleans up (or refuses when nothing is deployed)', async () => {
    const deployed = await new CloudFormationClient({ region: config.homeRegion })
      .send(new DescribeStacksCommand({ StackName: config.stackName }))
      .then(
        () => true,
        (error: unknown) => {
          // Only CloudFormation's "does not exist" (an unmodelled ValidationError) means not
          // deployed; anything else (denied, throttled, no network) is a failure to report.
          if (
            error instanceof CloudFormationServiceException &&
            error.name === 'ValidationError' &&
            /does not exist/.test(error.message)
          )
            return false;
          throw error;
        },
      );
    if (!deployed) {
      const attempt = runLiveDrill({ config });
      await expect(attempt).rejects.toBeInstanceOf(LiveDrillRefused);
      await expect(attempt).rejects.toThrow(`stack ${config.stackName} is not deployed in account`);
      process.stderr.write(
        `drill.live: stack ${config.stackName} not deployed in ${config.homeRegion} (caller region ${region}): checked the refusal only\n`,
      );
      return;
    }
    const minutes = Number(process.env.DRILL_TIMEOUT_MINUTES ?? 10);
    const result = await runLiveDrill({
      config,
      timeoutMs: minutes * 60_000,
      log: (m) => process.stderr.write(`drill.live: ${m}\n`),
    });
    process.stderr.write(renderLive(result));
    expect(result.cleanupProblems).toEqual([]);
    expect(result.missedTouches).toBe(0);
  });
});
