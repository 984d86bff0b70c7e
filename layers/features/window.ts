import type { CloudTrailRecord } from '../cloudtrail/record';
import { isDenied, isWrite, sensitiveCategory, serviceOf } from './calls';
import { type Principal, principalOf } from './principal';

/**
 * Everything scoring needs to know about one principal's calls in one time
 * window, and nothing that grows with the number of calls (distinct values are
 * capped). Windows built from different batches of records (log files arriving
 * minutes apart) merge into the same window with `mergeWindows`.
 */
export interface WindowAggregate {
  readonly principal: Principal;
  /** Start of the window, ms since the epoch, a multiple of the window length. */
  readonly windowStart: number;
  readonly windowMinutes: number;
  calls: number;
  errors: number;
  denied: number;
  writes: number;
  sensitive: number;
  /** Sensitive calls by category (secret-read, iam-enumeration, ...). */
  readonly sensitiveByCategory: Map<string, number>;
  /** Calls per API, keyed `service:EventName` (e.g. `iam:ListUsers`). */
  readonly apis: Map<string, number>;
  readonly sourceIps: Map<string, number>;
  /** Calls per user agent as logged (families are taken when features are computed). */
  readonly userAgents: Map<string, number>;
  readonly regions: Map<string, number>;
  /** ms since the epoch of the earliest and latest call. */
  firstSeen: number;
  lastSeen: number;
  /** A few event ids, as evidence in findings. */
  readonly eventIds: string[];
}

/** Distinct values kept per map; more are counted under OTHER so memory stays bounded. */
export const MAX_DISTINCT = 500;
export const OTHER = '(other)';
const MAX_EVENT_IDS = 25;

export function windowStartOf(timeMs: number, windowMinutes: number): number {
  const length = windowMinutes * 60_000;
  return Math.floor(timeMs / length) * length;
}

export function windowKey(principalKey: string, windowStart: number): string {
  return `${principalKey}\u0000${windowStart}`;
}

export function emptyWindow(
  principal: Principal,
  windowStart: number,
  windowMinutes: number,
): WindowAggregate {
  return {
    principal,
    windowStart,
    windowMinutes,
    calls: 0,
    errors: 0,
    denied: 0,
    writes: 0,
    sensitive: 0,
    sensitiveByCategory: new Map(),
    apis: new Map(),
    sourceIps: new Map(),
    userAgents: new Map(),
    regions: new Map(),
    firstSeen: Number.POSITIVE_INFINITY,
    lastSeen: Number.NEGATIVE_INFINITY,
    eventIds: [],
  };
}

function count(map: Map<string, number>, key: string, by = 1): void {
  const current = map.get(key);
  if (current !== undefined) map.set(key, current + by);
  else if (map.size < MAX_DISTINCT) map.set(key, by);
  else map.set(OTHER, (map.get(OTHER) ?? 0) + by);
}

/** Adds one record (already known to be in this window) to the window. */
export function addRecord(window: WindowAggregate, record: CloudTrailRecord, timeMs: number): void {
  window.calls++;
  if (record.errorCode) window.errors++;
  if (isDenied(record.errorCode)) window.denied++;
  if (isWrite(record)) window.writes++;
  const category = sensitiveCategory(record);
  if (category) {
    window.sensitive++;
    count(window.sensitiveByCategory, category);
  }
  count(window.apis, `${serviceOf(record.eventSource)}:${record.eventName}`);
  count(window.sourceIps, record.sourceIPAddress || '(none)');
  count(window.userAgents, record.userAgent || '(none)');
  count(window.regions, record.awsRegion);
  if (timeMs < window.firstSeen) window.firstSeen = timeMs;
  if (timeMs > window.lastSeen) window.lastSeen = timeMs;
  if (record.eventID && window.eventIds.length < MAX_EVENT_IDS) window.eventIds.push(record.eventID);
}

/** `into` plus `from` (same principal and window), in place. */
export function mergeWindows(into: WindowAggregate, from: WindowAggregate): WindowAggregate {
  into.calls += from.calls;
  into.errors += from.errors;
  into.denied += from.denied;
  into.writes += from.writes;
  into.sensitive += from.sensitive;
  for (const [key, n] of from.sensitiveByCategory) count(into.sensitiveByCategory, key, n);
  for (const [key, n] of from.apis) count(into.apis, key, n);
  for (const [key, n] of from.sourceIps) count(into.sourceIps, key, n);
  for (const [key, n] of from.userAgents) count(into.userAgents, key, n);
  for (const [key, n] of from.regions) count(into.regions, key, n);
  into.firstSeen = Math.min(into.firstSeen, from.firstSeen);
  into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  for (const id of from.eventIds) {
    if (into.eventIds.length >= MAX_EVENT_IDS) break;
    if (!into.eventIds.includes(id)) into.eventIds.push(id);
  }
  return into;
}

/** Why a record was left out of every window (it is counted, never dropped silently). */
export interface SkippedRecords {
  count: number;
  reasons: Map<string, number>;
}

/**
 * Groups records into principal-windows as they stream past. Memory grows with
 * the number of windows, not of records.
 */
export class WindowBuilder {
  private readonly byKey = new Map<string, WindowAggregate>();
  readonly skipped: SkippedRecords = { count: 0, reasons: new Map() };
  records = 0;

  constructor(readonly windowMinutes: number) {
    if (!Number.isInteger(windowMinutes) || windowMinutes < 1) {
      throw new Error(`windowMinutes must be a positive integer (got ${windowMinutes})`);
    }
  }

  /** Adds a record; false (and counted in `skipped`) when it has no usable time. */
  add(record: CloudTrailRecord): boolean {
    const timeMs = Date.parse(record.eventTime);
    if (Number.isNaN(timeMs)) {
      this.skipped.count++;
      const reason = 'eventTime is not a date';
      this.skipped.reasons.set(reason, (this.skipped.reasons.get(reason) ?? 0) + 1);
      return false;
    }
    this.records++;
    const principal = principalOf(record);
    const start = windowStartOf(timeMs, this.windowMinutes);
    const key = windowKey(principal.key, start);
    let window = this.byKey.get(key);
    if (!window) {
      window = emptyWindow(principal, start, this.windowMinutes);
      this.byKey.set(key, window);
    }
    addRecord(window, record, timeMs);
    return true;
  }

  addAll(records: Iterable<CloudTrailRecord>): this {
    for (const record of records) this.add(record);
    return this;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The windows in time order (then by principal), ready for features. */
  windows(): WindowAggregate[] {
    return [...this.byKey.values()].sort(compareWindows);
  }
}

export function compareWindows(a: WindowAggregate, b: WindowAggregate): number {
  if (a.windowStart !== b.windowStart) return a.windowStart - b.windowStart;
  return a.principal.key < b.principal.key ? -1 : a.principal.key > b.principal.key ? 1 : 0;
}

/** The windows of a set of records, in time order. */
export function windowsOf(records: Iterable<CloudTrailRecord>, windowMinutes: number): WindowAggregate[] {
  return new WindowBuilder(windowMinutes).addAll(records).windows();
}

/** The JSON form of a window, for storage between log files (DynamoDB) and reports. */
export interface WindowJson {
  principal: Principal;
  windowStart: number;
  windowMinutes: number;
  calls: number;
  errors: number;
  denied: number;
  writes: number;
  sensitive: number;
  sensitiveByCategory: Record<string, number>;
  apis: Record<string, number>;
  sourceIps: Record<string, number>;
  userAgents: Record<string, number>;
  regions: Record<string, number>;
  firstSeen: number;
  lastSeen: number;
  eventIds: string[];
}

export function windowToJson(window: WindowAggregate): WindowJson {
  return {
    principal: window.principal,
    windowStart: window.windowStart,
    windowMinutes: window.windowMinutes,
    calls: window.calls,
    errors: window.errors,
    denied: window.denied,
    writes: window.writes,
    sensitive: window.sensitive,
    sensitiveByCategory: Object.fromEntries(window.sensitiveByCategory),
    apis: Object.fromEntries(window.apis),
    sourceIps: Object.fromEntries(window.sourceIps),
    userAgents: Object.fromEntries(window.userAgents),
    regions: Object.fromEntries(window.regions),
    firstSeen: window.firstSeen,
    lastSeen: window.lastSeen,
    eventIds: [...window.eventIds],
  };
}

export function windowFromJson(json: WindowJson): WindowAggregate {
  return {
    ...json,
    sensitiveByCategory: new Map(Object.entries(json.sensitiveByCategory)),
    apis: new Map(Object.entries(json.apis)),
    sourceIps: new Map(Object.entries(json.sourceIps)),
    userAgents: new Map(Object.entries(json.userAgents)),
    regions: new Map(Object.entries(json.regions)),
    eventIds: [...json.eventIds],
  };
}

/** The most frequent key of a count map (ties: the first seen). */
export function mostFrequent(map: Map<string, number>): string | undefined {
  let best: string | undefined;
  let bestCount = -1;
  for (const [key, n] of map) {
    if (n > bestCount && key !== OTHER) {
      best = key;
      bestCount = n;
    }
  }
  return best;
}
