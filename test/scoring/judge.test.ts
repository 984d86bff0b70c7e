import { describe, expect, it } from 'vitest';
import type { Severity } from '../../layers/config/vocabulary';
import { FEATURE_COUNT, windowKey } from '../../layers/features';
import { anomalyFinding } from '../../layers/scoring/findings';
import { judgeWindow, judgeWindows, WindowTraces } from '../../layers/scoring/judge';
import type { ActivityModel } from '../../layers/scoring/model';
import { type ScoredWindow, scoreWindows } from '../../layers/scoring/score';
import { type ClassifierModel, type LabelledExample, trainClassifier } from '../../layers/supervised';
import { type CallTrace, tracesByWindow } from '../../layers/verdicts';
import { CUT, scenario } from './scenario';

/**
 * The hybrid in judgeWindow: the label classifier refines what the forest alone
 * raised, never what a verdict raised. The classifier is trained on vectors where
 * the first feature separates the classes, so a window's verdict is set by the
 * vector it is given.
 */

const { model: forest, benign } = scenario();
const THRESHOLD = forest.threshold;

function vector(first: number): Float64Array {
  const v = new Float64Array(FEATURE_COUNT);
  v[0] = first;
  return v;
}

function classifierOf(attacks: number, benignLabels: number): ClassifierModel {
  const examples: LabelledExample[] = [
    ...Array.from({ length: attacks }, (_, i) => ({ vector: vector(5 + i * 0.1), attack: true })),
    ...Array.from({ length: benignLabels }, (_, i) => ({ vector: vector(1 + i * 0.1), attack: false })),
  ];
  return trainClassifier(examples);
}

const taught: ActivityModel = { ...forest, classifier: classifierOf(20, 20) };
const fewLabels: ActivityModel = { ...forest, classifier: classifierOf(2, 2) };

const sample = scoreWindows(
  forest,
  benign.filter((r) => Date.parse(r.eventTime) < CUT + 3_600_000),
  { explainTop: 1 },
)[0]!;
function scored(score: number, first: number): ScoredWindow {
  return { ...sample, score, features: vector(first) };
}

/** Six denied calls over four services within minutes: the denied-burst verdict. */
const deniedBurst: CallTrace[] = ['iam', 'ec2', 's3', 'sts', 'iam', 'ec2'].map((service, i) => ({
  id: `denied-${i}`,
  time: sample.window.windowStart + i * 60_000,
  service,
  eventName: 'List',
  sourceIp: '203.0.113.9',
  errorCode: 'AccessDenied',
}));

const JUST_ABOVE = THRESHOLD + 0.01;
const FAR_ABOVE = THRESHOLD + 0.1;
const BENIGN_LIKE = 1.2;
const ATTACK_LIKE = 5.3;

describe('judgeWindow with the classifier labels taught', () => {
  it.each<
    [
      string,
      {
        model: ActivityModel;
        score: number;
        first: number;
        calls?: CallTrace[];
        reported?: Severity;
      },
      { published: boolean; outcome?: string; titleMentionsLabels: boolean },
    ]
  >([
    [
      'no classifier in the model: the forest alone, as before',
      { model: forest, score: JUST_ABOVE, first: BENIGN_LIKE },
      { published: true, titleMentionsLabels: false },
    ],
    [
      'like the windows labelled false positives, just above the threshold: suppressed',
      { model: taught, score: JUST_ABOVE, first: BENIGN_LIKE },
      { published: false, outcome: 'suppressed', titleMentionsLabels: false },
    ],
    [
      'like the windows labelled true positives: kept, with the reason',
      { model: taught, score: JUST_ABOVE, first: ATTACK_LIKE },
      { published: true, outcome: 'kept', titleMentionsLabels: true },
    ],
    [
      'far above the threshold: kept whatever the labels say, with the reason',
      { model: taught, score: FAR_ABOVE, first: BENIGN_LIKE },
      { published: true, outcome: 'far-above-threshold', titleMentionsLabels: true },
    ],
    [
      'too few labels of each kind: the classifier does not refine, the title is unchanged',
      { model: fewLabels, score: JUST_ABOVE, first: BENIGN_LIKE },
      { published: true, outcome: 'too-few-labels', titleMentionsLabels: false },
    ],
    [
      'a window a verdict raised is never suppressed',
      { model: taught, score: JUST_ABOVE, first: BENIGN_LIKE, calls: deniedBurst },
      { published: true, titleMentionsLabels: false },
    ],
    [
      'a verdict below the threshold: published, the classifier not asked',
      { model: taught, score: THRESHOLD - 0.2, first: BENIGN_LIKE, calls: deniedBurst },
      { published: true, titleMentionsLabels: false },
    ],
    [
      'below the threshold, no verdict: nothing, the classifier not asked',
      { model: taught, score: THRESHOLD - 0.01, first: ATTACK_LIKE },
      { published: false, titleMentionsLabels: false },
    ],
    [
      'a window already published that grows: raised again, not second-guessed',
      { model: taught, score: FAR_ABOVE, first: BENIGN_LIKE, reported: 'low' },
      { published: true, titleMentionsLabels: false },
    ],
  ])('%s', (_, given, expected) => {
    const judged = judgeWindow(scored(given.score, given.first), given.model, given.calls ?? [], {
      ...(given.reported && { reportedSeverity: given.reported }),
    });
    expect(judged.verdicts.length > 0).toBe(given.calls !== undefined);
    expect(judged.finding !== undefined).toBe(expected.published);
    expect(judged.refinement?.outcome).toBe(expected.outcome);
    if (judged.refinement && !judged.refinement.flag) {
      expect(judged.decision).toEqual({ publish: false, why: judged.refinement.reason });
    }
    if (judged.finding) {
      expect(judged.finding.title.includes('[labels: ')).toBe(expected.titleMentionsLabels);
      if (expected.titleMentionsLabels) {
        expect(judged.finding.title).toContain(judged.refinement!.reason);
      }
      if (!given.calls && !expected.titleMentionsLabels && !given.reported) {
        expect(judged.finding).toEqual(anomalyFinding(scored(given.score, given.first), THRESHOLD));
      }
    }
  });
});

describe('judgeWindows: the batch form', () => {
  it('returns the findings and, apart, the windows the labels suppressed, highest score first', () => {
    const windows = [
      scored(JUST_ABOVE, BENIGN_LIKE),
      { ...scored(JUST_ABOVE + 0.005, BENIGN_LIKE), window: { ...sample.window, windowStart: 1 } },
      scored(JUST_ABOVE, ATTACK_LIKE),
    ];
    const { findings, suppressed } = judgeWindows(windows, taught, new Map());
    expect(findings).toHaveLength(1);
    expect(suppressed.map((s) => s.scored.score)).toEqual([JUST_ABOVE + 0.005, JUST_ABOVE]);
    expect(suppressed.every((s) => s.refinement.outcome === 'suppressed')).toBe(true);
    // Without a classifier, every window at or above the threshold is a finding.
    expect(judgeWindows(windows, forest, new Map())).toMatchObject({ suppressed: [] });
    expect(judgeWindows(windows, forest, new Map()).findings).toHaveLength(3);
  });
});

describe('WindowTraces: the calls of each window, record by record', () => {
  it('gives what tracesByWindow gives over the same records', () => {
    const records = benign.filter((r) => Date.parse(r.eventTime) < CUT + 6 * 3_600_000);
    const traces = new WindowTraces(60);
    for (const record of records) traces.add(record);
    const collected = traces.byWindow();
    const batch = tracesByWindow(records, 60);
    expect([...collected.keys()].sort()).toEqual([...batch.keys()].sort());
    const key = windowKey(sample.window.principal.key, sample.window.windowStart);
    expect(collected.get(key)).toEqual(batch.get(key));
  });
});
