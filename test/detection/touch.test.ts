import { describe, expect, it } from 'vitest';
import { touchHandler } from '../../functions/touch/touch-handler';
import { type CloudTrailRecord, toEnvelope } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { MemoryTouchStore } from '../../layers/detection/store';
import {
  MalformedEventError,
  OversizedEventError,
  parseEventTime,
  parseTouchEvent,
  processRecord,
  type TouchMetric,
  type TouchSettings,
} from '../../layers/detection/touch';
import { type Finding, findingSchema } from '../../layers/findings/finding';
import { type FindingSink, MemorySink } from '../../layers/findings/publish';
import { TEST_ACCOUNT } from '../helpers/app';
import { attackerRole, attackerUser, call, decoyUser } from './records';

const config = parseConfig({});
const decoys = planDecoys(config, { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;
const parameter = decoys.find((d) => d.kind === 'ssm-parameter')!;
const other = decoys.filter((d) => d.kind === 'ssm-parameter')[1]!;
const user = decoys.find((d) => d.kind === 'iam-user')!;
const context = {
  trailName: 'platform-shared-services-audit',
  trailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/platform-shared-services-audit`,
  ruleNamePrefix: 'platform-shared-services-route-',
  busName: 'platform-shared-services-events',
  trustedRoleArns: [`arn:aws:iam::${TEST_ACCOUNT}:role/platform-rotation`],
};

function settings(overrides: Partial<TouchSettings> = {}): TouchSettings {
  return {
    context,
    windowMinutes: 60,
    allowlist: compileAllowlist({ principalArns: [], cidrs: [] }),
    ...overrides,
  };
}

const minutes = (base: string, n: number) =>
  new Date(Date.parse(base) + n * 60_000).toISOString().replace('.000', '');
const T0 = '2024-08-01T15:00:00Z';

function read(
  name: string,
  eventTime: string,
  identity = attackerRole(),
  sourceIPAddress?: string,
): CloudTrailRecord {
  return call({
    template: 'ssmRole',
    eventName: 'GetParameter',
    region: 'us-east-1',
    userIdentity: identity,
    requestParameters: { name, withDecryption: true },
    eventTime,
    sourceIPAddress,
  });
}

async function run(
  records: CloudTrailRecord[],
  options: { settings?: TouchSettings; store?: MemoryTouchStore; sink?: FindingSink } = {},
) {
  const store = options.store ?? new MemoryTouchStore();
  const sink = options.sink ?? new MemorySink();
  const index = new DecoyIndex(decoys);
  const metrics: TouchMetric[] = [];
  const results = [];
  for (const record of records) {
    results.push(
      await processRecord(record, record.eventID!, index, options.settings ?? settings(), {
        store,
        sink,
        now: () => Date.parse(record.eventTime),
        count: (m) => metrics.push(m),
      }),
    );
  }
  return { store, sink, results, metrics };
}

describe('dedupe: the same actor and decoy within the window is one finding with a count', () => {
  it('five reads in an hour: one alert; the audit record counts five', async () => {
    const records = [0, 5, 10, 30, 59].map((m) => read(parameter.name, minutes(T0, m)));
    const { sink, store, results } = await run(records);
    expect(sink instanceof MemorySink && sink.findings).toHaveLength(1);
    expect(results.map((r) => r.outcomes[0]!.result)).toEqual([
      'alerted',
      'counted',
      'counted',
      'counted',
      'counted',
    ]);
    const [audit] = [...store.audit.values()];
    expect(audit!.count).toBe(5);
    expect(audit!.firstSeen).toBe('2024-08-01T15:00:00.000Z');
    expect(audit!.lastSeen).toBe('2024-08-01T15:59:00.000Z');
    expect(audit!.id).toBe((sink as MemorySink).findings[0]!.id);
  });

  it('a touch after the window opens a new finding with a new id', async () => {
    const { sink } = await run([read(parameter.name, T0), read(parameter.name, minutes(T0, 61))]);
    const findings = (sink as MemorySink).findings;
    expect(findings).toHaveLength(2);
    expect(findings[0]!.id).not.toBe(findings[1]!.id);
  });

  it('another actor, or another decoy, is another finding', async () => {
    const { sink } = await run([
      read(parameter.name, T0),
      read(parameter.name, minutes(T0, 1), attackerUser()),
      read(other.name, minutes(T0, 2)),
    ]);
    expect((sink as MemorySink).findings.map((f) => [f.actor.arn, f.resource?.name])).toEqual([
      [attackerRole().arn, parameter.name],
      [attackerUser().arn, parameter.name],
      [attackerRole().arn, other.name],
    ]);
  });

  it('the window follows the config (detection.dedupeWindowMinutes)', async () => {
    const records = [read(parameter.name, T0), read(parameter.name, minutes(T0, 10))];
    const { sink } = await run(records, { settings: settings({ windowMinutes: 5 }) });
    expect((sink as MemorySink).findings).toHaveLength(2);
  });

  it('a call of every outcome makes the finding "mixed"', async () => {
    const denied = read(parameter.name, minutes(T0, 1));
    denied.errorCode = 'AccessDenied';
    const { store } = await run([read(parameter.name, T0), denied]);
    expect([...store.audit.values()][0]!.outcome).toBe('mixed');
  });
});

describe('duplicate delivery never gives a second alert', () => {
  it('the same CloudTrail event delivered twice is counted once', async () => {
    const record = read(parameter.name, T0);
    const { sink, store, results, metrics } = await run([record, record, structuredClone(record)]);
    expect((sink as MemorySink).findings).toHaveLength(1);
    expect(results.map((r) => r.outcomes[0]!.result)).toEqual(['alerted', 'duplicate', 'duplicate']);
    expect([...store.audit.values()][0]!.count).toBe(1);
    expect(metrics.filter((m) => m === 'Duplicates')).toHaveLength(2);
  });

  it('a failed publish is retried by the redelivery, and alerts exactly once', async () => {
    let failures = 1;
    const published: Finding[] = [];
    const flaky: FindingSink = {
      async publish(finding) {
        if (failures-- > 0) throw new Error('SNS: ThrottlingException');
        published.push(finding);
      },
    };
    const store = new MemoryTouchStore();
    const record = read(parameter.name, T0);
    await expect(run([record], { store, sink: flaky })).rejects.toThrow(/ThrottlingException/);
    expect(published).toHaveLength(0);
    // EventBridge / Lambda retry the same event.
    const retry = await run([record], { store, sink: flaky });
    expect(retry.results[0]!.outcomes[0]!.result).toBe('alerted');
    await run([record], { store, sink: flaky });
    expect(published).toHaveLength(1);
    expect(published[0]!.count).toBe(1);
  });

  it('while another invocation holds the alert, a concurrent touch does not alert again', async () => {
    const store = new MemoryTouchStore();
    const { window } = await store.record({
      subjectKey: 'x',
      deliveryKey: 'a',
      openingFindingId: 'finding-x',
      eventTime: Date.parse(T0),
      windowMs: 3_600_000,
      eventName: 'GetParameter',
      outcome: 'allowed',
      severity: 'high',
      now: Date.parse(T0),
    });
    expect(await store.claimAlert('x', window.findingId, Date.parse(T0), 120_000)).toBe(true);
    expect(await store.claimAlert('x', window.findingId, Date.parse(T0) + 1000, 120_000)).toBe(false);
    // A claim whose invocation died expires with its lease.
    expect(await store.claimAlert('x', window.findingId, Date.parse(T0) + 121_000, 120_000)).toBe(true);
  });
});

describe('allowlists from the config', () => {
  it('an allowlisted principal (role or session ARN, or a prefix) raises nothing', async () => {
    const role = attackerRole();
    const issuer = (role.sessionContext as { sessionIssuer: { arn: string } }).sessionIssuer.arn;
    for (const principalArns of [[issuer], [String(role.arn)], [`${issuer.slice(0, 30)}*`]]) {
      const { sink, metrics } = await run([read(parameter.name, T0, role)], {
        settings: settings({ allowlist: compileAllowlist({ principalArns, cidrs: [] }) }),
      });
      expect((sink as MemorySink).findings, principalArns[0]).toEqual([]);
      expect(metrics).toContain('Allowlisted');
    }
  });

  it('a source address inside an allowlisted CIDR raises nothing; one outside does', async () => {
    const allowlist = compileAllowlist({ principalArns: [], cidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    const inside = await run([read(parameter.name, T0, attackerRole(), '203.0.113.77')], {
      settings: settings({ allowlist }),
    });
    const inside6 = await run([read(parameter.name, T0, attackerRole(), '2001:db8::5')], {
      settings: settings({ allowlist }),
    });
    const outside = await run([read(parameter.name, T0, attackerRole(), '198.51.100.7')], {
      settings: settings({ allowlist }),
    });
    expect((inside.sink as MemorySink).findings).toEqual([]);
    expect((inside6.sink as MemorySink).findings).toEqual([]);
    expect((outside.sink as MemorySink).findings).toHaveLength(1);
  });

  it('a call signed with the planted key is never allowlisted', async () => {
    const allowlist = compileAllowlist({ principalArns: [user.arn], cidrs: ['0.0.0.0/0'] });
    const record = call({
      template: 'sts',
      eventName: 'GetCallerIdentity',
      region: 'us-east-1',
      userIdentity: decoyUser(user.arn),
      requestParameters: null,
    });
    const { sink } = await run([record], { settings: settings({ allowlist }) });
    expect((sink as MemorySink).findings).toHaveLength(1);
    expect((sink as MemorySink).findings[0]!.severity).toBe('critical');
  });

  it('a malformed CIDR in the config is named', () => {
    expect(() => compileAllowlist({ principalArns: [], cidrs: ['10.0.0.0/33'] })).toThrow(
      /"10.0.0.0\/33" is not a CIDR/,
    );
  });
});

describe('the touch function: boundary, metrics, nothing lost', () => {
  function handler(sink: FindingSink = new MemorySink()) {
    const counted: string[] = [];
    const errors: string[] = [];
    const store = new MemoryTouchStore();
    const fn = touchHandler({
      settings: settings(),
      loadResources: async () => decoys,
      store,
      sink,
      now: () => Date.parse(T0),
      count: (m) => counted.push(m),
      logger: { info: () => {}, warn: () => {}, error: (message: string) => void errors.push(message) },
    });
    return { fn, counted, errors, store, sink };
  }

  it('logs the same line for a touch and for an unrelated call, naming no resource', async () => {
    const lines: unknown[] = [];
    const fn = touchHandler({
      settings: settings(),
      loadResources: async () => decoys,
      store: new MemoryTouchStore(),
      sink: new MemorySink(),
      now: () => Date.parse(T0),
      count: () => {},
      logger: { info: (...args: unknown[]) => void lines.push(args), warn: () => {}, error: () => {} },
    });
    const touched = await fn(toEnvelope(read(parameter.name, T0)));
    const unrelated = await fn(toEnvelope(read('/prod/payments/unrelated', T0)));
    expect(touched.matches).toHaveLength(1);
    expect(unrelated.matches).toHaveLength(0);
    const [first, second] = lines as [string, Record<string, unknown>][][];
    expect(first![0]).toBe(second![0]);
    expect(Object.keys(first![1]!)).toEqual(Object.keys(second![1]!));
    expect(JSON.stringify(lines)).not.toContain(parameter.name);
  });

  it("sorts each event against the registry of the event's account (organization mode: one per member)", async () => {
    const MEMBER_A = '444455556666';
    const MEMBER_B = '777788889999';
    // Only member A holds this parameter; member B's registry lists other names.
    const registries: Record<string, typeof decoys> = {
      [MEMBER_A]: planDecoys(config, { account: MEMBER_A, region: 'us-east-1' }).resources,
      [MEMBER_B]: [],
    };
    const asked: (string | undefined)[] = [];
    const fn = touchHandler({
      settings: settings(),
      loadResources: async (account) => {
        asked.push(account);
        return registries[account ?? ''] ?? [];
      },
      store: new MemoryTouchStore(),
      sink: new MemorySink(),
      now: () => Date.parse(T0),
      count: () => {},
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const name = registries[MEMBER_A]!.find((d) => d.kind === 'ssm-parameter')!.name;
    const inA = await fn(toEnvelope({ ...read(name, T0), recipientAccountId: MEMBER_A }));
    const inB = await fn(toEnvelope({ ...read(name, T0), recipientAccountId: MEMBER_B }));
    expect(inA.matches).toHaveLength(1);
    expect(inB).toEqual({ ignored: 'unmatched', matches: [] });
    // Each account's registry read once, then reused.
    await fn(toEnvelope({ ...read(name, T0), recipientAccountId: MEMBER_A }));
    expect(asked).toEqual([MEMBER_A, MEMBER_B]);
  });

  it('an EventBridge envelope of a touch gives a finding that matches the one schema', async () => {
    const { fn, sink } = handler();
    const result = await fn(toEnvelope(read(parameter.name, T0)));
    expect(result.matches).toEqual([
      expect.objectContaining({
        result: 'alerted',
        resource: `ssm-parameter:${parameter.name}`,
        severity: 'high',
      }),
    ]);
    const finding = findingSchema.parse((sink as MemorySink).findings[0]);
    expect(finding.evidence[0]!.url).toContain('cloudtrailv2');
  });

  it.each([
    ['no detail', (e: Record<string, unknown>) => delete e.detail, /event\.detail: /],
    [
      'no eventName',
      (e: Record<string, unknown>) => delete (e.detail as Record<string, unknown>).eventName,
      /event\.detail\.eventName/,
    ],
    [
      'a number for a region',
      (e: Record<string, unknown>) => ((e.detail as Record<string, unknown>).awsRegion = 7),
      /event\.detail\.awsRegion/,
    ],
    ['not an object at all', () => 'hello', /not a CloudTrail event/],
  ])('a malformed event (%s) is counted and thrown with what is wrong', async (_label, mutate, message) => {
    const { fn, counted, errors } = handler();
    const event = toEnvelope(read(parameter.name, T0)) as unknown as Record<string, unknown>;
    const result = mutate(event);
    const input = typeof result === 'string' ? result : event;
    await expect(fn(input)).rejects.toThrow(MalformedEventError);
    await expect(fn(input)).rejects.toThrow(message);
    expect(counted).toContain('MalformedEvents');
    expect(errors[0]).toMatch(/dead-letter queue/);
  });

  it('an event over 256 KB is counted and thrown, naming its size', async () => {
    const { fn, counted } = handler();
    const record = read(parameter.name, T0);
    record.requestParameters = { name: parameter.name, padding: 'x'.repeat(300 * 1024) };
    await expect(fn(toEnvelope(record))).rejects.toThrow(OversizedEventError);
    await expect(fn(toEnvelope(record))).rejects.toThrow(
      /event of \d+ bytes is over EventBridge's 262144-byte limit/,
    );
    expect(counted).toContain('OversizedEvents');
  });

  it('a publish that fails makes the invocation fail (so Lambda retries, then dead-letters)', async () => {
    const failing: FindingSink = {
      publish: async () => {
        throw new Error('EventBridge: AccessDeniedException');
      },
    };
    const { fn, counted } = handler(failing);
    await expect(fn(toEnvelope(read(parameter.name, T0)))).rejects.toThrow(/AccessDeniedException/);
    expect(counted).toContain('PublishFailures');
  });

  it("the planter's own calls are dropped even if a rule lets them through", async () => {
    const { fn, sink } = handler();
    const identity = attackerRole();
    (identity.sessionContext as { sessionIssuer: { arn: string } }).sessionIssuer.arn =
      context.trustedRoleArns[0]!;
    const result = await fn(toEnvelope(read(parameter.name, T0, identity)));
    expect(result).toEqual({ ignored: 'trusted-principal', matches: [] });
    expect((sink as MemorySink).findings).toEqual([]);
  });

  it('the delivery id is the CloudTrail event id, else the envelope id', () => {
    const record = read(parameter.name, T0);
    expect(parseTouchEvent(toEnvelope(record, 'envelope-1')).deliveryId).toBe(record.eventID);
    delete record.eventID;
    expect(parseTouchEvent(toEnvelope(record, 'envelope-1')).deliveryId).toBe('envelope-1');
  });
});

describe('event times', () => {
  it.each([
    ['2024-08-01T15:26:57Z', Date.UTC(2024, 7, 1, 15, 26, 57)],
    ['2025-02-14 19:43:09.000000000', Date.UTC(2025, 1, 14, 19, 43, 9)],
    ['2021-10-19 00:56:05', Date.UTC(2021, 9, 19, 0, 56, 5)],
    ['2024-08-01T15:26:57.123+02:00', Date.UTC(2024, 7, 1, 13, 26, 57, 123)],
  ])('%s', (text, expected) => {
    expect(parseEventTime(text)).toBe(expected);
  });

  it('an unreadable time is undefined (the event is refused)', () => {
    expect(parseEventTime('yesterday')).toBeUndefined();
  });
});
