import type { ReadProblem } from '../cloudtrail/reader';
import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Severity } from '../config/vocabulary';
import type { WindowAggregate } from '../features';
import type { CallTrace } from '../verdicts/trace';
import type { LabelCounts } from './label-classifier';
import type { Label } from './labels';

/**
 * The scoring and training functions' view of AWS: small ports, so the logic in
 * service.ts is tested without mocks and the adapters (aws.ts) stay thin.
 */

/** What the training function last did; written next to the model, read by the scorer when there is no model. */
export interface TrainingStatus {
  readonly status: 'trained' | 'insufficient-history' | 'failed';
  readonly at: string;
  readonly records: number;
  readonly windows: number;
  readonly needed?: number;
  readonly threshold?: number;
  readonly message: string;
  /** What the labels taught the classifier stored in the model (trained models only). */
  readonly labels?: LabelCounts;
  /** The history reader stopped early (time budget, LookupEvents rate) and trained on what it had. */
  readonly truncated?: boolean;
}

export interface ModelStore {
  /** The current model file's text and version tag, or undefined when none has been written. */
  getModel(): Promise<{ text: string; version: string } | undefined>;
  /** The current model's version tag without downloading it. */
  modelVersion(): Promise<string | undefined>;
  putModel(text: string): Promise<void>;
  getStatus(): Promise<TrainingStatus | undefined>;
  putStatus(status: TrainingStatus): Promise<void>;
}

export interface LabelStore {
  list(): Promise<Label[]>;
  put(label: Label): Promise<void>;
}

export interface HistoryRange {
  readonly start: Date;
  readonly end: Date;
}

/** Past CloudTrail records: the trail's log files in S3, or LookupEvents. */
export interface HistorySource {
  /** Human-readable, for logs: "s3://bucket/AWSLogs/", "LookupEvents in eu-west-1". */
  readonly description: string;
  /**
   * Streams the records of the range to `onRecord`. Stops early, with
   * `truncated: true`, when `shouldStop()` says so (the time budget is spent).
   */
  read(
    range: HistoryRange,
    onRecord: (record: CloudTrailRecord) => void,
    options: { onProblem: (problem: ReadProblem) => void; shouldStop: () => boolean },
  ): Promise<{ truncated: boolean }>;
}

/** One CloudTrail log file delivered to the trail bucket. */
export interface LogObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** S3's sequencer or version: two notifications of the same write carry the same one. */
  readonly version?: string;
}

export interface LogObjectSource {
  /** The object's text (decompressed if it was gzipped). */
  getText(ref: LogObjectRef): Promise<string>;
}

/** A principal-window as the scorer keeps it between log files. */
export interface StoredWindow {
  readonly window: WindowAggregate;
  /** Log files already merged in (so a redelivered notification is not counted twice). */
  readonly sources: readonly string[];
  /** The window's calls as the verdicts read them (bounded: see layers/verdicts/trace.ts). */
  readonly traces?: readonly CallTrace[];
  /** When its finding was published, if it was. */
  readonly reportedAt?: string;
  /** The severity last published for it: a later update publishes again only above this. */
  readonly reportedSeverity?: Severity;
  /** Optimistic lock: the version this copy was read at (0: new). */
  readonly version: number;
}

export interface WindowStore {
  load(principalKey: string, windowStart: number): Promise<StoredWindow | undefined>;
  /**
   * Writes the window if its stored version is still `expectedVersion` (0: must
   * not exist); false when another writer got there first (read again and retry).
   */
  save(window: StoredWindow, expectedVersion: number, expiresAt: number): Promise<boolean>;
}
