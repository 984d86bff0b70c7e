import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { anomalyFindingId, anomalyFindings } from '../../layers/scoring/findings';
import { labelIndex, type Precision, precisionOf } from '../../layers/scoring/labels';
import { type ActivityModel, parseActivityModelText } from '../../layers/scoring/model';
import { describeProblems, readWindows } from '../../layers/scoring/read-input';
import { renderReport } from '../../layers/scoring/report';
import { type ScoredWindow, scoreAggregates, topReasons } from '../../layers/scoring/score';
import { fraction, integer, readLabels } from './train';

interface ScoreOptions {
  model: string;
  json?: boolean;
  report?: string;
  labels?: string;
  threshold?: string;
  top: string;
  progress: boolean;
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score CloudTrail activity per principal-window against a trained model')
    .argument('<paths...>', 'CloudTrail log files (.json, .json.gz, .jsonl), exports, or directories of them')
    .requiredOption('--model <file>', 'a model written by "honeytrail train"')
    .option('--json', 'print findings and the top windows as JSON')
    .option('--report <file>', 'write a self-contained HTML report (score distribution, reasons as charts)')
    .option('--labels <file>', 'labels file: show precision by label')
    .option('--threshold <score>', "override the model's threshold")
    .option('--top <n>', 'how many top windows to list and chart', '12')
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], options: ScoreOptions) => {
      const model = readModel(options.model);
      const threshold = options.threshold ? fraction(options.threshold, '--threshold') : model.threshold;
      const top = integer(options.top, '--top', 1, 1000);
      const labels = options.labels ? readLabels(options.labels).labels : undefined;
      const { builder, problems } = await readWindows(paths, model.windowMinutes, {
        progress: options.progress,
        label: 'scoring',
      });
      process.stderr.write(describeProblems(problems));
      const scored = scoreAggregates(model, builder.windows(), { threshold, explainTop: top });
      const findings = anomalyFindings(scored, model, { threshold });
      const precision = labels
        ? precisionOf(
            findings.map((f) => f.id),
            labels,
          )
        : undefined;
      const ranked = [...scored].sort((a, b) => b.score - a.score).slice(0, top);

      if (options.report) {
        const findingIds = scored.map((s) =>
          anomalyFindingId(s.window.principal.key, s.window.windowStart, s.window.windowMinutes),
        );
        const html = renderReport({
          generatedAt: new Date().toISOString(),
          inputs: paths,
          model,
          threshold,
          scored,
          findings,
          records: builder.records,
          problems: problems.length,
          skippedRecords: builder.skipped.count,
          top,
          findingIds,
          ...(precision && { precision }),
          ...(labels && { labels: new Map([...labelIndex(labels)].map(([id, l]) => [id, l.label])) }),
        });
        writeFileSync(options.report, html);
      }

      if (options.json) {
        const output = {
          threshold,
          model: {
            trainingWindow: model.trainingWindow,
            threshold: model.threshold,
            windowMinutes: model.windowMinutes,
          },
          records: builder.records,
          windows: scored.length,
          problems: problems.length,
          findings,
          top: ranked.map(summarize),
          ...(precision && { precision }),
        };
        process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        textSummary(builder.records, scored, ranked, findings.length, threshold, precision),
      );
      if (options.report) process.stdout.write(`Wrote ${options.report}.\n`);
    });
}

function readModel(path: string): ActivityModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read model ${path}: ${(error as Error).message}`);
  }
  return parseActivityModelText(text, path);
}

function summarize(s: ScoredWindow) {
  const { window } = s;
  return {
    score: Math.round(s.score * 10_000) / 10_000,
    principal: window.principal,
    windowStart: new Date(window.windowStart).toISOString(),
    windowEnd: new Date(window.windowStart + window.windowMinutes * 60_000).toISOString(),
    calls: window.calls,
    reasons: topReasons(s.reasons ?? [], 5).map(({ name, value, norm, deviation, contribution }) => ({
      name,
      value,
      norm,
      deviation,
      contribution,
    })),
  };
}

function textSummary(
  records: number,
  scored: readonly ScoredWindow[],
  ranked: readonly ScoredWindow[],
  findings: number,
  threshold: number,
  precision: Precision | undefined,
): string {
  const lines = [
    `${records} records, ${scored.length} principal-windows, ${findings} at or above the threshold ${threshold}.`,
    '',
    'score  window (UTC)      calls  principal / reasons',
  ];
  for (const s of ranked) {
    const { window } = s;
    const mark = s.score >= threshold ? '*' : ' ';
    const when = new Date(window.windowStart).toISOString().slice(0, 16).replace('T', ' ');
    lines.push(
      `${s.score.toFixed(3)}${mark} ${when}  ${String(window.calls).padStart(5)}  ${window.principal.arn}`,
    );
    const reasons = topReasons(s.reasons ?? [], 3)
      .map((r) => `${r.name} ${r.value} (norm ${r.norm})`)
      .join('; ');
    if (reasons) lines.push(`${''.padStart(31)}${reasons}`);
  }
  if (precision) {
    const p =
      precision.precision === null
        ? 'n/a (no labelled finding)'
        : `${(precision.precision * 100).toFixed(1)}%`;
    lines.push(
      '',
      `Precision by label: ${p} (${precision.truePositives} true positive, ${precision.falsePositives} false positive, ${precision.unlabelled} unlabelled)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
