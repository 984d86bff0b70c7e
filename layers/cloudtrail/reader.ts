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
 * - CloudWatch Logs events whose `message` is the record or envelope as JSON text:
 *   a subscription payload `{"logEvents":[...]}`, FilterLogEvents output `{"events":[...]}`,
 *   and the Datadog Forwarder's events from a CloudTrail log group,
 * - exports that renamed fields: Logstash and OTRF Security-Datasets (`@timestamp` for
 *   eventTime), Datadog (`network.client.ip`, `http.useragent` for sourceIPAddress, userAgent),
 * given as files or directories (read recursively, in sorted order).
 *
 * Every record is validated with cloudTrailRecordSchema. One that cannot be read is
 * reported through `onProblem` with the file, where in it, and why; never dropped
 * silently. CloudTrail digest files (which list log files, not records) yield nothing.
 * A file that is not read at all (a CSV; a Parquet, zip or .log file met in a
 * directory) is reported too, as skipped.
 */

/**
 * Something the reader could not turn into a record: which file, where in it, why.
 * Three kinds, told apart by their fields (see problemKind):
 * - one record lost: `recordIndex` is set;
 * - a whole file lost, its records uncounted (broken gzip, not JSON, empty): neither is
 *   set, and the location is `file` or `gzip`;
 * - a file not read because it is no format read here (a CSV): `skipped` is true.
 */
export type ReadProblem = {
  source: string;
  location: string;
  message: string;
  /**
   * The record's position in its file, from 0, counting readable and unreadable
   * records alike (in a log file: its index in `Records`).
   */
  recordIndex?: number;
  /** Set on a file that was passed over, not read: nothing in it was judged. */
  skipped?: true;
};

export type ReadProblemKind = 'record' | 'file' | 'skipped';

/** What a problem cost: one record, a whole file, or a file not read at all. */
export function problemKind(problem: ReadProblem): ReadProblemKind {
  if (problem.skipped) return 'skipped';
  return problem.recordIndex === undefined ? 'file' : 'record';
}

export interface ReadProblemCounts {
  /** Records that could not be read, each named by file and index. */
  readonly records: number;
  /** Files that could not be read at all (their records could not be counted). */
  readonly files: number;
  /** Files passed over: not a format read here. */
  readonly skipped: number;
}

export function countReadProblems(problems: readonly ReadProblem[]): ReadProblemCounts {
  const counts = { records: 0, files: 0, skipped: 0 };
  for (const problem of problems) {
    const kind = problemKind(problem);
    if (kind === 'record') counts.records++;
    else if (kind === 'file') counts.files++;
    else counts.skipped++;
  }
  return counts;
}

/** `5 unreadable record(s), 1 unreadable file(s), 1 file(s) skipped`; the parts that are not zero, or ''. */
export function summarizeReadProblems(problems: readonly ReadProblem[]): string {
  const { records, files, skipped } = countReadProblems(problems);
  const parts: string[] = [];
  if (records > 0) parts.push(`${records} unreadable record(s)`);
  if (files > 0) parts.push(`${files} unreadable file(s)`);
  if (skipped > 0) parts.push(`${skipped} file(s) skipped`);
  return parts.join(', ');
}

/** One problem on one line: `<file> line 3 (record 2): <why>`. */
export function describeReadProblem(problem: ReadProblem): string {
  const index = problem.recordIndex === undefined ? '' : ` (record ${problem.recordIndex})`;
  return `${problem.source} ${problem.location}${index}: ${problem.message}`;
}

export type ReadProgress = { bytesRead: number; bytesTotal: number; records: number };

export interface ReadOptions {
  onProblem?: (problem: ReadProblem) => void;
  /** Called as bytes are read (at most once per chunk read from disk). */
  onProgress?: (progress: ReadProgress) => void;
}

type ProblemSink = (problem: ReadProblem) => void;
type RecordSink = (record: CloudTrailRecord) => void;

/**
 * One file (or text) being read: where its records go, where its problems go, and
 * how many records it has held so far, so that every record-level problem carries
 * the record's index in the file.
 */
interface FileContext {
  readonly source: string;
  readonly push: RecordSink;
  readonly report: ProblemSink;
  nextIndex: number;
}

function fileContext(source: string, push: RecordSink, report: ProblemSink): FileContext {
  return { source, push, report, nextIndex: 0 };
}

/** One record lost: named by where it was and its index in the file. */
function recordProblem(context: FileContext, location: string, message: string) {
  context.report({ source: context.source, location, message, recordIndex: context.nextIndex++ });
}

/** A whole file lost (its records could not be counted). */
function fileProblem(context: FileContext, location: 'file' | 'gzip', message: string) {
  context.report({ source: context.source, location, message });
}

/** Names of files a directory walk reads. */
const DATA_FILE = /\.(json|jsonl|ndjson)(\.gz)?$|\.gz$/i;
/**
 * Data a directory walk meets but does not read: reported as skipped, so that a folder
 * of exports in another format does not read as "0 records" with no word why. Other
 * files (a README, notes) are passed over quietly: they are not records.
 */
const OTHER_DATA_FILE = /\.(parquet|orc|avro|xlsx?|zip|tar|tgz|7z|bz2|xz|zst|log)$/i;
/** CSV is never read, even when named (see CSV_SKIPPED). */
const CSV_FILE = /\.(csv|tsv)(\.gz)?$/i;
/**
 * CSV is skipped rather than read: there is no CloudTrail CSV layout. Each tool writes
 * its own columns, and the ones found publicly lose what scoring needs (OTRF's CSV of
 * anonymous S3 requests, dataset SDAWS-2202181000, writes userIdentity and
 * requestParameters as Python dict text, not JSON, and has no event source or region).
 */
const CSV_SKIPPED =
  'skipped: CSV is not read (CloudTrail has no CSV layout; each tool writes its own columns). ' +
  'Export the records as JSON: CloudTrail log files, LookupEvents output or JSON lines';

/**
 * The deepest nesting a record may have, counting the record as level 1. CloudTrail's
 * own records nest a few levels (the deepest of the 761 in test/data, an EC2
 * RunInstances, has 11); far deeper JSON is not CloudTrail's and would overflow the
 * stack of whatever walks it recursively later (JSON.stringify does, at some
 * thousands of levels).
 */
export const MAX_RECORD_DEPTH = 64;
/** Arrays around records: an array of log files is two; more is no shape of CloudTrail's. */
const MAX_WRAPPER_DEPTH = 8;

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
  const { files, skipped } = await expandPaths(paths);
  for (const problem of skipped) onProblem(problem);
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
  const records: CloudTrailRecord[] = [];
  const context = fileContext(source, (record) => records.push(record), onProblem ?? (() => {}));
  const content = withoutByteOrderMark(text);
  if (content.trim() === '') {
    fileProblem(context, 'file', 'empty: no CloudTrail records');
    return records;
  }
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch (error) {
    readAsLines(content.split('\n'), error as Error, context);
    return records;
  }
  recordsOfValue(document, '', context, 0);
  return records;
}

/**
 * Text that is not one JSON document. If some line after the first is a JSON object
 * on its own, the text is JSON lines whose first line(s) are broken (cut off, a
 * header, a log line): every line is read, and each bad one costs only its record.
 * Otherwise it is a broken document, one problem for the file. A pretty-printed
 * document never holds a whole non-empty object on a line of its own, so it is not
 * taken for lines.
 */
function readAsLines(lines: string[], error: Error, context: FileContext) {
  const first = lines.findIndex((line) => line.trim() !== '');
  if (!lines.some((line, index) => index > first && isObjectLine(line))) {
    fileProblem(context, 'file', `not valid JSON: ${error.message}`);
    return;
  }
  lines.forEach((line, index) => {
    readLine(line, index + 1, context);
  });
}

function isObjectLine(line: string): boolean {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return false;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) && Object.keys(value).length > 0;
  } catch {
    return false;
  }
}

/** Windows tools write a byte order mark, which JSON.parse rejects. */
function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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
  const context = fileContext(source, (record) => found.push(record), onProblem);
  records.forEach((item, index) => {
    toRecord(item, `Records[${index}]`, context);
  });
  return found;
}

function readLine(line: string, lineNumber: number, context: FileContext) {
  if (line.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    recordProblem(context, `line ${lineNumber}`, `not valid JSON: ${(error as Error).message}`);
    return;
  }
  recordsOfValue(value, `line ${lineNumber}`, context, 0);
}

const at = (location: string, suffix: string) => (location ? `${location} ${suffix}` : suffix);

/**
 * Finds the records in one parsed value, whatever its shape. `depth` counts the
 * wrappers around it (arrays, envelopes, JSON text in a field), so that a value
 * nested without end is a problem, not a stack overflow.
 */
function recordsOfValue(value: unknown, location: string, context: FileContext, depth: number) {
  if (depth > MAX_WRAPPER_DEPTH) {
    recordProblem(
      context,
      location || 'document',
      `nested more than ${MAX_WRAPPER_DEPTH} wrappers deep: no shape CloudTrail records are kept in`,
    );
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      recordsOfValue(item, `${location}[${index}]`, context, depth + 1);
    });
    return;
  }
  if (value === null || typeof value !== 'object') {
    recordProblem(context, location || 'document', `expected a CloudTrail record, got ${describe(value)}`);
    return;
  }
  const object = value as Record<string, unknown>;
  if (Array.isArray(object.Records)) {
    object.Records.forEach((item, index) => {
      toRecord(item, at(location, `Records[${index}]`), context);
    });
    return;
  }
  if (Array.isArray(object.Events)) {
    object.Events.forEach((item, index) => {
      jsonTextField(item, 'CloudTrailEvent', at(location, `Events[${index}]`), context, depth);
    });
    return;
  }
  if ('CloudTrailEvent' in object) {
    jsonTextField(object, 'CloudTrailEvent', location || 'document', context, depth);
    return;
  }
  // CloudWatch Logs: a subscription's payload, or FilterLogEvents/GetLogEvents output.
  const logEvents = Array.isArray(object.logEvents) ? object.logEvents : object.events;
  if (Array.isArray(logEvents) && !('eventName' in object)) {
    const field = Array.isArray(object.logEvents) ? 'logEvents' : 'events';
    logEvents.forEach((item, index) => {
      jsonTextField(item, 'message', at(location, `${field}[${index}]`), context, depth);
    });
    return;
  }
  // A digest file lists log files and their hashes: no records in it, nothing lost.
  if ('digestStartTime' in object && Array.isArray(object.logFiles)) return;
  if (isObject(object.detail) && ('detail-type' in object || 'source' in object)) {
    toRecord(object.detail, at(location, 'detail'), context);
    return;
  }
  // Panther's rule tests: the record under `event`, next to the rule id and test name.
  if (isObject(object.event) && !('eventName' in object)) {
    toRecord(object.event, at(location, 'event'), context);
    return;
  }
  // One CloudWatch Logs event (as the Datadog Forwarder sends a CloudTrail log group's):
  // the record, or its EventBridge envelope, as JSON text in `message`.
  if (typeof object.message === 'string' && !('eventName' in object)) {
    jsonTextField(object, 'message', location || 'document', context, depth);
    return;
  }
  toRecord(object, location || 'document', context);
}

/** A record (or envelope) kept as JSON text in a field: LookupEvents' CloudTrailEvent, a log event's message. */
function jsonTextField(item: unknown, field: string, location: string, context: FileContext, depth: number) {
  const text = isObject(item) ? item[field] : undefined;
  if (typeof text !== 'string') {
    const holder = field === 'CloudTrailEvent' ? 'LookupEvents event' : 'log event';
    recordProblem(context, location, `${holder} without a ${field} string`);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    recordProblem(context, location, `${field} is not valid JSON: ${(error as Error).message}`);
    return;
  }
  if (field === 'CloudTrailEvent') toRecord(parsed, `${location} ${field}`, context);
  else recordsOfValue(parsed, `${location} ${field}`, context, depth + 1);
}

function toRecord(value: unknown, location: string, context: FileContext) {
  if (!isObject(value)) {
    recordProblem(context, location, `expected a CloudTrail record, got ${describe(value)}`);
    return;
  }
  if (nestedDeeperThan(value, MAX_RECORD_DEPTH)) {
    recordProblem(
      context,
      location,
      `not a CloudTrail record: JSON nested more than ${MAX_RECORD_DEPTH} levels deep`,
    );
    return;
  }
  const result = cloudTrailRecordSchema.safeParse(normalized(withoutPantherFields(value)));
  if (result.success) {
    // Every consumer windows, sorts or matches on the time: a record without one is unreadable.
    if (parseEventTime(result.data.eventTime) === undefined) {
      recordProblem(
        context,
        location,
        `not a CloudTrail record: eventTime: not a date from 1970 to 9999 (${JSON.stringify(result.data.eventTime.slice(0, 40))})`,
      );
      return;
    }
    context.nextIndex++;
    context.push(result.data);
    return;
  }
  const reasons = issueLines(result.error, { root: 'record' });
  recordProblem(context, location, `not a CloudTrail record: ${reasons.join('; ')}`);
}

/**
 * Whether a parsed value nests deeper than `limit` objects and arrays. Written here
 * rather than taken from a library because it is a dozen lines that must not recurse
 * (the point is to survive any depth) and must be cheap enough to run on every
 * record: V8's JSON.parse itself is not recursive and parses any depth, so checking
 * the parsed value keeps the native parser, where a depth-limited streaming parser
 * would replace it with a several times slower one.
 */
function nestedDeeperThan(value: object, limit: number): boolean {
  const pending: unknown[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const item = pending.pop() as object;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(item)) {
      for (const child of item) {
        if (child !== null && typeof child === 'object') {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in item) {
        const child = (item as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
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
 * Spellings that other tools give the same fact, brought back to CloudTrail's own so
 * that validation judges content, not spelling. Copies only when something changes.
 * - Panther and Athena exports write booleans as "True", sessionCredentialFromConsole
 *   as a boolean, absent fields as null.
 * - Logstash (and so OTRF Security-Datasets, exported through it) moves eventTime to
 *   `@timestamp`. Where both are present eventTime is kept: `@timestamp` is then
 *   often the time of ingestion.
 * - Datadog's CloudTrail pipeline moves sourceIPAddress to `network.client.ip` and
 *   userAgent to `http.useragent` (its standard attributes), nested or as dotted keys.
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
  if (record.eventTime == null && typeof record['@timestamp'] === 'string') {
    set('eventTime', record['@timestamp']);
  }
  if (record.sourceIPAddress == null) {
    const address = stringAt(record, 'network', 'client', 'ip');
    if (address !== undefined) set('sourceIPAddress', address);
  }
  if (record.userAgent == null) {
    const agent = stringAt(record, 'http', 'useragent');
    if (agent !== undefined) set('userAgent', agent);
  }
  return copy ?? record;
}

/** A string under a path of keys, nested (`{"network":{"client":{"ip":...}}}`) or dotted (`"network.client.ip"`). */
function stringAt(record: Record<string, unknown>, ...path: string[]): string | undefined {
  const dotted = record[path.join('.')];
  if (typeof dotted === 'string') return dotted;
  let value: unknown = record;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return typeof value === 'string' ? value : undefined;
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

interface ExpandedPaths {
  files: FileEntry[];
  /** Files passed over, as problems: CSV anywhere, data files of other formats met in a directory. */
  skipped: ReadProblem[];
}

/** Files named, and data files under directories named (recursively, sorted by name). */
async function expandPaths(paths: string[]): Promise<ExpandedPaths> {
  const found: ExpandedPaths = { files: [], skipped: [] };
  for (const path of paths) {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot read ${path}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`,
      );
    });
    if (info.isDirectory()) await walk(path, found);
    else if (CSV_FILE.test(path)) found.skipped.push(skippedFile(path, CSV_SKIPPED));
    else found.files.push({ path, size: info.size });
  }
  return found;
}

function skippedFile(path: string, message: string): ReadProblem {
  return { source: path, location: 'file', message, skipped: true };
}

async function walk(directory: string, found: ExpandedPaths): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) await walk(path, found);
    else if (CSV_FILE.test(entry.name)) found.skipped.push(skippedFile(path, CSV_SKIPPED));
    else if (DATA_FILE.test(entry.name)) found.files.push({ path, size: (await stat(path)).size });
    else if (OTHER_DATA_FILE.test(entry.name))
      found.skipped.push(
        skippedFile(path, 'skipped: not a .json, .jsonl, .ndjson or .gz file (name it to read it anyway)'),
      );
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
 * otherwise it is one document spread over lines, parsed at the end (and read as
 * JSON lines after all if it does not parse but its later lines do: see readAsLines).
 */
class FileLines {
  mode: 'unknown' | 'lines' | 'document' = 'unknown';
  lineNumber = 0;
  private readonly documentParts: string[] = [];
  private readonly context: FileContext;

  constructor(source: string, push: RecordSink, report: ProblemSink) {
    this.context = fileContext(source, push, report);
  }

  take(text: string): void {
    this.lineNumber++;
    const line = this.lineNumber === 1 ? withoutByteOrderMark(text) : text;
    if (this.mode === 'document') {
      this.documentParts.push(line);
      return;
    }
    if (this.mode === 'unknown') {
      if (line.trim() === '') {
        this.documentParts.push(line);
        return;
      }
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
      this.documentParts.length = 0;
      recordsOfValue(value, `line ${this.lineNumber}`, this.context, 0);
      return;
    }
    readLine(line, this.lineNumber, this.context);
  }

  finish(): void {
    if (this.mode === 'unknown') {
      fileProblem(this.context, 'file', 'empty: no CloudTrail records');
    } else if (this.mode === 'document') {
      let document: unknown;
      try {
        document = JSON.parse(this.documentParts.join('\n'));
      } catch (error) {
        readAsLines(this.documentParts, error as Error, this.context);
        return;
      }
      recordsOfValue(document, '', this.context, 0);
    }
  }

  /** A read that failed part way (broken gzip, disk error): the rest of the file is lost, uncounted. */
  fail(location: 'file' | 'gzip', message: string): void {
    fileProblem(this.context, location, message);
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
    lines.fail(where, `cannot read${after}: ${(error as Error).message}`);
    if (batch.length > 0) yield batch;
    return;
  }
  const rest = pending.join('');
  if (rest !== '') lines.take(rest);
  lines.finish();
  if (batch.length > 0) yield batch;
}
