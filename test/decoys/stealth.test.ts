import { describe, expect, it } from 'vitest';
import { MemoryAccount } from '../../layers/decoys/memory';
import { specParts } from '../../layers/decoys/spec';
import { checkTrailCoverage } from '../../layers/decoys/trail-check';
import { collectStrings, type Tell, tellsIn } from '../../layers/stealth/tells';
import { makePlanter, makeSpec } from './fixtures';

/**
 * The one UUID-shaped value allowed in anything planted: the lineage of the
 * terraform state, because terraform writes one there and a state without it is
 * itself a tell (design.md, Stealth). Names stay forbidden, so the allowance is
 * exactly that line of a state file body, and it must be a UUID v4.
 */
const STATE_FILE = /^\{\n {2}"version": 4,\n {2}"terraform_version": /;
const LINEAGE_LINE =
  /^ {2}"lineage": "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",$/;

/**
 * Tells in the written strings, scanned line by line: a tell never spans lines,
 * and the multi-megabyte dumps rewritten on every refresh share most of their
 * lines, so each distinct line is scanned once.
 */
function tellsInStrings(strings: { path: string; value: string }[]): Tell[] {
  const seen = new Set<string>();
  // The dump's dated copy is the same body as the latest: scanned once.
  const seenValues = new Set<string>();
  const tells: Tell[] = [];
  for (const { path, value } of strings) {
    if (seenValues.has(value)) continue;
    seenValues.add(value);
    const stateFile = STATE_FILE.test(value);
    for (const line of value.split('\n')) {
      if (seen.has(line)) continue;
      seen.add(line);
      if (stateFile && LINEAGE_LINE.test(line)) continue;
      tells.push(...tellsIn(line, path));
    }
  }
  return tells;
}

/**
 * Everything the planter writes is readable by someone: parameter names, values,
 * descriptions and tags; bucket names, tags, policy, object keys and bodies; user
 * names, tags, policy names and documents. None may carry a tell. The registry is
 * included although ReadOnlyAccess cannot read it.
 */

const configs = {
  default: {},
  'another seed, prefix and more parameters': {
    naming: { seed: 'seven', prefix: 'acme' },
    decoys: { ssm: { count: 9 } },
  },
  'mysql and every vendor': {
    naming: { service: 'orders' },
    decoys: {
      ssm: {
        parameters: [
          { name: '/prod/orders/mysql-root-password', format: 'password' as const },
          { name: '/prod/orders/db-connection-string', format: 'database-url' as const },
          { name: '/prod/orders/stripe-secret-key', format: 'api-token' as const },
          { name: '/prod/orders/sendgrid-api-key', format: 'api-token' as const },
          { name: '/prod/orders/github-deploy-token', format: 'api-token' as const },
          { name: '/prod/orders/slack-bot-token', format: 'api-token' as const },
          { name: '/prod/orders/token-signing-key', format: 'jwt-signing-key' as const },
        ],
      },
    },
  },
};

describe('stealth of everything planted', () => {
  it.each(Object.entries(configs))(
    '%s: plant, 8 refreshes, update and removal write no tell',
    async (_, config) => {
      const account = new MemoryAccount();
      const spec = makeSpec(config);
      await makePlanter(account, 'plant').plant(spec);
      // Eight refreshes (each over 100 days apart) rotate every value and the key at least once;
      // more only lengthens the synchronous scan of multi-megabyte dumps below.
      for (let i = 0; i < 8; i++) await makePlanter(account, `refresh-${i}`).refresh();
      await makePlanter(account, 'update').plant(
        makeSpec({ ...config, decoys: { iam: { userName: 'ledger-sync' } } }),
      );
      await makePlanter(account).remove();

      const strings = account.calls.flatMap((call) => collectStrings(call.args, call.action));
      expect(strings.length).toBeGreaterThan(500);
      expect(tellsInStrings(strings)).toEqual([]);
      // The allowance was used, and only for a state file's lineage.
      const states = strings.filter(({ value }) => STATE_FILE.test(value));
      expect(states.length).toBeGreaterThan(0);
      for (const { value } of states) {
        expect(value.split('\n').filter((line) => tellsIn(line).length > 0)).toEqual([
          expect.stringMatching(LINEAGE_LINE),
        ]);
      }
    },
  );

  it('failure Reasons (shown in stack events) carry no tell either', async () => {
    const spec = makeSpec();
    const parts = specParts(spec);
    const reasons: string[] = [];
    const refuse = async (prepare: (account: MemoryAccount) => void) => {
      const account = new MemoryAccount();
      prepare(account);
      await makePlanter(account)
        .plant(spec)
        .catch((error: Error) => reasons.push(error.message));
    };
    await refuse((a) => a.iam.createUser({ userName: parts.user!.name, tags: [] }));
    await refuse((a) => a.foreignBuckets.add(parts.bucket!.name));
    await refuse((a) =>
      a.parameters.set(parts.parameters[0]!.name, {
        value: 'x',
        keyId: 'k',
        description: '',
        tags: [],
        version: 1,
      }),
    );
    reasons.push(
      ...checkTrailCoverage({ EventSelectors: [{ IncludeManagementEvents: false }] }, parts.bucket!.name),
    );
    expect(reasons).toHaveLength(6);
    expect(reasons.flatMap((reason) => tellsIn(reason))).toEqual([]);
  });

  it('the check itself catches a tell in a written value', () => {
    expect(tellsIn('DB_PASSWORD=hunter2-decoy')).not.toEqual([]);
    expect(tellsIn('lineage 0f8fad5b-d9cb-469f-a165-70867728950e')).not.toEqual([]);
    // The lineage allowance covers a state file's lineage line, nothing else.
    const lineage = '  "lineage": "0f8fad5b-d9cb-469f-a165-70867728950e",';
    const state = `{\n  "version": 4,\n  "terraform_version": "1.7.5",\n${lineage}\n}`;
    expect(tellsInStrings([{ path: 'state', value: state }])).toEqual([]);
    expect(tellsInStrings([{ path: 'env', value: lineage }])).not.toEqual([]);
    expect(tellsInStrings([{ path: 'state', value: state.replace('"lineage"', '"name"') }])).not.toEqual([]);
  });
});
