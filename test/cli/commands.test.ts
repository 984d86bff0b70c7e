import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LABEL_CHOICES } from '../../bin/commands/label';
import { TRAIN_OPTION_DEFAULTS } from '../../bin/commands/train';
import { LABEL_VALUES } from '../../layers/scoring/labels';
import { TRAINING_DEFAULTS } from '../../layers/scoring/train';
import { honeytrail as run } from '../helpers/cli';

/** The command line's contract, in-process: output shapes, refusals before work, option defaults. */
const dir = mkdtempSync(join(tmpdir(), 'cli-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('output folders', () => {
  it('train --out into a folder that cannot be made is refused before anything is read', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    // The input does not exist either: refusing --out first shows the check comes before reading.
    const { code, err } = await run(
      'train',
      join(dir, 'missing-logs'),
      '--out',
      join(blocker, 'm', 'model.json'),
    );
    expect(code).toBe(1);
    expect(err).toMatch(/^honeytrail: --out .*model\.json: cannot create the folder .*a-file\/m \(ENOTDIR\)/);
  });

  it('score --report into a missing folder creates it', async () => {
    const report = join(dir, 'new', 'deeper', 'score.html');
    const { code } = await run(
      'score',
      join(dir, 'nothing'),
      '--model',
      join(dir, 'no-model.json'),
      '--report',
      report,
    );
    expect(code).toBe(1); // no model: but the folder was made first
    expect(existsSync(join(dir, 'new', 'deeper'))).toBe(true);
  });
});

describe('label', () => {
  it('refuses a true positive without the finding (training could not leave its window out), saving nothing', async () => {
    const labels = join(dir, 'labels.json');
    const { code, err } = await run('label', 'abcdefgh1234', '--as', 'true-positive', '--labels', labels);
    expect(code).toBe(1);
    expect(err).toMatch(/--as true-positive needs --findings FILE: training leaves the labelled window out/);
    expect(existsSync(labels)).toBe(false);
  });

  it('takes the finding from `replay --json` lines; --json prints the saved label as one line', async () => {
    const replayed = await run(
      'replay',
      '--decoys',
      'test/data/decoy-lists/stratus-parameters.json',
      '--json',
      'test/data/cloudtrail',
    );
    const lines = join(dir, 'findings.jsonl');
    writeFileSync(lines, replayed.out);
    const id = (JSON.parse(replayed.out.split('\n')[0]!) as { id: string }).id;
    const labels = join(dir, 'out', 'labels.json');
    const { code, out, err } = await run(
      'label',
      id,
      '--as',
      'false-positive',
      '--findings',
      lines,
      '--labels',
      labels,
      '--json',
    );
    expect(err).toMatch(/^Labelled /);
    expect(code).toBe(0);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ findingId: id, label: 'false-positive' });
    expect(existsSync(labels)).toBe(true);
  });
});

describe('cost', () => {
  it('--json prints the cost report as one line', async () => {
    const { code, out } = await run('cost', '--events-per-day', '1000000', '--json');
    expect(code).toBe(0);
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ lines: expect.any(Array) });
  });

  it('refuses a volume that is not a count, naming the option', async () => {
    const { code, err } = await run('cost', '--events-per-day', 'lots');
    expect(code).toBe(1);
    expect(err).toMatch(/--events-per-day: expected an integer/);
  });
});

describe('help without loading the model code', () => {
  // `--help` shows these without importing layers/ (the bundle keeps them out of start-up).
  it('train shows the trainer’s defaults', () => {
    for (const [name, value] of Object.entries(TRAIN_OPTION_DEFAULTS)) {
      expect(String(TRAINING_DEFAULTS[name as keyof typeof TRAINING_DEFAULTS]), name).toBe(value);
    }
  });

  it('label offers the label values', () => {
    expect([...LABEL_CHOICES]).toEqual([...LABEL_VALUES]);
  });
});

describe('progress on long reads', () => {
  it('shows a bar on a terminal once a read takes long, nothing before, nothing in a pipe', async () => {
    const { readProgress } = await import('../../bin/common/progress');
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const wasTty = process.stderr.isTTY;
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    try {
      process.stderr.isTTY = false;
      const piped = readProgress('replaying');
      vi.setSystemTime(5_000);
      piped.onProgress({ bytesRead: 1, bytesTotal: 100, records: 1 });
      piped.stop();
      expect(written).toEqual([]);

      process.stderr.isTTY = true;
      vi.setSystemTime(10_000);
      const bar = readProgress('replaying');
      bar.onProgress({ bytesRead: 10, bytesTotal: 100, records: 5 });
      expect(written).toEqual([]);
      vi.setSystemTime(11_000);
      bar.onProgress({ bytesRead: 40, bytesTotal: 100, records: 20_000 });
      bar.stop();
      expect(written.join('')).toMatch(/replaying \[.*\] 40% \| 20000 records/);
    } finally {
      process.stderr.isTTY = wasTty;
      vi.useRealTimers();
      write.mockRestore();
    }
  });
});
