import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Severity } from '../config/vocabulary';
import type { Baselines } from '../features/baseline';
import { type HistoryPair, historiesOf } from '../features/baseline';
import { type Principal, principalOf } from '../features/principal';
import { windowKey, windowStartOf } from '../features/window';
import { type Finding, findingSchema } from '../findings/finding';
import { computeCredentialsOutside } from './compute-credentials';
import { deniedBurst } from './denied-burst';
import { tacticSequence } from './tactic-sequence';
import { type CallTrace, mergeTraces, traceOf } from './trace';
import { keyTwoNetworks } from './two-networks';
import {
  DEFAULT_VERDICT_SETTINGS,
  maxSeverity,
  severityRank,
  type Verdict,
  type VerdictFunction,
  type VerdictInput,
  type VerdictSettings,
} from './types';

export { type ComputeKind, computeCredentialsOutside, computeKindOf } from './compute-credentials';
export { deniedBurst } from './denied-burst';
export { isPublicAddress, isServiceAddress, networkOf } from './networks';
export { tacticSequence } from './tactic-sequence';
export { TACTIC_TABLE, TACTICS, type Tactic, type TacticMatch, tacticOf, tacticOfEventName } from './tactics';
export { type CallTrace, MAX_TRACES, mergeTraces, traceOf } from './trace';
export { keyTwoNetworks } from './two-networks';
export * from './types';

/** Every verdict, in the order their reasons are shown. */
export const VERDICTS: readonly VerdictFunction[] = [
  (input) => computeCredentialsOutside(input),
  tacticSequence,
  keyTwoNetworks,
  deniedBurst,
];

/** The verdicts a window's calls earn, most severe first. Pure. */
export function runVerdicts(
  input: VerdictInput,
  settings: VerdictSettings = DEFAULT_VERDICT_SETTINGS,
): Verdict[] {
  const found: Verdict[] = [];
  for (const verdict of VERDICTS) {
    const result = verdict(input, settings);
    if (result) found.push(result);
  }
  return found.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

/** The histories the model keeps for a principal (undefined without baselines). */
export function historyFor(principal: Principal, baselines: Baselines | undefined): HistoryPair | undefined {
  return baselines ? historiesOf(baselines, principal.key, principal.identity) : undefined;
}

const MAX_EVENT_IDS = 25;
const MAX_TITLE = 400;

/**
 * The anomaly finding with its verdicts: severity raised to the most severe
 * verdict's (never lowered), each verdict's reason in the title, their evidence
 * first among the event ids. No verdicts: the finding as it was.
 */
export function applyVerdicts(finding: Finding, verdicts: readonly Verdict[]): Finding {
  if (verdicts.length === 0) return finding;
  const severity = maxSeverity(finding.severity, ...verdicts.map((v) => v.severity));
  const reasons = verdicts.map((v) => `${v.verdict}: ${v.reason}`).join(' | ');
  const title = `${finding.title} [${reasons}]`;
  const eventIds = [...new Set([...verdicts.flatMap((v) => v.evidence), ...finding.eventIds])].slice(
    0,
    MAX_EVENT_IDS,
  );
  return findingSchema.parse({
    ...finding,
    severity,
    title: title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title,
    eventIds,
  });
}

/**
 * The calls of each principal-window of a set of records (the batch form: the
 * command line and the drill; the scoring function keeps them per window in the
 * state store). Keyed like WindowBuilder (`windowKey`).
 */
export function tracesByWindow(
  records: Iterable<CloudTrailRecord>,
  windowMinutes: number,
): Map<string, CallTrace[]> {
  const grouped = new Map<string, CallTrace[]>();
  for (const record of records) {
    const trace = traceOf(record);
    if (!trace) continue;
    const key = windowKey(principalOf(record).key, windowStartOf(trace.time, windowMinutes));
    const list = grouped.get(key) ?? [];
    list.push(trace);
    grouped.set(key, list);
  }
  for (const [key, list] of grouped) grouped.set(key, mergeTraces([], list));
  return grouped;
}

/** What to do about a window after an update: publish a finding at this severity, or nothing. */
export type WindowDecision =
  | { readonly publish: true; readonly severity: Severity; readonly raised: boolean }
  | { readonly publish: false; readonly why: string };

/**
 * One window raises at most one finding, and later updates only raise it again
 * when the severity grows: `reportedSeverity` is what was published for it so far.
 * A window is worth a finding when the forest scores it at or above the threshold
 * or a verdict holds.
 */
export function decideWindow(options: {
  readonly aboveThreshold: boolean;
  readonly severity: Severity;
  readonly verdicts: readonly Verdict[];
  readonly reportedSeverity?: Severity;
}): WindowDecision {
  if (!options.aboveThreshold && options.verdicts.length === 0) {
    return { publish: false, why: 'below the threshold and no verdict' };
  }
  if (options.reportedSeverity === undefined)
    return { publish: true, severity: options.severity, raised: false };
  if (severityRank(options.severity) > severityRank(options.reportedSeverity)) {
    return { publish: true, severity: options.severity, raised: true };
  }
  return { publish: false, why: `already reported at ${options.reportedSeverity}` };
}
