import { describe, expect, it } from 'vitest';
import {
  CostInputError,
  type CostReport,
  costModel,
  formatCostReport,
  MEASURED,
  PRICES,
  type TrafficMeasure,
} from '../../layers/cost';

const lineOf = (report: CostReport, service: string, item: RegExp) => {
  const line = report.lines.find((l) => l.service === service && item.test(l.item));
  if (!line) throw new Error(`no ${service} line matching ${item}`);
  return line;
};

const MONTH = 30;

describe('costModel: each line a count times a unit price', () => {
  it.each([
    { eventsPerDay: 0, forwarded: 0 },
    { eventsPerDay: 100_000, forwarded: (100_000 * MONTH * MEASURED.forwarded) / MEASURED.records },
    { eventsPerDay: 1_000_000, forwarded: (1_000_000 * MONTH * MEASURED.forwarded) / MEASURED.records },
    { eventsPerDay: 10_000_000, forwarded: (10_000_000 * MONTH * MEASURED.forwarded) / MEASURED.records },
  ])(
    '$eventsPerDay events a day: the forwarded events are the drill-measured share',
    ({ eventsPerDay, forwarded }) => {
      const report = costModel({ eventsPerDay });
      const line = lineOf(report, 'EventBridge', /central bus/);
      expect(line.quantity).toBeCloseTo(forwarded, 6);
      expect(line.usdPerMonth).toBeCloseTo((forwarded / 1_000_000) * PRICES.eventBusDelivery.usd, 3);
      expect(line.price.source).toBe('https://aws.amazon.com/eventbridge/pricing/');
    },
  );

  it.each([
    { service: 'Lambda', item: /touch function invocations/, measured: MEASURED.touchInvocations },
    { service: 'DynamoDB', item: /window state reads/, measured: MEASURED.windowUpdates * 0.5 },
    { service: 'CloudTrail', item: /data events/, measured: MEASURED.dataEvents },
  ])('$service $item scales with the measure', ({ service, item, measured }) => {
    const one = lineOf(costModel({ eventsPerDay: 1_000_000 }), service, item);
    const two = lineOf(costModel({ eventsPerDay: 2_000_000 }), service, item);
    expect(one.quantity).toBeCloseTo((measured / MEASURED.records) * 1_000_000 * MONTH, 3);
    expect(two.quantity).toBeCloseTo(one.quantity * 2, 3);
  });

  it('with no events only the fixed costs remain: secrets, keys, the response to the assumed finding a day', () => {
    const report = costModel({ eventsPerDay: 0, findingsPerDay: 0 });
    const nonZero = report.lines.filter((l) => l.usdPerMonth > 0).map((l) => `${l.service}: ${l.item}`);
    expect(nonZero).toEqual([
      'Secrets Manager: planted secrets',
      'Secrets Manager: API calls (daily refresh)',
      'KMS: keys of the planted parameters and secrets',
      'KMS: requests (refresh, rotation)',
      'KMS: control-plane keys (state, notifications, workflow, analytics)',
    ]);
    expect(report.totalUsdPerMonth).toBeCloseTo(2 * 0.4 + 2 + 4 + 0.01, 1);
    expect(report.perMillionEventsUsd).toBe(0);
  });

  it('a second trail in the account makes management events a paid copy', () => {
    const first = lineOf(costModel({ eventsPerDay: 1_000_000 }), 'CloudTrail', /management events/);
    const second = lineOf(
      costModel({ eventsPerDay: 1_000_000, secondManagementCopy: true }),
      'CloudTrail',
      /management events/,
    );
    expect(first.usdPerMonth).toBe(0);
    expect(second.quantity).toBe(30_000_000);
    expect(second.usdPerMonth).toBeCloseTo(600, 6);
  });

  it('a member account leaves the shared control plane out of its total', () => {
    const single = costModel({ eventsPerDay: 1_000_000 });
    const member = costModel({ eventsPerDay: 1_000_000, mode: 'member' });
    expect(member.sharedControlPlaneUsdPerMonth).toBe(4);
    expect(single.totalUsdPerMonth - member.totalUsdPerMonth).toBeCloseTo(4, 2);
    expect(lineOf(member, 'EventBridge', /cross-account/).usdPerMonth).toBe(
      lineOf(single, 'EventBridge', /central bus/).usdPerMonth,
    );
  });

  it('log files scale with the active Regions, not the events (capped by the events)', () => {
    const files = (regions: number, eventsPerDay = 1_000_000) =>
      lineOf(costModel({ eventsPerDay, regions }), 'S3', /written/).quantity;
    expect(files(1)).toBe(288 * MONTH);
    expect(files(17)).toBe(17 * 288 * MONTH);
    expect(files(17, 10)).toBe(10 * MONTH);
  });

  it('takes another measure', () => {
    const measured: TrafficMeasure = {
      records: 1000,
      logged: 1000,
      dataEvents: 10,
      forwarded: 500,
      touchInvocations: 600,
      recordsRouted: 500,
      logFiles: 10,
      windowUpdates: 20,
    };
    const report = costModel({ eventsPerDay: 1000, measured });
    expect(lineOf(report, 'EventBridge', /central bus/).quantity).toBe(15_000);
    expect(lineOf(report, 'CloudTrail', /data events/).quantity).toBe(300);
    expect(report.measured.source).toBe('given');
  });

  it.each([
    [{ eventsPerDay: -1 }, 'eventsPerDay must be a non-negative number (got -1)'],
    [{ eventsPerDay: Number.NaN }, 'eventsPerDay must be a non-negative number (got NaN)'],
    [{ eventsPerDay: 1, regions: 0 }, 'regions must be a positive integer (got 0)'],
    [{ eventsPerDay: 1, secrets: 1.5 }, 'secrets must be a non-negative integer (got 1.5)'],
    [{ eventsPerDay: 1, mode: 'org' as 'member' }, 'mode must be "single-account" or "member" (got org)'],
  ])('rejects %j naming the field', (input, message) => {
    expect(() => costModel(input)).toThrow(CostInputError);
    expect(() => costModel(input)).toThrow(message);
  });
});

describe('formatCostReport', () => {
  it('one row per line, unconfirmed prices starred, the total and the measure', () => {
    const text = formatCostReport(costModel({ eventsPerDay: 1_000_000 }));
    expect(text).toMatch(
      /^Cost per month of one account \(single-account mode\): 1M CloudTrail events a day, 17/,
    );
    expect(text).toMatch(/EventBridge +forwarding rules → central bus .* 4\.88M +\*\$1 per 1M +4\.88/);
    expect(text).toMatch(/CloudTrail +data events for the planted bucket +0 +\$0\.1 per 100k +0\.00/);
    expect(text).toMatch(/^total: \$\d+\.\d\d a month \(\$\d+\.\d\d per million events\)$/m);
    expect(text).toContain(`${MEASURED.forwarded} of ${MEASURED.records} records forwarded`);
    const member = formatCostReport(costModel({ eventsPerDay: 1_000_000, mode: 'member' }));
    expect(member).toMatch(/shared control plane adds \$4\.00 a month once per organization/);
  });
});
