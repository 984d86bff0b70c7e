import { describe, expect, it } from 'vitest';
import { type RefineOptions, type RefineOutcome, refineVerdict } from '../../layers/supervised';

const ENOUGH: RefineOptions = { examples: { attack: 8, benign: 12 } };

describe('refineVerdict: the forest raises suspicion, the classifier refines it', () => {
  it.each<[string, number, number | undefined, RefineOptions, boolean, RefineOutcome]>([
    ['below the threshold, whatever the classifier says', 0.55, 0.99, ENOUGH, false, 'not-flagged'],
    ['flagged, no classifier', 0.62, undefined, ENOUGH, true, 'no-classifier'],
    [
      'flagged, confident benign, but too few benign labels',
      0.62,
      0.01,
      { examples: { attack: 8, benign: 4 } },
      true,
      'too-few-labels',
    ],
    [
      'flagged, confident benign, but too few attack labels',
      0.62,
      0.01,
      { examples: { attack: 2, benign: 40 } },
      true,
      'too-few-labels',
    ],
    ['flagged, confident benign, enough labels: suppressed', 0.62, 0.04, ENOUGH, false, 'suppressed'],
    ['flagged, exactly at the cut-off: suppressed', 0.62, 0.1, ENOUGH, false, 'suppressed'],
    ['flagged, not confident enough that it is benign: kept', 0.62, 0.3, ENOUGH, true, 'kept'],
    ['flagged, looks like an attack: kept', 0.62, 0.97, ENOUGH, true, 'kept'],
    [
      'far above the threshold: kept even when labels say benign',
      0.66,
      0.01,
      ENOUGH,
      true,
      'far-above-threshold',
    ],
    [
      'a stricter cut-off keeps what the default suppresses',
      0.62,
      0.04,
      { ...ENOUGH, suppressAtOrBelow: 0.02 },
      true,
      'kept',
    ],
    [
      'a lower minimum lets few labels act',
      0.62,
      0.04,
      { examples: { attack: 2, benign: 2 }, minExamplesPerClass: 2 },
      false,
      'suppressed',
    ],
    [
      'no margin: a high score can be suppressed too',
      0.9,
      0.01,
      { ...ENOUGH, keepMargin: Number.POSITIVE_INFINITY },
      false,
      'suppressed',
    ],
    ['a NaN probability counts as no classifier', 0.62, Number.NaN, ENOUGH, true, 'no-classifier'],
  ])('%s', (_, score, probability, options, flag, outcome) => {
    const verdict = refineVerdict(score, 0.6, probability, options);
    expect(verdict).toMatchObject({ flag, outcome });
    expect(verdict.reason).toContain('threshold 0.6');
  });

  it('says why it suppressed, with the labels behind it', () => {
    expect(refineVerdict(0.612345, 0.6, 0.0412, ENOUGH).reason).toBe(
      'score 0.612 is at or above the threshold 0.6, but windows like it were labelled false positives: P(attack) 0.041 <= 0.1 (from 8 attack and 12 benign labels)',
    );
  });
});
