import { describe, expect, it } from 'vitest';
import { MEASURED, measuredSample, measureTraffic } from '../../layers/cost';
import { playScenario } from '../../layers/drill/play';
import { defaultScenario } from '../../layers/drill/scenario';
import { synthesizeInChild } from '../drill/synth-child';

/**
 * The cost model's default counts are what the drill measures: the shipped
 * scenario's benign day through the rules the default config synthesizes. A change
 * to the rules or the scenario that moves them fails here: update layers/cost/measured.ts.
 */
describe('the cost model’s measure', () => {
  it('is the drill’s: the shipped scenario through the synthesized rules', { timeout: 180_000 }, async () => {
    const scenario = defaultScenario();
    const deployment = await synthesizeInChild({}, scenario.account);
    const played = playScenario(scenario, deployment.world);
    const measured = measureTraffic(measuredSample(played), {
      rules: deployment.rules,
      trails: deployment.trails,
      touchArn: deployment.touch.arn,
    });
    const { source: _, ...shipped } = MEASURED;
    expect(measured).toEqual(shipped);
    // The broad rules forward a minority of calls, and none of them are data events (no one reads the bait).
    expect(measured.forwarded / measured.records).toBeLessThan(0.25);
    expect(measured.dataEvents).toBe(0);
  });
});
