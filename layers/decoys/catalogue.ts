import type { BaitObjectKind, HoneytrailConfig, SecretFormat } from '../config/schema';
import type { RandomSource } from './ports';
import { seededRandom } from './random';

/**
 * The decoy catalogue: from the config (and the account and region, which may be
 * CloudFormation tokens at synth time) to the exact list of things the planter
 * creates. Pure and deterministic, so the CDK app, the detection rules, `plan`
 * and the planter all see the same names.
 */

export const decoyKinds = [
  'ssm-parameter',
  's3-bucket',
  's3-object',
  'iam-user',
  'iam-access-key',
  'kms-key',
] as const;
export type DecoyKind = (typeof decoyKinds)[number];

export interface Decoy {
  kind: DecoyKind;
  /** Parameter name, bucket name, object key, user name, key alias. */
  name: string;
  arn: string;
  /** For ssm-parameter: what the value claims to be. */
  format?: SecretFormat;
  /** For s3-object: which bait file. */
  objectKind?: BaitObjectKind;
  /** For s3-object: the bucket it is in. */
  bucket?: string;
  /** Names of the decoys whose details this one reveals (breadcrumbs). */
  leadsTo?: string[];
}

export interface DecoyPlan {
  decoys: Decoy[];
}

export interface CatalogueTarget {
  account: string;
  region: string;
  partition?: string;
}

const SERVICES = [
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

const PARAMETER_LEAVES: Record<SecretFormat, string[]> = {
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

const FORMAT_ORDER: SecretFormat[] = ['password', 'database-url', 'api-token', 'jwt-signing-key'];

const USER_PATTERNS = [
  '{service}-etl',
  'svc-{service}-reporting',
  '{service}-backup-agent',
  'ci-{service}-deploy',
];
const BUCKET_PATTERNS = [
  '{service}-{env}-db-backups',
  '{service}-{env}-artifacts',
  '{service}-{env}-exports',
];

const OBJECT_KEYS: Record<BaitObjectKind, string> = {
  'env-file': 'config/{service}/.env.{env}',
  'database-dump': 'db/{service}-{env}-full.sql',
  'terraform-state': 'terraform/{env}/{service}/terraform.tfstate',
};

/** Seeded (random.ts), so names are stable across synths. */
function pick<T>(random: RandomSource, items: readonly T[]): T {
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

function fill(template: string, values: Record<string, string>): string {
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
}

/** The names alone, without ARNs: what the config and the seed decide. */
export function decoyNames(config: HoneytrailConfig, account: string, region: string): DecoyNames {
  const random = seededRandom(namingSeed(config, account));
  const service = config.naming.service || pick(random, SERVICES);
  const environment = config.naming.environment;
  const prefix = config.naming.prefix ? `${config.naming.prefix}-` : '';
  const values = { service, env: environment };

  const parameters =
    config.decoys.ssm.parameters.length > 0
      ? config.decoys.ssm.parameters.map((p) => ({ name: p.name, format: p.format }))
      : generateParameters(random, config.decoys.ssm.count, environment, service);

  const bucketPattern = pick(random, BUCKET_PATTERNS);
  const bucketName = config.decoys.s3.bucketName
    ? fill(config.decoys.s3.bucketName, { account, region, ...values })
    : `${prefix}${fill(bucketPattern, values)}-${account}-${region}`;

  const userName = config.decoys.iam.userName || `${prefix}${fill(pick(random, USER_PATTERNS), values)}`;
  const objects = config.decoys.s3.objects.map((kind) => ({ kind, key: fill(OBJECT_KEYS[kind], values) }));
  const keyAlias = `alias/${prefix}${service}-${environment}-secrets`;
  return { service, environment, parameters, bucketName, objects, userName, keyAlias };
}

function generateParameters(
  random: RandomSource,
  count: number,
  environment: string,
  service: string,
): { name: string; format: SecretFormat }[] {
  const used = new Set<string>();
  const parameters: { name: string; format: SecretFormat }[] = [];
  for (let i = 0; parameters.length < count && i < count * 10; i++) {
    const format = FORMAT_ORDER[parameters.length % FORMAT_ORDER.length] as SecretFormat;
    // The first round of formats uses the main service; further ones a neighbouring service.
    const owner = parameters.length < FORMAT_ORDER.length ? service : pick(random, SERVICES);
    const name = `/${environment}/${owner}/${pick(random, PARAMETER_LEAVES[format])}`;
    if (used.has(name)) continue;
    used.add(name);
    parameters.push({ name, format });
  }
  return parameters;
}

/** The full plan: every decoy with its ARN and the breadcrumbs between them. */
export function planDecoys(config: HoneytrailConfig, target: CatalogueTarget): DecoyPlan {
  const { account, region } = target;
  const partition = target.partition ?? 'aws';
  const names = decoyNames(config, account, region);
  const decoys: Decoy[] = [];

  if (config.decoys.ssm.enabled) {
    decoys.push({
      kind: 'kms-key',
      name: names.keyAlias,
      arn: `arn:${partition}:kms:${region}:${account}:${names.keyAlias}`,
    });
    for (const p of names.parameters) {
      decoys.push({
        kind: 'ssm-parameter',
        name: p.name,
        format: p.format,
        arn: `arn:${partition}:ssm:${region}:${account}:parameter${p.name.startsWith('/') ? '' : '/'}${p.name}`,
      });
    }
  }

  const iamNames = config.decoys.iam.enabled ? [names.userName, `${names.userName}/access-key`] : [];
  if (config.decoys.iam.enabled) {
    const userArn = `arn:${partition}:iam::${account}:user/${names.userName}`;
    decoys.push({ kind: 'iam-user', name: names.userName, arn: userArn });
    // The key id exists only once planted; the plan names it by its user.
    decoys.push({ kind: 'iam-access-key', name: `${names.userName}/access-key`, arn: userArn });
  }

  if (config.decoys.s3.enabled) {
    const parameterNames = config.decoys.ssm.enabled ? names.parameters.map((p) => p.name) : [];
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
  return { decoys };
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
