import * as z from 'zod';
import { OTHER } from './window';

/**
 * What is normal for a principal: the source IPs, user agents and APIs it has been
 * seen with, the hours it works, and the running sums of its feature values (for
 * its norm). Built from training windows in time order, so each window is judged
 * against what came before it, and stored in the model file for scoring.
 *
 * There is one history per principal (an access key, a role session) and one per
 * identity (the user or role behind it): a new session of a known role is judged
 * against the role.
 */
export interface History {
  windows: number;
  /** Value → number of windows it appeared in. */
  readonly sourceIps: Map<string, number>;
  readonly userAgents: Map<string, number>;
  readonly apis: Map<string, number>;
  readonly regions: Map<string, number>;
  /** Active windows per hour of day (UTC). */
  readonly hours: number[];
  /** Per feature: sum and sum of squares of the values of the windows seen. */
  readonly featureSum: number[];
  readonly featureSumSq: number[];
}

export interface Baselines {
  readonly featureCount: number;
  readonly principals: Map<string, History>;
  readonly identities: Map<string, History>;
  /** Active principal-windows per hour of day, over the whole account: the prior for a new principal. */
  readonly accountHours: number[];
  /** Over every window: count, sum and sum of squares per feature (the account-wide spread). */
  global: { windows: number; sum: number[]; sumSq: number[] };
}

/** How many windows of its own a principal needs before its own habits count (else its identity's). */
export const MIN_HABIT_WINDOWS = 3;

/** Caps for the stored baselines, so a model file stays small in a busy account. */
export const BASELINE_LIMITS = {
  sourceIps: 100,
  userAgents: 50,
  apis: 400,
  regions: 40,
  principals: 5000,
  identities: 2000,
} as const;

function emptyHistory(featureCount: number): History {
  return {
    windows: 0,
    sourceIps: new Map(),
    userAgents: new Map(),
    apis: new Map(),
    regions: new Map(),
    hours: new Array(24).fill(0),
    featureSum: new Array(featureCount).fill(0),
    featureSumSq: new Array(featureCount).fill(0),
  };
}

export function emptyBaselines(featureCount: number): Baselines {
  return {
    featureCount,
    principals: new Map(),
    identities: new Map(),
    accountHours: new Array(24).fill(0),
    global: { windows: 0, sum: new Array(featureCount).fill(0), sumSq: new Array(featureCount).fill(0) },
  };
}

/** What one window adds to the histories: computed once by the caller from the window. */
export interface WindowTraits {
  readonly principalKey: string;
  readonly identity: string;
  readonly hour: number;
  readonly sourceIps: Iterable<string>;
  readonly userAgentFamilies: Iterable<string>;
  readonly apis: Iterable<string>;
  readonly regions: Iterable<string>;
  readonly features: ArrayLike<number>;
}

function addFeatures(sum: number[], sumSq: number[], features: ArrayLike<number>): void {
  for (let f = 0; f < features.length; f++) {
    const value = features[f]!;
    sum[f]! += value;
    sumSq[f]! += value * value;
  }
}

function addTo(histories: Map<string, History>, key: string, featureCount: number, traits: WindowTraits) {
  let history = histories.get(key);
  if (!history) {
    history = emptyHistory(featureCount);
    histories.set(key, history);
  }
  history.windows++;
  history.hours[traits.hour]!++;
  for (const ip of traits.sourceIps) history.sourceIps.set(ip, (history.sourceIps.get(ip) ?? 0) + 1);
  for (const ua of traits.userAgentFamilies)
    history.userAgents.set(ua, (history.userAgents.get(ua) ?? 0) + 1);
  for (const api of traits.apis) history.apis.set(api, (history.apis.get(api) ?? 0) + 1);
  for (const region of traits.regions) history.regions.set(region, (history.regions.get(region) ?? 0) + 1);
  addFeatures(history.featureSum, history.featureSumSq, traits.features);
}

/** Records a window in the principal's, its identity's and the account's history. */
export function learnWindow(baselines: Baselines, traits: WindowTraits): void {
  const { featureCount } = baselines;
  addTo(baselines.principals, traits.principalKey, featureCount, traits);
  // A principal keyed by its identity (an IAM user without a key, a service) has one history.
  if (traits.identity !== traits.principalKey) {
    addTo(baselines.identities, traits.identity, featureCount, traits);
  }
  baselines.accountHours[traits.hour]!++;
  baselines.global.windows++;
  addFeatures(baselines.global.sum, baselines.global.sumSq, traits.features);
}

/** The histories that judge a principal: its own and its identity's (either may be missing). */
export interface HistoryPair {
  readonly own: History | undefined;
  readonly identity: History | undefined;
}

export function historiesOf(baselines: Baselines, principalKey: string, identity: string): HistoryPair {
  return {
    own: baselines.principals.get(principalKey),
    identity:
      identity === principalKey ? baselines.principals.get(identity) : baselines.identities.get(identity),
  };
}

/** The history whose habits (hours, call volume, norms) apply: its own once it has enough, else the identity's. */
export function habitOf(pair: HistoryPair): History | undefined {
  if (pair.own && pair.own.windows >= MIN_HABIT_WINDOWS) return pair.own;
  if (pair.identity && pair.identity.windows > 0) return pair.identity;
  return pair.own && pair.own.windows > 0 ? pair.own : undefined;
}

export function seenIn(
  pair: HistoryPair,
  field: 'sourceIps' | 'userAgents' | 'apis' | 'regions',
  value: string,
): boolean {
  return Boolean(pair.own?.[field].has(value) || pair.identity?.[field].has(value));
}

/** Mean and standard deviation from a count, a sum and a sum of squares. */
function normOf(n: number, sum: number, sumSq: number): { mean: number; std: number } {
  if (n === 0) return { mean: 0, std: 0 };
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}

/** Mean and standard deviation of a feature over a history's windows. */
export function historyNorm(history: History, feature: number): { mean: number; std: number } {
  return normOf(history.windows, history.featureSum[feature]!, history.featureSumSq[feature]!);
}

/** Mean and standard deviation of a feature over every window of the account. */
export function globalNorm(baselines: Baselines, feature: number): { mean: number; std: number } {
  const { windows, sum, sumSq } = baselines.global;
  return normOf(windows, sum[feature]!, sumSq[feature]!);
}

// ---- JSON form, stored in the model file -------------------------------------------------

const countsSchema = z.record(z.string(), z.number().int().min(0));
const hoursSchema = z.array(z.number().min(0)).length(24);

const historySchema = z.object({
  windows: z.number().int().min(0),
  sourceIps: countsSchema,
  userAgents: countsSchema,
  apis: countsSchema,
  regions: countsSchema,
  hours: hoursSchema,
  featureSum: z.array(z.number()),
  featureSumSq: z.array(z.number()),
});

export const baselinesSchema = z.object({
  featureCount: z.number().int().min(1),
  principals: z.record(z.string(), historySchema),
  identities: z.record(z.string(), historySchema),
  accountHours: hoursSchema,
  global: z.object({
    windows: z.number().int().min(0),
    sum: z.array(z.number()),
    sumSq: z.array(z.number()),
  }),
});
export type BaselinesJson = z.infer<typeof baselinesSchema>;
type HistoryJson = z.infer<typeof historySchema>;

/** The most frequent `limit` entries (the rest are what a busy account forgets first). */
function topEntries(map: Map<string, number>, limit: number): Record<string, number> {
  const entries = [...map].filter(([key]) => key !== OTHER);
  if (entries.length > limit) entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(entries.slice(0, limit));
}

function historyToJson(history: History): HistoryJson {
  return {
    windows: history.windows,
    sourceIps: topEntries(history.sourceIps, BASELINE_LIMITS.sourceIps),
    userAgents: topEntries(history.userAgents, BASELINE_LIMITS.userAgents),
    apis: topEntries(history.apis, BASELINE_LIMITS.apis),
    regions: topEntries(history.regions, BASELINE_LIMITS.regions),
    hours: [...history.hours],
    featureSum: history.featureSum.map(round),
    featureSumSq: history.featureSumSq.map(round),
  };
}

function round(value: number): number {
  return Number(value.toPrecision(10));
}

function mostActive(map: Map<string, History>, limit: number): [string, History][] {
  const entries = [...map];
  if (entries.length > limit) entries.sort((a, b) => b[1].windows - a[1].windows || (a[0] < b[0] ? -1 : 1));
  return entries.slice(0, limit);
}

export function baselinesToJson(baselines: Baselines): BaselinesJson {
  return {
    featureCount: baselines.featureCount,
    principals: Object.fromEntries(
      mostActive(baselines.principals, BASELINE_LIMITS.principals).map(([key, h]) => [key, historyToJson(h)]),
    ),
    identities: Object.fromEntries(
      mostActive(baselines.identities, BASELINE_LIMITS.identities).map(([key, h]) => [key, historyToJson(h)]),
    ),
    accountHours: [...baselines.accountHours],
    global: {
      windows: baselines.global.windows,
      sum: baselines.global.sum.map(round),
      sumSq: baselines.global.sumSq.map(round),
    },
  };
}

function historyFromJson(json: HistoryJson, featureCount: number, where: string): History {
  if (json.featureSum.length !== featureCount || json.featureSumSq.length !== featureCount) {
    throw new Error(`${where}: feature sums have ${json.featureSum.length} values, expected ${featureCount}`);
  }
  return {
    windows: json.windows,
    sourceIps: new Map(Object.entries(json.sourceIps)),
    userAgents: new Map(Object.entries(json.userAgents)),
    apis: new Map(Object.entries(json.apis)),
    regions: new Map(Object.entries(json.regions)),
    hours: [...json.hours],
    featureSum: [...json.featureSum],
    featureSumSq: [...json.featureSumSq],
  };
}

export function baselinesFromJson(json: BaselinesJson): Baselines {
  const { featureCount } = json;
  const principals = new Map<string, History>();
  for (const [key, history] of Object.entries(json.principals)) {
    principals.set(key, historyFromJson(history, featureCount, `baselines.principals[${key}]`));
  }
  const identities = new Map<string, History>();
  for (const [key, history] of Object.entries(json.identities)) {
    identities.set(key, historyFromJson(history, featureCount, `baselines.identities[${key}]`));
  }
  return {
    featureCount,
    principals,
    identities,
    accountHours: [...json.accountHours],
    global: { windows: json.global.windows, sum: [...json.global.sum], sumSq: [...json.global.sumSq] },
  };
}
