import type { S3Client } from '@aws-sdk/client-s3';
import type { Message } from './messages';
import { putOnce } from './s3-audit-store';
import { safeName } from './state';

/**
 * Finding events the intake refused to act on: a finding no detector of this
 * stack recorded (put on the bus by someone else), or one altered on the way.
 * Each refusal is kept in the object-locked records bucket, beside the audit
 * records, and mailed: a refused finding means someone tried to start a response.
 */

export const REFUSED_PREFIX = 'refused/';

export const REFUSAL_REASONS = {
  /** No record of this id with this content: not written by a detector, or altered since. */
  notIssued: 'not-issued',
  /** The detail-type is not the one the finding's kind is published under. */
  detailType: 'detail-type',
} as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[keyof typeof REFUSAL_REASONS];

export interface FindingRefusal {
  at: string;
  /** EventBridge's id of the event (set by EventBridge, not by the sender). */
  eventId: string;
  /** What the event claims: nothing here is trusted. */
  findingId: string;
  digest: string;
  detailType: string;
  kind: string;
  principal: string;
  reason: RefusalReason;
}

/** Where refusals are kept. A port: S3 deployed, memory in tests and the drill. */
export interface RefusalLog {
  /** Writes a refusal once; the same event refused again (a retry) is a no-op. */
  append(refusal: FindingRefusal): Promise<void>;
}

export class MemoryRefusalLog implements RefusalLog {
  readonly refusals: FindingRefusal[] = [];
  async append(refusal: FindingRefusal): Promise<void> {
    if (!this.refusals.some((r) => r.eventId === refusal.eventId && r.findingId === refusal.findingId))
      this.refusals.push(refusal);
  }
}

/** `refused/<finding id>/<event id>.json`: one object per refused event, never overwritten. */
export function refusalKey(refusal: FindingRefusal): string {
  return `${REFUSED_PREFIX}${safeName(refusal.findingId).slice(0, 200)}/${safeName(refusal.eventId).slice(0, 200)}.json`;
}

export class S3RefusalLog implements RefusalLog {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async append(refusal: FindingRefusal): Promise<void> {
    await putOnce(this.s3, this.bucket, refusalKey(refusal), refusal);
  }
}

const REASON_TEXT: Record<RefusalReason, string> = {
  'not-issued': 'not issued by the platform (no matching record of this finding and content)',
  'detail-type': 'its detail-type does not match the finding kind',
};

/** The alert: neutral wording, the claimed principal named so the team can see who was targeted. */
export function refusalMessage(refusal: FindingRefusal): Message {
  return {
    subject: 'Rejected finding event: not issued by the platform',
    body: [
      'A finding event on the central bus was rejected; no review was started.',
      '',
      `Reason:     ${REASON_TEXT[refusal.reason]}`,
      `Finding:    ${refusal.findingId} (${refusal.kind}, detail-type "${refusal.detailType}")`,
      `Principal:  ${refusal.principal} (named by the event, not acted on)`,
      `Event id:   ${refusal.eventId}`,
      `Digest:     ${refusal.digest}`,
      `At:         ${refusal.at}`,
      '',
      'Someone put or altered this event: check CloudTrail for events:PutEvents on',
      'the central bus, and for changes to its policy or to the detector roles.',
    ].join('\n'),
  };
}
