import { describe, expect, it } from 'vitest';
import { runDrill } from '../../layers/drill/runner';
import { defaultScenario } from '../../layers/drill/scenario';
import { synthesizeInChild } from './synth-child';

/**
 * The drill answers every genuine finding (each recorded by the detector that
 * raised it, as deployed) and, after the play, forges one: a genuine finding
 * naming a benign principal instead, put on the bus without a record. The
 * intake must refuse it, or the drill fails.
 */
describe('drill: forged findings', () => {
  it('answers every genuine finding and refuses the forged one', async () => {
    const scenario = defaultScenario();
    // Synthesized in a child process: one long synchronous block would starve vitest's worker RPC.
    const deployment = await synthesizeInChild({}, scenario.account);
    const result = await runDrill({ config: {}, scenario, deployment });
    expect(result.forgery).toMatchObject({ refused: true, reason: 'not-issued' });
    expect(result.benignPrincipals).toContain(result.forgery?.principal);
    expect(result.warnings.filter((w) => w.includes('refused by the intake'))).toEqual([]);
    const answered = result.findings.filter((f) => f.response !== undefined);
    expect(answered.length).toBe(result.findings.length);
    expect(result.kpis.passed).toBe(true);
  }, 300_000);
});
