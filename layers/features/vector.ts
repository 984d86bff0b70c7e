import {
  type Baselines,
  globalNorm,
  type History,
  habitOf,
  historiesOf,
  historyNorm,
  seenIn,
  type WindowTraits,
} from './baseline';
import { userAgentFamily } from './calls';
import { OTHER, type WindowAggregate } from './window';

/**
 * The features of one principal-window, in the order of the forest's columns.
 * Bump FEATURE_VERSION whenever a name, the order or a definition changes: a
 * model trained on other features is refused rather than scored wrongly.
 */
export const FEATURE_NAMES = [
  'calls',
  'distinctApis',
  'distinctServices',
  'errorRatio',
  'accessDeniedRatio',
  'writeRatio',
  'sensitiveCalls',
  'newSourceIps',
  'newUserAgents',
  'newApiRatio',
  'regions',
  'newRegions',
  'hourRarity',
  'callsVsHabit',
  'noveltyKinds',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_VERSION = 1;
export const FEATURE_COUNT = FEATURE_NAMES.length;

export interface FeatureDoc {
  readonly name: FeatureName;
  /** How the value is computed, in a sentence. */
  readonly definition: string;
  /** Why it separates misuse from normal work. */
  readonly why: string;
}

/** Every feature, what it is and why it matters (rendered into the README). */
export const FEATURE_DOCS: readonly FeatureDoc[] = [
  {
    name: 'calls',
    definition: 'ln(1 + number of API calls) in the window.',
    why: 'Tooling that enumerates an account makes hundreds of calls in minutes; the log keeps bursts and quiet hours on one scale.',
  },
  {
    name: 'distinctApis',
    definition: 'Number of different APIs (service + event name) called.',
    why: 'A workload calls the same handful of APIs over and over; someone mapping the account calls many different ones once each.',
  },
  {
    name: 'distinctServices',
    definition: 'Number of different AWS services called.',
    why: 'A CI role calls the services it deploys; a stolen key is tried against IAM, S3, EC2, Secrets Manager and more.',
  },
  {
    name: 'errorRatio',
    definition: 'Share of calls that returned an error code.',
    why: 'Someone guessing what a key can do gets errors; automation that works does not.',
  },
  {
    name: 'accessDeniedRatio',
    definition: 'Share of calls denied (AccessDenied, UnauthorizedOperation, ...).',
    why: 'Permission probing is a run of denied calls; legitimate callers are granted what they use.',
  },
  {
    name: 'writeRatio',
    definition:
      'Share of calls that change something (CloudTrail readOnly=false, else the verb of the event name).',
    why: 'A read-only principal that starts writing (or a writer that only reads everything) has changed hands or purpose.',
  },
  {
    name: 'sensitiveCalls',
    definition:
      'ln(1 + number of sensitive calls): secret reads, IAM enumeration and changes, logging changes, credential and key creation (layers/features/calls.ts, SENSITIVE_CALLS).',
    why: 'These are the first moves after a credential theft: read the secrets, map IAM, create a way back in, blind the trail.',
  },
  {
    name: 'newSourceIps',
    definition:
      'Number of source IPs in the window never seen for this principal (or its user or role) before.',
    why: "A stolen key is used from the thief's network, not from the CI runners or office the owner uses.",
  },
  {
    name: 'newUserAgents',
    definition:
      'Number of user agents (product and major version, so upgrades do not count) never seen for this principal before.',
    why: 'Attack tooling (Pacu, custom scripts, a different SDK) announces itself in the user agent.',
  },
  {
    name: 'newApiRatio',
    definition:
      "Share of the window's distinct APIs this principal (or its user or role) has never called before.",
    why: 'A role that suddenly calls APIs it never used (an application role listing IAM users) is doing something new.',
  },
  {
    name: 'regions',
    definition: 'Number of different regions called.',
    why: 'Workloads live in one or two regions; sweeping every region for resources, or launching in an unused one, does not.',
  },
  {
    name: 'newRegions',
    definition: 'Number of regions called that this principal (or its user or role) never called before.',
    why: 'Stolen keys are tried against the default region (us-east-1) or one where nobody would look; the owner works where the workloads are.',
  },
  {
    name: 'hourRarity',
    definition:
      "1 - 24 x the principal's share of activity in this hour of day (UTC, smoothed over neighbouring hours, with the account's hours as the prior), floored at 0.",
    why: "A developer key busy at 3 a.m., or a batch role outside its schedule, is off its owner's habit.",
  },
  {
    name: 'callsVsHabit',
    definition: "ln(1 + calls) minus the principal's usual ln(1 + calls) per active window.",
    why: "The forest sees every principal at once; this puts each window next to its own principal's volume, so a quiet user's burst stands out even if the CI role makes more calls.",
  },
  {
    name: 'noveltyKinds',
    definition:
      'How many kinds of novelty the window shows at once (0 to 5): a new source IP, a new user agent, a new API, a new region, an hour the principal is rarely active in (hourRarity >= 0.75).',
    why: 'Each novelty alone happens in normal work (a new laptop, a new feature, a late fix); a key used from a new network with a new tool against new APIs is a different person. The forest splits one feature at a time, so the coincidence is given to it as a feature.',
  },
];

/** Feature index by name. */
export const FEATURE_INDEX: Readonly<Record<FeatureName, number>> = Object.fromEntries(
  FEATURE_NAMES.map((name, index) => [name, index]),
) as Record<FeatureName, number>;

/** Weight of the account-wide hour habit as a prior, in windows (see hourRarity). */
const HOUR_PRIOR_WINDOWS = 5;

/** What featuresOf returns: the vector, and the traits that teach the baselines about this window. */
export interface WindowFeatures {
  readonly vector: Float64Array;
  readonly traits: WindowTraits;
}

/**
 * The features of a window judged against the baselines. Pure: the baselines are
 * only read. Missing fields (no IP, no user agent) count as the value "(none)".
 */
export function featuresOf(window: WindowAggregate, baselines: Baselines): WindowFeatures {
  const { principal } = window;
  const pair = historiesOf(baselines, principal.key, principal.identity);
  const habit = habitOf(pair);
  const calls = Math.max(window.calls, 1);

  const services = new Set<string>();
  let apiCount = 0;
  let newApis = 0;
  const apis: string[] = [];
  for (const api of window.apis.keys()) {
    if (api === OTHER) continue;
    apiCount++;
    apis.push(api);
    services.add(api.slice(0, api.indexOf(':')));
    if (!seenIn(pair, 'apis', api)) newApis++;
  }
  const sourceIps = [...window.sourceIps.keys()].filter((ip) => ip !== OTHER);
  const families = [
    ...new Set([...window.userAgents.keys()].filter((ua) => ua !== OTHER).map(userAgentFamily)),
  ];
  const hour = new Date(window.windowStart).getUTCHours();

  const vector = new Float64Array(FEATURE_COUNT);
  vector[0] = Math.log1p(window.calls);
  vector[1] = apiCount + (window.apis.has(OTHER) ? 1 : 0);
  vector[2] = services.size;
  vector[3] = window.errors / calls;
  vector[4] = window.denied / calls;
  vector[5] = window.writes / calls;
  vector[6] = Math.log1p(window.sensitive);
  vector[7] = sourceIps.filter((ip) => !seenIn(pair, 'sourceIps', ip)).length;
  vector[8] = families.filter((family) => !seenIn(pair, 'userAgents', family)).length;
  vector[9] = apiCount === 0 ? 0 : newApis / apiCount;
  const regions = [...window.regions.keys()].filter((region) => region !== OTHER);
  vector[10] = regions.length;
  vector[11] = regions.filter((region) => !seenIn(pair, 'regions', region)).length;
  vector[12] = hourRarity(hour, habit, baselines);
  vector[13] = habit ? vector[0] - historyNorm(habit, 0).mean : 0;
  vector[14] =
    Number(vector[7] > 0) +
    Number(vector[8] > 0) +
    Number(newApis > 0) +
    Number(vector[11] > 0) +
    Number(vector[12] >= 0.75);

  return {
    vector,
    traits: {
      principalKey: principal.key,
      identity: principal.identity,
      hour,
      sourceIps,
      userAgentFamilies: families,
      apis,
      regions,
      features: vector,
    },
  };
}

function hourRarity(hour: number, habit: History | undefined, baselines: Baselines): number {
  const smoothed = (hours: readonly number[]) =>
    0.25 * hours[(hour + 23) % 24]! + 0.5 * hours[hour]! + 0.25 * hours[(hour + 1) % 24]!;
  const accountTotal = baselines.accountHours.reduce((sum, n) => sum + n, 0);
  const prior = accountTotal > 0 ? smoothed(baselines.accountHours) / accountTotal : 1 / 24;
  const own = habit ? smoothed(habit.hours) : 0;
  const total = habit?.windows ?? 0;
  const share = (own + HOUR_PRIOR_WINDOWS * prior) / (total + HOUR_PRIOR_WINDOWS);
  return Math.max(0, 1 - 24 * share);
}

/** A feature's norm for a principal: its own (or its identity's) mean, else the account's. */
export interface FeatureNorm {
  readonly mean: number;
  readonly std: number;
  /** Where the norm comes from. */
  readonly basis: 'principal' | 'identity' | 'account';
}

export function featureNorms(window: WindowAggregate, baselines: Baselines): FeatureNorm[] {
  const pair = historiesOf(baselines, window.principal.key, window.principal.identity);
  const habit = habitOf(pair);
  const basis: FeatureNorm['basis'] = !habit ? 'account' : habit === pair.own ? 'principal' : 'identity';
  return FEATURE_NAMES.map((_, f) => {
    const norm = habit ? historyNorm(habit, f) : globalNorm(baselines, f);
    return { ...norm, basis };
  });
}

/**
 * How far a value is from its norm, in standard deviations. A principal that never
 * varies (std 0) would make any change infinite: the spread used is at least half
 * the account-wide one, and at least 0.05.
 */
export function deviationFrom(value: number, norm: FeatureNorm, accountStd: number): number {
  const spread = Math.max(norm.std, 0.5 * accountStd, 0.05);
  return (value - norm.mean) / spread;
}
