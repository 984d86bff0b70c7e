import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { type ReadProblem, readCloudTrail } from '../../layers/cloudtrail/reader';
import { loadConfig } from '../../layers/config/load';
import { auditTrailName, centralBusName, routeNamePrefix } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { readDecoyPlan } from '../../layers/detection/plan-file';
import { ReplayEngine } from '../../layers/detection/replay';
import type { DetectionContext, RuleStyle } from '../../layers/detection/rules';
import type { Finding } from '../../layers/findings/finding';

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

/** Progress is shown for inputs of at least this many bytes, on a terminal only. */
const PROGRESS_FROM_BYTES = 16 * 1024 * 1024;

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
    .option('--json', 'one finding per line, as JSON')
    .option('--account <id>', 'account id for the default plan', '123456789012')
    .option('--region <region>', 'home region for the default plan (default: the config home region)')
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .option('--style <named|broad>', 'rule style (default: the config detection.ruleStyle)')
    .option('--trusted-role <arn>', "a role whose calls are the platform's own (repeatable)", collect, [])
    .option('--window <minutes>', 'dedupe window (default: the config detection.dedupeWindowMinutes)')
    .action(async (paths: string[], options: ReplayOptions) => {
      await replay(paths, options);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export interface ReplaySummary {
  records: number;
  matched: number;
  findings: Finding[];
  unreadable: number;
}

export async function replay(
  paths: string[],
  options: ReplayOptions,
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  },
): Promise<ReplaySummary> {
  if (!/^\d{12}$/.test(options.account))
    throw new Error(`--account: expected 12 digits (got "${options.account}")`);
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
    context: replayContext(config, {
      account: options.account,
      style,
      trustedRoleArns: options.trustedRole,
    }),
    windowMinutes,
    allowlist: config.detection.allowlist,
  });

  const problems: ReadProblem[] = [];
  const bar = new ProgressBar();
  try {
    for await (const record of readCloudTrail(paths, {
      onProblem: (problem) => problems.push(problem),
      onProgress: (progress) => bar.update(progress.bytesRead, progress.bytesTotal, progress.records),
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
      `${findings.length} finding(s) for ${decoys.length} decoys; ${problems.length} unreadable` +
      (stats.allowlisted > 0 ? `, ${stats.allowlisted} touch(es) allowlisted` : '') +
      (stats.ignored > 0 ? `, ${stats.ignored} matched record(s) not a touch` : ''),
    ...problems.map((p) => `  unreadable: ${p.source} ${p.location}: ${p.message}`),
  ];
  report(`${lines.join('\n')}\n`);
  return { records: stats.records, matched: stats.matched, findings, unreadable: problems.length };
}

/** The context the deployment would have: its names come from the stack name, as the stack makes them. */
function replayContext(
  config: HoneytrailConfig,
  parts: { account: string; style: RuleStyle; trustedRoleArns: string[] },
): DetectionContext {
  const trailArn =
    config.trail.mode === 'existing'
      ? config.trail.existingTrailArn
      : `arn:aws:cloudtrail:${config.homeRegion}:${parts.account}:trail/${auditTrailName(config)}`;
  return {
    style: parts.style,
    ruleNamePrefix: routeNamePrefix(config),
    busName: centralBusName(config),
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

/** A progress bar on stderr for large inputs, when stderr is a terminal. */
class ProgressBar {
  private bar: SingleBar | undefined;
  private lastUpdate = 0;
  private readonly enabled = Boolean(process.stderr.isTTY);

  update(bytesRead: number, bytesTotal: number, records: number): void {
    if (!this.enabled || bytesTotal < PROGRESS_FROM_BYTES) return;
    const payload = { records, mb: (bytesRead / 1e6).toFixed(0), totalMb: (bytesTotal / 1e6).toFixed(0) };
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: 'replaying [{bar}] {percentage}% | {records} records | {mb}/{totalMb} MB',
        hideCursor: true,
        clearOnComplete: true,
      });
      this.bar.start(bytesTotal, bytesRead, payload);
    } else if (bytesRead === bytesTotal || Date.now() - this.lastUpdate > 100) {
      this.bar.update(bytesRead, payload);
      this.lastUpdate = Date.now();
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
