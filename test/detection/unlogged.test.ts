import {
  GetAccessKeyLastUsedCommand,
  IAMClient,
  IAMServiceException,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { RegistryView } from '../../layers/decoys/registry';
import { decoyKeys, iamLastUsed } from '../../layers/detection/iam-last-used';
import { MemoryTouchStore } from '../../layers/detection/store';
import { checkUnloggedUse, type DecoyKey, type KeyLastUsed } from '../../layers/detection/unlogged';
import { findingSchema } from '../../layers/findings/finding';
import { type FindingSink, MemorySink } from '../../layers/findings/publish';

const key: DecoyKey = {
  accessKeyId: 'AKIAQ3EGWSXRLIVE0001',
  userName: 'payments-etl',
  userArn: 'arn:aws:iam::111122223333:user/payments-etl',
  resourceName: 'payments-etl/access-key',
};
const NOW = Date.UTC(2024, 7, 1, 16);
const MIN = 60_000;

async function check(
  usage: KeyLastUsed,
  options: { seen?: number; store?: MemoryTouchStore; sink?: FindingSink } = {},
) {
  const store = options.store ?? new MemoryTouchStore();
  if (options.seen !== undefined) await store.recordKeyUse(key.accessKeyId, options.seen);
  const sink = options.sink ?? new MemorySink();
  const checks = await checkUnloggedUse(
    [key],
    {},
    { lastUsed: async () => usage, store, sink, now: () => NOW },
  );
  return { checks, sink, store };
}

describe('unlogged use: IAM saw the key used, CloudTrail showed nothing', () => {
  it('a last use later than every touch seen is a finding', async () => {
    const { checks, sink } = await check(
      { lastUsed: NOW - 30 * MIN, serviceName: 'sts', region: 'eu-central-1' },
      { seen: NOW - 120 * MIN },
    );
    expect(checks[0]!.verdict).toBe('reported');
    const finding = findingSchema.parse((sink as MemorySink).findings[0]);
    expect(finding).toMatchObject({
      kind: 'unlogged-use',
      severity: 'high',
      region: 'eu-central-1',
      eventNames: ['sts:unlogged'],
      actor: { arn: key.userArn, accessKeyId: key.accessKeyId },
      resource: { kind: 'iam-access-key', name: key.resourceName },
    });
  });

  it('a key never touched but used is a finding too', async () => {
    expect((await check({ lastUsed: NOW - 30 * MIN, serviceName: 'ec2' })).checks[0]!.verdict).toBe(
      'reported',
    );
  });

  it('a touch seen at (or up to a minute before, IAM rounds) the last use covers it', async () => {
    expect(
      (await check({ lastUsed: NOW - 30 * MIN }, { seen: NOW - 30 * MIN + 45_000 })).checks[0]!.verdict,
    ).toBe('logged');
    expect(
      (await check({ lastUsed: NOW - 30 * MIN }, { seen: NOW - 30 * MIN - 50_000 })).checks[0]!.verdict,
    ).toBe('logged');
  });

  it('a use younger than the delivery grace waits for the next run', async () => {
    expect((await check({ lastUsed: NOW - 5 * MIN })).checks[0]!.verdict).toBe('pending');
  });

  it('an unused key is nothing', async () => {
    expect((await check({})).checks[0]!.verdict).toBe('unused');
  });

  it('one use is reported once, and again if the publish failed', async () => {
    const store = new MemoryTouchStore();
    const usage = { lastUsed: NOW - 30 * MIN };
    const failing: FindingSink = { publish: async () => Promise.reject(new Error('SNS down')) };
    await expect(check(usage, { store, sink: failing })).rejects.toThrow('SNS down');
    expect((await check(usage, { store })).checks[0]!.verdict).toBe('reported');
    expect((await check(usage, { store })).checks[0]!.verdict).toBe('already-reported');
  });
});

describe('iam:GetAccessKeyLastUsed adapter', () => {
  const iam = mockClient(IAMClient);
  const lastUsed = iamLastUsed(new IAMClient({ region: 'us-east-1' }));

  it('returns the date, service and region', async () => {
    iam.reset();
    iam.on(GetAccessKeyLastUsedCommand).resolves({
      UserName: 'payments-etl',
      AccessKeyLastUsed: { LastUsedDate: new Date(NOW), ServiceName: 'sts', Region: 'us-east-1' },
    });
    expect(await lastUsed(key.accessKeyId)).toEqual({
      lastUsed: NOW,
      serviceName: 'sts',
      region: 'us-east-1',
    });
    expect(iam.commandCalls(GetAccessKeyLastUsedCommand)[0]!.args[0].input).toEqual({
      AccessKeyId: key.accessKeyId,
    });
  });

  it('a never-used key has no date; a key deleted meanwhile is unused', async () => {
    iam.reset();
    iam
      .on(GetAccessKeyLastUsedCommand)
      .resolvesOnce({ AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });
    expect((await lastUsed(key.accessKeyId)).lastUsed).toBeUndefined();
    iam
      .on(GetAccessKeyLastUsedCommand)
      .rejects(new NoSuchEntityException({ message: 'gone', $metadata: {} }));
    expect(await lastUsed(key.accessKeyId)).toEqual({});
  });

  it('any other failure names the call and the key', async () => {
    iam.reset();
    // IAM models no AccessDenied: the SDK throws its base class, named after the code.
    iam.on(GetAccessKeyLastUsedCommand).rejects(
      new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'User is not authorized',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(lastUsed(key.accessKeyId)).rejects.toThrow(
      `iam:GetAccessKeyLastUsed for key ${key.accessKeyId}: User is not authorized`,
    );
  });
});

describe('decoyKeys', () => {
  it("lists the registry's live keys with the user's ARN", () => {
    const view: RegistryView = {
      createdAt: 'x',
      updatedAt: 'x',
      resources: [
        { kind: 'iam-user', name: 'payments-etl', arn: key.userArn },
        {
          kind: 'iam-access-key',
          name: key.resourceName,
          arn: key.userArn,
          accessKeyIds: [key.accessKeyId],
          retiredAccessKeyIds: ['AKIAOLD'],
        },
      ],
      accessKeys: [
        { accessKeyId: key.accessKeyId, userName: 'payments-etl', status: 'active', createdAt: 'x' },
        { accessKeyId: 'AKIAOLD', userName: 'payments-etl', status: 'deleted', createdAt: 'x' },
      ],
    };
    expect(decoyKeys(view)).toEqual([key]);
    expect(decoyKeys(undefined)).toEqual([]);
  });
});
