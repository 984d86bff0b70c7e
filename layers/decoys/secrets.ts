import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { awsCall, describeAwsError, hasCode } from './aws-errors';
import type { CreateResult, Tag } from './ports';

/**
 * The planter's view of Secrets Manager (one method per call, like ports.ts), the
 * AWS adapter and the in-memory one. Kept apart from ports.ts so the Secrets
 * Manager decoys stay one module.
 */

export interface SecretInput {
  name: string;
  value: string;
  /** Key id, ARN or alias of the customer-managed key (the parameters' key). */
  kmsKeyId: string;
  description: string;
}

export interface SecretsPort {
  /**
   * CreateSecret with the value and tags; `exists` when the name is taken (also by a
   * secret scheduled for deletion). `arn`: the full ARN, with Secrets Manager's suffix.
   */
  createSecret(input: SecretInput & { tags: Tag[] }): Promise<{ result: CreateResult; arn?: string }>;
  /** PutSecretValue: a new AWSCURRENT version. */
  putSecretValue(secretId: string, value: string): Promise<void>;
  /** DeleteSecret with ForceDeleteWithoutRecovery; a missing secret is success. */
  deleteSecret(secretId: string): Promise<void>;
  /** DescribeSecret: does the name exist (scheduled for deletion counts)? */
  secretExists(secretId: string): Promise<boolean>;
}

export class AwsSecrets implements SecretsPort {
  constructor(private readonly client: SecretsManagerClient) {}

  async createSecret(input: SecretInput & { tags: Tag[] }): Promise<{ result: CreateResult; arn?: string }> {
    try {
      const out = await this.client.send(
        new CreateSecretCommand({
          Name: input.name,
          SecretString: input.value,
          KmsKeyId: input.kmsKeyId,
          Description: input.description,
          Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })),
        }),
      );
      return { result: 'created', ...(out.ARN ? { arn: out.ARN } : {}) };
    } catch (error) {
      if (hasCode(error, 'ResourceExistsException')) return { result: 'exists' };
      throw describeAwsError('secretsmanager:CreateSecret', input.name, error);
    }
  }

  async putSecretValue(secretId: string, value: string): Promise<void> {
    await awsCall('secretsmanager:PutSecretValue', secretId, () =>
      this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value })),
    );
  }

  async deleteSecret(secretId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }),
      );
    } catch (error) {
      if (hasCode(error, 'ResourceNotFoundException')) return;
      throw describeAwsError('secretsmanager:DeleteSecret', secretId, error);
    }
  }

  async secretExists(secretId: string): Promise<boolean> {
    try {
      await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return true;
    } catch (error) {
      if (hasCode(error, 'ResourceNotFoundException')) return false;
      throw describeAwsError('secretsmanager:DescribeSecret', secretId, error);
    }
  }
}

// --- in memory -------------------------------------------------------------------

export interface StoredSecret {
  arn: string;
  kmsKeyId: string;
  description: string;
  tags: Tag[];
  /** Every value written, oldest first; the last is AWSCURRENT. */
  versions: string[];
}

type Caller = <T>(action: string, args: unknown[], effect: () => T) => Promise<T>;

/** The name a secret id designates in `store`: a name, a partial ARN or a full ARN. */
function resolve(store: Map<string, StoredSecret>, secretId: string): string | undefined {
  if (store.has(secretId)) return secretId;
  for (const [name, secret] of store) {
    if (secretId === secret.arn || secretId === secret.arn.slice(0, -7)) return name;
  }
  return undefined;
}

/**
 * Secrets Manager in memory, recording through `call` (MemoryAccount's log and
 * failure injection). Created secrets join `listed`, which the inventory lists.
 */
export function memorySecrets(
  store: Map<string, StoredSecret>,
  listed: string[],
  call: Caller,
  where: { account: string; region: string } = { account: '111122223333', region: 'us-east-1' },
): SecretsPort {
  let counter = 0;
  const suffix = () => {
    counter++;
    return `Ab${String(counter).padStart(4, '0')}`;
  };
  return {
    createSecret: (input) =>
      call('secretsmanager:CreateSecret', [input], () => {
        if (store.has(input.name) || listed.includes(input.name)) return { result: 'exists' as const };
        const arn = `arn:aws:secretsmanager:${where.region}:${where.account}:secret:${input.name}-${suffix()}`;
        store.set(input.name, {
          arn,
          kmsKeyId: input.kmsKeyId,
          description: input.description,
          tags: input.tags,
          versions: [input.value],
        });
        listed.push(input.name);
        return { result: 'created' as const, arn };
      }),
    putSecretValue: (secretId, value) =>
      call('secretsmanager:PutSecretValue', [secretId, value], () => {
        const name = resolve(store, secretId);
        if (!name) {
          const error = new Error(`Secrets Manager can't find the specified secret.`);
          error.name = 'ResourceNotFoundException';
          throw error;
        }
        store.get(name)?.versions.push(value);
      }),
    deleteSecret: (secretId) =>
      call('secretsmanager:DeleteSecret', [secretId], () => {
        const name = resolve(store, secretId);
        if (!name) return;
        store.delete(name);
        const at = listed.indexOf(name);
        if (at >= 0) listed.splice(at, 1);
      }),
    secretExists: (secretId) =>
      call(
        'secretsmanager:DescribeSecret',
        [secretId],
        () => resolve(store, secretId) !== undefined || listed.includes(secretId),
      ),
  };
}
