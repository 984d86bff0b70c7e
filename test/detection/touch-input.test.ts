import { describe, expect, it } from 'vitest';
import { touchHandler } from '../../functions/touch/touch-handler';
import { type CloudTrailRecord, toEnvelope } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { MemoryTouchStore } from '../../layers/detection/store';
import { MalformedEventError, parseTouchEvent, processRecord } from '../../layers/detection/touch';
import { MemorySink } from '../../layers/findings/publish';
import { TEST_ACCOUNT } from '../helpers/app';
import { attackerRole, call } from './records';

/**
 * What the touch function refuses at its boundary: an envelope whose source is not
 * an AWS service (CloudTrail's events are `aws.*`; PutEvents cannot use that prefix,
 * so this is what a forged event looks like) and a time that is not a date. Either
 * is a MalformedEventError: counted, logged, thrown, so Lambda's retries and the
 * on-failure destination keep the event. A finding is never dated by the clock.
 */

const decoys = planDecoys(parseConfig({}), { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;
const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
const settings = {
  context: {
    trailName: 'platform-shared-services-audit',
    trailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/platform-shared-services-audit`,
    ruleNamePrefix: 'platform-shared-services-route-',
    busName: 'platform-shared-services-events',
    trustedRoleArns: [],
  },
  windowMinutes: 60,
  allowlist: compileAllowlist({ principalArns: [], cidrs: [] }),
};
const NOW = Date.parse('2024-08-01T16:00:00Z');

function read(eventTime = '2024-08-01T15:00:00Z'): CloudTrailRecord {
  return call({
    template: 'ssmRole',
    eventName: 'GetParameter',
    region: 'us-east-1',
    userIdentity: attackerRole(),
    requestParameters: { name: parameter.name, withDecryption: true },
    eventTime,
  });
}

type Envelope = Record<string, unknown> & { detail: Record<string, unknown> };
const envelope = (record = read()) => toEnvelope(record) as unknown as Envelope;

function handler() {
  const counted: string[] = [];
  const errors: string[] = [];
  const store = new MemoryTouchStore();
  const sink = new MemorySink();
  const fn = touchHandler({
    settings,
    loadResources: async () => decoys,
    store,
    sink,
    now: () => NOW,
    count: (metric) => counted.push(metric),
    logger: { info: () => {}, warn: () => {}, error: (message: string) => void errors.push(message) },
  });
  return { fn, counted, errors, store, sink };
}

const REFUSED: [string, (e: Envelope) => void, RegExp][] = [
  [
    'a custom source',
    (e) => (e.source = 'com.example.audit'),
    /event\.source: expected an AWS service source/,
  ],
  ['a source that only contains aws.', (e) => (e.source = 'my.aws.ssm'), /event\.source/],
  ['an empty source', (e) => (e.source = ''), /event\.source/],
  ['an unparseable detail.eventTime', (e) => (e.detail.eventTime = 'yesterday'), /event\.detail\.eventTime/],
  [
    'an out-of-range detail.eventTime',
    (e) => (e.detail.eventTime = '+275760-09-13T00:00:00Z'),
    /event\.detail\.eventTime: expected a date from 1970 to 9999/,
  ],
  ['an unparseable envelope time', (e) => (e.time = 'now'), /event\.time: expected a date/],
];

describe('parseTouchEvent', () => {
  it('accepts a CloudTrail event from an AWS service', () => {
    expect(parseTouchEvent(envelope()).record.eventName).toBe('GetParameter');
  });

  it.each(REFUSED)('refuses %s with a MalformedEventError naming the field', (_label, mutate, message) => {
    const event = envelope();
    mutate(event);
    expect(() => parseTouchEvent(event)).toThrow(MalformedEventError);
    expect(() => parseTouchEvent(event)).toThrow(message);
  });

  it('names every bad field at once', () => {
    const event = envelope();
    event.source = 'custom';
    event.detail.eventTime = 'later';
    expect(() => parseTouchEvent(event)).toThrow(/event\.source.*; event\.detail\.eventTime/);
  });
});

describe('the touch function', () => {
  it.each(REFUSED)(
    'an event with %s is counted, logged for the dead-letter queue and thrown; nothing is recorded',
    async (_label, mutate) => {
      const { fn, counted, errors, store, sink } = handler();
      const event = envelope();
      mutate(event);
      await expect(fn(event)).rejects.toThrow(MalformedEventError);
      expect(counted).toEqual(['MalformedEvents']);
      expect(errors).toEqual([expect.stringMatching(/dead-letter queue/)]);
      expect(sink.findings).toEqual([]);
      expect(store.audit.size).toBe(0);
    },
  );

  it('a touch is dated by its event time, not by when it was processed', async () => {
    const { fn, sink } = handler();
    await fn(envelope(read('2024-08-01T15:00:00Z')));
    expect(sink.findings[0]!.firstSeen).toBe('2024-08-01T15:00:00.000Z');
  });
});

describe('processRecord (replay, the drill)', () => {
  it('a record whose time is not a date is refused, not dated by the clock', async () => {
    const record = read('not a time');
    const sink = new MemorySink();
    await expect(
      processRecord(record, 'delivery-1', new DecoyIndex(decoys), settings, {
        store: new MemoryTouchStore(),
        sink,
        now: () => NOW,
      }),
    ).rejects.toThrow(MalformedEventError);
    expect(sink.findings).toEqual([]);
  });
});
