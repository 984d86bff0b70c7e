import * as z from 'zod';
import { UnreadableLogFileError } from '../cloudtrail/reader';
import { issueLines } from '../runtime/issues';
import { FINDING_LABELLED_DETAIL_TYPE } from './labels';
import type { LabelStore, LogObjectRef, TrainingStatus } from './ports';
import {
  type Log,
  runTraining,
  type ScoreOutcome,
  type ScoringDeps,
  scoreLogObject,
  storeLabel,
  type TrainingDeps,
} from './service';

/**
 * The events the two functions receive, parsed at the boundary:
 * - the scorer: SQS batches whose bodies are S3 "object created" notifications of
 *   the trail bucket (partial batch failure: only the failed messages come back);
 * - the trainer: its schedule, and "Finding Labelled" events from the central bus.
 */

const sqsEventSchema = z.object({
  Records: z.array(
    z.object({
      messageId: z.string(),
      body: z.string(),
    }),
  ),
});

const s3NotificationSchema = z.object({
  Records: z
    .array(
      z.object({
        eventName: z.string().optional(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({
            key: z.string(),
            versionId: z.string().optional(),
            sequencer: z.string().optional(),
          }),
        }),
      }),
    )
    .optional(),
  /** S3 sends `{"Event":"s3:TestEvent"}` once when the notification is configured. */
  Event: z.string().optional(),
});

/** The log files one SQS message announces (none for S3's test event). Throws naming what is wrong. */
export function logObjectsOf(body: string): LogObjectRef[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new Error(`message body is not JSON: ${(error as Error).message}`);
  }
  const parsed = s3NotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`message body is not an S3 notification: ${issueLines(parsed.error).join('; ')}`);
  }
  if (parsed.data.Event === 's3:TestEvent') return [];
  return (parsed.data.Records ?? [])
    .filter((record) => !record.eventName || record.eventName.startsWith('ObjectCreated'))
    .map((record) => ({
      bucket: record.s3.bucket.name,
      // S3 URL-encodes keys in notifications, spaces as '+'.
      key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')),
      ...((record.s3.object.versionId ?? record.s3.object.sequencer) && {
        version: record.s3.object.versionId ?? record.s3.object.sequencer,
      }),
    }));
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * Scores every log file of a batch. A message that fails (unreadable body, S3 or
 * DynamoDB error, publish failure, a log file that cannot be read) is reported back
 * alone; SQS redelivers it and, after the queue's maxReceiveCount, moves it to the
 * dead-letter queue. A log file that cannot be read is never scored in part nor
 * taken as done: it is named, counted (UnreadableLogFiles) and fails its message,
 * so a file still being written is read again and a broken one is kept.
 */
export async function processScoringBatch(event: unknown, deps: ScoringDeps): Promise<BatchResult> {
  const batch = sqsEventSchema.safeParse(event);
  if (!batch.success)
    throw new Error(`not an SQS event: ${batch.error.issues[0]?.message ?? 'unknown shape'}`);
  const failures: { itemIdentifier: string }[] = [];
  for (const message of batch.data.Records) {
    let current: LogObjectRef | undefined;
    try {
      for (const ref of logObjectsOf(message.body)) {
        current = ref;
        const outcome: ScoreOutcome = await scoreLogObject(ref, deps);
        deps.log.info('scored log file', { key: ref.key, ...outcome, findings: outcome.findings.length });
      }
    } catch (error) {
      if (error instanceof UnreadableLogFileError) {
        deps.log.error(
          'log file unreadable; its message will be retried, then kept in the dead-letter queue',
          {
            messageId: message.messageId,
            bucket: current?.bucket,
            key: current?.key,
            reason: error.reason,
          },
        );
        deps.count('UnreadableLogFiles');
      } else {
        deps.log.error('message failed; it will be retried', {
          messageId: message.messageId,
          error: (error as Error).message,
        });
      }
      deps.count('MessagesFailed');
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures: failures };
}

const labelEventSchema = z.object({
  'detail-type': z.literal(FINDING_LABELLED_DETAIL_TYPE),
  time: z.string(),
  detail: z.unknown(),
});

/** The input the schedule sends (a constant; the rule's target input). */
export const TRAINING_JOB_INPUT = { job: 'rebuild-baselines' } as const;

export type TrainingEventResult =
  | { kind: 'trained'; status: TrainingStatus }
  | { kind: 'label-stored'; findingId: string };

/** The training function's event: its schedule, or a label. Anything else is an error naming it. */
export async function processTrainingEvent(
  event: unknown,
  deps: TrainingDeps & { labels: LabelStore; log: Log },
): Promise<TrainingEventResult> {
  const labelEvent = labelEventSchema.safeParse(event);
  if (labelEvent.success) {
    const label = await storeLabel(labelEvent.data.detail, labelEvent.data.time, deps.labels);
    deps.log.info('label stored', { findingId: label.findingId, label: label.label });
    deps.count('LabelsStored');
    return { kind: 'label-stored', findingId: label.findingId };
  }
  const isSchedule =
    (event as { job?: unknown })?.job === TRAINING_JOB_INPUT.job ||
    (event as { 'detail-type'?: unknown })?.['detail-type'] === 'Scheduled Event';
  if (!isSchedule) {
    const shape =
      event && typeof event === 'object' ? Object.keys(event).slice(0, 6).join(', ') : typeof event;
    throw new Error(
      `unexpected event (keys: ${shape}): expected the schedule or a "${FINDING_LABELLED_DETAIL_TYPE}" event`,
    );
  }
  return { kind: 'trained', status: await runTraining(deps) };
}
