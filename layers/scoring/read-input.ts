import { SingleBar } from 'cli-progress';
import {
  describeReadProblem,
  problemKind,
  type ReadProblem,
  readCloudTrail,
  summarizeReadProblems,
} from '../cloudtrail/reader';
import type { CloudTrailRecord } from '../cloudtrail/record';
import { WindowBuilder } from '../features';

export interface ReadWindowsResult {
  readonly builder: WindowBuilder;
  /** Every record the reader could not read, in order. */
  readonly problems: ReadProblem[];
}

/**
 * Streams CloudTrail files into principal-windows for the command line, with a
 * progress bar on stderr when stderr is a terminal (never in pipes or CI logs).
 */
export async function readWindows(
  paths: string[],
  windowMinutes: number,
  options: {
    progress?: boolean;
    label?: string;
    /** Also called with every record read (the score command collects each window's calls for the verdicts). */
    onRecord?: (record: CloudTrailRecord) => void;
  } = {},
): Promise<ReadWindowsResult> {
  const builder = new WindowBuilder(windowMinutes);
  const problems: ReadProblem[] = [];
  const showBar = (options.progress ?? true) && Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new SingleBar({
        stream: process.stderr,
        format: `${options.label ?? 'reading'} [{bar}] {percentage}% | {records} records | {mb}/{totalMb} MB`,
        hideCursor: true,
        clearOnComplete: true,
      })
    : undefined;
  let started = false;
  let lastUpdate = 0;
  try {
    for await (const record of readCloudTrail(paths, {
      onProblem: (problem) => problems.push(problem),
      onProgress: ({ bytesRead, bytesTotal, records }) => {
        if (!bar) return;
        const payload = { records, mb: (bytesRead / 1e6).toFixed(1), totalMb: (bytesTotal / 1e6).toFixed(1) };
        if (!started) {
          bar.start(Math.max(bytesTotal, 1), bytesRead, payload);
          started = true;
        } else if (bytesRead === bytesTotal || Date.now() - lastUpdate > 100) {
          bar.update(bytesRead, payload);
          lastUpdate = Date.now();
        }
      },
    })) {
      builder.add(record);
      options.onRecord?.(record);
    }
  } finally {
    bar?.stop();
  }
  return { builder, problems };
}

/** A short account of reading problems for stderr: the count and the first few, named. */
export function describeProblems(problems: readonly ReadProblem[], shown = 10): string {
  if (problems.length === 0) return '';
  const lines = problems
    .slice(0, shown)
    .map((p) => `  ${problemKind(p) === 'skipped' ? 'skipped' : 'unreadable'}: ${describeReadProblem(p)}`);
  if (problems.length > shown) lines.push(`  ... and ${problems.length - shown} more`);
  return `${summarizeReadProblems(problems)}:\n${lines.join('\n')}\n`;
}
