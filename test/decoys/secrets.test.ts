import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys, shapeOf } from '../../layers/decoys/catalogue';
import { ENVIRONMENT_WORDS, emptyInventory } from '../../layers/decoys/inventory';
import { MemoryAccount } from '../../layers/decoys/memory';
import { chooseNames } from '../../layers/decoys/naming';
import { ForeignResourceError } from '../../layers/decoys/planter';
import { seededRandom } from '../../layers/decoys/random';
import { registryView } from '../../layers/decoys/registry';
import { inferSecretConventions, SECRET_ARN_SUFFIX } from '../../layers/decoys/secret-names';
import { SECRET_VALUE_PATTERNS } from '../../layers/decoys/secret-values';
import { AwsSecrets } from '../../layers/decoys/secrets';
import { decodeShape, encodeShape, specParts } from '../../layers/decoys/spec';
import { tellsIn } from '../../layers/stealth/tells';
import { ACCOUNT, DAY_MS, FIRST_RUN, makePlanter, makeSpec, REGION } from './fixtures';

const isEnvironment = (w: string) => (ENVIRONMENT_WORDS as readonly string[]).includes(w.toLowerCase());

describe('configuration', () => {
  it('plants two generated secrets by default, database credentials and an API key', () => {
    const config = parseConfig({});
    expect(config.decoys.secrets).toEqual({ enabled: true, count: 2, secrets: [] });
    expect(shapeOf(config).secrets).toEqual([{ format: 'database-credentials' }, { format: 'api-key' }]);
  });

  it('takes explicit secrets and refuses bad names', () => {
    const ok = parseConfig({
      decoys: {
        secrets: { secrets: [{ name: 'prod/orders/db-credentials', format: 'database-credentials' }] },
      },
    });
    expect(shapeOf(ok).secrets).toEqual([
      { name: 'prod/orders/db-credentials', format: 'database-credentials' },
    ]);
    const bad = (name: string) => () =>
      parseConfig({ decoys: { secrets: { secrets: [{ name, format: 'api-key' }] } } });
    expect(bad('prod/orders/has space')).toThrow(/secret name/);
    expect(bad('')).toThrow(/secret name/);
    expect(bad('x'.repeat(513))).toThrow(/secret name/);
    expect(bad('prod/orders/api-key1-abc123')).toThrow(/six characters/);
    expect(bad('prod/honey/api-key')).toThrow(/marker words/);
    expect(() =>
      parseConfig({
        decoys: {
          secrets: {
            secrets: [
              { name: 'prod/a/key', format: 'api-key' },
              { name: 'prod/a/key', format: 'api-key' },
            ],
          },
        },
      }),
    ).toThrow(/listed twice/);
  });

  it('disabled: no secret in the shape, the plan or the template shape', () => {
    const config = parseConfig({ decoys: { secrets: { enabled: false } } });
    expect(shapeOf(config).secrets).toBeUndefined();
    expect(
      planDecoys(config, { account: ACCOUNT, region: REGION }).resources.map((d) => d.kind),
    ).not.toContain('secretsmanager-secret');
  });

  it('the Shape property carries formats only, and round-trips', () => {
    const shape = shapeOf(parseConfig({}));
    const encoded = encodeShape(shape);
    expect(encoded).toContain('"secrets":[{"format":"database-credentials"},{"format":"api-key"}]');
    expect(decodeShape(encoded).secrets).toEqual(shape.secrets);
  });
});

describe('plan', () => {
  it('lists the secrets with kind secretsmanager-secret, a format and an ARN without the suffix', () => {
    const decoys = planDecoys(parseConfig({}), { account: ACCOUNT, region: REGION }).resources;
    const secrets = decoys.filter((d) => d.kind === 'secretsmanager-secret');
    expect(secrets.map((s) => s.secretFormat)).toEqual(['database-credentials', 'api-key']);
    for (const s of secrets) {
      expect(s.arn).toBe(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${s.name}`);
      expect(s.name).toMatch(/^prod\/[a-z-]+\/[a-z-]+$/);
      expect(s.name).not.toMatch(SECRET_ARN_SUFFIX);
      expect(tellsIn(s.name)).toEqual([]);
    }
    // Secrets only: the key is still planned (it encrypts them).
    const only = planDecoys(
      parseConfig({ decoys: { ssm: { enabled: false }, s3: { enabled: false }, iam: { enabled: false } } }),
      { account: ACCOUNT, region: REGION },
    ).resources;
    expect(only.map((d) => d.kind)).toEqual(['kms-key', 'secretsmanager-secret', 'secretsmanager-secret']);
  });
});

describe('naming after the account', () => {
  const shape = shapeOf(parseConfig({}));
  const names = (secrets: string[], extra: Partial<ReturnType<typeof emptyInventory>> = {}) =>
    chooseNames(shape, { ...emptyInventory(ACCOUNT, REGION), secrets, ...extra }, seededRandom('s'))
      .secrets ?? [];

  it('follows path-like names, never imitating AWS-managed ones', () => {
    const chosen = names([
      'prod/billing/stripe-key',
      'prod/billing/db',
      'staging/billing/db',
      'rds!db-1234abcd',
    ]);
    expect(chosen).toHaveLength(2);
    for (const s of chosen) {
      expect(s.name).toMatch(/^prod\/[a-z-]+\/[a-z-]+$/);
      expect(s.name).not.toContain('!');
    }
    expect(chosen[0]!.name.startsWith('prod/billing/')).toBe(true);
  });

  it('follows flat names with their separator and order', () => {
    const conventions = inferSecretConventions(['billing_prod_db', 'orders_prod_api'], isEnvironment);
    expect(conventions).toMatchObject({ separator: '_', order: 'service-env' });
    const chosen = names(['billing_prod_db', 'orders_prod_api'], { parameters: ['/prod/billing/x'] });
    for (const s of chosen) expect(s.name).toMatch(/^[a-z]+_prod_[a-z_]+$/);
  });

  it('follows a leading slash and never takes an existing name', () => {
    const existing = ['/prod/payments/db-credentials', '/prod/payments/rds-credentials'];
    const chosen = names(existing);
    for (const s of chosen) {
      expect(s.name.startsWith('/prod/')).toBe(true);
      expect(existing).not.toContain(s.name);
    }
  });

  it('AWS-managed secrets alone say nothing about the team', () => {
    expect(inferSecretConventions(['rds!db-abc', 'events!connection/x'], isEnvironment)).toBeUndefined();
  });
});

describe('planting', () => {
  it('creates each secret under the key, tagged, with a well-formed value, and registers its full ARN', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const result = await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    const parts = specParts(spec);
    expect(parts.secrets).toHaveLength(2);
    for (const secret of parts.secrets) {
      const stored = account.storedSecrets.get(secret.name)!;
      expect(stored.kmsKeyId).toBe(parts.keyAlias);
      expect(stored.tags.map((t) => t.key)).toContain('managed-by');
      const value = stored.versions.at(-1)!;
      expect(value).toMatch(SECRET_VALUE_PATTERNS[secret.secretFormat!]);
      expect(tellsIn(value)).toEqual([]);
      expect(tellsIn(stored.description)).toEqual([]);
      expect(result.created).toContain(`secretsmanager-secret ${secret.name}`);
      const owned = account.registryItem!.owned.find((o) => o.name === secret.name)!;
      expect(owned).toMatchObject({ kind: 'secretsmanager-secret', state: 'created', arn: stored.arn });
      expect(owned.arn).toMatch(/-[A-Za-z0-9]{6}$/);
    }
    // The credentials describe the database the parameters describe.
    const db = JSON.parse(account.storedSecrets.get(parts.secrets[0]!.name)!.versions[0]!);
    expect(Object.keys(db)).toEqual(
      expect.arrayContaining(['username', 'password', 'engine', 'host', 'port', 'dbname']),
    );
    const values = [...account.parameters.values()].map((p) => p.value).join('\n');
    expect(values).toContain(db.password);
    // Detection sees them.
    expect(
      registryView(account.registryItem!).resources.filter((d) => d.kind === 'secretsmanager-secret'),
    ).toHaveLength(2);
  });

  it('the bait agrees with Secrets Manager: the .env names each secret, the state lists it with its real ARN', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    const parts = specParts(spec);
    const bodyOf = (kind: string) =>
      account.objectBody(parts.bucket!.name, parts.objects.find((o) => o.objectKind === kind)!.name)!;
    const state = JSON.parse(bodyOf('terraform-state')) as {
      resources: { type: string; instances: { attributes: Record<string, unknown> }[] }[];
    };
    const listed = state.resources
      .filter((r) => r.type === 'aws_secretsmanager_secret')
      .map((r) => r.instances[0]!.attributes);
    for (const secret of parts.secrets) {
      const stored = account.storedSecrets.get(secret.name)!;
      expect(listed.find((a) => a.name === secret.name)).toMatchObject({
        arn: stored.arn,
        description: stored.description,
        kms_key_id: stored.kmsKeyId,
      });
      expect(bodyOf('env-file')).toContain(`_SECRET_ID=${secret.name}\n`);
    }
  });

  it('a second plant leaves the values alone; a refresh rotates them on their cadence', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    await makePlanter(account, 'again', { start: FIRST_RUN + DAY_MS }).plant(spec);
    const [db, key] = specParts(spec).secrets.map((s) => account.storedSecrets.get(s.name)!);
    expect([db!.versions.length, key!.versions.length]).toEqual([1, 1]);

    // Day 20: nothing due (API keys every 30 days ± 4, credentials every 90 ± 10).
    account.calls.length = 0;
    await makePlanter(account, 'r20', { start: FIRST_RUN + 20 * DAY_MS }).refresh();
    expect(account.actions()).not.toContain('secretsmanager:PutSecretValue');
    // Day 40: the API key only.
    await makePlanter(account, 'r40', { start: FIRST_RUN + 40 * DAY_MS }).refresh();
    expect([db!.versions.length, key!.versions.length]).toEqual([1, 2]);
    expect(key!.versions[1]).not.toBe(key!.versions[0]);
    // Day 110: both.
    await makePlanter(account, 'r110', { start: FIRST_RUN + 110 * DAY_MS }).refresh();
    expect(db!.versions.length).toBe(2);
    expect(db!.versions[1]).toMatch(SECRET_VALUE_PATTERNS['database-credentials']);
  });

  it('a refresh that rotates only secrets says so, not "nothing is due"', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({
      decoys: { ssm: { enabled: false }, s3: { enabled: false }, iam: { enabled: false } },
    });
    await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    const idle = await makePlanter(account, 'r20', { start: FIRST_RUN + 20 * DAY_MS }).refresh();
    expect(idle).toEqual({ rotated: false, parameters: 0, objects: 0, secrets: 0, reason: 'nothing is due' });
    const busy = await makePlanter(account, 'r40', { start: FIRST_RUN + 40 * DAY_MS }).refresh();
    expect(busy).toEqual({ rotated: false, parameters: 0, objects: 0, secrets: 1 });
  });

  it('refuses a name someone else holds, touching nothing', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    account.secretNames.push(specParts(spec).secrets[0]!.name);
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(ForeignResourceError);
    expect(account.actions()).not.toContain('secretsmanager:CreateSecret');
    expect(account.actions()).not.toContain('secretsmanager:DeleteSecret');
  });

  it('removal deletes the secrets without a recovery window; a config without secrets removes them', async () => {
    const account = new MemoryAccount();
    await makePlanter(account).plant(makeSpec());
    const without = makeSpec({ decoys: { secrets: { enabled: false } } });
    const update = await makePlanter(account).plant(without);
    expect(update.removed.filter((r) => r.startsWith('secretsmanager-secret'))).toHaveLength(2);
    expect(account.storedSecrets.size).toBe(0);

    await makePlanter(account).plant(makeSpec());
    const removed = await makePlanter(account).remove();
    expect(removed.removed.filter((r) => r.startsWith('secretsmanager-secret'))).toHaveLength(2);
    expect(account.storedSecrets.size).toBe(0);
  });
});

describe('AwsSecrets', () => {
  const client = mockClient(SecretsManagerClient);
  const secrets = new AwsSecrets(client as unknown as SecretsManagerClient);
  const meta = { $metadata: {} };
  beforeEach(() => client.reset());

  it('creates with the key, tags and value; a taken name is `exists`', async () => {
    client.on(CreateSecretCommand).resolves({ ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:a/b-AbCdEf' });
    const input = {
      name: 'a/b',
      value: 'v',
      kmsKeyId: 'alias/k',
      description: 'd',
      tags: [{ key: 'managed-by', value: 'x' }],
    };
    expect(await secrets.createSecret(input)).toEqual({
      result: 'created',
      arn: 'arn:aws:secretsmanager:eu-west-1:1:secret:a/b-AbCdEf',
    });
    expect(client.commandCalls(CreateSecretCommand)[0]!.args[0].input).toEqual({
      Name: 'a/b',
      SecretString: 'v',
      KmsKeyId: 'alias/k',
      Description: 'd',
      Tags: [{ Key: 'managed-by', Value: 'x' }],
    });
    client.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', ...meta }));
    expect(await secrets.createSecret(input)).toEqual({ result: 'exists' });
  });

  it('deletes without recovery; a missing secret is success', async () => {
    client.on(DeleteSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', ...meta }));
    await secrets.deleteSecret('a/b');
    expect(client.commandCalls(DeleteSecretCommand)[0]!.args[0].input).toEqual({
      SecretId: 'a/b',
      ForceDeleteWithoutRecovery: true,
    });
  });

  it('exists: DescribeSecret; not found is false, denied names the action', async () => {
    client.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'no', ...meta }));
    expect(await secrets.secretExists('a/b')).toBe(false);
    client.on(DescribeSecretCommand).resolves({ Name: 'a/b' });
    expect(await secrets.secretExists('a/b')).toBe(true);
    // Unmodelled in this SDK: the service exception with the wire code as its name.
    const denied = new SecretsManagerServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: 'denied',
      ...meta,
    });
    client.on(PutSecretValueCommand).rejects(denied);
    await expect(secrets.putSecretValue('a/b', 'v')).rejects.toThrow(
      /secretsmanager:PutSecretValue on a\/b was denied/,
    );
  });
});
