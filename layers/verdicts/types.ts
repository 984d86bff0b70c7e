import type { Severity } from '../config/vocabulary';
import { severities } from '../config/vocabulary';
import type { HistoryPair } from '../features/baseline';
import type { Principal } from '../features/principal';
import type { CallTrace } from './trace';

/**
 * A verdict: a rule of high fidelity over one principal's window of calls, on top
 * of the forest's score. Each verdict is a pure function of the window's calls (and,
 * where it needs it, the principal's history from the model) that returns one of
 * these, or nothing.
 */
export const VERDICT_NAMES = [
  'compute-credentials-outside',
  'tactic-sequence',
  'denied-burst',
  'key-two-networks',
] as const;
export type VerdictName = (typeof VERDICT_NAMES)[number];

export interface Verdict {
  readonly verdict: VerdictName;
  readonly severity: Severity;
  /** One sentence a responder reads: what happened and why it matters. */
  readonly reason: string;
  /** The eventIDs of the calls that make the case, in time order. */
  readonly evidence: readonly string[];
}

export interface VerdictInput {
  readonly principal: Principal;
  /** The window's calls, in time order (see trace.ts). */
  readonly calls: readonly CallTrace[];
  /** The principal's and its identity's history, from the model; absent without a model. */
  readonly history?: HistoryPair;
}

/** The knobs of the verdicts; every one has a default (DEFAULT_VERDICT_SETTINGS). */
export interface VerdictSettings {
  /** tactic-sequence: discovery to the last stage within this many minutes. */
  readonly sequenceMinutes: number;
  /** denied-burst: at least `deniedCalls` denied calls over `deniedServices` services within `deniedMinutes`. */
  readonly deniedMinutes: number;
  readonly deniedCalls: number;
  readonly deniedServices: number;
  /** key-two-networks: two public addresses in different /16 networks within this many minutes. */
  readonly twoNetworksMinutes: number;
}

export const DEFAULT_VERDICT_SETTINGS: VerdictSettings = {
  sequenceMinutes: 30,
  deniedMinutes: 10,
  deniedCalls: 5,
  deniedServices: 3,
  twoNetworksMinutes: 10,
};

export type VerdictFunction = (input: VerdictInput, settings: VerdictSettings) => Verdict | undefined;

export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

export function maxSeverity(...values: readonly Severity[]): Severity {
  return values.reduce((best, value) => (severityRank(value) > severityRank(best) ? value : best), 'low');
}

/** "arn:aws:iam::1:role/orders-api-task" → "orders-api-task"; a session ARN → "role/session". */
export function shortName(arn: string): string {
  const resource = arn.slice(arn.lastIndexOf(':') + 1);
  return resource.replace(/^(user|role|assumed-role)\//, '');
}
