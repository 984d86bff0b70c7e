import { randomBytes } from 'node:crypto';
import {
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { awsPorts } from '../../layers/decoys/aws-ports';
import { decoyNames, planDecoys } from '../../layers/decoys/catalogue';
import { FORMAT_PATTERNS, USER_POLICY_NAME } from '../../layers/decoys/content';
import { MemoryAccount } from '../../layers/decoys/memory';
import { Planter } from '../../layers/decoys/planter';
import { cryptoRandom } from '../../layers/decoys/random';
import { type PlantSpec, specParts } from '../../layers/decoys/spec';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * The planter against a real account (or an AWS-compatible endpoint with IAM
 * enforcement): plant a small plan under a unique neutral suffix, check every
 * decoy, check the decoy key can do nothing, refresh, remove, check nothing is
 * left. The registry is kept in memory here (the stack's table is not needed to
 * exercise AWS), and the parameters use the account's aws/ssm key so no KMS key
 * (with its 7-day deletion window) is created.
 */

const live = await liveEnvironment();

const suffix = randomBytes(4).toString('hex').replace(/^\d/, 'k');
const names = { service: `ledger-${suffix}`, user: `ledger-${suffix}-etl` };

function liveSpec(env: LiveEnvironment): PlantSpec {
  const config = parseConfig({
    naming: { service: names.service, environment: 'qa' },
    decoys: {
      ssm: { count: 2 },
      iam: { userName: names.user },
      s3: { bucketName: `${names.service}-exports-{account}-{region}` },
    },
  });
  const plan = planDecoys(config, { account: env.account, region: env.region });
  for (const decoy of plan.decoys) if (decoy.kind === 'kms-key') decoy.name = 'alias/aws/ssm';
  const catalogue = decoyNames(config, env.account, env.region);
  return { service: catalogue.service, environment: catalogue.environment, plan };
}

async function eventually<T>(what: string, attempt: () => Promise<T>, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what}: still failing after ${seconds} s: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}

async function errorName(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'no error';
  } catch (error) {
    return (error as Error).name;
  }
}

describe.skipIf(!live.ok)('decoys, live', () => {
  // describe bodies run even when skipped: everything that needs the account is lazy.
  const env = live as LiveEnvironment;
  let cached: ReturnType<typeof setup> | undefined;
  const ctx = () => {
    cached ??= setup();
    return cached;
  };
  function setup() {
    const spec = liveSpec(env);
    const parts = specParts(spec);
    const registry = new MemoryAccount().registry;
    return {
      spec,
      parts,
      planter: () =>
        new Planter({
          ...awsPorts(env.region),
          registry,
          clock: () => new Date(),
          random: cryptoRandom,
          region: env.region,
        }),
      ssm: new SSMClient({ region: env.region }),
      s3: new S3Client({ region: env.region }),
      iam: new IAMClient({ region: env.region }),
      bucket: parts.bucket!.name,
      envKey: parts.objects.find((o) => o.objectKind === 'env-file')!.name,
    };
  }

  async function baitKey(): Promise<{ id: string; secret: string }> {
    const { s3, bucket, envKey } = ctx();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: envKey }));
    const body = await object.Body!.transformToString();
    return {
      id: /^AWS_ACCESS_KEY_ID=(.*)$/m.exec(body)![1]!,
      secret: /^AWS_SECRET_ACCESS_KEY=(.*)$/m.exec(body)![1]!,
    };
  }

  afterAll(async () => {
    // Whatever happened above, leave nothing behind.
    if (live.ok) await ctx().planter().remove();
  });

  it('plants every decoy', async () => {
    const { planter, spec, parts, ssm, s3, iam, bucket } = ctx();
    await planter().plant(spec);

    for (const p of parts.parameters) {
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: p.name, WithDecryption: true }));
      expect(Parameter?.Type).toBe('SecureString');
      expect(Parameter?.Value).toMatch(FORMAT_PATTERNS[p.format!]);
    }

    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    expect(Object.values(block.PublicAccessBlockConfiguration ?? {})).toEqual([true, true, true, true]);
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(
      encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
        ?.SSEAlgorithm,
    ).toBe('AES256');
    const ownership = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket }));
    expect(ownership.OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(parts.objects.map((o) => o.name).sort());

    const { User } = await iam.send(new GetUserCommand({ UserName: names.user }));
    expect(User?.Path).toBe('/');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: names.user }))).PolicyNames).toEqual([
      USER_POLICY_NAME,
    ]);
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: names.user }))).Groups).toEqual([]);
    expect(await errorName(iam.send(new GetLoginProfileCommand({ UserName: names.user })))).toBe(
      'NoSuchEntity',
    );
    const keys =
      (await iam.send(new ListAccessKeysCommand({ UserName: names.user }))).AccessKeyMetadata ?? [];
    expect(keys.map((k) => [k.AccessKeyId, k.Status])).toEqual([[(await baitKey()).id, 'Active']]);
  });

  it('the decoy key authenticates and can do nothing', async () => {
    const { parts, bucket, envKey } = ctx();
    const key = await baitKey();
    const credentials = { accessKeyId: key.id, secretAccessKey: key.secret };
    const sts = new STSClient({ region: env.region, credentials });
    // A new key takes a few seconds to work anywhere.
    const identity = await eventually('sts:GetCallerIdentity with the decoy key', () =>
      sts.send(new GetCallerIdentityCommand({})),
    );
    expect(identity.Arn).toBe(parts.user!.arn);
    const asDecoy = {
      ssm: new SSMClient({ region: env.region, credentials }),
      s3: new S3Client({ region: env.region, credentials }),
    };
    expect(
      await errorName(asDecoy.ssm.send(new GetParameterCommand({ Name: parts.parameters[0]!.name }))),
    ).toMatch(/AccessDenied/);
    expect(await errorName(asDecoy.s3.send(new ListBucketsCommand({})))).toMatch(/AccessDenied/);
    expect(await errorName(asDecoy.s3.send(new GetObjectCommand({ Bucket: bucket, Key: envKey })))).toMatch(
      /AccessDenied/,
    );
  });

  it('refreshes: new values, a new key in the bait, the old key deleted', async () => {
    const { planter, parts, ssm, iam } = ctx();
    const before = await baitKey();
    const valueBefore = (
      await ssm.send(new GetParameterCommand({ Name: parts.parameters[0]!.name, WithDecryption: true }))
    ).Parameter?.Value;
    const result = await planter().refresh();
    const after = await baitKey();
    expect(result.rotated).toBe(true);
    expect(after.id).toBe(result.accessKeyId);
    expect(after.id).not.toBe(before.id);
    const keys =
      (await iam.send(new ListAccessKeysCommand({ UserName: names.user }))).AccessKeyMetadata ?? [];
    expect(keys.map((k) => k.AccessKeyId)).toEqual([after.id]);
    const valueAfter = (
      await ssm.send(new GetParameterCommand({ Name: parts.parameters[0]!.name, WithDecryption: true }))
    ).Parameter?.Value;
    expect(valueAfter).not.toBe(valueBefore);
  });

  it('removes everything', async () => {
    const { planter, parts, ssm, s3, iam, bucket } = ctx();
    await planter().remove();
    for (const p of parts.parameters) {
      expect(await errorName(ssm.send(new GetParameterCommand({ Name: p.name })))).toBe('ParameterNotFound');
    }
    expect(await errorName(s3.send(new HeadBucketCommand({ Bucket: bucket })))).toMatch(
      /NotFound|NoSuchBucket/,
    );
    expect(await errorName(iam.send(new GetUserCommand({ UserName: names.user })))).toBe('NoSuchEntity');
  });
});
