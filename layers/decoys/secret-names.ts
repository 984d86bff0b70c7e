import type { SecretsManagerFormat } from '../config/vocabulary';
import type { RandomSource } from './random';

/**
 * Names for the Secrets Manager decoys: the public vocabulary (`plan`, an empty
 * account) and the account's own secret naming read from its inventory
 * (ListSecrets names). Pure; the planter draws `random` from the secret seed.
 */

/** Leaves per format, after what teams call such secrets. None ends in `-` and six characters (see SECRET_ARN_SUFFIX). */
export const SECRET_LEAVES: Record<SecretsManagerFormat, string[]> = {
  'database-credentials': ['db-credentials', 'rds-credentials', 'postgres-credentials', 'database'],
  'api-key': ['stripe-api-key', 'sendgrid-api-key', 'datadog-api-key', 'github-token', 'slack-bot-token'],
};

export const SECRET_FORMAT_ORDER: SecretsManagerFormat[] = ['database-credentials', 'api-key'];

/**
 * Secrets Manager appends `-` and six random characters to a secret's ARN. A name
 * that itself ends so would make partial and full ARNs ambiguous (the service's own
 * advice), so generated names never do and the config refuses them.
 */
export const SECRET_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** How the account names its own secrets (inferred from ListSecrets names). */
export interface SecretConventions {
  /** `/` for path-like names (`prod/payments/db`), else the flat separator (`-`, `_`, `.`). */
  separator: '/' | '-' | '_' | '.';
  /** Path-like names that start with `/`. */
  leadingSlash: boolean;
  /** Where the environment word sits: first, after the service, last, or nowhere. */
  order: 'env-service' | 'service-env' | 'service' | 'service-leaf-env';
  /** `_` when the account's leaves use underscores. */
  leafSeparator: '-' | '_';
}

/**
 * AWS-managed secrets (`rds!db-...`, `events!connection/...`) and the console's
 * defaults say nothing about the team: a decoy shaped like `rds!...` would claim
 * to be AWS's and look wrong.
 */
export function teamSecrets(names: readonly string[]): string[] {
  return names.filter((n) => !n.includes('!') && !n.startsWith('aws/') && !n.startsWith('/aws/'));
}

function most<T extends string>(counts: Record<T, number>, fallback: T): T {
  let best = fallback;
  for (const [key, value] of Object.entries(counts) as [T, number][]) if (value > counts[best]) best = key;
  return best;
}

/** Infers secret naming from the team's secret names; undefined when the account has none. */
export function inferSecretConventions(
  names: readonly string[],
  isEnvironment: (word: string) => boolean,
): SecretConventions | undefined {
  const own = teamSecrets(names);
  if (own.length === 0) return undefined;
  const separators = { '/': 0, '-': 0, _: 0, '.': 0 } as Record<SecretConventions['separator'], number>;
  for (const name of own) {
    if (name.replace(/^\//, '').includes('/')) separators['/'] += 2;
    else for (const s of ['-', '_', '.'] as const) if (name.includes(s)) separators[s]++;
  }
  const separator = most<SecretConventions['separator']>(separators, '/');
  const leadingSlash = separator === '/' && own.filter((n) => n.startsWith('/')).length * 2 > own.length;
  const orders = { 'env-service': 0, 'service-env': 0, service: 0, 'service-leaf-env': 0 } as Record<
    SecretConventions['order'],
    number
  >;
  let underscores = 0;
  let dashes = 0;
  for (const name of own) {
    const tokens = name.split(separator).filter(Boolean);
    const at = tokens.findIndex(isEnvironment);
    if (at === 0) orders['env-service']++;
    else if (at === 1 && tokens.length > 2) orders['service-env']++;
    else if (at > 0 && at === tokens.length - 1) orders['service-leaf-env']++;
    else orders.service++;
    const leaf = separator === '/' ? (tokens.at(-1) ?? '') : name;
    if (leaf.includes('_')) underscores++;
    if (leaf.includes('-')) dashes++;
  }
  return {
    separator,
    leadingSlash,
    order: most<SecretConventions['order']>(orders, 'env-service'),
    leafSeparator: separator === '_' || (separator === '/' && underscores > dashes) ? '_' : '-',
  };
}

/** One name after the conventions (or the vocabulary's `env/service/leaf`). */
export function composeSecretName(
  conventions: SecretConventions | undefined,
  parts: { environment: string; service: string; leaf: string },
): string {
  if (!conventions) return `${parts.environment}/${parts.service}/${parts.leaf}`;
  const sep = conventions.separator;
  // In flat names the leaf's own dashes become the separator's, so the name reads as one scheme.
  const leaf = parts.leaf.replaceAll('-', sep === '/' ? conventions.leafSeparator : sep);
  const tokens =
    conventions.order === 'env-service'
      ? [parts.environment, parts.service, leaf]
      : conventions.order === 'service-env'
        ? [parts.service, parts.environment, leaf]
        : conventions.order === 'service-leaf-env'
          ? [parts.service, leaf, parts.environment]
          : [parts.service, leaf];
  return `${conventions.leadingSlash ? '/' : ''}${tokens.join(sep)}`;
}

export function isUsableSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !SECRET_ARN_SUFFIX.test(name);
}

/**
 * Names for the wanted secrets: explicit ones kept, the rest composed for the main
 * service first, then neighbouring services, never a name the account already has.
 */
export function chooseSecretNames(
  wanted: readonly { format: SecretsManagerFormat; name?: string }[],
  input: {
    environment: string;
    service: string;
    neighbours: readonly string[];
    taken: readonly string[];
    conventions: SecretConventions | undefined;
  },
  random: RandomSource,
): { name: string; format: SecretsManagerFormat }[] {
  const taken = new Set(input.taken);
  const out: { name: string; format: SecretsManagerFormat }[] = [];
  for (const w of wanted) if (w.name) taken.add(w.name);
  for (const [i, w] of wanted.entries()) {
    if (w.name) {
      out.push({ name: w.name, format: w.format });
      continue;
    }
    let chosen: string | undefined;
    for (let attempt = 0; attempt < 40 && !chosen; attempt++) {
      const leaves = SECRET_LEAVES[w.format];
      const leaf = leaves[random.int(leaves.length)] as string;
      const neighbours = input.neighbours.length > 0 ? input.neighbours : [input.service];
      const service =
        i < SECRET_FORMAT_ORDER.length && attempt < 6
          ? input.service
          : (neighbours[random.int(Math.min(8, neighbours.length))] as string);
      const candidate = composeSecretName(input.conventions, {
        environment: input.environment,
        service,
        leaf,
      });
      if (isUsableSecretName(candidate) && !taken.has(candidate)) chosen = candidate;
    }
    // Every candidate taken: a numbered one is still the team's shape.
    chosen ??= composeSecretName(input.conventions, {
      environment: input.environment,
      service: input.service,
      leaf: `${SECRET_LEAVES[w.format][0]}-${taken.size + 1}`,
    });
    taken.add(chosen);
    out.push({ name: chosen, format: w.format });
  }
  return out;
}

/** The plan's ARN for a secret: without the suffix Secrets Manager adds at creation. */
export function secretPlanArn(partition: string, region: string, account: string, name: string): string {
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}`;
}
