import { type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { decoyNames, planDecoys } from '../../layers/decoys/catalogue';
import { FORMAT_PATTERNS, LEGACY_USER_POLICY_NAME, userPolicyName } from '../../layers/decoys/content';
import type { MemoryAccount } from '../../layers/decoys/memory';
import { Planter, type PlanterDeps } from '../../layers/decoys/planter';
import { seededRandom } from '../../layers/decoys/random';
import { LIVE_KEY_STATUSES } from '../../layers/decoys/registry';
import { type PlantSpec, specParts } from '../../layers/decoys/spec';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export function makeSpec(config: HoneytrailConfigInput = {}): PlantSpec {
  const parsed = parseConfig(config);
  const names = decoyNames(parsed, ACCOUNT, REGION);
  return {
    service: names.service,
    environment: names.environment,
    plan: planDecoys(parsed, { account: ACCOUNT, region: REGION }),
  };
}

/** A clock that moves a minute per reading, so timestamps differ. */
export function steppingClock(start = Date.UTC(2025, 2, 14, 3, 0, 0)): () => Date {
  let now = start;
  return () => {
    now += 60_000;
    return new Date(now);
  };
}

export const DAY_MS = 86_400_000;
/** The fixtures' first run: 2025-03-14 03:00 UTC. */
export const FIRST_RUN = Date.UTC(2025, 2, 14, 3, 0, 0);
/** Longer than every cadence's longest period (cadence.ts: 90 days + 10 of jitter): every item is due. */
export const ALL_DUE_DAYS = 101;

/**
 * Each planter made for an account runs ALL_DUE_DAYS after the previous one (unless
 * `start` is given), so that every refresh in a test finds everything due, as the
 * tests written before the cadence expect.
 */
const calendars = new WeakMap<MemoryAccount, number>();

export interface PlanterOptions {
  /** The run's first clock reading (minus a minute); default: the account's calendar. */
  start?: number;
  /** Receives every wait the planter asks for (the sleep itself is a no-op). */
  slept?: number[];
}

export function makePlanterDeps(
  account: MemoryAccount,
  seed = 'test',
  options: PlanterOptions = {},
): PlanterDeps {
  let start = options.start;
  if (start === undefined) {
    start = calendars.get(account) ?? FIRST_RUN;
    calendars.set(account, start + ALL_DUE_DAYS * DAY_MS);
  }
  return {
    ssm: account.ssm,
    s3: account.s3,
    iam: account.iam,
    secrets: account.secrets,
    registry: account.registry,
    clock: steppingClock(start),
    random: seededRandom(seed),
    region: REGION,
    sleep: async (ms) => {
      options.slept?.push(ms);
    },
  };
}

export function makePlanter(account: MemoryAccount, seed = 'test', options: PlanterOptions = {}): Planter {
  return new Planter(makePlanterDeps(account, seed, options));
}

/** The key id and secret the bait .env hands out, if any. */
export function envKey(account: MemoryAccount, spec: PlantSpec): { id?: string; secret?: string } {
  const parts = specParts(spec);
  const env = parts.objects.find((o) => o.objectKind === 'env-file');
  if (!parts.bucket || !env) return {};
  const body = account.objectBody(parts.bucket.name, env.name) ?? '';
  return {
    id: /^AWS_ACCESS_KEY_ID=(.*)$/m.exec(body)?.[1],
    secret: /^AWS_SECRET_ACCESS_KEY=(.*)$/m.exec(body)?.[1],
  };
}

/**
 * "Every decoy usable": each planned parameter holds a well-formed value, the
 * bucket is configured and holds every object, the user exists with its read
 * policy (and without the earlier deny-all one), and the .env's key is an active key of the user with the right secret.
 */
export function usabilityProblems(account: MemoryAccount, spec: PlantSpec): string[] {
  const problems: string[] = [];
  const parts = specParts(spec);
  for (const p of parts.parameters) {
    const stored = account.parameters.get(p.name);
    if (!stored) problems.push(`parameter ${p.name} missing`);
    else if (p.format && !FORMAT_PATTERNS[p.format].test(stored.value))
      problems.push(`parameter ${p.name} holds a malformed ${p.format}: ${stored.value}`);
  }
  if (parts.bucket) {
    const bucket = account.buckets.get(parts.bucket.name);
    if (!bucket) problems.push(`bucket ${parts.bucket.name} missing`);
    else {
      if (!bucket.publicAccessBlock || !bucket.versioning || bucket.encryption !== 'AES256')
        problems.push('bucket not configured');
      if (bucket.ownership !== 'BucketOwnerEnforced') problems.push('bucket ownership not enforced');
      for (const o of parts.objects) {
        if (!account.objectBody(parts.bucket.name, o.name)) problems.push(`object ${o.name} missing`);
      }
    }
  }
  if (parts.user) {
    const user = account.users.get(parts.user.name);
    if (!user) problems.push(`user ${parts.user.name} missing`);
    else {
      const policy = userPolicyName({ service: spec.service, bucketName: parts.bucket?.name });
      if (!user.policies.has(policy)) problems.push(`user has no policy ${policy}`);
      if (user.policies.has(LEGACY_USER_POLICY_NAME)) problems.push('user keeps the earlier deny-all policy');
      if (parts.bucket) {
        const { id, secret } = envKey(account, spec);
        const key = id ? user.keys.get(id) : undefined;
        if (!key) problems.push(`the .env key ${id} does not exist`);
        else if (key.status !== 'Active' || key.secretAccessKey !== secret)
          problems.push(`the .env key ${id} is not usable`);
      }
    }
  }
  return problems;
}

/**
 * "The registry true": every key IAM has is listed as live; a key listed active or
 * pending exists; a key listed deleted does not; the .env's key is listed active
 * or pending; every resource listed as planted exists.
 */
export function registryProblems(account: MemoryAccount, spec: PlantSpec): string[] {
  const problems: string[] = [];
  const record = account.registryItem;
  const parts = specParts(spec);
  if (!record) return ['no registry'];
  const userName = parts.user?.name;
  const user = userName ? account.users.get(userName) : undefined;
  for (const id of user?.keys.keys() ?? []) {
    const listed = record.keys.find((k) => k.accessKeyId === id);
    if (!listed || !LIVE_KEY_STATUSES.includes(listed.status))
      problems.push(`key ${id} exists but is not listed live (${listed?.status ?? 'unlisted'})`);
  }
  for (const key of record.keys) {
    const exists = account.users.get(key.userName)?.keys.has(key.accessKeyId) ?? false;
    if ((key.status === 'active' || key.status === 'pending') && !exists)
      problems.push(`key ${key.accessKeyId} listed ${key.status} but gone`);
    if (key.status === 'deleted' && exists) problems.push(`key ${key.accessKeyId} listed deleted but exists`);
  }
  const { id } = envKey(account, spec);
  if (id) {
    const listed = record.keys.find((k) => k.accessKeyId === id);
    if (!listed || (listed.status !== 'active' && listed.status !== 'pending'))
      problems.push(`the .env key ${id} is listed ${listed?.status ?? 'nowhere'}`);
  }
  for (const owned of record.owned.filter((o) => o.state === 'created')) {
    const exists =
      owned.kind === 'ssm-parameter'
        ? account.parameters.has(owned.name)
        : owned.kind === 's3-bucket'
          ? account.buckets.has(owned.name)
          : owned.kind === 'secretsmanager-secret'
            ? account.storedSecrets.has(owned.name)
            : account.users.has(owned.name);
    if (!exists) problems.push(`${owned.kind} ${owned.name} listed planted but missing`);
  }
  return problems;
}

/**
 * "The bait quotes what the account holds": the state file's parameters have the
 * values and versions SSM holds, its access key is the .env's, and the .env's
 * connection string is the one its parameter holds.
 */
export function baitProblems(account: MemoryAccount, spec: PlantSpec): string[] {
  const parts = specParts(spec);
  if (!parts.bucket) return [];
  const problems: string[] = [];
  const body = (kind: string) => {
    const object = parts.objects.find((o) => o.objectKind === kind);
    return object && account.objectBody(parts.bucket!.name, object.name);
  };
  const stateBody = body('terraform-state');
  if (stateBody) {
    type Resource = { type: string; instances: { attributes: Record<string, unknown> }[] };
    const state = JSON.parse(stateBody) as { resources: Resource[] };
    for (const r of state.resources.filter((r) => r.type === 'aws_ssm_parameter')) {
      const { name, value, version } = r.instances[0]!.attributes as {
        name: string;
        value: string;
        version: number;
      };
      const stored = account.parameters.get(name);
      if (stored?.value !== value) problems.push(`the state quotes another value of ${name}`);
      if (stored?.version !== version)
        problems.push(`the state says ${name} is version ${version}, SSM ${stored?.version}`);
    }
    const key = state.resources.find((r) => r.type === 'aws_iam_access_key');
    const envId = envKey(account, spec).id;
    if (key && envId && key.instances[0]!.attributes.id !== envId)
      problems.push('the state and the .env hold different keys');
  }
  const env = body('env-file');
  const url = env && /^DATABASE_URL=(.*)$/m.exec(env)?.[1];
  const urls = parts.parameters
    .filter((p) => p.format === 'database-url')
    .map((p) => account.parameters.get(p.name)?.value);
  if (url && urls.length > 0 && !urls.includes(url))
    problems.push("the .env DATABASE_URL is no parameter's value");
  return problems;
}

/** Nothing the spec names is left in the account, and no registry. */
export function leftovers(account: MemoryAccount): string[] {
  return [
    ...[...account.parameters.keys()].map((n) => `parameter ${n}`),
    ...[...account.buckets.keys()].map((n) => `bucket ${n}`),
    ...[...account.users.keys()].map((n) => `user ${n}`),
    ...[...account.aliases.keys()].map((n) => `alias ${n}`),
    ...(account.registryItem ? ['registry'] : []),
  ];
}
