import type { BaitObjectKind, SecretFormat } from '../config/schema';
import { seededStream } from './random';

/**
 * When each decoy is rewritten. A real team rotates an access key about every 90
 * days, its secrets on their own cadences (API tokens more often than database
 * passwords), dumps its database every night, and rewrites a config file or a
 * state file when what they hold changes; its jobs take seconds to minutes, so
 * nothing is rewritten in the same second. A decoy set rewritten daily, all of it
 * in one second, is a tell in CloudTrail's 90-day event history, in
 * `LastModifiedDate`, in `GetParameterHistory` and in `ListObjectVersions`.
 *
 * Pure: the scheduled refresh passes the registry's last write times, the secret
 * seed and the clock, and gets back what is due now and when to write each item.
 * Every jitter is drawn from the secret seed (never from public code or the
 * account id), and from the item's last write, so each period has its own length
 * and nobody can recompute the schedule.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** A cadence: the nominal period and the largest jitter either side, in days. */
export interface Cadence {
  days: number;
  jitterDays: number;
}

/** The access key: the 90 days most policies and scanners (Security Hub IAM.3) ask for. */
export const ACCESS_KEY_CADENCE: Cadence = { days: 90, jitterDays: 10 };

/**
 * Each secret format's cadence. Database credentials rotate least often (a
 * rotation touches every client); a connection string changes with the password
 * of its database (rotation groups below).
 */
export const PARAMETER_CADENCE: Record<SecretFormat, Cadence> = {
  'api-token': { days: 30, jitterDays: 4 },
  'jwt-signing-key': { days: 60, jitterDays: 7 },
  password: { days: 90, jitterDays: 10 },
  'database-url': { days: 90, jitterDays: 10 },
};

/** How long one run may spread its writes over by default: well inside the function's 5-minute timeout. */
export const DEFAULT_SPREAD_MS = 150_000;
/** The least time between two writes of one run. */
export const MIN_GAP_MS = 2_000;

export interface ParameterWrite {
  name: string;
  format: SecretFormat;
  /** When its value was last written (the registry's record of it); absent: never, due now. */
  lastWrite?: Date;
}

export interface ObjectWrite {
  key: string;
  objectKind: BaitObjectKind;
  /** When it was last written; absent: never, due now. */
  lastWrite?: Date;
}

export interface RefreshInput {
  now: Date;
  /** The registry's secret seed: every jitter is drawn from it. */
  secretSeed: string;
  /** When the access key in the bait was created; absent: no key yet (one is due), or no user. */
  keyCreatedAt?: Date;
  /** Whether a user (and so a key) is planted. */
  hasUser: boolean;
  parameters: readonly ParameterWrite[];
  objects: readonly ObjectWrite[];
  /**
   * The parameters whose values the .env quotes (the main service's connection
   * strings); default every `database-url` parameter.
   */
  envQuotes?: readonly string[];
  /** How long the run may spread its writes over (default DEFAULT_SPREAD_MS). */
  spreadMs?: number;
}

export type RefreshStep =
  | { item: 'access-key'; name: 'access-key'; delayMs: number; reason: string }
  | { item: 'parameter'; name: string; delayMs: number; reason: string }
  | { item: 'object'; name: string; delayMs: number; reason: string };

export interface RefreshPlan {
  /** Create a new access key (and retire the old one once the bait holds the new one). */
  rotateKey: boolean;
  /** Parameters whose values are rewritten this run. */
  parameters: string[];
  /** Bait objects rewritten this run. */
  objects: string[];
  /**
   * Every write of the run, in order, each with its delay from the run's start:
   * strictly increasing, at least MIN_GAP_MS apart, within the spread.
   */
  steps: RefreshStep[];
  /** The earliest time something falls due after this run (for logs and tests). */
  nextDue: Date | undefined;
}

/** Uniform in [0, 1), fixed by the secret seed and the label. */
function draw(seed: string, label: string): number {
  return seededStream(`${seed}:cadence:${label}`).next();
}

/**
 * When an item written at `lastWrite` is next due: its period plus a jitter drawn
 * for this period (the seed and the last write time), so successive periods
 * differ in length and no two deployments share a schedule.
 */
export function dueAt(lastWrite: Date, cadence: Cadence, seed: string, label: string): Date {
  const jitter = (draw(seed, `${label}@${lastWrite.toISOString()}`) * 2 - 1) * cadence.jitterDays;
  return new Date(lastWrite.getTime() + (cadence.days + jitter) * DAY_MS);
}

/**
 * The nightly dump's minute of the day (UTC), fixed for a deployment: a backup
 * job's cron line. Between 00:30 and 05:30, when such jobs run.
 */
export function dumpMinute(seed: string): number {
  return 30 + Math.floor(draw(seed, 'dump-minute') * 300);
}

/** The last time the nightly dump's slot came round at or before `now`. */
export function lastDumpSlot(now: Date, seed: string): Date {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const today = midnight + dumpMinute(seed) * MINUTE_MS;
  return new Date(today <= now.getTime() ? today : today - DAY_MS);
}

/**
 * The rotation group of a parameter: a database's password and its connection
 * strings (same parent path) change together, as one credential rotation; every
 * other parameter is its own group.
 */
export function rotationGroup(parameter: Pick<ParameterWrite, 'name' | 'format'>): string {
  if (parameter.format !== 'password' && parameter.format !== 'database-url') return parameter.name;
  const parent = parameter.name.split('/').slice(0, -1).join('/');
  return `database:${parent}`;
}

interface GroupState {
  members: ParameterWrite[];
  cadence: Cadence;
  /** The oldest write in the group: the group rotates as one. */
  lastWrite: Date | undefined;
}

function groupsOf(parameters: readonly ParameterWrite[]): Map<string, GroupState> {
  const groups = new Map<string, GroupState>();
  for (const parameter of parameters) {
    const id = rotationGroup(parameter);
    const group = groups.get(id) ?? {
      members: [],
      cadence: PARAMETER_CADENCE[parameter.format],
      lastWrite: undefined,
    };
    group.members.push(parameter);
    // A password sets the group's cadence (its connection strings follow it).
    if (parameter.format === 'password') group.cadence = PARAMETER_CADENCE.password;
    groups.set(id, group);
  }
  for (const group of groups.values()) {
    // The oldest write decides; a member never written makes the whole group due now.
    const times = group.members.map((m) => m.lastWrite?.getTime());
    group.lastWrite = times.some((t) => t === undefined)
      ? undefined
      : new Date(Math.min(...(times as number[])));
  }
  return groups;
}

/**
 * Spreads the run's writes: gaps of at least MIN_GAP_MS, drawn from the seed and
 * the run's time (so the rhythm differs from run to run), fitting the spread.
 */
function delays(count: number, spreadMs: number, seed: string, now: Date): number[] {
  if (count === 0) return [];
  const stream = seededStream(`${seed}:cadence:spread@${now.toISOString()}`);
  const budget = Math.max(spreadMs, count * MIN_GAP_MS);
  // A run does not use its whole budget every time: 60-100% of it.
  const used = budget * (0.6 + 0.4 * stream.next());
  const weights = Array.from({ length: count }, () => 0.3 + stream.next());
  const total = weights.reduce((sum, w) => sum + w, 0);
  const free = Math.max(0, used - count * MIN_GAP_MS);
  const out: number[] = [];
  let at = 0;
  for (const weight of weights) {
    at += MIN_GAP_MS + Math.floor((free * weight) / total);
    out.push(at);
  }
  return out;
}

/** What a scheduled refresh does now. */
export function planRefresh(input: RefreshInput): RefreshPlan {
  const { now, secretSeed: seed } = input;
  const due = (at: Date | undefined) => at === undefined || at.getTime() <= now.getTime();
  const upcoming: Date[] = [];
  const reasons = new Map<string, string>();

  // The key.
  let rotateKey = false;
  if (input.hasUser) {
    if (!input.keyCreatedAt) {
      rotateKey = true;
      reasons.set('access-key', 'no access key yet');
    } else {
      const at = dueAt(input.keyCreatedAt, ACCESS_KEY_CADENCE, seed, 'access-key');
      if (due(at)) {
        rotateKey = true;
        reasons.set('access-key', `created ${input.keyCreatedAt.toISOString()}, due ${at.toISOString()}`);
      } else upcoming.push(at);
    }
  }

  // The parameters, by rotation group.
  const parameters: string[] = [];
  for (const [id, group] of groupsOf(input.parameters)) {
    const at = group.lastWrite && dueAt(group.lastWrite, group.cadence, seed, id);
    if (due(at)) {
      for (const member of group.members) {
        parameters.push(member.name);
        reasons.set(
          `parameter:${member.name}`,
          at ? `${group.cadence.days}-day cadence, due ${at.toISOString()}` : 'never written',
        );
      }
    } else if (at) upcoming.push(at);
  }
  const changed = new Set(parameters);

  // The objects: each at its natural cadence.
  const envQuotes = new Set(
    input.envQuotes ?? input.parameters.filter((p) => p.format === 'database-url').map((p) => p.name),
  );
  const objects: string[] = [];
  for (const object of input.objects) {
    let reason: string | undefined;
    if (!object.lastWrite) reason = 'never written';
    else
      switch (object.objectKind) {
        case 'database-dump': {
          const slot = lastDumpSlot(now, seed);
          if (object.lastWrite < slot) reason = `nightly, slot ${slot.toISOString()}`;
          else upcoming.push(new Date(slot.getTime() + DAY_MS));
          break;
        }
        case 'env-file':
          if (rotateKey) reason = 'holds the access key';
          else if ([...envQuotes].some((name) => changed.has(name)))
            reason = 'holds a rotated connection string';
          break;
        case 'terraform-state':
          // An apply that changes a parameter or the key writes a new state (new versions, new serial).
          if (rotateKey || changed.size > 0) reason = 'an apply changed what it holds';
          break;
      }
    if (reason) {
      objects.push(object.key);
      reasons.set(`object:${object.key}`, reason);
    }
  }

  // The order a real run writes in: the key, the secrets, then the files that quote
  // them (the state last, as an apply ends); the dump is its own job, at its own time.
  const ordered: Omit<RefreshStep, 'delayMs'>[] = [];
  if (rotateKey)
    ordered.push({ item: 'access-key', name: 'access-key', reason: reasons.get('access-key') ?? '' });
  for (const name of parameters)
    ordered.push({ item: 'parameter', name, reason: reasons.get(`parameter:${name}`) ?? '' });
  const rank: Record<BaitObjectKind, number> = { 'database-dump': 0, 'env-file': 1, 'terraform-state': 2 };
  const objectSteps = input.objects
    .filter((o) => objects.includes(o.key))
    .sort((a, b) => rank[a.objectKind] - rank[b.objectKind]);
  for (const object of objectSteps)
    ordered.push({ item: 'object', name: object.key, reason: reasons.get(`object:${object.key}`) ?? '' });
  const offsets = delays(ordered.length, input.spreadMs ?? DEFAULT_SPREAD_MS, seed, now);
  const steps = ordered.map((step, i) => ({ ...step, delayMs: offsets[i] as number }) as RefreshStep);

  const nextDue = upcoming.length > 0 ? new Date(Math.min(...upcoming.map((d) => d.getTime()))) : undefined;
  return { rotateKey, parameters, objects, steps, nextDue };
}
