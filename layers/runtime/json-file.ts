import { readFileSync } from 'node:fs';

/**
 * Reads and parses a JSON file the user named. Either failure says which file,
 * as `what` calls it (`scenario file`, `--decoys`), and why; `fail` makes the
 * error (the caller's error class).
 */
export function readJsonFile(
  path: string,
  what: string,
  fail: (message: string) => Error = (message) => new Error(message),
): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw fail(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}
