import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FINDING_EVENT_SOURCE, type Finding, findingSchema } from '../../layers/findings/finding';
import { readJsonFile } from '../../layers/runtime/json-file';
import {
  emptyLabels,
  FINDING_LABELLED_DETAIL_TYPE,
  LABEL_VALUES,
  type Label,
  type LabelValue,
  labelledWindowOf,
  withLabel,
} from '../../layers/scoring/labels';
import { readLabels } from './train';

interface LabelOptions {
  as: string;
  labels: string;
  note?: string;
  by?: string;
  findings?: string;
  printEvent?: string;
}

export function registerLabel(program: Command): void {
  program
    .command('label')
    .description(
      'label a finding as a true or false positive (training leaves out windows labelled as attacks)',
    )
    .argument('<findingId>', 'the id of the finding')
    .requiredOption('--as <label>', `one of: ${LABEL_VALUES.join(', ')}`)
    .option('--labels <file>', 'the labels file to add to (created if missing)', 'labels.json')
    .option('--note <text>', 'why')
    .option('--by <name>', 'who labels')
    .option(
      '--findings <file>',
      'findings (from "score --json", or a finding or a list of them) to take the window from',
    )
    .option(
      '--print-event <bus>',
      'print the "Finding Labelled" event for that bus instead, for `aws events put-events --entries file://...`',
    )
    .action((findingId: string, options: LabelOptions) => {
      if (!(LABEL_VALUES as readonly string[]).includes(options.as)) {
        throw new Error(`--as: expected ${LABEL_VALUES.join(' or ')} (got "${options.as}")`);
      }
      if (findingId.length < 8) throw new Error(`"${findingId}" is not a finding id`);
      const file = existsSync(options.labels) ? readLabels(options.labels) : emptyLabels();
      const finding = options.findings ? findFinding(options.findings, findingId) : undefined;
      if (options.findings && !finding) throw new Error(`no finding ${findingId} in ${options.findings}`);
      const label: Label = {
        findingId,
        label: options.as as LabelValue,
        labelledAt: new Date().toISOString(),
        ...(options.by && { by: options.by }),
        ...(options.note && { note: options.note }),
        ...(finding && labelledWindowOf(finding)),
      };
      const updated = withLabel(file, label);
      writeFileSync(options.labels, `${JSON.stringify(updated, null, 2)}\n`);
      if (options.printEvent) {
        const entry = {
          EventBusName: options.printEvent,
          Source: FINDING_EVENT_SOURCE,
          DetailType: FINDING_LABELLED_DETAIL_TYPE,
          Detail: JSON.stringify(label),
        };
        process.stdout.write(`${JSON.stringify([entry], null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `Labelled ${findingId} ${label.label} in ${options.labels} (${updated.labels.length} label(s)).\n`,
      );
    });
}

function findFinding(path: string, id: string): Finding | undefined {
  const json = readJsonFile(path, 'findings');
  const candidates: unknown[] = Array.isArray(json)
    ? json
    : json && typeof json === 'object' && Array.isArray((json as { findings?: unknown }).findings)
      ? (json as { findings: unknown[] }).findings
      : [json];
  for (const candidate of candidates) {
    const parsed = findingSchema.safeParse(candidate);
    if (parsed.success && parsed.data.id === id) return parsed.data;
  }
  return undefined;
}
