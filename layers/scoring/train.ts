import type { CloudTrailRecord } from '../cloudtrail/record';
import {
  emptyBaselines,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_VERSION,
  featuresOf,
  learnWindow,
  type WindowAggregate,
  WindowBuilder,
} from '../features';
import { type Baselines, historiesOf } from '../features/baseline';
import { scoreForest, trainForest } from '../forest';
import { anomalyFindingId } from './findings';
import { attackWindowMatcher, type Label } from './labels';
import type { ActivityModel } from './model';

export interface TrainModelOptions {
  /** Window length (config scoring.windowMinutes). Default 60. */
  readonly windowMinutes?: number;
  /** Default 200, not the forest's 100: scores of the few windows near the threshold vary half as much. */
  readonly trees?: number;
  /** ψ, rows per tree. Default 256. */
  readonly sampleSize?: number;
  readonly seed?: number;
  /**
   * The threshold is this quantile of the training windows' scores (default 0.995:
   * about one benign window in 200 scores above it)...
   */
  readonly thresholdQuantile?: number;
  /** ...but never below this (default 0.5: below 0.5 a row is not anomalous by Liu et al.'s definition). */
  readonly minThreshold?: number;
  /** Fewer training rows than this gives `insufficient-history` and no model. Default 48. */
  readonly minWindows?: number;
  /** Labels: windows labelled true positive are left out of the rows and the baselines. */
  readonly labels?: readonly Label[];
  /** When the model was trained, for the record (the function is pure: no clock). */
  readonly trainedAt?: Date;
}

export type TrainResult =
  | { readonly status: 'trained'; readonly model: ActivityModel }
  | {
      readonly status: 'insufficient-history';
      /** Usable training windows found. */
      readonly windows: number;
      /** Windows needed. */
      readonly needed: number;
      readonly records: number;
      readonly message: string;
    };

export const TRAINING_DEFAULTS = {
  windowMinutes: 60,
  trees: 200,
  sampleSize: 256,
  seed: 1,
  thresholdQuantile: 0.995,
  minThreshold: 0.5,
  minWindows: 48,
} as const;

/** Trains an activity model on CloudTrail records (any order). Pure. */
export function trainModel(
  records: Iterable<CloudTrailRecord>,
  options: TrainModelOptions = {},
): TrainResult {
  const builder = new WindowBuilder(options.windowMinutes ?? TRAINING_DEFAULTS.windowMinutes);
  builder.addAll(records);
  return trainModelFromWindows(builder, options);
}

/**
 * Trains on windows already built (the command line and the training function
 * stream records into a WindowBuilder rather than keep them).
 */
export function trainModelFromWindows(builder: WindowBuilder, options: TrainModelOptions = {}): TrainResult {
  const settings = { ...TRAINING_DEFAULTS, ...definedOnly(options) };
  if (builder.windowMinutes !== settings.windowMinutes && options.windowMinutes !== undefined) {
    throw new Error(
      `windows were built ${builder.windowMinutes} minutes long, options say ${settings.windowMinutes}`,
    );
  }
  const windowMinutes = builder.windowMinutes;
  const windows = builder.windows();
  const { rows, warmRows, excluded, baselines } = featureRowsOf(windows, windowMinutes, options.labels ?? []);
  return fitModel(
    rows.map((row) => row.vector),
    warmRows,
    baselines,
    {
      records: builder.records,
      windows: windows.length,
      excluded,
      principals: new Set(windows.map((w) => w.principal.key)).size,
      skippedRecords: builder.skipped.count,
      first: windows[0]?.windowStart ?? 0,
      last: windows.at(-1)?.windowStart ?? 0,
    },
    windowMinutes,
    settings,
    options.trainedAt,
  );
}

/** One principal-window as training sees it: its features against the history before it. */
export interface TrainingRow {
  readonly window: WindowAggregate;
  readonly vector: Float64Array;
  /** Its user or role had never been seen before (kept as a row, left out of the threshold). */
  readonly coldStart: boolean;
}

/**
 * The training rows of windows in training order (window start, then principal
 * key): each window is featured against the history before it, then teaches the
 * history. Labelled attacks do neither. The first windows of a principal whose
 * user or role was never seen before ("cold start": every IP, tool and API is new)
 * stay in the rows, so the novelty features vary in training and the forest can
 * split on them (a feature constant in training is never split on, and novelty
 * would count for nothing); but they are left out of the threshold, which is about
 * principals with a history. Pure; the reference the SQL features
 * (layers/athena/window-features-sql.ts) are tested against.
 */
export function featureRowsOf(
  windows: readonly WindowAggregate[],
  windowMinutes: number,
  labels: readonly Label[],
): { rows: TrainingRow[]; warmRows: number[]; excluded: number; baselines: Baselines } {
  const windowMs = windowMinutes * 60_000;
  const isAttack = attackWindowMatcher(labels);
  const baselines = emptyBaselines(FEATURE_COUNT);
  const rows: TrainingRow[] = [];
  const warmRows: number[] = [];
  let excluded = 0;
  for (const window of windows) {
    const id = anomalyFindingId(window.principal.key, window.windowStart, windowMinutes);
    if (isAttack(id, window.principal.key, window.windowStart, window.windowStart + windowMs)) {
      excluded++;
      continue;
    }
    const coldStart = !hasHistory(baselines, window.principal.key, window.principal.identity);
    const { vector, traits } = featuresOf(window, baselines);
    if (!coldStart) warmRows.push(rows.length);
    rows.push({ window, vector, coldStart });
    learnWindow(baselines, traits);
  }
  return { rows, warmRows, excluded, baselines };
}

/**
 * A principal-window whose features were computed elsewhere (Athena, in
 * organization mode: layers/athena), with what it teaches the baselines.
 */
export interface ComputedWindow {
  readonly principalKey: string;
  readonly identity: string;
  readonly windowStart: number;
  readonly calls: number;
  readonly hour: number;
  readonly vector: Float64Array;
  readonly sourceIps: readonly string[];
  readonly userAgentFamilies: readonly string[];
  readonly apis: readonly string[];
  readonly regions: readonly string[];
}

export interface ComputedWindows {
  /** In training order (window start, then principal key). */
  readonly rows: readonly ComputedWindow[];
  /** Windows (and their calls) the computation left out as labelled attacks. */
  readonly excludedWindows: number;
  readonly excludedCalls: number;
}

/**
 * Trains on features computed elsewhere: the baselines are rebuilt from each
 * window's traits in order (the same histories featureRowsOf builds), and the
 * same forest and threshold rule as trainModelFromWindows. Labels that name a
 * finding only (no principal and time span, so the computation could not leave
 * them out) drop their window from the rows here. Pure.
 */
export function trainModelFromComputedWindows(
  computed: ComputedWindows,
  options: TrainModelOptions = {},
): TrainResult {
  const settings = { ...TRAINING_DEFAULTS, ...definedOnly(options) };
  const windowMinutes = settings.windowMinutes;
  const isAttack = attackWindowMatcher(options.labels ?? []);
  const windowMs = windowMinutes * 60_000;
  const baselines = emptyBaselines(FEATURE_COUNT);
  const vectors: Float64Array[] = [];
  const warmRows: number[] = [];
  let excluded = computed.excludedWindows;
  let records = computed.excludedCalls;
  let previous: ComputedWindow | undefined;
  for (const row of computed.rows) {
    if (row.vector.length !== FEATURE_COUNT) {
      throw new Error(`a computed window has ${row.vector.length} features, expected ${FEATURE_COUNT}`);
    }
    if (
      previous &&
      (row.windowStart < previous.windowStart ||
        (row.windowStart === previous.windowStart && row.principalKey <= previous.principalKey))
    ) {
      throw new Error('computed windows must come in training order (window start, then principal key)');
    }
    previous = row;
    records += row.calls;
    const id = anomalyFindingId(row.principalKey, row.windowStart, windowMinutes);
    if (isAttack(id, row.principalKey, row.windowStart, row.windowStart + windowMs)) {
      excluded++;
      continue;
    }
    if (hasHistory(baselines, row.principalKey, row.identity)) warmRows.push(vectors.length);
    vectors.push(row.vector);
    learnWindow(baselines, {
      principalKey: row.principalKey,
      identity: row.identity,
      hour: row.hour,
      sourceIps: row.sourceIps,
      userAgentFamilies: row.userAgentFamilies,
      apis: row.apis,
      regions: row.regions,
      features: row.vector,
    });
  }
  return fitModel(
    vectors,
    warmRows,
    baselines,
    {
      records,
      windows: computed.rows.length + computed.excludedWindows,
      excluded,
      principals: new Set(computed.rows.map((row) => row.principalKey)).size,
      skippedRecords: 0,
      first: computed.rows[0]?.windowStart ?? 0,
      last: computed.rows.at(-1)?.windowStart ?? 0,
    },
    windowMinutes,
    settings,
    options.trainedAt,
  );
}

interface TrainingCounts {
  readonly records: number;
  readonly windows: number;
  readonly excluded: number;
  readonly principals: number;
  readonly skippedRecords: number;
  /** Start of the first and of the last window, ms. */
  readonly first: number;
  readonly last: number;
}

/** The forest and its threshold over the rows (shared by both training paths). */
function fitModel(
  rows: readonly Float64Array[],
  warmRows: readonly number[],
  baselines: Baselines,
  counts: TrainingCounts,
  windowMinutes: number,
  settings: { readonly [K in keyof typeof TRAINING_DEFAULTS]: number },
  trainedAt: Date | undefined,
): TrainResult {
  if (!(settings.thresholdQuantile > 0 && settings.thresholdQuantile < 1)) {
    throw new Error(`thresholdQuantile must be in (0, 1) (got ${settings.thresholdQuantile})`);
  }
  const windowMs = windowMinutes * 60_000;
  const { excluded, first, last } = counts;
  if (rows.length < settings.minWindows) {
    return {
      status: 'insufficient-history',
      windows: rows.length,
      needed: settings.minWindows,
      records: counts.records,
      message:
        `${rows.length} principal-windows of ${windowMinutes} minutes to train on (${excluded} labelled as attacks left out), ` +
        `${settings.minWindows} needed: no model yet, scoring stays quiet until there is more history`,
    };
  }

  const flat = new Float64Array(rows.length * FEATURE_COUNT);
  rows.forEach((row, r) => {
    flat.set(row, r * FEATURE_COUNT);
  });
  const forest = trainForest(flat, {
    trees: settings.trees,
    sampleSize: settings.sampleSize,
    seed: settings.seed,
    featureNames: FEATURE_NAMES,
  });
  const allScores = scoreForest(forest, flat);
  const thresholdRows = warmRows.length >= settings.minWindows / 2 ? warmRows : [...allScores.keys()];
  const scores = Float64Array.from(thresholdRows, (r) => allScores[r]!).sort();
  const quantileScore = quantile(scores, settings.thresholdQuantile);
  const threshold = round(Math.min(0.99, Math.max(settings.minThreshold, quantileScore)));

  return {
    status: 'trained',
    model: {
      forest,
      threshold,
      trainingWindow: {
        start: new Date(first).toISOString(),
        end: new Date(last + windowMs).toISOString(),
      },
      windowMinutes,
      featureVersion: FEATURE_VERSION,
      baselines,
      training: {
        records: counts.records,
        windows: counts.windows,
        rows: rows.length,
        coldStartRows: rows.length - warmRows.length,
        excludedWindows: excluded,
        principals: counts.principals,
        skippedRecords: counts.skippedRecords,
        thresholdRule: {
          quantile: settings.thresholdQuantile,
          quantileScore: round(quantileScore),
          minThreshold: settings.minThreshold,
        },
        scoreQuantiles: Object.fromEntries(
          [0.5, 0.9, 0.99, 0.999, 1].map((q) => [`p${q * 100}`, round(quantile(scores, q))]),
        ),
        ...(trainedAt && { trainedAt: trainedAt.toISOString() }),
      },
    },
  };
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** Has this principal, or its user or role, been seen before? */
function hasHistory(baselines: Baselines, principalKey: string, identity: string): boolean {
  const pair = historiesOf(baselines, principalKey, identity);
  return Boolean(pair.own?.windows || pair.identity?.windows);
}
