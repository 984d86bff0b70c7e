import * as z from 'zod';

/**
 * A CloudTrail record as found in log files, LookupEvents' CloudTrailEvent and
 * EventBridge's `detail`. Loose on purpose: CloudTrail adds fields over time and
 * leaves many out (requestParameters is null on a denied call), so only what the
 * code reads is typed and everything else passes through.
 */
export const userIdentitySchema = z
  .object({
    type: z.string().optional(),
    principalId: z.string().optional(),
    arn: z.string().optional(),
    accountId: z.string().optional(),
    accessKeyId: z.string().optional(),
    userName: z.string().optional(),
    invokedBy: z.string().optional(),
    sessionContext: z
      .object({
        sessionIssuer: z
          .object({
            type: z.string().optional(),
            principalId: z.string().optional(),
            arn: z.string().optional(),
            accountId: z.string().optional(),
            userName: z.string().optional(),
          })
          .passthrough()
          .optional(),
        attributes: z.record(z.string(), z.unknown()).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export const cloudTrailRecordSchema = z
  .object({
    eventVersion: z.string().optional(),
    userIdentity: userIdentitySchema.optional(),
    eventTime: z.string(),
    eventSource: z.string(),
    eventName: z.string(),
    awsRegion: z.string(),
    sourceIPAddress: z.string().optional(),
    userAgent: z.string().optional(),
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
    requestParameters: z.record(z.string(), z.unknown()).nullable().optional(),
    responseElements: z.unknown().optional(),
    additionalEventData: z.record(z.string(), z.unknown()).nullable().optional(),
    requestID: z.string().optional(),
    eventID: z.string().optional(),
    readOnly: z.boolean().optional(),
    resources: z
      .array(
        z
          .object({
            ARN: z.string().optional(),
            accountId: z.string().optional(),
            type: z.string().optional(),
          })
          .passthrough(),
      )
      .optional(),
    eventType: z.string().optional(),
    managementEvent: z.boolean().optional(),
    recipientAccountId: z.string().optional(),
    eventCategory: z.string().optional(),
    sessionCredentialFromConsole: z.string().optional(),
  })
  .passthrough();

export type CloudTrailRecord = z.infer<typeof cloudTrailRecordSchema>;

/**
 * The event times accepted: four-digit years from 1970. A time JavaScript parses
 * but that lies outside (`+275760-09-13T00:00:00Z`, the last date it can hold)
 * breaks window arithmetic and date formatting downstream, so it is no time at all.
 */
const EARLIEST_EVENT_TIME = Date.UTC(1970, 0, 1);
const LATEST_EVENT_TIME = Date.UTC(10_000, 0, 1);

/**
 * An event time in milliseconds, or undefined when it is not a date in the
 * accepted range. CloudTrail writes `2024-08-01T15:26:57Z`; exports and rule
 * fixtures also carry `2025-02-14 19:43:09.000000000` (space, nanoseconds, no
 * zone: UTC).
 */
export function parseEventTime(text: string): number | undefined {
  const time = parseTime(text);
  return time !== undefined && time >= EARLIEST_EVENT_TIME && time < LATEST_EVENT_TIME ? time : undefined;
}

function parseTime(text: string): number | undefined {
  const direct = Date.parse(text);
  if (!Number.isNaN(direct) && /Z$|[+-]\d\d:?\d\d$/.test(text)) return direct;
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!match) return Number.isNaN(direct) ? undefined : direct;
  const fraction = match[3] ? match[3].slice(0, 4) : '';
  const parsed = Date.parse(`${match[1]}T${match[2]}${fraction}${match[4] ?? 'Z'}`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/**
 * The EventBridge envelope of a CloudTrail record ("AWS API Call via CloudTrail",
 * and for read-only events "AWS API Call via CloudTrail" too, since Nov 2023).
 */
export const cloudTrailEnvelopeSchema = z
  .object({
    version: z.string().optional(),
    id: z.string(),
    'detail-type': z.string(),
    source: z.string(),
    account: z.string(),
    time: z.string(),
    region: z.string(),
    resources: z.array(z.string()).optional(),
    detail: cloudTrailRecordSchema,
  })
  .passthrough();

export type CloudTrailEnvelope = z.infer<typeof cloudTrailEnvelopeSchema>;

/** Wraps a record the way EventBridge does, for tests, replay and the drill. */
export function toEnvelope(record: CloudTrailRecord, id?: string): CloudTrailEnvelope {
  const account = record.recipientAccountId ?? record.userIdentity?.accountId ?? '000000000000';
  const isConsoleSignIn = record.eventName === 'ConsoleLogin';
  return {
    version: '0',
    id: id ?? record.eventID ?? `${record.eventTime}-${record.eventName}`,
    'detail-type': isConsoleSignIn ? 'AWS Console Sign In via CloudTrail' : 'AWS API Call via CloudTrail',
    source: `aws.${record.eventSource.split('.')[0]}`,
    account,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
