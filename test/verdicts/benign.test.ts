import { beforeAll, describe, expect, it } from 'vitest';
import { windowKey, windowsOf } from '../../layers/features';
import { historyFor, runVerdicts, tracesByWindow } from '../../layers/verdicts';
import { scenario } from '../scoring/scenario';

/**
 * The verdicts over the scoring scenario (test/scoring/scenario.ts): three days of
 * benign activity after seven of history. The benign days must earn no verdict at all.
 */
let judged: { benignWindows: number; benign: string[] };
beforeAll(() => {
  const { benign, model } = scenario();
  const judge = (records: typeof benign) => {
    const calls = tracesByWindow(records, 60);
    return windowsOf(records, 60).map((window) => ({
      window,
      verdicts: runVerdicts({
        principal: window.principal,
        calls: calls.get(windowKey(window.principal.key, window.windowStart)) ?? [],
        history: historyFor(window.principal, model.baselines),
      }),
    }));
  };
  const benignJudged = judge(benign);
  judged = {
    benignWindows: benignJudged.length,
    benign: benignJudged
      .filter((j) => j.verdicts.length > 0)
      .map((j) => `${j.window.principal.arn}: ${j.verdicts.map((v) => v.verdict).join(', ')}`),
  };
}, 60_000);

describe('verdicts on three benign days', () => {
  it('no benign window earns a verdict', () => {
    expect(judged.benignWindows).toBeGreaterThan(150);
    expect(judged.benign).toEqual([]);
  });
});
