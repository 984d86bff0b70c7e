import { type FindingKind, findingKinds } from '../config/schema';

/**
 * The drill's KPIs: what `--json` prints on its last line and what the report and
 * the exit code are decided from.
 */

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export interface DrillKpis {
  scenario: string;
  /** Findings raised, by kind (every kind present, 0 when none). */
  findings: Record<FindingKind, number>;
  /** Steps marked touchesDecoy that produced no finding: must be 0. */
  missedTouches: number;
  /** Principals seen only in benign activity that a response planned to contain: must be 0. */
  benignActedOn: number;
  /** Own processing time, wall clock, from a record entering the rules to its finding being published. */
  recordToFindingMs: LatencySummary;
  /** Own processing time from a finding being published to the response's plan being recorded. */
  findingToContainmentMs: LatencySummary;
  /** Steps marked touchesDecoy, and how many produced a finding. */
  touchesExpected: number;
  touchesDetected: number;
  /** Attack principals a response planned (dry-run) or took action on. */
  attackersContained: number;
  /** IAM calls the state machine made: 0 in dry-run. */
  actionsExecuted: number;
  /** Response executions that ended FAILED: must be 0 (a response that breaks is no response). */
  responsesFailed: number;
  records: { history: number; played: number; attack: number; routed: number };
  /** Wall-clock time of the whole drill, synthesis included. */
  elapsedMs: number;
  /**
   * Scenario time from each attacker's first call to the first finding naming it,
   * CloudTrail's delivery delays included (scenario \`delivery\`): p50 and max over
   * the attackers detected.
   */
  timeToDetectMs: { p50: number; max: number };
  /** Incidents the response opened (findings of one actor grouped; layers/response/incidents.ts). */
  incidents: number;
  /** Responses that planned, asked approval for or took action (notifications excluded). */
  responses: number;
  /** The most responses any one attack principal got: 1 when findings group into incidents. */
  maxResponsesPerAttacker: number;
  /** Attack principals no response (approval or action) met. */
  attackersUnmet: number;
  /** Organization drills: per member account. */
  organization?: OrganizationKpis;
  passed: boolean;
}

export interface MemberKpis {
  name: string;
  account: string;
  /** Decoys planted in the account. */
  decoys: number;
  touchesExpected: number;
  touchesDetected: number;
  /** Detected touches whose event a rule of this account forwarded to the central bus. */
  forwardedByMember: number;
  /** Findings naming the account (the caller's account, or the decoy's ARN). */
  findings: number;
  /** Responses planned (or taken) against a principal of this account. */
  responses: number;
}

export interface OrganizationKpis {
  securityAccount: string;
  /** Where the member-side rules came from: the StackSet's member template, or modelled. */
  memberRules: 'stack-set' | 'modelled';
  members: MemberKpis[];
  /** Touches in a member whose findings name another account or none: must be 0. */
  findingsMisattributed: number;
}

/** Nearest-rank percentile (q in [0,1]) of unsorted values; 0 for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  return {
    p50: round(percentile(values, 0.5)),
    p99: round(percentile(values, 0.99)),
    max: round(values.length ? Math.max(...values) : 0),
    count: values.length,
  };
}

export function countByKind(kinds: readonly FindingKind[]): Record<FindingKind, number> {
  const counts = Object.fromEntries(findingKinds.map((kind) => [kind, 0])) as Record<FindingKind, number>;
  for (const kind of kinds) counts[kind] += 1;
  return counts;
}

/** Why the drill failed, one line each; empty when it passed. */
export function failures(
  kpis: Pick<DrillKpis, 'missedTouches' | 'benignActedOn' | 'actionsExecuted' | 'responsesFailed'> &
    Partial<Pick<DrillKpis, 'maxResponsesPerAttacker' | 'attackersUnmet'>>,
  dryRun: boolean,
): string[] {
  const reasons: string[] = [];
  if ((kpis.attackersUnmet ?? 0) > 0)
    reasons.push(`${kpis.attackersUnmet} attack principal(s) met by no response (approval or action)`);
  if ((kpis.maxResponsesPerAttacker ?? 0) > 1)
    reasons.push(`an attack principal got ${kpis.maxResponsesPerAttacker} responses instead of one`);
  if (kpis.missedTouches > 0) reasons.push(`${kpis.missedTouches} decoy touch(es) produced no finding`);
  if (kpis.benignActedOn > 0)
    reasons.push(`${kpis.benignActedOn} benign principal(s) would have been contained`);
  if (kpis.responsesFailed > 0) reasons.push(`${kpis.responsesFailed} response execution(s) failed`);
  if (dryRun && kpis.actionsExecuted > 0)
    reasons.push(`${kpis.actionsExecuted} action(s) executed in dry-run`);
  return reasons;
}

export interface AttackerFirstCall {
  arn: string;
  /** Scenario time of its first call, ms since the epoch. */
  firstCall: number;
}

export interface DetectedFinding {
  arn: string;
  /** Scenario time the finding exists: raised, plus the delay of the CloudTrail path it came by. */
  detectedAt: number;
}

/**
 * Time to detect, per attacker: from its first call to the first finding naming it.
 * Attackers never named are left out of the figures (missed touches fail the drill
 * on their own); \`detected\` counts those named.
 */
export function timeToDetect(
  attackers: readonly AttackerFirstCall[],
  findings: readonly DetectedFinding[],
): { timeToDetectMs: { p50: number; max: number }; detected: number } {
  const delays: number[] = [];
  for (const attacker of attackers) {
    const times = findings.filter((f) => f.arn === attacker.arn).map((f) => f.detectedAt);
    if (times.length === 0) continue;
    delays.push(Math.max(0, Math.min(...times) - attacker.firstCall));
  }
  return {
    timeToDetectMs: { p50: percentile(delays, 0.5), max: delays.length ? Math.max(...delays) : 0 },
    detected: delays.length,
  };
}
