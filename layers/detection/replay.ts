import { type CloudTrailRecord, toEnvelope } from '../cloudtrail/record';
import { compilePattern, type EventMatcher } from '../event-pattern';
import type { Finding } from '../findings/finding';
import { MemorySink } from '../findings/publish';
import { type AllowlistConfig, compileAllowlist } from './allowlist';
import type { ClassifyContext } from './classify';
import { DecoyIndex } from './decoy-index';
import {
  buildDetectionRules,
  type DetectionContext,
  type DetectionRule,
  type KnownDecoy,
  trustedRoles,
} from './rules';
import { MemoryTouchStore } from './store';
import { parseEventTime, processRecord, type TouchSettings } from './touch';

/**
 * Runs CloudTrail records through what is deployed: the rules buildDetectionRules
 * makes for the decoys (matched by the local EventBridge engine), then the touch
 * function's logic (classification, allowlist, dedupe, severity) with its state in
 * memory. `replay`, the tests and the bench use it.
 */
export interface ReplaySettings {
  decoys: readonly KnownDecoy[];
  context: DetectionContext;
  windowMinutes: number;
  allowlist: AllowlistConfig;
}

export interface ReplayStats {
  /** Records read. */
  records: number;
  /** Records at least one rule matched (what would invoke the touch function). */
  matched: number;
  /** Touches that counted towards a finding (after allowlists). */
  touches: number;
  /** Matched records that were no touch (the platform's own calls, not a decoy). */
  ignored: number;
  allowlisted: number;
  duplicates: number;
}

export class ReplayEngine {
  readonly rules: DetectionRule[];
  readonly store = new MemoryTouchStore();
  readonly sink = new MemorySink();
  readonly stats: ReplayStats = {
    records: 0,
    matched: 0,
    touches: 0,
    ignored: 0,
    allowlisted: 0,
    duplicates: 0,
  };
  private readonly matchers: EventMatcher[];
  private readonly index: DecoyIndex;
  private readonly settings: TouchSettings;
  private clock = 0;

  constructor(settings: ReplaySettings) {
    this.rules = buildDetectionRules(settings.decoys, settings.context);
    this.matchers = this.rules.map((rule) => compilePattern(rule.pattern));
    this.index = new DecoyIndex(settings.decoys, { keyArn: settings.context.keyArn });
    this.settings = {
      context: classifyContextOf(settings.context),
      windowMinutes: settings.windowMinutes,
      allowlist: compileAllowlist(settings.allowlist),
    };
  }

  /** Whether any deployed rule would route `record` to the touch function. */
  matches(record: CloudTrailRecord): boolean {
    const envelope = toEnvelope(record);
    for (const matcher of this.matchers) if (matcher(envelope)) return true;
    return false;
  }

  async push(record: CloudTrailRecord): Promise<void> {
    this.stats.records += 1;
    if (!this.matches(record)) return;
    this.stats.matched += 1;
    const deliveryId =
      record.eventID ?? `${record.eventTime}|${record.eventSource}|${record.eventName}|${this.stats.records}`;
    const outcome = await processRecord(record, deliveryId, this.index, this.settings, {
      store: this.store,
      sink: this.sink,
      // Replay has no wall clock worth using: "now" follows the records.
      now: () => this.clock,
      count: (metric, value = 1) => {
        if (metric === 'MatchedCalls') this.stats.touches += value;
        else if (metric === 'Ignored') this.stats.ignored += value;
        else if (metric === 'Allowlisted') this.stats.allowlisted += value;
        else if (metric === 'Duplicates') this.stats.duplicates += value;
      },
    });
    for (const { match: touch } of outcome.outcomes)
      this.clock = Math.max(this.clock, parseEventTime(touch.eventTime) ?? 0);
  }

  /** Every finding, with its final count and last-seen time, oldest first. */
  findings(): Finding[] {
    return [...this.store.audit.values()].sort(
      (a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id),
    );
  }
}

export function classifyContextOf(context: DetectionContext): ClassifyContext {
  return {
    trailName: context.trailName,
    trailArn: context.trailArn,
    ruleNamePrefix: context.ruleNamePrefix,
    busName: context.busName,
    trustedRoleArns: trustedRoles(context),
  };
}
