import { type CloudTrailRecord, toEnvelope } from '../cloudtrail/record';
import { DeployedRouting, type DeployedTrail, type EventEnvelope, trailLogs } from '../drill/routing';
import type { DeployedRule } from '../drill/template';

/**
 * What the cost model multiplies, measured by playing CloudTrail records through
 * the deployment's own routing (the synthesized trail selectors and rules, as the
 * drill plays them): how many of the records the broad forwarding rules put on the
 * central bus, how many invocations of the touch function they cause, how many are
 * data events the trail is billed for, and how many principal-windows the scorer
 * updates as log files arrive. Counts, not prices: the model prices them.
 */

export interface TrafficMeasure {
  /** Records played. */
  records: number;
  /** Records a trail of the deployment logs (else EventBridge never sees them). */
  logged: number;
  /** Logged records that are data events (S3 object level): billed per event by CloudTrail. */
  dataEvents: number;
  /** Events a rule on a default bus sent to another bus (one per rule that matched and forwarded). */
  forwarded: number;
  /** Invocations of the touch function (one per rule match that reaches it). */
  touchInvocations: number;
  /** Records that reached the touch function at least once. */
  recordsRouted: number;
  /** Log files the records fill (one per account, region and delivery interval with records). */
  logFiles: number;
  /** Principal-window states the scorer reads and writes: one per distinct principal per log file. */
  windowUpdates: number;
}

export interface MeasureOptions {
  rules: readonly DeployedRule[];
  trails: readonly DeployedTrail[];
  /** The touch function's ARN: deliveries to it are its invocations. */
  touchArn: string;
  /** CloudTrail's delivery interval: one log file per account and region per interval (default 5 minutes). */
  logFileMinutes?: number;
}

const BUS_ARN = /^arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus\//;

export function measureTraffic(records: Iterable<CloudTrailRecord>, options: MeasureOptions): TrafficMeasure {
  const routing = new DeployedRouting(options.rules);
  const forwardingRules = new Set(
    options.rules.filter((rule) => rule.targets.some((target) => BUS_ARN.test(target.arn))).map(ruleKey),
  );
  const fileMs = (options.logFileMinutes ?? 5) * 60_000;
  const measure: TrafficMeasure = {
    records: 0,
    logged: 0,
    dataEvents: 0,
    forwarded: 0,
    touchInvocations: 0,
    recordsRouted: 0,
    logFiles: 0,
    windowUpdates: 0,
  };
  const files = new Map<string, Set<string>>();
  for (const record of records) {
    measure.records += 1;
    const time = Date.parse(record.eventTime);
    const file = `${record.recipientAccountId ?? ''}/${record.awsRegion}/${Math.floor(time / fileMs)}`;
    let principals = files.get(file);
    if (!principals) {
      principals = new Set();
      files.set(file, principals);
    }
    principals.add(record.userIdentity?.arn ?? 'unknown');
    if (!trailLogs(options.trails, record)) continue;
    measure.logged += 1;
    if (record.eventCategory === 'Data' || record.managementEvent === false) measure.dataEvents += 1;
    const deliveries = routing.deliver(toEnvelope(record) as EventEnvelope, record.awsRegion);
    const touches = deliveries.filter((d) => d.targetArn === options.touchArn);
    measure.touchInvocations += touches.length;
    if (touches.length > 0) measure.recordsRouted += 1;
    // Each hop out of a forwarding rule is one event put on another bus, whatever reaches the function after.
    const hops = new Set<string>();
    for (const delivery of deliveries) {
      delivery.path.forEach((rule, i) => {
        if (forwardingRules.has(ruleKey(rule))) hops.add(`${i}/${ruleKey(rule)}`);
      });
    }
    measure.forwarded += hops.size;
  }
  measure.logFiles = files.size;
  for (const principals of files.values()) measure.windowUpdates += principals.size;
  return measure;
}

function ruleKey(rule: DeployedRule): string {
  return `${rule.stackName}/${rule.region}/${rule.bus}/${rule.name}`;
}

/** A measure scaled to one million records (the unit the cost model takes). */
export function perMillion(measure: TrafficMeasure): TrafficMeasure {
  const scale = measure.records === 0 ? 0 : 1_000_000 / measure.records;
  const scaled = (n: number) => Math.round(n * scale);
  return {
    records: measure.records === 0 ? 0 : 1_000_000,
    logged: scaled(measure.logged),
    dataEvents: scaled(measure.dataEvents),
    forwarded: scaled(measure.forwarded),
    touchInvocations: scaled(measure.touchInvocations),
    recordsRouted: scaled(measure.recordsRouted),
    logFiles: scaled(measure.logFiles),
    windowUpdates: scaled(measure.windowUpdates),
  };
}

/**
 * The records the cost model is measured on: a scenario's benign activity in the
 * day that ends with its played period (a weekday of CI, developers, applications,
 * the nightly report and AWS Config; the attack left out: it is not what an
 * account pays for every day).
 */
export function measuredSample(played: {
  history: readonly CloudTrailRecord[];
  played: readonly { record: CloudTrailRecord; phase: string }[];
  playEnd: number;
}): CloudTrailRecord[] {
  const from = played.playEnd - 86_400_000;
  return [
    ...played.history,
    ...played.played.filter((p) => p.phase === 'benign').map((p) => p.record),
  ].filter((record) => Date.parse(record.eventTime) >= from);
}
