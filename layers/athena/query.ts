/**
 * Running one Athena query to the end: start it, wait with backoff while it is
 * queued or running, read its rows. The engine is a port (QueryEngine), so the
 * waiting and the errors are tested without AWS; AthenaQueryEngine (aws.ts) is
 * the adapter.
 */

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface QueryStatus {
  readonly state: QueryState;
  /** Athena's StateChangeReason (why it failed or was cancelled). */
  readonly reason?: string;
  /** Athena's error type and whether retrying can help (AthenaError). */
  readonly errorType?: number;
  readonly retryable?: boolean;
  readonly bytesScanned?: number;
}

export interface ResultPage {
  /** Column names (from the result metadata). */
  readonly columns: readonly string[];
  /** Rows of cells as text (NULL: undefined), without the header row. */
  readonly rows: readonly (readonly (string | undefined)[])[];
  readonly nextToken?: string;
}

export interface QueryEngine {
  /** Starts the query; the same `idempotencyToken` returns the query already started. Returns its id. */
  start(sql: string, idempotencyToken: string): Promise<string>;
  status(queryId: string): Promise<QueryStatus>;
  page(queryId: string, nextToken: string | undefined): Promise<ResultPage>;
  stop(queryId: string): Promise<void>;
  /** For errors and logs: "Athena workgroup analytics". */
  readonly description: string;
}

/** The query ended FAILED or CANCELLED: carries Athena's reason. */
export class QueryFailedError extends Error {
  override readonly name = 'QueryFailedError';
  constructor(
    readonly queryId: string,
    readonly state: QueryState,
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(`Athena query ${queryId} ${state}: ${reason}`);
  }
}

/** The query was still running when the time budget ran out (it is stopped, so it costs no more). */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
  constructor(
    readonly queryId: string,
    readonly state: QueryState,
    readonly waitedMs: number,
  ) {
    super(
      `Athena query ${queryId} still ${state} after ${Math.round(waitedMs / 1000)} s: stopped; ` +
        'a shorter history (scoring.trainingDays) or fewer accounts per run would fit the time budget',
    );
  }
}

export interface WaitOptions {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** True once the time budget is spent. */
  readonly shouldStop: () => boolean;
  /** First wait between status checks, then ×1.5 up to maxDelayMs. Defaults 500 and 10 000. */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface QueryOutcome {
  readonly queryId: string;
  readonly columns: readonly string[];
  readonly rows: (readonly (string | undefined)[])[];
  readonly bytesScanned?: number;
}

/** Starts `sql`, waits for it, and reads every row. Throws QueryFailedError or QueryTimeoutError. */
export async function runQuery(
  engine: QueryEngine,
  sql: string,
  idempotencyToken: string,
  options: WaitOptions,
): Promise<QueryOutcome> {
  const startedAt = options.now();
  const queryId = await engine.start(sql, idempotencyToken);
  let delay = options.firstDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let status = await engine.status(queryId);
  while (status.state === 'QUEUED' || status.state === 'RUNNING') {
    if (options.shouldStop()) {
      await engine.stop(queryId).catch(() => {});
      throw new QueryTimeoutError(queryId, status.state, options.now() - startedAt);
    }
    await options.sleep(delay);
    delay = Math.min(maxDelay, Math.round(delay * 1.5));
    status = await engine.status(queryId);
  }
  if (status.state !== 'SUCCEEDED') {
    throw new QueryFailedError(
      queryId,
      status.state,
      status.reason ?? 'no reason given',
      status.retryable ?? false,
    );
  }
  const rows: (readonly (string | undefined)[])[] = [];
  let columns: readonly string[] = [];
  let token: string | undefined;
  do {
    const page = await engine.page(queryId, token);
    if (columns.length === 0) columns = page.columns;
    rows.push(...page.rows);
    token = page.nextToken;
  } while (token);
  return {
    queryId,
    columns,
    rows,
    ...(status.bytesScanned !== undefined && { bytesScanned: status.bytesScanned }),
  };
}
