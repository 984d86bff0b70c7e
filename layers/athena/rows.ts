import { FEATURE_COUNT } from '../features';
import { FEATURE_COLUMNS, LIST_SEPARATOR, RESULT_COLUMNS } from './window-features-sql';

/** One principal-window as the query returns it: its features and what it teaches the baselines. */
export interface FeatureRow {
  readonly principalKey: string;
  readonly identity: string;
  readonly windowStart: number;
  /** Calls in the window (the first feature is ln(1 + calls)). */
  readonly calls: number;
  /** Hour of day (UTC) of the window's start. */
  readonly hour: number;
  /** In FEATURE_NAMES order. */
  readonly vector: Float64Array;
  readonly sourceIps: readonly string[];
  readonly userAgentFamilies: readonly string[];
  readonly apis: readonly string[];
  readonly regions: readonly string[];
}

/** Everything the query returned. */
export interface FeatureTable {
  readonly rows: readonly FeatureRow[];
  /** Windows of labelled attacks the query left out, and their calls. */
  readonly excludedWindows: number;
  readonly excludedCalls: number;
}

/** A result that is not what the query returns (another query's output, a changed query): names the cell. */
export class FeatureTableError extends Error {
  override readonly name = 'FeatureTableError';
}

function number(value: string | undefined, where: string): number {
  // Athena writes doubles as Java does (1.0E-4, Infinity, NaN): Number() reads them.
  const parsed = value === undefined || value === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(parsed)) throw new FeatureTableError(`${where}: "${value}" is not a number`);
  return parsed;
}

function list(value: string | undefined): string[] {
  return value ? value.split(LIST_SEPARATOR) : [];
}

/** Checks the header row against RESULT_COLUMNS. */
export function checkHeader(header: readonly (string | undefined)[]): void {
  const names = header.map((name) => name?.toLowerCase());
  if (names.length !== RESULT_COLUMNS.length || RESULT_COLUMNS.some((name, i) => names[i] !== name)) {
    throw new FeatureTableError(
      `the result's columns are (${names.join(', ')}), expected (${RESULT_COLUMNS.join(', ')})`,
    );
  }
}

/**
 * Reads result rows (cells as text, as GetQueryResults returns them; without the
 * header row) into the feature table.
 */
export function featureTableOf(cells: Iterable<readonly (string | undefined)[]>): FeatureTable {
  const position = new Map<string, number>(RESULT_COLUMNS.map((name, i) => [name, i]));
  const rows: FeatureRow[] = [];
  let excludedWindows = 0;
  let excludedCalls = 0;
  let r = 0;
  for (const row of cells) {
    r++;
    const where = (column: string) => `row ${r}, ${column}`;
    const cell = (column: string) => row[position.get(column) ?? -1];
    const numberAt = (column: string) => number(cell(column), where(column));
    if (row.length !== RESULT_COLUMNS.length) {
      throw new FeatureTableError(`row ${r} has ${row.length} cells, expected ${RESULT_COLUMNS.length}`);
    }
    const principalKey = cell('principal_key');
    const identity = cell('identity');
    if (!principalKey || !identity) throw new FeatureTableError(`row ${r} has no principal_key or identity`);
    const vector = new Float64Array(FEATURE_COUNT);
    FEATURE_COLUMNS.forEach((column, f) => {
      vector[f] = numberAt(column);
    });
    rows.push({
      principalKey,
      identity,
      windowStart: numberAt('window_start_ms'),
      calls: numberAt('call_count'),
      hour: numberAt('hour'),
      vector,
      sourceIps: list(cell('source_ip_list')),
      userAgentFamilies: list(cell('user_agent_list')),
      apis: list(cell('api_list')),
      regions: list(cell('region_list')),
    });
    excludedWindows = numberAt('excluded_windows');
    excludedCalls = numberAt('excluded_calls');
  }
  return { rows, excludedWindows, excludedCalls };
}
