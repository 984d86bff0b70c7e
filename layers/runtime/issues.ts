import type { z } from 'zod';

export interface IssueFormat {
  /** Path segments written before each issue's own path (`['event']` → `event.detail.x`). */
  prefix?: readonly string[];
  /** What an empty path is called (`(root)`, `record`). */
  root?: string;
  /** The parsed input: when given, each line also says what was there (` (got "x")`). */
  input?: unknown;
  /** With `input`: also show objects and arrays, not only scalars. */
  showObjects?: boolean;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, segment) =>
      value && typeof value === 'object' ? (value as Record<string, unknown>)[String(segment)] : undefined,
    input,
  );
}

/**
 * One `path: message` line per schema issue, so every bad input names the field that
 * is wrong the same way (config, scenario files, events, model files, plans).
 */
export function issueLines(error: z.ZodError, format: IssueFormat = {}): string[] {
  return error.issues.map((issue) => {
    const path = [...(format.prefix ?? []), ...issue.path.map(String)].join('.') || (format.root ?? '');
    let got = '';
    if ('input' in format) {
      const value = valueAt(format.input, issue.path);
      if (value !== undefined && (format.showObjects || typeof value !== 'object')) {
        got = ` (got ${JSON.stringify(value)})`;
      }
    }
    return `${path}: ${issue.message}${got}`;
  });
}
