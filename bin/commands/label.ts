import type { Command } from 'commander';
import type { Finding } from '../../layers/findings/finding';
import type { Label, LabelValue } from '../../layers/scoring/labels';

interface LabelOptions {
  as: string;
  labels: string;
  note?: string;
  by?: string;
  findings?: string;
  json?: boolean;
  printEvent?: string;
}

// The values `--as` takes; layers/scoring/labels.ts LABEL_VALUES holds the same and a test keeps them
// equal (importing it here would load zod for `--help`).
export const LABEL_CHOICES = ['true-positive', 'false-positive'] as const;

export function registerLabel(program: Command): void {
  program
    .command('label')
    .description(
      'label a finding as a true or false positive (training leaves out windows labelled as attacks)',
    )
    .argument('<findingId>', 'the id of the finding')
    .requiredOption('--as <label>', `one of: ${LABEL_CHOICES.join(', ')}`)
    .option(
      '--labels <file>',
      'the labels file to add to (created if missing, with its folder)',
      'labels.json',
    )
    .option('--note <text>', 'why')
    .option('--by <name>', 'who labels')
    .option(
      '--findings <file>',
      'the findings holding it ("score --json" or "replay --json" output, a finding or a list of them): the label takes its window, which training needs; required with --as true-positive',
    )
    .option('--json', 'print the saved label as one JSON line')
    .option(
      '--print-event <bus>',
      'print the "Finding Labelled" event for that bus instead (one JSON line), for `aws events put-events --entries file://...`',
    )
    .action(async (findingId: string, options: LabelOptions) => {
      const [
        { existsSync, readFileSync, writeFileSync },
        findingModule,
        labels,
        { output, prepareOutputFile },
        files,
      ] = await Promise.all([
        import('node:fs'),
        import('../../layers/findings/finding'),
        import('../../layers/scoring/labels'),
        import('../common/output'),
        import('../common/labels'),
      ]);
      if (!(labels.LABEL_VALUES as readonly string[]).includes(options.as)) {
        throw new Error(`--as: expected ${labels.LABEL_VALUES.join(' or ')} (got "${options.as}")`);
      }
      if (findingId.length < 8) throw new Error(`"${findingId}" is not a finding id`);
      const value = options.as as LabelValue;
      // A true positive is worth labelling for what training does with it: leave the attack's
      // window out. Without the finding there is no window, and the label would be saved unused.
      if (value === 'true-positive' && !options.findings) {
        throw new Error(
          `--as true-positive needs --findings FILE: training leaves the labelled window out, and the window comes from the finding (save it with "honeytrail score ... --json > out/findings.jsonl" or "replay --json")`,
        );
      }
      let finding: Finding | undefined;
      if (options.findings) {
        finding = findFinding(readFileSync, findingModule.findingSchema, options.findings, findingId);
        if (!finding) throw new Error(`no finding ${findingId} in ${options.findings}`);
      }
      const window = finding ? labels.labelledWindowOf(finding) : {};
      const out = output(options.json || Boolean(options.printEvent));
      if (value === 'true-positive' && !window.principalKey) {
        out.note(
          `note: ${findingId} is a ${finding?.kind} finding, not a scored window: the label counts for precision; training has no window to leave out\n`,
        );
      }
      const labelsPath = prepareOutputFile(options.labels, '--labels');
      const file = existsSync(labelsPath) ? files.readLabels(labelsPath) : labels.emptyLabels();
      const label: Label = {
        findingId,
        label: value,
        labelledAt: new Date().toISOString(),
        ...(options.by && { by: options.by }),
        ...(options.note && { note: options.note }),
        ...window,
      };
      const updated = labels.withLabel(file, label);
      writeFileSync(labelsPath, `${JSON.stringify(updated, null, 2)}\n`);
      const saved = `Labelled ${findingId} ${label.label} in ${options.labels} (${updated.labels.length} label(s)).\n`;
      if (options.printEvent) {
        out.note(saved);
        out.json([
          {
            EventBusName: options.printEvent,
            Source: findingModule.FINDING_EVENT_SOURCE,
            DetailType: labels.FINDING_LABELLED_DETAIL_TYPE,
            Detail: JSON.stringify(label),
          },
        ]);
        return;
      }
      out.text(saved);
      if (options.json) out.json(label);
    });
}

/**
 * The finding `id` in a findings file: `score --json` output (`{"findings":[...]}`), JSON
 * lines (`replay --json`, its summary line skipped), one finding, or a list of them.
 */
function findFinding(
  readFileSync: typeof import('node:fs').readFileSync,
  schema: typeof import('../../layers/findings/finding').findingSchema,
  path: string,
  id: string,
): Finding | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `--findings ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const documents: unknown[] = [];
  try {
    documents.push(JSON.parse(text));
  } catch {
    for (const [index, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        documents.push(JSON.parse(line));
      } catch (error) {
        throw new Error(`--findings ${path} line ${index + 1}: not JSON (${(error as Error).message})`);
      }
    }
  }
  const candidates = documents.flatMap((json): unknown[] =>
    Array.isArray(json)
      ? json
      : json && typeof json === 'object' && Array.isArray((json as { findings?: unknown }).findings)
        ? (json as { findings: unknown[] }).findings
        : [json],
  );
  for (const candidate of candidates) {
    const parsed = schema.safeParse(candidate);
    if (parsed.success && parsed.data.id === id) return parsed.data;
  }
  return undefined;
}
