import { hasCode } from './aws-errors';
import type { Decoy } from './catalogue';
import {
  bucketPolicyDocument,
  bucketTags,
  type ContentTarget,
  generateSecrets,
  parameterDescription,
  renderObjects,
  resourceTags,
  type SecretSet,
  USER_POLICY_NAME,
  userPolicyDocument,
} from './content';
import type {
  BucketState,
  Clock,
  IamPort,
  PlanterLog,
  RandomSource,
  RegistryPort,
  S3Port,
  SecureStringInput,
  SsmPort,
} from './ports';
import {
  type AccessKeyRecord,
  LIVE_KEY_STATUSES,
  type OwnedKind,
  type OwnedResource,
  RETIRED_KEYS_KEPT,
  type RegistryRecord,
} from './registry';
import { decodeSpec, type PlantSpec, type SpecParts, specParts, specRecord } from './spec';

/**
 * Plants, updates, refreshes and removes the decoys, over ports (ports.ts).
 *
 * Safety rules, each relied on by a test:
 * - A name is CLAIMED in the registry before it is created, and marked planted
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
}

export interface PlantResult {
  planted: string[];
  removed: string[];
  accessKeyId?: string;
}

export interface RefreshResult {
  rotated: boolean;
  parameters: number;
  objects: number;
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
  'ssm-parameter': 'list other names in the configuration (ssm.parameters) or change naming.seed',
  's3-bucket': 'set another name in the configuration (s3.bucketName) or change naming.seed',
  'iam-user': 'set another name in the configuration (iam.userName) or change naming.seed',
};

const LABELS: Record<OwnedKind, string> = {
  'ssm-parameter': 'SSM parameter',
  's3-bucket': 'S3 bucket',
  'iam-user': 'IAM user',
};

function foreign(taken: { kind: OwnedKind; text: string }[]): ForeignResourceError {
  const hints = [...new Set(taken.map((t) => HINTS[t.kind]))];
  return new ForeignResourceError(
    `${taken.map((t) => t.text).join(', ')} already ${taken.length === 1 ? 'exists' : 'exist'} and ` +
      `${taken.length === 1 ? 'was' : 'were'} not created by this stack, so nothing was changed; ${hints.join('; ')}`,
  );
}

const silent: PlanterLog = { info: () => {}, warn: () => {} };

/** A parameter's write: this run's value, under the planned key alias. */
function secureString(
  parameter: Decoy,
  spec: PlantSpec,
  parts: SpecParts,
  secrets: SecretSet,
): SecureStringInput {
  return {
    name: parameter.name,
    value: secrets.values.get(parameter.name) as string,
    keyId: parts.keyAlias as string,
    description: parameterDescription(parameter, spec),
  };
}

function emptyRecord(spec: PlantSpec, now: string): RegistryRecord {
  return { version: 0, spec: specRecord(spec), owned: [], keys: [], plantedAt: now, updatedAt: now };
}

export class Planter {
  /** What the planter is doing, for the Reason of a response sent on timeout. */
  step = 'starting';
  private record: RegistryRecord | undefined;
  private readonly log: PlanterLog;

  constructor(private readonly deps: PlanterDeps) {
    this.log = deps.log ?? silent;
  }

  /** Create and update: plants what the spec names and removes what it no longer names. */
  async plant(spec: PlantSpec): Promise<PlantResult> {
    const parts = specParts(spec);
    const now = this.now();
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    this.record = loaded ?? emptyRecord(spec, now);
    this.record.spec = specRecord(spec);

    // 1. A name not yet ours must be free: whatever is there belongs to someone else.
    //    Only free names are claimed, so a claim found later (a run that stopped) is ours.
    const desired: { kind: OwnedKind; name: string; arn: string }[] = [
      ...parts.parameters.map((p) => ({ kind: 'ssm-parameter' as const, name: p.name, arn: p.arn })),
      ...(parts.bucket
        ? [{ kind: 's3-bucket' as const, name: parts.bucket.name, arn: parts.bucket.arn }]
        : []),
      ...(parts.user ? [{ kind: 'iam-user' as const, name: parts.user.name, arn: parts.user.arn }] : []),
    ];
    const fresh = desired.filter((want) => !this.owned(want.kind, want.name));
    const taken: { kind: OwnedKind; text: string }[] = [];
    for (const want of fresh) {
      this.step = `checking that ${LABELS[want.kind]} ${want.name} is free`;
      const state = await this.probe(want.kind, want.name);
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
    const secrets = generateSecrets(spec, this.deps.random, target);
    const planted: string[] = [];

    // 3. The user and its deny policy (re-asserted on every plant). "Exists" on a
    //    claimed name: an earlier run created it and stopped before recording it.
    const user = parts.user && this.owned('iam-user', parts.user.name);
    if (user) {
      if (user.state === 'claimed') {
        this.step = `creating IAM user ${user.name}`;
        const { userId } = await this.deps.iam.createUser({ userName: user.name, tags: resourceTags(spec) });
        this.markPlanted(user, userId);
        planted.push(`iam-user ${user.name}`);
      }
      this.step = `putting the policy of IAM user ${user.name}`;
      await this.deps.iam.putUserPolicy(user.name, USER_POLICY_NAME, userPolicyDocument());
    }

    // 4. Parameters.
    for (const parameter of parts.parameters) {
      const owned = this.owned('ssm-parameter', parameter.name) as OwnedResource;
      const input = secureString(parameter, spec, parts, secrets);
      this.step = `writing SSM parameter ${parameter.name}`;
      if (owned.state === 'claimed') {
        const result = await this.deps.ssm.createSecureString({ ...input, tags: resourceTags(spec) });
        if (result === 'exists') await this.deps.ssm.overwriteSecureString(input);
        this.markPlanted(owned);
        planted.push(`ssm-parameter ${parameter.name}`);
      } else {
        await this.deps.ssm.overwriteSecureString(input);
      }
    }

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
        this.markPlanted(bucket);
        planted.push(`s3-bucket ${bucket.name}`);
      }
    }
    this.step = 'recording planted resources in the registry';
    await this.commit();

    // 6. The access key and the bait that leads to it.
    await this.settleKeys();
    const key = user ? await this.installKey(spec, secrets, target, { rotate: false }) : undefined;
    if (!user) await this.writeObjects(spec, secrets, target, undefined);
    return { planted, removed, accessKeyId: key?.accessKeyId };
  }

  private async probe(kind: OwnedKind, name: string): Promise<BucketState> {
    switch (kind) {
      case 'ssm-parameter':
        return (await this.deps.ssm.parameterExists(name)) ? 'owned' : 'missing';
      case 'iam-user':
        return (await this.deps.iam.userExists(name)) ? 'owned' : 'missing';
      case 's3-bucket':
        return this.deps.s3.headBucket(name);
    }
  }

  /** The scheduled rotation: new values everywhere, a new access key, the bait rewritten. */
  async refresh(): Promise<RefreshResult> {
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    if (!loaded) return { rotated: false, parameters: 0, objects: 0, reason: 'nothing is planted yet' };
    this.record = loaded;
    const spec = decodeSpec(loaded.spec, 'registry spec');
    const parts = specParts(spec);
    const target = this.target(spec);

    await this.settleKeys();
    const secrets = generateSecrets(spec, this.deps.random, target);
    let parameters = 0;
    for (const parameter of parts.parameters) {
      if (this.owned('ssm-parameter', parameter.name)?.state !== 'planted') continue;
      this.step = `rotating SSM parameter ${parameter.name}`;
      await this.deps.ssm.overwriteSecureString(secureString(parameter, spec, parts, secrets));
      parameters++;
    }
    const user = parts.user && this.owned('iam-user', parts.user.name);
    let key: AccessKeyRecord | undefined;
    if (user?.state === 'planted') {
      key = await this.installKey(spec, secrets, target, { rotate: true });
    } else {
      await this.writeObjects(spec, secrets, target, undefined);
      this.record.rotatedAt = this.now();
      this.step = 'recording the rotation in the registry';
      await this.commit();
    }
    return {
      rotated: true,
      parameters,
      objects: this.plantedBucket(parts) ? parts.objects.length : 0,
      accessKeyId: key?.accessKeyId,
    };
  }

  /** Stack deletion: removes everything the registry says is ours, then the registry. */
  async remove(): Promise<RemoveResult> {
    this.step = 'reading the registry';
    const loaded = await this.deps.registry.load();
    if (!loaded) return { removed: [] };
    this.record = loaded;
    const order: OwnedKind[] = ['s3-bucket', 'iam-user', 'ssm-parameter'];
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
    const user = record.owned.find((o) => o.kind === 'iam-user' && o.state === 'planted');
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
    options: { rotate: boolean },
  ): Promise<AccessKeyRecord> {
    const record = this.current();
    const user = record.owned.find((o) => o.kind === 'iam-user' && o.state === 'planted') as OwnedResource;
    const live = () =>
      record.keys.filter((k) => k.userName === user.name && LIVE_KEY_STATUSES.includes(k.status));
    const active = live().find((k) => k.status === 'active');
    const pending = live().find((k) => k.status === 'pending');

    if (active && !pending && !options.rotate) {
      await this.writeObjects(spec, secrets, target, active);
      return active;
    }

    let next = pending;
    if (!next) {
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

    await this.writeObjects(spec, secrets, target, find(nextId));

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
  ): Promise<void> {
    const parts = specParts(spec);
    const bucket = this.plantedBucket(parts);
    if (!bucket) return;
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
    });
    for (const object of objects) {
      this.step = `writing s3://${bucket}/${object.key}`;
      await this.deps.s3.putObject({ bucket, ...object });
    }
  }

  /** The planned bucket's name once it is planted: only then can objects be written. */
  private plantedBucket(parts: SpecParts): string | undefined {
    const name = parts.bucket?.name;
    return name && this.owned('s3-bucket', name)?.state === 'planted' ? name : undefined;
  }

  private async configureBucket(bucket: string, spec: PlantSpec, target: ContentTarget): Promise<void> {
    const s3 = this.deps.s3;
    this.step = `configuring S3 bucket ${bucket}`;
    await s3.putPublicAccessBlock(bucket);
    await s3.putOwnershipControls(bucket);
    await s3.putEncryption(bucket);
    await s3.putVersioning(bucket);
    await s3.putLifecycle(bucket);
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

  private markPlanted(resource: OwnedResource, uniqueId?: string): void {
    resource.state = 'planted';
    resource.plantedAt = this.now();
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
