import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../layers/config/load';
import { readDecoyPlan } from '../../layers/detection/plan-file';
import { liveKpis, renderLive, runLiveDrill } from '../../layers/drill/live';
import { renderReport } from '../../layers/drill/report';
import { runDrill } from '../../layers/drill/runner';
import { defaultScenario, loadScenario } from '../../layers/drill/scenario';
import type { StackTemplate } from '../../layers/drill/template';
import { renderText } from '../../layers/drill/timeline';

interface DrillOptions {
  json?: boolean;
  report: string;
  scenario?: string;
  config?: string;
  live?: boolean;
  allowContainment?: boolean;
  timeout: string;
  decoys?: string;
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
    .option('--json', 'print the KPIs as one JSON object on the last line')
    .option('--report <file>', 'where to write the HTML report', 'reports/drill.html')
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
    .action(async (options: DrillOptions) => {
      const config = loadConfig({ configFile: options.config });
      const progress = (message: string) => process.stderr.write(`drill: ${message}\n`);
      if (options.live) {
        const timeoutMinutes = Number(options.timeout);
        if (!(timeoutMinutes > 0 && timeoutMinutes <= 120)) {
          throw new Error(`--timeout: expected minutes from 1 to 120 (got "${options.timeout}")`);
        }
        const result = await runLiveDrill({
          config,
          allowContainment: options.allowContainment === true,
          timeoutMs: timeoutMinutes * 60_000,
          log: progress,
          ...(options.decoys ? { decoys: readDecoyPlan(options.decoys) } : {}),
        });
        process.stdout.write(renderLive(result));
        if (options.json) process.stdout.write(`${JSON.stringify(liveKpis(result))}\n`);
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

      const scenario = options.scenario ? loadScenario(resolve(options.scenario)) : defaultScenario();
      const result = await runDrill({
        config,
        scenario,
        onProgress: progress,
        alterTemplates: hooks.alterTemplates,
      });
      const reportPath = resolve(options.report);
      mkdirSync(dirname(reportPath), { recursive: true });
      writeFileSync(reportPath, renderReport(result));
      process.stdout.write(renderText(result, options.report));
      if (options.json) process.stdout.write(`${JSON.stringify(result.kpis)}\n`);
      if (!result.kpis.passed) throw new Error(`drill failed: ${result.failures.join('; ')}`);
    });
}
