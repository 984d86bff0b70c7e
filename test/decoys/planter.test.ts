import { describe, expect, it } from 'vitest';
import { USER_POLICY_NAME } from '../../layers/decoys/content';
import { MemoryAccount } from '../../layers/decoys/memory';
import { ForeignResourceError } from '../../layers/decoys/planter';
import { specParts } from '../../layers/decoys/spec';
import {
  envKey,
  leftovers,
  makePlanter,
  makeSpec,
  REGION,
  registryProblems,
  usabilityProblems,
} from './fixtures';

describe('plant', () => {
  it('plants every decoy of the default plan, usable and registered', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const result = await makePlanter(account).plant(spec);
    const parts = specParts(spec);

    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    expect(result.planted).toHaveLength(parts.parameters.length + 2);
    expect(result.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);

    const user = account.users.get(parts.user!.name)!;
    expect(user.keys.size).toBe(1);
    expect(user.loginProfile).toBe(false);
    expect([...user.policies.keys()]).toEqual([USER_POLICY_NAME]);
    const bucket = account.buckets.get(parts.bucket!.name)!;
    expect(bucket.region).toBe(REGION);
    expect(bucket.policy).toContain('aws:SecureTransport');
    for (const p of parts.parameters) {
      expect(account.parameters.get(p.name)?.keyId).toBe(parts.keyAlias);
      expect(account.parameters.get(p.name)?.tags.map((t) => t.key)).toContain('service');
    }
    expect(envKey(account, spec).id).toBe(result.accessKeyId);
    const registry = account.registryItem!;
    expect(registry.owned.every((o) => o.state === 'planted')).toBe(true);
    expect(registry.keys).toEqual([
      expect.objectContaining({ accessKeyId: result.accessKeyId, status: 'active' }),
    ]);
  });

  it('makes exactly these calls, in this order', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec({ decoys: { ssm: { count: 2 } } });
    await makePlanter(account).plant(spec);
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
      's3:PutObject',
      's3:PutObject',
      's3:PutObject',
      'registry:PutItem', // key active
    ]);
    const create = account.calls.find((c) => c.action === 'iam:CreateUser')!;
    expect(create.args[0]).toMatchObject({ path: '/' });
    const put = account.calls.find((c) => c.action === 'ssm:PutParameter')!;
    expect(put.args[0]).toMatchObject({ keyId: specParts(spec).keyAlias });
  });

  it('is idempotent: planting again changes no key and keeps everything usable', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    const first = await makePlanter(account).plant(spec);
    const second = await makePlanter(account, 'other').plant(spec);
    expect(second.planted).toEqual([]);
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
  it('rotates every value and the access key, and deletes the old key', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
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
      ...specParts(spec).parameters.map(() => 'ssm:PutParameter'),
      'iam:CreateAccessKey',
      'registry:PutItem',
      's3:PutObject',
      's3:PutObject',
      's3:PutObject',
      'registry:PutItem',
      'iam:DeleteAccessKey',
      'registry:PutItem',
    ]);
  });

  it('does nothing when nothing is planted', async () => {
    const account = new MemoryAccount();
    expect(await makePlanter(account).refresh()).toMatchObject({ rotated: false });
    expect(account.actions()).toEqual(['registry:GetItem']);
  });

  it('keeps a bounded history of deleted keys', async () => {
    const account = new MemoryAccount();
    const spec = makeSpec();
    await makePlanter(account).plant(spec);
    for (let i = 0; i < 35; i++) await makePlanter(account, `r${i}`).refresh();
    const keys = account.registryItem!.keys;
    expect(keys.filter((k) => k.status === 'deleted')).toHaveLength(30);
    expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
    expect(usabilityProblems(account, spec)).toEqual([]);
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
    expect(result.removed).toHaveLength(specParts(spec).parameters.length + 2);
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
