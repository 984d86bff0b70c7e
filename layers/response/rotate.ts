import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  type IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import type { StepPlan } from './plan';

/**
 * Key rotation, all-or-nothing: a new key is created and stored in one step, so
 * its secret never passes through the state machine's data (which Step Functions
 * keeps in the execution history). If storing fails the new key is deleted
 * before the error is raised; if even that fails, the cleanup step deletes every
 * key the user did not have before that is not the stored one. The old key is
 * never touched here.
 */

export interface KeyAdmin {
  listKeys(userName: string): Promise<{ accessKeyId: string; status: string }[]>;
  createKey(userName: string): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  deleteKey(userName: string, accessKeyId: string): Promise<void>;
}

export interface StoredKey {
  UserName: string;
  AccessKeyId: string;
  SecretAccessKey: string;
  CreatedAt: string;
}

export interface KeyVault {
  /** Stores (or replaces) the value under `name`; returns where it is (an ARN or a parameter name). */
  store(name: string, value: StoredKey): Promise<string>;
  /** The key stored under `name`, if any. */
  storedKey(name: string): Promise<StoredKey | undefined>;
}

/**
 * Confirms a key works by signing a call with it (sts:GetCallerIdentity needs no
 * permission): returns the ARN it authenticates as.
 */
export interface KeyCheck {
  callerOf(key: { accessKeyId: string; secretAccessKey: string }): Promise<string>;
}

/** Why a new key did not work yet: IAM propagates a new key within seconds, so these are retried. */
export class KeyNotWorking extends Error {
  override readonly name = 'KeyNotWorking';
}

export class RotationError extends Error {
  override readonly name: string;
  constructor(
    code: 'RotationFailed' | 'UnstoredKeyLeft' | 'RotationNotPossible' | 'NewKeyNotWorking',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export interface RotationResult {
  newAccessKeyId: string;
  storedIn: string;
  /** The ARN the new key authenticated as (sts:GetCallerIdentity with it). */
  verifiedAs: string;
}

export interface RotationDeps {
  keys: KeyAdmin;
  vault: KeyVault;
  check: KeyCheck;
  now: () => Date;
  /** Waits between checks of a key IAM has not propagated yet. Default: real time. */
  sleep?: (ms: number) => Promise<void>;
  /** Pauses between checks, ms: about 30 s in all, inside the function's minute. */
  checkBackoffMs?: readonly number[];
}

const CHECK_BACKOFF_MS = [1000, 2000, 4000, 8000, 15000] as const;

/**
 * The new key works: a call signed with it authenticates as the user. Until it
 * does, the old key is not deleted (the state machine deletes it only after a
 * rotation that returned): a key that never works fails the rotation with
 * NewKeyNotWorking, and the old one stays, inactive, for a person to decide.
 */
export async function checkNewKey(
  userName: string,
  key: { accessKeyId: string; secretAccessKey: string },
  deps: Pick<RotationDeps, 'check' | 'sleep' | 'checkBackoffMs'>,
): Promise<string> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pauses = deps.checkBackoffMs ?? CHECK_BACKOFF_MS;
  let last = '';
  for (let attempt = 0; attempt <= pauses.length; attempt++) {
    try {
      const arn = await deps.check.callerOf(key);
      if (!arn.endsWith(`:user/${userName}`) && !arn.endsWith(`/${userName}`))
        throw new RotationError(
          'NewKeyNotWorking',
          `the new key ${key.accessKeyId} authenticates as ${arn}, not user ${userName}`,
        );
      return arn;
    } catch (error) {
      if (!(error instanceof KeyNotWorking)) throw error;
      last = error.message;
    }
    const pause = pauses[attempt];
    if (pause !== undefined) await sleep(pause);
  }
  throw new RotationError(
    'NewKeyNotWorking',
    `the new key ${key.accessKeyId} of user ${userName} still fails sts:GetCallerIdentity after ${pauses.length + 1} tries (${last}); the old key is not deleted`,
  );
}

function requireUser(plan: StepPlan): string {
  if (!plan.userName) throw new RotationError('RotationNotPossible', 'the plan names no IAM user');
  return plan.userName;
}

export async function rotateKey(plan: StepPlan, deps: RotationDeps): Promise<RotationResult> {
  const userName = requireUser(plan);
  const before = new Set(plan.keysBefore);
  const keys = await deps.keys.listKeys(userName);

  // A retried call may find the key its first attempt made: keep it if stored, else remove it.
  const leftovers = keys.filter((k) => !before.has(k.accessKeyId));
  const stored = leftovers.length ? await deps.vault.storedKey(plan.keyStoreName) : undefined;
  for (const key of leftovers) {
    if (stored && key.accessKeyId === stored.AccessKeyId)
      return {
        newAccessKeyId: key.accessKeyId,
        storedIn: plan.keyStoreName,
        verifiedAs: await checkNewKey(
          userName,
          { accessKeyId: stored.AccessKeyId, secretAccessKey: stored.SecretAccessKey },
          deps,
        ),
      };
    await deps.keys.deleteKey(userName, key.accessKeyId);
  }
  const remaining = keys.filter((k) => before.has(k.accessKeyId));
  if (remaining.length >= 2)
    throw new RotationError('RotationNotPossible', `user ${userName} already has two access keys`);

  const created = await deps.keys.createKey(userName);
  let storedIn: string;
  try {
    storedIn = await deps.vault.store(plan.keyStoreName, {
      UserName: userName,
      AccessKeyId: created.accessKeyId,
      SecretAccessKey: created.secretAccessKey,
      CreatedAt: deps.now().toISOString(),
    });
  } catch (storeError) {
    try {
      await deps.keys.deleteKey(userName, created.accessKeyId);
    } catch (deleteError) {
      throw new RotationError(
        'UnstoredKeyLeft',
        `storing the new key ${created.accessKeyId} failed (${(storeError as Error).message}) and deleting it failed too (${(deleteError as Error).message})`,
      );
    }
    throw new RotationError(
      'RotationFailed',
      `storing the new key in ${plan.keyStoreName} failed, the new key was deleted: ${(storeError as Error).message}`,
    );
  }
  // Stored first, so a key that works late is not lost; checked before anything relies on it.
  const verifiedAs = await checkNewKey(userName, created, deps);
  return { newAccessKeyId: created.accessKeyId, storedIn, verifiedAs };
}

/** Deletes every key the user did not have before the response, except the stored one. */
export async function cleanupNewKeys(
  plan: StepPlan,
  deps: { keys: KeyAdmin; vault: KeyVault },
): Promise<{ deleted: string[]; kept: string[] }> {
  const userName = requireUser(plan);
  const before = new Set(plan.keysBefore);
  const fresh = (await deps.keys.listKeys(userName)).filter((k) => !before.has(k.accessKeyId));
  const stored = fresh.length ? (await deps.vault.storedKey(plan.keyStoreName))?.AccessKeyId : undefined;
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const key of fresh) {
    if (key.accessKeyId === stored) {
      kept.push(key.accessKeyId);
      continue;
    }
    await deps.keys.deleteKey(userName, key.accessKeyId);
    deleted.push(key.accessKeyId);
  }
  return { deleted, kept };
}

/** A stored key, or undefined when what is stored is not one (then nothing counts as stored). */
function parseStoredKey(text: string | undefined, name: string): StoredKey | undefined {
  try {
    const value = JSON.parse(text ?? '{}') as Partial<StoredKey>;
    return value.AccessKeyId && value.SecretAccessKey ? (value as StoredKey) : undefined;
  } catch (error) {
    throw new Error(`${name} does not hold a stored key (not JSON: ${(error as Error).message})`);
  }
}

/**
 * sts:GetCallerIdentity signed with the key itself. A key IAM has not propagated
 * yet is refused as InvalidClientTokenId (or its signature as not matching):
 * KeyNotWorking, retried by checkNewKey.
 */
export class StsKeyCheck implements KeyCheck {
  constructor(private readonly region?: string) {}

  async callerOf(key: { accessKeyId: string; secretAccessKey: string }): Promise<string> {
    const sts = new STSClient({ region: this.region, credentials: key });
    try {
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      return identity.Arn ?? '';
    } catch (error) {
      if (error instanceof STSServiceException && NOT_YET_VALID.has(error.name))
        throw new KeyNotWorking(`${error.name}: ${error.message}`);
      throw error;
    } finally {
      sts.destroy();
    }
  }
}

/** STS's answers to a key it does not know yet. */
const NOT_YET_VALID = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredTokenException']);

const isNotFound = (error: unknown) =>
  ['ResourceNotFoundException', 'ParameterNotFound', 'NoSuchEntityException'].includes(
    (error as { name?: string })?.name ?? '',
  );

export class IamKeyAdmin implements KeyAdmin {
  constructor(private readonly iam: IAMClient) {}
  async listKeys(userName: string) {
    const result = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return (result.AccessKeyMetadata ?? []).map((k) => ({
      accessKeyId: k.AccessKeyId ?? '',
      status: k.Status ?? '',
    }));
  }
  async createKey(userName: string) {
    const result = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const key = result.AccessKey;
    if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
    return { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  }
  async deleteKey(userName: string, accessKeyId: string) {
    try {
      await this.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

export class SecretsManagerVault implements KeyVault {
  constructor(private readonly secrets: SecretsManagerClient) {}
  async store(name: string, value: StoredKey): Promise<string> {
    const secret = JSON.stringify(value);
    try {
      const created = await this.secrets.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: secret,
          Description: `Access key of ${value.UserName}`,
        }),
      );
      return created.ARN ?? name;
    } catch (error) {
      if ((error as { name?: string })?.name !== 'ResourceExistsException') throw error;
      const put = await this.secrets.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: secret }),
      );
      return put.ARN ?? name;
    }
  }
  async storedKey(name: string): Promise<StoredKey | undefined> {
    try {
      const result = await this.secrets.send(new GetSecretValueCommand({ SecretId: name }));
      return parseStoredKey(result.SecretString, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

export class SsmParameterVault implements KeyVault {
  constructor(private readonly ssm: SSMClient) {}
  async store(name: string, value: StoredKey): Promise<string> {
    await this.ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: JSON.stringify(value),
        Type: 'SecureString',
        Overwrite: true,
      }),
    );
    return name;
  }
  async storedKey(name: string): Promise<StoredKey | undefined> {
    try {
      const result = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return parseStoredKey(result.Parameter?.Value, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
