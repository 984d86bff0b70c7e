import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCloudTrail } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import {
  baselinesFromJson,
  baselinesToJson,
  emptyBaselines,
  FEATURE_COUNT,
  FEATURE_DOCS,
  FEATURE_INDEX,
  FEATURE_NAMES,
  type FeatureName,
  featuresOf,
  learnWindow,
  MAX_DISTINCT,
  mergeWindows,
  OTHER,
  WindowBuilder,
  windowFromJson,
  windowsOf,
  windowToJson,
} from '../../layers/features';
import { alice, call, roleSession } from './helpers';

const DATA = join(__dirname, '..', 'data', 'cloudtrail');

function named(vector: Float64Array): Record<FeatureName, number> {
  return Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, vector[i]!])) as Record<
    FeatureName,
    number
  >;
}

/** Alice's usual hour: ListBuckets and GetObject from her IP with the CLI, ten windows on weekday mornings. */
function aliceHabit() {
  const baselines = emptyBaselines(FEATURE_COUNT);
  for (let day = 6; day < 16; day++) {
    const time = `2024-05-${String(day).padStart(2, '0')}T10:`;
    const [window] = windowsOf(
      [
        call({ eventTime: `${time}05:00Z` }),
        call({ eventTime: `${time}06:00Z`, eventName: 'GetObject' }),
        call({ eventTime: `${time}07:00Z`, eventName: 'GetObject' }),
      ],
      60,
    );
    learnWindow(baselines, featuresOf(window!, baselines).traits);
  }
  return baselines;
}

describe('features of hand-made windows', () => {
  it('computes every feature of a window', () => {
    const records: CloudTrailRecord[] = [
      call({ eventTime: '2024-05-06T10:01:00Z' }),
      call({
        eventTime: '2024-05-06T10:02:00Z',
        eventSource: 'iam.amazonaws.com',
        eventName: 'ListUsers',
        awsRegion: 'us-east-1',
      }),
      call({
        eventTime: '2024-05-06T10:03:00Z',
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreateAccessKey',
        readOnly: false,
        errorCode: 'AccessDenied',
        awsRegion: 'us-east-1',
      }),
      call({ eventTime: '2024-05-06T10:04:00Z', errorCode: 'NoSuchBucket', sourceIPAddress: '203.0.113.9' }),
    ];
    const [window] = windowsOf(records, 60);
    expect(window).toMatchObject({ calls: 4, errors: 2, denied: 1, writes: 1, sensitive: 2 });
    const f = named(featuresOf(window!, emptyBaselines(FEATURE_COUNT)).vector);
    expect(f.calls).toBeCloseTo(Math.log1p(4));
    expect(f.distinctApis).toBe(3);
    expect(f.distinctServices).toBe(2);
    expect(f.errorRatio).toBe(0.5);
    expect(f.accessDeniedRatio).toBe(0.25);
    expect(f.writeRatio).toBe(0.25);
    expect(f.sensitiveCalls).toBeCloseTo(Math.log1p(2));
    // No history at all: everything is new.
    expect(f.newSourceIps).toBe(2);
    expect(f.newUserAgents).toBe(1);
    expect(f.newApiRatio).toBe(1);
    expect(f.regions).toBe(2);
    expect(f.newRegions).toBe(2);
    expect(f.noveltyKinds).toBe(4);
  });

  it("judges a window against the principal's own history", () => {
    const baselines = aliceHabit();
    const usual = windowsOf([call({ eventTime: '2024-05-20T10:30:00Z' })], 60)[0]!;
    const f = named(featuresOf(usual, baselines).vector);
    expect(f.newSourceIps).toBe(0);
    expect(f.newUserAgents).toBe(0);
    expect(f.newApiRatio).toBe(0);
    expect(f.hourRarity).toBe(0);
    expect(f.noveltyKinds).toBe(0);

    // Her key, 3 a.m., from elsewhere, with another tool, listing IAM users.
    const stolen = windowsOf(
      [
        call({
          eventTime: '2024-05-20T03:10:00Z',
          sourceIPAddress: '203.0.113.66',
          userAgent: 'Boto3/1.34.0 Python/3.12',
          eventSource: 'iam.amazonaws.com',
          eventName: 'ListUsers',
          awsRegion: 'us-east-1',
        }),
      ],
      60,
    )[0]!;
    const g = named(featuresOf(stolen, baselines).vector);
    expect(g.newSourceIps).toBe(1);
    expect(g.newUserAgents).toBe(1);
    expect(g.newApiRatio).toBe(1);
    expect(g.newRegions).toBe(1);
    expect(g.hourRarity).toBeGreaterThan(0.9);
    expect(g.noveltyKinds).toBe(5);
    expect(g.callsVsHabit).toBeLessThan(0);
  });

  it('a new session of a known role is judged against the role', () => {
    const baselines = emptyBaselines(FEATURE_COUNT);
    const day1 = windowsOf(
      [call({ userIdentity: roleSession('app', 'task-1'), sourceIPAddress: '10.0.0.5' })],
      60,
    )[0]!;
    learnWindow(baselines, featuresOf(day1, baselines).traits);
    const day2 = windowsOf(
      [
        call({
          eventTime: '2024-05-07T10:15:00Z',
          userIdentity: roleSession('app', 'task-2'),
          sourceIPAddress: '10.0.0.5',
        }),
      ],
      60,
    )[0]!;
    const f = named(featuresOf(day2, baselines).vector);
    expect(f.newSourceIps).toBe(0);
    expect(f.newApiRatio).toBe(0);
  });

  it('missing or unknown fields never crash', () => {
    const bare = {
      eventTime: '2024-05-06T10:00:00Z',
      eventSource: 'weird',
      eventName: 'X',
      awsRegion: 'r',
    } as CloudTrailRecord;
    const builder = new WindowBuilder(60).addAll([bare, { ...bare, eventTime: 'yesterday' }]);
    expect(builder.skipped.count).toBe(1);
    const [window] = builder.windows();
    const vector = featuresOf(window!, emptyBaselines(FEATURE_COUNT)).vector;
    expect(vector.every(Number.isFinite)).toBe(true);
  });

  it('caps distinct values so a window stays small', () => {
    const records = Array.from({ length: MAX_DISTINCT + 50 }, (_, i) =>
      call({ sourceIPAddress: `10.0.${Math.floor(i / 250)}.${i % 250}` }),
    );
    const [window] = windowsOf(records, 60);
    expect(window!.sourceIps.size).toBe(MAX_DISTINCT + 1);
    expect(window!.sourceIps.get(OTHER)).toBe(50);
  });
});

describe('windows', () => {
  it('groups by principal and window start', () => {
    const windows = windowsOf(
      [
        call({ eventTime: '2024-05-06T10:59:59Z' }),
        call({ eventTime: '2024-05-06T11:00:00Z' }),
        call({ eventTime: '2024-05-06T10:00:00Z', userIdentity: roleSession('ci', 'run') }),
      ],
      60,
    );
    expect(windows.map((w) => [new Date(w.windowStart).toISOString(), w.principal.type, w.calls])).toEqual([
      ['2024-05-06T10:00:00.000Z', 'IAMUser', 1],
      ['2024-05-06T10:00:00.000Z', 'AssumedRole', 1],
      ['2024-05-06T11:00:00.000Z', 'IAMUser', 1],
    ]);
  });

  it('a window merged from two batches equals the window of all records', () => {
    const records = Array.from({ length: 30 }, (_, i) =>
      call({
        eventTime: `2024-05-06T10:${String(i).padStart(2, '0')}:00Z`,
        eventName: i % 3 ? 'GetObject' : 'PutObject',
        errorCode: i % 7 ? undefined : 'AccessDenied',
        eventID: `e${i}`,
      }),
    );
    const whole = windowsOf(records, 60)[0]!;
    const merged = mergeWindows(
      windowsOf(records.slice(0, 12), 60)[0]!,
      windowsOf(records.slice(12), 60)[0]!,
    );
    expect(windowToJson(merged)).toEqual(windowToJson(whole));
    expect(windowToJson(windowFromJson(JSON.parse(JSON.stringify(windowToJson(whole)))))).toEqual(
      windowToJson(whole),
    );
  });

  it('baselines survive their JSON form', () => {
    const baselines = aliceHabit();
    const back = baselinesFromJson(JSON.parse(JSON.stringify(baselinesToJson(baselines))));
    const window = windowsOf(
      [call({ eventTime: '2024-05-20T03:10:00Z', sourceIPAddress: '203.0.113.66' })],
      60,
    )[0]!;
    // Sums are stored to 10 significant digits: the same features, to far more precision than scores need.
    const before = featuresOf(window, baselines).vector;
    featuresOf(window, back).vector.forEach((value, i) => {
      expect(value).toBeCloseTo(before[i]!, 8);
    });
    expect(back.principals.get(alice.accessKeyId)?.windows).toBe(10);
  });
});

describe('features on real records', () => {
  it('every copied real record lands in a window with finite features', async () => {
    const builder = new WindowBuilder(60);
    for await (const record of readCloudTrail([DATA])) builder.add(record);
    expect(builder.records).toBe(761);
    expect(builder.skipped.count).toBe(0);
    const baselines = emptyBaselines(FEATURE_COUNT);
    for (const window of builder.windows()) {
      const { vector, traits } = featuresOf(window, baselines);
      expect(vector.every(Number.isFinite)).toBe(true);
      learnWindow(baselines, traits);
    }
  });

  it('a Stratus detonation (CloudTrail stopped) shows as a logging change', async () => {
    const records: CloudTrailRecord[] = [];
    for await (const r of readCloudTrail([
      join(DATA, 'stratus-detonations', 'aws.defense-evasion.cloudtrail-stop.json'),
    ]))
      records.push(r);
    const [window] = windowsOf(records, 60);
    expect(window!.sensitiveByCategory.get('logging-change')).toBe(1);
    const vector = featuresOf(window!, emptyBaselines(FEATURE_COUNT)).vector;
    expect(vector[FEATURE_INDEX.sensitiveCalls]).toBeGreaterThan(0);
  });
});

describe('FEATURE_DOCS', () => {
  it('documents every feature, in order, with why it matters', () => {
    expect(FEATURE_DOCS.map((doc) => doc.name)).toEqual([...FEATURE_NAMES]);
    for (const doc of FEATURE_DOCS) {
      expect(doc.definition.length).toBeGreaterThan(20);
      expect(doc.why.length).toBeGreaterThan(40);
    }
  });
});
