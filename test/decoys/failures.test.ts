import { describe, expect, it } from 'vitest';
import { MemoryAccount } from '../../layers/decoys/memory';
import { specParts } from '../../layers/decoys/spec';
import { envKey, leftovers, makePlanter, makeSpec, registryProblems, usabilityProblems } from './fixtures';

/**
 * Each AWS (and registry) call of an operation is failed in turn. After the
 * failure every decoy must still be usable and the registry true; a retry must
 * then complete the operation.
 */

const spec = makeSpec();
const parts = specParts(spec);

async function planted(): Promise<MemoryAccount> {
  const account = new MemoryAccount();
  await makePlanter(account, 'plant').plant(spec);
  return account;
}

async function callsOf(
  operation: (account: MemoryAccount) => Promise<unknown>,
  setup: () => Promise<MemoryAccount>,
) {
  const account = await setup();
  const start = account.calls.length;
  await operation(account);
  return account.calls.slice(start).map((c, i) => [i, c.action] as const);
}

const refreshCalls = await callsOf((a) => makePlanter(a, 'refresh').refresh(), planted);
const plantCalls = await callsOf(
  (a) => makePlanter(a, 'plant').plant(spec),
  async () => new MemoryAccount(),
);
const removeCalls = await callsOf((a) => makePlanter(a).remove(), planted);

describe('refresh, failing each call in turn', () => {
  it('covers every call of a refresh', () => {
    expect(refreshCalls.length).toBeGreaterThanOrEqual(10);
  });

  it.each(refreshCalls)(
    'call %i (%s) fails: decoys usable, registry true; the retry completes',
    async (index) => {
      const account = await planted();
      const keyBefore = envKey(account, spec).id;
      const valuesBefore = new Map([...account.parameters].map(([k, v]) => [k, v.value]));

      account.failCall(index);
      await expect(makePlanter(account, 'refresh').refresh()).rejects.toThrow('injected failure');
      expect(usabilityProblems(account, spec)).toEqual([]);
      expect(registryProblems(account, spec)).toEqual([]);

      account.heal();
      const retry = await makePlanter(account, 'retry').refresh();
      expect(usabilityProblems(account, spec)).toEqual([]);
      expect(registryProblems(account, spec)).toEqual([]);
      const keys = [...account.users.get(parts.user!.name)!.keys.keys()];
      expect(keys).toEqual([retry.accessKeyId]);
      expect(envKey(account, spec).id).toBe(retry.accessKeyId);
      expect(retry.accessKeyId).not.toBe(keyBefore);
      const live = account.registryItem!.keys.filter((k) => k.status !== 'deleted');
      expect(live).toEqual([expect.objectContaining({ accessKeyId: retry.accessKeyId, status: 'active' })]);
      for (const [name, value] of valuesBefore) expect(account.parameters.get(name)?.value).not.toBe(value);
      expect(
        account.registryItem!.keys.filter((k) => k.status === 'deleted').map((k) => k.accessKeyId),
      ).toContain(keyBefore);
    },
  );
});

describe('plant, failing each call in turn', () => {
  it.each(plantCalls)('call %i (%s) fails: registry true; the retry plants everything', async (index) => {
    const account = new MemoryAccount();
    account.failCall(index);
    await expect(makePlanter(account, 'plant').plant(spec)).rejects.toThrow('injected failure');
    if (account.registryItem) expect(registryProblems(account, spec)).toEqual([]);

    account.heal();
    await makePlanter(account, 'retry').plant(spec);
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(registryProblems(account, spec)).toEqual([]);
    expect(account.users.get(parts.user!.name)!.keys.size).toBe(1);
  });

  it.each(plantCalls)('call %i (%s) fails, then the stack is deleted: nothing is left', async (index) => {
    const account = new MemoryAccount();
    account.failCall(index);
    await expect(makePlanter(account, 'plant').plant(spec)).rejects.toThrow('injected failure');
    account.heal();
    await makePlanter(account).remove();
    expect(leftovers(account)).toEqual([]);
  });
});

describe('remove, failing each call in turn', () => {
  it.each(removeCalls)('call %i (%s) fails: the retry removes everything', async (index) => {
    const account = await planted();
    account.failCall(index);
    await expect(makePlanter(account).remove()).rejects.toThrow('injected failure');
    account.heal();
    await makePlanter(account).remove();
    expect(leftovers(account)).toEqual([]);
  });
});
