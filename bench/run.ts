/**
 * `npm run bench [-- --suite NAME[,NAME]] [--json] [--quick]`
 *
 * Runs benchmark suites and prints a table per suite, or with --json one JSON
 * object per line (every row carries its `suite`). To add a suite, write
 * bench/suites/NAME.ts exporting `name` and `run` (see suites/types.ts) and
 * append it to `suites` below.
 */
import { parseArgs } from 'node:util';
import * as cloudtrail from './suites/cloudtrail';
import * as forest from './suites/forest';
import * as labels from './suites/labels';
import * as reading from './suites/reading';
import * as touch from './suites/touch';
import type { BenchRow, BenchSuite, BenchValue } from './suites/types';

const suites: readonly BenchSuite[] = [forest, touch, cloudtrail, reading, labels];

const USAGE = `usage: npm run bench -- [--suite NAME[,NAME...]] [--json] [--quick]
  --suite   run only these suites (repeatable); known: ${suites.map((s) => s.name).join(', ')}
  --json    one JSON object per line on stdout instead of tables
  --quick   fewer repeats, for a fast look`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const selected = selectSuites(values.suite?.flatMap((s) => s.split(',')) ?? []);
  if (typeof selected === 'string') {
    console.error(`${selected}\n${USAGE}`);
    return 2;
  }
  const opts = { json: values.json, quick: values.quick };
  for (const suite of selected) {
    const rows = await suite.run(opts);
    const notes = suite.notes?.(rows) ?? [];
    if (opts.json) {
      for (const row of rows) console.log(JSON.stringify(row));
      for (const note of notes) console.error(note);
    } else {
      console.log(`\n== ${suite.name}${opts.quick ? ' (quick)' : ''} ==`);
      console.log(formatTable(rows));
      for (const note of notes) console.log(note);
    }
  }
  return 0;
}

/** The named suites in the order given, all of them when none is named; an error message for unknown names. */
function selectSuites(names: readonly string[]): readonly BenchSuite[] | string {
  if (names.length === 0) return suites;
  const unknown = names.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0) return `unknown suite: ${unknown.join(', ')}`;
  return names.map((name) => suites.find((suite) => suite.name === name)!);
}

/**
 * A plain-text table of rows: columns in first-seen order, the `suite` column
 * left out (it is in the heading). Numbers are printed as the suite rounded
 * them, padded to the same number of decimals within a column.
 */
function formatTable(rows: readonly BenchRow[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter(
    (column) => column !== 'suite',
  );
  const decimals = columns.map((column) => Math.max(0, ...rows.map((row) => decimalsOf(row[column]))));
  const cells = rows.map((row) => columns.map((column, c) => formatValue(row[column], decimals[c]!)));
  const numeric = columns.map((column) => rows.every((row) => typeof (row[column] ?? 0) === 'number'));
  const widths = columns.map((column, c) => Math.max(column.length, ...cells.map((line) => line[c]!.length)));
  const pad = (text: string, c: number) => (numeric[c] ? text.padStart(widths[c]!) : text.padEnd(widths[c]!));
  const lines = [columns.map(pad), ...cells.map((line) => line.map(pad))];
  return lines.map((line) => line.join('  ').trimEnd()).join('\n');
}

function decimalsOf(value: BenchValue | undefined): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
  const text = String(value);
  const point = text.indexOf('.');
  // Long tails (unrounded floats, exponents) are capped: a table is for reading.
  return point < 0 || text.includes('e') ? 0 : Math.min(4, text.length - point - 1);
}

function formatValue(value: BenchValue | undefined, decimals: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'number') return String(value);
  return Number.isFinite(value) ? value.toFixed(decimals) : String(value);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
