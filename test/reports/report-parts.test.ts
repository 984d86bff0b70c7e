import { describe, expect, it } from 'vitest';
import {
  attackFocus,
  hourLine,
  incidentsByPrincipal,
  renderText,
  tickLabel,
  timeTicks,
} from '../../layers/drill/timeline';
import { lacksNovelty, reasonInWords } from '../../layers/scoring/report';
import type { FeatureReason } from '../../layers/scoring/score';
import { drillFixture } from './inputs';

const at = (iso: string) => Date.parse(iso);

describe('drill report parts', () => {
  const result = drillFixture('one-morning');

  it('time ticks fall on round steps, at most the number asked for', () => {
    const { step, ticks } = timeTicks(at('2024-05-13T10:13:20Z'), at('2024-05-13T10:27:40Z'), 12);
    expect(step).toBe(120_000);
    expect(ticks.map((t) => tickLabel(t, step, false, false))).toEqual([
      '10:14',
      '10:16',
      '10:18',
      '10:20',
      '10:22',
      '10:24',
      '10:26',
    ]);
    expect(timeTicks(at('2024-05-13T18:00:00Z'), at('2024-05-15T00:00:00Z')).step).toBe(3 * 3_600_000);
    expect(tickLabel(at('2024-05-14T00:00:00Z'), 3_600_000, false, true)).toBe('Tue 14 May 00:00');
  });

  it('zooms to the attack with a little context on each side', () => {
    const focus = attackFocus(result)!;
    const attack = result.calls.filter((c) => c.attack).map((c) => c.time);
    expect(focus.attackStart).toBe(Math.min(...attack));
    expect(focus.attackEnd).toBe(Math.max(...attack));
    expect((focus.attackEnd - focus.attackStart) / (focus.end - focus.start)).toBeGreaterThan(0.7);
  });

  it("an hour's line counts the attack's routed calls apart from the benign ones", () => {
    const hour = result.hours.find((h) => h.attackCalls > 0)!;
    const attackRouted = result.steps.filter(
      (s) => s.time >= hour.start && s.time < hour.start + 3_600_000 && s.rules.length > 0,
    ).length;
    expect(attackRouted).toBeGreaterThan(0);
    expect(hourLine(result, hour)).toBe(
      `benign: ${hour.benignCalls} calls by ${hour.principals} principals this hour, ${hour.routed - attackRouted} routed to detection; attack: ${hour.attackCalls} calls, ${attackRouted} routed to detection`,
    );
  });

  it('groups the findings per principal and lists each plan once', () => {
    const incidents = incidentsByPrincipal(result);
    expect(incidents.map((i) => i.principal)).toEqual([
      ...new Set([...result.findings].sort((a, b) => a.time - b.time).map((r) => r.finding.actor.arn)),
    ]);
    for (const incident of incidents) {
      const plans = incident.responses.map((r) => `${r.outcome}|${r.plan}`);
      expect(new Set(plans).size).toBe(plans.length);
    }
    const alice = incidents.find((i) => i.principal.endsWith(':user/alice'))!;
    expect(alice.responses[0]!.findingIds.length).toBeGreaterThan(1);
    // The terminal timeline says "the same plan" rather than repeating it.
    expect(renderText(result)).toMatch(/the same plan as [0-9a-f]{8}/);
  });

  it('a multi-day play marks each new day in the terminal timeline', () => {
    const text = renderText(drillFixture('two-days'));
    expect(text).toContain('Timeline (scenario time, UTC, 2024-05-13 to 2024-05-14)');
    expect(text).toContain('-- Tue 14 May 2024-05-14 --');
  });
});

describe('score report parts', () => {
  const reason = (
    name: FeatureReason['name'],
    value: number,
    norm: number,
    contribution: number,
  ): FeatureReason => ({
    name,
    value,
    norm,
    basis: 'principal',
    deviation: value - norm,
    contribution,
    why: '',
  });

  it('says in words which way a feature differs from the norm', () => {
    expect(reasonInWords(reason('calls', 5, 2, 0.05))).toBe("more calls than this principal's norm");
    expect(reasonInWords(reason('newApiRatio', 0, 1, 0.03))).toBe(
      "fewer new APIs than this principal's norm: less novelty",
    );
    expect(reasonInWords(reason('noveltyKinds', 0, 4, 0.02))).toBe("less novelty than this principal's norm");
    expect(reasonInWords({ ...reason('errorRatio', 0.5, 0, 0.02), basis: 'account' })).toBe(
      "more errors than the account's norm",
    );
  });

  it('a window raised mostly by less novelty is told apart from one raised by more', () => {
    expect(lacksNovelty([reason('newApiRatio', 0, 1, 0.03), reason('calls', 5, 2, 0.01)])).toBe(true);
    expect(lacksNovelty([reason('newApiRatio', 1, 0, 0.03), reason('calls', 5, 2, 0.01)])).toBe(false);
    expect(lacksNovelty([reason('newApiRatio', 0, 1, 0.01), reason('accessDeniedRatio', 0.8, 0, 0.04)])).toBe(
      false,
    );
  });
});
