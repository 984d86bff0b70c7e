/**
 * CloudTrail suite: the scoring pipeline end to end on a million records (100k
 * with --quick). Records come from the synthetic generator (layers/scoring/
 * synthetic.ts), written as CloudTrail writes them: gzipped log files of
 * {"Records":[...]}, 1000 records each. Timed: read (gunzip, JSON, validation)
 * + principal-window features + forest scores with explanations. Memory: the
 * process's resident set, sampled every 25 ms while timed.
 *
 * Row: {"suite":"cloudtrail","records":1000000,"records_per_s":123456,"peak_rss_mb":456,"model_bytes":160000}
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { WindowBuilder } from '../../layers/features';
import { type ActivityModel, serializeActivityModel } from '../../layers/scoring/model';
import { scoreAggregates } from '../../layers/scoring/score';
import { syntheticActivity } from '../../layers/scoring/synthetic';
import { trainModel } from '../../layers/scoring/train';
import type { BenchOptions, BenchRow } from './types';

export const name = 'cloudtrail';

/** An account with many principals: enough volume that a million records span days, not months. */
const ACCOUNT = { developers: 10, applications: 5, seed: 11 } as const;
const RECORDS_PER_FILE = 1000;

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const records = opts.quick ? 100_000 : 1_000_000;
  const say = (text: string) => process.stderr.write(opts.json ? '' : `  ${text}\n`);

  // A week of history to train the model the records are scored against (not kept: not timed).
  const model = trainOnAWeek();
  const modelBytes = JSON.stringify(serializeActivityModel(model)).length;
  say(
    `trained on ${model.training.records} records: ${model.training.rows} windows, model ${modelBytes} bytes`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'bench-cloudtrail-'));
  try {
    const files = writeLogFiles(dir, records);
    say(`wrote ${records} records in ${files} log files`);

    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    const started = performance.now();
    const builder = new WindowBuilder(model.windowMinutes);
    for await (const record of readCloudTrail([dir])) builder.add(record);
    const readMs = performance.now() - started;
    const scored = scoreAggregates(model, builder.windows());
    const elapsedMs = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (builder.records !== records) throw new Error(`read ${builder.records} records, wrote ${records}`);

    return [
      {
        suite: name,
        records,
        records_per_s: Math.round(records / (elapsedMs / 1000)),
        peak_rss_mb: Math.round(peak / 1e6),
        model_bytes: modelBytes,
        windows: scored.length,
        read_features_ms: Math.round(readMs),
        score_ms: Math.round(elapsedMs - readMs),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The model every scored run here is scored against (the reading suite shares it). */
export function trainOnAWeek(): ActivityModel {
  const trained = trainModel(syntheticActivity({ ...ACCOUNT, days: 7 }));
  if (trained.status !== 'trained') throw new Error(`cloudtrail bench: ${trained.message}`);
  return trained.model;
}

/** The scored period: the days after the history, as gzipped log files (the reading suite reads the same). */
export function writeLogFiles(dir: string, count: number): number {
  const source = syntheticActivity({ ...ACCOUNT, days: 365, start: new Date('2024-05-13T00:00:00Z') });
  let batch: CloudTrailRecord[] = [];
  let files = 0;
  let written = 0;
  for (const record of source) {
    batch.push(record);
    written++;
    if (batch.length === RECORDS_PER_FILE || written === count) {
      const name = `${String(files++).padStart(6, '0')}.json.gz`;
      writeFileSync(join(dir, name), gzipSync(JSON.stringify({ Records: batch })));
      batch = [];
    }
    if (written === count) break;
  }
  return files;
}

export function notes(rows: readonly BenchRow[]): string[] {
  return rows.map(
    (row) =>
      `cloudtrail: ${row.records} records read from gzipped log files, windowed and scored at ${row.records_per_s} records/s; peak RSS ${row.peak_rss_mb} MB; model file ${row.model_bytes} bytes.`,
  );
}
