import type { CloudTrailRecord } from '../cloudtrail/record';
import { parseEventTime } from '../cloudtrail/record';
import { isDenied, serviceOf } from '../features/calls';
import { tacticOf } from './tactics';

/**
 * One call as the verdicts need it: small enough to keep a window's worth in the
 * state store between log files (the forest's WindowAggregate keeps counts only,
 * and the verdicts need order, time, address and key per call).
 */
export interface CallTrace {
  /** CloudTrail's eventID (or a stand-in built from the call when the record has none). */
  readonly id: string;
  /** ms since the epoch. */
  readonly time: number;
  /** `iam` for `iam.amazonaws.com`. */
  readonly service: string;
  readonly eventName: string;
  readonly errorCode?: string;
  readonly sourceIp: string;
  readonly userAgent?: string;
  readonly accessKeyId?: string;
  /** userIdentity.sessionContext.ec2RoleDelivery: set on credentials an instance got from its metadata service. */
  readonly ec2RoleDelivery?: string;
}

/** The most calls kept per principal-window (a DynamoDB item holds 400 KB; this stays far below). */
export const MAX_TRACES = 150;
const MAX_USER_AGENT = 200;

/** The trace of a record; undefined when its time is unreadable. */
export function traceOf(record: CloudTrailRecord): CallTrace | undefined {
  const time = parseEventTime(record.eventTime);
  if (time === undefined) return undefined;
  const identity = record.userIdentity;
  const delivery = identity?.sessionContext?.ec2RoleDelivery;
  const service = serviceOf(record.eventSource);
  return {
    id: record.eventID ?? `${time}:${service}:${record.eventName}:${record.sourceIPAddress ?? ''}`,
    time,
    service,
    eventName: record.eventName,
    ...(record.errorCode && { errorCode: record.errorCode }),
    sourceIp: record.sourceIPAddress || '(none)',
    ...(record.userAgent && { userAgent: record.userAgent.slice(0, MAX_USER_AGENT) }),
    ...(identity?.accessKeyId && { accessKeyId: identity.accessKeyId }),
    ...(typeof delivery === 'string' && { ec2RoleDelivery: delivery }),
  };
}

/**
 * Whether a call matters to a verdict more than routine traffic: denied, of a
 * known attack tactic, or the first from its address. When a window has more
 * calls than MAX_TRACES, these are kept first.
 */
function notable(trace: CallTrace, firstOfAddress: boolean): boolean {
  return (
    firstOfAddress || isDenied(trace.errorCode) || tacticOf(trace.service, trace.eventName) !== undefined
  );
}

/**
 * `stored` plus `fresh`, each call once (by id), in time order, at most MAX_TRACES:
 * over the cap, notable calls are kept before routine ones, earlier before later.
 */
export function mergeTraces(stored: readonly CallTrace[], fresh: readonly CallTrace[]): CallTrace[] {
  const byId = new Map<string, CallTrace>();
  for (const trace of [...stored, ...fresh]) if (!byId.has(trace.id)) byId.set(trace.id, trace);
  const all = [...byId.values()].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
  if (all.length <= MAX_TRACES) return all;
  const seenAddresses = new Set<string>();
  const keep: CallTrace[] = [];
  const routine: CallTrace[] = [];
  for (const trace of all) {
    const address = `${trace.accessKeyId ?? ''}|${trace.sourceIp}`;
    const first = !seenAddresses.has(address);
    seenAddresses.add(address);
    (notable(trace, first) ? keep : routine).push(trace);
  }
  const kept = [...keep.slice(0, MAX_TRACES), ...routine.slice(0, Math.max(0, MAX_TRACES - keep.length))];
  return kept.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
}

/** Traces of records, in time order (records without a readable time are left out). */
export function tracesOf(records: Iterable<CloudTrailRecord>): CallTrace[] {
  const traces: CallTrace[] = [];
  for (const record of records) {
    const trace = traceOf(record);
    if (trace) traces.push(trace);
  }
  return mergeTraces([], traces);
}
