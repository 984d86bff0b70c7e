import type { CloudTrailRecord } from '../cloudtrail/record';
import { parseEventTime } from '../cloudtrail/record';
import type { Finding } from '../findings/finding';
import { MemorySink } from '../findings/publish';
import { MemoryLogObjects, MemoryWindowStore } from './memory';
import type { ActivityModel } from './model';
import { scoreLogObject } from './service';

/**
 * Scores records the way the scoring function sees them in a deployment: cut into
 * log files (one per region every `fileSpanMs`, as CloudTrail writes them) and
 * scored by the same code as the function (scoreLogObject) with in-memory ports.
 * CloudTrail delivers a call's log file "within an average of about 5 minutes":
 * a file is delivered `delayMs - fileSpanMs / 2` after its span ends (never before
 * it ends), so a call waits `delayMs` on average and `delayMs + fileSpanMs / 2` at
 * most. For the drill and the command line, to measure when a finding comes, in
 * the records' own time.
 */
export interface DeliveryOptions {
  /** How much time one log file covers (default 5 minutes). */
  readonly fileSpanMs?: number;
  /** From a call to its delivery to the scorer, on average (default 5 minutes). */
  readonly delayMs?: number;
}

export interface DeliveredFinding {
  readonly finding: Finding;
  /** When the log file that raised it was delivered, ms since the epoch (records' time). */
  readonly at: number;
}

interface LogFile {
  readonly key: string;
  readonly records: CloudTrailRecord[];
  deliveredAt: number;
}

export async function scoreAsDelivered(
  model: ActivityModel,
  records: Iterable<CloudTrailRecord>,
  options: DeliveryOptions = {},
): Promise<DeliveredFinding[]> {
  const fileSpanMs = options.fileSpanMs ?? 300_000;
  const delayMs = options.delayMs ?? 300_000;
  const files = new Map<string, LogFile>();
  for (const record of records) {
    const time = parseEventTime(record.eventTime);
    if (time === undefined) continue;
    const slot = Math.floor(time / fileSpanMs);
    const key = `AWSLogs/${record.recipientAccountId ?? 'account'}/CloudTrail/${record.awsRegion}/${slot}.json`;
    let file = files.get(key);
    if (!file) {
      file = { key, records: [], deliveredAt: 0 };
      files.set(key, file);
    }
    file.records.push(record);
    file.deliveredAt = (slot + 1) * fileSpanMs + Math.max(0, delayMs - fileSpanMs / 2);
  }
  const logs = new MemoryLogObjects();
  const sink = new MemorySink();
  let now = 0;
  const deps = {
    logs,
    models: { current: async () => ({ model, version: 'as-delivered' }) },
    windows: new MemoryWindowStore(),
    sink,
    now: () => now,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    count: () => {},
  };
  const delivered: DeliveredFinding[] = [];
  for (const file of [...files.values()].sort((a, b) => a.deliveredAt - b.deliveredAt)) {
    logs.objects.set(`trail/${file.key}`, JSON.stringify({ Records: file.records }));
    now = file.deliveredAt;
    const before = sink.findings.length;
    await scoreLogObject({ bucket: 'trail', key: file.key }, deps);
    for (const finding of sink.findings.slice(before)) delivered.push({ finding, at: file.deliveredAt });
  }
  return delivered;
}
