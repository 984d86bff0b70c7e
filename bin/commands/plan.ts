import type { Command } from 'commander';
import { accountId } from '../common/numbers';
import { output } from '../common/output';

interface PlanOptions {
  json?: boolean;
  account: string;
  region?: string;
  config?: string;
  seed?: string;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      "show the decoys a deployment plants, offline, with example names: deployed names are chosen at plant time with a secret seed, after the account's own naming",
    )
    .option(
      '--json',
      'print {"example":...,"resources":[...]} on one line: the decoy list other commands accept (example names)',
    )
    .option('--seed <seed>', 'the seed for the example names (default: config naming.seed)')
    .option('--account <id>', 'account id to fill into names and ARNs', '123456789012')
    .option('--region <region>', 'region (default: the config home region)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .action(async (options: PlanOptions) => {
      const account = accountId(options.account);
      const [{ loadConfig }, { planDecoys }] = await Promise.all([
        import('../../layers/config/load'),
        import('../../layers/decoys/catalogue'),
      ]);
      const loaded = loadConfig({ configFile: options.config });
      const config = options.seed ? { ...loaded, naming: { ...loaded.naming, seed: options.seed } } : loaded;
      const region = options.region ?? config.homeRegion;
      // Organization mode: one set per listed member account (the security account holds
      // none); with target OUs only, the example account stands for each of their members.
      const listed = config.organization?.targets.accounts ?? [];
      const accounts = listed.length > 0 ? listed : [account];
      const resources = accounts.flatMap((member) =>
        planDecoys(config, { account: member, region }).resources.map((decoy) => ({
          account: member,
          ...decoy,
        })),
      );
      const out = output(options.json);
      if (options.json) {
        const example =
          'example names (vocabulary, empty account, this seed); deployed names are chosen at plant time with a secret seed and kept only in the registry';
        out.json({ example, resources });
        return;
      }
      const where = accounts.length === 1 ? `account ${accounts[0]}` : `accounts ${accounts.join(', ')}`;
      const lines = [
        `Example decoys for ${where}, home region ${region}, as the vocabulary names them in an empty account with seed "${config.naming.seed}".`,
        "Deployed names differ: the planter draws a secret seed at the first deploy and follows the account's own naming; they are kept only in its registry.",
        '',
      ];
      for (const decoy of resources) {
        if (accounts.length > 1 && decoy === resources.find((d) => d.account === decoy.account))
          lines.push(`account ${decoy.account}:`);
        lines.push(`  ${decoy.kind.padEnd(15)} ${decoy.name}`);
        lines.push(`  ${''.padEnd(15)} ${decoy.arn}`);
        if (decoy.format) lines.push(`  ${''.padEnd(15)} value: a worthless ${decoy.format}`);
        if (decoy.leadsTo?.length) lines.push(`  ${''.padEnd(15)} leads to: ${decoy.leadsTo.join(', ')}`);
      }
      lines.push('', `${resources.length} decoys. Nothing is created until "cdk deploy".`);
      out.text(`${lines.join('\n')}\n`);
    });
}
