import type { BaitObjectKind, HoneytrailConfig, SecretFormat, SecretsManagerFormat } from '../config/schema';
import type { RandomSource } from './random';
import { seededRandom } from './random';
import { chooseSecretNames, SECRET_FORMAT_ORDER, secretPlanArn } from './secret-names';

/**
 * The decoy catalogue: the config's shape (what to plant, no generated names),
 * the public vocabulary, and from chosen names to the exact list of things the
 * planter creates (planFromNames). Deployed names are chosen at plant time by
 * naming.ts with a secret seed; the vocabulary names here with the config seed
 * are an example (`plan`) and the fallback for an empty account.
 */

/**
 * The tag key the planter's role policy conditions on (ABAC): every parameter and
 * user the planter creates carries it, as real IaC-managed resources do, so the
 * policy names no decoy and does not single them out.
 */
export const OWNERSHIP_TAG_KEY = 'managed-by';

export const decoyKinds = [
  'ssm-parameter',
  's3-bucket',
  's3-object',
  'iam-user',
  'iam-access-key',
  'kms-key',
  'secretsmanager-secret',
] as const;
export type DecoyKind = (typeof decoyKinds)[number];

export interface Decoy {
  kind: DecoyKind;
  /** Parameter name, bucket name, object key, user name, key alias. */
  name: string;
  arn: string;
  /** For ssm-parameter: what the value claims to be. */
  format?: SecretFormat;
  /** For secretsmanager-secret: what the value claims to be. */
  secretFormat?: SecretsManagerFormat;
  /** For s3-object: which bait file. */
  objectKind?: BaitObjectKind;
  /** For s3-object: the bucket it is in. */
  bucket?: string;
  /** Names of the decoys whose details this one reveals (breadcrumbs). */
  leadsTo?: string[];
}

export interface DecoyPlan {
  resources: Decoy[];
}

export interface CatalogueTarget {
  account: string;
  region: string;
  partition?: string;
}

export const SERVICES = [
  'payments',
  'billing',
  'orders',
  'ledger',
  'checkout',
  'invoicing',
  'reporting',
  'fulfilment',
  'accounts',
  'settlement',
  'pricing',
  'customer-data',
];

export const PARAMETER_LEAVES: Record<SecretFormat, string[]> = {
  password: ['db-password', 'rds-master-password', 'postgres-password', 'mysql-root-password'],
  'database-url': ['database-url', 'db-connection-string', 'primary-db-url', 'replica-db-url'],
  'jwt-signing-key': ['jwt-signing-key', 'session-signing-secret', 'token-signing-key'],
  'api-token': [
    'stripe-secret-key',
    'sendgrid-api-key',
    'datadog-api-key',
    'github-deploy-token',
    'slack-bot-token',
  ],
};

export const FORMAT_ORDER: SecretFormat[] = ['password', 'database-url', 'api-token', 'jwt-signing-key'];

export const USER_PATTERNS = [
  '{service}-etl',
  'svc-{service}-reporting',
  '{service}-backup-agent',
  'ci-{service}-deploy',
];
export const BUCKET_PATTERNS = [
  '{service}-{env}-db-backups',
  '{service}-{env}-artifacts',
  '{service}-{env}-exports',
];

export const OBJECT_KEYS: Record<BaitObjectKind, string> = {
  'env-file': 'config/{service}/.env.{env}',
  'database-dump': 'db/{service}-{env}-full.sql',
  'terraform-state': 'terraform/{env}/{service}/terraform.tfstate',
};

/** Seeded (random.ts), so names are stable across synths. */
export function pick<T>(random: RandomSource, items: readonly T[]): T {
  return items[random.int(items.length)] as T;
}

/** A synth-time account is either 12 digits or an unresolved CloudFormation token. */
function isConcreteAccount(value: string): boolean {
  return /^\d{12}$/.test(value);
}

/**
 * The seed that picks default names. A concrete account id is mixed in so two
 * accounts with the default config do not share decoy names (which would let a
 * tool recognise them); with an unresolved account only the configured seed counts.
 */
function namingSeed(config: HoneytrailConfig, account: string): string {
  return !isConcreteAccount(account) ? config.naming.seed : `${config.naming.seed}:${account}`;
}

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? `{${key}}`);
}

export interface DecoyNames {
  service: string;
  environment: string;
  parameters: { name: string; format: SecretFormat }[];
  bucketName: string;
  objects: { key: string; kind: BaitObjectKind }[];
  userName: string;
  keyAlias: string;
  /** Secrets Manager secrets; absent or empty: none. */
  secrets?: { name: string; format: SecretsManagerFormat }[];
}

/**
 * What the config asks to plant, without any generated name: which kinds, how
 * many parameters in which formats, which bait objects, and only the names the
 * user set explicitly. This (and nothing more) is what the template carries; the
 * planter chooses the names at plant time (naming.ts).
 */
export interface DecoyShape {
  /** The environment word to use when the account shows none. */
  environment: string;
  /** Explicit (config naming.prefix / naming.service); empty: chosen at plant time. */
  prefix: string;
  service: string;
  /** One entry per parameter; `name` only when the config lists explicit parameters. Empty: no SSM. */
  parameters: { format: SecretFormat; name?: string }[];
  /** Absent: no bucket. `name` is the configured template ({account}, {region} filled at plant time). */
  bucket?: { name?: string; objects: BaitObjectKind[] };
  /** Absent: no user. */
  user?: { name?: string };
  /** One entry per Secrets Manager secret; `name` only when configured. Absent or empty: none. */
  secrets?: { format: SecretsManagerFormat; name?: string }[];
}

export function shapeOf(config: HoneytrailConfig): DecoyShape {
  const { ssm, s3, iam, secrets } = config.decoys;
  const secretShape = !secrets.enabled
    ? []
    : secrets.secrets.length > 0
      ? secrets.secrets.map((p) => ({ format: p.format, name: p.name }))
      : Array.from({ length: secrets.count }, (_, i) => ({
          format: SECRET_FORMAT_ORDER[i % SECRET_FORMAT_ORDER.length] as SecretsManagerFormat,
        }));
  const parameters = !ssm.enabled
    ? []
    : ssm.parameters.length > 0
      ? ssm.parameters.map((p) => ({ format: p.format, name: p.name }))
      : Array.from({ length: ssm.count }, (_, i) => ({
          format: FORMAT_ORDER[i % FORMAT_ORDER.length] as SecretFormat,
        }));
  return {
    environment: config.naming.environment,
    prefix: config.naming.prefix,
    service: config.naming.service,
    parameters,
    ...(s3.enabled
      ? { bucket: { ...(s3.bucketName ? { name: s3.bucketName } : {}), objects: [...s3.objects] } }
      : {}),
    ...(iam.enabled ? { user: iam.userName ? { name: iam.userName } : {} } : {}),
    ...(secretShape.length > 0 ? { secrets: secretShape } : {}),
  };
}

/**
 * Names from the public vocabulary alone, drawn with `random`. The planter uses
 * it for an empty account, with a secret seed (naming.ts); `plan` shows it as an
 * example with the configured seed.
 */
export function vocabularyNames(
  shape: DecoyShape,
  random: RandomSource,
  account: string,
  region: string,
): DecoyNames {
  const service = shape.service || pick(random, SERVICES);
  const environment = shape.environment;
  const prefix = shape.prefix ? `${shape.prefix}-` : '';
  const values = { service, env: environment };

  const explicit = shape.parameters.length > 0 && shape.parameters.every((p) => p.name);
  const parameters = explicit
    ? shape.parameters.map((p) => ({ name: p.name as string, format: p.format }))
    : generateParameters(
        random,
        shape.parameters.map((p) => p.format),
        environment,
        service,
      );

  const bucketPattern = pick(random, BUCKET_PATTERNS);
  const bucketName = shape.bucket?.name
    ? fill(shape.bucket.name, { account, region, ...values })
    : `${prefix}${fill(bucketPattern, values)}-${account}-${region}`;

  const userName = shape.user?.name || `${prefix}${fill(pick(random, USER_PATTERNS), values)}`;
  const objects = objectsOf(shape, values);
  const keyAlias = `alias/${prefix}${service}-${environment}-secrets`;
  const secrets = chooseSecretNames(
    shape.secrets ?? [],
    { environment, service, neighbours: SERVICES, taken: [], conventions: undefined },
    random,
  );
  return { service, environment, parameters, bucketName, objects, userName, keyAlias, secrets };
}

export function objectsOf(
  shape: DecoyShape,
  values: { service: string; env: string },
): { key: string; kind: BaitObjectKind }[] {
  return (shape.bucket?.objects ?? []).map((kind) => ({ kind, key: fill(OBJECT_KEYS[kind], values) }));
}

/**
 * The example names (vocabulary, config seed and account id): what `plan`
 * prints. Deployed names never come from here: the planter draws a secret seed.
 */
export function decoyNames(config: HoneytrailConfig, account: string, region: string): DecoyNames {
  return vocabularyNames(shapeOf(config), seededRandom(namingSeed(config, account)), account, region);
}

function generateParameters(
  random: RandomSource,
  formats: SecretFormat[],
  environment: string,
  service: string,
): { name: string; format: SecretFormat }[] {
  const used = new Set<string>();
  const parameters: { name: string; format: SecretFormat }[] = [];
  const count = formats.length;
  for (let i = 0; parameters.length < count && i < count * 10; i++) {
    const format = formats[parameters.length] as SecretFormat;
    // The first round of formats uses the main service; further ones a neighbouring service.
    const owner = parameters.length < FORMAT_ORDER.length ? service : pick(random, SERVICES);
    const name = `/${environment}/${owner}/${pick(random, PARAMETER_LEAVES[format])}`;
    if (used.has(name)) continue;
    used.add(name);
    parameters.push({ name, format });
  }
  return parameters;
}

/** Every decoy with its ARN and the breadcrumbs between them, for chosen names. */
export function planFromNames(shape: DecoyShape, names: DecoyNames, target: CatalogueTarget): DecoyPlan {
  const { account, region } = target;
  const partition = target.partition ?? 'aws';
  const decoys: Decoy[] = [];
  const ssmEnabled = shape.parameters.length > 0;
  const secrets = (shape.secrets?.length ?? 0) > 0 ? (names.secrets ?? []) : [];

  // The key encrypts the parameters and the secrets alike.
  if (ssmEnabled || secrets.length > 0) {
    decoys.push({
      kind: 'kms-key',
      name: names.keyAlias,
      arn: `arn:${partition}:kms:${region}:${account}:${names.keyAlias}`,
    });
  }
  if (ssmEnabled) {
    for (const p of names.parameters) {
      decoys.push({
        kind: 'ssm-parameter',
        name: p.name,
        format: p.format,
        arn: `arn:${partition}:ssm:${region}:${account}:parameter${p.name.startsWith('/') ? '' : '/'}${p.name}`,
      });
    }
  }

  const iamNames = shape.user ? [names.userName, `${names.userName}/access-key`] : [];
  if (shape.user) {
    const userArn = `arn:${partition}:iam::${account}:user/${names.userName}`;
    decoys.push({ kind: 'iam-user', name: names.userName, arn: userArn });
    // The key id exists only once planted; the plan names it by its user.
    decoys.push({ kind: 'iam-access-key', name: `${names.userName}/access-key`, arn: userArn });
  }

  if (shape.bucket) {
    const parameterNames = ssmEnabled ? names.parameters.map((p) => p.name) : [];
    decoys.push({
      kind: 's3-bucket',
      name: names.bucketName,
      arn: `arn:${partition}:s3:::${names.bucketName}`,
      leadsTo: names.objects.map((o) => o.key),
    });
    for (const object of names.objects) {
      decoys.push({
        kind: 's3-object',
        name: object.key,
        objectKind: object.kind,
        bucket: names.bucketName,
        arn: `arn:${partition}:s3:::${names.bucketName}/${object.key}`,
        leadsTo: breadcrumbsOf(object.kind, parameterNames, iamNames),
      });
    }
  }
  for (const secret of secrets) {
    decoys.push({
      kind: 'secretsmanager-secret',
      name: secret.name,
      secretFormat: secret.format,
      arn: secretPlanArn(partition, region, account, secret.name),
    });
  }
  return { resources: decoys };
}

/**
 * The example plan: the vocabulary's names for an empty account with the
 * configured seed. Deployed names differ (secret seed, the account's own
 * conventions), so this is for `plan`, tests and offline tools only.
 */
export function planDecoys(config: HoneytrailConfig, target: CatalogueTarget): DecoyPlan {
  return planFromNames(shapeOf(config), decoyNames(config, target.account, target.region), target);
}

/**
 * The decoys whose names the user configured explicitly: the only names that can
 * be known at synth (and then are in the template, the user's choice). With the
 * default config: none.
 */
export function explicitPlan(config: HoneytrailConfig, target: CatalogueTarget): DecoyPlan {
  const shape = shapeOf(config);
  const partition = target.partition ?? 'aws';
  const decoys: Decoy[] = [];
  for (const p of shape.parameters) {
    if (!p.name) continue;
    decoys.push({
      kind: 'ssm-parameter',
      name: p.name,
      format: p.format,
      arn: `arn:${partition}:ssm:${target.region}:${target.account}:parameter${p.name.startsWith('/') ? '' : '/'}${p.name}`,
    });
  }
  if (shape.bucket?.name) {
    const name = fill(shape.bucket.name, { account: target.account, region: target.region });
    if (!/\{\w+\}/.test(name)) decoys.push({ kind: 's3-bucket', name, arn: `arn:${partition}:s3:::${name}` });
  }
  for (const secret of shape.secrets ?? []) {
    if (!secret.name) continue;
    decoys.push({
      kind: 'secretsmanager-secret',
      name: secret.name,
      secretFormat: secret.format,
      arn: secretPlanArn(partition, target.region, target.account, secret.name),
    });
  }
  if (shape.user?.name) {
    const arn = `arn:${partition}:iam::${target.account}:user/${shape.user.name}`;
    decoys.push({ kind: 'iam-user', name: shape.user.name, arn });
    decoys.push({ kind: 'iam-access-key', name: `${shape.user.name}/access-key`, arn });
  }
  return { resources: decoys };
}

function breadcrumbsOf(kind: BaitObjectKind, parameters: string[], iam: string[]): string[] {
  switch (kind) {
    case 'env-file':
      return [...iam.slice(1), ...parameters];
    case 'database-dump':
      return parameters.slice(0, 2);
    case 'terraform-state':
      return [...parameters, ...iam.slice(0, 1)];
  }
}
