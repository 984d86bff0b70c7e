import { logFileText } from '../cloudtrail/reader';
import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Severity } from '../config/vocabulary';
import { type WindowJson, windowFromJson, windowToJson } from '../features';
import type { CallTrace } from '../verdicts/trace';
import type { Label } from './labels';
import type {
  HistoryRange,
  HistorySource,
  LabelStore,
  LogObjectRef,
  LogObjectSource,
  ModelStore,
  StoredWindow,
  TrainingStatus,
  WindowStore,
} from './ports';

/** In-memory ports: tests and the drill run the training and scoring logic without AWS. */

export class MemoryModelStore implements ModelStore {
  model: { text: string; version: string } | undefined;
  status: TrainingStatus | undefined;
  private versions = 0;
  async getModel() {
    return this.model;
  }
  async modelVersion() {
    return this.model?.version;
  }
  async putModel(text: string) {
    this.model = { text, version: `v${++this.versions}` };
  }
  async getStatus() {
    return this.status;
  }
  async putStatus(status: TrainingStatus) {
    this.status = status;
  }
}

export class MemoryLabelStore implements LabelStore {
  readonly labels = new Map<string, Label>();
  async list() {
    return [...this.labels.values()];
  }
  async put(label: Label) {
    this.labels.set(label.findingId, label);
  }
}

/** History from records in memory; `stopAfter` simulates a spent time budget. */
export class MemoryHistory implements HistorySource {
  readonly description = 'memory';
  constructor(
    private readonly records: readonly CloudTrailRecord[],
    private readonly stopAfter = Number.POSITIVE_INFINITY,
  ) {}
  async read(
    range: HistoryRange,
    onRecord: (record: CloudTrailRecord) => void,
    options: { shouldStop: () => boolean },
  ) {
    let read = 0;
    for (const record of this.records) {
      if (read >= this.stopAfter || options.shouldStop()) return { truncated: true };
      const time = Date.parse(record.eventTime);
      if (time >= range.start.getTime() && time < range.end.getTime()) onRecord(record);
      read++;
    }
    return { truncated: false };
  }
}

/** Log files by `bucket/key`: text as it is, bytes gunzipped as S3LogObjects does. */
export class MemoryLogObjects implements LogObjectSource {
  readonly objects = new Map<string, string | Uint8Array>();
  async getText(ref: LogObjectRef) {
    const content = this.objects.get(`${ref.bucket}/${ref.key}`);
    if (content === undefined) throw new Error(`GetObject s3://${ref.bucket}/${ref.key}: NoSuchKey`);
    return typeof content === 'string' ? content : logFileText(content, `s3://${ref.bucket}/${ref.key}`);
  }
}

/** Stores windows as JSON, like DynamoDB would, so nothing is shared by reference. */
export class MemoryWindowStore implements WindowStore {
  readonly items = new Map<
    string,
    {
      window: WindowJson;
      sources: string[];
      traces?: CallTrace[];
      reportedAt?: string;
      reportedSeverity?: Severity;
      version: number;
    }
  >();
  /** Makes the next N saves lose a race, to exercise the retry. */
  conflicts = 0;
  async load(principalKey: string, windowStart: number): Promise<StoredWindow | undefined> {
    const item = this.items.get(`${principalKey}|${windowStart}`);
    if (!item) return undefined;
    const copy = JSON.parse(JSON.stringify(item)) as typeof item;
    return {
      window: windowFromJson(copy.window),
      sources: copy.sources,
      ...(copy.traces && { traces: copy.traces }),
      ...(copy.reportedAt && { reportedAt: copy.reportedAt }),
      ...(copy.reportedSeverity && { reportedSeverity: copy.reportedSeverity }),
      version: copy.version,
    };
  }
  async save(stored: StoredWindow, expectedVersion: number): Promise<boolean> {
    const key = `${stored.window.principal.key}|${stored.window.windowStart}`;
    if (this.conflicts > 0) {
      this.conflicts--;
      return false;
    }
    if ((this.items.get(key)?.version ?? 0) !== expectedVersion) return false;
    this.items.set(
      key,
      JSON.parse(
        JSON.stringify({
          window: windowToJson(stored.window),
          sources: stored.sources,
          traces: stored.traces,
          reportedAt: stored.reportedAt,
          reportedSeverity: stored.reportedSeverity,
          version: stored.version,
        }),
      ),
    );
    return true;
  }
}
