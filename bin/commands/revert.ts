import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { revert, stateMachineOf } from '../../layers/response/operator';

/** `revert <executionArn>`: undo what a response did, from its audit records. */
export function registerRevert(program: Command): void {
  program
    .command('revert')
    .description('undo a response: reactivate the key, remove the session deny and the quarantine policy')
    .argument('<executionArn>', 'the response execution (from its message or `honeytrail audit`)')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--false-positive', 'label the finding a false positive (counted on the dashboard)')
    .action(async (executionArn: string, options: { reason?: string; falsePositive?: boolean }) => {
      // The execution's region is in its ARN; the rest are the SDK's standard settings.
      const region = stateMachineOf(executionArn).split(':')[3];
      const clients = { sfn: new SFNClient({ region }), sts: new STSClient({ region }) };
      const started = await revert(clients, executionArn, options);
      process.stdout.write(`revert started: ${started.executionArn}\n`);
      process.stdout.write('follow it with: npx honeytrail audit --execution <that arn>\n');
    });
}
