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
  /** The key id stored under `name`, if any. */
  storedKeyId(name: string): Promise<string | undefined>;
}

export class RotationError extends Error {
  override readonly name: string;
  constructor(code: 'RotationFailed' | 'UnstoredKeyLeft' | 'RotationNotPossible', message: string) {
    super(message);
    this.name = code;
  }
}

export interface RotationResult {
  newAccessKeyId: string;
  storedIn: string;
}

function requireUser(plan: StepPlan): string {
  if (!plan.userName) throw new RotationError('RotationNotPossible', 'the plan names no IAM user');
  return plan.userName;
}

export async function rotateKey(
  plan: StepPlan,
  deps: { keys: KeyAdmin; vault: KeyVault; now: () => Date },
): Promise<RotationResult> {
  const userName = requireUser(plan);
  const before = new Set(plan.keysBefore);
  const keys = await deps.keys.listKeys(userName);

  // A retried call may find the key its first attempt made: keep it if stored, else remove it.
  const leftovers = keys.filter((k) => !before.has(k.accessKeyId));
  const stored = leftovers.length ? await deps.vault.storedKeyId(plan.keyStoreName) : undefined;
  for (const key of leftovers) {
    if (key.accessKeyId === stored) return { newAccessKeyId: key.accessKeyId, storedIn: plan.keyStoreName };
    await deps.keys.deleteKey(userName, key.accessKeyId);
  }
  const remaining = keys.filter((k) => before.has(k.accessKeyId));
  if (remaining.length >= 2)
    throw new RotationError('RotationNotPossible', `user ${userName} already has two access keys`);

  const created = await deps.keys.createKey(userName);
  try {
    const storedIn = await deps.vault.store(plan.keyStoreName, {
      UserName: userName,
      AccessKeyId: created.accessKeyId,
      SecretAccessKey: created.secretAccessKey,
      CreatedAt: deps.now().toISOString(),
    });
    return { newAccessKeyId: created.accessKeyId, storedIn };
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
}

/** Deletes every key the user did not have before the response, except the stored one. */
export async function cleanupNewKeys(
  plan: StepPlan,
  deps: { keys: KeyAdmin; vault: KeyVault },
): Promise<{ deleted: string[]; kept: string[] }> {
  const userName = requireUser(plan);
  const before = new Set(plan.keysBefore);
  const fresh = (await deps.keys.listKeys(userName)).filter((k) => !before.has(k.accessKeyId));
  const stored = fresh.length ? await deps.vault.storedKeyId(plan.keyStoreName) : undefined;
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
  async storedKeyId(name: string): Promise<string | undefined> {
    try {
      const result = await this.secrets.send(new GetSecretValueCommand({ SecretId: name }));
      return (JSON.parse(result.SecretString ?? '{}') as Partial<StoredKey>).AccessKeyId;
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
  async storedKeyId(name: string): Promise<string | undefined> {
    try {
      const result = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return (JSON.parse(result.Parameter?.Value ?? '{}') as Partial<StoredKey>).AccessKeyId;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
