import type { Command } from 'commander';
import { type AwsOptions, withAwsOptions } from '../common/aws';

interface AnswerOptions extends AwsOptions {
  reason?: string;
  falsePositive?: boolean;
  json?: boolean;
}

/** `approve <token>` and `deny <token>`: answer a response waiting for approval (SendTaskSuccess/Failure). */
export function registerApprove(program: Command): void {
  const regionHelp = 'the region of the stack the message came from (default: AWS_REGION or the profile)';
  withAwsOptions(
    program
      .command('approve')
      .description('approve a response that waits for approval (the token is in its message)')
      .argument('<token>', 'the task token from the approval message')
      .option('--reason <text>', 'why, for the audit trail')
      .option('--json', 'print {"decision":"approved","approver":...} as one JSON line'),
    regionHelp,
  ).action(async (token: string, options: AnswerOptions) => {
    const { output } = await import('../common/output');
    const { approver } = await answer(options, (operator, clients) =>
      operator.approve(clients, token.trim(), { reason: options.reason }),
    );
    const out = output(options.json);
    out.text(`approved by ${approver}: the response goes ahead\n`);
    if (options.json) out.json({ decision: 'approved', approver });
  });
  withAwsOptions(
    program
      .command('deny')
      .description('deny a response that waits for approval: nothing is done')
      .argument('<token>', 'the task token from the approval message')
      .option('--reason <text>', 'why, for the audit trail')
      .option('--false-positive', 'label the finding a false positive (counted on the dashboard)')
      .option('--json', 'print {"decision":"denied","approver":...} as one JSON line'),
    regionHelp,
  ).action(async (token: string, options: AnswerOptions) => {
    const { output } = await import('../common/output');
    const { approver } = await answer(options, (operator, clients) =>
      operator.deny(clients, token.trim(), { reason: options.reason, falsePositive: options.falsePositive }),
    );
    const out = output(options.json);
    out.text(`denied by ${approver}: no action will be taken\n`);
    if (options.json)
      out.json({ decision: 'denied', approver, falsePositive: options.falsePositive === true });
  });
}

/** Runs one answer with the clients of the resolved AWS settings. */
async function answer<T>(
  options: AwsOptions,
  send: (
    operator: typeof import('../../layers/response/operator'),
    clients: { sfn: import('@aws-sdk/client-sfn').SFNClient; sts: import('@aws-sdk/client-sts').STSClient },
  ) => Promise<T>,
): Promise<T> {
  const [{ withAws }, { SFNClient }, { STSClient }, operator] = await Promise.all([
    import('../common/aws'),
    import('@aws-sdk/client-sfn'),
    import('@aws-sdk/client-sts'),
    import('../../layers/response/operator'),
  ]);
  return withAws(options, 'the home region of the deployment', (aws) =>
    send(operator, { sfn: new SFNClient(aws), sts: new STSClient(aws) }),
  );
}
