import type { SecretFormat, SecretsManagerFormat } from '../config/schema';
import {
  BUCKET_PATTERNS,
  type DecoyNames,
  type DecoyShape,
  fill,
  objectsOf,
  PARAMETER_LEAVES,
  pick,
  SERVICES,
  vocabularyNames,
} from './catalogue';
import {
  type AccountInventory,
  type Conventions,
  customerAliases,
  ENVIRONMENT_WORDS,
  inferConventions,
  isEmptyInventory,
} from './inventory';
import type { RandomSource } from './random';
import { chooseSecretNames, inferSecretConventions } from './secret-names';
import type { PlantSpec } from './spec';

const isEnvironmentWord = (word: string) =>
  (ENVIRONMENT_WORDS as readonly string[]).includes(word.toLowerCase());

/**
 * Chooses the decoys' names at plant time. Nobody can recompute them: the random
 * source is seeded with a secret drawn at the first plant and kept only in the
 * registry, and the names follow the account's own conventions (inventory.ts),
 * which differ from account to account. An empty account falls back to the
 * public vocabulary, still drawn with the secret seed.
 */

const BUCKET_PURPOSES = ['db-backups', 'backups', 'exports', 'data-exports', 'dumps', 'artifacts'];
const USER_ROLES = ['etl', 'reporting', 'backup', 'sync', 'exporter', 'batch'];
const ALIAS_PURPOSES = ['secrets', 'params', 'ssm', 'config'];
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;

/** Pure: the same shape, inventory and random stream give the same names. */
export function chooseNames(
  shape: DecoyShape,
  inventory: AccountInventory,
  random: RandomSource,
): DecoyNames {
  if (isEmptyInventory(inventory)) return vocabularyNames(shape, random, inventory.account, inventory.region);
  return conventionalNames(shape, inventory, inferConventions(inventory), random);
}

function conventionalNames(
  shape: DecoyShape,
  inventory: AccountInventory,
  conventions: Conventions,
  random: RandomSource,
): DecoyNames {
  const environment = conventions.environment ?? shape.environment;
  // A service the account already has parameters for: the decoys sit next to its own.
  const service =
    shape.service ||
    (conventions.services.length > 0
      ? pick(random, conventions.services.slice(0, 3))
      : pick(random, SERVICES));
  const prefix = shape.prefix ? `${shape.prefix}-` : '';
  const values = { service, env: environment };

  return {
    service,
    environment,
    parameters: parameterNames(shape, inventory, conventions, random, { service, environment }),
    bucketName: bucketName(shape, inventory, conventions, random, { service, environment, prefix }),
    objects: objectsOf(shape, values),
    userName: userName(shape, inventory, conventions, random, { service, prefix }),
    keyAlias: keyAlias(inventory, conventions, random, { service, environment, prefix }),
    // Drawn last, so the other names do not depend on whether secrets are planted.
    secrets: chooseSecretNames(
      shape.secrets ?? [],
      {
        environment,
        service,
        neighbours: [...conventions.services.filter((s) => s !== service), ...SERVICES],
        taken: inventory.secrets,
        conventions: inferSecretConventions(inventory.secrets, isEnvironmentWord),
      },
      random,
    ),
  };
}

function parameterPath(layout: Conventions['parameterLayout'], env: string, service: string, leaf: string) {
  switch (layout) {
    case 'service/env':
      return `/${service}/${env}/${leaf}`;
    case 'service':
      return `/${service}/${leaf}`;
    case 'env':
      return `/${env}/${service}-${leaf}`;
    default:
      return `/${env}/${service}/${leaf}`;
  }
}

function parameterNames(
  shape: DecoyShape,
  inventory: AccountInventory,
  conventions: Conventions,
  random: RandomSource,
  names: { service: string; environment: string },
): { name: string; format: SecretFormat }[] {
  if (shape.parameters.length > 0 && shape.parameters.every((p) => p.name))
    return shape.parameters.map((p) => ({ name: p.name as string, format: p.format }));
  const taken = new Set(inventory.parameters);
  const neighbours = [...conventions.services.filter((s) => s !== names.service), ...SERVICES];
  const out: { name: string; format: SecretFormat }[] = [];
  for (const [i, wanted] of shape.parameters.entries()) {
    if (wanted.name) {
      out.push({ name: wanted.name, format: wanted.format });
      taken.add(wanted.name);
      continue;
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      // The first round of formats goes to the main service; later ones (and retries) to a neighbour.
      const owner = i < 4 && attempt < 8 ? names.service : pick(random, neighbours.slice(0, 8));
      const leaf = pick(random, PARAMETER_LEAVES[wanted.format]).replaceAll('-', conventions.leafSeparator);
      const name = parameterPath(conventions.parameterLayout, names.environment, owner, leaf);
      if (taken.has(name)) continue;
      taken.add(name);
      out.push({ name, format: wanted.format });
      break;
    }
  }
  return out;
}

function bucketName(
  shape: DecoyShape,
  inventory: AccountInventory,
  conventions: Conventions,
  random: RandomSource,
  names: { service: string; environment: string; prefix: string },
): string {
  const values = { account: inventory.account, region: inventory.region, env: names.environment };
  if (shape.bucket?.name) return fill(shape.bucket.name, { ...values, service: names.service });
  const taken = new Set(inventory.buckets);
  const pattern = conventions.bucketPattern;
  for (let attempt = 0; attempt < 30; attempt++) {
    const purposeWord = pick(random, BUCKET_PURPOSES);
    const candidate = pattern
      ? fill(pattern, {
          ...values,
          org: conventions.org ?? '',
          service: names.service,
          purpose: pattern.includes('{service}') ? purposeWord : `${names.service}-${purposeWord}`,
        })
      : `${names.prefix}${fill(pick(random, BUCKET_PATTERNS), { service: names.service, env: names.environment })}-${inventory.account}-${inventory.region}`;
    if (BUCKET_NAME.test(candidate) && !candidate.includes('--') && !taken.has(candidate)) return candidate;
  }
  // Every candidate taken or invalid: a vocabulary name with the account and region is unique enough.
  return `${names.prefix}${names.service}-${names.environment}-${pick(random, BUCKET_PURPOSES)}-${inventory.account}-${inventory.region}`;
}

function userName(
  shape: DecoyShape,
  inventory: AccountInventory,
  conventions: Conventions,
  random: RandomSource,
  names: { service: string; prefix: string },
): string {
  if (shape.user?.name) return shape.user.name;
  const taken = new Set(inventory.users.map((u) => u.toLowerCase()));
  const sep = conventions.userSeparator;
  for (let attempt = 0; attempt < 30; attempt++) {
    // A fixed prefix or suffix the account's users share carries the "service user" look;
    // without one, a role word does.
    const role = conventions.userSuffix && attempt === 0 ? undefined : pick(random, USER_ROLES);
    const tokens = [conventions.userPrefix, names.service, role, conventions.userSuffix].filter(
      (t): t is string => !!t,
    );
    const candidate = `${conventions.userPrefix ? '' : names.prefix}${tokens.join(sep)}`;
    if (USER_NAME.test(candidate) && !taken.has(candidate.toLowerCase())) return candidate;
  }
  return `${names.prefix}${names.service}${sep}${pick(random, USER_ROLES)}${sep}${inventory.users.length + 1}`;
}

function keyAlias(
  inventory: AccountInventory,
  conventions: Conventions,
  random: RandomSource,
  names: { service: string; environment: string; prefix: string },
): string {
  const taken = new Set(customerAliases(inventory));
  for (let attempt = 0; attempt < 20; attempt++) {
    const purpose = pick(random, ALIAS_PURPOSES);
    const pattern = conventions.aliasPattern;
    const candidate = pattern
      ? fill(pattern, {
          account: inventory.account,
          region: inventory.region,
          env: names.environment,
          service: names.service,
          purpose: pattern.includes('{service}') ? purpose : `${names.service}-${purpose}`,
          org: '',
        })
      : `alias/${names.prefix}${names.service}-${names.environment}-${purpose}`;
    if (!taken.has(candidate) && /^alias\/[\w/-]+$/.test(candidate)) return candidate;
  }
  return `alias/${names.prefix}${names.service}-${names.environment}-${taken.size + 1}`;
}

/** The names a spec (the registry's) already uses. */
export function namesOfSpec(spec: PlantSpec): Partial<DecoyNames> {
  const decoys = spec.plan.resources;
  const bucket = decoys.find((d) => d.kind === 's3-bucket');
  const user = decoys.find((d) => d.kind === 'iam-user');
  const key = decoys.find((d) => d.kind === 'kms-key');
  return {
    service: spec.service,
    environment: spec.environment,
    parameters: decoys
      .filter((d) => d.kind === 'ssm-parameter')
      .map((d) => ({ name: d.name, format: d.format as SecretFormat })),
    ...(bucket ? { bucketName: bucket.name } : {}),
    objects: decoys
      .filter((d) => d.kind === 's3-object' && d.objectKind)
      .map((d) => ({ key: d.name, kind: d.objectKind as NonNullable<typeof d.objectKind> })),
    ...(user ? { userName: user.name } : {}),
    ...(key ? { keyAlias: key.name } : {}),
    secrets: decoys
      .filter((d) => d.kind === 'secretsmanager-secret')
      .map((d) => ({ name: d.name, format: d.secretFormat as SecretsManagerFormat })),
  };
}

/**
 * Names for a changed shape that keep every name already planted that the shape
 * still wants (an Update or a refresh never renames what exists), and take the
 * rest from `fresh`. Explicit names in the shape always win.
 */
export function reconcileNames(
  shape: DecoyShape,
  previous: Partial<DecoyNames>,
  fresh: DecoyNames,
): DecoyNames {
  const service = shape.service || previous.service || fresh.service;
  const environment = previous.environment || fresh.environment;
  const explicitParameters = shape.parameters.length > 0 && shape.parameters.every((p) => p.name);
  const unused = [...(previous.parameters ?? [])];
  const freshLeft = fresh.parameters.filter((p) => !unused.some((u) => u.name === p.name));
  const parameters = explicitParameters
    ? fresh.parameters
    : shape.parameters.map((wanted) => {
        if (wanted.name) return { name: wanted.name, format: wanted.format };
        const kept = unused.findIndex((p) => p.format === wanted.format);
        if (kept >= 0) return unused.splice(kept, 1)[0] as { name: string; format: SecretFormat };
        const next = freshLeft.findIndex((p) => p.format === wanted.format);
        return next >= 0
          ? (freshLeft.splice(next, 1)[0] as { name: string; format: SecretFormat })
          : (freshLeft.shift() ?? {
              name: `/${environment}/${service}/${wanted.format}`,
              format: wanted.format,
            });
      });
  const objects = (shape.bucket?.objects ?? []).map(
    (kind) =>
      previous.objects?.find((o) => o.kind === kind) ??
      fresh.objects.find((o) => o.kind === kind) ?? { kind, key: kind },
  );
  // Secrets: the same rule as parameters, by format.
  const unusedSecrets = [...(previous.secrets ?? [])];
  const freshSecrets = (fresh.secrets ?? []).filter((p) => !unusedSecrets.some((u) => u.name === p.name));
  const secrets = (shape.secrets ?? []).map((wanted) => {
    if (wanted.name) return { name: wanted.name, format: wanted.format };
    const kept = unusedSecrets.findIndex((p) => p.format === wanted.format);
    if (kept >= 0) return unusedSecrets.splice(kept, 1)[0] as { name: string; format: SecretsManagerFormat };
    const next = freshSecrets.findIndex((p) => p.format === wanted.format);
    return next >= 0
      ? (freshSecrets.splice(next, 1)[0] as { name: string; format: SecretsManagerFormat })
      : (freshSecrets.shift() ?? {
          name: `${environment}/${service}/${wanted.format}`,
          format: wanted.format,
        });
  });
  return {
    service,
    environment,
    parameters,
    secrets,
    bucketName: shape.bucket?.name ? fresh.bucketName : (previous.bucketName ?? fresh.bucketName),
    objects,
    userName: shape.user?.name || previous.userName || fresh.userName,
    keyAlias: previous.keyAlias ?? fresh.keyAlias,
  };
}
