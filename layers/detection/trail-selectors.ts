import type { AdvancedEventSelector } from '@aws-sdk/client-cloudtrail';

/**
 * The trail's advanced event selectors, as the planter puts them at plant time
 * (cloudtrail:PutEventSelectors). S3 GetObject/HeadObject are data events: a trail
 * logs them only for the buckets its selectors name. The bucket decoy's name is
 * chosen at plant time, so the synthesized trail cannot carry it (and must not:
 * the template is readable); the planter completes the selectors instead.
 *
 * Whoever holds ReadOnlyAccess can read the selectors (cloudtrail:GetEventSelectors),
 * so the planted bucket is listed among cover buckets, real buckets of the account
 * the planter picks from its inventory, in sorted order: the list says "these
 * buckets have object logging", not which of them is bait.
 */

/** The management-events selector: every read and write management event (what the stack synthesizes). */
export const MANAGEMENT_SELECTOR: AdvancedEventSelector = {
  Name: 'Management events',
  FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }],
};

/** The name of the object-events selector (neutral: it reads like any data-event selector). */
export const OBJECT_SELECTOR_NAME = 'Object activity';

/**
 * CloudTrail accepts at most 500 values across all the conditions of a trail's
 * advanced selectors (InvalidEventSelectorsException beyond): the management
 * selector takes one, the object selector two besides its bucket prefixes.
 */
export const MAX_OBJECT_BUCKETS = 497;

/** S3 bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, dots, dashes. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class TrailSelectorError extends Error {
  override readonly name = 'TrailSelectorError';
}

export interface ObjectSelectorInput {
  /** The bucket the trail writes its log files to: never selected (each delivery would log itself, a loop). */
  trailBucket: string;
  /** The registered bucket(s): their object events must be logged. */
  logged: readonly string[];
  /** Real buckets of the account logged alongside, so the registered one does not stand alone. */
  cover: readonly string[];
  /** Default `aws`. */
  partition?: string;
}

/**
 * The selectors for a trail that logs every management event and the object events
 * of the logged and cover buckets: one object selector, its bucket prefixes sorted
 * and deduplicated, never the trail's own bucket. Without any bucket, the management
 * selector alone.
 */
export function loggedBucketSelectors(input: ObjectSelectorInput): AdvancedEventSelector[] {
  const partition = input.partition ?? 'aws';
  for (const name of [input.trailBucket, ...input.logged, ...input.cover]) {
    if (!BUCKET_NAME.test(name)) throw new TrailSelectorError(`"${name}" is not an S3 bucket name`);
  }
  if (input.logged.includes(input.trailBucket)) {
    throw new TrailSelectorError(
      `the logged bucket ${input.trailBucket} is the trail's own log bucket: its object events would log themselves`,
    );
  }
  const buckets = [...new Set([...input.logged, ...input.cover])]
    .filter((name) => name !== input.trailBucket)
    .sort();
  if (buckets.length > MAX_OBJECT_BUCKETS) {
    throw new TrailSelectorError(
      `${buckets.length} buckets is over the ${MAX_OBJECT_BUCKETS} CloudTrail accepts in one trail's selectors`,
    );
  }
  if (buckets.length === 0) return [MANAGEMENT_SELECTOR];
  return [
    MANAGEMENT_SELECTOR,
    {
      Name: OBJECT_SELECTOR_NAME,
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'resources.ARN', StartsWith: buckets.map((name) => `arn:${partition}:s3:::${name}/`) },
      ],
    },
  ];
}
