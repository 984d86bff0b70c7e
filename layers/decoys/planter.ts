import { randomBytes } from 'node:crypto';
import { hasCode } from './aws-errors';
import { dueAt, type ObjectWrite, type ParameterWrite, planRefresh, type RefreshStep } from './cadence';
import { type Decoy, type DecoyShape, OWNERSHIP_TAG_KEY, planFromNames } from './catalogue';
import {
  bucketLifecycleRules,
  bucketPolicyDocument,
  bucketTags,
  type ContentTarget,
  generateSecrets,
  LEGACY_USER_POLICY_NAME,
  parameterDescription,
  renderObjects,
  resourceTags,
  type SecretSet,
  secretDescription,
  userPolicyDocument,
  userPolicyInputOf,
  userPolicyName,
} from './content';
import { type AccountInventory, emptyInventory, readInventory, withoutPlatformNames } from './inventory';
import { chooseNames, namesOfSpec, reconcileNames } from './naming';
import type {
  AdvancedEventSelector,
  BucketState,
  Clock,
  IamPort,
  InventoryPort,
  KmsPort,
  PlanterLog,
  RandomSource,
  S3Port,
  SecureStringInput,
  SsmPort,
  Tag,
  TrailPort,
} from './ports';
import { seededRandom } from './random';
import {
  type AccessKeyRecord,
  LIVE_KEY_STATUSES,
  type OwnedKind,
  type OwnedResource,
  RETIRED_KEYS_KEPT,
  type RegistryPort,
  type RegistryRecord,
} from './registry';
import { SECRET_ARN_SUFFIX } from './secret-names';
import { generateSecretValues, SECRET_CADENCE } from './secret-values';
import type { SecretsPort } from './secrets';
import { decodeSpec, type PlantSpec, type SpecParts, specParts, specRecord } from './spec';

/**
 * Plants, updates, refreshes and removes the decoys, over ports (ports.ts).
 *
 * Safety rules, each relied on by a test:
 * - A name is CLAIMED in the registry before it is created, and marked created
 *   after; only a name found free is claimed. A name that exists and is not in
 *   the registry is someone else's: the planter refuses it, never touching it,
 *   and removal deletes only what the registry lists.
 * - Key rotation writes the registry before the bait and deletes the old key last
 *   (see rotateKey), so a failure at any step leaves a working key in the bait and
 *   a registry that lists every key that exists.
 * - Deleting something already gone is success; so running any operation twice
 *   is harmless.
 */

export interface PlanterDeps {
  ssm: SsmPort;
  s3: S3Port;
  iam: IamPort;
  registry: RegistryPort;
  clock: Clock;
  random: RandomSource;
  /** The region the planter runs in: the stack's, where the parameters and bucket go. */
  region: string;
  log?: PlanterLog;
  /** What the account holds, read when names are chosen (plantShape); absent: an empty account. */
  inventory?: InventoryPort;
  /** The parameters key's alias, created at plant time (plantShape with a key id). */
  kms?: KmsPort;
  /** Secrets Manager, for secretsmanager-secret decoys (secrets.ts). */
  secrets?: SecretsPort;
  /**
   * The stack's own trail, whose object-event selectors the planter sets once the
   * bucket is named (the template cannot name it). `selectors` builds them.
   */
  trailSelectors?: {
    port: TrailPort;
    arn: string;
    selectors: (input: { trailBucket: string; logged: string[]; cover: string[] }) => AdvancedEventSelector[];
    /** The trail's own log bucket, never given data events (a loop). */
    trailBucket: string;
  };
  /** The secret naming seed for a first plant; crypto by default (128 bits). */
  newSeed?: () => string;
  /**
   * Waits between a run's writes (cadence.ts spreads them over seconds, as a real
   * job's are). The function passes a timer (`sleepFor`); absent, writes follow
   * each other at once (tests record the delays with a no-op).
   */
  sleep?: (ms: number) => Promise<void>;
}

/** The real wait, for the function's wiring. */
export const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long a plant (stack create or update) may spread its writes over: a deploy
 * waits for it, so much less than a scheduled refresh's (cadence.ts DEFAULT_SPREAD_MS).
 */
export const PLANT_SPREAD_MS = 20_000;

/** A run's writes paced by its plan: each call waits until the next write's offset from the run's start. */
type Pacer = () => Promise<void>;

/**
 * Waits between writes: the difference of consecutive offsets (the plan's, in the
 * order the run writes; the calls' own time adds to it). Offsets beyond `maxTotalMs`
 * are scaled into it: a plant keeps the deploy short.
 */
function pacer(steps: readonly RefreshStep[], sleep: PlanterDeps['sleep'], maxTotalMs?: number): Pacer {
  const last = steps.at(-1)?.delayMs ?? 0;
  const scale = maxTotalMs !== undefined && last > maxTotalMs ? maxTotalMs / last : 1;
  const offsets = steps.map((step) => Math.floor(step.delayMs * scale));
  let next = 0;
  let at = 0;
  return async () => {
    const offset = offsets[next++];
    if (offset === undefined || !sleep) return;
    const wait = offset - at;
    at = offset;
    if (wait > 0) await sleep(wait);
  };
}

const unpaced: Pacer = async () => {};

/** Where the names are chosen: the stack's account (from the custom resource's StackId). */
export interface ShapeTarget {
  account: string;
  partition: string;
  /** The parameters key (its ARN): the planter gives it the chosen alias. */
  keyId?: string;
  /** The stack's name: its own resources are not the account's conventions. */
  stackName?: string;
  /**
   * Organization mode: a member account's parameters are encrypted under this key
   * (`alias/aws/ssm`, the account's AWS managed key), not under an alias the planter
   * creates: the member role has no grant on the security account's key.
   */
  parameterKeyAlias?: string;
}

export const newNamingSeed = (): string => randomBytes(16).toString('hex');

export interface PlantResult {
  created: string[];
  removed: string[];
  accessKeyId?: string;
  /** plantShape: the spec it applied (names chosen or reused). */
  spec?: PlantSpec;
}

export interface RefreshResult {
  rotated: boolean;
  parameters: number;
  objects: number;
  /** Secrets Manager values rotated (on their own cadence). */
  secrets: number;
  accessKeyId?: string;
  reason?: string;
}

export interface RemoveResult {
  removed: string[];
}

/** A planned name that exists and is not ours. */
export class ForeignResourceError extends Error {
  override readonly name = 'ForeignResourceError';
}

/** Failure Reasons show in stack events, which ReadOnlyAccess reads: config keys by their neutral tail. */
const HINTS: Record<OwnedKind, string> = {
  'ssm-parameter': 'list other names in the configuration (ssm.parameters) or retry (names are chosen again)',
  's3-bucket': 'set another name in the configuration (s3.bucketName) or retry (names are chosen again)',
  'iam-user': 'set another name in the configuration (iam.userName) or retry (names are chosen again)',
  'kms-alias': 'retry (names are chosen again)',
  'secretsmanager-secret':
    'list other names in the configuration (secrets.secrets) or retry (names are chosen again)',
};

const LABELS: Record<OwnedKind, string> = {
  'ssm-parameter': 'SSM parameter',
  's3-bucket': 'S3 bucket',
  'iam-user': 'IAM user',
  'kms-alias': 'KMS alias',
  'secretsmanager-secret': 'secret',
};

function foreign(taken: { kind: OwnedKind; text: string }[]): ForeignResourceError {
  const hints = [...new Set(taken.map((t) => HINTS[t.kind]))];
  return new ForeignResourceError(
    `${taken.map((t) => t.text).join(', ')} already ${taken.length === 1 ? 'exists' : 'exist'} and ` +
      `${taken.length === 1 ? 'was' : 'were'} not created by this stack, so nothing was changed; ${hints.join('; ')}`,
  );
}

/** The content's tags, with the ownership key the role's ABAC conditions need (decoy-fleet.ts). */
function ownedTags(spec: PlantSpec): Tag[] {
  const tags = resourceTags(spec);
  return tags.some((t) => t.key === OWNERSHIP_TAG_KEY)
    ? tags
    : [...tags, { key: OWNERSHIP_TAG_KEY, value: 'automation' }];
}

const silent: PlanterLog = { info: () => {}, warn: () => {} };

/**
 * A parameter's write: this run's value, under the key's ARN when the registry
 * has it (the alias is then only what readers see), else under the planned alias.
 */
function secureString(
  parameter: Decoy,
  spec: PlantSpec,
  parts: SpecParts,
  secrets: SecretSet,
  keyArn: string | undefined,
): SecureStringInput {
  return {
    name: parameter.name,
    value: secrets.values.get(parameter.name) as string,
    keyId: keyArn ?? (parts.keyAlias as string),
    description: parameterDescription(parameter, spec),
  };
}

/** A bait object's kind (the spec's check requires one; renderObjects' default otherwise). */
function objectKindOf(object: Decoy): ObjectWrite['objectKind'] {
  return object.objectKind ?? 'terraform-state';
}

/**
 * The key a secret is created under when the registry has no key of ours: the
 * parameters' alias, or, when that is an AWS managed key (a member account's
 * `alias/aws/ssm`, which only SSM may use), Secrets Manager's own managed key.
 */
export function secretsKeyOf(parameterKeyAlias: string): string {
  return parameterKeyAlias.startsWith('alias/aws/') ? 'alias/aws/secretsmanager' : parameterKeyAlias;
}

function emptyRecord(spec: PlantSpec, now: string): RegistryRecord {
  return { version: 0, spec: specRecord(spec), owned: [], keys: [], createdAt: now, updatedAt: now };
}

export class Planter {
  /** What the planter is doing, for the Reason of a response sent on timeout. */
  step = 'starting';
  private record: RegistryRecord | undefined;
  private readonly log: PlanterLog;
  /** This run's parameter versions, as SSM reported them: the state file quotes them. */
  private readonly parameterVersions = new Map<string, number>();

  constructor(private readonly deps: PlanterDeps) {
    this.log = deps.log ?? silent;
  }

  /**
   * Create and update from the custom resource's shape. The first plant draws the
   * secret seed and chooses names from the account's inventory (naming.ts); later
   * runs keep every name the registry lists and choose only what the shape adds.
   */
  async plantShape(shape: DecoyShape, target: ShapeTarget): Promise<PlantResult> {
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    const seed = loaded?.seed ?? (this.deps.newSeed ?? newNamingSeed)();
    this.step = 'reading the account inventory';
    const where = { account: target.account, region: this.deps.region };
    const inventory: AccountInventory = this.deps.inventory
      ? await readInventory(this.deps.inventory, where)
      : emptyInventory(where.account, where.region);
    // Conventions come from the team's own names, not this stack's or the CDK bootstrap's.
    const fresh = chooseNames(shape, withoutPlatformNames(inventory, target.stackName), seededRandom(seed));
    const chosen = loaded
      ? reconcileNames(shape, namesOfSpec(decodeSpec(loaded.spec, 'registry spec')), fresh)
      : fresh;
    const names = target.parameterKeyAlias ? { ...chosen, keyAlias: target.parameterKeyAlias } : chosen;
    const spec: PlantSpec = {
      service: names.service,
      environment: names.environment,
      plan: planFromNames(shape, names, { ...where, partition: target.partition }),
    };
    const result = await this.plant(spec, { seed, keyId: target.keyId });
    await this.coverObjects(spec, inventory);
    return { ...result, spec };
  }

  /** Points the stack's trail's object events at the created bucket, among real ones. */
  private async coverObjects(spec: PlantSpec, inventory: AccountInventory): Promise<void> {
    const trail = this.deps.trailSelectors;
    const bucket = this.createdBucket(specParts(spec));
    if (!trail?.port.putEventSelectors || !bucket) return;
    const cover = inventory.buckets.filter((b) => b !== bucket && b !== trail.trailBucket).slice(0, 3);
    this.step = 'setting the trail selectors';
    await trail.port.putEventSelectors(
      trail.arn,
      trail.selectors({ trailBucket: trail.trailBucket, logged: [bucket], cover }),
    );
  }

  /** Create and update: plants what the spec names and removes what it no longer names. */
  async plant(spec: PlantSpec, options: { seed?: string; keyId?: string } = {}): Promise<PlantResult> {
    const parts = specParts(spec);
    const now = this.now();
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    this.record = loaded ?? emptyRecord(spec, now);
    this.record.spec = specRecord(spec);
    if (options.seed && !this.record.seed) this.record.seed = options.seed;
    if (options.keyId) this.record.keyArn = options.keyId;
    const aliasArn =
      parts.keyAlias &&
      `arn:${parts.partition}:kms:${this.deps.region}:${parts.account ?? ''}:${parts.keyAlias}`;

    // 1. A name not yet ours must be free: whatever is there belongs to someone else.
    //    Only free names are claimed, so a claim found later (a run that stopped) is ours.
    const desired: { kind: OwnedKind; name: string; arn: string }[] = [
      ...parts.parameters.map((p) => ({ kind: 'ssm-parameter' as const, name: p.name, arn: p.arn })),
      ...(parts.bucket
        ? [{ kind: 's3-bucket' as const, name: parts.bucket.name, arn: parts.bucket.arn }]
        : []),
      ...(parts.user ? [{ kind: 'iam-user' as const, name: parts.user.name, arn: parts.user.arn }] : []),
      ...parts.secrets.map((p) => ({ kind: 'secretsmanager-secret' as const, name: p.name, arn: p.arn })),
      // The alias is ours to manage only when the key is given (plantShape); an alias
      // planted earlier stays ours either way.
      ...(parts.keyAlias &&
      aliasArn &&
      (options.keyId || this.record.owned.some((o) => o.kind === 'kms-alias' && o.name === parts.keyAlias))
        ? [{ kind: 'kms-alias' as const, name: parts.keyAlias, arn: aliasArn }]
        : []),
    ];
    const fresh = desired.filter((want) => !this.owned(want.kind, want.name));
    const taken: { kind: OwnedKind; text: string }[] = [];
    for (const want of fresh) {
      this.step = `checking that ${LABELS[want.kind]} ${want.name} is free`;
      const state =
        want.kind === 'kms-alias' && options.keyId
          ? await this.aliasState(want.name, options.keyId)
          : await this.probe(want.kind, want.name);
      if (state !== 'missing')
        taken.push({
          kind: want.kind,
          text: `${LABELS[want.kind]} ${want.name}${state === 'foreign' ? ' (owned by another account or in another region)' : ''}`,
        });
    }
    if (taken.length > 0) throw foreign(taken);
    for (const want of fresh) this.record.owned.push({ ...want, state: 'claimed', claimedAt: now });
    this.step = 'claiming names in the registry';
    await this.commit();

    // 2. Remove what is no longer planned.
    const removed: string[] = [];
    const stale = this.record.owned.filter(
      (o) => !desired.some((want) => want.kind === o.kind && want.name === o.name),
    );
    for (const resource of stale) {
      await this.removeResource(resource);
      this.record.owned = this.record.owned.filter((o) => o !== resource);
      removed.push(`${resource.kind} ${resource.name}`);
    }
    if (stale.length > 0) {
      this.step = 'recording removals in the registry';
      await this.commit();
    }

    const target = this.target(spec);
    // A parameter keeps its value across plants (the bait quotes it); new ones, and
    // those of records older than the stored values, get one now.
    const rewrite = new Set(
      parts.parameters
        .filter((p) => {
          const owned = this.owned('ssm-parameter', p.name);
          return !owned || owned.state === 'claimed' || owned.value === undefined;
        })
        .map((p) => p.name),
    );
    this.loadVersions();
    const secrets = this.secretsFor(spec, target, rewrite);
    const created: string[] = [];
    const user = parts.user && this.owned('iam-user', parts.user.name);
    // The writes spread over a few seconds (a deploy waits for them): the plan's offsets, in the order the plant writes.
    const liveKey = user ? this.activeKey(user.name) : undefined;
    const pace = pacer(
      planRefresh({
        now: this.deps.clock(),
        secretSeed: this.paceSeed(),
        hasUser: Boolean(user),
        keyCreatedAt: liveKey ? new Date(liveKey.createdAt) : undefined,
        parameters: parts.parameters
          .filter((p) => rewrite.has(p.name))
          .map((p) => ({ name: p.name, format: p.format ?? 'api-token' })),
        objects: parts.bucket ? parts.objects.map((o) => ({ key: o.name, objectKind: objectKindOf(o) })) : [],
        spreadMs: PLANT_SPREAD_MS,
      }).steps,
      this.deps.sleep,
      PLANT_SPREAD_MS,
    );

    // 3. The user and its policy (re-asserted on every plant). "Exists" on a
    //    claimed name: an earlier run created it and stopped before recording it.
    // Tags changed since the last plant (or never recorded): re-set on what exists already.
    const tags = ownedTags(spec);
    const retag = this.current().tagsAsserted !== JSON.stringify(tags);
    if (user) {
      const isNew = user.state === 'claimed';
      if (isNew) {
        this.step = `creating IAM user ${user.name}`;
        const { userId } = await this.deps.iam.createUser({ userName: user.name, tags: ownedTags(spec) });
        this.markCreated(user, userId);
        created.push(`iam-user ${user.name}`);
      }
      if (!isNew && retag) {
        this.step = `tagging IAM user ${user.name}`;
        await this.deps.iam.tagUser(user.name, tags);
      }
      // The same document, in the same form (the key by its alias), as the bait state file shows.
      const policyInput = userPolicyInputOf(spec, target);
      this.step = `putting the policy of IAM user ${user.name}`;
      await this.deps.iam.putUserPolicy(
        user.name,
        userPolicyName(policyInput),
        userPolicyDocument(policyInput),
      );
      // Earlier versions attached a force-MFA Deny on everything, which would void the
      // Allow above. Listed first, so a deploy without it leaves no failed call in CloudTrail.
      if (!isNew && (await this.deps.iam.listUserPolicies(user.name)).includes(LEGACY_USER_POLICY_NAME)) {
        this.step = `removing the earlier policy of IAM user ${user.name}`;
        await this.deps.iam.deleteUserPolicy(user.name, LEGACY_USER_POLICY_NAME);
      }
    }

    // 3b. The parameters key's alias, before any parameter is encrypted under it.
    const alias = parts.keyAlias && this.owned('kms-alias', parts.keyAlias);
    if (alias && alias.state === 'claimed' && options.keyId) {
      this.step = `creating KMS alias ${alias.name}`;
      const aliasAnswer = await this.kms().createAlias(alias.name, options.keyId);
      if (aliasAnswer === 'exists') {
        const target = await this.kms().aliasTarget(alias.name);
        const ours = target !== undefined && options.keyId.endsWith(`/${target}`);
        if (!ours && target !== options.keyId) {
          this.record.owned = this.record.owned.filter((o) => o !== alias);
          await this.commit();
          throw foreign([{ kind: 'kms-alias', text: `KMS alias ${alias.name}` }]);
        }
      }
      this.markCreated(alias);
      created.push(`kms-alias ${alias.name}`);
    }

    // 4. Parameters.
    for (const parameter of parts.parameters) {
      const owned = this.owned('ssm-parameter', parameter.name) as OwnedResource;
      if (owned.state === 'created' && retag) {
        this.step = `tagging SSM parameter ${parameter.name}`;
        await this.deps.ssm.addTags(parameter.name, tags);
      }
      if (!rewrite.has(parameter.name)) continue;
      const input = secureString(parameter, spec, parts, secrets, this.current().keyArn);
      await pace();
      this.step = `writing SSM parameter ${parameter.name}`;
      if (owned.state === 'claimed') {
        const result = await this.deps.ssm.createSecureString({ ...input, tags: ownedTags(spec) });
        if (result === 'exists') await this.overwrite(input, owned);
        else this.wrote(owned, input.value, 1);
        this.markCreated(owned);
        created.push(`ssm-parameter ${parameter.name}`);
      } else {
        await this.overwrite(input, owned);
      }
    }

    // 4b. Secrets Manager secrets: created once with a value; later plants leave the value alone.
    await this.createSecrets(spec, target, secrets.database, created);

    // 5. The bucket, configured like a production bucket (re-asserted on every plant).
    const bucket = parts.bucket && this.owned('s3-bucket', parts.bucket.name);
    if (bucket) {
      if (bucket.state === 'claimed') {
        this.step = `creating S3 bucket ${bucket.name}`;
        try {
          await this.deps.s3.createBucket(bucket.name, this.deps.region);
        } catch (error) {
          // Taken by another account since it was found free: not ours, never delete it.
          if (!hasCode(error, 'BucketAlreadyExists')) throw error;
          this.record.owned = this.record.owned.filter((o) => o !== bucket);
          await this.commit();
          throw foreign([{ kind: 's3-bucket', text: `S3 bucket ${bucket.name} (taken by another account)` }]);
        }
      }
      await this.configureBucket(bucket.name, spec, target);
      if (bucket.state === 'claimed') {
        this.markCreated(bucket);
        created.push(`s3-bucket ${bucket.name}`);
      }
    }
    this.current().tagsAsserted = JSON.stringify(tags);
    this.step = 'recording created resources in the registry';
    await this.commit();

    // 6. The access key and the bait that leads to it.
    await this.settleKeys();
    const key = user ? await this.installKey(spec, secrets, target, { rotate: false, pace }) : undefined;
    if (!user) {
      await this.writeObjects(spec, secrets, target, undefined, { pace });
      this.step = 'recording the file writes in the registry';
      await this.commit();
    }
    return { created, removed, accessKeyId: key?.accessKeyId };
  }

  private async overwrite(input: SecureStringInput, owned: OwnedResource): Promise<void> {
    this.wrote(owned, input.value, await this.deps.ssm.overwriteSecureString(input));
  }

  /** A parameter's write, as the registry records it (committed by the caller). */
  private wrote(owned: OwnedResource, value: string, version: number): void {
    owned.value = value;
    owned.version = version;
    owned.writtenAt = this.now();
    this.parameterVersions.set(owned.name, version);
  }

  /** The registry's versions, for the parameters this run leaves alone. */
  private loadVersions(): void {
    for (const owned of this.current().owned) {
      if (owned.kind === 'ssm-parameter' && owned.version !== undefined)
        this.parameterVersions.set(owned.name, owned.version);
    }
  }

  /**
   * This run's values: fresh for the parameters in `rewrite` (and any whose value the
   * registry lacks), the registry's for the others, so the bait quotes what SSM holds.
   */
  private secretsFor(spec: PlantSpec, target: ContentTarget, rewrite: ReadonlySet<string>): SecretSet {
    const fresh = generateSecrets(spec, this.deps.random, target);
    const record = this.current();
    const stored = (name: string) => this.owned('ssm-parameter', name)?.value;
    const values = new Map<string, string>();
    for (const parameter of specParts(spec).parameters) {
      const kept = rewrite.has(parameter.name) ? undefined : stored(parameter.name);
      values.set(parameter.name, kept ?? (fresh.values.get(parameter.name) as string));
    }
    // The database password lives in the main service's password and connection
    // strings (the fresh values that contain it): it changes only when they do.
    const holders = [...fresh.values].filter(([, value]) => value.includes(fresh.database.password));
    const keep =
      record.databasePassword !== undefined &&
      holders.every(([name]) => values.get(name) !== fresh.values.get(name));
    const password = keep ? (record.databasePassword as string) : fresh.database.password;
    record.databasePassword = password;
    return { values, database: { ...fresh.database, password } };
  }

  private activeKey(userName: string): AccessKeyRecord | undefined {
    return this.current().keys.find((k) => k.userName === userName && k.status === 'active');
  }

  /** Jitter comes from the secret seed; a registry without one (plant without names chosen) uses its first plant time. */
  private paceSeed(): string {
    return this.current().seed ?? this.current().createdAt;
  }

  private async probe(kind: OwnedKind, name: string): Promise<BucketState> {
    switch (kind) {
      case 'ssm-parameter':
        return (await this.deps.ssm.parameterExists(name)) ? 'owned' : 'missing';
      case 'iam-user':
        return (await this.deps.iam.userExists(name)) ? 'owned' : 'missing';
      case 's3-bucket':
        return this.deps.s3.headBucket(name);
      case 'kms-alias':
        return (await this.kms().aliasTarget(name)) !== undefined ? 'owned' : 'missing';
      case 'secretsmanager-secret':
        return (await this.secretsPort().secretExists(name)) ? 'owned' : 'missing';
    }
  }

  private secretsPort(): SecretsPort {
    if (!this.deps.secrets) throw new Error('the planter was given no Secrets Manager port');
    return this.deps.secrets;
  }

  /** Creates the claimed secrets under the parameters' key, tagged like the rest. */
  private async createSecrets(
    spec: PlantSpec,
    target: ContentTarget,
    database: SecretSet['database'],
    created: string[],
  ): Promise<void> {
    const parts = specParts(spec);
    const claimed = parts.secrets.filter(
      (s) => this.owned('secretsmanager-secret', s.name)?.state === 'claimed',
    );
    if (claimed.length === 0) return;
    const values = generateSecretValues(claimed, this.deps.random, {
      service: spec.service,
      environment: spec.environment,
      database,
      target,
    });
    for (const secret of claimed) {
      const owned = this.owned('secretsmanager-secret', secret.name) as OwnedResource;
      const value = values.get(secret.name) as string;
      this.step = `creating secret ${secret.name}`;
      const answer = await this.secretsPort().createSecret({
        name: secret.name,
        value,
        kmsKeyId: this.current().keyArn ?? secretsKeyOf(parts.keyAlias as string),
        description: secretDescription(secret, spec.service),
        tags: ownedTags(spec),
      });
      // "Exists" on a claimed name: an earlier run created it and stopped before recording it.
      if (answer.result === 'exists') await this.secretsPort().putSecretValue(secret.name, value);
      if (answer.arn) owned.arn = answer.arn;
      owned.writtenAt = this.now();
      this.markCreated(owned);
      created.push(`secretsmanager-secret ${secret.name}`);
    }
    this.step = 'recording the secrets in the registry';
    await this.commit();
  }

  /** The scheduled refresh's share: each created secret gets a new value when its cadence says so. */
  private async rotateSecrets(spec: PlantSpec, target: ContentTarget): Promise<number> {
    const parts = specParts(spec);
    const seed = this.paceSeed();
    const now = this.deps.clock();
    const due = parts.secrets.filter((s) => {
      const owned = this.owned('secretsmanager-secret', s.name);
      if (owned?.state !== 'created') return false;
      const last = new Date(owned.writtenAt ?? owned.createdAt ?? owned.claimedAt);
      const cadence = SECRET_CADENCE[s.secretFormat ?? 'api-key'];
      return dueAt(last, cadence, seed, `secret:${s.name}`) <= now;
    });
    if (due.length === 0) return 0;
    const fresh = generateSecrets(spec, this.deps.random, target).database;
    const database = { ...fresh, password: this.current().databasePassword ?? fresh.password };
    const values = generateSecretValues(due, this.deps.random, {
      service: spec.service,
      environment: spec.environment,
      database,
      target,
    });
    for (const secret of due) {
      const owned = this.owned('secretsmanager-secret', secret.name) as OwnedResource;
      this.step = `rotating secret ${secret.name}`;
      await this.secretsPort().putSecretValue(
        owned.arn.includes(':secret:') ? owned.arn : secret.name,
        values.get(secret.name) as string,
      );
      owned.writtenAt = this.now();
    }
    this.step = 'recording the rotated secrets in the registry';
    await this.commit();
    return due.length;
  }

  /**
   * An alias that already points at our key is ours to claim (a stack deployed by an
   * earlier version created it as a stack resource); any other target is foreign.
   */
  private async aliasState(name: string, keyId: string): Promise<BucketState> {
    const target = await this.kms().aliasTarget(name);
    if (target === undefined || target === keyId || keyId.endsWith(`/${target}`)) return 'missing';
    return 'owned';
  }

  private kms(): KmsPort {
    if (!this.deps.kms) throw new Error('the planter was given no KMS port');
    return this.deps.kms;
  }

  /**
   * The scheduled refresh: writes only what cadence.ts says is due now (the key about
   * every 90 days, each secret on its format's cadence, the dump nightly, the .env and
   * the state when what they quote changed), spread over the run as its plan says.
   * A run with nothing due makes no AWS call: idle runs leave nothing in CloudTrail.
   * `rotateKey`: the response's refresh after the planted key was used: the key (and
   * the files that hold it) now, whatever the cadence says.
   */
  async refresh(options: { rotateKey?: boolean } = {}): Promise<RefreshResult> {
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    if (!loaded)
      return { rotated: false, parameters: 0, objects: 0, secrets: 0, reason: 'nothing is registered yet' };
    this.record = loaded;
    const spec = decodeSpec(loaded.spec, 'registry spec');
    const parts = specParts(spec);
    const target = this.target(spec);

    const user = parts.user ? this.owned('iam-user', parts.user.name) : undefined;
    const hasUser = user?.state === 'created';
    // A pending key is a rotation that stopped midway: it is finished now (as if no key were active).
    const pending = loaded.keys.some((k) => k.userName === user?.name && k.status === 'pending');
    const liveKey = hasUser && user && !pending && !options.rotateKey ? this.activeKey(user.name) : undefined;
    const parameterWrites: ParameterWrite[] = [];
    for (const parameter of parts.parameters) {
      const owned = this.owned('ssm-parameter', parameter.name);
      if (owned?.state !== 'created') continue;
      // Without a stored value (a record older than the cadence) the bait cannot quote it: due now.
      const lastWrite = owned.value !== undefined && owned.writtenAt ? new Date(owned.writtenAt) : undefined;
      parameterWrites.push({ name: parameter.name, format: parameter.format ?? 'api-token', lastWrite });
    }
    const written = new Map((loaded.objects ?? []).map((o) => [o.key, new Date(o.writtenAt)]));
    // A file that quotes values is due when something it quotes was written after it
    // (a run that stopped between the values and the files): it must not misquote them.
    // The .env quotes the key and the connection strings (cadence.ts envQuotes), the state everything.
    const quotedAt = (formats?: readonly string[]) =>
      Math.max(
        0,
        ...parameterWrites
          .filter((p) => !formats || formats.includes(p.format))
          .map((p) => p.lastWrite?.getTime() ?? 0),
        liveKey ? new Date(liveKey.createdAt).getTime() : 0,
      );
    const quoted = {
      'env-file': quotedAt(['database-url']),
      'terraform-state': quotedAt(),
      'database-dump': 0,
    };
    const objectWrites: ObjectWrite[] = this.createdBucket(parts)
      ? parts.objects.map((o) => {
          const objectKind = objectKindOf(o);
          const last = written.get(o.name);
          const stale = last !== undefined && last.getTime() < quoted[objectKind];
          return { key: o.name, objectKind, lastWrite: stale ? undefined : last };
        })
      : [];
    // Secrets Manager secrets keep their own cadence, apart from the bait they are not quoted in.
    const secretsRotated = await this.rotateSecrets(spec, target);
    const plan = planRefresh({
      now: this.deps.clock(),
      secretSeed: this.paceSeed(),
      hasUser,
      keyCreatedAt: liveKey ? new Date(liveKey.createdAt) : undefined,
      parameters: parameterWrites,
      objects: objectWrites,
    });
    if (plan.steps.length === 0)
      return {
        rotated: false,
        parameters: 0,
        objects: 0,
        secrets: secretsRotated,
        // Secrets rotated: the run did something, only nothing the bait files quote.
        ...(secretsRotated === 0 ? { reason: 'nothing is due' } : {}),
      };

    const pace = pacer(plan.steps, this.deps.sleep);
    const rewrite = new Set(plan.parameters);
    const objects = new Set(plan.objects);
    this.loadVersions();
    await this.settleKeys();
    const secrets = this.secretsFor(spec, target, rewrite);
    const writeParameters = async () => {
      for (const parameter of parts.parameters) {
        if (!rewrite.has(parameter.name)) continue;
        await pace();
        this.step = `rotating SSM parameter ${parameter.name}`;
        await this.overwrite(
          secureString(parameter, spec, parts, secrets, this.current().keyArn),
          this.owned('ssm-parameter', parameter.name) as OwnedResource,
        );
      }
      if (rewrite.size > 0) {
        // Before the bait quotes them: a failed commit leaves them due again, not misquoted for long.
        this.step = 'recording the new values in the registry';
        await this.commit();
      }
    };

    let key: AccessKeyRecord | undefined;
    if (hasUser && plan.rotateKey) {
      key = await this.installKey(spec, secrets, target, {
        rotate: true,
        pace,
        beforeFiles: writeParameters,
        objects,
      });
    } else {
      await writeParameters();
      const current = user ? this.activeKey(user.name) : undefined;
      await this.writeObjects(spec, secrets, target, current, { pace, objects });
      this.current().rotatedAt = this.now();
      this.step = 'recording the refresh in the registry';
      await this.commit();
    }
    return {
      rotated: plan.rotateKey,
      parameters: plan.parameters.length,
      objects: plan.objects.length,
      secrets: secretsRotated,
      accessKeyId: key?.accessKeyId,
    };
  }

  /** Stack deletion: removes everything the registry says is ours, then the registry. */
  async remove(): Promise<RemoveResult> {
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    if (!loaded) return { removed: [] };
    this.record = loaded;
    const order: OwnedKind[] = [
      's3-bucket',
      'iam-user',
      'ssm-parameter',
      'secretsmanager-secret',
      'kms-alias',
    ];
    const removed: string[] = [];
    for (const kind of order) {
      for (const resource of loaded.owned.filter((o) => o.kind === kind)) {
        await this.removeResource(resource);
        removed.push(`${resource.kind} ${resource.name}`);
      }
    }
    this.step = 'removing the registry';
    await this.deps.registry.remove();
    this.record = undefined;
    return { removed };
  }

  // --- keys -------------------------------------------------------------------

  /**
   * Brings the registry and IAM into agreement before keys change: keys IAM has
   * that the registry never listed are deleted (no bait ever held them), listed
   * keys IAM no longer has become `deleted`, and `retiring` keys are deleted.
   */
  private async settleKeys(): Promise<void> {
    const record = this.current();
    const user = record.owned.find((o) => o.kind === 'iam-user' && o.state === 'created');
    if (!user) return;
    this.step = `listing the access keys of ${user.name}`;
    const existing = await this.deps.iam.listAccessKeys(user.name);
    const ids = new Set(existing.map((k) => k.accessKeyId));
    let changed = false;
    for (const key of existing) {
      const known = record.keys.find((k) => k.accessKeyId === key.accessKeyId);
      if (known && known.status !== 'deleted') continue;
      this.log.warn('deleting an unlisted access key');
      this.step = `deleting unlisted access key ${key.accessKeyId}`;
      await this.deps.iam.deleteAccessKey(user.name, key.accessKeyId);
    }
    for (const key of record.keys) {
      if (key.userName !== user.name || !LIVE_KEY_STATUSES.includes(key.status)) continue;
      if (!ids.has(key.accessKeyId)) {
        this.retire(key);
        changed = true;
      } else if (key.status === 'retiring') {
        this.step = `deleting replaced access key ${key.accessKeyId}`;
        await this.deps.iam.deleteAccessKey(user.name, key.accessKeyId);
        this.retire(key);
        changed = true;
      }
    }
    if (changed) {
      this.step = 'recording settled access keys in the registry';
      await this.commit();
    }
  }

  /**
   * Puts a key in the bait. The order is the point:
   *   A create the key               (fails: nothing changed)
   *   B registry: key pending        (fails: the new key is deleted again)
   *   C bait written with the key    (fails: the bait holds the old key, both listed)
   *   D registry: new active, old retiring
   *   E old key deleted              (fails: the next run deletes it)
   *   F registry: old key deleted    (fails: `retiring` means "may be gone")
   * A pending key left by a stopped run is reused at C (its secret is in the
   * registry), so IAM's limit of two keys per user is never hit.
   */
  private async installKey(
    spec: PlantSpec,
    secrets: SecretSet,
    target: ContentTarget,
    options: {
      rotate: boolean;
      pace: Pacer;
      /** Runs after the new key is recorded, before the bait is written (a refresh's parameters). */
      beforeFiles?: () => Promise<void>;
      /** The bait objects to write (default all). */
      objects?: ReadonlySet<string>;
    },
  ): Promise<AccessKeyRecord> {
    const record = this.current();
    const user = record.owned.find((o) => o.kind === 'iam-user' && o.state === 'created') as OwnedResource;
    const live = () =>
      record.keys.filter((k) => k.userName === user.name && LIVE_KEY_STATUSES.includes(k.status));
    const active = live().find((k) => k.status === 'active');
    const pending = live().find((k) => k.status === 'pending');

    if (active && !pending && !options.rotate) {
      await options.beforeFiles?.();
      await this.writeObjects(spec, secrets, target, active, options);
      this.step = 'recording the file writes in the registry';
      await this.commit();
      return active;
    }

    let next = pending;
    if (!next) {
      await options.pace();
      this.step = `creating an access key for ${user.name}`;
      const created = await this.deps.iam.createAccessKey(user.name);
      next = {
        accessKeyId: created.accessKeyId,
        secretAccessKey: created.secretAccessKey,
        userName: user.name,
        status: 'pending',
        createdAt: this.now(),
      };
      record.keys.push(next);
      try {
        this.step = 'recording the new access key in the registry';
        await this.commit();
      } catch (error) {
        // Unrecorded, the key must not survive: delete it (the next run would otherwise).
        try {
          await this.deps.iam.deleteAccessKey(user.name, created.accessKeyId);
        } catch (cleanup) {
          this.log.warn('could not delete an unrecorded access key', { error: String(cleanup) });
        }
        throw error;
      }
    }
    const nextId = next.accessKeyId;
    const find = (id: string) => this.current().keys.find((k) => k.accessKeyId === id) as AccessKeyRecord;

    await options.beforeFiles?.();
    await this.writeObjects(spec, secrets, target, find(nextId), options);

    for (const key of live()) {
      if (key.accessKeyId !== nextId) {
        key.status = 'retiring';
        key.retiredAt = this.now();
      }
    }
    find(nextId).status = 'active';
    this.step = 'recording the active access key in the registry';
    await this.commit();

    const retiring = this.current().keys.filter((k) => k.userName === user.name && k.status === 'retiring');
    for (const key of retiring) {
      this.step = `deleting replaced access key ${key.accessKeyId}`;
      await this.deps.iam.deleteAccessKey(user.name, key.accessKeyId);
      this.retire(key);
    }
    if (options.rotate) this.current().rotatedAt = this.now();
    if (retiring.length > 0 || options.rotate) {
      this.step = 'recording the rotation in the registry';
      await this.commit();
    }
    return find(nextId);
  }

  private retire(key: AccessKeyRecord): void {
    key.status = 'deleted';
    key.retiredAt = key.retiredAt ?? this.now();
    delete key.secretAccessKey;
    const record = this.current();
    const deleted = record.keys.filter((k) => k.status === 'deleted');
    const drop = new Set(deleted.slice(0, Math.max(0, deleted.length - RETIRED_KEYS_KEPT)));
    record.keys = record.keys.filter((k) => !drop.has(k));
  }

  // --- bait and bucket ----------------------------------------------------------

  private async writeObjects(
    spec: PlantSpec,
    secrets: SecretSet,
    target: ContentTarget,
    key: AccessKeyRecord | undefined,
    options: { pace: Pacer; objects?: ReadonlySet<string> } = { pace: unpaced },
  ): Promise<void> {
    const parts = specParts(spec);
    const bucket = this.createdBucket(parts);
    if (!bucket) return;
    if (options.objects?.size === 0) return;
    const user = parts.user && this.owned('iam-user', parts.user.name);
    const objects = renderObjects({
      spec,
      secrets,
      key: key?.secretAccessKey
        ? { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }
        : undefined,
      target,
      now: this.deps.clock(),
      userId: user?.uniqueId,
      createdAt: new Date(this.current().createdAt),
      secretSeed: this.current().seed,
      parameterVersions: this.parameterVersions,
      keyCreatedAt: key ? new Date(key.createdAt) : undefined,
      secretArns: new Map(
        this.current()
          // Only real ARNs (with Secrets Manager's suffix): a state never shows the plan's.
          .owned.filter(
            (o) =>
              o.kind === 'secretsmanager-secret' && o.state === 'created' && SECRET_ARN_SUFFIX.test(o.arn),
          )
          .map((o) => [o.name, o.arn]),
      ),
    });
    const record = this.current();
    // The order a real run writes in (cadence.ts): the dump, the .env, the state last (as an apply ends).
    const kindOf = new Map(parts.objects.map((o) => [o.name, objectKindOf(o)]));
    const rank = { 'database-dump': 0, 'env-file': 1, 'terraform-state': 2 } as const;
    const ordered = [...objects].sort(
      (a, b) => rank[kindOf.get(a.key) ?? 'terraform-state'] - rank[kindOf.get(b.key) ?? 'terraform-state'],
    );
    for (const object of ordered) {
      if (options.objects && !options.objects.has(object.key)) continue;
      await options.pace();
      const { archiveKey, ...latest } = object;
      // The dump's dated copy first, as a nightly job uploads the night's file and
      // then the latest: the prefix lists one per night (the lifecycle expires them).
      if (archiveKey) {
        this.step = `writing s3://${bucket}/${archiveKey}`;
        await this.deps.s3.putObject({ bucket, ...latest, key: archiveKey });
      }
      this.step = `writing s3://${bucket}/${object.key}`;
      await this.deps.s3.putObject({ bucket, ...latest });
      // Recorded by the caller's next commit; unrecorded, the object is simply due again.
      record.objects = [
        ...(record.objects ?? []).filter((o) => o.key !== object.key),
        { key: object.key, writtenAt: this.now() },
      ];
    }
  }

  /** The planned bucket's name once it is created: only then can objects be written. */
  private createdBucket(parts: SpecParts): string | undefined {
    const name = parts.bucket?.name;
    return name && this.owned('s3-bucket', name)?.state === 'created' ? name : undefined;
  }

  private async configureBucket(bucket: string, spec: PlantSpec, target: ContentTarget): Promise<void> {
    const s3 = this.deps.s3;
    this.step = `configuring S3 bucket ${bucket}`;
    await s3.putPublicAccessBlock(bucket);
    await s3.putOwnershipControls(bucket);
    await s3.putEncryption(bucket);
    await s3.putVersioning(bucket);
    await s3.putLifecycle(bucket, bucketLifecycleRules(spec));
    await s3.putTagging(bucket, bucketTags(spec));
    await s3.putPolicy(bucket, bucketPolicyDocument(bucket, target.partition));
  }

  // --- removal -----------------------------------------------------------------

  private async removeResource(resource: OwnedResource): Promise<void> {
    switch (resource.kind) {
      case 'ssm-parameter':
        this.step = `deleting SSM parameter ${resource.name}`;
        await this.deps.ssm.deleteParameter(resource.name);
        return;
      case 's3-bucket': {
        this.step = `emptying S3 bucket ${resource.name}`;
        const versions = await this.deps.s3.listObjectVersions(resource.name);
        if (versions.length > 0) await this.deps.s3.deleteObjectVersions(resource.name, versions);
        this.step = `deleting S3 bucket ${resource.name}`;
        await this.deps.s3.deleteBucket(resource.name);
        return;
      }
      case 'iam-user':
        await this.removeUser(resource.name);
        return;
      case 'kms-alias':
        this.step = `deleting KMS alias ${resource.name}`;
        await this.kms().deleteAlias(resource.name);
        return;
      case 'secretsmanager-secret':
        // At once, without the recovery window: the name must be free for the next plant.
        this.step = `deleting secret ${resource.name}`;
        await this.secretsPort().deleteSecret(resource.name);
        return;
    }
  }

  /** Everything DeleteUser requires gone first that this stack (or a responder) may have added. */
  private async removeUser(userName: string): Promise<void> {
    const iam = this.deps.iam;
    this.step = `deleting the access keys of IAM user ${userName}`;
    for (const key of await iam.listAccessKeys(userName)) {
      await iam.deleteAccessKey(userName, key.accessKeyId);
      const known = this.record?.keys.find((k) => k.accessKeyId === key.accessKeyId);
      if (known) this.retire(known);
    }
    this.step = `deleting the policies of IAM user ${userName}`;
    for (const policy of await iam.listUserPolicies(userName)) await iam.deleteUserPolicy(userName, policy);
    for (const arn of await iam.listAttachedUserPolicies(userName)) await iam.detachUserPolicy(userName, arn);
    this.step = `deleting IAM user ${userName}`;
    await iam.deleteLoginProfile(userName);
    await iam.deleteUser(userName);
    for (const key of this.record?.keys ?? []) {
      if (key.userName === userName && key.status !== 'deleted') this.retire(key);
    }
  }

  // --- registry helpers --------------------------------------------------------

  private current(): RegistryRecord {
    if (!this.record) throw new Error('the registry was not read');
    return this.record;
  }

  private owned(kind: OwnedKind, name: string): OwnedResource | undefined {
    return this.current().owned.find((o) => o.kind === kind && o.name === name);
  }

  private markCreated(resource: OwnedResource, uniqueId?: string): void {
    resource.state = 'created';
    resource.createdAt = this.now();
    if (uniqueId) resource.uniqueId = uniqueId;
  }

  private async commit(): Promise<void> {
    const record = this.current();
    record.updatedAt = this.now();
    // Only the version changes on a save; callers keep references into this record.
    record.version = (await this.deps.registry.save(record)).version;
  }

  private target(spec: PlantSpec): ContentTarget {
    const parts = specParts(spec);
    return { region: this.deps.region, account: parts.account ?? '', partition: parts.partition };
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }
}
