import type { Command } from 'commander';
import type { CostInput } from '../../layers/cost/index';
import { integer } from '../common/numbers';

interface CostOptions {
  eventsPerDay: string;
  regions?: string;
  mode?: string;
  findingsPerDay?: string;
  secondManagementCopy?: boolean;
  json?: boolean;
}

/** `cost`: what an account costs per month for its CloudTrail volume (the model is layers/cost). */
export function registerCost(program: Command): void {
  program
    .command('cost')
    .description(
      'estimate the monthly AWS cost of an account from its CloudTrail volume (us-east-1 list prices)',
    )
    .requiredOption(
      '--events-per-day <n>',
      'CloudTrail events the account records a day (management and data)',
    )
    .option('--regions <n>', 'regions with activity (default: the model’s)')
    .option('--mode <mode>', 'single-account, or member (one member account of an organization deployment)')
    .option('--findings-per-day <n>', 'findings a day that reach the response and a notification')
    .option('--second-management-copy', 'the account already has a trail: honeytrail’s is a paid second copy')
    .option('--json', 'print the cost report as one JSON line')
    .action(async (options: CostOptions) => {
      const input: CostInput = {
        eventsPerDay: integer(options.eventsPerDay, '--events-per-day', 0, 1e12),
        ...(options.regions !== undefined && { regions: integer(options.regions, '--regions', 1, 40) }),
        ...(options.findingsPerDay !== undefined && {
          findingsPerDay: integer(options.findingsPerDay, '--findings-per-day', 0, 1e6),
        }),
        ...(options.secondManagementCopy && { secondManagementCopy: true }),
      };
      if (options.mode !== undefined) {
        if (options.mode !== 'single-account' && options.mode !== 'member')
          throw new Error(`--mode: expected single-account or member (got "${options.mode}")`);
        input.mode = options.mode;
      }
      const [{ output }, { costModel, formatCostReport }] = await Promise.all([
        import('../common/output'),
        import('../../layers/cost/index'),
      ]);
      const report = costModel(input);
      const out = output(options.json);
      if (options.json) out.json(report);
      else out.text(`${formatCostReport(report).trimEnd()}\n`);
    });
}
