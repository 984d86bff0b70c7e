import { createHash } from 'node:crypto';
import * as z from 'zod';
import { windowStartOf } from '../features';
import { TRAINING_JOB_INPUT } from '../scoring/events';
import { FINDING_LABELLED_DETAIL_TYPE, type Label, labelIndex } from '../scoring/labels';
import { serializeActivityModel } from '../scoring/model';
import type { LabelStore, ModelStore, TrainingStatus } from '../scoring/ports';
import { type Count, type Log, storeLabel } from '../scoring/service';
import { trainModelFromComputedWindows } from '../scoring/train';
import { type QueryEngine, runQuery } from './query';
import { checkHeader, featureTableOf } from './rows';
import { type ExcludedSpan, windowFeaturesQuery } from './window-features-sql';

/**
 * Training in organization mode: the features of every account's principal-windows
 * are computed by one Athena query over the organization trail's table
 * (window-features-sql.ts), and the function trains the same forest on the rows
 * (trainModelFromComputedWindows). The function reads kilobytes per window
 * instead of weeks of every account's log files.
 */

export interface OrganizationTrainingSettings {
  readonly windowMinutes: number;
  readonly trainingDays: number;
  /** The threshold floor (config scoring.threshold). */
  readonly minThreshold: number;
  /** `database.table` of the organization trail's table. */
  readonly table: string;
  /** The accounts to read, or '*' for every account that delivered logs (listed by `accounts`). */
  readonly accounts: readonly string[] | '*';
  readonly seed?: number;
  readonly minWindows?: number;
}

export interface OrganizationTrainingDeps {
  readonly queries: QueryEngine;
  /** Lists the organization's accounts when settings.accounts is '*'. */
  readonly accounts: { list(): Promise<string[]> };
  readonly models: ModelStore;
  readonly labels: LabelStore;
  readonly settings: OrganizationTrainingSettings;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** True once the time budget is spent (the query is then stopped). */
  readonly shouldStop: () => boolean;
  readonly log: Log;
  readonly count: Count;
}

/** Labelled attacks with a principal and time span: the query leaves their windows out of every history. */
export function excludedSpansOf(labels: readonly Label[]): ExcludedSpan[] {
  const spans: ExcludedSpan[] = [];
  for (const label of labelIndex(labels).values()) {
    if (label.label !== 'true-positive' || !label.principalKey || !label.windowStart || !label.windowEnd) {
      continue;
    }
    const start = new Date(label.windowStart);
    const end = new Date(label.windowEnd);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) continue;
    spans.push({ principalKey: label.principalKey, start, end });
  }
  return spans;
}

/**
 * Queries, trains, writes the model and the status. The range ends at the start of
 * the current window (whole windows only), so a retried invocation within the same
 * window sends the same query text, and Athena's idempotency token (a hash of the
 * text) returns the query already started instead of running it twice.
 */
export async function runOrganizationTraining(deps: OrganizationTrainingDeps): Promise<TrainingStatus> {
  const startedAt = deps.now();
  try {
    return await train(deps, startedAt);
  } catch (error) {
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

async function train(deps: OrganizationTrainingDeps, now: Date): Promise<TrainingStatus> {
  const { settings } = deps;
  const end = new Date(windowStartOf(now.getTime(), settings.windowMinutes));
  const start = new Date(end.getTime() - settings.trainingDays * 86_400_000);
  const accounts = settings.accounts === '*' ? await deps.accounts.list() : [...settings.accounts];
  const labels = await deps.labels.list();
  if (accounts.length === 0) {
    throw new Error(
      `no accounts to read: the organization trail has delivered no logs yet (${settings.table})`,
    );
  }
  const sql = windowFeaturesQuery({
    table: settings.table,
    start,
    end,
    windowMinutes: settings.windowMinutes,
    accounts,
    excluded: excludedSpansOf(labels),
  });
  const token = createHash('sha256').update(sql).digest('hex');
  const outcome = await runQuery(deps.queries, sql, token, {
    now: () => deps.now().getTime(),
    sleep: deps.sleep,
    shouldStop: deps.shouldStop,
  });
  checkHeader(outcome.columns);
  const table = featureTableOf(outcome.rows);
  deps.log.info('features computed', {
    queryId: outcome.queryId,
    windows: table.rows.length,
    accounts: accounts.length,
    bytesScanned: outcome.bytesScanned,
  });
  deps.count('HistoryWindows', table.rows.length);

  const result = trainModelFromComputedWindows(table, {
    windowMinutes: settings.windowMinutes,
    minThreshold: settings.minThreshold,
    labels,
    trainedAt: now,
    ...(settings.seed !== undefined && { seed: settings.seed }),
    ...(settings.minWindows !== undefined && { minWindows: settings.minWindows }),
  });
  const source = `${deps.queries.description} (query ${outcome.queryId}, ${accounts.length} accounts)`;
  let status: TrainingStatus;
  if (result.status === 'insufficient-history') {
    status = {
      status: 'insufficient-history',
      at: now.toISOString(),
      records: result.records,
      windows: result.windows,
      needed: result.needed,
      message: `${result.message} (history from ${source})`,
    };
    deps.log.warn('no model trained', { ...status });
    deps.count('InsufficientHistory');
  } else {
    const { model } = result;
    await deps.models.putModel(JSON.stringify(serializeActivityModel(model)));
    status = {
      status: 'trained',
      at: now.toISOString(),
      records: model.training.records,
      windows: model.training.rows,
      threshold: model.threshold,
      message: `trained on ${model.training.rows} principal-windows of ${model.training.principals} principals from ${source}; ${model.training.excludedWindows} labelled attack windows left out`,
    };
    deps.log.info('model trained', { ...status });
    deps.count('ModelsTrained');
  }
  await deps.models.putStatus(status);
  return status;
}

const labelEventSchema = z.object({
  'detail-type': z.literal(FINDING_LABELLED_DETAIL_TYPE),
  time: z.string(),
  detail: z.unknown(),
});

export type OrganizationTrainingEventResult =
  | { kind: 'trained'; status: TrainingStatus }
  | { kind: 'label-stored'; findingId: string };

/**
 * The training function's event in organization mode: a label is stored as in
 * single-account mode; the schedule (`{"job":"rebuild-baselines"}` or a Scheduled
 * Event) trains from Athena. Anything else is an error naming it.
 */
export async function processOrganizationTrainingEvent(
  event: unknown,
  deps: OrganizationTrainingDeps,
): Promise<OrganizationTrainingEventResult> {
  const labelEvent = labelEventSchema.safeParse(event);
  if (labelEvent.success) {
    const label = await storeLabel(labelEvent.data.detail, labelEvent.data.time, deps.labels);
    deps.log.info('label stored', { findingId: label.findingId, label: label.label });
    deps.count('LabelsStored');
    return { kind: 'label-stored', findingId: label.findingId };
  }
  const isSchedule =
    (event as { job?: unknown })?.job === TRAINING_JOB_INPUT.job ||
    (event as { 'detail-type'?: unknown })?.['detail-type'] === 'Scheduled Event';
  if (!isSchedule) {
    const shape =
      event && typeof event === 'object' ? Object.keys(event).slice(0, 6).join(', ') : typeof event;
    throw new Error(
      `unexpected event (keys: ${shape}): expected the schedule or a "${FINDING_LABELLED_DETAIL_TYPE}" event`,
    );
  }
  return { kind: 'trained', status: await runOrganizationTraining(deps) };
}
