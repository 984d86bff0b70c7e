import { GetAccessKeyLastUsedCommand, IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toEnvelope } from '../../layers/cloudtrail/record';
import type { RegistryRecord } from '../../layers/decoys/registry';
import { specRecord } from '../../layers/decoys/spec';
import { makeSpec } from '../decoys/fixtures';
import { attackerRole, call } from './records';

/** The Lambda entry points: environment read once at the boundary, AWS wired, errors thrown. */
const ENV = {
  AWS_REGION: 'eu-west-1',
  STATE_TABLE: 'state',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:topic',
  BUS_NAME: 'platform-shared-services-events',
  SECURITY_HUB: 'off',
  ROUTE_PREFIX: 'platform-shared-services-route-',
  AUDIT_TRAIL_NAME: 'platform-shared-services-audit',
  AUDIT_TRAIL_ARN: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/platform-shared-services-audit',
  WINDOW_MINUTES: '60',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

const dynamo = mockClient(DynamoDBDocumentClient);
const iam = mockClient(IAMClient);
const saved = { ...process.env };

beforeEach(() => {
  vi.resetModules();
  dynamo.reset();
  iam.reset();
});
afterEach(() => {
  process.env = { ...saved };
});

describe('functions/touch/handler', () => {
  it('a missing or malformed variable fails the cold start, naming it', async () => {
    Object.assign(process.env, ENV, { WINDOW_MINUTES: 'an hour' });
    delete process.env.STATE_TABLE;
    await expect(import('../../functions/touch/handler')).rejects.toThrow(
      /STATE_TABLE is not set.*WINDOW_MINUTES="an hour" does not match/,
    );
  });

  it('reads the registry, drops what is no touch, and rejects what is not a CloudTrail event', async () => {
    Object.assign(process.env, ENV);
    dynamo.on(GetCommand).resolves({});
    const { handler } = await import('../../functions/touch/handler');
    const record = call({
      template: 'ssmRole',
      eventName: 'GetParameter',
      region: 'eu-west-1',
      userIdentity: attackerRole(),
      requestParameters: { name: '/prod/anything' },
    });
    await expect(handler(toEnvelope(record))).resolves.toEqual({ ignored: 'unmatched', matches: [] });
    // The registry of the record's account (organization mode: one per member), else the single-account one.
    const keys = dynamo.commandCalls(GetCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      { pk: 'inventory', sk: record.recipientAccountId },
      { pk: 'inventory', sk: 'current' },
    ]);
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input.TableName).toBe('state');
    await expect(handler({ detail: {} })).rejects.toThrow(/not a CloudTrail event from EventBridge/);
  });
});

describe('functions/unlogged-use/handler', () => {
  it('with nothing planted, checks no key', async () => {
    Object.assign(process.env, ENV);
    dynamo.on(GetCommand).resolves({});
    const { handler } = await import('../../functions/unlogged-use/handler');
    await expect(handler()).resolves.toEqual({ checked: 0, reported: 0 });
  });

  it('logs counts only: neither the key id nor the user name (the log group is readable)', async () => {
    Object.assign(process.env, ENV, { POWERTOOLS_LOG_LEVEL: 'INFO' });
    const spec = makeSpec();
    const user = spec.plan.resources.find((d) => d.kind === 'iam-user')!;
    const at = '2025-03-14T03:00:00.000Z';
    const record: RegistryRecord = {
      version: 4,
      spec: specRecord(spec),
      owned: [
        { kind: 'iam-user', name: user.name, arn: user.arn, state: 'created', claimedAt: at, createdAt: at },
      ],
      keys: [{ accessKeyId: 'AKIAKEYUNDERREVIEW01', userName: user.name, status: 'active', createdAt: at }],
      createdAt: at,
      updatedAt: at,
    };
    dynamo.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', ...record } });
    iam.on(GetAccessKeyLastUsedCommand).resolves({ UserName: user.name, AccessKeyLastUsed: undefined });
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const { handler } = await import('../../functions/unlogged-use/handler');
      await expect(handler()).resolves.toEqual({ checked: 1, reported: 0 });
    } finally {
      stdout.mockRestore();
    }
    const log = written.join('');
    expect(log).toContain('credential usage reviewed');
    expect(log).not.toContain('AKIAKEYUNDERREVIEW01');
    expect(log).not.toContain(user.name);
  });
});
