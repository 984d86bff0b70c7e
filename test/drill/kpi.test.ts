import { describe, expect, it } from 'vitest';
import { failures, timeToDetect } from '../../layers/drill/kpi';

const T0 = Date.parse('2024-05-13T10:15:00Z');
const MIN = 60_000;

describe('timeToDetect: from each attacker’s first call to the first finding naming it', () => {
  it.each([
    {
      case: 'no attacker',
      attackers: [],
      findings: [],
      expected: { timeToDetectMs: { p50: 0, max: 0 }, detected: 0 },
    },
    {
      case: 'one attacker, its earliest finding counts',
      attackers: [{ arn: 'a', firstCall: T0 }],
      findings: [
        { arn: 'a', detectedAt: T0 + 10 * MIN },
        { arn: 'a', detectedAt: T0 + 3 * MIN },
      ],
      expected: { timeToDetectMs: { p50: 3 * MIN, max: 3 * MIN }, detected: 1 },
    },
    {
      case: 'two attackers: p50 the lower (nearest rank), max the higher',
      attackers: [
        { arn: 'a', firstCall: T0 },
        { arn: 'b', firstCall: T0 + 5 * MIN },
      ],
      findings: [
        { arn: 'a', detectedAt: T0 + 2 * MIN },
        { arn: 'b', detectedAt: T0 + 6 * MIN },
        { arn: 'benign', detectedAt: T0 },
      ],
      expected: { timeToDetectMs: { p50: MIN, max: 2 * MIN }, detected: 2 },
    },
    {
      case: 'an attacker no finding names is not in the figures',
      attackers: [
        { arn: 'a', firstCall: T0 },
        { arn: 'quiet', firstCall: T0 },
      ],
      findings: [{ arn: 'a', detectedAt: T0 + MIN }],
      expected: { timeToDetectMs: { p50: MIN, max: MIN }, detected: 1 },
    },
  ])('$case', ({ attackers, findings, expected }) => {
    expect(timeToDetect(attackers, findings)).toEqual(expected);
  });
});

describe('failures: one response per attacker, every attacker met', () => {
  const clean = { missedTouches: 0, benignActedOn: 0, actionsExecuted: 0, responsesFailed: 0 };
  it.each([
    {
      case: 'one response each, all met',
      kpis: { maxResponsesPerAttacker: 1, attackersUnmet: 0 },
      reasons: [],
    },
    {
      case: 'an attacker answered twice',
      kpis: { maxResponsesPerAttacker: 4, attackersUnmet: 0 },
      reasons: ['an attack principal got 4 responses instead of one'],
    },
    {
      case: 'an attacker only notified about',
      kpis: { maxResponsesPerAttacker: 1, attackersUnmet: 1 },
      reasons: ['1 attack principal(s) met by no response (approval or action)'],
    },
  ])('$case', ({ kpis, reasons }) => {
    expect(failures({ ...clean, ...kpis }, true)).toEqual(reasons);
  });
});
