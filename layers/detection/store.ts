import type { Severity } from '../config/vocabulary';
import type { Finding } from '../findings/finding';
import { maxSeverity } from './severity';

/**
 * The state touch detection keeps (a port: DynamoDB in the Lambda, memory in tests,
 * replay and the drill). Semantics both implementations keep:
 *
 * - Delivery: one `deliveryKey` (CloudTrail event id + subject) is counted once,
 *   however often EventBridge delivers it (at-least-once, and twice when two rules
 *   match one event).
 * - Window: touches of one subject (kind + actor + decoy) from the first one's event
 *   time until `windowMs` later are one window, one finding, with a count. A touch
 *   after the window opens a new one, with a new finding id.
 * - Alert: a window is alerted at most once. `claimAlert` takes a lease so that two
 *   concurrent invocations do not both publish; a publish that fails releases it and
 *   the invocation throws, so the retry (EventBridge, Lambda) alerts. A crash between
 *   claim and publish leaves a lease that expires, and the next delivery alerts.
 */
export interface TouchWindow {
  subjectKey: string;
  findingId: string;
  windowStart: number;
  firstSeen: number;
  lastSeen: number;
  count: number;
  eventNames: string[];
  /** The CloudTrail ids of the touches, the first ones (capped). */
  eventIds: string[];
  outcomes: ('allowed' | 'denied')[];
  severity: Severity;
  alerted: boolean;
}

export interface TouchInput {
  subjectKey: string;
  deliveryKey: string;
  /** Finding id to use if this touch opens a window. */
  openingFindingId: string;
  eventTime: number;
  windowMs: number;
  eventName: string;
  eventId?: string;
  outcome: 'allowed' | 'denied';
  severity: Severity;
  now: number;
}

export interface TouchRecordResult {
  status: 'opened' | 'counted' | 'duplicate';
  window: TouchWindow;
}

export interface TouchStore {
  record(input: TouchInput): Promise<TouchRecordResult>;
  claimAlert(subjectKey: string, findingId: string, now: number, leaseMs: number): Promise<boolean>;
  /** Marks the window alerted and keeps the published finding as the audit record. */
  completeAlert(subjectKey: string, finding: Finding, now: number): Promise<void>;
  releaseAlert(subjectKey: string, findingId: string): Promise<void>;
  /** Brings the audit record of an alerted finding up to date (count, last seen). */
  updateAudit(finding: Finding): Promise<void>;
  /** The latest event time a call signed by `accessKeyId` was seen (for unlogged use). */
  recordKeyUse(accessKeyId: string, eventTime: number): Promise<void>;
}

/** What the unlogged-use check reads and writes. */
export interface KeyUseStore {
  lastKeyUse(accessKeyId: string): Promise<number | undefined>;
  /** True the first time a given last-used date of a key is reported; false after. */
  markUnloggedReported(accessKeyId: string, lastUsed: number, now: number): Promise<boolean>;
  /** Undoes markUnloggedReported when the report could not be published. */
  clearUnloggedReported(accessKeyId: string, lastUsed: number): Promise<void>;
}

/** How many CloudTrail event ids a finding carries: enough to look them up, bounded. */
export const MAX_EVENT_IDS = 20;

/** The store in memory: tests, replay and the drill. Same semantics as the DynamoDB one. */
export class MemoryTouchStore implements TouchStore, KeyUseStore {
  readonly windows = new Map<string, TouchWindow & { claimUntil?: number }>();
  readonly deliveries = new Set<string>();
  /** Audit records by finding id: the published finding, kept up to date. */
  readonly audit = new Map<string, Finding>();
  readonly keyUse = new Map<string, number>();
  readonly unloggedReported = new Set<string>();

  async record(input: TouchInput): Promise<TouchRecordResult> {
    const current = this.windows.get(input.subjectKey);
    if (this.deliveries.has(input.deliveryKey) && current) return { status: 'duplicate', window: current };
    this.deliveries.add(input.deliveryKey);
    if (current && current.windowStart > input.eventTime - input.windowMs) {
      current.count += 1;
      current.lastSeen = Math.max(current.lastSeen, input.eventTime);
      current.firstSeen = Math.min(current.firstSeen, input.eventTime);
      if (!current.eventNames.includes(input.eventName)) current.eventNames.push(input.eventName);
      if (
        input.eventId &&
        current.eventIds.length < MAX_EVENT_IDS &&
        !current.eventIds.includes(input.eventId)
      ) {
        current.eventIds.push(input.eventId);
      }
      if (!current.outcomes.includes(input.outcome)) current.outcomes.push(input.outcome);
      current.severity = maxSeverity(current.severity, input.severity);
      return { status: 'counted', window: current };
    }
    const window: TouchWindow = {
      subjectKey: input.subjectKey,
      findingId: input.openingFindingId,
      windowStart: input.eventTime,
      firstSeen: input.eventTime,
      lastSeen: input.eventTime,
      count: 1,
      eventNames: [input.eventName],
      eventIds: input.eventId ? [input.eventId] : [],
      outcomes: [input.outcome],
      severity: input.severity,
      alerted: false,
    };
    this.windows.set(input.subjectKey, window);
    return { status: 'opened', window };
  }

  async claimAlert(subjectKey: string, findingId: string, now: number, leaseMs: number): Promise<boolean> {
    const window = this.windows.get(subjectKey);
    if (!window || window.findingId !== findingId || window.alerted) return false;
    if (window.claimUntil !== undefined && window.claimUntil > now) return false;
    window.claimUntil = now + leaseMs;
    return true;
  }

  async completeAlert(subjectKey: string, finding: Finding): Promise<void> {
    const window = this.windows.get(subjectKey);
    if (window && window.findingId === finding.id) {
      window.alerted = true;
      delete window.claimUntil;
    }
    this.audit.set(finding.id, finding);
  }

  async releaseAlert(subjectKey: string, findingId: string): Promise<void> {
    const window = this.windows.get(subjectKey);
    if (window && window.findingId === findingId) delete window.claimUntil;
  }

  async updateAudit(finding: Finding): Promise<void> {
    const current = this.audit.get(finding.id);
    if (!current || current.count < finding.count) this.audit.set(finding.id, finding);
  }

  async recordKeyUse(accessKeyId: string, eventTime: number): Promise<void> {
    this.keyUse.set(accessKeyId, Math.max(this.keyUse.get(accessKeyId) ?? 0, eventTime));
  }

  async lastKeyUse(accessKeyId: string): Promise<number | undefined> {
    return this.keyUse.get(accessKeyId);
  }

  async markUnloggedReported(accessKeyId: string, lastUsed: number): Promise<boolean> {
    const key = `${accessKeyId}@${lastUsed}`;
    if (this.unloggedReported.has(key)) return false;
    this.unloggedReported.add(key);
    return true;
  }

  async clearUnloggedReported(accessKeyId: string, lastUsed: number): Promise<void> {
    this.unloggedReported.delete(`${accessKeyId}@${lastUsed}`);
  }
}
