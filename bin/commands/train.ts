import type { Command } from 'commander';
import { integer } from '../common/numbers';

interface TrainOptions {
  out: string;
  json?: boolean;
  windowMinutes: string;
  seed: string;
  trees: string;
  thresholdQuantile: string;
  minThreshold: string;
  minWindows: string;
  labels?: string;
  progress: boolean;
}

// The defaults as `honeytrail train --help` shows them; layers/scoring/train.ts TRAINING_DEFAULTS holds
// the same values and a test keeps them equal (importing it here would load the forest for --help).
export const TRAIN_OPTION_DEFAULTS = {
  windowMinutes: '60',
  seed: '1',
  trees: '200',
  thresholdQuantile: '0.995',
  minThreshold: '0.5',
  minWindows: '48',
} as const;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'train an activity model on CloudTrail history (files or directories, any shape replay reads)',
    )
    .argument('<paths...>', 'CloudTrail log files (.json, .json.gz, .jsonl), exports, or directories of them')
    .requiredOption('--out <file>', 'where to write the model (JSON); its folder is created')
    .option('--json', 'print what was trained as one JSON line (the human summary goes to stderr)')
    .option(
      '--window-minutes <n>',
      'length of a principal-window in minutes',
      TRAIN_OPTION_DEFAULTS.windowMinutes,
    )
    .option('--seed <n>', 'seed of the forest (same data and seed: same model)', TRAIN_OPTION_DEFAULTS.seed)
    .option('--trees <n>', 'number of trees', TRAIN_OPTION_DEFAULTS.trees)
    .option(
      '--threshold-quantile <q>',
      'threshold = this quantile of training scores',
      TRAIN_OPTION_DEFAULTS.thresholdQuantile,
    )
    .option(
      '--min-threshold <score>',
      'the threshold never goes below this',
      TRAIN_OPTION_DEFAULTS.minThreshold,
    )
    .option(
      '--min-windows <n>',
      'fewer principal-windows than this: no model',
      TRAIN_OPTION_DEFAULTS.minWindows,
    )
    .option(
      '--labels <file>',
      'labels file: windows labelled true-positive are left out of the forest; labelled windows teach the classifier stored in the model',
    )
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], options: TrainOptions) => {
      const [{ writeFileSync }, { fraction }, { output, prepareOutputFile }, { readLabels }] =
        await Promise.all([
          import('node:fs'),
          import('../common/numbers'),
          import('../common/output'),
          import('../common/labels'),
        ]);
      const windowMinutes = integer(options.windowMinutes, '--window-minutes', 1, 1440);
      const settings = {
        windowMinutes,
        seed: integer(options.seed, '--seed', 0, 0xffffffff),
        trees: integer(options.trees, '--trees', 1, 10_000),
        thresholdQuantile: fraction(options.thresholdQuantile, '--threshold-quantile'),
        minThreshold: fraction(options.minThreshold, '--min-threshold'),
        minWindows: integer(options.minWindows, '--min-windows', 2, 1_000_000),
      };
      const outPath = prepareOutputFile(options.out, '--out');
      const [
        { emptyLabels },
        { serializeActivityModel },
        { describeProblems, readWindows },
        { trainModelFromWindows },
        { describeLabelCounts, withLabelClassifier },
      ] = await Promise.all([
        import('../../layers/scoring/labels'),
        import('../../layers/scoring/model'),
        import('../../layers/scoring/read-input'),
        import('../../layers/scoring/train'),
        import('../../layers/scoring/label-classifier'),
      ]);
      const labels = options.labels ? readLabels(options.labels) : emptyLabels();
      const out = output(options.json);
      const { builder, problems } = await readWindows(paths, windowMinutes, {
        progress: options.progress,
        label: 'training',
      });
      out.note(describeProblems(problems));
      const trainedAt = new Date();
      const result = trainModelFromWindows(builder, {
        ...settings,
        labels: labels.labels,
        trainedAt,
      });
      if (result.status === 'insufficient-history') {
        throw new Error(`insufficient history: ${result.message} (read ${result.records} records)`);
      }
      const taught = withLabelClassifier(result.model, builder.windows(), labels.labels, { trainedAt });
      const { model } = taught;
      const text = JSON.stringify(serializeActivityModel(model));
      writeFileSync(outPath, `${text}\n`);
      const t = model.training;
      const lines = [
        `Trained on ${t.records} records (${model.trainingWindow.start} to ${model.trainingWindow.end}):`,
        `  ${t.windows} principal-windows of ${windowMinutes} minutes from ${t.principals} principals; ${t.rows} used as rows (${t.coldStartRows} first windows of new principals), ${t.excludedWindows} left out as labelled attacks`,
        `  threshold ${model.threshold} (the ${t.thresholdRule.quantile} quantile of training scores is ${t.thresholdRule.quantileScore}; floor ${t.thresholdRule.minThreshold})`,
        `  training scores: ${Object.entries(t.scoreQuantiles)
          .map(([q, v]) => `${q} ${v}`)
          .join(', ')}`,
        `  ${describeLabelCounts(taught)}`,
        problems.length > 0 ? `  ${problems.length} record(s) could not be read (see above)` : '',
        `Wrote ${options.out} (${text.length} bytes).`,
      ];
      out.text(`${lines.filter(Boolean).join('\n')}\n`);
      if (options.json) {
        out.json({
          model: options.out,
          bytes: text.length,
          threshold: model.threshold,
          trainingWindow: model.trainingWindow,
          records: t.records,
          windows: t.windows,
          principals: t.principals,
          rows: t.rows,
          excludedWindows: t.excludedWindows,
          labels: { ...taught.labels, classifier: model.classifier !== undefined },
          unreadable: problems.length,
        });
      }
    });
}
