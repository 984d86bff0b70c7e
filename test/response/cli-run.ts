import { vi } from 'vitest';
import { main } from '../../bin/cli';

/** Runs `honeytrail <args>` in-process and captures what it prints. */
export async function honeytrail(...args: string[]): Promise<{ code: number; out: string; err: string }> {
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
    const code = await main(['node', 'honeytrail', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** The task token in an approval message, as an operator would copy it. */
export function tokenIn(message: string): string {
  const match = /npx honeytrail approve '([^']+)'/.exec(message);
  if (!match?.[1]) throw new Error(`no approve command in:\n${message}`);
  return match[1];
}
