import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { honeytrail as run } from '../helpers/cli';
import { scenario } from './scenario';

const dir = mkdtempSync(join(tmpdir(), 'scoring-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DATA = join(__dirname, '..', 'data', 'cloudtrail');

const { history, benign, attacks } = scenario();
// History as a gzipped S3 log file and JSON lines; the days to score as a JSON array.
const historyGz = join(dir, 'history.json.gz');
writeFileSync(historyGz, gzipSync(JSON.stringify({ Records: history.slice(0, 20_000) })));
const historyLines = join(dir, 'history.jsonl');
writeFileSync(
  historyLines,
  history
    .slice(20_000)
    .map((r) => JSON.stringify(r))
    .join('\n'),
);
const toScore = join(dir, 'score.json');
writeFileSync(toScore, JSON.stringify([...benign, ...attacks.flatMap((a) => a.records)]));
const model = join(dir, 'model.json');

describe('honeytrail train / score / label', () => {
  it('train reads every shape and writes the model', async () => {
    const { code, out } = await run('train', historyGz, historyLines, '--out', model, '--no-progress');
    expect(code).toBe(0);
    expect(out).toMatch(/Trained on \d+ records/);
    expect(out).toMatch(/threshold 0\.\d+/);
    expect(JSON.parse(readFileSync(model, 'utf8'))).toMatchObject({
      format: 'isolation-forest',
      trees: 200,
    });
  });

  it('train with too little history says so and fails', async () => {
    const small = join(dir, 'small.jsonl');
    writeFileSync(
      small,
      history
        .slice(0, 300)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { code, err } = await run('train', small, '--out', join(dir, 'none.json'), '--no-progress');
    expect(code).toBe(1);
    expect(err).toMatch(/insufficient history: \d+ principal-windows .* 48 needed/);
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });

  it('train refuses a bad option, naming it', async () => {
    const { code, err } = await run('train', historyLines, '--out', model, '--window-minutes', 'soon');
    expect(code).toBe(1);
    expect(err).toMatch(/--window-minutes: expected an integer/);
  });

  it('score lists the top windows with their reasons, and writes the HTML report', async () => {
    const report = join(dir, 'report.html');
    const { code, out } = await run(
      'score',
      toScore,
      '--model',
      model,
      '--report',
      report,
      '--top',
      '5',
      '--no-progress',
    );
    expect(code).toBe(0);
    expect(out).toMatch(/principal-windows, \d+ at or above the threshold/);
    expect(out.split('\n').filter((line) => /^\d\.\d{3}\*/.test(line)).length).toBeGreaterThanOrEqual(5);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('aria-label="score histogram"');
  });

  it('score --json gives findings; label marks one; --labels shows precision', async () => {
    const scored = await run('score', toScore, '--model', model, '--json', '--no-progress');
    expect(scored.code).toBe(0);
    const output = JSON.parse(scored.out) as { findings: { id: string; kind: string }[]; top: unknown[] };
    expect(output.findings.length).toBeGreaterThanOrEqual(attacks.length);
    expect(output.findings[0]!.kind).toBe('anomaly');
    const findingsFile = join(dir, 'findings.json');
    writeFileSync(findingsFile, scored.out);

    const labels = join(dir, 'labels.json');
    const [first, second] = output.findings;
    let result = await run(
      'label',
      first!.id,
      '--as',
      'true-positive',
      '--labels',
      labels,
      '--findings',
      findingsFile,
    );
    expect(result.code).toBe(0);
    result = await run('label', second!.id, '--as', 'false-positive', '--labels', labels, '--by', 'sam');
    expect(result.code).toBe(0);
    const file = JSON.parse(readFileSync(labels, 'utf8'));
    expect(file.labels).toHaveLength(2);
    expect(file.labels[0]).toMatchObject({
      label: 'true-positive',
      principalKey: expect.any(String),
      windowStart: expect.any(String),
    });

    const withPrecision = await run('score', toScore, '--model', model, '--labels', labels, '--no-progress');
    expect(withPrecision.out).toMatch(/Precision by label: 50\.0% \(1 true positive, 1 false positive/);
  });

  it('train --labels counts the labels and stores their classifier; score says what it did', async () => {
    const labels = join(dir, 'labels.json');
    const taught = join(dir, 'taught.json');
    const trained = await run(
      'train',
      historyGz,
      historyLines,
      toScore,
      '--out',
      taught,
      '--labels',
      labels,
      '--json',
      '--no-progress',
    );
    expect(trained.code).toBe(0);
    expect(JSON.parse(trained.out)).toMatchObject({
      labels: { attack: 1, benign: 1, unmatched: 0, classifier: true },
    });
    expect(trained.err).toMatch(/Labels: 1 window\(s\) labelled true positive, 1 false positive/);

    const scored = await run('score', toScore, '--model', taught, '--json', '--no-progress');
    expect(scored.code).toBe(0);
    const document = JSON.parse(scored.out) as { classifier: unknown; suppressed: unknown[] };
    // Two labels are too few for the classifier to suppress anything (five of each kind are needed).
    expect(document).toMatchObject({ classifier: { examples: { attack: 1, benign: 1 } }, suppressed: [] });

    const text = await run('score', toScore, '--model', taught, '--top', '3', '--no-progress');
    expect(text.out).toMatch(
      /the classifier from labels \(1 true-positive, 1 false-positive windows\) suppressed 0/,
    );
    expect(text.out).toMatch(/^Findings:$/m);
    expect(text.out).toMatch(/norm/);
    expect(text.out).not.toMatch(/\(norm [-\d.]+\)/);
  });

  it('label --print-event prints the "Finding Labelled" entry for the central bus', async () => {
    const { code, out } = await run(
      'label',
      'abcdefgh1234',
      '--as',
      'false-positive',
      '--labels',
      join(dir, 'events.json'),
      '--print-event',
      'platform-shared-services-events',
    );
    expect(code).toBe(0);
    const [entry] = JSON.parse(out);
    expect(entry).toMatchObject({
      EventBusName: 'platform-shared-services-events',
      Source: 'platform.security-findings',
      DetailType: 'Finding Labelled',
    });
    expect(JSON.parse(entry.Detail)).toMatchObject({ findingId: 'abcdefgh1234', label: 'false-positive' });
  });

  it('label refuses an unknown label value', async () => {
    const { code, err } = await run(
      'label',
      'abcdefgh1234',
      '--as',
      'maybe',
      '--labels',
      join(dir, 'l.json'),
    );
    expect(code).toBe(1);
    expect(err).toMatch(/--as: expected true-positive or false-positive/);
  });

  it('score reads the real data sets (every shape) and reports nothing unreadable', async () => {
    const { code, out, err } = await run('score', DATA, '--model', model, '--no-progress');
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^761 records/);
  });

  it('a file that is not a model is refused, naming it', async () => {
    const bad = join(dir, 'bad-model.json');
    writeFileSync(bad, '{"format":"something-else"}');
    const { code, err } = await run('score', toScore, '--model', bad);
    expect(code).toBe(1);
    expect(err).toMatch(/bad-model\.json: invalid model file/);
  });
});
