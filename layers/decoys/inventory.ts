import type { InventoryPort } from './ports';

/**
 * What the account already holds, read at plant time (names only, never values),
 * and the naming conventions inferred from it. Decoys named after these
 * conventions sit among the account's own resources instead of beside them in a
 * vocabulary anyone can read in this repository.
 */

export interface AccountInventory {
  account: string;
  region: string;
  /** SSM parameter names (DescribeParameters). */
  parameters: string[];
  /** Bucket names (ListBuckets). */
  buckets: string[];
  /** IAM user names (ListUsers). */
  users: string[];
  /** Secrets Manager secret names (ListSecrets); empty when not read. */
  secrets: string[];
  /** KMS alias names, `alias/...` (ListAliases), AWS-managed ones included. */
  aliases: string[];
}

export function emptyInventory(account: string, region: string): AccountInventory {
  return { account, region, parameters: [], buckets: [], users: [], secrets: [], aliases: [] };
}

/** The caps keep one plant run inside the function's timeout in a large account. */
export const INVENTORY_CAPS = { parameters: 2000, users: 1000, secrets: 1000, aliases: 500 } as const;

/** Reads the inventory through the port; a list the role may not read counts as empty. */
export async function readInventory(
  port: InventoryPort,
  target: { account: string; region: string },
): Promise<AccountInventory> {
  const tolerant = async (read: () => Promise<string[]>) => {
    try {
      return await read();
    } catch {
      // Conventions are a nicety: without them the vocabulary names the decoys.
      return [];
    }
  };
  const [parameters, buckets, users, secrets, aliases] = await Promise.all([
    tolerant(() => port.listParameterNames(INVENTORY_CAPS.parameters)),
    tolerant(() => port.listBucketNames()),
    tolerant(() => port.listUserNames(INVENTORY_CAPS.users)),
    tolerant(() => port.listSecretNames?.(INVENTORY_CAPS.secrets) ?? Promise.resolve([])),
    tolerant(() => port.listAliasNames?.(INVENTORY_CAPS.aliases) ?? Promise.resolve([])),
  ]);
  return { ...target, parameters, buckets, users, secrets, aliases };
}

/**
 * The inventory without what is not the team's own naming: this stack's resources
 * (CloudFormation names them `<stack>-<logical id>-<suffix>`) and the CDK
 * bootstrap's. Decoys shaped after those would look like the stack's own.
 */
export function withoutPlatformNames(
  inventory: AccountInventory,
  stackName: string | undefined,
): AccountInventory {
  const prefixes = ['cdk-', 'cdk-bootstrap/', ...(stackName ? [stackName.toLowerCase(), stackName] : [])];
  const keep = (name: string) => {
    const bare = name.replace(/^alias\//, '').replace(/^\//, '');
    return !prefixes.some((p) => bare.startsWith(p));
  };
  return {
    ...inventory,
    parameters: inventory.parameters.filter(keep),
    buckets: inventory.buckets.filter(keep),
    users: inventory.users.filter(keep),
    secrets: inventory.secrets.filter(keep),
    aliases: inventory.aliases.filter(keep),
  };
}

/** Customer-managed aliases only: `alias/aws/...` are AWS's own and say nothing about the team. */
export function customerAliases(inventory: AccountInventory): string[] {
  return inventory.aliases.filter((a) => a.startsWith('alias/') && !a.startsWith('alias/aws/'));
}

export function isEmptyInventory(inventory: AccountInventory): boolean {
  return (
    inventory.parameters.length === 0 &&
    inventory.buckets.length === 0 &&
    inventory.users.length === 0 &&
    inventory.secrets.length === 0 &&
    customerAliases(inventory).length === 0
  );
}

// --- inference ------------------------------------------------------------------

export const ENVIRONMENT_WORDS = [
  'prod',
  'production',
  'prd',
  'live',
  'staging',
  'stage',
  'stg',
  'preprod',
  'uat',
  'qa',
  'test',
  'dev',
  'development',
  'sandbox',
] as const;
const PRODUCTION_WORDS = new Set(['prod', 'production', 'prd', 'live']);
const ENVIRONMENTS = new Set<string>(ENVIRONMENT_WORDS);

/** Words that are structure, not a service: never chosen as the service a decoy belongs to. */
const NOT_SERVICES = new Set([
  'aws',
  'app',
  'apps',
  'config',
  'configs',
  'common',
  'shared',
  'global',
  'default',
  'secrets',
  'secret',
  'params',
  'parameters',
  'cdk',
  'cdktf',
  'terraform',
  'tf',
  'ssm',
  'kms',
  's3',
  'logs',
  'bucket',
  'buckets',
]);

/** Where the environment and service sit in a parameter path. */
export type ParameterLayout = 'env/service' | 'service/env' | 'service' | 'env';

export interface Conventions {
  /** The production-like environment word the account uses, if any is seen. */
  environment?: string;
  /** Service words seen in parameter and secret paths, most frequent first. */
  services: string[];
  parameterLayout?: ParameterLayout;
  /** `_` when most parameter leaves use underscores. */
  leafSeparator: '-' | '_';
  /** A generalized bucket name: `{org}-{env}-{service}-{purpose}-{account}-{region}` and the like. */
  bucketPattern?: string;
  /** A first token most buckets (or users) share: the organisation's prefix. */
  org?: string;
  /** User naming: fixed first and last tokens most users share (`svc-`, `-ci`). */
  userPrefix?: string;
  userSuffix?: string;
  userSeparator: string;
  /** A generalized alias: `alias/{service}-{env}-{purpose}`. */
  aliasPattern?: string;
}

function count<T>(items: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** Most frequent first; ties keep first-seen order (Map insertion), so the result is stable. */
function ranked<T>(items: T[]): T[] {
  return [...count(items).entries()].sort((a, b) => b[1] - a[1]).map(([item]) => item);
}

const isEnvironment = (word: string) => ENVIRONMENTS.has(word.toLowerCase());
const isServiceWord = (word: string) =>
  /^[a-z][a-z0-9-]{1,30}$/.test(word) && !isEnvironment(word) && !NOT_SERVICES.has(word);

interface PathReading {
  layout: ParameterLayout;
  environment?: string;
  service?: string;
}

/** `/prod/payments/db-password` → env/service; `/payments/prod/...` → service/env; etc. */
export function readPath(path: string): PathReading | undefined {
  const segments = path.split('/').filter(Boolean);
  if (segments.length < 2) return undefined;
  const [first, second] = segments as [string, string];
  if (segments.length >= 3) {
    if (isEnvironment(first)) return { layout: 'env/service', environment: first, service: second };
    if (isEnvironment(second)) return { layout: 'service/env', environment: second, service: first };
    return { layout: 'service', service: first };
  }
  if (isEnvironment(first)) return { layout: 'env', environment: first };
  return { layout: 'service', service: first };
}

/** Replaces the parts every account differs in with placeholders, token by token. */
function generalize(
  name: string,
  separator: string,
  known: { account: string; region: string; services: Set<string>; org?: string },
): string {
  const replaced = name
    .replace(known.account, '\u0000account\u0000')
    .replace(known.region, '\u0000region\u0000')
    .replace(/\b[a-z]{2}(-gov)?-[a-z]+-\d\b/, '\u0000region\u0000');
  const tokens = replaced.split(separator);
  const out: string[] = [];
  for (const [i, token] of tokens.entries()) {
    let placeholder: string;
    if (token === '\u0000account\u0000') placeholder = '{account}';
    else if (token === '\u0000region\u0000') placeholder = '{region}';
    else if (i === 0 && known.org && token === known.org) placeholder = '{org}';
    else if (isEnvironment(token)) placeholder = '{env}';
    else if (known.services.has(token)) placeholder = '{service}';
    else placeholder = '{purpose}';
    // Consecutive purpose words are one purpose ("db-backups").
    if (placeholder === '{purpose}' && out.at(-1) === '{purpose}') continue;
    out.push(placeholder);
  }
  return out.join(separator);
}

/** The first token most names share, when at least two names and half of them share it. */
function sharedFirstToken(names: string[], separator: string): string | undefined {
  const firsts = names.map((n) => n.split(separator)[0] ?? '').filter((t) => t.length > 1);
  const [top] = ranked(firsts);
  if (!top) return undefined;
  const share = firsts.filter((t) => t === top).length;
  return share >= 2 && share * 2 >= names.length && !isEnvironment(top) ? top : undefined;
}

function sharedLastToken(names: string[], separator: string): string | undefined {
  const lasts = names
    .filter((n) => n.includes(separator))
    .map((n) => n.split(separator).at(-1) ?? '')
    .filter((t) => t.length > 1);
  const [top] = ranked(lasts);
  if (!top) return undefined;
  const share = lasts.filter((t) => t === top).length;
  return share >= 2 && share * 3 >= names.length && !isEnvironment(top) ? top : undefined;
}

/** Infers the account's naming conventions from its inventory. Pure. */
export function inferConventions(inventory: AccountInventory): Conventions {
  const readings = [...inventory.parameters.filter((p) => p.startsWith('/')), ...inventory.secrets]
    .map((name) => readPath(name.startsWith('/') ? name : `/${name}`))
    .filter((r): r is PathReading => r !== undefined);

  const services = ranked(
    readings.map((r) => r.service).filter((s): s is string => s !== undefined && isServiceWord(s)),
  );
  const serviceSet = new Set(services);
  const parameterLayout = ranked(
    inventory.parameters
      .filter((p) => p.startsWith('/'))
      .map((p) => readPath(p)?.layout)
      .filter((l): l is ParameterLayout => l !== undefined),
  )[0];

  const leaves = inventory.parameters.map((p) => p.split('/').at(-1) ?? '');
  const underscores = leaves.filter((l) => l.includes('_')).length;
  const dashes = leaves.filter((l) => l.includes('-')).length;

  const environmentWords = [
    ...readings.map((r) => r.environment),
    ...inventory.buckets.flatMap((b) => b.split(/[-.]/)),
    ...customerAliases(inventory).flatMap((a) => a.slice('alias/'.length).split(/[-_/]/)),
  ].filter((w): w is string => w !== undefined && isEnvironment(w));
  const environments = ranked(environmentWords.map((w) => w.toLowerCase()));
  const environment = environments.find((e) => PRODUCTION_WORDS.has(e)) ?? environments[0];

  const org = sharedFirstToken(inventory.buckets, '-');
  const known = { account: inventory.account, region: inventory.region, services: serviceSet, org };
  const bucketPattern = ranked(
    inventory.buckets.map((b) => generalize(b, '-', known)).filter((p) => p.includes('{purpose}')),
  )[0];

  const userSeparator =
    inventory.users.filter((u) => u.includes('.')).length > inventory.users.length / 2
      ? '.'
      : inventory.users.filter((u) => u.includes('_')).length > inventory.users.length / 2
        ? '_'
        : '-';
  const userPrefix = sharedFirstToken(inventory.users, userSeparator);
  const userSuffix = sharedLastToken(inventory.users, userSeparator);

  const aliasPattern = ranked(
    customerAliases(inventory)
      .map((a) => `alias/${generalize(a.slice('alias/'.length), '-', { ...known, org: undefined })}`)
      .filter((p) => p.includes('{purpose}') || p.includes('{service}')),
  )[0];

  return {
    environment,
    services,
    parameterLayout,
    leafSeparator: underscores > dashes ? '_' : '-',
    bucketPattern,
    org,
    userPrefix,
    userSuffix,
    userSeparator,
    aliasPattern,
  };
}
