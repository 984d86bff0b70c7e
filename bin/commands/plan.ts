import type { Command } from 'commander';
import { loadConfig } from '../../layers/config/load';
import { planDecoys } from '../../layers/decoys/catalogue';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show every decoy a deployment would plant, offline')
    .option('--json', 'print {"decoys":[...]}, the decoy list other commands accept')
    .option('--account <id>', 'account id to fill into names and ARNs', '123456789012')
    .option('--region <region>', 'region (default: the config home region)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .action((options: { json?: boolean; account: string; region?: string; config?: string }) => {
      if (!/^\d{12}$/.test(options.account))
        throw new Error(`--account: expected 12 digits (got "${options.account}")`);
      const config = loadConfig({ configFile: options.config });
      const region = options.region ?? config.homeRegion;
      const plan = planDecoys(config, { account: options.account, region });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
        return;
      }
      const lines = [`Decoys for account ${options.account}, home region ${region}:`, ''];
      for (const decoy of plan.decoys) {
        lines.push(`  ${decoy.kind.padEnd(15)} ${decoy.name}`);
        lines.push(`  ${''.padEnd(15)} ${decoy.arn}`);
        if (decoy.format) lines.push(`  ${''.padEnd(15)} value: a worthless ${decoy.format}`);
        if (decoy.leadsTo?.length) lines.push(`  ${''.padEnd(15)} leads to: ${decoy.leadsTo.join(', ')}`);
      }
      lines.push('', `${plan.decoys.length} decoys. Nothing is created until "cdk deploy".`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
