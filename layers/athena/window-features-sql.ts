import { FEATURE_NAMES, SENSITIVE_CALLS } from '../features';
import { DENIED, READ_PREFIX } from '../features/calls';

/**
 * The per-principal window features of layers/features, computed in SQL over the
 * organization trail's table, so training at organization scale hands the work of
 * reading weeks of every account's logs to Athena and gets back one small row per
 * principal × window.
 *
 * The SQL mirrors the in-process definitions exactly (test/athena/equality.test.ts
 * runs this same text in DuckDB and compares every feature of every window):
 * - windows are built as WindowBuilder builds them (principal key, window start);
 * - each window is judged against the history before it, in the order training
 *   learns windows: by window start, then principal key. "Before" for a principal's
 *   own history is an earlier window of the same key; for its identity's history
 *   (features/baseline.ts: the user or role behind a key or session), an earlier
 *   window, or a window of the same start with a smaller key, of another principal
 *   with that identity;
 * - hour habits use the same smoothing, prior and habit choice as vector.ts.
 *
 * The SQL is written in the common ground of Athena's dialect (Trino) and DuckDB;
 * the five Trino functions DuckDB lacks are given to DuckDB as macros by the test
 * (DUCKDB_MACROS in test/athena/duckdb.ts), and nothing else differs.
 *
 * Known differences from the in-process path, all outside what real CloudTrail
 * produces in practice: a window with more than MAX_DISTINCT (500) distinct IPs,
 * user agents, APIs or regions counts them all here, where the in-process window
 * folds the rest into "(other)"; regular-expression whitespace (`\s`) is ASCII here
 * and Unicode in JavaScript.
 */

/** Feature column names in the result, in FEATURE_NAMES order (`distinctApis` → `distinct_apis`). */
export const FEATURE_COLUMNS: readonly string[] = FEATURE_NAMES.map((name) =>
  name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
);

/** The columns of a result row, in order. Lists are joined with LIST_SEPARATOR. */
export const RESULT_COLUMNS = [
  'principal_key',
  'identity',
  'window_start_ms',
  'call_count',
  'hour',
  ...FEATURE_COLUMNS,
  'source_ip_list',
  'user_agent_list',
  'api_list',
  'region_list',
  'excluded_windows',
  'excluded_calls',
] as const;

/** Separates the values of a list column (ASCII unit separator: in no IP, user agent family, API or region). */
export const LIST_SEPARATOR = '\u001f';

/** `isWrite`'s verb test (layers/features/calls.ts), as a Trino regular expression. */
export const READ_VERB_PATTERN = READ_PREFIX.source;
/** `isDenied`'s test (layers/features/calls.ts), case-insensitive as there. */
export const DENIED_PATTERN = `(?i)${DENIED.source}`;
/** principal.ts ASSUMED_ROLE. */
const ASSUMED_ROLE_PATTERN = '^arn:(aws[a-z-]*):sts::(\\d{12}):assumed-role/([^/]+)/(.+)$';

/** A labelled attack: its principal's windows that overlap the span teach nothing and are not trained on. */
export interface ExcludedSpan {
  readonly principalKey: string;
  readonly start: Date;
  readonly end: Date;
}

export interface WindowFeaturesQueryOptions {
  /** `database.table` of the CloudTrail table (lower-case letters, digits, underscores). */
  readonly table: string;
  /** Events from `start` (inclusive) to `end` (exclusive). */
  readonly start: Date;
  readonly end: Date;
  readonly windowMinutes: number;
  /**
   * The accounts to read. Required when the table's account partition is injected
   * (an organization whose accounts are not listed in the table); optional otherwise.
   */
  readonly accounts?: readonly string[];
  readonly excluded?: readonly ExcludedSpan[];
}

const IDENTIFIER = /^[a-z0-9_]+(\.[a-z0-9_]+)?$/;
const ACCOUNT = /^\d{12}$/;

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function quoteTable(table: string): string {
  if (!IDENTIFIER.test(table)) {
    throw new Error(`table must be database.table in lower-case letters, digits and _ (got "${table}")`);
  }
  return table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

/** `yyyy/MM/dd` of a date (UTC): the day partition's format. */
export function dayPartition(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '/');
}

/** The CASE expression giving a call's sensitive category, in SENSITIVE_CALLS order (first match wins). */
function sensitiveCategorySql(): string {
  const branches = SENSITIVE_CALLS.map((rule) => {
    const exact = rule.names.filter((name) => !name.endsWith('*'));
    const prefixes = rule.names.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1));
    const tests = [
      ...(exact.length > 0 ? [`eventname IN (${exact.map(sqlString).join(', ')})`] : []),
      ...prefixes.map((prefix) => `starts_with(eventname, ${sqlString(prefix)})`),
    ];
    return `      WHEN service = ${sqlString(rule.service)} AND (${tests.join(' OR ')}) THEN ${sqlString(rule.category)}`;
  });
  return `CASE\n${branches.join('\n')}\n    END`;
}

function excludedValues(spans: readonly ExcludedSpan[]): string {
  // A row of NULLs matches nothing: VALUES cannot be empty.
  if (spans.length === 0) return '(CAST(NULL AS VARCHAR), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT))';
  return spans
    .map(
      (span) =>
        `(${sqlString(span.principalKey)}, CAST(${span.start.getTime()} AS BIGINT), CAST(${span.end.getTime()} AS BIGINT))`,
    )
    .join(',\n    ');
}

/** The query. Result columns: RESULT_COLUMNS; rows in training order (window start, principal key). */
export function windowFeaturesQuery(options: WindowFeaturesQueryOptions): string {
  const { start, end, windowMinutes } = options;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 1440) {
    throw new Error(`windowMinutes must be a whole number of minutes from 1 to 1440 (got ${windowMinutes})`);
  }
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end) {
    throw new Error(`the time range must be two dates, start before end (got ${start} .. ${end})`);
  }
  for (const account of options.accounts ?? []) {
    if (!ACCOUNT.test(account)) throw new Error(`accounts: "${account}" is not a 12-digit account id`);
  }
  const windowSeconds = windowMinutes * 60;
  const windowMs = windowSeconds * 1000;
  // Log files land in the folder of the day they are delivered, up to about 15
  // minutes after the event: the day after the range is read too.
  const lastDay = new Date(end.getTime() + 86_400_000);
  const accountFilter =
    options.accounts && options.accounts.length > 0
      ? `\n    AND account IN (${options.accounts.map(sqlString).join(', ')})`
      : '';
  const flag = (condition: string) => `CASE WHEN ${condition} THEN 1 ELSE 0 END`;
  const list = (kind: string) =>
    `COALESCE(array_join(array_agg(value) FILTER (WHERE kind = '${kind}'), chr(31)), '')`;
  const novel = (kind: string) => `SUM(CASE WHEN kind = '${kind}' AND NOT seen THEN 1 ELSE 0 END)`;
  const double = (value: number) => `CAST(${value} AS DOUBLE)`;

  return `-- Per-principal window features (layers/athena/window-features-sql.ts)
WITH
excluded (principal_key, span_start_ms, span_end_ms) AS (
  VALUES
    ${excludedValues(options.excluded ?? [])}
),
parsed AS (
  SELECT
    try(from_iso8601_timestamp(r.eventtime)) AS event_time,
    COALESCE(r.useridentity.type, 'Unknown') AS identity_type,
    NULLIF(r.useridentity.accesskeyid, '') AS access_key_id,
    COALESCE(
      NULLIF(r.useridentity.arn, ''),
      CASE
        WHEN NULLIF(r.useridentity.invokedby, '') IS NOT NULL THEN 'service:' || r.useridentity.invokedby
        ELSE COALESCE(r.useridentity.type, 'Unknown') || ':' || COALESCE(r.useridentity.principalid, 'unknown')
      END
    ) AS arn,
    r.useridentity.sessioncontext.sessionissuer.arn AS issuer_arn,
    split_part(r.eventsource, '.', 1) AS service,
    r.eventname AS eventname,
    r.awsregion AS awsregion,
    r.errorcode AS errorcode,
    r.readonly AS readonly,
    r.requestparameters AS requestparameters,
    COALESCE(NULLIF(r.sourceipaddress, ''), '(none)') AS source_ip,
    regexp_extract(regexp_replace(trim(COALESCE(NULLIF(r.useragent, ''), '(none)')), '^\\[', ''), '^[^\\s\\]]*') AS agent_head
  FROM ${quoteTable(options.table)} r
  WHERE day BETWEEN ${sqlString(dayPartition(start))} AND ${sqlString(dayPartition(lastDay))}${accountFilter}
),
calls AS (
  SELECT
    CASE WHEN starts_with(access_key_id, 'AKIA') THEN access_key_id ELSE arn END AS principal_key,
    CASE
      WHEN identity_type = 'AssumedRole' OR regexp_like(arn, '${ASSUMED_ROLE_PATTERN}') THEN COALESCE(
        issuer_arn,
        CASE
          WHEN regexp_like(arn, '${ASSUMED_ROLE_PATTERN}') THEN 'arn:' || regexp_extract(arn, '${ASSUMED_ROLE_PATTERN}', 1)
            || ':iam::' || regexp_extract(arn, '${ASSUMED_ROLE_PATTERN}', 2)
            || ':role/' || regexp_extract(arn, '${ASSUMED_ROLE_PATTERN}', 3)
          ELSE arn
        END
      )
      ELSE arn
    END AS identity,
    event_time,
    CAST(floor(to_unixtime(event_time) / ${windowSeconds}) AS BIGINT) * ${windowMs} AS window_start_ms,
    ${flag("errorcode IS NOT NULL AND errorcode <> ''")} AS is_error,
    ${flag(`errorcode IS NOT NULL AND regexp_like(errorcode, '${DENIED_PATTERN}')`)} AS is_denied,
    CASE
      WHEN readonly = 'true' THEN 0
      WHEN readonly = 'false' THEN 1
      WHEN regexp_like(eventname, '${READ_VERB_PATTERN}') THEN 0
      ELSE 1
    END AS is_write,
    ${sensitiveCategorySql()} AS sensitive_category,
    service,
    service || ':' || eventname AS api,
    awsregion,
    source_ip,
    requestparameters,
    CASE
      WHEN strpos(agent_head, '/') = 0 THEN COALESCE(NULLIF(substr(agent_head, 1, 64), ''), '(none)')
      ELSE substr(
        substr(agent_head, 1, strpos(agent_head, '/') - 1)
          || CASE
            WHEN regexp_extract(substr(agent_head, strpos(agent_head, '/') + 1), '^\\d*') = '' THEN ''
            ELSE '/' || regexp_extract(substr(agent_head, strpos(agent_head, '/') + 1), '^\\d*')
          END,
        1, 64)
    END AS agent_family
  FROM parsed
  WHERE event_time IS NOT NULL
    AND event_time >= from_iso8601_timestamp(${sqlString(start.toISOString())})
    AND event_time < from_iso8601_timestamp(${sqlString(end.toISOString())})
),
-- A window's principal is its earliest call's (a key or session has one identity;
-- should records disagree, the earliest wins, then the smallest).
window_identities AS (
  SELECT DISTINCT
    principal_key,
    window_start_ms,
    first_value(identity) OVER (
      PARTITION BY principal_key, window_start_ms ORDER BY event_time, identity) AS identity
  FROM calls
),
window_counts AS (
  SELECT
    principal_key,
    window_start_ms,
    count(*) AS call_count,
    SUM(is_error) AS errors,
    SUM(is_denied) AS denied,
    SUM(is_write) AS writes,
    SUM(CASE
      WHEN sensitive_category IS NULL THEN 0
      -- A parameter read without decryption returns no secret (calls.ts sensitiveCategory).
      WHEN sensitive_category = 'secret-read' AND service = 'ssm'
        AND COALESCE(json_extract_scalar(requestparameters, '$.withDecryption') = 'false', false) THEN 0
      ELSE 1
    END) AS sensitive,
    count(DISTINCT api) AS distinct_apis,
    count(DISTINCT service) AS distinct_services,
    count(DISTINCT awsregion) AS region_count
  FROM calls
  GROUP BY principal_key, window_start_ms
),
windows AS (
  SELECT c.*, i.identity
  FROM window_counts c
  JOIN window_identities i ON i.principal_key = c.principal_key AND i.window_start_ms = c.window_start_ms
),
overlapping AS (
  SELECT DISTINCT w.principal_key, w.window_start_ms
  FROM windows w
  JOIN excluded e
    ON e.principal_key = w.principal_key
    AND e.span_start_ms < w.window_start_ms + ${windowMs}
    AND w.window_start_ms < e.span_end_ms
),
flagged AS (
  SELECT w.*, o.principal_key IS NOT NULL AS is_excluded
  FROM windows w
  LEFT JOIN overlapping o ON o.principal_key = w.principal_key AND o.window_start_ms = w.window_start_ms
),
kept AS (
  SELECT
    principal_key,
    window_start_ms,
    identity,
    principal_key = identity AS keyed_by_identity,
    call_count,
    errors,
    denied,
    writes,
    sensitive,
    distinct_apis,
    distinct_services,
    region_count,
    mod(CAST(floor(window_start_ms / 3600000.0) AS BIGINT), 24) AS hour,
    ln(1 + call_count) AS log_calls
  FROM flagged
  WHERE NOT is_excluded
),
window_values AS (
  SELECT DISTINCT principal_key, window_start_ms, 'ip' AS kind, source_ip AS value FROM calls
  UNION ALL
  SELECT DISTINCT principal_key, window_start_ms, 'agent' AS kind, agent_family AS value FROM calls
  UNION ALL
  SELECT DISTINCT principal_key, window_start_ms, 'api' AS kind, api AS value FROM calls
  UNION ALL
  SELECT DISTINCT principal_key, window_start_ms, 'region' AS kind, awsregion AS value FROM calls
),
-- Seen before: in an earlier window of the same principal, or (a principal not
-- keyed by its identity) in an earlier window of another principal of its identity.
value_history AS (
  SELECT
    v.principal_key,
    v.window_start_ms,
    v.kind,
    v.value,
    row_number() OVER (PARTITION BY v.principal_key, v.kind, v.value ORDER BY v.window_start_ms) > 1
      OR (NOT k.keyed_by_identity AND row_number() OVER (
        PARTITION BY k.identity, k.keyed_by_identity, v.kind, v.value
        ORDER BY v.window_start_ms, v.principal_key) > 1) AS seen
  FROM window_values v
  JOIN kept k ON k.principal_key = v.principal_key AND k.window_start_ms = v.window_start_ms
),
novelty AS (
  SELECT
    principal_key,
    window_start_ms,
    ${novel('ip')} AS new_source_ips,
    ${novel('agent')} AS new_user_agents,
    ${novel('api')} AS new_apis,
    ${novel('region')} AS new_regions,
    ${list('ip')} AS source_ip_list,
    ${list('agent')} AS user_agent_list,
    ${list('api')} AS api_list,
    ${list('region')} AS region_list
  FROM value_history
  GROUP BY principal_key, window_start_ms
),
-- Hour habits: each window adds 0.5 to its hour and 0.25 to each neighbouring hour
-- of the windows after it (vector.ts hourRarity's smoothing); a zero-weight probe
-- row per window reads the running sum of what came before it.
hour_marks AS (
  SELECT principal_key, identity, keyed_by_identity, window_start_ms, hour AS target_hour, ${double(0.5)} AS weight, 1 AS mark FROM kept
  UNION ALL
  SELECT principal_key, identity, keyed_by_identity, window_start_ms, mod(hour + 1, 24), ${double(0.25)}, 1 FROM kept
  UNION ALL
  SELECT principal_key, identity, keyed_by_identity, window_start_ms, mod(hour + 23, 24), ${double(0.25)}, 1 FROM kept
  UNION ALL
  SELECT principal_key, identity, keyed_by_identity, window_start_ms, hour, ${double(0)}, 0 FROM kept
),
hour_sums AS (
  SELECT
    principal_key,
    window_start_ms,
    mark,
    SUM(weight) OVER (
      PARTITION BY principal_key, target_hour
      ORDER BY window_start_ms, mark ROWS UNBOUNDED PRECEDING) AS own_hours,
    SUM(weight) OVER (
      PARTITION BY identity, keyed_by_identity, target_hour
      ORDER BY window_start_ms, principal_key, mark ROWS UNBOUNDED PRECEDING) AS identity_hours
  FROM hour_marks
),
starts AS (
  SELECT window_start_ms, min(hour) AS hour, count(*) AS window_count FROM kept GROUP BY window_start_ms
),
start_marks AS (
  SELECT window_start_ms, hour AS target_hour, ${double(0.5)} * window_count AS weight, 1 AS mark FROM starts
  UNION ALL
  SELECT window_start_ms, mod(hour + 1, 24), ${double(0.25)} * window_count, 1 FROM starts
  UNION ALL
  SELECT window_start_ms, mod(hour + 23, 24), ${double(0.25)} * window_count, 1 FROM starts
  UNION ALL
  SELECT window_start_ms, hour, ${double(0)}, 0 FROM starts
),
account_hours AS (
  SELECT window_start_ms, hours_before
  FROM (
    SELECT
      window_start_ms,
      mark,
      SUM(weight) OVER (PARTITION BY target_hour ORDER BY window_start_ms, mark ROWS UNBOUNDED PRECEDING) AS hours_before
    FROM start_marks
  ) m
  WHERE mark = 0
),
account_windows AS (
  SELECT
    window_start_ms,
    COALESCE(SUM(window_count) OVER (ORDER BY window_start_ms ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS windows_before
  FROM starts
),
history AS (
  SELECT
    k.*,
    n.new_source_ips,
    n.new_user_agents,
    n.new_apis,
    n.new_regions,
    n.source_ip_list,
    n.user_agent_list,
    n.api_list,
    n.region_list,
    row_number() OVER (PARTITION BY k.principal_key ORDER BY k.window_start_ms) - 1 AS own_windows,
    AVG(k.log_calls) OVER (
      PARTITION BY k.principal_key ORDER BY k.window_start_ms
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS own_mean_log_calls,
    row_number() OVER (
      PARTITION BY k.identity, k.keyed_by_identity ORDER BY k.window_start_ms, k.principal_key) - 1 AS identity_windows,
    AVG(k.log_calls) OVER (
      PARTITION BY k.identity, k.keyed_by_identity ORDER BY k.window_start_ms, k.principal_key
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS identity_mean_log_calls,
    h.own_hours,
    h.identity_hours,
    aw.windows_before + row_number() OVER (PARTITION BY k.window_start_ms ORDER BY k.principal_key) - 1 AS account_windows,
    ah.hours_before + ${double(0.5)} * (row_number() OVER (PARTITION BY k.window_start_ms ORDER BY k.principal_key) - 1) AS account_hours
  FROM kept k
  JOIN novelty n ON n.principal_key = k.principal_key AND n.window_start_ms = k.window_start_ms
  JOIN hour_sums h ON h.principal_key = k.principal_key AND h.window_start_ms = k.window_start_ms AND h.mark = 0
  JOIN account_windows aw ON aw.window_start_ms = k.window_start_ms
  JOIN account_hours ah ON ah.window_start_ms = k.window_start_ms
),
-- The history that sets the habit (baseline.ts habitOf): the principal's own once it
-- has MIN_HABIT_WINDOWS (3), else its identity's, else its own if any.
habit AS (
  SELECT
    h.*,
    CASE
      WHEN own_windows >= 3 THEN 'own'
      WHEN (CASE WHEN keyed_by_identity THEN own_windows ELSE identity_windows END) > 0 THEN 'identity'
      WHEN own_windows > 0 THEN 'own'
    END AS habit_source
  FROM history h
),
habit_values AS (
  SELECT
    h.*,
    CASE habit_source
      WHEN 'own' THEN own_windows
      WHEN 'identity' THEN CASE WHEN keyed_by_identity THEN own_windows ELSE identity_windows END
      ELSE 0
    END AS habit_windows,
    CASE habit_source
      WHEN 'own' THEN own_hours
      WHEN 'identity' THEN CASE WHEN keyed_by_identity THEN own_hours ELSE identity_hours END
      ELSE ${double(0)}
    END AS habit_hours,
    CASE habit_source
      WHEN 'own' THEN own_mean_log_calls
      WHEN 'identity' THEN CASE WHEN keyed_by_identity THEN own_mean_log_calls ELSE identity_mean_log_calls END
    END AS habit_mean_log_calls,
    CASE WHEN account_windows > 0 THEN account_hours / account_windows ELSE ${double(1)} / 24 END AS hour_prior
  FROM habit h
),
features AS (
  SELECT
    h.*,
    greatest(${double(0)}, 1 - 24 * ((habit_hours + 5 * hour_prior) / (habit_windows + 5))) AS hour_rarity
  FROM habit_values h
)
SELECT
  f.principal_key,
  f.identity,
  f.window_start_ms,
  f.call_count,
  f.hour,
  f.log_calls AS calls,
  f.distinct_apis,
  f.distinct_services,
  CAST(f.errors AS DOUBLE) / f.call_count AS error_ratio,
  CAST(f.denied AS DOUBLE) / f.call_count AS access_denied_ratio,
  CAST(f.writes AS DOUBLE) / f.call_count AS write_ratio,
  ln(1 + f.sensitive) AS sensitive_calls,
  f.new_source_ips,
  f.new_user_agents,
  CAST(f.new_apis AS DOUBLE) / f.distinct_apis AS new_api_ratio,
  f.region_count AS regions,
  f.new_regions,
  f.hour_rarity,
  CASE WHEN f.habit_source IS NULL THEN ${double(0)} ELSE f.log_calls - f.habit_mean_log_calls END AS calls_vs_habit,
  ${flag('f.new_source_ips > 0')} + ${flag('f.new_user_agents > 0')} + ${flag('f.new_apis > 0')}
    + ${flag('f.new_regions > 0')} + ${flag('f.hour_rarity >= 0.75')} AS novelty_kinds,
  f.source_ip_list,
  f.user_agent_list,
  f.api_list,
  f.region_list,
  x.excluded_windows,
  x.excluded_calls
FROM features f
CROSS JOIN (
  SELECT count(*) AS excluded_windows, COALESCE(SUM(call_count), 0) AS excluded_calls FROM flagged WHERE is_excluded
) x
ORDER BY f.window_start_ms, f.principal_key
`;
}
