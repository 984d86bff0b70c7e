import { describe, expect, it } from 'vitest';
import { ACCESS_KEY_CADENCE, dueAt, MIN_GAP_MS, PARAMETER_CADENCE } from '../../layers/decoys/cadence';
import { LEGACY_USER_POLICY_NAME, userPolicyName } from '../../layers/decoys/content';
import { DUMP_ARCHIVE_DAYS, dumpArchivePrefix } from '../../layers/decoys/dump';
import { MemoryAccount } from '../../layers/decoys/memory';
import { ForeignResourceError, PLANT_SPREAD_MS } from '../../layers/decoys/planter';
import { type PlantSpec, specParts } from '../../layers/decoys/spec';
import {
  baitProblems,
  DAY_MS,
  envKey,
  FIRST_RUN,
  leftovers,
  makePlanter,
  makeSpec,
  REGION,
  registryProblems,
  usabilityProblems,
} from './fixtures';

const noSecrets = { decoys: { secrets: { enabled: false } } };

describe('plant', () => {
  it('plants every decoy of the default plan, usable and registered', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const result = await makePlanter(account).plant(spec);
    const parts = specParts(spec);

    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    // Parameters, Secrets Manager secrets, the bucket and the user.
    const secrets = spec.plan.resources.filter((d) => d.kind === 'secretsmanager-secret').length;
    expect(result.created).toHaveLength(parts.parameters.length + secrets + 2);
    expect(result.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);

    const user = account.users.get(parts.user!.name)!;
    expect(user.keys.size).toBe(1);
    expect(user.loginProfile).toBe(false);
    // A service user's read policy, named after its service and bucket, scoped to the decoys.
    const policyName = userPolicyName({ service: spec.service, bucketName: parts.bucket!.name });
    expect([...user.policies.keys()]).toEqual([policyName]);
    const policy = JSON.parse(user.policies.get(policyName)!);
    expect(policy.Statement.map((s: { Effect: string }) => s.Effect)).not.toContain('Deny');
    expect(JSON.stringify(policy)).toContain(parts.bucket!.name);
    expect(JSON.stringify(policy)).toContain(parts.keyAlias!);
    const bucket = account.buckets.get(parts.bucket!.name)!;
    expect(bucket.region).toBe(REGION);
    expect(bucket.policy).toContain('aws:SecureTransport');
    for (const p of parts.parameters) {
      expect(account.parameters.get(p.name)?.keyId).toBe(parts.keyAlias);
      expect(account.parameters.get(p.name)?.tags.map((t) => t.key)).toContain('service');
    }
    expect(envKey(account, spec).id).toBe(result.accessKeyId);
    const registry = account.registryItem!;
    expect(registry.owned.every((o) => o.state === 'created')).toBe(true);
    expect(registry.keys).toEqual([
      expect.objectContaining({ accessKeyId: result.accessKeyId, status: 'active' }),
    ]);
  });

  it('makes exactly these calls, in this order, spread over at most 20 seconds', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({ decoys: { ssm: { count: 2 }, secrets: { enabled: false } } });
    const slept: number[] = [];
    await makePlanter(account, 'test', { slept }).plant(spec);
    expect(account.actions()).toEqual([
      'registry:GetItem',
      'ssm:GetParameter', // every new name must be free
      'ssm:GetParameter',
      's3:HeadBucket',
      'iam:GetUser',
      'registry:PutItem', // claims
      'iam:CreateUser',
      'iam:PutUserPolicy',
      'ssm:PutParameter',
      'ssm:PutParameter',
      's3:CreateBucket',
      's3:PutPublicAccessBlock',
      's3:PutBucketOwnershipControls',
      's3:PutBucketEncryption',
      's3:PutBucketVersioning',
      's3:PutLifecycleConfiguration',
      's3:PutBucketTagging',
      's3:PutBucketPolicy',
      'registry:PutItem', // planted
      'iam:ListAccessKeys',
      'iam:CreateAccessKey',
      'registry:PutItem', // key pending
      's3:PutObject', // the dump's dated copy
      's3:PutObject',
      's3:PutObject',
      's3:PutObject',
      'registry:PutItem', // key active
    ]);
    const create = account.calls.find((c) => c.action === 'iam:CreateUser')!;
    expect(create.args[0]).toMatchObject({ path: '/' });
    const put = account.calls.find((c) => c.action === 'ssm:PutParameter')!;
    expect(put.args[0]).toMatchObject({ keyId: specParts(spec).keyAlias });
    // The key, two parameters and three files: six writes, seconds apart, within the deploy's budget.
    expect(slept).toHaveLength(6);
    expect(Math.min(...slept)).toBeGreaterThan(0);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(PLANT_SPREAD_MS);
  });

  it('replaces the force-MFA policy an earlier version attached (its Deny would void the read policy)', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account).plant(spec);
    const user = account.users.get(specParts(spec).user!.name)!;
    user.policies.set(LEGACY_USER_POLICY_NAME, '{"Statement":[{"Effect":"Deny"}]}');

    await makePlanter(account, 'update').plant(spec);
    expect([...user.policies.keys()]).toEqual([
      userPolicyName({ service: spec.service, bucketName: specParts(spec).bucket!.name }),
    ]);
    expect(usabilityProblems(account, spec)).toEqual([]);
    // Without it, no delete is attempted (a failed call would show in CloudTrail).
    account.calls.length = 0;
    await makePlanter(account, 'again').plant(spec);
    expect(account.actions()).toContain('iam:ListUserPolicies');
    expect(account.actions()).not.toContain('iam:DeleteUserPolicy');
  });

  it('re-tags what an earlier version tagged `managed-by: terraform`, once', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec(noSecrets);
    const parts = specParts(spec);
    await makePlanter(account).plant(spec);
    // An earlier deployment: other tags, and a registry that never recorded any.
    const old = [{ key: 'managed-by', value: 'terraform' }];
    account.users.get(parts.user!.name)!.tags = [...old];
    for (const p of parts.parameters) account.parameters.get(p.name)!.tags = [...old];
    delete account.registryItem!.tagsAsserted;

    await makePlanter(account, 'update').plant(spec);
    const managedBy = (tags: { key: string; value: string }[]) =>
      tags.find((t) => t.key === 'managed-by')?.value;
    expect(managedBy(account.users.get(parts.user!.name)!.tags)).toBe('secret-rotation');
    for (const p of parts.parameters)
      expect(managedBy(account.parameters.get(p.name)!.tags)).toBe('secret-rotation');
    // Unchanged tags are not set again: a deploy adds no write per resource.
    account.calls.length = 0;
    await makePlanter(account, 'again').plant(spec);
    expect(account.actions()).not.toContain('iam:TagUser');
    expect(account.actions()).not.toContain('ssm:AddTagsToResource');
  });

  it('an update keeps every value (the bait quotes them) and writes only new parameters', async () => {
    const account = new MemoryAccount();
    const before = makeSpec({ decoys: { ssm: { count: 2 } } });
    await makePlanter(account).plant(before);
    const values = new Map([...account.parameters].map(([k, v]) => [k, v.value]));
    const after = makeSpec({ decoys: { ssm: { count: 3 } } });
    account.calls.length = 0;
    await makePlanter(account, 'update').plant(after);
    for (const [name, value] of values) expect(account.parameters.get(name)?.value).toBe(value);
    expect(account.actions().filter((a) => a === 'ssm:PutParameter')).toHaveLength(1);
    expect(baitProblems(account, after)).toEqual([]);
  });

  it('is idempotent: planting again changes no key and keeps everything usable', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const first = await makePlanter(account).plant(spec);
    const second = await makePlanter(account, 'other').plant(spec);
    expect(second.created).toEqual([]);
    expect(second.accessKeyId).toBe(first.accessKeyId);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    expect(account.actions()).not.toContain('iam:DeleteAccessKey');
  });

  it('an update plants what is new and removes what is no longer planned', async () => {
    const account = new MemoryAccount();
    const before = makeSpec({ decoys: { ssm: { count: 4 }, iam: { userName: 'reporting-etl' } } });
    await makePlanter(account).plant(before);
    const after = makeSpec({
      decoys: { ssm: { count: 2 }, iam: { userName: 'ledger-sync' }, s3: { enabled: false } },
    });
    const result = await makePlanter(account).plant(after);

    expect(usabilityProblems(account, after)).toEqual([]);
    expect(registryProblems(account, after)).toEqual([]);
    expect([...account.parameters.keys()].sort()).toEqual(
      specParts(after)
        .parameters.map((p) => p.name)
        .sort(),
    );
    expect([...account.users.keys()]).toEqual(['ledger-sync']);
    expect(account.buckets.size).toBe(0);
    expect(result.removed).toEqual(
      expect.arrayContaining(['iam-user reporting-etl', `s3-bucket ${specParts(before).bucket!.name}`]),
    );
    // The old user's key is remembered as deleted: a stale stolen copy is still a finding.
    expect(account.registryItem!.keys.find((k) => k.userName === 'reporting-etl')?.status).toBe('deleted');
  });

  it('refuses names that exist and are not its own, and never touches them', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({ decoys: { iam: { userName: 'jenkins' } } });
    await account.iam.createUser({ userName: 'jenkins', tags: [] });
    account.calls.length = 0;

    await expect(makePlanter(account).plant(spec)).rejects.toThrow(ForeignResourceError);
    // Nothing was claimed, so nothing can later be adopted or deleted.
    expect(account.registryItem).toBeUndefined();
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(
      /IAM user jenkins already exists and was not created by this stack.*\(iam\.userName\)/,
    );
    expect(account.actions()).not.toContain('iam:PutUserPolicy');
    // A rollback (Delete) must leave the real user alone and remove nothing it did not create.
    await makePlanter(account).remove();
    expect(account.users.has('jenkins')).toBe(true);
    expect(account.users.get('jenkins')!.policies.size).toBe(0);
  });

  it('refuses a bucket name another account holds', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    account.foreignBuckets.add(specParts(spec).bucket!.name);
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(/S3 bucket .* already exists.*bucketName/);
  });

  it('refuses a parameter that exists, leaving its value alone', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const name = specParts(spec).parameters[0]!.name;
    account.parameters.set(name, {
      value: 'real',
      keyId: 'alias/aws/ssm',
      description: '',
      tags: [],
      version: 3,
    });
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(/SSM parameter .* already exists/);
    await makePlanter(account).remove();
    expect(account.parameters.get(name)?.value).toBe('real');
  });

  it('names every taken name at once', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({ decoys: { iam: { userName: 'jenkins' } } });
    await account.iam.createUser({ userName: 'jenkins', tags: [] });
    account.foreignBuckets.add(specParts(spec).bucket!.name);
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(
      /S3 bucket \S+ \(owned by another account or in another region\), IAM user jenkins already exist and were not created by this stack, so nothing was changed; .*\(s3\.bucketName\).*\(iam\.userName\)/,
    );
  });

  it('a bucket taken by another account between check and create is released, not adopted', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const name = specParts(spec).bucket!.name;
    account.failure = (call) => {
      if (call.action === 's3:CreateBucket') account.foreignBuckets.add(name);
      return undefined;
    };
    await expect(makePlanter(account).plant(spec)).rejects.toThrow(/taken by another account/);
    expect(account.registryItem!.owned.some((o) => o.name === name)).toBe(false);
    account.heal();
    await makePlanter(account).remove();
    expect(account.actions()).not.toContain('s3:DeleteBucket');
  });

  it('adopts what an earlier, interrupted run created (claimed, then stopped)', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    // The first save is the claim; let it pass and fail the second (after creating).
    let saves = 0;
    account.failure = (call) =>
      call.action === 'registry:PutItem' && ++saves === 2 ? new Error('lost connection') : undefined;
    await expect(makePlanter(account).plant(spec)).rejects.toThrow('lost connection');
    account.heal();
    await makePlanter(account).plant(spec);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
  });
});

describe('refresh', () => {
  it('keeps the bait in step with the account: state versions, serial, lineage and key agree', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const parts = specParts(spec);
    const stateKey = parts.objects.find((o) => o.objectKind === 'terraform-state')!.name;
    const state = () => JSON.parse(account.objectBody(parts.bucket!.name, stateKey)!);
    await makePlanter(account).plant(spec);
    const first = state();
    await makePlanter(account, 'refresh-1').refresh();
    await makePlanter(account, 'refresh-2').refresh();
    const third = state();

    // Each parameter's version in the state is the one SSM holds.
    for (const r of third.resources.filter((r: { type: string }) => r.type === 'aws_ssm_parameter')) {
      const { name, version, value } = r.instances[0].attributes;
      expect(version).toBe(account.parameters.get(name)!.version);
      expect(value).toBe(account.parameters.get(name)!.value);
    }
    expect(account.parameters.get(parts.parameters[0]!.name)!.version).toBe(3);
    // One apply per rotation; the same state lineage throughout.
    expect(third.serial - first.serial).toBe(2);
    expect(third.lineage).toBe(first.lineage);
    // The state's access key is the one the .env hands out, and it exists.
    const accessKey = third.resources.find((r: { type: string }) => r.type === 'aws_iam_access_key');
    expect(accessKey.instances[0].attributes.id).toBe(envKey(account, spec).id);
    expect(account.users.get(parts.user!.name)!.keys.has(accessKey.instances[0].attributes.id)).toBe(true);
    const created = account.registryItem!.keys.find(
      (k) => k.accessKeyId === envKey(account, spec).id,
    )!.createdAt;
    expect(accessKey.instances[0].attributes.create_date).toBe(created.replace(/\.\d{3}Z$/, 'Z'));
  });

  it('when everything is due, rotates every value and the access key, and deletes the old key', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({ decoys: { secrets: { enabled: false } } });
    const planted = await makePlanter(account).plant(spec);
    const valuesBefore = new Map([...account.parameters].map(([k, v]) => [k, v.value]));
    account.calls.length = 0;

    const result = await makePlanter(account, 'refresh').refresh();
    expect(result.rotated).toBe(true);
    expect(result.accessKeyId).not.toBe(planted.accessKeyId);
    for (const [name, value] of valuesBefore) expect(account.parameters.get(name)?.value).not.toBe(value);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    const user = account.users.get(specParts(spec).user!.name)!;
    expect([...user.keys.keys()]).toEqual([result.accessKeyId]);
    const keys = account.registryItem!.keys;
    expect(keys.find((k) => k.accessKeyId === planted.accessKeyId)).toMatchObject({ status: 'deleted' });
    expect(keys.find((k) => k.accessKeyId === planted.accessKeyId)?.secretAccessKey).toBeUndefined();
    expect(account.registryItem!.rotatedAt).toBeDefined();
    expect(account.actions()).toEqual([
      'registry:GetItem',
      'iam:ListAccessKeys',
      'iam:CreateAccessKey',
      'registry:PutItem', // key pending
      ...specParts(spec).parameters.map(() => 'ssm:PutParameter'),
      'registry:PutItem', // the new values
      's3:PutObject', // the dump's dated copy
      's3:PutObject',
      's3:PutObject',
      's3:PutObject',
      'registry:PutItem',
      'iam:DeleteAccessKey',
      'registry:PutItem',
    ]);
  });

  it('does nothing when nothing is registered', async () => {
    const account = new MemoryAccount();
    expect(await makePlanter(account).refresh()).toMatchObject({ rotated: false });
    expect(account.actions()).toEqual(['registry:GetItem']);
  });

  it('keeps a bounded history of deleted keys', async () => {
    const account = new MemoryAccount();
    // 35 rotations are ten years: without the dump, whose history grows with them.
    const spec = makeSpec({ decoys: { s3: { objects: ['env-file', 'terraform-state'] } } });
    await makePlanter(account).plant(spec);
    for (let i = 0; i < 35; i++) await makePlanter(account, `r${i}`).refresh();
    const keys = account.registryItem!.keys;
    expect(keys.filter((k) => k.status === 'deleted')).toHaveLength(30);
    expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
    expect(usabilityProblems(account, spec)).toEqual([]);
  });
});

/** Plants at FIRST_RUN; `at(days)` makes a planter whose clock starts that many days later. */
async function plantedAccount(spec: PlantSpec) {
  const account = new MemoryAccount();
  await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
  const at = (days: number, slept?: number[]) =>
    makePlanter(account, `run-${days}`, { start: FIRST_RUN + days * DAY_MS, slept });
  return { account, at };
}

function objectKey(spec: PlantSpec, kind: string): string {
  return specParts(spec).objects.find((o) => o.objectKind === kind)!.name;
}

describe('refresh on its cadence', () => {
  it('with nothing due, makes no AWS call at all (an idle run leaves nothing in CloudTrail)', async () => {
    const spec = makeSpec(noSecrets);
    const account = new MemoryAccount();
    await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    // Run at the dump's own write time: no slot has passed since.
    const dumpWrite = account.registryItem!.objects!.find(
      (o) => o.key === objectKey(spec, 'database-dump'),
    )!.writtenAt;
    account.calls.length = 0;
    const result = await makePlanter(account, 'idle', {
      start: new Date(dumpWrite).getTime() - 60_000,
    }).refresh();
    expect(result).toMatchObject({ rotated: false, parameters: 0, objects: 0, reason: 'nothing is due' });
    expect(account.actions()).toEqual(['registry:GetItem']);
  });

  it('the day after a plant rewrites only the nightly dump', async () => {
    const spec = makeSpec(noSecrets);
    const parts = specParts(spec);
    const { account, at } = await plantedAccount(spec);
    const values = new Map([...account.parameters].map(([k, v]) => [k, v.value]));
    const env = account.objectBody(parts.bucket!.name, objectKey(spec, 'env-file'));
    const state = account.objectBody(parts.bucket!.name, objectKey(spec, 'terraform-state'));
    account.calls.length = 0;

    // 06:00 the next day: after the dump's slot (00:30-05:30), long before any other cadence.
    const result = await at(1.125).refresh();
    expect(result).toMatchObject({ rotated: false, parameters: 0, objects: 1 });
    expect(account.actions()).toEqual([
      'registry:GetItem',
      'iam:ListAccessKeys',
      's3:PutObject', // the night's dated copy
      's3:PutObject', // the latest
      'registry:PutItem',
    ]);
    expect((account.calls[2]!.args[0] as { key: string }).key).toMatch(
      new RegExp(`^${dumpArchivePrefix(spec.service, spec.environment)}2025/03/15/`),
    );
    expect((account.calls[3]!.args[0] as { key: string }).key).toBe(objectKey(spec, 'database-dump'));
    for (const [name, value] of values) expect(account.parameters.get(name)?.value).toBe(value);
    expect(account.objectBody(parts.bucket!.name, objectKey(spec, 'env-file'))).toBe(env);
    expect(account.objectBody(parts.bucket!.name, objectKey(spec, 'terraform-state'))).toBe(state);
    expect(baitProblems(account, spec)).toEqual([]);
  });

  it('keeps a backup prefix that grows one dated dump a night, the oldest expired by the rule it set', async () => {
    const spec = makeSpec(noSecrets);
    const bucketName = specParts(spec).bucket!.name;
    const prefix = dumpArchivePrefix(spec.service, spec.environment);
    const account = new MemoryAccount();
    let today = FIRST_RUN;
    account.clock = () => new Date(today);
    await makePlanter(account, 'plant', { start: FIRST_RUN }).plant(spec);
    const bucket = account.buckets.get(bucketName)!;
    expect(bucket.lifecycle).toContainEqual({
      ID: expect.any(String),
      Status: 'Enabled',
      Filter: { Prefix: prefix },
      Expiration: { Days: DUMP_ARCHIVE_DAYS },
    });
    const dated = () => [...bucket.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    for (const night of [1, 2, 3]) {
      today = FIRST_RUN + (night + 0.125) * DAY_MS;
      await makePlanter(account, `night-${night}`, { start: today }).refresh();
    }
    // The plant's night and three more: one file per night, each under its date, the latest apart.
    expect(dated().map((key) => key.slice(prefix.length, prefix.length + 10))).toEqual([
      '2025/03/14',
      '2025/03/15',
      '2025/03/16',
      '2025/03/17',
    ]);
    const latest = objectKey(spec, 'database-dump');
    expect(latest.startsWith(prefix)).toBe(false);
    expect(account.objectBody(bucketName, dated().at(-1)!)).toBe(account.objectBody(bucketName, latest));
    // A month on, S3 has expired the nights older than the retention; the latest stays.
    account.applyLifecycle(new Date(FIRST_RUN + (DUMP_ARCHIVE_DAYS + 2.2) * DAY_MS));
    expect(dated()).toHaveLength(1);
    expect(bucket.objects.has(latest)).toBe(true);
  });

  it('rotates each parameter when its format is due, and rewrites the state (not the .env) for an API token', async () => {
    const spec = makeSpec(noSecrets);
    const parts = specParts(spec);
    const { account, at } = await plantedAccount(spec);
    const record = account.registryItem!;
    const token = parts.parameters.find((p) => p.format === 'api-token')!;
    const written = record.owned.find((o) => o.name === token.name)!.writtenAt!;
    const seed = record.seed ?? record.createdAt;
    const due = dueAt(new Date(written), PARAMETER_CADENCE['api-token'], seed, token.name);
    const days = (due.getTime() - FIRST_RUN) / DAY_MS + 0.01;
    expect(days).toBeGreaterThan(
      PARAMETER_CADENCE['api-token'].days - PARAMETER_CADENCE['api-token'].jitterDays,
    );
    const before = new Map([...account.parameters].map(([k, v]) => [k, v.value]));
    const env = account.objectBody(parts.bucket!.name, objectKey(spec, 'env-file'));

    const result = await at(days).refresh();
    expect(result.rotated).toBe(false);
    expect(account.parameters.get(token.name)?.value).not.toBe(before.get(token.name));
    // Passwords and connection strings are on a 90-day cadence: untouched at ~30 days.
    for (const p of parts.parameters.filter((p) => p.format === 'password' || p.format === 'database-url'))
      expect(account.parameters.get(p.name)?.value).toBe(before.get(p.name));
    expect(account.objectBody(parts.bucket!.name, objectKey(spec, 'env-file'))).toBe(env);
    expect(baitProblems(account, spec)).toEqual([]);
  });

  it('rotates the access key when it is due (about 90 days), not a minute before', async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    const record = account.registryItem!;
    const key = record.keys.find((k) => k.status === 'active')!;
    const due = dueAt(
      new Date(key.createdAt),
      ACCESS_KEY_CADENCE,
      record.seed ?? record.createdAt,
      'access-key',
    );
    const days = (due.getTime() - FIRST_RUN) / DAY_MS;
    expect(days).toBeGreaterThanOrEqual(80);
    expect(days).toBeLessThanOrEqual(100.1);

    expect((await at(days - 0.01).refresh()).rotated).toBe(false);
    expect(envKey(account, spec).id).toBe(key.accessKeyId);
    const rotated = await at(days + 0.01).refresh();
    expect(rotated.rotated).toBe(true);
    expect(rotated.accessKeyId).not.toBe(key.accessKeyId);
    expect(envKey(account, spec).id).toBe(rotated.accessKeyId);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    expect(baitProblems(account, spec)).toEqual([]);
  });

  it('the response (the planted key was used) rotates the key at once, with the files that hold it', async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    const before = envKey(account, spec).id;
    const values = new Map([...account.parameters].map(([k, v]) => [k, v.value]));
    const result = await at(0.01).refresh({ rotateKey: true });
    expect(result.rotated).toBe(true);
    expect(envKey(account, spec).id).toBe(result.accessKeyId);
    expect(result.accessKeyId).not.toBe(before);
    for (const [name, value] of values) expect(account.parameters.get(name)?.value).toBe(value);
    expect(baitProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
  });

  it("101 days later (past every key's due date) always rotates the key", async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    const before = envKey(account, spec).id;
    const result = await at(101).refresh();
    expect(result.rotated).toBe(true);
    expect(envKey(account, spec).id).not.toBe(before);
  });

  it("spreads a run's writes: each at least 2 seconds after the one before", async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    const slept: number[] = [];
    account.calls.length = 0;
    await at(101, slept).refresh();
    const writes = account.actions().filter((a) => /PutParameter|PutObject|CreateAccessKey/.test(a));
    // One wait before each write: the key, every parameter, the three files (the
    // dump's dated copy goes with the dump, as one upload after the other).
    expect(writes).toHaveLength(specParts(spec).parameters.length + 5);
    expect(slept).toHaveLength(writes.length - 1);
    for (const ms of slept) expect(ms).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(300_000);
  });

  it('keeps the bait quoting what SSM holds through a year of daily runs, idle on most days', async () => {
    // Without the dump (nightly, multi-megabyte: its own test above), most runs have nothing due.
    const spec = makeSpec({
      decoys: { ...noSecrets.decoys, s3: { objects: ['env-file', 'terraform-state'] } },
    });
    const { account, at } = await plantedAccount(spec);
    const counts = { key: 0, parameters: 0, idle: 0 };
    for (let day = 1; day <= 365; day++) {
      const result = await at(day + 0.125).refresh();
      if (result.rotated) counts.key++;
      counts.parameters += result.parameters;
      if (result.reason === 'nothing is due') counts.idle++;
      if (day % 30 === 0) expect(baitProblems(account, spec)).toEqual([]);
    }
    expect(baitProblems(account, spec)).toEqual([]);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(counts.key).toBeGreaterThanOrEqual(3);
    expect(counts.key).toBeLessThanOrEqual(5);
    expect(counts.idle).toBeGreaterThan(300);
    // Far fewer writes than a daily rewrite of every parameter.
    expect(counts.parameters).toBeLessThan(specParts(spec).parameters.length * 15);
  });

  it('a registry written before the cadence (no values, no write times) is brought up to date in one run', async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    const record = account.registryItem!;
    for (const owned of record.owned) {
      delete owned.value;
      delete owned.version;
      delete owned.writtenAt;
    }
    delete record.objects;
    delete record.databasePassword;
    const result = await at(1.125).refresh();
    expect(result.parameters).toBe(specParts(spec).parameters.length);
    expect(result.objects).toBe(3);
    expect(baitProblems(account, spec)).toEqual([]);
    expect(account.registryItem!.owned.filter((o) => o.kind === 'ssm-parameter').every((o) => o.value)).toBe(
      true,
    );
  });

  it('a run that stopped after the values, before the files, has the files rewritten next time', async () => {
    const spec = makeSpec(noSecrets);
    const { account, at } = await plantedAccount(spec);
    // Fail the first object write of a full rotation (after the values were recorded).
    let failed = false;
    account.failure = (call) => {
      if (call.action === 's3:PutObject' && !failed) {
        failed = true;
        return new Error('injected failure');
      }
      return undefined;
    };
    await expect(at(101).refresh()).rejects.toThrow('injected failure');
    account.heal();
    await at(101.125).refresh();
    expect(baitProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
  });
});

describe('remove', () => {
  it('removes every planted thing, object versions included, then the registry', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account).plant(spec);
    await makePlanter(account, 'a').refresh();
    await makePlanter(account, 'b').refresh();
    // A responder quarantined the user meanwhile.
    account.users
      .get(specParts(spec).user!.name)!
      .attached.add('arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3');

    const result = await makePlanter(account).remove();
    expect(leftovers(account)).toEqual([]);
    const secrets = spec.plan.resources.filter((d) => d.kind === 'secretsmanager-secret').length;
    expect(result.removed).toHaveLength(specParts(spec).parameters.length + secrets + 2);
  });

  it('tolerates things already gone and running twice', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account).plant(spec);
    account.parameters.clear();
    account.users.clear();
    await makePlanter(account).remove();
    await makePlanter(account).remove();
    expect(leftovers(account)).toEqual([]);
  });
});
