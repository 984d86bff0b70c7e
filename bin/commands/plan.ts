import type { Command } from 'commander';
import { loadConfig } from '../../layers/config/load';
import { planDecoys } from '../../layers/decoys/catalogue';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      "show the decoys a deployment plants, offline, with example names: deployed names are chosen at plant time with a secret seed, after the account's own naming",
    )
    .option('--json', 'print {"decoys":[...]}, the decoy list other commands accept (example names)')
    .option('--seed <seed>', 'the seed for the example names (default: config naming.seed)')
    .option('--account <id>', 'account id to fill into names and ARNs', '123456789012')
    .option('--region <region>', 'region (default: the config home region)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .action(
      (options: { json?: boolean; account: string; region?: string; config?: string; seed?: string }) => {
        if (!/^\d{12}$/.test(options.account))
          throw new Error(`--account: expected 12 digits (got "${options.account}")`);
        const loaded = loadConfig({ configFile: options.config });
        const config = options.seed
          ? { ...loaded, naming: { ...loaded.naming, seed: options.seed } }
          : loaded;
        const region = options.region ?? config.homeRegion;
        const plan = planDecoys(config, { account: options.account, region });
        if (options.json) {
          const example =
            'example names (vocabulary, empty account, this seed); deployed names are chosen at plant time with a secret seed and kept only in the registry';
          process.stdout.write(`${JSON.stringify({ example, ...plan }, null, 2)}\n`);
          return;
        }
        const lines = [
          `Example decoys for account ${options.account}, home region ${region}, as the vocabulary names them in an empty account with seed "${config.naming.seed}".`,
          "Deployed names differ: the planter draws a secret seed at the first deploy and follows the account's own naming; they are kept only in its registry.",
          '',
        ];
        for (const decoy of plan.resources) {
          lines.push(`  ${decoy.kind.padEnd(15)} ${decoy.name}`);
          lines.push(`  ${''.padEnd(15)} ${decoy.arn}`);
          if (decoy.format) lines.push(`  ${''.padEnd(15)} value: a worthless ${decoy.format}`);
          if (decoy.leadsTo?.length) lines.push(`  ${''.padEnd(15)} leads to: ${decoy.leadsTo.join(', ')}`);
        }
        lines.push('', `${plan.resources.length} decoys. Nothing is created until "cdk deploy".`);
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
