/**
 * Reading suite: how close replay and scoring come to the reading ceiling. One set
 * of gzipped CloudTrail log files (the cloudtrail suite's synthetic account, 1000
 * records a file; 1 million records, 100 thousand with --quick) is read by:
 *
 * - ceiling: gunzip + JSON.parse of each file and nothing else (no validation, no
 *   features): no reader of these files can be faster than this in one thread;
 * - read: the project's reader (gunzip, JSON.parse, schema check per record);
 * - read+score: the reader, principal-window features and forest scores with
 *   explanations (what `honeytrail score` does);
 * - replay: `honeytrail replay` end to end (the reader, the rules, the touch logic).
 *
 * Each is run `repeats` times, in a rotated order each round so none always runs
 * on a warmer or busier machine; the row carries the median. `vs_ceiling` is the
 * ceiling's median time over the measure's: 1.00 is as fast as the ceiling (the
 * goal for read+score is at least 0.9).
 *
 * Row: {"suite":"reading","measure":"read+score","records":1000000,"files":1000,"repeats":3,
 *       "median_ms":..,"min_ms":..,"records_per_s":..,"vs_ceiling":0.8}
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { replay } from '../../bin/commands/replay';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import { WindowBuilder } from '../../layers/features';
import type { ActivityModel } from '../../layers/scoring/model';
import { scoreAggregates } from '../../layers/scoring/score';
import { trainOnAWeek, writeLogFiles } from './cloudtrail';
import type { BenchOptions, BenchRow } from './types';

export const name = 'reading';

/** The same account number replay is told about; the synthetic records carry their own. */
const ACCOUNT = '123456789012';

type Measure = 'ceiling' | 'read' | 'read+score' | 'replay';
const MEASURES: readonly Measure[] = ['ceiling', 'read', 'read+score', 'replay'];

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const records = opts.quick ? 100_000 : 1_000_000;
  const repeats = 3;
  const say = (text: string) => process.stderr.write(opts.json ? '' : `  ${text}\n`);
  const model = trainOnAWeek();
  const dir = mkdtempSync(join(tmpdir(), 'bench-reading-'));
  try {
    const files = writeLogFiles(dir, records);
    say(`wrote ${records} records in ${files} log files; ${repeats} rounds of ${MEASURES.join(', ')}`);
    const times = new Map<Measure, number[]>(MEASURES.map((m) => [m, []]));
    // A warm-up round (not kept): the page cache, the JIT, lazily loaded modules.
    for (const measure of MEASURES) await timeMeasure(measure, dir, model, records);
    for (let round = 0; round < repeats; round++) {
      const order = MEASURES.map((_, i) => MEASURES[(i + round) % MEASURES.length]!);
      for (const measure of order) times.get(measure)!.push(await timeMeasure(measure, dir, model, records));
      say(`round ${round + 1} of ${repeats} done`);
    }
    const ceiling = median(times.get('ceiling')!);
    return MEASURES.map((measure) => {
      const ms = median(times.get(measure)!);
      return {
        suite: name,
        measure,
        records,
        files,
        repeats,
        median_ms: Math.round(ms),
        min_ms: Math.round(Math.min(...times.get(measure)!)),
        records_per_s: Math.round(records / (ms / 1000)),
        vs_ceiling: Math.round((ceiling / ms) * 100) / 100,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One timed pass of `measure` over the files in `dir`, in milliseconds; checks it saw every record. */
async function timeMeasure(
  measure: Measure,
  dir: string,
  model: ActivityModel,
  expected: number,
): Promise<number> {
  const started = performance.now();
  const seen = await MEASURE[measure](dir, model);
  const elapsed = performance.now() - started;
  if (seen !== expected)
    throw new Error(`reading bench: ${measure} saw ${seen} records, expected ${expected}`);
  return elapsed;
}

const MEASURE: Record<Measure, (dir: string, model: ActivityModel) => Promise<number>> = {
  async ceiling(dir) {
    let records = 0;
    for (const file of readdirSync(dir).sort()) {
      const document = JSON.parse(gunzipSync(readFileSync(join(dir, file))).toString('utf8')) as {
        Records: unknown[];
      };
      records += document.Records.length;
    }
    return records;
  },
  async read(dir) {
    let records = 0;
    for await (const _ of readCloudTrail([dir])) records++;
    return records;
  },
  async 'read+score'(dir, model) {
    const builder = new WindowBuilder(model.windowMinutes);
    for await (const record of readCloudTrail([dir])) builder.add(record);
    scoreAggregates(model, builder.windows());
    return builder.records;
  },
  async replay(dir) {
    const summary = await replay(
      [dir],
      { json: true, account: ACCOUNT, trustedRole: [] },
      { out: () => {}, err: () => {} },
    );
    return summary.records;
  },
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function notes(rows: readonly BenchRow[]): string[] {
  const ceiling = rows.find((row) => row.measure === 'ceiling');
  if (!ceiling) return [];
  return [
    `reading: the ceiling (gunzip + JSON.parse only) reads ${ceiling.records_per_s} records/s; ` +
      rows
        .filter((row) => row !== ceiling)
        .map((row) => `${row.measure} ${row.records_per_s} records/s = ${row.vs_ceiling}x of it`)
        .join(', ') +
      ' (medians of the same run, same files; goal for read+score: at least 0.9x)',
  ];
}
