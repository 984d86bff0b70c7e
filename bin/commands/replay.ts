import type { Command } from 'commander';
import type { ReadProblem } from '../../layers/cloudtrail/reader';
import type * as Names from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import type { DetectionContext, RuleStyle } from '../../layers/detection/rules';
import type { Finding } from '../../layers/findings/finding';
import { accountId } from '../common/numbers';

interface ReplayOptions {
  decoys?: string;
  json?: boolean;
  account: string;
  region?: string;
  config?: string;
  style?: string;
  trustedRole: string[];
  window?: string;
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('run CloudTrail records through the deployed detection rules and touch logic, offline')
    .argument(
      '<paths...>',
      'CloudTrail files or directories: log files (.json, .json.gz), JSON arrays, JSON lines, EventBridge envelopes',
    )
    .option(
      '--decoys <plan.json>',
      "the decoys to look for, in the `plan --json` format (default: the config's plan)",
    )
    .option(
      '--json',
      'JSON lines on stdout: one finding a line, then {"summary":{...}} last (always printed); the human summary goes to stderr',
    )
    .option('--account <id>', 'account id for the default plan', '123456789012')
    .option('--region <region>', 'home region for the default plan (default: the config home region)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .option('--style <named|broad>', 'rule style (default: the config detection.ruleStyle)')
    .option('--trusted-role <arn>', "a role whose calls are the platform's own (repeatable)", collect, [])
    .option('--window <minutes>', 'dedupe window (default: the config detection.dedupeWindowMinutes)')
    .action(async (paths: string[], options: ReplayOptions) => {
      const summary = await replay(paths, options);
      // The last line, so `--json` output is never empty and says what was read.
      if (options.json) {
        const { findings, ...counts } = summary;
        const line: ReplaySummaryLine = { summary: { ...counts, findings: findings.length } };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface ReplaySummary {
  records: number;
  matched: number;
  findings: Finding[];
  /** Records and whole files that could not be read. */
  unreadable: number;
  /** Files passed over: not a format the readers take (CSV, Parquet...). */
  skipped: number;
  rules: number;
  decoys: number;
  allowlisted: number;
  ignored: number;
}

/** The last line of `replay --json`: what was read and found, so the output is never empty. */
export interface ReplaySummaryLine {
  summary: Omit<ReplaySummary, 'findings'> & { findings: number };
}

export async function replay(
  paths: string[],
  options: ReplayOptions,
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
): Promise<ReplaySummary> {
  accountId(options.account);
  // Loaded here, not at the top: `honeytrail <other command>` never pays for them.
  const [
    { countReadProblems, describeReadProblem, problemKind, readCloudTrail, summarizeReadProblems },
    { loadConfig },
    { auditTrailName, centralBusName, routeNamePrefix },
    { planDecoys },
    { readDecoyPlan },
    { ReplayEngine },
    { readProgress },
  ] = await Promise.all([
    import('../../layers/cloudtrail/reader'),
    import('../../layers/config/load'),
    import('../../layers/config/names'),
    import('../../layers/decoys/catalogue'),
    import('../../layers/detection/plan-file'),
    import('../../layers/detection/replay'),
    import('../common/progress'),
  ]);
  const config = loadConfig({ configFile: options.config });
  const region = options.region ?? config.homeRegion;
  const style = (options.style ?? config.detection.ruleStyle) as RuleStyle;
  if (style !== 'named' && style !== 'broad')
    throw new Error(`--style: expected named or broad (got "${style}")`);
  const windowMinutes =
    options.window === undefined ? config.detection.dedupeWindowMinutes : Number(options.window);
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1)
    throw new Error(`--window: expected whole minutes (got "${options.window}")`);

  // Deployed names are chosen at plant time (secret seed): without --decoys (a registry
  // export) only the example names match, which suits records made against them.
  if (!options.decoys)
    io.err(
      'replay: no --decoys list; matching the example names of `plan` (deployed names are chosen at plant time and kept in the registry)\n',
    );
  const decoys = options.decoys
    ? readDecoyPlan(options.decoys)
    : planDecoys(config, { account: options.account, region }).resources;
  const engine = new ReplayEngine({
    decoys,
    context: replayContext(
      config,
      { auditTrailName, centralBusName, routeNamePrefix },
      {
        account: options.account,
        style,
        trustedRoleArns: options.trustedRole,
      },
    ),
    windowMinutes,
    allowlist: config.detection.allowlist,
  });

  const problems: ReadProblem[] = [];
  const bar = readProgress('replaying');
  try {
    for await (const record of readCloudTrail(paths, {
      onProblem: (problem) => problems.push(problem),
      onProgress: bar.onProgress,
    })) {
      await engine.push(record);
    }
  } finally {
    bar.stop();
  }

  const findings = engine.findings();
  if (options.json) for (const finding of findings) io.out(`${JSON.stringify(finding)}\n`);
  else io.out(findings.map(describe).join(''));
  const report = options.json ? io.err : io.out;
  const { stats } = engine;
  const lines = [
    `${stats.records} records read, ${stats.matched} matched by the ${engine.rules.length} rules, ` +
      `${findings.length} finding(s) for ${decoys.length} decoys; ${summarizeReadProblems(problems) || '0 unreadable'}` +
      (stats.allowlisted > 0 ? `, ${stats.allowlisted} touch(es) allowlisted` : '') +
      (stats.ignored > 0 ? `, ${stats.ignored} matched record(s) not a touch` : ''),
    ...problems.map(
      (p) => `  ${problemKind(p) === 'skipped' ? 'skipped' : 'unreadable'}: ${describeReadProblem(p)}`,
    ),
  ];
  const counts = countReadProblems(problems);
  report(`${lines.join('\n')}\n`);
  return {
    records: stats.records,
    matched: stats.matched,
    findings,
    unreadable: counts.records + counts.files,
    skipped: counts.skipped,
    rules: engine.rules.length,
    decoys: decoys.length,
    allowlisted: stats.allowlisted,
    ignored: stats.ignored,
  };
}

/** The context the deployment would have: its names come from the stack name, as the stack makes them. */
function replayContext(
  config: HoneytrailConfig,
  names: Pick<typeof Names, 'auditTrailName' | 'centralBusName' | 'routeNamePrefix'>,
  parts: { account: string; style: RuleStyle; trustedRoleArns: string[] },
): DetectionContext {
  const trailArn =
    config.trail.mode === 'existing'
      ? config.trail.existingTrailArn
      : `arn:aws:cloudtrail:${config.homeRegion}:${parts.account}:trail/${names.auditTrailName(config)}`;
  return {
    style: parts.style,
    ruleNamePrefix: names.routeNamePrefix(config),
    busName: names.centralBusName(config),
    trailName: trailArn.split(':trail/')[1] ?? trailArn,
    trailArn,
    trustedRoleArns: parts.trustedRoleArns,
  };
}

function describe(finding: Finding): string {
  const lines = [
    `[${finding.severity.toUpperCase()}] ${finding.kind}: ${finding.title}`,
    `    actor ${finding.actor.arn} (${finding.actor.type})${finding.actor.accessKeyId ? ` key ${finding.actor.accessKeyId}` : ''}`,
    `    from ${finding.sourceIp ?? 'unknown address'} in ${finding.region}; ${finding.count} call(s): ${finding.eventNames.join(', ')}`,
    `    ${finding.firstSeen} .. ${finding.lastSeen}  id ${finding.id}`,
  ];
  return `${lines.join('\n')}\n`;
}
