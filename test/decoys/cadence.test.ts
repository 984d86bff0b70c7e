import { describe, expect, it } from 'vitest';
import {
  ACCESS_KEY_CADENCE,
  DEFAULT_SPREAD_MS,
  dueAt,
  dumpMinute,
  lastDumpSlot,
  MIN_GAP_MS,
  PARAMETER_CADENCE,
  type ParameterWrite,
  planRefresh,
  type RefreshInput,
  rotationGroup,
} from '../../layers/decoys/cadence';

const DAY = 86_400_000;
const SEED = '6f1c2a9e0b7d4c3f8a5e1d2c3b4a5968';
const now = new Date(Date.UTC(2026, 10, 25, 14, 7, 31));
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);

const OBJECTS = [
  { key: 'config/payments/.env.prod', objectKind: 'env-file' as const },
  { key: 'db/payments-prod-full.sql', objectKind: 'database-dump' as const },
  { key: 'terraform/prod/payments/terraform.tfstate', objectKind: 'terraform-state' as const },
];

/** A deployment where everything was just written, then `patch` ages what the row needs. */
function input(patch: Partial<RefreshInput> & { ages?: Record<string, number> } = {}): RefreshInput {
  const ages = patch.ages ?? {};
  const at = (name: string, fallback: number) => daysAgo(ages[name] ?? fallback);
  const parameters: ParameterWrite[] = [
    { name: '/prod/payments/db-password', format: 'password' },
    { name: '/prod/payments/database-url', format: 'database-url' },
    { name: '/prod/payments/stripe-secret-key', format: 'api-token' },
    { name: '/prod/payments/jwt-signing-key', format: 'jwt-signing-key' },
  ].map((p) => ({ ...(p as ParameterWrite), lastWrite: at(p.name, 1) }));
  return {
    now,
    secretSeed: SEED,
    hasUser: true,
    keyCreatedAt: at('key', 1),
    parameters,
    // Written after tonight's dump slot: nothing due unless a row says so.
    objects: OBJECTS.map((o) => ({ ...o, lastWrite: new Date(lastDumpSlot(now, SEED).getTime() + 60_000) })),
    ...patch,
  };
}

describe('the access key rotates about every 90 days, never daily', () => {
  it.each([
    { age: 1, rotates: false },
    { age: 30, rotates: false },
    { age: 79, rotates: false },
    { age: 101, rotates: true },
    { age: 365, rotates: true },
  ])('created $age days ago: rotates $rotates', ({ age, rotates }) => {
    expect(planRefresh(input({ ages: { key: age } })).rotateKey).toBe(rotates);
  });

  it('a user without a key gets one; no user, no key', () => {
    expect(planRefresh(input({ keyCreatedAt: undefined })).rotateKey).toBe(true);
    expect(planRefresh(input({ hasUser: false, keyCreatedAt: undefined })).rotateKey).toBe(false);
  });

  it('the jitter is within ±10 days, drawn from the secret seed and different for each period', () => {
    const created = daysAgo(0);
    const offsets = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const due = dueAt(created, ACCESS_KEY_CADENCE, `seed-${i}`, 'access-key');
      const days = (due.getTime() - created.getTime()) / DAY;
      expect(days).toBeGreaterThanOrEqual(80);
      expect(days).toBeLessThanOrEqual(100);
      offsets.add(Math.round(days));
    }
    // Spread over the window, not one fixed period.
    expect(offsets.size).toBeGreaterThan(15);
    expect(dueAt(created, ACCESS_KEY_CADENCE, SEED, 'access-key')).toEqual(
      dueAt(created, ACCESS_KEY_CADENCE, SEED, 'access-key'),
    );
    // Successive periods of one deployment differ in length too.
    const lengths = new Set(
      [0, 90, 180, 270].map((start) => {
        const from = daysAgo(-start);
        return dueAt(from, ACCESS_KEY_CADENCE, SEED, 'access-key').getTime() - from.getTime();
      }),
    );
    expect(lengths.size).toBeGreaterThan(1);
  });
});

describe('each parameter value rotates on its own cadence', () => {
  it.each([
    { name: '/prod/payments/stripe-secret-key', age: 20, rotates: false },
    { name: '/prod/payments/stripe-secret-key', age: 35, rotates: true },
    { name: '/prod/payments/jwt-signing-key', age: 50, rotates: false },
    { name: '/prod/payments/jwt-signing-key', age: 68, rotates: true },
    { name: '/prod/payments/db-password', age: 60, rotates: false },
    { name: '/prod/payments/db-password', age: 101, rotates: true },
  ])('$name written $age days ago: rotates $rotates', ({ name, age, rotates }) => {
    const fresh = input();
    const plan = planRefresh(input({ ages: { [name]: age } }));
    expect(plan.parameters.includes(name)).toBe(rotates);
    // Nothing outside its rotation group is due: one rotation does not drag the others along.
    const formatOf = (n: string) => fresh.parameters.find((p) => p.name === n)?.format ?? 'api-token';
    const group = rotationGroup({ name, format: formatOf(name) });
    expect(plan.parameters.filter((p) => rotationGroup({ name: p, format: formatOf(p) }) !== group)).toEqual(
      [],
    );
    expect(plan.rotateKey).toBe(false);
  });

  it('database passwords rotate less often than API tokens', () => {
    expect(PARAMETER_CADENCE.password.days).toBeGreaterThan(PARAMETER_CADENCE['api-token'].days);
    expect(PARAMETER_CADENCE['database-url']).toEqual(PARAMETER_CADENCE.password);
  });

  it("a database's password and connection string rotate together (the URL holds the password)", () => {
    const plan = planRefresh(input({ ages: { '/prod/payments/db-password': 101 } }));
    expect(plan.parameters.sort()).toEqual(['/prod/payments/database-url', '/prod/payments/db-password']);
    expect(rotationGroup({ name: '/prod/billing/db-password', format: 'password' })).not.toBe(
      rotationGroup({ name: '/prod/payments/db-password', format: 'password' }),
    );
  });

  it('a parameter never written is due now, with its group', () => {
    const fresh = input();
    const parameters = fresh.parameters.map((p) =>
      p.name === '/prod/payments/database-url' ? { ...p, lastWrite: undefined } : p,
    );
    expect(planRefresh({ ...fresh, parameters }).parameters.sort()).toEqual([
      '/prod/payments/database-url',
      '/prod/payments/db-password',
    ]);
  });

  it('two deployments with the same history rotate on different days', () => {
    const due = (seed: string) =>
      Array.from({ length: 120 }, (_, day) => day).find((day) =>
        planRefresh({
          ...input({ ages: { '/prod/payments/stripe-secret-key': day } }),
          secretSeed: seed,
        }).parameters.includes('/prod/payments/stripe-secret-key'),
      );
    const days = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((s) => due(`${SEED}${s}`)));
    expect(days.size).toBeGreaterThan(2);
    for (const day of days) expect(day).toBeGreaterThanOrEqual(26);
  });
});

describe('bait objects change at their natural cadence', () => {
  const slot = lastDumpSlot(now, SEED);
  it.each<{ what: string; patch: Parameters<typeof input>[0]; expected: string[] }>([
    {
      what: 'nothing changed, dump written after tonight’s slot',
      patch: {},
      expected: [],
    },
    {
      what: 'dump last written the night before',
      patch: {
        objects: OBJECTS.map((o) => ({
          ...o,
          lastWrite:
            o.objectKind === 'database-dump'
              ? new Date(slot.getTime() - DAY + 5_000)
              : new Date(slot.getTime() + 60_000),
        })),
      },
      expected: ['db/payments-prod-full.sql'],
    },
    {
      what: 'the key rotated',
      patch: { ages: { key: 120 } },
      expected: ['config/payments/.env.prod', 'terraform/prod/payments/terraform.tfstate'],
    },
    {
      what: 'the connection string rotated',
      patch: { ages: { '/prod/payments/db-password': 120 } },
      expected: ['config/payments/.env.prod', 'terraform/prod/payments/terraform.tfstate'],
    },
    {
      what: 'an API token rotated (the .env quotes only its name)',
      patch: { ages: { '/prod/payments/stripe-secret-key': 40 } },
      expected: ['terraform/prod/payments/terraform.tfstate'],
    },
    {
      what: 'never written',
      patch: { objects: OBJECTS },
      expected: OBJECTS.map((o) => o.key),
    },
  ])('$what', ({ patch, expected }) => {
    expect(planRefresh(input(patch)).objects.sort()).toEqual([...expected].sort());
  });

  it("the nightly dump's slot is a fixed minute of the night per deployment", () => {
    const minutes = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const minute = dumpMinute(`seed-${i}`);
      expect(minute).toBeGreaterThanOrEqual(30);
      expect(minute).toBeLessThan(330);
      minutes.add(minute);
    }
    expect(minutes.size).toBeGreaterThan(30);
    const tonight = lastDumpSlot(now, SEED);
    expect(tonight.getTime()).toBeLessThanOrEqual(now.getTime());
    expect(now.getTime() - tonight.getTime()).toBeLessThan(DAY);
    expect(tonight.getUTCHours() * 60 + tonight.getUTCMinutes()).toBe(dumpMinute(SEED));
  });
});

describe('a run spreads its writes', () => {
  const everything = (at: Date, seed = SEED) =>
    planRefresh({
      ...input({ keyCreatedAt: undefined, objects: OBJECTS }),
      parameters: input().parameters.map((p) => ({ ...p, lastWrite: undefined })),
      now: at,
      secretSeed: seed,
    });

  it('nothing in the same second: at least 2 s apart, in order, inside the spread', () => {
    const plan = everything(now);
    expect(plan.steps).toHaveLength(1 + 4 + 3);
    const delays = plan.steps.map((s) => s.delayMs);
    for (let i = 1; i < delays.length; i++)
      expect((delays[i] as number) - (delays[i - 1] as number)).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(delays[0]).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(delays.at(-1)).toBeLessThanOrEqual(DEFAULT_SPREAD_MS);
    expect(new Set(delays.map((d) => Math.floor(d / 1000))).size).toBe(delays.length);
  });

  it('the key first, the secrets next, the files that quote them after, the state last', () => {
    const items = everything(now).steps.map((s) => (s.item === 'object' ? s.name : s.item));
    expect(items[0]).toBe('access-key');
    expect(items.slice(1, 5)).toEqual(['parameter', 'parameter', 'parameter', 'parameter']);
    expect(items.at(-1)).toBe('terraform/prod/payments/terraform.tfstate');
    expect(items.indexOf('config/payments/.env.prod')).toBeGreaterThan(items.lastIndexOf('parameter'));
  });

  it('a different rhythm each run and each deployment, the same for the same inputs', () => {
    const delays = (at: Date, seed = SEED) => everything(at, seed).steps.map((s) => s.delayMs);
    expect(delays(now)).toEqual(delays(now));
    expect(delays(now)).not.toEqual(delays(new Date(now.getTime() + DAY)));
    expect(delays(now)).not.toEqual(delays(now, `${SEED}x`));
  });

  it('a smaller spread is honoured; many writes still keep their gap', () => {
    const small = planRefresh({ ...input({ keyCreatedAt: undefined, objects: OBJECTS }), spreadMs: 30_000 });
    expect(small.steps.at(-1)?.delayMs).toBeLessThanOrEqual(30_000);
    const tiny = planRefresh({ ...input({ keyCreatedAt: undefined, objects: OBJECTS }), spreadMs: 1_000 });
    const gaps = tiny.steps.map((s, i) => s.delayMs - (tiny.steps[i - 1]?.delayMs ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(MIN_GAP_MS);
  });

  it('an idle run writes nothing and says when something is next due', () => {
    const plan = planRefresh(input());
    expect(plan.steps).toEqual([]);
    expect(plan.nextDue?.getTime()).toBeGreaterThan(now.getTime());
    // The nightly dump is the soonest.
    expect(plan.nextDue).toEqual(new Date(lastDumpSlot(now, SEED).getTime() + DAY));
  });
});
