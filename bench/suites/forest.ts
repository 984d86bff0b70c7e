/**
 * Forest suite: our isolation forest (engine "honeytrail") against
 * ml-isolation-forest and, when /usr/bin/python3 has scikit-learn, against
 * scikit-learn's IsolationForest (bench/sklearn_iforest.py), on the five outlier
 * sets of Liu, Ting & Zhou (2008). Per set and engine: mean ROC AUC over seeds
 * (runs, for the unseeded ml-isolation-forest) and median train and score
 * milliseconds, all engines training and scoring on the full set.
 *
 * Row: {"suite":"forest","set":"shuttle","engine":"honeytrail","auc":0.99,"train_ms":12.3,"score_ms":45.6}
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { IsolationForest } from 'ml-isolation-forest';
import { z } from 'zod';
import { rocAuc, scoreForest, trainForest } from '../../layers/forest';
import { type LabelledSet, parseNumericCsv, splitLabelColumn } from '../../layers/forest/csv';
import type { BenchOptions, BenchRow } from './types';

export const name = 'forest';

const SETS = ['breastw', 'ionosphere', 'pima', 'satellite', 'shuttle'] as const;
type SetName = (typeof SETS)[number];
type Engine = 'honeytrail' | 'ml-isolation-forest' | 'scikit-learn';

interface ForestRow extends BenchRow {
  readonly suite: 'forest';
  readonly set: SetName;
  readonly engine: Engine;
  readonly auc: number;
  readonly train_ms: number;
  readonly score_ms: number;
}

const DATA_DIR = fileURLToPath(new URL('../data/outliers/', import.meta.url));
const SKLEARN_SCRIPT = fileURLToPath(new URL('../sklearn_iforest.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
/** The bar: AUC at most this much below scikit-learn's, and at least this speed-up on shuttle. */
const AUC_TOLERANCE = 0.02;
const SPEEDUP_BAR = 2;

/** Why scikit-learn rows are missing, for notes(); undefined when they are present. */
let sklearnProblem: string | undefined;

export async function run({ json, quick }: BenchOptions): Promise<BenchRow[]> {
  const progress = (text: string) => {
    if (!json && process.stderr.isTTY) process.stderr.write(`  forest: ${text}\n`);
  };
  // scikit-learn first and alone: a 2-core machine gives noisy times when engines overlap.
  progress('scikit-learn (bench/sklearn_iforest.py, 10 seeds per set)');
  const sklearnRows = await runSklearn();

  const sets = SETS.map((set) => ({ set, data: loadSet(set) }));
  const rows: ForestRow[] = [];
  for (const { set, data } of sets) {
    progress(`${set} honeytrail`);
    rows.push(benchHoneytrail(set, data, quick ? 3 : 10));
  }
  warmUpReference(sets[0]!.data);
  for (const { set, data } of sets) {
    progress(`${set} ml-isolation-forest`);
    rows.push(benchReference(set, data, quick ? 1 : 3));
  }
  rows.push(...sklearnRows);
  // Engines side by side within each set.
  return rows.sort((a, b) => SETS.indexOf(a.set) - SETS.indexOf(b.set));
}

export function notes(rows: readonly BenchRow[]): string[] {
  const forestRows = rows.filter(isForestRow);
  const find = (set: SetName, engine: Engine) => forestRows.find((r) => r.set === set && r.engine === engine);
  if (sklearnProblem !== undefined) return [`scikit-learn rows missing: ${sklearnProblem}`];

  const aucGaps = SETS.map((set) => {
    const ours = find(set, 'honeytrail');
    const theirs = find(set, 'scikit-learn');
    return ours && theirs ? { set, gap: ours.auc - theirs.auc } : undefined;
  }).filter((gap) => gap !== undefined);
  const aucOk = aucGaps.length === SETS.length && aucGaps.every(({ gap }) => gap >= -AUC_TOLERANCE);
  const lines = [
    `AUC honeytrail - scikit-learn: ${aucGaps.map(({ set, gap }) => `${set} ${signed(gap)}`).join(', ')} ` +
      `(bar: >= -${AUC_TOLERANCE}: ${aucOk ? 'met' : 'NOT met'})`,
  ];
  const ours = find('shuttle', 'honeytrail');
  const theirs = find('shuttle', 'scikit-learn');
  if (ours && theirs) {
    const oursMs = ours.train_ms + ours.score_ms;
    const theirsMs = theirs.train_ms + theirs.score_ms;
    const ratio = theirsMs / oursMs;
    lines.push(
      `shuttle train+score: scikit-learn ${theirsMs.toFixed(1)} ms / honeytrail ${oursMs.toFixed(1)} ms = ` +
        `${ratio.toFixed(2)}x (bar: >= ${SPEEDUP_BAR}x: ${ratio >= SPEEDUP_BAR ? 'met' : 'NOT met'})`,
    );
  }
  return lines;
}

function isForestRow(row: BenchRow): row is ForestRow {
  return row.suite === 'forest' && typeof row.auc === 'number';
}

function signed(value: number): string {
  const text = Math.abs(value).toFixed(3);
  // Sign of the rounded figure, so a gap of -0.0001 reads +0.000 rather than -0.000.
  return `${Number(text) !== 0 && value < 0 ? '-' : '+'}${text}`;
}

function loadSet(set: SetName): LabelledSet {
  return splitLabelColumn(parseNumericCsv(readFileSync(`${DATA_DIR}${set}.csv`, 'utf8')));
}

interface Measured {
  readonly auc: number;
  readonly trainMs: number;
  readonly scoreMs: number;
}

/** Time one train and one score, both on the full set, as scikit-learn's script does. */
function measure(train: () => (rows: number[][]) => ArrayLike<number>, data: LabelledSet): Measured {
  const start = performance.now();
  const score = train();
  const trained = performance.now();
  const scores = score(data.features);
  const scored = performance.now();
  return { auc: rocAuc(scores, data.labels), trainMs: trained - start, scoreMs: scored - trained };
}

function honeytrailRun(data: LabelledSet, seed: number): Measured {
  return measure(() => {
    const model = trainForest(data.features, { seed, featureNames: data.featureNames });
    return (rows) => scoreForest(model, rows);
  }, data);
}

function referenceRun(data: LabelledSet): Measured {
  return measure(() => {
    const forest = new IsolationForest({ nEstimators: 100 });
    forest.train(data.features);
    return (rows) => forest.predict(rows);
  }, data);
}

function benchHoneytrail(set: SetName, data: LabelledSet, seeds: number): ForestRow {
  // Warm-up with seeds outside the measured ones, so the JIT has compiled the loops.
  for (let warm = 0; warm < 3; warm++) honeytrailRun(data, 1000 + warm);
  const runs = Array.from({ length: seeds }, (_, i) => honeytrailRun(data, i + 1));
  return summarise(set, 'honeytrail', runs);
}

/** ml-isolation-forest is slow on the big sets; one run on a small set warms its code once for all. */
function warmUpReference(small: LabelledSet): void {
  referenceRun(small);
}

function benchReference(set: SetName, data: LabelledSet, runs: number): ForestRow {
  return summarise(
    set,
    'ml-isolation-forest',
    Array.from({ length: runs }, () => referenceRun(data)),
  );
}

function summarise(set: SetName, engine: Engine, runs: readonly Measured[]): ForestRow {
  return {
    suite: 'forest',
    set,
    engine,
    auc: round(mean(runs.map((r) => r.auc)), 4),
    train_ms: round(median(runs.map((r) => r.trainMs)), 1),
    score_ms: round(median(runs.map((r) => r.scoreMs)), 1),
  };
}

const sklearnOutputSchema = z.array(
  z.object({
    set: z.enum(SETS),
    auc: z.number(),
    train_ms: z.number(),
    score_ms: z.number(),
  }),
);

/** scikit-learn's figures from bench/sklearn_iforest.py --json; none (and a note) when it cannot run. */
async function runSklearn(): Promise<ForestRow[]> {
  sklearnProblem = undefined;
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, [SKLEARN_SCRIPT, DATA_DIR, '--json'], {
      maxBuffer: 1 << 20,
    }));
  } catch (error) {
    sklearnProblem = describeSklearnFailure(error);
    return [];
  }
  const parsed = sklearnOutputSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) {
    sklearnProblem = `unexpected output from ${SKLEARN_SCRIPT}: ${parsed.error.message}`;
    return [];
  }
  return parsed.data.map((r) => ({
    suite: 'forest',
    set: r.set,
    engine: 'scikit-learn',
    auc: r.auc,
    train_ms: r.train_ms,
    score_ms: r.score_ms,
  }));
}

const INSTALL_HINT = 'install it with `apt-get install -y python3-sklearn` (Debian/Ubuntu) and run again';

function describeSklearnFailure(error: unknown): string {
  const failure = error as NodeJS.ErrnoException & { stderr?: string };
  if (failure.code === 'ENOENT') return `${PYTHON} not found; ${INSTALL_HINT}`;
  // numpy or sklearn missing: python3-sklearn brings both.
  const missing = failure.stderr?.match(/No module named '([^']+)'/);
  if (missing) return `${PYTHON} has no module ${missing[1]}; ${INSTALL_HINT}`;
  return `${SKLEARN_SCRIPT} failed: ${failure.stderr?.trim() || failure.message}`;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
