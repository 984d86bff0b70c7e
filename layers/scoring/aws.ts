import {
  type CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { logFileText, recordsFromText, UnreadableLogFileError } from '../cloudtrail/reader';
import type { Severity } from '../config/vocabulary';
import { type WindowJson, windowFromJson, windowToJson } from '../features';
import { issueLines } from '../runtime/issues';
import type { CallTrace } from '../verdicts/trace';
import { type Label, labelSchema } from './labels';
import type {
  HistoryRange,
  HistorySource,
  LabelStore,
  LogObjectRef,
  LogObjectSource,
  ModelStore,
  StoredWindow,
  TrainingStatus,
  WindowStore,
} from './ports';

/** The AWS adapters of the scoring ports: S3 (model bucket, trail bucket), CloudTrail LookupEvents, DynamoDB. */

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function describeError(error: unknown, what: string): Error {
  const e = error as { name?: string; message?: string };
  return new Error(`${what}: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
}

/** Keys in the model bucket. Neutral names: the bucket's listing is visible to ReadOnlyAccess. */
export const MODEL_KEYS = {
  model: 'models/activity/current.json',
  status: 'models/activity/status.json',
  labelsPrefix: 'feedback/',
} as const;

export class S3ModelStore implements ModelStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async getModel(): Promise<{ text: string; version: string } | undefined> {
    try {
      const result = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: MODEL_KEYS.model }));
      const text = (await result.Body?.transformToString('utf-8')) ?? '';
      return { text, version: result.VersionId ?? result.ETag ?? '' };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw describeError(error, `GetObject s3://${this.bucket}/${MODEL_KEYS.model}`);
    }
  }

  async modelVersion(): Promise<string | undefined> {
    try {
      const result = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: MODEL_KEYS.model }),
      );
      return result.VersionId ?? result.ETag ?? '';
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw describeError(error, `HeadObject s3://${this.bucket}/${MODEL_KEYS.model}`);
    }
  }

  async putModel(text: string): Promise<void> {
    await this.put(MODEL_KEYS.model, text);
  }

  async getStatus(): Promise<TrainingStatus | undefined> {
    try {
      const result = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: MODEL_KEYS.status }),
      );
      return JSON.parse((await result.Body?.transformToString('utf-8')) ?? '{}') as TrainingStatus;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw describeError(error, `GetObject s3://${this.bucket}/${MODEL_KEYS.status}`);
    }
  }

  async putStatus(status: TrainingStatus): Promise<void> {
    await this.put(MODEL_KEYS.status, JSON.stringify(status));
  }

  private async put(key: string, body: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
    } catch (error) {
      throw describeError(error, `PutObject s3://${this.bucket}/${key}`);
    }
  }
}

/** Labels as one small object each under `feedback/` in the model bucket. */
export class S3LabelStore implements LabelStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly onProblem: (key: string, message: string) => void = () => {},
  ) {}

  async list(): Promise<Label[]> {
    const labels: Label[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: MODEL_KEYS.labelsPrefix,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        const result = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: object.Key }));
        const text = (await result.Body?.transformToString('utf-8')) ?? '';
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (error) {
          this.onProblem(object.Key, `not JSON: ${(error as Error).message}`);
          continue;
        }
        const parsed = labelSchema.safeParse(json);
        if (parsed.success) labels.push(parsed.data);
        else this.onProblem(object.Key, issueLines(parsed.error).join('; '));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return labels;
  }

  async put(label: Label): Promise<void> {
    const key = `${MODEL_KEYS.labelsPrefix}${label.findingId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`;
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(label),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw describeError(error, `PutObject s3://${this.bucket}/${key}`);
    }
  }
}

/**
 * A delivered CloudTrail log file, gunzipped. An S3 error and a file whose gzip is
 * broken both throw, but the second as UnreadableLogFileError: retrying it cannot help.
 */
export class S3LogObjects implements LogObjectSource {
  constructor(private readonly s3: S3Client) {}

  async getText(ref: LogObjectRef): Promise<string> {
    let bytes: Uint8Array;
    try {
      const result = await this.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
      bytes = (await result.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      throw describeError(error, `GetObject s3://${ref.bucket}/${ref.key}`);
    }
    return logFileText(bytes, `s3://${ref.bucket}/${ref.key}`);
  }
}

const day = (date: Date) =>
  `${date.getUTCFullYear()}/${String(date.getUTCMonth() + 1).padStart(2, '0')}/${String(date.getUTCDate()).padStart(2, '0')}/`;

/**
 * The trail's log files: AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/,
 * or AWSLogs/<org id>/<account>/... for an organization trail. Accounts and regions
 * are discovered by listing, days are listed one by one, files read in key order.
 */
export class S3TrailHistory implements HistorySource {
  readonly description: string;
  private readonly logs: S3LogObjects;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.description = `s3://${bucket}/AWSLogs/`;
    this.logs = new S3LogObjects(s3);
  }

  async read(
    range: HistoryRange,
    onRecord: Parameters<HistorySource['read']>[1],
    options: Parameters<HistorySource['read']>[2],
  ): Promise<{ truncated: boolean }> {
    const startMs = range.start.getTime();
    const endMs = range.end.getTime();
    for (const regionPrefix of await this.regionPrefixes()) {
      for (
        let t = Date.UTC(range.start.getUTCFullYear(), range.start.getUTCMonth(), range.start.getUTCDate());
        t <= endMs;
        t += 86_400_000
      ) {
        for (const key of await this.list(`${regionPrefix}${day(new Date(t))}`, 'keys')) {
          if (options.shouldStop()) return { truncated: true };
          const source = `s3://${this.bucket}/${key}`;
          let text: string;
          try {
            text = await this.logs.getText({ bucket: this.bucket, key });
          } catch (error) {
            // One broken file among weeks of history is a reading problem, not a failed training.
            if (!(error instanceof UnreadableLogFileError)) throw error;
            options.onProblem({ source, location: 'file', message: error.reason });
            continue;
          }
          for (const record of recordsFromText(text, source, options.onProblem)) {
            const time = Date.parse(record.eventTime);
            if (time >= startMs && time < endMs) onRecord(record);
          }
        }
      }
    }
    return { truncated: false };
  }

  /** Every object key under `prefix`, or its sub-prefixes (one level, `/`-delimited), sorted. */
  private async list(prefix: string, what: 'keys' | 'children'): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(what === 'children' && { Delimiter: '/' }),
          ContinuationToken: token,
        }),
      );
      const names =
        what === 'children'
          ? (page.CommonPrefixes ?? []).map((common) => common.Prefix)
          : (page.Contents ?? []).map((object) => object.Key);
      for (const name of names) if (name) found.push(name);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort();
  }

  private async regionPrefixes(): Promise<string[]> {
    const accounts: string[] = [];
    for (const top of await this.list('AWSLogs/', 'children')) {
      const name = top.slice('AWSLogs/'.length, -1);
      if (/^o-[a-z0-9]+$/.test(name)) accounts.push(...(await this.list(top, 'children')));
      else accounts.push(top);
    }
    const regions: string[] = [];
    for (const account of accounts) regions.push(...(await this.list(`${account}CloudTrail/`, 'children')));
    return regions;
  }
}

/**
 * LookupEvents, for an account whose trail has no bucket we can read: management
 * events of the last 90 days, one region per client, 50 a page at 2 requests a
 * second (the SDK's retries absorb throttling), so a large history is cut short by
 * the time budget rather than read whole.
 */
export class LookupEventsHistory implements HistorySource {
  readonly description: string;

  constructor(private readonly clients: ReadonlyMap<string, CloudTrailClient>) {
    this.description = `LookupEvents in ${[...clients.keys()].join(', ')}`;
  }

  async read(
    range: HistoryRange,
    onRecord: Parameters<HistorySource['read']>[1],
    options: Parameters<HistorySource['read']>[2],
  ): Promise<{ truncated: boolean }> {
    for (const [region, client] of this.clients) {
      let token: string | undefined;
      do {
        if (options.shouldStop()) return { truncated: true };
        let page: LookupEventsCommandOutput;
        try {
          page = await client.send(
            new LookupEventsCommand({
              StartTime: range.start,
              EndTime: range.end,
              MaxResults: 50,
              NextToken: token,
            }),
          );
        } catch (error) {
          throw describeError(error, `LookupEvents in ${region}`);
        }
        const text = JSON.stringify({ Events: page.Events ?? [] });
        for (const record of recordsFromText(text, `LookupEvents ${region}`, options.onProblem))
          onRecord(record);
        token = page.NextToken;
      } while (token);
    }
    return { truncated: false };
  }
}

interface WindowItem {
  pk: string;
  sk: string;
  window: string;
  sources: string[];
  /** The window's calls for the verdicts, as JSON text (one attribute, not a nested list of maps). */
  calls?: string;
  reportedAt?: string;
  reportedSeverity?: Severity;
  version: number;
  expiresAt: number;
}

/** Principal-windows in the state table: pk `activity#<principal key>`, sk the window start (ms). */
export class DynamoWindowStore implements WindowStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(principalKey: string, windowStart: number) {
    return { pk: `activity#${principalKey}`, sk: String(windowStart) };
  }

  async load(principalKey: string, windowStart: number): Promise<StoredWindow | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(principalKey, windowStart),
        ConsistentRead: true,
      }),
    );
    const item = result.Item as WindowItem | undefined;
    if (!item) return undefined;
    return {
      window: windowFromJson(JSON.parse(item.window) as WindowJson),
      sources: item.sources ?? [],
      ...(item.calls && { traces: JSON.parse(item.calls) as CallTrace[] }),
      ...(item.reportedAt && { reportedAt: item.reportedAt }),
      ...(item.reportedSeverity && { reportedSeverity: item.reportedSeverity }),
      version: item.version,
    };
  }

  async save(stored: StoredWindow, expectedVersion: number, expiresAt: number): Promise<boolean> {
    const item: WindowItem = {
      ...this.key(stored.window.principal.key, stored.window.windowStart),
      window: JSON.stringify(windowToJson(stored.window)),
      sources: [...stored.sources],
      ...(stored.traces && { calls: JSON.stringify(stored.traces) }),
      ...(stored.reportedAt && { reportedAt: stored.reportedAt }),
      ...(stored.reportedSeverity && { reportedSeverity: stored.reportedSeverity }),
      version: stored.version,
      expiresAt: Math.floor(expiresAt / 1000),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw describeError(error, `PutItem ${item.pk} ${item.sk}`);
    }
  }
}
