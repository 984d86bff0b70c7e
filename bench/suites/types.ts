/** Shared shapes of the benchmark runner (bench/run.ts) and its suites. */

export interface BenchOptions {
  /** The runner prints JSON lines; a suite should keep its own chatter off stdout. */
  readonly json: boolean;
  /** Fewer repeats and seeds, for a fast look rather than a figure to quote. */
  readonly quick: boolean;
}

export type BenchValue = string | number | boolean | null;

/** One line of results: a plain, JSON-safe object that names its suite. */
export interface BenchRow {
  readonly suite: string;
  readonly [column: string]: BenchValue;
}

/**
 * A suite module: `export const name` and `export async function run`, and
 * optionally `export function notes`, whose lines the runner prints after the
 * suite's table (to stderr with --json, so stdout stays one JSON object a line).
 */
export interface BenchSuite {
  readonly name: string;
  run(opts: BenchOptions): Promise<BenchRow[]>;
  notes?(rows: readonly BenchRow[]): string[];
}
