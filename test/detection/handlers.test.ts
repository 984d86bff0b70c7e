import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toEnvelope } from '../../layers/cloudtrail/record';
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
const saved = { ...process.env };

beforeEach(() => {
  vi.resetModules();
  dynamo.reset();
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
    await expect(handler(toEnvelope(record))).resolves.toEqual({ ignored: 'not-a-decoy', touches: [] });
    expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'state',
      Key: { pk: 'inventory', sk: 'current' },
    });
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
});
