import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { approve, deny } from '../../layers/response/operator';

/** `approve <token>` and `deny <token>`: answer a response waiting for approval (SendTaskSuccess/Failure). */
export function registerApprove(program: Command): void {
  const clients = () => ({ sfn: new SFNClient({}), sts: new STSClient({}) });
  program
    .command('approve')
    .description('approve a response that waits for approval (the token is in its message)')
    .argument('<token>', 'the task token from the approval message')
    .option('--reason <text>', 'why, for the audit trail')
    .action(async (token: string, options: { reason?: string }) => {
      const { approver } = await approve(clients(), token.trim(), { reason: options.reason });
      process.stdout.write(`approved by ${approver}: the response goes ahead\n`);
    });
  program
    .command('deny')
    .description('deny a response that waits for approval: nothing is done')
    .argument('<token>', 'the task token from the approval message')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--false-positive', 'label the finding a false positive (counted on the dashboard)')
    .action(async (token: string, options: { reason?: string; falsePositive?: boolean }) => {
      const { approver } = await deny(clients(), token.trim(), options);
      process.stdout.write(`denied by ${approver}: no action will be taken\n`);
    });
}
