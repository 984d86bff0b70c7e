import { logFileRecords, type ReadProblem } from '../cloudtrail/reader';
import type { Severity } from '../config/vocabulary';
import { mergeWindows, WindowBuilder, windowKey, windowsOf } from '../features';
import type { FindingSink } from '../findings/publish';
import { ModelFileError } from '../forest';
import { issueLines } from '../runtime/issues';
import { type CallTrace, mergeTraces, severityRank, tracesByWindow } from '../verdicts';
import { judgeWindow } from './judge';
import { describeLabelCounts, withLabelClassifier } from './label-classifier';
import { type Label, labelEventDetailSchema } from './labels';
import { type ActivityModel, parseActivityModelText, serializeActivityModel } from './model';
import type {
  HistorySource,
  LabelStore,
  LogObjectRef,
  LogObjectSource,
  ModelStore,
  StoredWindow,
  TrainingStatus,
  WindowStore,
} from './ports';
import { scoreAggregates } from './score';
import { trainModelFromWindows } from './train';

/**
 * What the training and scoring functions do, with AWS behind ports (ports.ts):
 * the handlers only parse their event and call these.
 */

export interface Log {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export type Count = (metric: string, value?: number) => void;

// ---- training ----------------------------------------------------------------------------

export interface TrainingSettings {
  readonly windowMinutes: number;
  readonly trainingDays: number;
  /** The threshold floor (config scoring.threshold). */
  readonly minThreshold: number;
  readonly seed?: number;
  readonly minWindows?: number;
}

export interface TrainingDeps {
  readonly history: HistorySource;
  readonly models: ModelStore;
  readonly labels: LabelStore;
  readonly settings: TrainingSettings;
  readonly now: () => Date;
  /** True once the time budget is spent: train on what was read. */
  readonly shouldStop: () => boolean;
  readonly log: Log;
  readonly count: Count;
}

/**
 * Reads the last `trainingDays` of history, trains, writes the model and the
 * status. Too little history writes a status and no model (the previous model,
 * if any, stays: the versioned bucket keeps every one).
 */
export async function runTraining(deps: TrainingDeps): Promise<TrainingStatus> {
  const startedAt = deps.now();
  try {
    return await train(deps, startedAt);
  } catch (error) {
    // Recorded for the scorer's "why no model" and for whoever looks at the bucket; then rethrown.
    deps.count('TrainingFailed');
    await deps.models
      .putStatus({
        status: 'failed',
        at: startedAt.toISOString(),
        records: 0,
        windows: 0,
        message: (error as Error).message,
      })
      .catch(() => {});
    throw error;
  }
}

async function train(deps: TrainingDeps, end: Date): Promise<TrainingStatus> {
  const { settings } = deps;
  const start = new Date(end.getTime() - settings.trainingDays * 86_400_000);
  const builder = new WindowBuilder(settings.windowMinutes);
  let problems = 0;
  const { truncated } = await deps.history.read(
    { start, end },
    (record) => {
      builder.add(record);
    },
    {
      onProblem: (problem: ReadProblem) => {
        problems++;
        if (problems <= 10) deps.log.warn('unreadable CloudTrail record', { ...problem });
      },
      shouldStop: deps.shouldStop,
    },
  );
  deps.count('HistoryRecords', builder.records);
  if (problems > 0) deps.count('UnreadableRecords', problems);
  if (truncated) deps.log.warn('history read stopped early (time budget); training on what was read');

  const labels = await deps.labels.list();
  const result = trainModelFromWindows(builder, {
    windowMinutes: settings.windowMinutes,
    minThreshold: settings.minThreshold,
    labels,
    trainedAt: end,
    ...(settings.seed !== undefined && { seed: settings.seed }),
    ...(settings.minWindows !== undefined && { minWindows: settings.minWindows }),
  });

  let status: TrainingStatus;
  if (result.status === 'insufficient-history') {
    status = {
      status: 'insufficient-history',
      at: end.toISOString(),
      records: result.records,
      windows: result.windows,
      needed: result.needed,
      message: `${result.message} (history from ${deps.history.description})`,
      ...(truncated && { truncated }),
    };
    deps.log.warn('no model trained', { ...status });
    deps.count('InsufficientHistory');
  } else {
    const taught = withLabelClassifier(result.model, builder.windows(), labels, { trainedAt: end });
    if (taught.problem) deps.log.warn('no classifier from labels', { reason: taught.problem });
    const { model } = taught;
    await deps.models.putModel(JSON.stringify(serializeActivityModel(model)));
    status = {
      status: 'trained',
      at: end.toISOString(),
      records: model.training.records,
      windows: model.training.rows,
      threshold: model.threshold,
      labels: taught.labels,
      message: `trained on ${model.training.rows} principal-windows of ${model.training.principals} principals from ${deps.history.description}; ${model.training.excludedWindows} labelled attack windows left out; ${describeLabelCounts(taught)}`,
      ...(truncated && { truncated }),
    };
    deps.log.info('model trained', { ...status });
    deps.count('ModelsTrained');
  }
  await deps.models.putStatus(status);
  return status;
}

// ---- the current model, cached across invocations ----------------------------------------

export type ModelState = { model: ActivityModel; version: string } | { model: undefined; reason: string };

export interface ModelCache {
  current(): Promise<ModelState>;
}

/**
 * Keeps the parsed model between invocations and checks the store for a newer one
 * (a HEAD, not a download) at most every `checkEveryMs`.
 */
export function modelCache(
  store: ModelStore,
  options: { checkEveryMs: number; now: () => number; log: Log; count: Count },
): ModelCache {
  let cached: ModelState | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  return {
    async current() {
      const now = options.now();
      if (cached && now - checkedAt < options.checkEveryMs) return cached;
      const version = await store.modelVersion();
      checkedAt = now;
      if (cached?.model && version === cached.version) return cached;
      if (version === undefined) {
        const status = await store.getStatus();
        cached = {
          model: undefined,
          reason: status
            ? `last training: ${status.status} at ${status.at}: ${status.message}`
            : 'no model has been trained yet',
        };
        return cached;
      }
      const file = await store.getModel();
      if (!file) {
        cached = { model: undefined, reason: 'the model disappeared between HEAD and GET' };
        return cached;
      }
      try {
        cached = { model: parseActivityModelText(file.text, 'the current model'), version: file.version };
        options.log.info('model loaded', { version: file.version });
      } catch (error) {
        if (!(error instanceof ModelFileError)) throw error;
        options.log.error('the current model cannot be read', { error: error.message });
        options.count('ModelUnreadable');
        cached = { model: undefined, reason: error.message };
      }
      return cached;
    },
  };
}

// ---- scoring one delivered log file ------------------------------------------------------

export interface ScoringDeps {
  readonly logs: LogObjectSource;
  readonly models: ModelCache;
  readonly windows: WindowStore;
  readonly sink: FindingSink;
  readonly now: () => number;
  readonly log: Log;
  readonly count: Count;
}

export interface ScoreOutcome {
  readonly records: number;
  /** Records of the file that could not be read, skipped (each named in the log). */
  readonly skippedRecords: number;
  readonly windows: number;
  /** Ids of the findings published for this file. */
  readonly findings: readonly string[];
  /** Set when nothing was scored, with why. */
  readonly skipped?: string;
}

const MAX_SOURCES = 400;
/** Skipped records logged one line each; the indexes of any more go on one line. */
const MAX_LOGGED_SKIPS = 10;
const MAX_SAVE_ATTEMPTS = 6;
/** Windows are kept two days past their end: CloudTrail delivers late, rarely by more. */
const WINDOW_TTL_MS = 2 * 86_400_000;

function nothingScored(why: string): ScoreOutcome {
  return { records: 0, skippedRecords: 0, windows: 0, findings: [], skipped: why };
}

function expiryOf(window: StoredWindow['window']): number {
  return window.windowStart + window.windowMinutes * 60_000 + WINDOW_TTL_MS;
}

/**
 * Scores the principal-windows one log file touches. A window spans many log
 * files (one every few minutes per region), so the file's records are merged
 * into the window as stored so far (its counts for the forest, its calls for the
 * verdicts) and the whole window is scored and judged on every update: a finding
 * comes with the first log file that makes the case, not at the window's end. A
 * window publishes once, and again only when its severity grows (layers/scoring/judge.ts).
 *
 * Safe to run twice for the same file: a file already merged into a window is not
 * merged again, and a window already reported at a severity is not reported again
 * at that severity.
 */
export async function scoreLogObject(ref: LogObjectRef, deps: ScoringDeps): Promise<ScoreOutcome> {
  if (ref.key.includes('/CloudTrail-Digest/')) {
    return nothingScored('a digest file, not a log file');
  }
  if (ref.key.includes('/CloudTrail-Insight/')) {
    return nothingScored('an Insights file, not a log file');
  }
  const state = await deps.models.current();
  if (!state.model) {
    deps.log.info('not scoring: no model', { reason: state.reason, key: ref.key });
    deps.count('ScoringSkippedNoModel');
    return nothingScored(state.reason);
  }
  const { model } = state;
  const source = `s3://${ref.bucket}/${ref.key}`;
  // An unreadable file throws UnreadableLogFileError from here: nothing of it is merged or marked.
  const text = await deps.logs.getText(ref);
  const skipped: ReadProblem[] = [];
  const records = logFileRecords(text, source, (problem) => skipped.push(problem));
  if (skipped.length > 0) {
    deps.count('SkippedRecords', skipped.length);
    for (const problem of skipped.slice(0, MAX_LOGGED_SKIPS)) {
      deps.log.warn('record skipped', {
        bucket: ref.bucket,
        key: ref.key,
        recordIndex: problem.recordIndex,
        reason: problem.message,
      });
    }
    if (skipped.length > MAX_LOGGED_SKIPS) {
      deps.log.warn('more records skipped', {
        bucket: ref.bucket,
        key: ref.key,
        recordIndexes: skipped.slice(MAX_LOGGED_SKIPS).map((problem) => problem.recordIndex),
      });
    }
  }
  deps.count('RecordsScored', records.length);

  const sourceId = `${ref.key}#${ref.version ?? ''}`;
  const callsByWindow = tracesByWindow(records, model.windowMinutes);
  const stored: StoredWindow[] = [];
  for (const window of windowsOf(records, model.windowMinutes)) {
    const calls = callsByWindow.get(windowKey(window.principal.key, window.windowStart)) ?? [];
    stored.push(await mergeIntoStore(window, calls, sourceId, deps));
  }
  const scored = scoreAggregates(
    model,
    stored.map((s) => s.window),
    { explainTop: 0 },
  );
  // Every update of a window is judged (score and verdicts over everything merged so
  // far), so a finding comes with the first log file that makes the case; a window
  // publishes again only when its severity grows.
  const published: string[] = [];
  for (let i = 0; i < scored.length; i++) {
    const window = stored[i]!;
    const judged = judgeWindow(scored[i]!, model, window.traces ?? [], {
      ...(reportedSeverityOf(window) && { reportedSeverity: reportedSeverityOf(window) }),
    });
    if (judged.refinement && !judged.refinement.flag) {
      // The forest raised it, windows like it were labelled false positives: not published.
      deps.count('SuppressedByFeedback');
      deps.log.info('window not published', {
        principal: window.window.principal.key,
        windowStart: new Date(window.window.windowStart).toISOString(),
        reason: judged.refinement.reason,
      });
    }
    if (!judged.finding) continue;
    await deps.sink.publish(judged.finding);
    await markReported(window, judged.severity, deps);
    published.push(judged.finding.id);
    deps.count(
      judged.decision.publish && judged.decision.raised ? 'AnomalyFindingsRaised' : 'AnomalyFindings',
    );
    for (const verdict of judged.verdicts) deps.count(`Verdict-${verdict.verdict}`);
  }
  return {
    records: records.length,
    skippedRecords: skipped.length,
    windows: scored.length,
    findings: published,
  };
}

/**
 * What was published for a window so far. A window stored before severities were
 * kept (reportedAt only) counts as reported at the top: it is never published again,
 * as before.
 */
function reportedSeverityOf(window: StoredWindow): Severity | undefined {
  return window.reportedSeverity ?? (window.reportedAt ? 'critical' : undefined);
}

async function mergeIntoStore(
  fresh: StoredWindow['window'],
  freshCalls: readonly CallTrace[],
  sourceId: string,
  deps: ScoringDeps,
): Promise<StoredWindow> {
  const expiresAt = expiryOf(fresh);
  for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt++) {
    const current = await deps.windows.load(fresh.principal.key, fresh.windowStart);
    if (current?.sources.includes(sourceId)) return current;
    const merged: StoredWindow = current
      ? {
          window: mergeWindows(current.window, fresh),
          sources: [...current.sources, sourceId].slice(-MAX_SOURCES),
          traces: mergeTraces(current.traces ?? [], freshCalls),
          ...(current.reportedAt && { reportedAt: current.reportedAt }),
          ...(current.reportedSeverity && { reportedSeverity: current.reportedSeverity }),
          version: current.version + 1,
        }
      : { window: fresh, sources: [sourceId], traces: mergeTraces([], freshCalls), version: 1 };
    if (await deps.windows.save(merged, current?.version ?? 0, expiresAt)) return merged;
    deps.count('WindowWriteConflicts');
  }
  throw new Error(
    `window ${fresh.principal.key} at ${new Date(fresh.windowStart).toISOString()}: ${MAX_SAVE_ATTEMPTS} write conflicts in a row`,
  );
}

async function markReported(window: StoredWindow, severity: Severity, deps: ScoringDeps): Promise<void> {
  const expiresAt = expiryOf(window.window);
  const rank = (value: Severity | undefined) => (value === undefined ? -1 : severityRank(value));
  let current: StoredWindow | undefined = window;
  for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS && current; attempt++) {
    if (rank(reportedSeverityOf(current)) >= rank(severity)) return;
    const reported: StoredWindow = {
      ...current,
      reportedAt: new Date(deps.now()).toISOString(),
      reportedSeverity: severity,
      version: current.version + 1,
    };
    if (await deps.windows.save(reported, current.version, expiresAt)) return;
    current = await deps.windows.load(window.window.principal.key, window.window.windowStart);
  }
  // Not fatal: the finding is out; at worst a later file republishes it under the same id
  // (ids are stable per window and severity).
  deps.log.warn('could not mark a window reported', { principal: window.window.principal.key });
}

// ---- feedback ----------------------------------------------------------------------------

/** Stores the label carried by a "Finding Labelled" event. Throws, naming the field, on a malformed one. */
export async function storeLabel(detail: unknown, eventTime: string, labels: LabelStore): Promise<Label> {
  const parsed = labelEventDetailSchema.safeParse(detail);
  if (!parsed.success) {
    const reasons = issueLines(parsed.error, { prefix: ['detail'] });
    throw new Error(`Finding Labelled event not stored: ${reasons.join('; ')}`);
  }
  const label: Label = { ...parsed.data, labelledAt: parsed.data.labelledAt ?? eventTime };
  await labels.put(label);
  return label;
}
