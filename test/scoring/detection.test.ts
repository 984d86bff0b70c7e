import { describe, expect, it } from 'vitest';
import { findingSchema } from '../../layers/findings/finding';
import { anomalyFindings } from '../../layers/scoring/findings';
import { scoreWindows } from '../../layers/scoring/score';
import { scenario, windowId } from './scenario';

describe('a synthetic benign account with real attacks injected', () => {
  const { benign, attacks, model } = scenario();
  const injected = attacks.flatMap((a) => a.records);
  const attackWindows = new Set(injected.map((r) => windowId(r)));
  const scored = scoreWindows(model, [...benign, ...injected]);
  const isAttack = (s: (typeof scored)[number]) =>
    attackWindows.has(`${s.window.principal.key}|${s.window.windowStart}`);

  it('every attack window ranks above every benign window', () => {
    const attackScores = scored.filter(isAttack).map((s) => s.score);
    const benignScores = scored.filter((s) => !isAttack(s)).map((s) => s.score);
    expect(attackScores).toHaveLength(attacks.length);
    expect(benignScores.length).toBeGreaterThan(100);
    expect(Math.min(...attackScores)).toBeGreaterThan(Math.max(...benignScores));
  });

  it('every attack window is a finding; few benign windows are', () => {
    const findings = anomalyFindings(scored, model);
    const attackFindings = scored.filter((s) => isAttack(s) && s.score >= model.threshold);
    expect(attackFindings).toHaveLength(attacks.length);
    // The threshold is the 0.995 quantile of training scores: a few benign windows may pass it.
    expect(findings.length - attacks.length).toBeLessThanOrEqual(3);
  });

  it('findings carry the shape, the score and the features that drove it', () => {
    const [top] = anomalyFindings(scored, model);
    expect(findingSchema.parse(top)).toEqual(top);
    expect(top).toMatchObject({
      kind: 'anomaly',
      schemaVersion: 1,
      score: { threshold: model.threshold },
    });
    expect(top!.score!.score).toBeGreaterThanOrEqual(model.threshold);
    expect(top!.score!.topFeatures.length).toBeGreaterThan(0);
    for (const feature of top!.score!.topFeatures) expect(feature.why).toBeTruthy();
  });

  it('explains the stolen developer key by what is new for that developer', () => {
    const alice = attacks.find((a) => a.as === 'alice')!;
    const id = windowId(alice.records[0]!);
    const window = scored.find((s) => `${s.window.principal.key}|${s.window.windowStart}` === id)!;
    const names = (window.reasons ?? []).slice(0, 6).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['newSourceIps']));
    const ip = window.reasons!.find((r) => r.name === 'newSourceIps')!;
    expect(ip.value).toBeGreaterThan(ip.norm);
    expect(ip.basis).toBe('principal');
  });

  it('scores are deterministic for a given model', () => {
    const again = scoreWindows(model, [...benign, ...injected]);
    expect(again.map((s) => s.score)).toEqual(scored.map((s) => s.score));
  });
});
