import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readJsonFile } from '../../layers/runtime/json-file';
import { emptyLabels, type LabelsFile, parseLabels } from '../../layers/scoring/labels';
import { serializeActivityModel } from '../../layers/scoring/model';
import { describeProblems, readWindows } from '../../layers/scoring/read-input';
import { TRAINING_DEFAULTS, trainModelFromWindows } from '../../layers/scoring/train';

interface TrainOptions {
  out: string;
  windowMinutes: string;
  seed: string;
  trees: string;
  thresholdQuantile: string;
  minThreshold: string;
  minWindows: string;
  labels?: string;
  progress: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'train an activity model on CloudTrail history (files or directories, any shape replay reads)',
    )
    .argument('<paths...>', 'CloudTrail log files (.json, .json.gz, .jsonl), exports, or directories of them')
    .requiredOption('--out <file>', 'where to write the model (JSON)')
    .option(
      '--window-minutes <n>',
      'length of a principal-window in minutes',
      String(TRAINING_DEFAULTS.windowMinutes),
    )
    .option(
      '--seed <n>',
      'seed of the forest (same data and seed: same model)',
      String(TRAINING_DEFAULTS.seed),
    )
    .option('--trees <n>', 'number of trees', String(TRAINING_DEFAULTS.trees))
    .option(
      '--threshold-quantile <q>',
      'threshold = this quantile of training scores',
      String(TRAINING_DEFAULTS.thresholdQuantile),
    )
    .option(
      '--min-threshold <score>',
      'the threshold never goes below this',
      String(TRAINING_DEFAULTS.minThreshold),
    )
    .option(
      '--min-windows <n>',
      'fewer principal-windows than this: no model',
      String(TRAINING_DEFAULTS.minWindows),
    )
    .option('--labels <file>', 'labels file: windows labelled true-positive are left out of training')
    .option('--no-progress', 'no progress bar')
    .action(async (paths: string[], options: TrainOptions) => {
      const windowMinutes = integer(options.windowMinutes, '--window-minutes', 1, 1440);
      const labels = options.labels ? readLabels(options.labels) : emptyLabels();
      const { builder, problems } = await readWindows(paths, windowMinutes, {
        progress: options.progress,
        label: 'training',
      });
      process.stderr.write(describeProblems(problems));
      const result = trainModelFromWindows(builder, {
        windowMinutes,
        seed: integer(options.seed, '--seed', 0, 0xffffffff),
        trees: integer(options.trees, '--trees', 1, 10_000),
        thresholdQuantile: fraction(options.thresholdQuantile, '--threshold-quantile'),
        minThreshold: fraction(options.minThreshold, '--min-threshold'),
        minWindows: integer(options.minWindows, '--min-windows', 2, 1_000_000),
        labels: labels.labels,
        trainedAt: new Date(),
      });
      if (result.status === 'insufficient-history') {
        throw new Error(`insufficient history: ${result.message} (read ${result.records} records)`);
      }
      const { model } = result;
      const text = JSON.stringify(serializeActivityModel(model));
      writeFileSync(options.out, `${text}\n`);
      const t = model.training;
      const lines = [
        `Trained on ${t.records} records (${model.trainingWindow.start} to ${model.trainingWindow.end}):`,
        `  ${t.windows} principal-windows of ${windowMinutes} minutes from ${t.principals} principals; ${t.rows} used as rows (${t.coldStartRows} first windows of new principals), ${t.excludedWindows} left out as labelled attacks`,
        `  threshold ${model.threshold} (the ${t.thresholdRule.quantile} quantile of training scores is ${t.thresholdRule.quantileScore}; floor ${t.thresholdRule.minThreshold})`,
        `  training scores: ${Object.entries(t.scoreQuantiles)
          .map(([q, v]) => `${q} ${v}`)
          .join(', ')}`,
        problems.length > 0 ? `  ${problems.length} record(s) could not be read (see above)` : '',
        `Wrote ${options.out} (${text.length} bytes).`,
      ];
      process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
    });
}

export function readLabels(path: string): LabelsFile {
  return parseLabels(readJsonFile(path, 'labels file'), path);
}

export function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: expected an integer from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

export function fraction(text: string, name: string): number {
  const value = Number(text);
  if (!(value > 0 && value < 1))
    throw new Error(`${name}: expected a number between 0 and 1 (got "${text}")`);
  return value;
}
