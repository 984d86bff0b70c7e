import { crc32 } from 'node:zlib';
import type { SecretsManagerFormat } from '../config/vocabulary';
import type { Decoy } from './catalogue';
import { base62, type ContentTarget, type DatabaseSecret } from './content';
import type { RandomSource } from './random';
import { ALNUM, BASE64URL, DIGITS, derivedString, HEX, randomString, withoutTells } from './random';

/**
 * Values for the Secrets Manager decoys, in the shapes real secrets have:
 * database credentials as the JSON RDS writes for a managed secret (`username`,
 * `password`, `engine`, `host`, `port`, `dbname`, `dbClusterIdentifier`), and API
 * keys shaped like the vendor's own tokens. Worthless: the hosts resolve nowhere
 * and the tokens were never issued. Pure: randomness comes in as an argument.
 */

/** What a well-formed value of each format looks like (tests and a check before writing). */
export const SECRET_VALUE_PATTERNS: Record<SecretsManagerFormat, RegExp> = {
  'database-credentials':
    /^\{"username":"\w+","password":"[A-Za-z\d]{24,32}","engine":"(postgres|mysql)","host":"[a-z\d.-]+\.rds\.amazonaws\.com","port":\d+,"dbname":"\w+","dbClusterIdentifier":"[a-z\d-]+"\}$/,
  'api-key':
    /^(sk_live_51[A-Za-z\d]{96}|SG\.[\w-]{22}\.[\w-]{43}|[a-f\d]{32}|ghp_[A-Za-z\d]{36}|xoxb-\d{12}-\d{13}-[A-Za-z\d]{24}|[A-Za-z\d]{40})$/,
};

function leafOf(name: string): string {
  return name.split(/[/]/).filter(Boolean).pop() ?? name;
}

/** A token shaped like the vendor the secret's name names (prefix, length, alphabet, checksum). */
export function vendorToken(random: RandomSource, name: string): string {
  const leaf = leafOf(name).toLowerCase();
  return withoutTells(() => {
    if (leaf.includes('stripe')) return `sk_live_51${randomString(random, 96, ALNUM)}`;
    if (leaf.includes('sendgrid'))
      return `SG.${randomString(random, 22, BASE64URL)}.${randomString(random, 43, BASE64URL)}`;
    if (leaf.includes('datadog')) return randomString(random, 32, HEX);
    if (leaf.includes('github')) {
      // Classic tokens end in a base62 CRC32 of their random part; scanners check it.
      const body = randomString(random, 30, ALNUM);
      return `ghp_${body}${base62(crc32(body), 6)}`;
    }
    if (leaf.includes('slack'))
      return `xoxb-${randomString(random, 12, DIGITS)}-${randomString(random, 13, DIGITS)}-${randomString(random, 24, ALNUM)}`;
    return randomString(random, 40, ALNUM);
  }, 'token');
}

/** The service a secret belongs to: the path segment before the leaf, or the spec's. */
function ownerOf(name: string, fallback: string): string {
  const parts = name.split('/').filter(Boolean);
  return parts.length >= 3 ? (parts[parts.length - 2] as string) : fallback;
}

/**
 * Database credentials as RDS writes them. The main service's secret describes the
 * database the parameters and bait describe (same host, user and password), so the
 * breadcrumbs agree; another service's secret gets its own cluster and password.
 */
export function databaseCredentials(
  random: RandomSource,
  input: {
    name: string;
    service: string;
    environment: string;
    database: DatabaseSecret;
    target: ContentTarget;
  },
): string {
  const owner = ownerOf(input.name, input.service)
    .replace(/[^a-z0-9-]/gi, '-')
    .toLowerCase();
  const main = owner === input.service;
  const db = input.database;
  const suffix = derivedString(`${input.target.account}:${input.target.region}:rds`, 12);
  const cluster = main ? `${input.service}-${input.environment}` : `${owner}-${input.environment}`;
  const dbname = main ? db.name : owner.replace(/-/g, '_');
  const password = withoutTells(() => randomString(random, 32, ALNUM), 'password');
  return JSON.stringify({
    username: main ? db.user : `${dbname}_app`,
    // The main one is the parameters' own password: a reader who compares them finds one database.
    password: main ? db.password : password,
    engine: db.engine,
    host: main ? db.host : `${cluster}.cluster-${suffix}.${input.target.region}.rds.amazonaws.com`,
    port: db.port,
    dbname,
    dbClusterIdentifier: cluster,
  });
}

/** Fresh values for the planned secrets, by name. */
export function generateSecretValues(
  secrets: readonly Decoy[],
  random: RandomSource,
  input: { service: string; environment: string; database: DatabaseSecret; target: ContentTarget },
): Map<string, string> {
  const values = new Map<string, string>();
  for (const secret of secrets) {
    values.set(
      secret.name,
      secret.secretFormat === 'database-credentials'
        ? databaseCredentials(random, { name: secret.name, ...input })
        : vendorToken(random, secret.name),
    );
  }
  return values;
}

/**
 * How often each secret gets a new value, with seeded jitter (cadence.ts):
 * database credentials like the parameters' passwords, API keys more often.
 */
export const SECRET_CADENCE: Record<SecretsManagerFormat, { days: number; jitterDays: number }> = {
  'database-credentials': { days: 90, jitterDays: 10 },
  'api-key': { days: 30, jitterDays: 4 },
};
