import {
  type CloudTrailEnvelope,
  type CloudTrailRecord,
  cloudTrailEnvelopeSchema,
  parseEventTime,
} from '../cloudtrail/record';
import { FINDING_SCHEMA_VERSION, type Finding, findingId } from '../findings/finding';
import type { FindingSink } from '../findings/publish';
import { issueLines } from '../runtime/issues';
import type { Allowlist } from './allowlist';
import { type ClassifyContext, classifyRecord, type IgnoreReason, type Touch } from './classify';
import type { DecoyIndex } from './decoy-index';
import { touchCategories } from './severity';
import type { TouchStore, TouchWindow } from './store';

/**
 * The touch function's logic, with its state, sink and clock as arguments: the
 * Lambda wires DynamoDB, SNS/EventBridge/Security Hub and the real clock; replay
 * and the tests wire memory.
 */

/** EventBridge's own limit on an event: anything larger did not come from it. */
export const MAX_EVENT_BYTES = 256 * 1024;

// Replay and the tests read event times the way the touch function does.
export { parseEventTime };

export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}
export class OversizedEventError extends Error {
  override readonly name = 'OversizedEventError';
}

export interface ParsedEvent {
  envelope: CloudTrailEnvelope;
  record: CloudTrailRecord;
  /** What makes two deliveries "the same": the CloudTrail event id, else the envelope id. */
  deliveryId: string;
}

/**
 * What a CloudTrail event on the bus must also be: from an AWS service (`aws.*`,
 * a source that PutEvents cannot use, so a forged event is refused here too) and
 * dated, on the envelope and in the record. A finding is dated by the call, never
 * by when it was processed.
 */
const touchEventSchema = cloudTrailEnvelopeSchema.superRefine((event, context) => {
  if (!event.source.startsWith('aws.')) {
    context.addIssue({
      code: 'custom',
      path: ['source'],
      message: `expected an AWS service source (aws.*), got ${JSON.stringify(event.source.slice(0, 60))}`,
    });
  }
  const times: [PropertyKey[], string][] = [
    [['time'], event.time],
    [['detail', 'eventTime'], event.detail.eventTime],
  ];
  for (const [path, text] of times) {
    if (parseEventTime(text) !== undefined) continue;
    context.addIssue({
      code: 'custom',
      path,
      message: `expected a date from 1970 to 9999, got ${JSON.stringify(text.slice(0, 40))}`,
    });
  }
});

/**
 * Parses what EventBridge hands the function. A wrong shape or size, a source
 * other than an AWS service, or a time that is not a date throws an error naming
 * what is wrong, so that the invocation fails and the event goes to the
 * dead-letter queue instead of vanishing.
 */
export function parseTouchEvent(raw: unknown): ParsedEvent {
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(raw) ?? '', 'utf8');
  } catch (error) {
    throw new MalformedEventError(`event is not JSON-serializable: ${(error as Error).message}`);
  }
  if (size > MAX_EVENT_BYTES) {
    throw new OversizedEventError(
      `event of ${size} bytes is over EventBridge's ${MAX_EVENT_BYTES}-byte limit`,
    );
  }
  const parsed = touchEventSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = issueLines(parsed.error, { prefix: ['event'] });
    throw new MalformedEventError(`not a CloudTrail event from EventBridge: ${problems.join('; ')}`);
  }
  const envelope = parsed.data;
  return { envelope, record: envelope.detail, deliveryId: envelope.detail.eventID ?? envelope.id };
}

export interface TouchSettings {
  context: ClassifyContext;
  windowMinutes: number;
  allowlist: Allowlist;
  /** How long a claimed alert stays claimed if its invocation dies before publishing. */
  alertLeaseMs?: number;
}

export type TouchMetric =
  | 'MatchedCalls'
  | 'Findings'
  | 'Duplicates'
  | 'Allowlisted'
  | 'Ignored'
  | 'MalformedEvents'
  | 'OversizedEvents'
  | 'PublishFailures';

export interface TouchDependencies {
  store: TouchStore;
  sink: FindingSink;
  now: () => number;
  count?: (metric: TouchMetric, value?: number) => void;
}

export type TouchResult = 'alerted' | 'counted' | 'duplicate' | 'allowlisted' | 'pending';

export interface TouchOutcome {
  /** The call as classified (deployed property names avoid the purpose word). */
  match: Touch;
  result: TouchResult;
  findingId?: string;
}

export interface RecordOutcome {
  ignored?: IgnoreReason;
  outcomes: TouchOutcome[];
}

const DEFAULT_LEASE_MS = 2 * 60_000;

/** Classifies one record and raises, counts or drops each touch in it. */
export async function processRecord(
  record: CloudTrailRecord,
  deliveryId: string,
  index: DecoyIndex,
  settings: TouchSettings,
  deps: TouchDependencies,
): Promise<RecordOutcome> {
  const eventTime = parseEventTime(record.eventTime);
  // parseTouchEvent and the reader refuse such records first; a finding is never dated by the clock instead.
  if (eventTime === undefined) {
    throw new MalformedEventError(
      `detail.eventTime: expected a date from 1970 to 9999, got ${JSON.stringify(record.eventTime.slice(0, 40))}`,
    );
  }
  const classification = classifyRecord(record, index, settings.context);
  if (classification.ignored) {
    deps.count?.('Ignored');
    return { ignored: classification.ignored, outcomes: [] };
  }
  const outcomes: TouchOutcome[] = [];
  for (const touch of classification.matches)
    outcomes.push(await processTouch(touch, eventTime, deliveryId, settings, deps));
  return { outcomes };
}

async function processTouch(
  touch: Touch,
  eventTime: number,
  deliveryId: string,
  settings: TouchSettings,
  deps: TouchDependencies,
): Promise<TouchOutcome> {
  if (settings.allowlist(touch)) {
    deps.count?.('Allowlisted');
    return { match: touch, result: 'allowlisted' };
  }
  deps.count?.('MatchedCalls');
  const now = deps.now();
  if (touch.category === 'key-use' && touch.actor.accessKeyId) {
    await deps.store.recordKeyUse(touch.actor.accessKeyId, eventTime);
  }
  const subjectKey = findingId([touch.kind, touch.actor.arn, touch.resource.kind, touch.resource.name]);
  const { status, window } = await deps.store.record({
    subjectKey,
    deliveryKey: `${deliveryId}\u0000${subjectKey}`,
    openingFindingId: findingId([subjectKey, eventTime]),
    eventTime,
    windowMs: settings.windowMinutes * 60_000,
    eventName: touch.eventName,
    eventId: touch.eventId,
    outcome: touch.outcome,
    severity: touch.severity,
    now,
  });
  if (status === 'duplicate') deps.count?.('Duplicates');

  if (window.alerted) {
    if (status === 'counted') await deps.store.updateAudit(findingOf(window, touch));
    return {
      match: touch,
      result: status === 'duplicate' ? 'duplicate' : 'counted',
      findingId: window.findingId,
    };
  }
  // Not alerted yet: the first touch of the window, or a retry of one whose publish failed.
  if (
    !(await deps.store.claimAlert(
      subjectKey,
      window.findingId,
      now,
      settings.alertLeaseMs ?? DEFAULT_LEASE_MS,
    ))
  ) {
    return { match: touch, result: 'pending', findingId: window.findingId };
  }
  const finding = findingOf(window, touch);
  try {
    await deps.sink.publish(finding);
  } catch (error) {
    deps.count?.('PublishFailures');
    await deps.store.releaseAlert(subjectKey, window.findingId);
    throw error;
  }
  await deps.store.completeAlert(subjectKey, finding, deps.now());
  deps.count?.('Findings');
  return { match: touch, result: 'alerted', findingId: finding.id };
}

/** The finding of a window, described by the touch at hand (same actor and decoy). */
export function findingOf(window: TouchWindow, touch: Touch): Finding {
  const outcome =
    window.outcomes.length > 1 ? 'mixed' : window.outcomes[0] === 'denied' ? 'denied' : 'allowed';
  return {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: window.findingId,
    kind: touch.kind,
    severity: window.severity,
    title: titleOf(touch),
    actor: touch.actor,
    ...(touch.sourceIp ? { sourceIp: touch.sourceIp } : {}),
    ...(touch.userAgent ? { userAgent: touch.userAgent } : {}),
    region: touch.region,
    ...(touch.account ? { account: touch.account } : {}),
    eventNames: [...window.eventNames],
    eventIds: [...window.eventIds],
    outcome,
    resource: touch.resource,
    firstSeen: new Date(window.firstSeen).toISOString(),
    lastSeen: new Date(window.lastSeen).toISOString(),
    count: window.count,
    evidence: touch.eventId
      ? [
          {
            label: 'CloudTrail event',
            url: `https://${touch.region}.console.aws.amazon.com/cloudtrailv2/home?region=${touch.region}#/events/${touch.eventId}`,
          },
        ]
      : [],
    response: { status: 'none' },
  };
}

function titleOf(touch: Touch): string {
  const call = `${touch.eventSource.split('.')[0]}:${touch.eventName}`;
  if (touch.category === 'key-use') {
    const target = touch.target ? ` on ${touch.target}` : '';
    return `Reserved access key used (${call}${target}) by ${touch.actor.arn}`;
  }
  if (touch.category === 'trail-tamper')
    return `Trail ${touch.resource.name} tampered with (${call}) by ${touch.actor.arn}`;
  if (touch.category === 'rule-tamper') {
    return `Detection ${touch.resource.kind} ${touch.resource.name} tampered with (${call}) by ${touch.actor.arn}`;
  }
  const what = touchCategories[touch.category].label;
  const more = touch.alsoMatched?.length ? ` and ${touch.alsoMatched.length} more` : '';
  return `Resource ${touch.resource.kind} ${touch.resource.name}${more}: ${what} (${call}) by ${touch.actor.arn}`;
}
