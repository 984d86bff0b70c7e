import type { Command } from 'commander';
import type { Finding } from '../../layers/findings/finding';
import type { SuppressedWindow } from '../../layers/scoring/judge';
import type { Precision } from '../../layers/scoring/labels';
import type { ActivityModel } from '../../layers/scoring/model';
import type { ScoredWindow } from '../../layers/scoring/score';
import { integer } from '../common/numbers';

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
    .description(
      'score CloudTrail activity per principal-window against a trained model: the forest, the verdicts, and the classifier labels taught (when the model carries one)',
    )
    .argument('<paths...>', 'CloudTrail log files (.json, .json.gz, .jsonl), exports, or directories of them')
    .requiredOption('--model <file>', 'a model written by "honeytrail train"')
    .option(
      '--json',
      'print findings and the top windows as one JSON document on one line (notes go to stderr)',
    )
    .option(
      '--report <file>',
      'write a self-contained HTML report (score distribution, reasons as charts); its folder is created',
    )
    .option('--labels <file>', 'labels file: show precision by label')
    .option('--threshold <score>', "override the model's threshold")
    .option('--top <n>', 'how many top windows to list and chart', '12')
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], options: ScoreOptions) => {
      const top = integer(options.top, '--top', 1, 1000);
      const [{ fraction }, { output, prepareOutputFile }, { readLabels }] = await Promise.all([
        import('../common/numbers'),
        import('../common/output'),
        import('../common/labels'),
      ]);
      const reportPath = options.report ? prepareOutputFile(options.report, '--report') : undefined;
      const [
        { writeFileSync },
        { anomalyFindingId },
        { judgeWindows, WindowTraces },
        { labelIndex, precisionOf },
        { describeProblems, readWindows },
        { countReadProblems },
        { renderReport },
        { scoreAggregates },
      ] = await Promise.all([
        import('node:fs'),
        import('../../layers/scoring/findings'),
        import('../../layers/scoring/judge'),
        import('../../layers/scoring/labels'),
        import('../../layers/scoring/read-input'),
        import('../../layers/cloudtrail/reader'),
        import('../../layers/scoring/report'),
        import('../../layers/scoring/score'),
      ]);
      const model = await readModel(options.model);
      const threshold = options.threshold ? fraction(options.threshold, '--threshold') : model.threshold;
      const labels = options.labels ? readLabels(options.labels).labels : undefined;
      const out = output(options.json);
      const traces = new WindowTraces(model.windowMinutes);
      const { builder, problems } = await readWindows(paths, model.windowMinutes, {
        progress: options.progress,
        label: 'scoring',
        onRecord: (record) => traces.add(record),
      });
      out.note(describeProblems(problems));
      const scored = scoreAggregates(model, builder.windows(), { threshold, explainTop: top });
      const { findings, suppressed } = judgeWindows(scored, model, traces.byWindow(), { threshold });
      const precision = labels
        ? precisionOf(
            findings.map((f) => f.id),
            labels,
          )
        : undefined;
      const ranked = [...scored].sort((a, b) => b.score - a.score).slice(0, top);

      if (reportPath) {
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
          problems: unreadableCount(countReadProblems(problems)),
          skippedRecords: builder.skipped.count,
          top,
          findingIds,
          ...(precision && { precision }),
          ...(labels && { labels: new Map([...labelIndex(labels)].map(([id, l]) => [id, l.label])) }),
        });
        writeFileSync(reportPath, html);
      }

      if (options.json) {
        const document = {
          threshold,
          model: {
            trainingWindow: model.trainingWindow,
            threshold: model.threshold,
            windowMinutes: model.windowMinutes,
          },
          records: builder.records,
          windows: scored.length,
          aboveThreshold: scored.filter((s) => s.score >= threshold).length,
          problems: countReadProblems(problems),
          findings,
          ...(model.classifier && {
            classifier: { examples: model.classifier.examples, trainedAt: model.classifier.trainedAt },
          }),
          suppressed: suppressed.map(suppressedSummary),
          top: await Promise.all(ranked.map(summarize)),
          ...(precision && { precision }),
        };
        out.json(document);
        if (options.report) out.note(`Wrote ${options.report}.\n`);
        return;
      }
      out.text(
        await textSummary({
          records: builder.records,
          scored,
          ranked,
          findings,
          suppressed,
          threshold,
          model,
          precision,
        }),
      );
      if (options.report) out.text(`Wrote ${options.report}.\n`);
    });
}

async function readModel(path: string): Promise<ActivityModel> {
  const [{ readFileSync }, { parseActivityModelText }] = await Promise.all([
    import('node:fs'),
    import('../../layers/scoring/model'),
  ]);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read model ${path}: ${(error as Error).message}`);
  }
  return parseActivityModelText(text, path);
}

async function summarize(s: ScoredWindow) {
  const { topReasons } = await import('../../layers/scoring/score');
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

function suppressedSummary({ scored, refinement }: SuppressedWindow) {
  const { window } = scored;
  return {
    score: Math.round(scored.score * 10_000) / 10_000,
    principal: window.principal,
    windowStart: new Date(window.windowStart).toISOString(),
    windowEnd: new Date(window.windowStart + window.windowMinutes * 60_000).toISOString(),
    reason: refinement.reason,
  };
}

interface SummaryInput {
  readonly records: number;
  readonly scored: readonly ScoredWindow[];
  readonly ranked: readonly ScoredWindow[];
  readonly findings: readonly Finding[];
  readonly suppressed: readonly SuppressedWindow[];
  readonly threshold: number;
  readonly model: ActivityModel;
  readonly precision: Precision | undefined;
}

/** How many findings to list by title in the terminal (the JSON document has them all). */
const FINDINGS_SHOWN = 20;

async function textSummary(input: SummaryInput): Promise<string> {
  const [{ topReasons }, { lacksNovelty, reasonInWords }] = await Promise.all([
    import('../../layers/scoring/score'),
    import('../../layers/scoring/report'),
  ]);
  const { scored, ranked, findings, suppressed, threshold, model, precision } = input;
  const above = scored.filter((s) => s.score >= threshold).length;
  const classifier = model.classifier
    ? `the classifier from labels (${model.classifier.examples.attack} true-positive, ${model.classifier.examples.benign} false-positive windows) suppressed ${suppressed.length}`
    : 'no classifier from labels in the model';
  const lines = [
    `${input.records} records, ${scored.length} principal-windows, ${above} at or above the threshold ${threshold}; ${classifier}.`,
    `${findings.length} finding(s) (the forest's, with the verdicts).`,
    '',
    'score  window (UTC)      calls  principal / why',
  ];
  for (const s of ranked) {
    const { window } = s;
    const mark = s.score >= threshold ? '*' : ' ';
    const when = new Date(window.windowStart).toISOString().slice(0, 16).replace('T', ' ');
    lines.push(
      `${s.score.toFixed(3)}${mark} ${when}  ${String(window.calls).padStart(5)}  ${window.principal.arn}`,
    );
    const reasons = topReasons(s.reasons ?? [], 3)
      .map(reasonInWords)
      .join('; ');
    if (reasons) lines.push(`${''.padStart(31)}${reasons}`);
    if (s.score >= threshold && s.reasons && lacksNovelty(s.reasons)) {
      lines.push(
        `${''.padStart(31)}flagged for lacking novelty: less that is new than its windows usually bring`,
      );
    }
  }
  if (findings.length > 0) {
    lines.push('', 'Findings:');
    for (const finding of findings.slice(0, FINDINGS_SHOWN)) {
      lines.push(`  ${finding.severity.padEnd(8)} ${finding.title}`);
    }
    if (findings.length > FINDINGS_SHOWN) {
      lines.push(`  ... and ${findings.length - FINDINGS_SHOWN} more (--json lists them all)`);
    }
  }
  if (suppressed.length > 0) {
    lines.push('', 'Not reported (windows like these were labelled false positives):');
    for (const { scored: s, refinement } of suppressed.slice(0, FINDINGS_SHOWN)) {
      const when = new Date(s.window.windowStart).toISOString().slice(0, 16).replace('T', ' ');
      lines.push(`  ${s.score.toFixed(3)} ${when}  ${s.window.principal.arn}: ${refinement.reason}`);
    }
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

/** Records and whole files that could not be read; skipped files (CSV and the like) are not counted. */
function unreadableCount(counts: { records: number; files: number }): number {
  return counts.records + counts.files;
}
