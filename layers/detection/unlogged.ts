import { FINDING_SCHEMA_VERSION, type Finding, findingId } from '../findings/finding';
import type { FindingSink } from '../findings/publish';
import type { KeyUseStore } from './store';

/**
 * The safety net for calls CloudTrail does not log: some APIs are not logged at all,
 * so an attacker can test a stolen key silently. IAM still records when a key was
 * last used (iam:GetAccessKeyLastUsed). If that date is later than every call the
 * touch function saw signed by the key, the key was used where CloudTrail did not show it.
 *
 * Two allowances keep this from crying wolf:
 * - delivery: a use younger than `deliveryGraceMs` (default 15 minutes) is not judged
 *   yet; CloudTrail's event may still be on its way to EventBridge (it has no
 *   published bound; log files take about 5 minutes on average). It is judged on a
 *   later run.
 * - rounding: IAM reports the last-used time to the minute, so a touch seen up to
 *   `roundingMs` (default 60 s) before it still covers it.
 */
export interface DecoyKey {
  accessKeyId: string;
  userName: string;
  userArn: string;
  /** The decoy's name in the registry (the key's decoy). */
  resourceName: string;
}

export interface KeyLastUsed {
  lastUsed?: number;
  serviceName?: string;
  region?: string;
}

export interface UnloggedUseDependencies {
  lastUsed(accessKeyId: string): Promise<KeyLastUsed>;
  store: KeyUseStore;
  sink: FindingSink;
  now: () => number;
}

export interface UnloggedUseSettings {
  deliveryGraceMs?: number;
  roundingMs?: number;
}

export type KeyVerdict = 'unused' | 'pending' | 'logged' | 'reported' | 'already-reported';

export interface KeyCheck {
  accessKeyId: string;
  verdict: KeyVerdict;
  lastUsed?: string;
  lastSeen?: string;
  finding?: Finding;
}

export const DEFAULT_DELIVERY_GRACE_MS = 15 * 60_000;
export const DEFAULT_ROUNDING_MS = 60_000;

export async function checkUnloggedUse(
  keys: readonly DecoyKey[],
  settings: UnloggedUseSettings,
  deps: UnloggedUseDependencies,
): Promise<KeyCheck[]> {
  const grace = settings.deliveryGraceMs ?? DEFAULT_DELIVERY_GRACE_MS;
  const rounding = settings.roundingMs ?? DEFAULT_ROUNDING_MS;
  const checks: KeyCheck[] = [];
  for (const key of keys) {
    const usage = await deps.lastUsed(key.accessKeyId);
    if (usage.lastUsed === undefined) {
      checks.push({ accessKeyId: key.accessKeyId, verdict: 'unused' });
      continue;
    }
    const lastUsed = usage.lastUsed;
    const base = { accessKeyId: key.accessKeyId, lastUsed: new Date(lastUsed).toISOString() };
    const now = deps.now();
    if (now - lastUsed < grace) {
      checks.push({ ...base, verdict: 'pending' });
      continue;
    }
    const seen = await deps.store.lastKeyUse(key.accessKeyId);
    const lastSeen = seen === undefined ? {} : { lastSeen: new Date(seen).toISOString() };
    if (seen !== undefined && seen >= lastUsed - rounding) {
      checks.push({ ...base, ...lastSeen, verdict: 'logged' });
      continue;
    }
    if (!(await deps.store.markUnloggedReported(key.accessKeyId, lastUsed, now))) {
      checks.push({ ...base, ...lastSeen, verdict: 'already-reported' });
      continue;
    }
    const finding = unloggedFinding(key, usage, lastUsed);
    try {
      await deps.sink.publish(finding);
    } catch (error) {
      // Let the next run report it rather than lose it.
      await deps.store.clearUnloggedReported(key.accessKeyId, lastUsed);
      throw error;
    }
    checks.push({ ...base, ...lastSeen, verdict: 'reported', finding });
  }
  return checks;
}

export function unloggedFinding(key: DecoyKey, usage: KeyLastUsed, lastUsed: number): Finding {
  const when = new Date(lastUsed).toISOString();
  const service = usage.serviceName && usage.serviceName !== 'N/A' ? usage.serviceName : 'unknown';
  const region = usage.region && usage.region !== 'N/A' ? usage.region : 'unknown';
  return {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: findingId(['unlogged-use', key.accessKeyId, lastUsed]),
    kind: 'unlogged-use',
    severity: 'high',
    title: `Reserved access key used with ${service} in ${region} at ${when} without any CloudTrail record`,
    actor: { arn: key.userArn, type: 'IAMUser', accessKeyId: key.accessKeyId },
    region,
    eventNames: [`${service}:unlogged`],
    eventIds: [],
    resource: { kind: 'iam-access-key', name: key.resourceName, arn: key.userArn },
    firstSeen: when,
    lastSeen: when,
    count: 1,
    evidence: [],
    response: { status: 'none' },
  };
}
