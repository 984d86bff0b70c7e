import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SecretFormat } from '../config/schema';
import { type Decoy, OWNERSHIP_TAG_KEY } from './catalogue';
import { DUMP_ARCHIVE_DAYS, databaseDump, dumpArchivePrefix, nightlyDumpKey } from './dump';
import type { AccessKey, LifecycleRule, Tag } from './ports';
import type { RandomSource } from './random';
import {
  ALNUM,
  BASE64URL,
  DIGITS,
  derivedString,
  HEX,
  LOWER,
  randomBytes,
  randomString,
  seededRandom,
  seededStream,
  UPPER,
  withoutTells,
} from './random';
import { type PlantSpec, specParts } from './spec';

/**
 * What the decoys hold: values in the format their names promise and bait files
 * that lead to the other decoys, all worthless. Pure: randomness and time come in
 * as arguments. Every value that anyone can read must look like the account's own
 * (no marker word, no UUID-shaped string), so random strings are redrawn when
 * they happen to spell one.
 */

export interface ContentTarget {
  region: string;
  account: string;
  partition: string;
}

export interface DatabaseSecret {
  engine: 'postgres' | 'mysql';
  host: string;
  readerHost: string;
  port: number;
  name: string;
  user: string;
  password: string;
}

/** One run's values: written to the parameters and rendered into the bait in the same run. */
export interface SecretSet {
  /** Parameter name to value. */
  values: Map<string, string>;
  database: DatabaseSecret;
}

export interface BaitObject {
  key: string;
  body: string;
  contentType: string;
  /**
   * The dump only: the dated key the nightly job also keeps it under
   * (dump.ts nightlyDumpKey), written first; the lifecycle rule expires these.
   */
  archiveKey?: string;
}

/** What a well-formed value of each format looks like (tests and a sanity check before writing). */
export const FORMAT_PATTERNS: Record<SecretFormat, RegExp> = {
  password: /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)[A-Za-z\d!#%*+=_-]{24}$/,
  'database-url':
    /^(postgresql|mysql):\/\/\w+:[A-Za-z\d]{24}@[a-z\d.-]+\.rds\.amazonaws\.com:\d+\/\w+(\?.*)?$/,
  'jwt-signing-key': /^[A-Za-z\d+/]{64}$/,
  'api-token':
    /^(sk_live_51[A-Za-z\d]{96}|SG\.[\w-]{22}\.[\w-]{43}|[a-f\d]{32}|ghp_[A-Za-z\d]{36}|xoxb-\d{12}-\d{13}-[A-Za-z\d]{24}|[A-Za-z\d]{40})$/,
};

const PASSWORD_SYMBOLS = '!#%*+=_-';

function password(random: RandomSource, alphabet = ALNUM + PASSWORD_SYMBOLS): string {
  return withoutTells(() => {
    for (;;) {
      const value = randomString(random, 24, alphabet);
      if (FORMAT_PATTERNS.password.test(value)) return value;
    }
  }, 'password');
}

/** Passwords inside URLs: alphanumeric, so the URL needs no escaping. */
function urlPassword(random: RandomSource): string {
  return password(random, ALNUM);
}

type Vendor = 'stripe' | 'sendgrid' | 'datadog' | 'github' | 'slack';
const VENDOR_LABEL: Record<Vendor, string> = {
  stripe: 'Stripe',
  sendgrid: 'SendGrid',
  datadog: 'Datadog',
  github: 'GitHub',
  slack: 'Slack',
};

function vendorOf(name: string): Vendor | undefined {
  const leaf = leafOf(name);
  return (Object.keys(VENDOR_LABEL) as Vendor[]).find((vendor) => leaf.includes(vendor));
}

const BASE62 = `${DIGITS}${UPPER}${LOWER}`;

export function base62(value: number, width: number): string {
  let out = '';
  let rest = value >>> 0;
  while (rest > 0) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(width, '0');
}

/** A token shaped like the named vendor's (prefix, length, alphabet; GitHub's with its checksum). */
function apiToken(random: RandomSource, name: string): string {
  return withoutTells(() => {
    switch (vendorOf(name)) {
      case 'stripe':
        return `sk_live_51${randomString(random, 96, ALNUM)}`;
      case 'sendgrid':
        return `SG.${randomString(random, 22, BASE64URL)}.${randomString(random, 43, BASE64URL)}`;
      case 'datadog':
        return randomString(random, 32, HEX);
      case 'github': {
        // Classic tokens end in a base62 CRC32 of their random part; scanners check it.
        const body = randomString(random, 30, ALNUM);
        return `ghp_${body}${base62(crc32(body), 6)}`;
      }
      case 'slack':
        return `xoxb-${randomString(random, 12, DIGITS)}-${randomString(random, 13, DIGITS)}-${randomString(random, 24, ALNUM)}`;
      default:
        return randomString(random, 40, ALNUM);
    }
  }, 'token');
}

function signingKey(random: RandomSource): string {
  // `openssl rand -base64 48`
  return withoutTells(() => randomBytes(random, 48).toString('base64'), 'signing key');
}

function leafOf(name: string): string {
  return name.split('/').filter(Boolean).pop() ?? name;
}

function ownerOf(name: string, fallback: string): string {
  const parts = name.split('/').filter(Boolean);
  return parts.length >= 3 ? (parts[parts.length - 2] as string) : fallback;
}

function snake(value: string): string {
  return value.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

function databaseUrl(db: DatabaseSecret, host: string): string {
  const scheme = db.engine === 'postgres' ? 'postgresql' : 'mysql';
  const query = db.engine === 'postgres' ? '?sslmode=require' : '?ssl-mode=REQUIRED';
  return `${scheme}://${db.user}:${db.password}@${host}:${db.port}/${db.name}${query}`;
}

/**
 * The database the decoys describe. Its host looks like an Aurora cluster endpoint
 * and resolves nowhere; the cluster suffix is derived from account and region, so
 * it stays the same across rotations (as a real one would).
 */
function database(spec: PlantSpec, random: RandomSource, target: ContentTarget): DatabaseSecret {
  const leaves = specParts(spec).parameters.map((p) => leafOf(p.name));
  const engine = leaves.some((leaf) => leaf.includes('mysql')) ? 'mysql' : 'postgres';
  const suffix = derivedString(`${target.account}:${target.region}:rds`, 12);
  const cluster = `${spec.service}-${spec.environment}`;
  const name = snake(spec.service);
  return {
    engine,
    host: `${cluster}.cluster-${suffix}.${target.region}.rds.amazonaws.com`,
    readerHost: `${cluster}.cluster-ro-${suffix}.${target.region}.rds.amazonaws.com`,
    port: engine === 'postgres' ? 5432 : 3306,
    name,
    user: `${name}_app`,
    password: urlPassword(random),
  };
}

/**
 * Fresh values for every planned parameter. The main service's password and
 * database URL describe the same database, so the breadcrumbs agree.
 */
export function generateSecrets(spec: PlantSpec, random: RandomSource, target: ContentTarget): SecretSet {
  const db = database(spec, random, target);
  const values = new Map<string, string>();
  let passwordUsed = false;
  for (const parameter of specParts(spec).parameters) {
    const mainService = ownerOf(parameter.name, spec.service) === spec.service;
    switch (parameter.format) {
      case 'password':
        values.set(parameter.name, mainService && !passwordUsed ? db.password : password(random));
        if (mainService) passwordUsed = true;
        break;
      case 'database-url': {
        const host = leafOf(parameter.name).includes('replica') ? db.readerHost : db.host;
        values.set(
          parameter.name,
          mainService ? databaseUrl(db, host) : databaseUrl({ ...db, password: urlPassword(random) }, host),
        );
        break;
      }
      case 'jwt-signing-key':
        values.set(parameter.name, signingKey(random));
        break;
      default:
        values.set(parameter.name, apiToken(random, parameter.name));
    }
  }
  return { values, database: db };
}

/**
 * Tag keys the account's own resources carry, most common first (from an
 * inventory of tag keys, when the planter reads one), so the decoys' tags are
 * spelled the way the team spells them.
 */
export interface TagConventions {
  keys: readonly string[];
}

/**
 * Who writes the decoys, as the ownership tag says it: the function that creates
 * them and rewrites their values (its service name, which its own configuration
 * shows). A tag naming another tool would contradict `LastModifiedUser` and
 * CloudTrail, which show that function's role.
 */
export const DECOY_WRITER = 'secret-rotation';

/** The tags' roles and the spellings teams use for each; the first is ours when the account shows none. */
const TAG_SPELLINGS = {
  service: ['service', 'Service', 'app', 'App', 'application', 'Application'],
  environment: ['environment', 'Environment', 'env', 'Env', 'stage', 'Stage'],
  classification: ['data-classification', 'DataClassification', 'classification', 'Classification'],
} as const;

function tagKey(role: keyof typeof TAG_SPELLINGS, conventions: TagConventions | undefined): string {
  const spellings: readonly string[] = TAG_SPELLINGS[role];
  return conventions?.keys.find((key) => spellings.includes(key)) ?? (spellings[0] as string);
}

/**
 * Tags a team's own resources would carry, and that match who writes them: the
 * service and environment (spelled after the account's conventions when known),
 * and the ownership key the planter's role conditions on (OWNERSHIP_TAG_KEY,
 * spelled exactly: the role's ABAC needs it) naming the function that writes.
 */
export function resourceTags(spec: PlantSpec, conventions?: TagConventions): Tag[] {
  return [
    { key: tagKey('service', conventions), value: spec.service },
    { key: tagKey('environment', conventions), value: spec.environment },
    { key: OWNERSHIP_TAG_KEY, value: DECOY_WRITER },
  ];
}

export function bucketTags(spec: PlantSpec, conventions?: TagConventions): Tag[] {
  return [
    ...resourceTags(spec, conventions),
    { key: tagKey('classification', conventions), value: 'confidential' },
  ];
}

/** The description a team writes on such a secret: plain, no purpose words. */
export function secretDescription(secret: Decoy, service: string): string {
  return secret.secretFormat === 'database-credentials'
    ? `Database credentials for ${service}`
    : `API key used by ${service}`;
}

export function parameterDescription(parameter: Decoy, spec: PlantSpec): string {
  const service = ownerOf(parameter.name, spec.service);
  const leaf = leafOf(parameter.name);
  switch (parameter.format) {
    case 'password':
      return `Master password for the ${service} ${spec.environment} database`;
    case 'database-url':
      return leaf.includes('replica')
        ? `Read replica connection string for ${service} (${spec.environment})`
        : `Connection string for the ${service} ${spec.environment} database`;
    case 'jwt-signing-key':
      return `Signing key for ${service} session tokens (${spec.environment})`;
    default: {
      const vendor = vendorOf(parameter.name);
      return vendor ? `${VENDOR_LABEL[vendor]} API key for ${service}` : `API token for ${service}`;
    }
  }
}

/**
 * What the decoy user's policy names: the planted resources a service user of
 * its kind would use, and nothing else. Names are chosen at plant time, so the
 * planter passes them (userPolicyInputOf builds this from the spec).
 */
export interface UserPolicyInput {
  partition: string;
  /** The service the user works for: it names the policy. */
  service: string;
  /** The planted bucket, when there is one: the user lists it and reads its objects. */
  bucketName?: string;
  /** The planted parameters' ARNs: the user reads exactly these. */
  parameterArns: readonly string[];
  /**
   * The parameters' KMS key: its ARN, or (what the scheduled refresh knows) its
   * alias with the key's region and account, matched with kms:ResourceAliases.
   */
  key?: { arn: string } | { alias: string; region: string; account: string };
}

/**
 * The name of the user's inline policy, as a team would name it: after the
 * service and what the bucket holds (payments-backup-read, orders-exports-read).
 */
export function userPolicyName(input: Pick<UserPolicyInput, 'service' | 'bucketName'>): string {
  const bucket = input.bucketName ?? '';
  const use = /backup/.test(bucket)
    ? 'backup'
    : /export/.test(bucket)
      ? 'exports'
      : /artifact/.test(bucket)
        ? 'artifacts'
        : 'app';
  return `${input.service}-${use}-read`;
}

/**
 * The force-MFA policy earlier versions attached (a user that can never do
 * anything reads as "disabled or trap"). The planter deletes it where it finds
 * it: an explicit Deny on everything would void the read access below.
 */
export const LEGACY_USER_POLICY_NAME = 'require-mfa';

/**
 * @deprecated The legacy name; the policy's name is userPolicyName(input). Kept so
 * callers not yet passing the input compile.
 */
export const USER_POLICY_NAME = LEGACY_USER_POLICY_NAME;

/** The policy input for a spec: its bucket, its parameters and its key alias, in the target's region. */
export function userPolicyInputOf(spec: PlantSpec, target: ContentTarget): UserPolicyInput {
  const parts = specParts(spec);
  return {
    partition: target.partition,
    service: spec.service,
    ...(parts.bucket ? { bucketName: parts.bucket.name } : {}),
    parameterArns: parts.parameters.map((p) => p.arn),
    ...(parts.keyAlias && parts.parameters.length > 0
      ? { key: { alias: parts.keyAlias, region: target.region, account: target.account } }
      : {}),
  };
}

/**
 * The decoy user's policy, shaped as a real service user's: read its service's
 * backups (list the bucket, get its objects) and its own parameters (GetParameter
 * and GetParameters on exactly the planted ARNs, Decrypt on their key only through
 * SSM). Everything it can reach is planted and worthless. What it leaves out on
 * purpose:
 * - ssm:GetParametersByPath: AWS authorizes it on the path, not on the parameters
 *   it returns, and a path shaped after the account's own may hold real ones;
 * - any write: a stolen key must not store data in the account or change the bait.
 * Detection does not depend on the policy: any call signed by the key, allowed or
 * denied, is a critical `key-use` touch (layers/detection/classify.ts, severity.ts).
 *
 * Without an input (callers not yet passing one) it returns the legacy force-MFA
 * document, deprecated.
 */
export function userPolicyDocument(input?: UserPolicyInput): string {
  if (!input) return legacyUserPolicyDocument();
  const statements: Record<string, unknown>[] = [];
  if (input.bucketName) {
    const bucket = `arn:${input.partition}:s3:::${input.bucketName}`;
    statements.push(
      {
        Sid: 'ListBackups',
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: bucket,
      },
      { Sid: 'ReadBackups', Effect: 'Allow', Action: 's3:GetObject', Resource: `${bucket}/*` },
    );
  }
  if (input.parameterArns.length > 0) {
    statements.push({
      Sid: 'ReadParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      Resource: [...input.parameterArns].sort(),
    });
    const key = input.key;
    if (key) {
      const region = 'arn' in key ? key.arn.split(':')[3] : key.region;
      const viaSsm = { 'kms:ViaService': `ssm.${region}.amazonaws.com` };
      statements.push(
        'arn' in key
          ? {
              Sid: 'DecryptParameters',
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: key.arn,
              Condition: { StringEquals: viaSsm },
            }
          : {
              Sid: 'DecryptParameters',
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: `arn:${input.partition}:kms:${key.region}:${key.account}:key/*`,
              Condition: {
                StringEquals: viaSsm,
                'ForAnyValue:StringEquals': { 'kms:ResourceAliases': key.alias },
              },
            },
      );
    }
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** AWS's documented "force MFA" policy, which earlier versions attached. */
function legacyUserPolicyDocument(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyAllExceptListedIfNoMFA',
        Effect: 'Deny',
        NotAction: [
          'iam:CreateVirtualMFADevice',
          'iam:EnableMFADevice',
          'iam:GetUser',
          'iam:ListMFADevices',
          'iam:ListVirtualMFADevices',
          'iam:ResyncMFADevice',
          'sts:GetSessionToken',
        ],
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
    ],
  });
}

/**
 * Replaced versions of the files go after a day, as in most backup buckets, so
 * ListObjectVersions does not show a daily rewrite of every file (a tell); the
 * delete markers the dated dumps' expiry leaves go with their last version, and
 * incomplete uploads are cleaned up.
 */
export const NONCURRENT_VERSIONS_RULE: LifecycleRule = {
  ID: 'noncurrent-versions',
  Status: 'Enabled',
  Filter: { Prefix: '' },
  Expiration: { ExpiredObjectDeleteMarker: true },
  NoncurrentVersionExpiration: { NoncurrentDays: 1 },
  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
};

/**
 * The bucket's lifecycle: the rule above and, when the spec has a dump, the dated
 * dumps' retention (DUMP_ARCHIVE_DAYS), so the backup prefix lists about a month
 * of nights, as a nightly job's bucket with a retention rule does.
 */
export function bucketLifecycleRules(spec: PlantSpec): LifecycleRule[] {
  const dumps = specParts(spec).objects.some((o) => o.objectKind === 'database-dump');
  if (!dumps) return [NONCURRENT_VERSIONS_RULE];
  return [
    NONCURRENT_VERSIONS_RULE,
    {
      ID: `${spec.service}-db-retention`,
      Status: 'Enabled',
      Filter: { Prefix: dumpArchivePrefix(spec.service, spec.environment) },
      Expiration: { Days: DUMP_ARCHIVE_DAYS },
    },
  ];
}

/** The TLS-only policy most production buckets carry. */
export function bucketPolicyDocument(bucket: string, partition: string): string {
  const arn = `arn:${partition}:s3:::${bucket}`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
}

export interface RenderInput {
  spec: PlantSpec;
  secrets: SecretSet;
  /** The decoy access key, when a user is planted. */
  key: AccessKey | undefined;
  target: ContentTarget;
  now: Date;
  /** IAM's unique id of the user (AIDA...), when known, for the state file. */
  userId?: string;
  /** The first plant (the registry's `createdAt`; default `now`): the dump's history is sized for it. */
  createdAt?: Date;
  /**
   * The registry's secret seed. It seeds what must stay the same from night to
   * night (the dump's data, the state's lineage and serial base), so no one can
   * recompute them from public code and the account id. Without it the first
   * plant's time (also only in the registry, but guessable to the second) stands in.
   */
  secretSeed?: string;
  /** Each parameter's version after this run's write (PutParameter's `Version`); missing: 1. */
  parameterVersions?: ReadonlyMap<string, number>;
  /** When the access key was created (default `now`). */
  keyCreatedAt?: Date;
  /**
   * The Secrets Manager secrets' full ARNs (with the suffix Secrets Manager adds),
   * by name, once created: the state file lists a secret only with its real ARN.
   */
  secretArns?: ReadonlyMap<string, string>;
}

/** Every bait object of the spec, rendered. */
export function renderObjects(input: RenderInput): BaitObject[] {
  return specParts(input.spec).objects.map((object) => {
    switch (object.objectKind) {
      case 'env-file':
        return { key: object.name, body: envFile(input), contentType: 'text/plain' };
      case 'database-dump':
        return {
          key: object.name,
          body: sqlDump(input),
          contentType: 'application/sql',
          archiveKey: nightlyDumpKey(
            input.spec.service,
            input.spec.environment,
            input.secrets.database.name,
            input.now,
          ),
        };
      default:
        return { key: object.name, body: terraformState(input), contentType: 'application/json' };
    }
  });
}

/** What stays fixed for the life of a plant, and is not public: the registry's seed (or first plant time). */
function plantSeed({ spec, target, createdAt, now, secretSeed }: RenderInput): string {
  const secret = secretSeed ?? (createdAt ?? now).toISOString();
  return `${secret}:${target.account}:${target.region}:${spec.service}:${spec.environment}`;
}

/** Environment variable holding a parameter's name: DB_PASSWORD_PARAMETER, BILLING_DB_PASSWORD_PARAMETER. */
function envName(parameter: Decoy, spec: PlantSpec): string {
  const owner = ownerOf(parameter.name, spec.service);
  const base = snake(leafOf(parameter.name)).toUpperCase();
  return `${owner === spec.service ? '' : `${snake(owner).toUpperCase()}_`}${base}_PARAMETER`;
}

/** The main service's connection strings, as its parameters hold them (writer and reader). */
function connectionStrings({ spec, secrets }: RenderInput): { writer: string; reader?: string } {
  const db = secrets.database;
  const own = specParts(spec).parameters.filter(
    (p) => p.format === 'database-url' && ownerOf(p.name, spec.service) === spec.service,
  );
  const writer = own.find((p) => !leafOf(p.name).includes('replica'));
  const reader = own.find((p) => leafOf(p.name).includes('replica'));
  return {
    writer: (writer && secrets.values.get(writer.name)) ?? databaseUrl(db, db.host),
    reader: reader && secrets.values.get(reader.name),
  };
}

/**
 * The service's .env, as a twelve-factor app keeps one: one environment, one
 * region, the database it connects to (the same host, user and password as the
 * parameters), the key it runs with, and the names of the parameters it reads at
 * boot with that key.
 */
function envFile(input: RenderInput): string {
  const { spec, secrets, key, target } = input;
  const parts = specParts(spec);
  const db = secrets.database;
  const urls = connectionStrings(input);
  const lines = [
    `APP_NAME=${spec.service}`,
    `APP_ENV=${spec.environment}`,
    'NODE_ENV=production',
    'PORT=8080',
    'LOG_LEVEL=info',
    '',
    `AWS_REGION=${target.region}`,
  ];
  if (key) lines.push(`AWS_ACCESS_KEY_ID=${key.accessKeyId}`, `AWS_SECRET_ACCESS_KEY=${key.secretAccessKey}`);
  lines.push('', `DATABASE_URL=${urls.writer}`);
  if (urls.reader) lines.push(`DATABASE_READ_URL=${urls.reader}`);
  lines.push('DATABASE_POOL_MAX=10', `DATABASE_SSL=${db.engine === 'postgres' ? 'require' : 'true'}`);
  // The secrets the app reads at boot (GetSecretValue by name), as the parameters below.
  if (parts.secrets.length > 0) {
    lines.push('');
    for (const secret of parts.secrets) lines.push(`${secretEnvName(secret, parts.secrets)}=${secret.name}`);
  }
  if (parts.parameters.length > 0) {
    lines.push('', `SSM_PREFIX=/${spec.environment}/${spec.service}/`);
    const seen = new Set<string>();
    for (const parameter of parts.parameters) {
      const name = envName(parameter, spec);
      if (seen.has(name)) continue;
      seen.add(name);
      lines.push(`${name}=${parameter.name}`);
    }
  }
  if (parts.bucket) lines.push('', `BACKUP_BUCKET=${parts.bucket.name}`);
  lines.push('');
  return lines.join('\n');
}

/**
 * Environment variable holding a secret's name: DATABASE_SECRET_ID for the first
 * database credentials, STRIPE_API_KEY_SECRET_ID (the name's last part) otherwise.
 */
function secretEnvName(secret: Decoy, all: readonly Decoy[]): string {
  const firstDatabase = all.find((s) => s.secretFormat === 'database-credentials');
  if (secret === firstDatabase) return 'DATABASE_SECRET_ID';
  return `${snake(leafOf(secret.name)).toUpperCase()}_SECRET_ID`;
}

/** The nightly dump (dump.ts) of the database the parameters describe. */
function sqlDump(input: RenderInput): string {
  const db = input.secrets.database;
  return databaseDump({
    engine: db.engine,
    host: db.host,
    database: db.name,
    owner: db.user,
    seed: plantSeed(input),
    createdAt: input.createdAt ?? input.now,
    now: input.now,
  });
}

const PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';

/** Terraform releases a team might pin, with their release dates (state files record the writer's). */
const TERRAFORM_RELEASES: [string, string][] = [
  ['1.5.7', '2023-09-07'],
  ['1.6.6', '2023-12-13'],
  ['1.7.5', '2024-03-13'],
  ['1.8.5', '2024-06-05'],
  ['1.9.8', '2024-10-16'],
];

/** A version 4 UUID, as terraform draws a state's lineage. */
function uuidV4(random: RandomSource): string {
  const bytes = randomBytes(random, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The SES SMTP password terraform's aws_iam_access_key derives from the secret
 * (AWS's documented algorithm, in the provider's region), so the state agrees
 * with the key it lists.
 */
export function sesSmtpPasswordV4(secretAccessKey: string, region: string): string {
  let signature = Buffer.from(`AWS4${secretAccessKey}`, 'utf8');
  for (const part of ['11111111', region, 'ses', 'aws4_request', 'SendRawEmail'])
    signature = createHmac('sha256', signature).update(part, 'utf8').digest();
  return Buffer.concat([Buffer.from([0x04]), signature]).toString('base64');
}

/** Go's string order (bytes), which terraform's sorts and JSON maps use. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => byCodePoint(a, b)));
}

function sortedTags(tags: Tag[]): Record<string, string> {
  return sortedKeys(Object.fromEntries(tags.map((t) => [t.key, t.value])));
}

interface StateResource {
  mode: 'managed';
  type: string;
  name: string;
  provider: string;
  instances: {
    schema_version: number;
    attributes: Record<string, unknown>;
    sensitive_attributes: unknown[];
    private: string;
    dependencies?: string[];
  }[];
}

/**
 * A terraform state file (format version 4) as terraform 1.5-1.9 writes it with
 * the AWS provider 5.x: the parameters (values in plain text, as in any state),
 * the user, its policy and its access key. The bucket that holds the file is not
 * in it (a state does not live in a bucket it manages). The lineage is a random
 * UUID fixed for the plant; the serial grows by one per apply, and every apply
 * that rotates the values writes a new version of each parameter, so serial and
 * versions move together.
 */
function terraformState(input: RenderInput): string {
  const { spec, secrets, target, now, userId, key } = input;
  const parts = specParts(spec);
  const seed = plantSeed(input);
  const tags = sortedTags(resourceTags(spec));
  const resources: StateResource[] = [];
  const usedNames = new Set<string>();
  const tfName = (base: string) => {
    const clean = snake(base).toLowerCase();
    let name = clean;
    for (let i = 2; usedNames.has(name); i++) name = `${clean}_${i}`;
    usedNames.add(name);
    return name;
  };
  const instance = (
    attributes: Record<string, unknown>,
    sensitive: string[] = [],
    dependencies?: string[],
  ) => ({
    schema_version: 0,
    attributes,
    sensitive_attributes: sensitive.map((name) => [{ type: 'get_attr', value: name }]),
    private: 'bnVsbA==',
    ...(dependencies ? { dependencies } : {}),
  });
  let maxVersion = 1;
  const parameterArns: Record<string, string> = {};
  for (const parameter of parts.parameters) {
    const owner = ownerOf(parameter.name, spec.service);
    const version = input.parameterVersions?.get(parameter.name) ?? 1;
    maxVersion = Math.max(maxVersion, version);
    const name = tfName(
      owner === spec.service ? leafOf(parameter.name) : `${owner}_${leafOf(parameter.name)}`,
    );
    parameterArns[name] = parameter.arn;
    resources.push({
      mode: 'managed',
      type: 'aws_ssm_parameter',
      name,
      provider: PROVIDER,
      instances: [
        instance(
          {
            allowed_pattern: '',
            arn: parameter.arn,
            data_type: 'text',
            description: parameterDescription(parameter, spec),
            id: parameter.name,
            insecure_value: null,
            key_id: parts.keyAlias ?? 'alias/aws/ssm',
            name: parameter.name,
            overwrite: null,
            tags,
            tags_all: tags,
            tier: 'Standard',
            type: 'SecureString',
            value: secrets.values.get(parameter.name) ?? '',
            version,
          },
          ['value'],
        ),
      ],
    });
  }
  const outputs: Record<string, { value: unknown; type: unknown; sensitive?: boolean }> = {};
  if (parts.user) {
    const userName = parts.user.name;
    const userResource = tfName(userName);
    const userAddress = `aws_iam_user.${userResource}`;
    resources.push({
      mode: 'managed',
      type: 'aws_iam_user',
      name: userResource,
      provider: PROVIDER,
      instances: [
        instance({
          arn: parts.user.arn,
          force_destroy: false,
          id: userName,
          name: userName,
          path: '/',
          permissions_boundary: null,
          tags,
          tags_all: tags,
          unique_id: userId ?? null,
        }),
      ],
    });
    // The same document the planter attaches (userPolicyInputOf), so the state agrees with IAM.
    const policyInput = userPolicyInputOf(spec, target);
    const policyName = userPolicyName(policyInput);
    resources.push({
      mode: 'managed',
      type: 'aws_iam_user_policy',
      name: tfName(policyName),
      provider: PROVIDER,
      instances: [
        instance(
          {
            id: `${userName}:${policyName}`,
            name: policyName,
            name_prefix: '',
            policy: userPolicyDocument(policyInput),
            user: userName,
          },
          [],
          [userAddress],
        ),
      ],
    });
    if (key) {
      const created = (input.keyCreatedAt ?? now).toISOString().replace(/\.\d{3}Z$/, 'Z');
      resources.push({
        mode: 'managed',
        type: 'aws_iam_access_key',
        name: userResource,
        provider: PROVIDER,
        instances: [
          instance(
            {
              create_date: created,
              encrypted_secret: null,
              encrypted_ses_smtp_password_v4: null,
              id: key.accessKeyId,
              key_fingerprint: null,
              pgp_key: null,
              secret: key.secretAccessKey,
              ses_smtp_password_v4: sesSmtpPasswordV4(key.secretAccessKey, target.region),
              status: 'Active',
              user: userName,
            },
            ['secret', 'ses_smtp_password_v4'],
            [userAddress],
          ),
        ],
      });
      outputs.access_key_id = { value: key.accessKeyId, type: 'string' };
      outputs.secret_access_key = { value: key.secretAccessKey, type: 'string', sensitive: true };
    }
    outputs.user_arn = { value: parts.user.arn, type: 'string' };
  }
  // The secrets terraform manages (created with a value; rotation writes later
  // versions outside terraform, so no aws_secretsmanager_secret_version: its
  // version id would also be a UUID the state has no other reason to carry).
  for (const secret of parts.secrets) {
    const arn = input.secretArns?.get(secret.name);
    if (!arn) continue;
    resources.push({
      mode: 'managed',
      type: 'aws_secretsmanager_secret',
      name: tfName(leafOf(secret.name)),
      provider: PROVIDER,
      instances: [
        instance({
          arn,
          description: secretDescription(secret, spec.service),
          force_overwrite_replica_secret: false,
          id: arn,
          kms_key_id: parts.keyAlias ?? null,
          name: secret.name,
          name_prefix: '',
          policy: '',
          recovery_window_in_days: 30,
          replica: [],
          tags,
          tags_all: tags,
        }),
      ],
    });
  }
  if (Object.keys(parameterArns).length > 0)
    outputs.parameter_arns = { value: sortedKeys(parameterArns), type: ['map', 'string'] };

  // Terraform sorts resources by mode, type and name; Go writes map keys sorted.
  resources.sort((a, b) => (a.type === b.type ? byCodePoint(a.name, b.name) : byCodePoint(a.type, b.type)));

  // Pinned when the team set this up: a release a month old at the first plant.
  const stream = seededStream(`${seed}:terraform`);
  const pinnedBy = (input.createdAt ?? now).getTime() - 30 * 86_400_000;
  const released = TERRAFORM_RELEASES.filter(([, date]) => Date.parse(date) <= pinnedBy);
  const pinned = released.length > 0 ? released[stream.int(released.length)] : TERRAFORM_RELEASES[0];
  // The applies before the parameters existed (the user, its policy...), then one per rotation.
  const baseSerial = 6 + stream.int(40);
  const state = {
    version: 4,
    terraform_version: (pinned as [string, string])[0],
    serial: baseSerial + maxVersion,
    lineage: uuidV4(seededRandom(`${seed}:lineage`)),
    outputs: sortedKeys(outputs),
    resources,
    check_results: null,
  };
  return `${JSON.stringify(state, null, 2)}\n`;
}
