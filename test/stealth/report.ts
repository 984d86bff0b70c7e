/**
 * `npx tsx test/stealth/report.ts <cloud assembly dir> [--plan plan.json] [--config file] [--details] [--markdown]`
 *
 * Prints the stealth audit's counts for a synthesized deployment without asserting
 * anything, so counts can be compared before and after a change. The assembly is
 * what `CDK_DEFAULT_ACCOUNT=111122223333 npx cdk synth -o DIR` writes; the config is
 * cdk.json's (or --config); --plan takes `honeytrail plan --json` output instead of
 * recomputing the plan; --details lists the findings grouped, with examples;
 * --markdown prints the counts as a table for the README.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../layers/config/load';
import type { Decoy } from '../../layers/decoys/catalogue';
import { readJsonFile } from '../../layers/runtime/json-file';
import { countLines, countTable, findingSummary } from './audit';
import { auditDeployment } from './deployment';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      plan: { type: 'string' },
      config: { type: 'string' },
      details: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
    },
  });
  const [dir] = positionals;
  if (!dir) {
    process.stderr.write(
      'usage: npx tsx test/stealth/report.ts <cdk.out dir> [--plan plan.json] [--config file] [--details] [--markdown]\n',
    );
    return 2;
  }
  const config = loadConfig({ configFile: values.config });
  const plan = values.plan
    ? (readJsonFile(values.plan, 'plan file') as { decoys: Decoy[] }).decoys
    : undefined;
  const result = await auditDeployment(dir, config, { plan });
  const lines = [
    `stealth audit of ${dir} (account ${result.account}, home ${result.homeRegion}, ${result.decoyNames.length} decoy names)`,
    ...(values.markdown ? countTable(result) : countLines(result)),
    `${'total'.padEnd(16)} ${result.findings.length} findings`,
  ];
  if (values.details) lines.push('', ...findingSummary(result.findings, 2));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

process.exitCode = await main();
