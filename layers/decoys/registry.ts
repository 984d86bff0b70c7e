import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { issueLines } from '../runtime/issues';
import { fnv1a } from '../stealth/stems';
import { awsCall, describeAwsError, hasCode, SDK_RETRY } from './aws-errors';
import type { Decoy } from './catalogue';
import { decoySchema } from './spec';

/**
 * The decoy registry: what the planter created, so that the scheduled refresh
 * knows what to rotate, removal knows what is ours to delete, and detection knows
 * the decoys' current access key ids.
 *
 * It lives in the stack's state table, whose resource policy denies reads to every
 * principal but the stack's own function roles (infra/constructs/state-store.ts):
 * ReadOnlyAccess grants dynamodb:GetItem on every table, an explicit Deny beats it.
 *
 * Item layout: ONE item, so that every change is one conditional write.
 *
 *   pk          "inventory"
 *   sk          "current"
 *   version     number   optimistic lock: each write requires the version it read
 *   spec        map      { service, environment, items: Decoy[] }: the plan last applied
 *   seed        string   the secret naming seed (hex, 128 bits), drawn at the first
 *                        plant; names are chosen with it (naming.ts) and never
 *                        recomputed: later runs reuse the names in `spec`
 *   keyArn      string   the parameters key (the custom resource's KeyArn); the
 *                        alias the planter chose points at it
 *   owned       list     [{ kind, name, arn, state, claimedAt, createdAt?, uniqueId?,
 *                        value?, version?, writtenAt? }]
 *                        kind: ssm-parameter | s3-bucket | iam-user | kms-alias |
 *                        secretsmanager-secret (arn: the full ARN once created) (objects
 *                        live in the bucket, the access keys under `keys`); a parameter
 *                        keeps its current value, SSM version and last write time
 *   objects     list     [{ key, writtenAt }]: each bait object's last write
 *   databasePassword     the bait database's password (see recordSchema)
 *   keys        list     [{ accessKeyId, userName, status, createdAt, retiredAt?, secretAccessKey? }]
 *   createdAt   string   ISO time of the first plant
 *   updatedAt   string   ISO time of the last write
 *   rotatedAt   string   ISO time of the last refresh that wrote something (absent: never)
 *
 * Fields added later are optional, so older records parse: a parameter without a
 * value or an object without a write time is due at the next refresh.
 *
 * `state`: `claimed` is written BEFORE the resource is created, `created` after.
 * (Records of earlier versions named that state and both `createdAt` fields with a
 * purpose word; upgradeLegacyNames reads them.)
 * A name that already exists in AWS and was not claimed by an earlier run is not
 * ours: the planter refuses it and removal never touches it.
 *
 * Key `status` (each one is true whatever step a rotation stopped at):
 *   pending   created; the bait .env may or may not hold it yet
 *   active    the bait .env holds it
 *   retiring  replaced; being deleted (may already be gone)
 *   deleted   deleted from IAM; kept (last RETIRED_KEYS_KEPT) because a stale
 *             stolen copy used later is still worth a finding
 * The secret is kept while the key is live so the bait can be rewritten at any
 * time; it is a deny-all key that the bait bucket publishes anyway.
 */

export const REGISTRY_KEY = { pk: 'inventory', sk: 'current' } as const;

/**
 * Organization mode: one item per member account, its sort key the account id, so
 * that each account's decoys (and each finding's account) are looked up on their own.
 * Single-account mode keeps REGISTRY_KEY.
 */
export function registryKey(account?: string): { pk: string; sk: string } {
  if (account === undefined) return { ...REGISTRY_KEY };
  if (!/^\d{12}$/.test(account)) throw new Error(`registry: "${account}" is not a 12-digit account id`);
  return { pk: REGISTRY_KEY.pk, sk: account };
}

/**
 * Where the planter records what it created: DynamoDB deployed (DynamoRegistry),
 * memory in tests. Here, with the record, rather than in ports.ts:
 * ports.ts naming the record would close the circle ports -> registry -> ports.
 */
export interface RegistryPort {
  load(): Promise<RegistryRecord | undefined>;
  /**
   * Writes the record if the stored version is still `record.version` (0: none
   * stored) and returns it with the next version; a concurrent writer makes it
   * throw RegistryConflictError.
   */
  save(record: RegistryRecord): Promise<RegistryRecord>;
  remove(): Promise<void>;
}

export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
}

export const RETIRED_KEYS_KEPT = 30;

export const ownedKinds = [
  'ssm-parameter',
  's3-bucket',
  'iam-user',
  'kms-alias',
  'secretsmanager-secret',
] as const;
export type OwnedKind = (typeof ownedKinds)[number];

const ownedSchema = z.object({
  kind: z.enum(ownedKinds),
  name: z.string(),
  arn: z.string(),
  state: z.enum(['claimed', 'created']),
  claimedAt: z.string(),
  createdAt: z.string().optional(),
  /** iam-user: IAM's unique id (AIDA...), which the state file quotes. */
  uniqueId: z.string().optional(),
  /**
   * ssm-parameter: its current value. The planter cannot read values back (no
   * kms:Decrypt), and the bait quotes the values of parameters a run leaves alone.
   */
  value: z.string().optional(),
  /** ssm-parameter: its SSM version after the last write (the state file quotes it). */
  version: z.number().int().min(1).optional(),
  /** ssm-parameter: when its value was last written (cadence.ts decides when it is next due). */
  writtenAt: z.string().optional(),
});
export type OwnedResource = z.infer<typeof ownedSchema>;

export const keyStatuses = ['pending', 'active', 'retiring', 'deleted'] as const;
export type KeyStatus = (typeof keyStatuses)[number];
export const LIVE_KEY_STATUSES: readonly KeyStatus[] = ['pending', 'active', 'retiring'];

const keySchema = z.object({
  accessKeyId: z.string(),
  userName: z.string(),
  status: z.enum(keyStatuses),
  createdAt: z.string(),
  retiredAt: z.string().optional(),
  secretAccessKey: z.string().optional(),
});
export type AccessKeyRecord = z.infer<typeof keySchema>;

/** A bait object's last write (objects live in the bucket, not under `owned`). */
const objectWriteSchema = z.object({ key: z.string(), writtenAt: z.string() });
export type ObjectWriteRecord = z.infer<typeof objectWriteSchema>;

/**
 * The names records of earlier versions used for the state `created` and for both
 * `createdAt` fields, recognized by hash (stems.ts fnv1a): the readable names are
 * purpose words, the very words the rename took out of the function packages
 * (test/infra/bundles.test.ts). test/decoys/registry.test.ts reads such a record.
 */
const LEGACY_CREATED_STATE = 0x09bdcfa3;
const LEGACY_CREATED_AT = 0x8bafd836;

/** Renames a legacy attribute (recognized by hash) to `to`, unless `to` is already set. */
function upgradeAttribute(item: Record<string, unknown>, hash: number, to: string): Record<string, unknown> {
  const legacy = Object.keys(item).find((key) => key !== to && fnv1a(key) === hash);
  if (legacy === undefined) return item;
  const { [legacy]: value, ...rest } = item;
  return rest[to] !== undefined ? rest : { ...rest, [to]: value };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A record of an earlier version in today's names; anything else passes unchanged (the schema judges it). */
export function upgradeLegacyNames(item: unknown): unknown {
  if (!isObject(item)) return item;
  const record = upgradeAttribute(item, LEGACY_CREATED_AT, 'createdAt');
  if (!Array.isArray(record.owned)) return record;
  return {
    ...record,
    owned: record.owned.map((entry: unknown) => {
      if (!isObject(entry)) return entry;
      const upgraded = upgradeAttribute(entry, LEGACY_CREATED_AT, 'createdAt');
      return typeof upgraded.state === 'string' && fnv1a(upgraded.state) === LEGACY_CREATED_STATE
        ? { ...upgraded, state: 'created' }
        : upgraded;
    }),
  };
}

const currentRecordSchema = z.object({
  version: z.number().int().min(0),
  spec: z.object({ service: z.string(), environment: z.string(), items: z.array(decoySchema) }),
  seed: z.string().optional(),
  /** The parameters key's ARN (from the custom resource): parameters are written under it. */
  keyArn: z.string().optional(),
  owned: z.array(ownedSchema),
  keys: z.array(keySchema),
  createdAt: z.string(),
  updatedAt: z.string(),
  rotatedAt: z.string().optional(),
  /** The bait objects' last writes; absent in records written before the cadence (all due). */
  objects: z.array(objectWriteSchema).optional(),
  /**
   * The password of the database the bait describes: the main service's password
   * parameter and connection strings hold it, and it changes only with them.
   */
  databasePassword: z.string().optional(),
  /**
   * The tags (JSON) last set on the user and parameters: a plant re-asserts them only
   * when they changed (records of earlier versions said `managed-by: terraform`).
   */
  tagsAsserted: z.string().optional(),
});
const recordSchema = z.preprocess(upgradeLegacyNames, currentRecordSchema);
export type RegistryRecord = z.infer<typeof currentRecordSchema>;

function parseRecord(item: unknown): RegistryRecord {
  const result = recordSchema.safeParse(item);
  if (!result.success) {
    const problems = issueLines(result.error, { root: '(item)' });
    throw new Error(
      `the registry item (${REGISTRY_KEY.pk}/${REGISTRY_KEY.sk}) is malformed: ${problems.join('; ')}`,
    );
  }
  return result.data;
}

/** The registry in the state table. */
export class DynamoRegistry implements RegistryPort {
  private readonly key: { pk: string; sk: string };

  /** `account`: a member account's item (organization mode); absent, the single-account item. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    account?: string,
  ) {
    this.key = registryKey(account);
  }

  private get resource(): string {
    return `table ${this.tableName} item ${this.key.pk}/${this.key.sk}`;
  }

  async load(): Promise<RegistryRecord | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { ...this.key }, ConsistentRead: true }),
      ));
    } catch (error) {
      // A duplicate Delete after the stack is gone finds no table: nothing is registered.
      if (hasCode(error, 'ResourceNotFoundException')) return undefined;
      throw describeAwsError('dynamodb:GetItem', this.resource, error);
    }
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = item;
    return parseRecord(record);
  }

  async save(record: RegistryRecord): Promise<RegistryRecord> {
    const next = { ...record, version: record.version + 1 };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key, ...next },
          ConditionExpression:
            record.version === 0 ? 'attribute_not_exists(pk)' : '#version = :expectedVersion',
          ExpressionAttributeNames: record.version === 0 ? undefined : { '#version': 'version' },
          ExpressionAttributeValues:
            record.version === 0 ? undefined : { ':expectedVersion': record.version },
        }),
      );
    } catch (error) {
      if (hasCode(error, 'ConditionalCheckFailedException')) {
        throw new RegistryConflictError(
          `the registry changed since it was read (expected version ${record.version}): another run is ` +
            'planting or rotating at the same time; this run stopped, retry it',
        );
      }
      throw describeAwsError('dynamodb:PutItem', this.resource, error);
    }
    return next;
  }

  async remove(): Promise<void> {
    await awsCall('dynamodb:DeleteItem', this.resource, async () => {
      try {
        await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { ...this.key } }));
      } catch (error) {
        if (!hasCode(error, 'ResourceNotFoundException')) throw error;
      }
    });
  }
}

export function documentClient(client = new DynamoDBClient({ ...SDK_RETRY })): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A decoy as detection sees it; the access key decoy carries its key ids. */
export type RegisteredDecoy = Decoy & {
  /** iam-access-key: keys that exist or may exist (pending, active, retiring). */
  accessKeyIds?: string[];
  /** iam-access-key: keys deleted by rotation; a call signed with one is a stale stolen copy. */
  retiredAccessKeyIds?: string[];
};

export interface RegistryView {
  createdAt: string;
  updatedAt: string;
  rotatedAt?: string;
  resources: RegisteredDecoy[];
  /** Without secrets. */
  accessKeys: Omit<AccessKeyRecord, 'secretAccessKey'>[];
}

/** What detection may know: the created (or claimed) decoys and the key ids, never the secret. */
export function registryView(record: RegistryRecord): RegistryView {
  const owned = new Set(record.owned.map((o) => `${o.kind}:${o.name}`));
  const live = record.keys.filter((k) => LIVE_KEY_STATUSES.includes(k.status)).map((k) => k.accessKeyId);
  const retired = record.keys.filter((k) => k.status === 'deleted').map((k) => k.accessKeyId);
  // A claimed name may or may not exist yet: detection errs on the side of watching it.
  const userName = record.owned.find((o) => o.kind === 'iam-user')?.name;
  const decoys: RegisteredDecoy[] = [];
  for (const item of record.spec.items as Decoy[]) {
    switch (item.kind) {
      case 'kms-key':
        decoys.push(item);
        break;
      case 's3-object':
        if (item.bucket && owned.has(`s3-bucket:${item.bucket}`)) decoys.push(item);
        break;
      case 'iam-access-key':
        if (userName && item.name.startsWith(`${userName}/`))
          decoys.push({ ...item, accessKeyIds: live, retiredAccessKeyIds: retired });
        break;
      default:
        if (owned.has(`${item.kind}:${item.name}`)) decoys.push(item);
    }
  }
  return {
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    rotatedAt: record.rotatedAt,
    resources: decoys,
    accessKeys: record.keys.map(({ secretAccessKey: _secret, ...key }) => key),
  };
}

/**
 * Reads the registry for detection code (another function of this stack, whose
 * role the state table lets read). Undefined when nothing is registered.
 */
export async function readRegistry(options: {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** A member account's registry (organization mode); absent, the single-account one. */
  account?: string;
}): Promise<RegistryView | undefined> {
  const record = await new DynamoRegistry(
    options.client ?? documentClient(),
    options.tableName,
    options.account,
  ).load();
  return record ? registryView(record) : undefined;
}

/**
 * Every registry of the table: the single-account one (account undefined) and, in
 * organization mode, one per member account. For readers that act on any account's
 * decoys (the response's reserved users). One Query on the registry partition, every page.
 */
export async function readRegistries(options: {
  tableName: string;
  client?: DynamoDBDocumentClient;
}): Promise<{ account?: string; view: RegistryView }[]> {
  const client = options.client ?? documentClient();
  const views: { account?: string; view: RegistryView }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await awsCall('dynamodb:Query', `table ${options.tableName} ${REGISTRY_KEY.pk}`, () =>
      client.send(
        new QueryCommand({
          TableName: options.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': REGISTRY_KEY.pk },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      const { pk: _pk, sk, ...record } = item;
      const account = sk === REGISTRY_KEY.sk ? undefined : String(sk);
      views.push({ ...(account ? { account } : {}), view: registryView(parseRecord(record)) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return views;
}
