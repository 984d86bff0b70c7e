import { describe, expect, it } from 'vitest';
import { anomalyFindingId, anomalyFindings } from '../../layers/scoring/findings';
import {
  attackWindowMatcher,
  emptyLabels,
  type Label,
  labelledWindowOf,
  parseLabels,
  precisionOf,
  withLabel,
} from '../../layers/scoring/labels';
import { renderReport } from '../../layers/scoring/report';
import { scoreWindows } from '../../layers/scoring/score';
import { scenario } from './scenario';

const label = (findingId: string, value: Label['label'], labelledAt = '2024-05-20T00:00:00Z'): Label => ({
  findingId,
  label: value,
  labelledAt,
});

describe('labels', () => {
  it('a finding labelled again keeps its latest label', () => {
    let file = withLabel(emptyLabels(), label('aaaaaaaaaa', 'true-positive'));
    file = withLabel(file, label('bbbbbbbbbb', 'false-positive'));
    file = withLabel(file, label('aaaaaaaaaa', 'false-positive', '2024-05-21T00:00:00Z'));
    expect(file.labels.map((l) => [l.findingId, l.label])).toEqual([
      ['bbbbbbbbbb', 'false-positive'],
      ['aaaaaaaaaa', 'false-positive'],
    ]);
    expect(parseLabels(JSON.parse(JSON.stringify(file)), 'labels.json')).toEqual(file);
  });

  it('a malformed labels file is refused, naming the file and the field', () => {
    expect(() => parseLabels({ version: 1, labels: [{ findingId: 'x', label: 'maybe' }] }, 'l.json')).toThrow(
      /l\.json is not a labels file: labels\.0\.findingId.*labels\.0\.label/s,
    );
  });

  it('precision over the raised findings, by label', () => {
    const labels = [
      label('f1xxxxxxxx', 'true-positive'),
      label('f2xxxxxxxx', 'false-positive'),
      label('f9xxxxxxxx', 'true-positive'),
    ];
    expect(precisionOf(['f1xxxxxxxx', 'f2xxxxxxxx', 'f3xxxxxxxx'], labels)).toEqual({
      findings: 3,
      truePositives: 1,
      falsePositives: 1,
      unlabelled: 1,
      precision: 0.5,
    });
    expect(precisionOf(['f3xxxxxxxx'], labels).precision).toBeNull();
  });

  it('matches attack windows by id, or by principal and overlapping time when the label carries them', () => {
    const start = Date.parse('2024-05-13T21:00:00Z');
    const byId = anomalyFindingId('AKIAX', start, 60);
    const matcher = attackWindowMatcher([
      label(byId, 'true-positive'),
      {
        ...label('otherxxxxxx', 'true-positive'),
        principalKey: 'AKIAY',
        windowStart: '2024-05-14T10:00:00Z',
        windowEnd: '2024-05-14T11:00:00Z',
      },
      label(anomalyFindingId('AKIAZ', start, 60), 'false-positive'),
    ]);
    expect(matcher(byId, 'AKIAX', start, start + 3_600_000)).toBe(true);
    // The same hour as two 30-minute windows: both overlap the labelled span.
    const y = Date.parse('2024-05-14T10:30:00Z');
    expect(matcher('whatever00', 'AKIAY', y, y + 1_800_000)).toBe(true);
    expect(matcher('whatever00', 'AKIAY', y + 1_800_000, y + 3_600_000)).toBe(false);
    expect(matcher(anomalyFindingId('AKIAZ', start, 60), 'AKIAZ', start, start + 3_600_000)).toBe(false);
  });

  it("a finding's window, for the label", () => {
    const { model, benign } = scenario();
    const [finding] = anomalyFindings(scoreWindows(model, benign), model, { threshold: 0.5 });
    expect(labelledWindowOf(finding!)).toMatchObject({
      principalKey: expect.any(String),
      windowStart: finding!.score!.windowStart,
      windowEnd: finding!.score!.windowEnd,
    });
  });
});

describe('the HTML report', () => {
  const { model, benign, attacks } = scenario();
  const scored = scoreWindows(model, [...benign, ...attacks.flatMap((a) => a.records)], { explainTop: 5 });
  const findings = anomalyFindings(scored, model);
  const labels = new Map([[findings[0]!.id, 'true-positive']]);
  const html = renderReport({
    title: 'Scores <test>',
    generatedAt: '2024-05-20T00:00:00Z',
    inputs: ['a.jsonl'],
    model,
    threshold: model.threshold,
    scored,
    findings,
    records: 1234,
    problems: 2,
    skippedRecords: 0,
    precision: precisionOf(
      findings.map((f) => f.id),
      [label(findings[0]!.id, 'true-positive')],
    ),
    labels,
    findingIds: scored.map((s) => anomalyFindingId(s.window.principal.key, s.window.windowStart, 60)),
    top: 5,
  });

  it('is self-contained: no script, no external asset', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i);
  });

  it('charts the score distribution with the threshold, and the reasons of the top windows', () => {
    expect(html).toContain('aria-label="score histogram"');
    expect(html).toContain(`threshold ${model.threshold.toFixed(3)}`);
    // One card per top window, each listing only the features that moved its score.
    expect(html.match(/<div class="card/g)).toHaveLength(5);
    expect(html).toMatch(/class="reasons"|comes from the combination/);
    expect(html).toContain('Precision by label');
    expect(html).toContain('class="tag tp"');
  });

  it('escapes what it shows', () => {
    expect(html).toContain('Scores &lt;test&gt;');
    expect(html).not.toContain('<test>');
  });
});
