import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../layers/findings/finding';
import { eventOf, findingFrom, USER_KEY, USER_NAME, userRecord } from './fixtures';
import { LocalWorkflow } from './local-run';

/**
 * The deployed intake (functions/respond-start, with the synthesized environment)
 * in front of the synthesized state machine, acting (dryRun false): a finding put
 * on the bus by someone other than a detector starts nothing, however real it
 * looks, and leaves a kept record and a mail; the same finding recorded by its
 * detector starts the response.
 */

let local: LocalWorkflow;
beforeAll(async () => {
  local = await LocalWorkflow.create({ dryRun: false });
}, 120_000);
afterAll(() => local?.dispose());

function world() {
  local.aws.iam = {
    users: {
      [USER_NAME]: {
        keys: [{ id: USER_KEY, secret: 's', status: 'Active' }],
        attached: [],
        inline: {},
        groups: [],
        tags: {},
      },
    },
    roles: {},
  };
  local.aws.published = [];
  local.aws.calls = [];
}

describe('intake in front of the acting workflow', () => {
  it('refuses a forged finding: no execution, the refusal kept in the records bucket, a mail', async () => {
    world();
    const forged: Finding = findingFrom(userRecord, { window: 'forged', severity: 'critical' });
    const event = { ...eventOf(forged), id: 'a1b2c3d4-forged' };
    const result = await local.deliver(event, { forged: true });

    expect(result).toEqual({ refused: 'not-issued', findingId: forged.id });
    expect(local.aws.calls).not.toContain('StartExecution');
    expect(local.executions.size).toBe(0);
    expect(local.aws.iam.users[USER_NAME]?.keys[0]?.status).toBe('Active');
    const kept = [...local.aws.objects.keys()].filter((key) => key.startsWith(`${local.bucket}/refused/`));
    expect(kept).toEqual([`${local.bucket}/refused/${forged.id}/a1b2c3d4-forged.json`]);
    expect(JSON.parse(local.aws.objects.get(kept[0]!)!)).toMatchObject({
      reason: 'not-issued',
      principal: forged.actor.arn,
    });
    expect(local.aws.published.map((p) => p.subject)).toEqual([
      'Rejected finding event: not issued by the platform',
    ]);
  });

  it('starts the response for the same kind of finding recorded by its detector', async () => {
    world();
    const genuine = findingFrom(userRecord, { window: 'genuine', severity: 'critical' });
    const started = await local.deliver(eventOf(genuine));
    expect(started.refused).toBeUndefined();
    expect(started.duplicate).toBe(false);
    expect(started.executionArn).toMatch(/:execution:/);
    const result = await local.settled(started.executionArn!);
    expect(result.status).toBe('SUCCEEDED');
  });
});
