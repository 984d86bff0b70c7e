import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * What every command prints. With `--json`, stdout carries JSON documents only, one a
 * line (so `| jq` and `| while read` work); everything meant for a person (summaries,
 * progress, notes) goes to stderr. Without `--json`, the human text goes to stdout.
 */
export interface Output {
  /** Human text: stdout without --json, stderr with it. */
  text(text: string): void;
  /** One JSON document, as one line on stdout (only with --json). */
  json(document: unknown): void;
  /** Notes and warnings: always stderr. */
  note(text: string): void;
}

export function output(json: boolean | undefined): Output {
  return {
    text: (text) => (json ? process.stderr : process.stdout).write(text),
    json: (document) => process.stdout.write(`${JSON.stringify(document)}\n`),
    note: (text) => process.stderr.write(text),
  };
}

/**
 * Makes sure `file` can be written before any work starts: creates its folder, or
 * throws an error naming the option and why (a long replay must not end in ENOENT).
 */
export function prepareOutputFile(file: string, option: string): string {
  const path = resolve(file);
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new Error(`${option} ${file}: cannot create the folder ${folder} (${reason(error)})`);
  }
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new Error(`${option} ${file}: cannot write into ${folder} (${reason(error)})`);
  }
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // Not there yet: it will be created.
  }
  if (isDirectory) throw new Error(`${option} ${file}: is a folder; give a file name`);
  return path;
}

function reason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}
