import { crc32 } from 'node:zlib';
import type { SecretFormat } from '../config/schema';
import type { Decoy } from './catalogue';
import type { AccessKey, RandomSource, Tag } from './ports';
import {
  ALNUM,
  BASE64URL,
  DIGITS,
  derivedString,
  HEX,
  LOWER,
  randomBytes,
  randomString,
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

function base62(value: number, width: number): string {
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

/** Tags a team's own resources would carry; "terraform" agrees with the state file in the bucket. */
export function resourceTags(spec: PlantSpec): Tag[] {
  return [
    { key: 'service', value: spec.service },
    { key: 'environment', value: spec.environment },
    { key: 'managed-by', value: 'terraform' },
  ];
}

export function bucketTags(spec: PlantSpec): Tag[] {
  return [...resourceTags(spec), { key: 'data-classification', value: 'confidential' }];
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
 * The decoy user's only policy, shaped as AWS's documented "force MFA" policy:
 * without MFA (always, for an access key) every action is explicitly denied except
 * MFA self-service, and nothing grants those. A reader sees common hygiene, and the
 * key's holder gets the same "explicit deny in an identity-based policy" error as
 * any MFA-enforced user. The user has no MFA device and no way to add one.
 */
export const USER_POLICY_NAME = 'require-mfa';
export function userPolicyDocument(): string {
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
 * The bucket's only lifecycle rule: replaced versions of the files go after a
 * day, as in most backup buckets, so ListObjectVersions does not show a daily
 * rewrite of every file (a tell), and incomplete uploads are cleaned up.
 */
export const NONCURRENT_VERSIONS_RULE = {
  ID: 'noncurrent-versions',
  Status: 'Enabled' as const,
  Filter: { Prefix: '' },
  NoncurrentVersionExpiration: { NoncurrentDays: 1 },
  AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
};

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
}

/** Every bait object of the spec, rendered. */
export function renderObjects(input: RenderInput): BaitObject[] {
  return specParts(input.spec).objects.map((object) => {
    switch (object.objectKind) {
      case 'env-file':
        return { key: object.name, body: envFile(input), contentType: 'text/plain' };
      case 'database-dump':
        return { key: object.name, body: sqlDump(input), contentType: 'application/sql' };
      default:
        return { key: object.name, body: terraformState(input), contentType: 'application/json' };
    }
  });
}

function envName(parameter: Decoy, spec: PlantSpec): string {
  const owner = ownerOf(parameter.name, spec.service);
  const base = snake(leafOf(parameter.name)).toUpperCase();
  return `${owner === spec.service ? '' : `${snake(owner).toUpperCase()}_`}${base}_PARAMETER`;
}

function envFile({ spec, secrets, key, target }: RenderInput): string {
  const parts = specParts(spec);
  const db = secrets.database;
  const lines = [
    `# ${spec.service} (${spec.environment}) runtime configuration`,
    '# Rendered by the deploy pipeline from Parameter Store. Do not commit.',
    '',
    'NODE_ENV=production',
    `APP_ENV=${spec.environment}`,
    `AWS_REGION=${target.region}`,
    `AWS_DEFAULT_REGION=${target.region}`,
  ];
  if (key) lines.push(`AWS_ACCESS_KEY_ID=${key.accessKeyId}`, `AWS_SECRET_ACCESS_KEY=${key.secretAccessKey}`);
  const url = parts.parameters.find(
    (p) => p.format === 'database-url' && ownerOf(p.name, spec.service) === spec.service,
  );
  lines.push(
    '',
    `DATABASE_URL=${url ? secrets.values.get(url.name) : databaseUrl(db, db.host)}`,
    `DB_HOST=${db.host}`,
    `DB_PORT=${db.port}`,
    `DB_NAME=${db.name}`,
    `DB_USER=${db.user}`,
  );
  if (parts.parameters.length > 0) {
    lines.push('', `# SecureString parameters (${parts.keyAlias ?? 'aws/ssm'}), read at boot`);
    const seen = new Set<string>();
    for (const parameter of parts.parameters) {
      const name = envName(parameter, spec);
      if (seen.has(name)) continue;
      seen.add(name);
      lines.push(`${name}=${parameter.name}`);
    }
  }
  if (parts.bucket) lines.push('', `EXPORT_BUCKET=${parts.bucket.name}`);
  lines.push(`LOG_LEVEL=info`, '');
  return lines.join('\n');
}

const FIRST_NAMES = [
  'Maria',
  'James',
  'Aisha',
  'Tomasz',
  'Elena',
  'Kenji',
  'Priya',
  'Lucas',
  'Ngozi',
  'Sofia',
];
const LAST_NAMES = ['Okafor', 'Lindqvist', 'Moreau', 'Tanaka', 'Kowalski', 'Haddad', 'Fischer', 'Silva'];
const COUNTRIES = ['DE', 'GB', 'US', 'FR', 'NL', 'PL', 'JP', 'BR'];

interface Row {
  customer: [number, string, string, string, string];
  invoices: [number, number, number, string, string, string][];
}

function rows({ now }: RenderInput): Row[] {
  // Deterministic per day: the dump looks like a nightly export, not noise.
  const day = Math.floor(now.getTime() / 86_400_000);
  const out: Row[] = [];
  for (let i = 0; i < 6; i++) {
    const first = FIRST_NAMES[(day + i * 3) % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[(day + i * 5) % LAST_NAMES.length] as string;
    const id = 10_412 + i * 7;
    const created = new Date(now.getTime() - (400 - i * 37) * 86_400_000).toISOString().slice(0, 10);
    const invoices: Row['invoices'] = [];
    for (let j = 0; j < 1 + (i % 3); j++) {
      const issued = new Date(now.getTime() - (60 - j * 30 - i) * 86_400_000).toISOString().slice(0, 10);
      const status = j === 0 && i % 2 === 1 ? 'open' : 'paid';
      invoices.push([
        88_200 + i * 11 + j,
        id,
        1_900 + ((i * 7919 + j * 104_729) % 48_000),
        'EUR',
        status,
        issued,
      ]);
    }
    out.push({
      customer: [
        id,
        `${first}.${last}@example.com`.toLowerCase(),
        `${first} ${last}`,
        COUNTRIES[i] as string,
        created,
      ],
      invoices,
    });
  }
  return out;
}

function ssmCommand(name: string): string {
  return `$(aws ssm get-parameter --with-decryption --name ${name} --query Parameter.Value --output text)`;
}

function sqlDump(input: RenderInput): string {
  const { spec, secrets, now } = input;
  const db = secrets.database;
  const parts = specParts(spec);
  const passwordParameter = parts.parameters.find((p) => p.format === 'password')?.name;
  const urlParameter = parts.parameters.find((p) => p.format === 'database-url')?.name;
  const stamp = now.toISOString().replace('T', ' ').slice(0, 19);
  const header = [
    `-- Nightly export of ${db.name} (${spec.environment}) from ${db.host}`,
    ...(urlParameter ? [`-- Connection string: SSM ${urlParameter}`] : []),
    ...(passwordParameter ? [`-- Credentials: user ${db.user}, password in SSM ${passwordParameter}`] : []),
  ];
  const data = rows(input);
  if (db.engine === 'mysql') {
    const restore = passwordParameter
      ? `-- Restore: mysql -h ${db.host} -u ${db.user} -p"${ssmCommand(passwordParameter)}" ${db.name} < this-file.sql`
      : '';
    return [
      '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)',
      '--',
      `-- Host: ${db.host}    Database: ${db.name}`,
      '-- ------------------------------------------------------',
      '-- Server version\t8.0.35',
      ...header,
      restore,
      '',
      'SET NAMES utf8mb4;',
      '',
      'DROP TABLE IF EXISTS `customers`;',
      'CREATE TABLE `customers` (',
      '  `id` bigint NOT NULL AUTO_INCREMENT,',
      '  `email` varchar(320) NOT NULL,',
      '  `full_name` varchar(200) NOT NULL,',
      '  `country` char(2) NOT NULL,',
      '  `created_at` date NOT NULL,',
      '  PRIMARY KEY (`id`),',
      '  UNIQUE KEY `customers_email_key` (`email`)',
      ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;',
      '',
      'DROP TABLE IF EXISTS `invoices`;',
      'CREATE TABLE `invoices` (',
      '  `id` bigint NOT NULL AUTO_INCREMENT,',
      '  `customer_id` bigint NOT NULL,',
      '  `amount_cents` int NOT NULL,',
      '  `currency` char(3) NOT NULL,',
      "  `status` varchar(16) NOT NULL DEFAULT 'open',",
      '  `issued_at` date NOT NULL,',
      '  PRIMARY KEY (`id`),',
      '  KEY `invoices_customer_id_idx` (`customer_id`)',
      ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;',
      '',
      `INSERT INTO \`customers\` VALUES ${data.map((r) => `(${r.customer.map(sqlValue).join(',')})`).join(',')};`,
      `INSERT INTO \`invoices\` VALUES ${data
        .flatMap((r) => r.invoices)
        .map((i) => `(${i.map(sqlValue).join(',')})`)
        .join(',')};`,
      '',
      `-- Dump completed on ${stamp}`,
      '',
    ].join('\n');
  }
  const restore = urlParameter ? `-- Restore: psql "${ssmCommand(urlParameter)}" -f this-file.sql` : '';
  return [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    '-- Dumped from database version 15.5',
    '-- Dumped by pg_dump version 15.6',
    ...header,
    restore,
    '',
    'SET statement_timeout = 0;',
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    "SELECT pg_catalog.set_config('search_path', '', false);",
    '',
    'CREATE TABLE public.customers (',
    '    id bigint NOT NULL,',
    '    email character varying(320) NOT NULL,',
    '    full_name character varying(200) NOT NULL,',
    '    country character(2) NOT NULL,',
    '    created_at date NOT NULL',
    ');',
    '',
    `ALTER TABLE public.customers OWNER TO ${db.user};`,
    '',
    'CREATE TABLE public.invoices (',
    '    id bigint NOT NULL,',
    '    customer_id bigint NOT NULL,',
    '    amount_cents integer NOT NULL,',
    '    currency character(3) NOT NULL,',
    "    status character varying(16) DEFAULT 'open'::character varying NOT NULL,",
    '    issued_at date NOT NULL',
    ');',
    '',
    `ALTER TABLE public.invoices OWNER TO ${db.user};`,
    '',
    'COPY public.customers (id, email, full_name, country, created_at) FROM stdin;',
    ...data.map((r) => r.customer.join('\t')),
    '\\.',
    '',
    'COPY public.invoices (id, customer_id, amount_cents, currency, status, issued_at) FROM stdin;',
    ...data.flatMap((r) => r.invoices.map((i) => i.join('\t'))),
    '\\.',
    '',
    'ALTER TABLE ONLY public.customers',
    '    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);',
    '',
    'ALTER TABLE ONLY public.invoices',
    '    ADD CONSTRAINT invoices_pkey PRIMARY KEY (id);',
    '',
    'CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email);',
    '',
    '--',
    '-- PostgreSQL database dump complete',
    '--',
    '',
  ].join('\n');
}

function sqlValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

/** S3 website/alias hosted zones terraform records for a bucket, for the regions that commonly host one. */
const S3_HOSTED_ZONES: Record<string, string> = {
  'us-east-1': 'Z3AQBSTGFYJSTF',
  'us-east-2': 'Z2O1EMRO9K5GLX',
  'us-west-1': 'Z2F56UZL2M1ACD',
  'us-west-2': 'Z3BJ6K6RIION7M',
  'eu-west-1': 'Z1BKCTXD74EZPE',
  'eu-west-2': 'Z3GKZC51ZF0DB4',
  'eu-central-1': 'Z21DNDUVLTQW6Q',
  'ap-southeast-1': 'Z3O0J2DXBE1FTB',
  'ap-southeast-2': 'Z1WCIGYICN2BYD',
  'ap-northeast-1': 'Z2M4EHUR26P7ZW',
};

const PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';

/**
 * A terraform state file (format version 4) that manages the parameters, the
 * user and the bucket. Terraform keeps secret values in state in plain text, so
 * the parameters' values are there, as in any real state file. The lineage, a
 * UUID in terraform's own files, is hex without dashes here: a UUID-shaped string
 * is a tell for detector tools.
 */
function terraformState(input: RenderInput): string {
  const { spec, secrets, target, now, userId } = input;
  const parts = specParts(spec);
  const tags = Object.fromEntries(resourceTags(spec).map((t) => [t.key, t.value]));
  const resources: unknown[] = [];
  const usedNames = new Set<string>();
  const tfName = (base: string) => {
    let name = snake(base).toLowerCase();
    for (let i = 2; usedNames.has(name); i++) name = `${snake(base).toLowerCase()}_${i}`;
    usedNames.add(name);
    return name;
  };
  for (const parameter of parts.parameters) {
    const owner = ownerOf(parameter.name, spec.service);
    resources.push({
      mode: 'managed',
      type: 'aws_ssm_parameter',
      name: tfName(owner === spec.service ? leafOf(parameter.name) : `${owner}_${leafOf(parameter.name)}`),
      provider: PROVIDER,
      instances: [
        {
          schema_version: 0,
          attributes: {
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
            version: 1,
          },
          sensitive_attributes: [[{ type: 'get_attr', value: 'value' }]],
          private: 'bnVsbA==',
        },
      ],
    });
  }
  if (parts.user) {
    resources.push({
      mode: 'managed',
      type: 'aws_iam_user',
      name: tfName(parts.user.name),
      provider: PROVIDER,
      instances: [
        {
          schema_version: 0,
          attributes: {
            arn: parts.user.arn,
            force_destroy: false,
            id: parts.user.name,
            name: parts.user.name,
            path: '/',
            permissions_boundary: null,
            tags,
            tags_all: tags,
            unique_id: userId ?? null,
          },
          sensitive_attributes: [],
          private: 'bnVsbA==',
        },
      ],
    });
  }
  if (parts.bucket) {
    const bucket = parts.bucket.name;
    const bucketTagMap = Object.fromEntries(bucketTags(spec).map((t) => [t.key, t.value]));
    resources.push({
      mode: 'managed',
      type: 'aws_s3_bucket',
      name: tfName(`${spec.service}_${spec.environment}`),
      provider: PROVIDER,
      instances: [
        {
          schema_version: 0,
          attributes: {
            acceleration_status: '',
            arn: parts.bucket.arn,
            bucket,
            bucket_domain_name: `${bucket}.s3.amazonaws.com`,
            bucket_prefix: '',
            bucket_regional_domain_name: `${bucket}.s3.${target.region}.amazonaws.com`,
            force_destroy: false,
            hosted_zone_id: S3_HOSTED_ZONES[target.region] ?? null,
            id: bucket,
            object_lock_enabled: false,
            region: target.region,
            tags: bucketTagMap,
            tags_all: bucketTagMap,
          },
          sensitive_attributes: [],
          private: 'bnVsbA==',
        },
      ],
    });
  }
  const state = {
    version: 4,
    terraform_version: '1.7.5',
    // Applied daily by the pipeline: the serial grows with the days.
    serial: Math.max(1, Math.floor((now.getTime() - Date.UTC(2023, 0, 1)) / 86_400_000)),
    lineage: derivedString(`${target.account}:${target.region}:${spec.service}:lineage`, 32, HEX),
    outputs: parts.bucket ? { export_bucket: { value: parts.bucket.name, type: 'string' } } : {},
    resources,
    check_results: null,
  };
  return `${JSON.stringify(state, null, 2)}\n`;
}
