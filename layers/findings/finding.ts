import { createHash } from 'node:crypto';
import * as z from 'zod';
import { findingKinds, severities } from '../config/vocabulary';

/**
 * The one shape of every finding (design.md, Findings). Versioned: a consumer
 * that sees a `schemaVersion` it does not know must not guess.
 */
export const FINDING_SCHEMA_VERSION = 1;

export const actorSchema = z.object({
  arn: z.string(),
  /** CloudTrail userIdentity.type: IAMUser, AssumedRole, Root, AWSService, ... */
  type: z.string(),
  accessKeyId: z.string().optional(),
  sessionName: z.string().optional(),
  account: z.string().optional(),
});
export type Actor = z.infer<typeof actorSchema>;

export const decoyRefSchema = z.object({
  kind: z.string(),
  name: z.string(),
  arn: z.string().optional(),
});

export const scoreDetailsSchema = z.object({
  score: z.number(),
  threshold: z.number(),
  windowStart: z.string(),
  windowEnd: z.string(),
  /** The features that drove the score and how far each is from the principal's norm. */
  topFeatures: z.array(
    z.object({
      name: z.string(),
      value: z.number(),
      norm: z.number(),
      deviation: z.number(),
      why: z.string().optional(),
    }),
  ),
});

export const responseStateSchema = z.object({
  status: z.enum([
    'none',
    'planned',
    'awaiting-approval',
    'acting',
    'contained',
    'reverted',
    'failed',
    'skipped',
  ]),
  executionArn: z.string().optional(),
  reason: z.string().optional(),
  updatedAt: z.string().optional(),
});

export const findingSchema = z.object({
  schemaVersion: z.literal(FINDING_SCHEMA_VERSION),
  /** Stable for dedupe: the same actor, kind and subject within a window give the same id. */
  id: z.string().min(8),
  kind: z.enum(findingKinds),
  severity: z.enum(severities),
  title: z.string(),
  actor: actorSchema,
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
  region: z.string(),
  account: z.string().optional(),
  eventNames: z.array(z.string()).min(1),
  eventIds: z.array(z.string()).default([]),
  /** Did any of the calls succeed? (A decoy key's calls never should.) */
  outcome: z.enum(['allowed', 'denied', 'mixed']).optional(),
  resource: decoyRefSchema.optional(),
  score: scoreDetailsSchema.optional(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number().int().min(1),
  evidence: z.array(z.object({ label: z.string(), url: z.string() })).default([]),
  response: responseStateSchema.default({ status: 'none' }),
});

export type Finding = z.infer<typeof findingSchema>;

/**
 * EventBridge detail-types of findings on the central bus. Deployed words: rules,
 * the bus policy and the events themselves are readable with ReadOnlyAccess, so
 * they name what happened in the platform's terms, never the kind's source name.
 */
export const FINDING_DETAIL_TYPES = {
  'resource-access': 'Resource Access',
  tamper: 'Trail Tampered',
  anomaly: 'Anomalous Activity',
  'unlogged-use': 'Unlogged Key Use',
} as const;

/** The EventBridge `source` findings are published under. Neutral on purpose. */
export const FINDING_EVENT_SOURCE = 'platform.security-findings';

/** A stable id from the parts that make two findings "the same". */
export function findingId(parts: readonly (string | number | undefined)[]): string {
  return createHash('sha256')
    .update(parts.map((p) => String(p ?? '')).join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}
