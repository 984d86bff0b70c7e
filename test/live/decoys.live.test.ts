import { randomBytes } from 'node:crypto';
import {
  GetLoginProfileCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListUserPoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { awsPorts } from '../../layers/decoys/aws-ports';
import { decoyNames, planDecoys } from '../../layers/decoys/catalogue';
import { bucketPolicyDocument, FORMAT_PATTERNS, userPolicyName } from '../../layers/decoys/content';
import { DUMP_ARCHIVE_DAYS, dumpArchivePrefix } from '../../layers/decoys/dump';
import { MemoryAccount } from '../../layers/decoys/memory';
import { Planter } from '../../layers/decoys/planter';
import type { S3Port } from '../../layers/decoys/ports';
import { cryptoRandom } from '../../layers/decoys/random';
import { type PlantSpec, specParts } from '../../layers/decoys/spec';
import { gapNote, lacks, MOTO_GAPS } from './emulator';
import { type LiveEnvironment, liveEnvironment } from './live-env';

/**
 * The planter against a real account (or moto, where the tests that need IAM
 * enforcement or bucket-policy conditions skip, saying so): plant a small plan
 * under a unique neutral suffix, check every decoy, check the decoy key can do
 * nothing, refresh, remove, check nothing is left. The registry is kept in memory here (the stack's table is not needed to
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
  for (const decoy of plan.resources) if (decoy.kind === 'kms-key') decoy.name = 'alias/aws/ssm';
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

/** The error a call fails with; a call that succeeds fails the test. */
async function rejection(what: string, call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error(`${what} succeeded; it should have failed`);
}

/**
 * The planter's S3 port, except where the emulator mishandles bucket-policy
 * conditions: there PutBucketPolicy is withheld (recorded here instead), since
 * moto would deny the object writes that follow it.
 */
function s3For(port: S3Port, withheld: Map<string, string>): S3Port {
  if (!lacks('bucketPolicyConditions')) return port;
  console.warn(`[live] decoys: s3:PutBucketPolicy withheld: ${MOTO_GAPS.bucketPolicyConditions}`);
  return new Proxy(port, {
    get: (target, key, receiver) =>
      key === 'putPolicy'
        ? async (bucket: string, policy: string) => {
            withheld.set(bucket, policy);
          }
        : Reflect.get(target, key, receiver),
  });
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
    const ports = awsPorts(env.region);
    const withheldPolicies = new Map<string, string>();
    const s3Port = s3For(ports.s3, withheldPolicies);
    return {
      spec,
      parts,
      withheldPolicies,
      /** `daysLater`: the run's clock that far ahead (cadence.ts: after 101 days everything is due). */
      planter: (daysLater = 0) =>
        new Planter({
          ...ports,
          s3: s3Port,
          registry,
          clock: () => new Date(Date.now() + daysLater * 86_400_000),
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
    const { planter, spec, parts, ssm, s3, iam, bucket, withheldPolicies } = ctx();
    await planter().plant(spec);
    // Where the policy is withheld, the planter still asked for exactly this one.
    if (lacks('bucketPolicyConditions'))
      expect(withheldPolicies.get(bucket)).toBe(bucketPolicyDocument(bucket, env.callerArn.split(':')[1]!));

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
    // The planned files and the dump's dated copy under the backup prefix, which the lifecycle expires.
    const prefix = dumpArchivePrefix(spec.service, spec.environment);
    const objectKeys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(objectKeys.filter((k) => !k.startsWith(prefix)).sort()).toEqual(
      parts.objects.map((o) => o.name).sort(),
    );
    expect(objectKeys.filter((k) => k.startsWith(prefix))).toHaveLength(1);
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect(lifecycle.Rules).toContainEqual(
      expect.objectContaining({
        Status: 'Enabled',
        Filter: { Prefix: prefix },
        Expiration: expect.objectContaining({ Days: DUMP_ARCHIVE_DAYS }),
      }),
    );

    const { User } = await iam.send(new GetUserCommand({ UserName: names.user }));
    expect(User?.Path).toBe('/');
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: names.user }))).PolicyNames).toEqual([
      userPolicyName({ service: spec.service, bucketName: bucket }),
    ]);
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: names.user }))).Groups).toEqual([]);
    // No console password: the SDK's NoSuchEntityException (wire code NoSuchEntity).
    expect(
      await rejection('iam:GetLoginProfile', iam.send(new GetLoginProfileCommand({ UserName: names.user }))),
    ).toBeInstanceOf(NoSuchEntityException);
    const keys =
      (await iam.send(new ListAccessKeysCommand({ UserName: names.user }))).AccessKeyMetadata ?? [];
    expect(keys.map((k) => [k.AccessKeyId, k.Status])).toEqual([[(await baitKey()).id, 'Active']]);
  });

  it.skipIf(lacks('bucketPolicyConditions'))(
    gapNote('the bucket denies every request not made over TLS', 'bucketPolicyConditions'),
    async () => {
      const { s3, bucket, withheldPolicies } = ctx();
      expect(withheldPolicies.size).toBe(0);
      const partition = env.callerArn.split(':')[1] ?? 'aws';
      const arn = `arn:${partition}:s3:::${bucket}`;
      const { Policy } = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
      // Compared by meaning: S3 may return the document reformatted.
      const { Statement } = JSON.parse(Policy ?? '{}') as { Statement: Record<string, unknown>[] };
      expect(Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Resource: expect.arrayContaining([arn, `${arn}/*`]),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    },
  );

  it('the decoy key authenticates as the decoy user', async () => {
    const { parts } = ctx();
    const key = await baitKey();
    const sts = new STSClient({
      region: env.region,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    // A new key takes a few seconds to work anywhere.
    const identity = await eventually('sts:GetCallerIdentity with the decoy key', () =>
      sts.send(new GetCallerIdentityCommand({})),
    );
    expect(identity.Arn).toBe(parts.user!.arn);
  });

  it.skipIf(lacks('iamEnforcement'))(
    gapNote(
      'the decoy key reads what a service user of its kind would (its parameters, its bucket) and nothing else',
      'iamEnforcement',
    ),
    async () => {
      const { parts, bucket, envKey } = ctx();
      const key = await baitKey();
      const credentials = { accessKeyId: key.id, secretAccessKey: key.secret };
      const asDecoy = {
        ssm: new SSMClient({ region: env.region, credentials }),
        s3: new S3Client({ region: env.region, credentials }),
      };
      // Its policy names the planted parameters and bucket (all worthless): allowed.
      const read = await eventually('ssm:GetParameter with the decoy key', () =>
        asDecoy.ssm.send(new GetParameterCommand({ Name: parts.parameters[0]!.name })),
      );
      expect(read.Parameter?.Name).toBe(parts.parameters[0]!.name);
      const object = await eventually('s3:GetObject with the decoy key', () =>
        asDecoy.s3.send(new GetObjectCommand({ Bucket: bucket, Key: envKey })),
      );
      expect(object.ContentLength).toBeGreaterThan(0);
      // Anything else is denied. S3 answers 403 AccessDenied.
      expect(
        await rejection('s3:ListBuckets with the decoy key', asDecoy.s3.send(new ListBucketsCommand({}))),
      ).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    },
  );

  it('refreshes: new values, a new key in the bait, the old key deleted', async () => {
    const { planter, parts, ssm, iam } = ctx();
    const before = await baitKey();
    const valueBefore = (
      await ssm.send(new GetParameterCommand({ Name: parts.parameters[0]!.name, WithDecryption: true }))
    ).Parameter?.Value;
    // 101 days on, everything is due (the key, every value, the files).
    const result = await planter(101).refresh();
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
      expect(
        await rejection(`ssm:GetParameter ${p.name}`, ssm.send(new GetParameterCommand({ Name: p.name }))),
      ).toBeInstanceOf(ParameterNotFound);
    }
    // HeadBucket has no body: the SDK names a 404 NotFound.
    expect(
      await rejection(`s3:HeadBucket ${bucket}`, s3.send(new HeadBucketCommand({ Bucket: bucket }))),
    ).toBeInstanceOf(NotFound);
    expect(
      await rejection(`iam:GetUser ${names.user}`, iam.send(new GetUserCommand({ UserName: names.user }))),
    ).toBeInstanceOf(NoSuchEntityException);
  });
});
