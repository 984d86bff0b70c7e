import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, gunzipSync } from 'node:zlib';
import { issueLines } from '../runtime/issues';
import { type CloudTrailRecord, cloudTrailRecordSchema, parseEventTime } from './record';

/**
 * Reads CloudTrail records in every shape they are commonly kept in:
 * - S3 log files `{"Records":[...]}`, plain or gzipped (CloudTrail writes .json.gz),
 * - JSON arrays of records (or of any of the shapes below),
 * - JSON lines: one record, one envelope, one log file or one LookupEvents event a line,
 *   including Panther's test lines (`{"event": {...}}`, `p_*` enrichment fields stripped),
 * - EventBridge envelopes ("AWS API Call via CloudTrail"; the record is `detail`),
 * - LookupEvents output `{"Events":[{"CloudTrailEvent":"<json string>"}]}`,
 * given as files or directories (read recursively, in sorted order).
 *
 * Every record is validated with cloudTrailRecordSchema. One that cannot be read is
 * reported through `onProblem` with the file, where in it, and why; never dropped
 * silently. CloudTrail digest files (which list log files, not records) yield nothing.
 */

/** Something the reader could not turn into a record: which file, where in it, why. */
export type ReadProblem = {
  source: string;
  location: string;
  message: string;
  /** In a log file read with logFileRecords: the record's index in `Records`. */
  recordIndex?: number;
};

export type ReadProgress = { bytesRead: number; bytesTotal: number; records: number };

export interface ReadOptions {
  onProblem?: (problem: ReadProblem) => void;
  /** Called as bytes are read (at most once per chunk read from disk). */
  onProgress?: (progress: ReadProgress) => void;
}

type ProblemSink = (problem: ReadProblem) => void;
type RecordSink = (record: CloudTrailRecord) => void;

/** Names of files a directory walk picks up; files named explicitly are always read. */
const DATA_FILE = /\.(json|jsonl|ndjson)(\.gz)?$|\.gz$/i;

/**
 * Reads every record in `paths` (files or directories), one file at a time and one
 * line at a time within a file, so the whole set never has to fit in memory. A file
 * that holds one JSON document spread over many lines (a pretty-printed array, for
 * instance) is read whole: that is the shape of a single log file or export.
 */
export async function* readCloudTrail(
  paths: string[],
  options: ReadOptions = {},
): AsyncGenerator<CloudTrailRecord> {
  const onProblem: ProblemSink = options.onProblem ?? (() => {});
  const files = await expandPaths(paths);
  const progress: ReadProgress = {
    bytesRead: 0,
    bytesTotal: files.reduce((total, file) => total + file.size, 0),
    records: 0,
  };
  const onBytes = (bytes: number) => {
    progress.bytesRead += bytes;
    options.onProgress?.({ ...progress });
  };
  // Small files (CloudTrail's own log files) are loaded one ahead: the disk works
  // while the previous file is parsed.
  let next = files[0] && load(files[0]);
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const current = next;
    next = files[i + 1] && load(files[i + 1]!);
    const batches = current
      ? wholeFileBatches(file.path, await current, onProblem, onBytes)
      : streamedFileBatches(file.path, onProblem, onBytes);
    for await (const batch of batches) {
      for (const record of batch) {
        progress.records++;
        yield record;
      }
    }
  }
  options.onProgress?.({ ...progress });
}

/**
 * Every record in one text (a whole file's content), in any of the shapes above.
 * `source` names the text in problems (a file path, an S3 key).
 */
export function recordsFromText(text: string, source: string, onProblem?: ProblemSink): CloudTrailRecord[] {
  const report: ProblemSink = onProblem ?? (() => {});
  const records: CloudTrailRecord[] = [];
  const push: RecordSink = (record) => records.push(record);
  if (text.trim() === '') {
    report({ source, location: 'file', message: 'empty: no CloudTrail records' });
    return records;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    // Not one document: JSON lines, unless the first line is not JSON on its own
    // either (a truncated or broken document), which is one problem, not one per line.
    const lines = text.split('\n');
    const first = lines.findIndex((line) => line.trim() !== '');
    if (!isJson(lines[first]!)) {
      report({ source, location: 'file', message: `not valid JSON: ${(error as Error).message}` });
      return records;
    }
    lines.forEach((line, index) => {
      readLine(line, index + 1, source, push, report);
    });
    return records;
  }
  recordsOfValue(document, '', source, push, report);
  return records;
}

/**
 * A delivered log file that cannot be read as one: broken gzip, not JSON, or no
 * `Records` array. Unlike a bad record it says nothing about which records were
 * lost, so the file is not scored at all (the caller retries it or keeps it).
 */
export class UnreadableLogFileError extends Error {
  override readonly name = 'UnreadableLogFileError';
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(`${source}: ${reason}`);
  }
}

/** A delivered log file's bytes as text, gunzipped if they are gzip; broken gzip throws UnreadableLogFileError. */
export function logFileText(bytes: Uint8Array, source: string): string {
  try {
    return textOfBytes(bytes);
  } catch (error) {
    throw new UnreadableLogFileError(source, `cannot be decompressed: ${(error as Error).message}`);
  }
}

/**
 * The records of one CloudTrail log file as CloudTrail delivers it to S3:
 * `{"Records":[...]}`, nothing else. A file of another shape throws
 * UnreadableLogFileError; a record that cannot be read is reported with its index
 * (`Records[3]`, `recordIndex: 3`) and skipped, and the rest are returned.
 */
export function logFileRecords(text: string, source: string, onProblem: ProblemSink): CloudTrailRecord[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UnreadableLogFileError(source, `not JSON: ${(error as Error).message}`);
  }
  const records = isObject(document) ? document.Records : undefined;
  if (!Array.isArray(records)) {
    const what = isObject(document)
      ? records === undefined
        ? 'no Records field'
        : `Records is ${describe(records)}`
      : describe(document);
    throw new UnreadableLogFileError(
      source,
      `not a CloudTrail log file: expected {"Records":[...]}, got ${what}`,
    );
  }
  const found: CloudTrailRecord[] = [];
  records.forEach((item, index) => {
    toRecord(
      item,
      `Records[${index}]`,
      source,
      (record) => found.push(record),
      (problem) => onProblem({ ...problem, recordIndex: index }),
    );
  });
  return found;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function readLine(line: string, lineNumber: number, source: string, push: RecordSink, report: ProblemSink) {
  if (line.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    report({
      source,
      location: `line ${lineNumber}`,
      message: `not valid JSON: ${(error as Error).message}`,
    });
    return;
  }
  recordsOfValue(value, `line ${lineNumber}`, source, push, report);
}

const at = (location: string, suffix: string) => (location ? `${location} ${suffix}` : suffix);

/** Finds the records in one parsed value, whatever its shape. */
function recordsOfValue(
  value: unknown,
  location: string,
  source: string,
  push: RecordSink,
  report: ProblemSink,
) {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      recordsOfValue(item, `${location}[${index}]`, source, push, report);
    });
    return;
  }
  if (value === null || typeof value !== 'object') {
    report({
      source,
      location: location || 'document',
      message: `expected a CloudTrail record, got ${describe(value)}`,
    });
    return;
  }
  const object = value as Record<string, unknown>;
  if (Array.isArray(object.Records)) {
    object.Records.forEach((item, index) => {
      toRecord(item, at(location, `Records[${index}]`), source, push, report);
    });
    return;
  }
  if (Array.isArray(object.Events)) {
    object.Events.forEach((item, index) => {
      lookupEvent(item, at(location, `Events[${index}]`), source, push, report);
    });
    return;
  }
  if ('CloudTrailEvent' in object) {
    lookupEvent(object, location || 'document', source, push, report);
    return;
  }
  // A digest file lists log files and their hashes: no records in it, nothing lost.
  if ('digestStartTime' in object && Array.isArray(object.logFiles)) return;
  if (isObject(object.detail) && ('detail-type' in object || 'source' in object)) {
    toRecord(object.detail, at(location, 'detail'), source, push, report);
    return;
  }
  // Panther's rule tests: the record under `event`, next to the rule id and test name.
  if (isObject(object.event) && !('eventName' in object)) {
    toRecord(object.event, at(location, 'event'), source, push, report);
    return;
  }
  toRecord(object, location || 'document', source, push, report);
}

function lookupEvent(item: unknown, location: string, source: string, push: RecordSink, report: ProblemSink) {
  const text = isObject(item) ? item.CloudTrailEvent : undefined;
  if (typeof text !== 'string') {
    report({ source, location, message: 'LookupEvents event without a CloudTrailEvent string' });
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    report({ source, location, message: `CloudTrailEvent is not valid JSON: ${(error as Error).message}` });
    return;
  }
  toRecord(parsed, `${location} CloudTrailEvent`, source, push, report);
}

function toRecord(value: unknown, location: string, source: string, push: RecordSink, report: ProblemSink) {
  if (!isObject(value)) {
    report({ source, location, message: `expected a CloudTrail record, got ${describe(value)}` });
    return;
  }
  const result = cloudTrailRecordSchema.safeParse(normalized(withoutPantherFields(value)));
  if (result.success) {
    // Every consumer windows, sorts or matches on the time: a record without one is unreadable.
    if (parseEventTime(result.data.eventTime) === undefined) {
      report({
        source,
        location,
        message: `not a CloudTrail record: eventTime: not a date from 1970 to 9999 (${JSON.stringify(result.data.eventTime.slice(0, 40))})`,
      });
      return;
    }
    push(result.data);
    return;
  }
  const reasons = issueLines(result.error, { root: 'record' });
  report({ source, location, message: `not a CloudTrail record: ${reasons.join('; ')}` });
}

/** Panther adds `p_*` fields (p_log_type, p_any_ip_addresses, ...) to the records it stores. */
function withoutPantherFields(record: Record<string, unknown>): Record<string, unknown> {
  let hasPantherField = false;
  for (const key in record) {
    if (key.startsWith('p_')) {
      hasPantherField = true;
      break;
    }
  }
  if (!hasPantherField) return record;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) if (!key.startsWith('p_')) copy[key] = field;
  return copy;
}

/** Optional fields that some producers write as null instead of leaving out. */
const NULLABLE_ELSEWHERE = [
  'eventVersion',
  'userIdentity',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestID',
  'eventID',
  'readOnly',
  'resources',
  'eventType',
  'managementEvent',
  'recipientAccountId',
  'eventCategory',
  'sessionCredentialFromConsole',
] as const;
const IDENTITY_FIELDS = ['type', 'principalId', 'arn', 'accountId', 'accessKeyId', 'userName', 'invokedBy'];

/**
 * Spellings that other tools give the same fact (Panther and Athena exports write
 * booleans as "True", sessionCredentialFromConsole as a boolean, absent fields as
 * null), brought back to CloudTrail's own so that validation judges content, not
 * spelling. Copies only when something changes.
 */
function normalized(record: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  const set = (key: string, value: unknown) => {
    copy ??= { ...record };
    if (value === undefined) delete copy[key];
    else copy[key] = value;
  };
  for (const key of NULLABLE_ELSEWHERE) if (record[key] === null) set(key, undefined);
  for (const key of ['readOnly', 'managementEvent']) {
    const value = record[key];
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) set(key, value.toLowerCase() === 'true');
  }
  if (typeof record.sessionCredentialFromConsole === 'boolean') {
    set('sessionCredentialFromConsole', String(record.sessionCredentialFromConsole));
  }
  const identity = record.userIdentity;
  if (isObject(identity) && IDENTITY_FIELDS.some((key) => identity[key] === null)) {
    const cleaned = { ...identity };
    for (const key of IDENTITY_FIELDS) if (cleaned[key] === null) delete cleaned[key];
    set('userIdentity', cleaned);
  }
  return copy ?? record;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

interface FileEntry {
  path: string;
  size: number;
}

/** Files named, and data files under directories named (recursively, sorted by name). */
async function expandPaths(paths: string[]): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot read ${path}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`,
      );
    });
    if (info.isDirectory()) await walk(path, files);
    else files.push({ path, size: info.size });
  }
  return files;
}

async function walk(directory: string, files: FileEntry[]): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) await walk(path, files);
    else if (DATA_FILE.test(entry.name)) files.push({ path, size: (await stat(path)).size });
  }
}

function hasGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A log file's bytes as text: gunzipped when they are gzip (CloudTrail writes .json.gz), else as they are. */
export function textOfBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (hasGzipMagic(buffer) ? gunzipSync(buffer) : buffer).toString('utf8');
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return hasGzipMagic(magic.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/**
 * The line-by-line state of one file. The first non-empty line decides the mode:
 * if it is JSON on its own the file is JSON lines (each line read and forgotten),
 * otherwise it is one document spread over lines, parsed at the end.
 */
class FileLines {
  mode: 'unknown' | 'lines' | 'document' = 'unknown';
  lineNumber = 0;
  private readonly documentParts: string[] = [];

  constructor(
    private readonly source: string,
    private readonly push: RecordSink,
    private readonly report: ProblemSink,
  ) {}

  take(line: string): void {
    this.lineNumber++;
    if (this.mode === 'document') {
      this.documentParts.push(line);
      return;
    }
    if (this.mode === 'unknown') {
      if (line.trim() === '') return;
      // Parsed once here and used as is: a CloudTrail log file is one long line.
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        this.mode = 'document';
        this.documentParts.push(line);
        return;
      }
      this.mode = 'lines';
      recordsOfValue(value, `line ${this.lineNumber}`, this.source, this.push, this.report);
      return;
    }
    readLine(line, this.lineNumber, this.source, this.push, this.report);
  }

  finish(): void {
    if (this.mode === 'unknown') {
      this.report({ source: this.source, location: 'file', message: 'empty: no CloudTrail records' });
    } else if (this.mode === 'document') {
      recordsOfValueFromText(this.documentParts.join('\n'), this.source, this.push, this.report);
    }
  }
}

/** Files up to this size on disk are read in one go (and the next one while this one is parsed). */
const WHOLE_FILE_BYTES = 1 << 20;

type Loaded = { bytes: Buffer } | { error: Error };

function load(file: FileEntry): Promise<Loaded> | undefined {
  if (file.size > WHOLE_FILE_BYTES) return undefined;
  return readFile(file.path).then(
    (bytes) => ({ bytes }),
    (error: Error) => ({ error }),
  );
}

/** A small file, already loaded: gunzipped if need be, then read line by line. */
function* wholeFileBatches(
  path: string,
  loaded: Loaded,
  report: ProblemSink,
  onBytes: (bytes: number) => void,
): Generator<CloudTrailRecord[]> {
  if ('error' in loaded) {
    report({ source: path, location: 'file', message: `cannot read: ${loaded.error.message}` });
    return;
  }
  const { bytes } = loaded;
  onBytes(bytes.length);
  let text: string;
  try {
    text = textOfBytes(bytes);
  } catch (error) {
    report({ source: path, location: 'gzip', message: `cannot read: ${(error as Error).message}` });
    return;
  }
  const batch: CloudTrailRecord[] = [];
  const lines = new FileLines(path, (record) => batch.push(record), report);
  for (const line of text.split('\n')) lines.take(line);
  lines.finish();
  if (batch.length > 0) yield batch;
}

/** A large file, streamed: a batch per chunk read, so memory holds one chunk's records. */
async function* streamedFileBatches(
  path: string,
  report: ProblemSink,
  onBytes: (bytes: number) => void,
): AsyncGenerator<CloudTrailRecord[]> {
  const gzipped = await isGzip(path).catch(() => false);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let input: AsyncIterable<Buffer | string> = raw;
  if (gzipped) {
    // Progress counts the bytes on disk, not the larger decompressed stream.
    raw.on('data', (chunk) => onBytes(chunk.length));
    const gunzip = createGunzip();
    raw.on('error', (error) => gunzip.destroy(error));
    input = raw.pipe(gunzip);
  }

  const decoder = new StringDecoder('utf8');
  let batch: CloudTrailRecord[] = [];
  const lines = new FileLines(path, (record) => batch.push(record), report);
  // The unfinished last line, in pieces: a log file is often one long line, and
  // re-concatenating it chunk by chunk would be quadratic.
  let pending: string[] = [];
  try {
    for await (const chunk of input) {
      if (!gzipped) onBytes(chunk.length);
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const lastBreak = text.lastIndexOf('\n');
      if (lastBreak < 0) {
        pending.push(text);
        continue;
      }
      pending.push(text.slice(0, lastBreak));
      const complete = pending.join('').split('\n');
      pending = [text.slice(lastBreak + 1)];
      for (const line of complete) lines.take(line);
      if (batch.length > 0) {
        yield batch;
        batch = [];
      }
    }
    pending.push(decoder.end());
  } catch (error) {
    const where = gzipped ? 'gzip' : 'file';
    const after = lines.lineNumber > 0 && lines.mode === 'lines' ? ` after line ${lines.lineNumber}` : '';
    report({ source: path, location: where, message: `cannot read${after}: ${(error as Error).message}` });
    if (batch.length > 0) yield batch;
    return;
  }
  const rest = pending.join('');
  if (rest !== '') lines.take(rest);
  lines.finish();
  if (batch.length > 0) yield batch;
}

function recordsOfValueFromText(text: string, source: string, push: RecordSink, report: ProblemSink) {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    report({ source, location: 'file', message: `not valid JSON: ${(error as Error).message}` });
    return;
  }
  recordsOfValue(document, '', source, push, report);
}
