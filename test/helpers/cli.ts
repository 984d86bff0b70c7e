import { vi } from 'vitest';
import { main } from '../../bin/cli';

/** What a CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `run` with stdout and stderr captured (and silenced), restoring them afterwards. */
export async function captureOutput(run: () => Promise<number>): Promise<CliRun> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await run(), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** Runs `honeytrail <args>` in-process (bin/cli.ts `main`) and captures what it prints. */
export function honeytrail(...args: string[]): Promise<CliRun> {
  return captureOutput(() => main(['node', 'honeytrail', ...args]));
}
