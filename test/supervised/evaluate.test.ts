import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { FEATURE_COUNT, FEATURE_INDEX, windowsOf } from '../../layers/features';
import { createRandom } from '../../layers/forest/random';
import { anomalyFindingId } from '../../layers/scoring/findings';
import type { Label } from '../../layers/scoring/labels';
import {
  classifierFromLabels,
  evaluateRefinement,
  labelledExamplesOf,
  type ScoredExample,
} from '../../layers/supervised';

/**
 * The mechanism, on made-up scored windows (the figure on real data is the bench's:
 * `npm run bench -- --suite labels`). Each group is a deployment: quiet benign
 * windows below the threshold, benign windows the forest flags (new IP, nothing
 * denied), and attackers the forest flags (denied, sensitive calls), all scoring
 * just above the threshold so the classifier decides.
 */
function group(name: string, seed: number): ScoredExample[] {
  const random = createRandom(seed);
  const vector = (attack: boolean) => {
    const v = new Float64Array(FEATURE_COUNT);
    for (let f = 0; f < FEATURE_COUNT; f++) v[f] = random.next();
    v[FEATURE_INDEX.accessDeniedRatio] = attack ? 0.5 + 0.3 * random.next() : 0.05 * random.next();
    v[FEATURE_INDEX.sensitiveCalls] = attack ? 2 + random.next() : 0.3 * random.next();
    return v;
  };
  const windows: ScoredExample[] = [];
  for (let i = 0; i < 20; i++) {
    windows.push({ group: name, principal: `p${i % 5}`, vector: vector(false), score: 0.45, threshold: 0.6 });
  }
  for (let i = 0; i < 6; i++) {
    windows.push({ group: name, principal: `p${i % 3}`, vector: vector(false), score: 0.61, threshold: 0.6 });
  }
  for (let i = 0; i < 3; i++) {
    const attacker = `${name}/attacker-${i}`;
    windows.push({
      group: name,
      principal: attacker,
      vector: vector(true),
      score: 0.62,
      threshold: 0.6,
      attacker,
      family: `technique-${i}`,
    });
  }
  return windows;
}

const DATA = ['a', 'b', 'c', 'd'].flatMap((name, i) => group(name, i + 1));

describe('evaluateRefinement', () => {
  it('counts the forest alone: every flagged window, every attacker met', () => {
    const result = evaluateRefinement(DATA);
    expect(result).toMatchObject({
      windows: 116,
      attackers: 12,
      attackWindowsTotal: 12,
      forest: { falsePositives: 24, falsePositivePrincipals: 12, attackWindows: 12, attackersCaught: 12 },
    });
  });

  it('suppresses false-positive-like windows and keeps the attackers, each group held out', () => {
    const result = evaluateRefinement(DATA);
    expect(result.refined.falsePositives).toBeLessThan(result.forest.falsePositives / 2);
    expect(result.refined.attackersCaught).toBe(12);
    expect(result.attackersLost).toEqual([]);
    // Each fold learned from the three other groups' flagged windows only.
    expect(result.folds).toEqual(
      ['a', 'b', 'c', 'd'].map((group) => ({ group, attackLabels: 9, benignLabels: 18 })),
    );
  });

  it('labels a share of the flagged windows, the same share for the same seed', () => {
    const half = evaluateRefinement(DATA, { labelledFraction: 0.5, seed: 3 });
    const labels = half.folds.map((fold) => fold.attackLabels + fold.benignLabels);
    expect(Math.max(...labels)).toBeLessThan(27);
    expect(evaluateRefinement(DATA, { labelledFraction: 0.5, seed: 3 })).toEqual(half);
  });

  it('never suppresses with too few labels: one group alone has nobody else to learn from', () => {
    const alone = evaluateRefinement(group('only', 9));
    expect(alone.refined).toEqual(alone.forest);
    expect(alone.outcomes).toEqual({ 'no-classifier': 9 });
    const few = evaluateRefinement(DATA, { refine: { minExamplesPerClass: 10 } });
    expect(few.refined).toEqual(few.forest);
    expect(few.outcomes).toEqual({ 'too-few-labels': 36 });
  });

  it('with holdOutFamilies, never trains on the kinds of attack the held-out group holds', () => {
    const unseen = evaluateRefinement(DATA, { holdOutFamilies: true });
    // Every group holds all three techniques: no attack label is left, so nothing is suppressed.
    expect(unseen.folds.map((fold) => fold.attackLabels)).toEqual([0, 0, 0, 0]);
    expect(unseen.outcomes).toEqual({ 'too-few-labels': 36 });
    const partial = evaluateRefinement(
      DATA.map((example) => (example.group === 'a' ? { ...example, family: undefined } : example)),
      { holdOutFamilies: true },
    );
    expect(partial.folds.find((fold) => fold.group === 'a')?.attackLabels).toBe(9);
  });

  it('refuses a labelled fraction outside (0, 1]', () => {
    expect(() => evaluateRefinement(DATA, { labelledFraction: 0 })).toThrow(/labelledFraction must be in/);
  });
});

function call(user: string, hour: number, ip: string, eventName = 'ListBuckets'): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      arn: `arn:aws:iam::111122223333:user/${user}`,
      accountId: '111122223333',
      accessKeyId: `AKIA${user.toUpperCase().padEnd(16, 'X')}`,
      userName: user,
    },
    eventTime: `2024-05-13T0${hour}:10:00Z`,
    eventSource: 's3.amazonaws.com',
    eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: ip,
    userAgent: 'aws-cli/2.15.30',
    readOnly: true,
    eventType: 'AwsApiCall',
    eventID: `${user}-${hour}-${ip}`,
  } as CloudTrailRecord;
}

describe('labelledExamplesOf: from `label` feedback to the classifier examples', () => {
  const records = [
    call('alice', 0, '10.0.0.1'),
    call('alice', 1, '10.0.0.1'),
    call('alice', 2, '203.0.113.9', 'GetBucketPolicy'),
    call('alice', 3, '203.0.113.9'),
    call('bob', 3, '10.0.0.2'),
  ];
  const windows = windowsOf(records, 60);
  const alice = 'AKIAALICEXXXXXXXXXXX';
  const labels: Label[] = [
    // By the anomaly finding's id.
    {
      findingId: anomalyFindingId(alice, Date.parse('2024-05-13T02:00:00Z'), 60),
      label: 'true-positive',
      labelledAt: '2024-05-13T05:00:00Z',
    },
    // By the principal and span the label carries (as `label --findings` saves it).
    {
      findingId: 'raised-finding-0001',
      label: 'false-positive',
      labelledAt: '2024-05-13T05:00:00Z',
      principalKey: alice,
      windowStart: '2024-05-13T03:00:00Z',
      windowEnd: '2024-05-13T04:00:00Z',
    },
    // A decoy touch's label: no window.
    { findingId: 'touch-finding-0001', label: 'true-positive', labelledAt: '2024-05-13T05:00:00Z' },
  ];
  const { examples, unmatched } = labelledExamplesOf(windows, 60, labels);

  it('finds each labelled window, by id or by span', () => {
    expect(examples.map((example) => [example.findingId, example.attack])).toEqual([
      [labels[0]!.findingId, true],
      ['raised-finding-0001', false],
    ]);
    expect(unmatched).toEqual(['touch-finding-0001']);
  });

  it('features each window as the forest saw it; the attack window does not teach the history', () => {
    const [attack, benign] = examples;
    expect(attack!.vector[FEATURE_INDEX.newSourceIps]).toBe(1);
    // The IP first used in the labelled attack is still new an hour later.
    expect(benign!.vector[FEATURE_INDEX.newSourceIps]).toBe(1);
  });

  it('trains the classifier from them, or none when no label names a window', () => {
    const { model } = classifierFromLabels(windows, 60, labels);
    expect(model?.examples).toEqual({ attack: 1, benign: 1 });
    expect(classifierFromLabels(windows, 60, [labels[2]!])).toEqual({
      model: undefined,
      unmatched: ['touch-finding-0001'],
    });
  });
});
