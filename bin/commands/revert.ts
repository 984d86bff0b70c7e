import type { Command } from 'commander';
import { type AwsOptions, withAwsOptions } from '../common/aws';

interface RevertOptions extends AwsOptions {
  reason?: string;
  falsePositive?: boolean;
  json?: boolean;
}

/** `revert <executionArn>`: undo what a response did, from its audit records. */
export function registerRevert(program: Command): void {
  withAwsOptions(
    program
      .command('revert')
      .description('undo a response: reactivate the key, remove the session deny and the quarantine policy')
      .argument('<executionArn>', 'the response execution (from its message or `honeytrail audit`)')
      .option('--reason <text>', 'why, for the audit trail')
      .option('--false-positive', 'label the finding a false positive (counted on the dashboard)')
      .option('--json', 'print {"executionArn":...} of the revert as one JSON line'),
    'the region (default: the one in the execution ARN)',
  ).action(async (executionArn: string, options: RevertOptions) => {
    const [{ withAws }, { output }, { SFNClient }, { STSClient }, { revert, stateMachineOf }] =
      await Promise.all([
        import('../common/aws'),
        import('../common/output'),
        import('@aws-sdk/client-sfn'),
        import('@aws-sdk/client-sts'),
        import('../../layers/response/operator'),
      ]);
    // The execution's region is in its ARN.
    const region = options.region ?? stateMachineOf(executionArn).split(':')[3];
    const started = await withAws({ ...options, region }, undefined, (aws) =>
      revert({ sfn: new SFNClient(aws), sts: new STSClient(aws) }, executionArn, {
        reason: options.reason,
        falsePositive: options.falsePositive,
      }),
    );
    const out = output(options.json);
    out.text(`revert started: ${started.executionArn}\n`);
    out.text('follow it with: npx honeytrail audit --execution <that arn>\n');
    if (options.json) out.json({ executionArn: started.executionArn });
  });
}
