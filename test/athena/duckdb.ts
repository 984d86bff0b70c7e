import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  CLOUDTRAIL_COLUMNS,
  type Column,
  type ColumnType,
  duckDbType,
  PARTITION_COLUMNS,
} from '../../layers/athena/table';
import { dayPartition } from '../../layers/athena/window-features-sql';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';

/**
 * DuckDB standing in for Athena: the CloudTrail table with the columns Athena's
 * CloudTrail SerDe exposes (layers/athena/table.ts), and the Trino functions the
 * query uses that DuckDB names differently, defined as macros under their Trino
 * names, so the query text runs unchanged. This table is the whole substitution:
 */
export const DUCKDB_MACROS: readonly { readonly trino: string; readonly duckdb: string }[] = [
  // CloudTrail writes 2024-08-01T15:26:57Z; both read it as an instant.
  { trino: 'from_iso8601_timestamp(s)', duckdb: 'CAST(s AS TIMESTAMPTZ)' },
  { trino: 'to_unixtime(t)', duckdb: 'epoch(t)' },
  // Both search (not full-match) with RE2/Joni syntax; (?i) works in both.
  { trino: 'regexp_like(s, p)', duckdb: 'regexp_matches(s, p)' },
  { trino: 'json_extract_scalar(j, p)', duckdb: 'json_extract_string(j, p)' },
  { trino: 'array_join(a, sep)', duckdb: 'array_to_string(a, sep)' },
];

export const TABLE = 'org_trail.events';

const fieldTypes = new WeakMap<readonly Column[], Map<string, ColumnType>>();

function typesOf(fields: readonly Column[]): Map<string, ColumnType> {
  let types = fieldTypes.get(fields);
  if (!types) {
    types = new Map(fields.map((c) => [c.name, c.type]));
    fieldTypes.set(fields, types);
  }
  return types;
}

/**
 * A record as the SerDe shows it: names matched without case, nested free-form
 * objects as JSON text, booleans as text; fields the table does not have are not
 * seen, and missing ones are NULL (left out here: DuckDB fills them in).
 */
function serdeValue(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return undefined;
  if (type === 'string') return typeof value === 'string' ? value : JSON.stringify(value);
  if (type === 'boolean') return Boolean(value);
  if ('struct' in type) {
    if (typeof value !== 'object') return undefined;
    const types = typesOf(type.struct);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const name = key.toLowerCase();
      const fieldType = types.get(name);
      if (fieldType === undefined) continue;
      const converted = serdeValue(v, fieldType);
      if (converted !== undefined) out[name] = converted;
    }
    return out;
  }
  if ('array' in type) {
    return Array.isArray(value) ? value.map((item) => serdeValue(item, type.array) ?? null) : undefined;
  }
  if (typeof value !== 'object') return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serdeValue(v, type.map[1]) ?? null]));
}

export function serdeRow(record: CloudTrailRecord): Record<string, unknown> {
  const row = serdeValue(record, { struct: CLOUDTRAIL_COLUMNS }) as Record<string, unknown>;
  const time = new Date(Date.parse(record.eventTime));
  return {
    ...row,
    account: record.recipientAccountId ?? record.userIdentity?.accountId ?? '000000000000',
    region: record.awsRegion,
    day: dayPartition(time),
  };
}

/** A DuckDB database holding `records` in TABLE, with the macros. */
export async function duckDbWith(records: readonly CloudTrailRecord[]): Promise<DuckDBConnection> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const macro of DUCKDB_MACROS) {
    await connection.run(`CREATE MACRO ${macro.trino} AS ${macro.duckdb}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'athena-eq-'));
  try {
    const file = join(dir, 'records.ndjson');
    writeFileSync(file, records.map((record) => JSON.stringify(serdeRow(record))).join('\n'));
    const columns = [
      ...CLOUDTRAIL_COLUMNS.map((c) => `"${c.name}": '${duckDbType(c.type)}'`),
      ...PARTITION_COLUMNS.map((name) => `"${name}": 'VARCHAR'`),
    ].join(', ');
    const [schema] = TABLE.split('.');
    await connection.run(`CREATE SCHEMA ${schema}`);
    await connection.run(
      `CREATE TABLE ${TABLE} AS SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${columns}})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return connection;
}

/** Runs the query; cells as text, as Athena's GetQueryResults returns them. */
export async function runAsAthena(
  connection: DuckDBConnection,
  sql: string,
): Promise<{ header: string[]; cells: (string | undefined)[][] }> {
  const reader = await connection.runAndReadAll(sql);
  const header = reader.columnNames();
  const cells = reader
    .getRows()
    .map((row) => row.map((value) => (value === null || value === undefined ? undefined : String(value))));
  return { header, cells };
}
