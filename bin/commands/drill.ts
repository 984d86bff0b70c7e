import type { Command } from 'commander';
import type { DrillIncident } from '../../layers/drill/runner';
import type { StackTemplate } from '../../layers/drill/template';

interface DrillOptions {
  json?: boolean;
  report: string;
  scenario?: string;
  config?: string;
  live?: boolean;
  allowContainment?: boolean;
  timeout: string;
  decoys?: string;
  region?: string;
  profile?: string;
}

/** For tests: change the synthesized templates before the drill reads them (break a pattern on purpose). */
export interface DrillHooks {
  alterTemplates?: (stacks: StackTemplate[]) => void;
}

export function registerDrill(program: Command, hooks: DrillHooks = {}): void {
  program
    .command('drill')
    .description(
      'the whole system on one scenario, offline: the decoys, an attacker walking into them, the findings, the scores and the response, with the time each took',
    )
    .option(
      '--json',
      'print the KPIs as one JSON line on stdout, and nothing else there (the timeline goes to stderr)',
    )
    .option('--report <file>', 'where to write the HTML report (its folder is created)', 'reports/drill.html')
    .option(
      '--scenario <file>',
      'play this scenario file instead of the default (format: README, "Scenario files")',
    )
    .option('--config <file>', 'a config file instead of cdk.json context.honeytrail')
    .option(
      '--live',
      'against the deployed stack: touch each decoy with a temporary user of its own and measure the real delays',
    )
    .option(
      '--allow-containment',
      '--live with dry-run off: let the response contain the drill user for real',
    )
    .option('--timeout <minutes>', '--live: how long to wait for each finding and response', '10')
    .option('--decoys <file>', '--live: the planted decoys ({"decoys":[...]}, a registry export)')
    .option('--region <region>', '--live: the region of the stack (default: the config home region)')
    .option(
      '--profile <name>',
      '--live: AWS profile from ~/.aws/config (default: AWS_PROFILE, or the default chain)',
    )
    .action(async (options: DrillOptions) => {
      const [{ resolve }, { output, prepareOutputFile }, { loadConfig }] = await Promise.all([
        import('node:path'),
        import('../common/output'),
        import('../../layers/config/load'),
      ]);
      const config = loadConfig({ configFile: options.config });
      const out = output(options.json);
      const progress = (message: string) => out.note(`drill: ${message}\n`);
      if (options.live) {
        const timeoutMinutes = Number(options.timeout);
        if (!(timeoutMinutes > 0 && timeoutMinutes <= 120)) {
          throw new Error(`--timeout: expected minutes from 1 to 120 (got "${options.timeout}")`);
        }
        // The live drill makes its clients deep inside; the SDK's default chain reads the profile from here.
        if (options.profile) process.env.AWS_PROFILE = options.profile;
        const [{ readDecoyPlan }, { liveKpis, renderLive, runLiveDrill }] = await Promise.all([
          import('../../layers/detection/plan-file'),
          import('../../layers/drill/live'),
        ]);
        const result = await runLiveDrill({
          config,
          allowContainment: options.allowContainment === true,
          timeoutMs: timeoutMinutes * 60_000,
          log: progress,
          ...(options.region && { region: options.region }),
          ...(options.decoys ? { decoys: readDecoyPlan(options.decoys) } : {}),
        });
        out.text(renderLive(result));
        if (options.json) out.json(liveKpis(result));
        if (result.missedTouches > 0 || result.cleanupProblems.length > 0) {
          throw new Error(
            [
              result.missedTouches > 0
                ? `${result.missedTouches} touch(es) produced no finding within the timeout`
                : '',
              ...result.cleanupProblems,
            ]
              .filter(Boolean)
              .join('; '),
          );
        }
        return;
      }

      const reportPath = prepareOutputFile(options.report, '--report');
      const [
        { writeFileSync },
        { renderReport },
        { runDrill },
        { defaultScenario, loadScenario },
        { renderText },
      ] = await Promise.all([
        import('node:fs'),
        import('../../layers/drill/report'),
        import('../../layers/drill/runner'),
        import('../../layers/drill/scenario'),
        import('../../layers/drill/timeline'),
      ]);
      const scenario = options.scenario ? loadScenario(resolve(options.scenario)) : defaultScenario();
      const result = await runDrill({
        config,
        scenario,
        onProgress: progress,
        alterTemplates: hooks.alterTemplates,
      });
      writeFileSync(reportPath, renderReport(result));
      out.text(renderText(result, options.report));
      out.text(incidentLines(result.incidents));
      if (options.json) out.json(result.kpis);
      if (!result.kpis.passed) throw new Error(`drill failed: ${result.failures.join('; ')}`);
    });
}

/** The incidents the response opened: one per actor, with the kill-chain stages its calls reached. */
export function incidentLines(incidents: readonly DrillIncident[]): string {
  if (incidents.length === 0) return '\nIncidents: none\n';
  const lines = incidents.map(
    (incident) =>
      `  ${incident.id.slice(0, 12)}  ${incident.severity.padEnd(8)} ${incident.findings} finding(s), opened ${incident.openedAt}\n` +
      `    stages      ${incident.stages.length > 0 ? incident.stages.join(' > ') : '(none)'}\n` +
      `    principals  ${incident.principals.join(', ')}\n`,
  );
  return `\nIncidents (${incidents.length}):\n${lines.join('')}`;
}
