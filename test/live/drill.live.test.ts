import { randomBytes } from 'node:crypto';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../layers/config/load';
import type { Decoy } from '../../layers/decoys/catalogue';
import { SECRET_ARN_SUFFIX } from '../../layers/decoys/secret-names';
import {
  expectedFindings,
  LiveDrillRefused,
  probePolicy,
  renderLive,
  runLiveDrill,
  touchDecoys,
} from '../../layers/drill/live';
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

/**
 * The drill's Secrets Manager touch on its own, without the stack: a secret shaped
 * like a planted one, the probe user the drill creates with the policy it writes,
 * and the drill's touch step. The finding that must follow is the full drill's to
 * wait for (above: every expected finding, the secret's included, or the touch is
 * missed), which needs the deployed stack; moto could not show it anyway (it
 * delivers no CloudTrail events to EventBridge).
 */
describe.skipIf(!live.ok)('live drill: the Secrets Manager touch', () => {
  const { region, account } = live as LiveEnvironment;
  const suffix = randomBytes(4).toString('hex');
  const secretName = `qa/ledger-${suffix}/db-credentials`;
  const userName = `ledger-${suffix}-probe`;
  const iam = new IAMClient({ region });
  const secrets = new SecretsManagerClient({ region });
  const cleanup: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  it('reads the secret with the probe key, and the drill expects a finding for it', async () => {
    const created = await secrets.send(
      new CreateSecretCommand({ Name: secretName, SecretString: '{"username":"ledger","password":"x"}' }),
    );
    cleanup.push(() =>
      secrets.send(new DeleteSecretCommand({ SecretId: secretName, ForceDeleteWithoutRecovery: true })),
    );
    // The plan names a secret by its ARN without the suffix Secrets Manager adds.
    expect(created.ARN).toMatch(SECRET_ARN_SUFFIX);
    const secret: Decoy = {
      kind: 'secretsmanager-secret',
      name: secretName,
      arn: created.ARN!.replace(SECRET_ARN_SUFFIX, ''),
      secretFormat: 'database-credentials',
    };
    const trailArn = `arn:aws:cloudtrail:${region}:${account}:trail/ledger-${suffix}`;
    expect(
      expectedFindings([secret], trailArn, 'arn:aws:iam::0:user/p', account, region).map((f) => [
        f.kind,
        f.resource?.name,
      ]),
    ).toContainEqual(['resource-access', secretName]);

    await iam.send(new CreateUserCommand({ UserName: userName }));
    cleanup.push(() => iam.send(new DeleteUserCommand({ UserName: userName })));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: userName,
        PolicyName: 'probe',
        PolicyDocument: JSON.stringify(probePolicy([secret])),
      }),
    );
    cleanup.push(() => iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: 'probe' })));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
    cleanup.push(() =>
      iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId! })),
    );
    const credentials = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };

    // A new key takes seconds to work in IAM; the touch is retried until it is not InvalidClientTokenId.
    let touches = await touchDecoys(region, credentials, [secret], trailArn, () => {});
    for (let i = 0; i < 10 && touches[0]?.callResult.includes('InvalidClientTokenId'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      touches = await touchDecoys(region, credentials, [secret], trailArn, () => {});
    }
    expect(touches.map((t) => [t.call, t.decoy, t.kind])).toEqual([
      ['secretsmanager:GetSecretValue', secretName, 'resource-access'],
      ['cloudtrail:StopLogging (denied)', `ledger-${suffix}`, 'tamper'],
    ]);
    // The probe policy lets the read through (IAM on AWS; moto enforces nothing either way).
    expect(touches[0]!.callResult).toBe('ok');
  }, 120_000);
});
