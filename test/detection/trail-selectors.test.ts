import { describe, expect, it } from 'vitest';
import {
  loggedBucketSelectors,
  MANAGEMENT_SELECTOR,
  MAX_OBJECT_BUCKETS,
  OBJECT_SELECTOR_NAME,
  TrailSelectorError,
} from '../../layers/detection/trail-selectors';
import { findTells } from '../../layers/stealth/tells';

const TRAIL_BUCKET = 'platform-shared-services-logs-a1b2';

/** The bucket prefixes the object selector logs, in the order the trail will show them. */
function loggedPrefixes(selectors: ReturnType<typeof loggedBucketSelectors>): string[] {
  const object = selectors.find((s) => s.Name === OBJECT_SELECTOR_NAME);
  return object?.FieldSelectors?.find((f) => f.Field === 'resources.ARN')?.StartsWith ?? [];
}

describe('loggedBucketSelectors', () => {
  it('keeps management events and logs object events of the planted bucket among the cover buckets', () => {
    const selectors = loggedBucketSelectors({
      trailBucket: TRAIL_BUCKET,
      logged: ['orders-backup-prod'],
      cover: ['web-assets-prod', 'analytics-exports'],
    });
    expect(selectors[0]).toEqual(MANAGEMENT_SELECTOR);
    expect(selectors).toHaveLength(2);
    expect(selectors[1]!.FieldSelectors).toEqual([
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
      {
        Field: 'resources.ARN',
        StartsWith: [
          'arn:aws:s3:::analytics-exports/',
          'arn:aws:s3:::orders-backup-prod/',
          'arn:aws:s3:::web-assets-prod/',
        ],
      },
    ]);
    expect(findTells(selectors)).toEqual([]);
  });

  it('lists the buckets sorted whatever order they come in: the planted one has no place of its own', () => {
    const logged = ['orders-backup-prod'];
    const cover = ['web-assets-prod', 'analytics-exports', 'zz-archive'];
    const one = loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged, cover });
    const other = loggedBucketSelectors({
      trailBucket: TRAIL_BUCKET,
      logged,
      cover: [...cover].reverse(),
    });
    expect(one).toEqual(other);
    const prefixes = loggedPrefixes(one);
    expect(prefixes).toEqual([...prefixes].sort());
    // The same list as if the planted bucket were one more cover bucket.
    expect(
      loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: [], cover: [...logged, ...cover] }),
    ).toEqual(one);
  });

  it('never selects the trail own bucket (each log delivery would log itself)', () => {
    const selectors = loggedBucketSelectors({
      trailBucket: TRAIL_BUCKET,
      logged: ['orders-backup-prod'],
      cover: [TRAIL_BUCKET, 'web-assets-prod'],
    });
    expect(loggedPrefixes(selectors)).toEqual([
      'arn:aws:s3:::orders-backup-prod/',
      'arn:aws:s3:::web-assets-prod/',
    ]);
    expect(() =>
      loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: [TRAIL_BUCKET], cover: [] }),
    ).toThrow(TrailSelectorError);
  });

  it('without cover buckets, the planted bucket alone; without any bucket, management events only', () => {
    expect(
      loggedPrefixes(
        loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: ['orders-backup-prod'], cover: [] }),
      ),
    ).toEqual(['arn:aws:s3:::orders-backup-prod/']);
    expect(loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: [], cover: [] })).toEqual([
      MANAGEMENT_SELECTOR,
    ]);
  });

  it('drops duplicates and uses the given partition', () => {
    const selectors = loggedBucketSelectors({
      trailBucket: TRAIL_BUCKET,
      logged: ['orders-backup-prod'],
      cover: ['orders-backup-prod', 'web-assets-prod', 'web-assets-prod'],
      partition: 'aws-cn',
    });
    expect(loggedPrefixes(selectors)).toEqual([
      'arn:aws-cn:s3:::orders-backup-prod/',
      'arn:aws-cn:s3:::web-assets-prod/',
    ]);
  });

  it('refuses what is not a bucket name (a selector value is an ARN prefix) and more buckets than a trail takes', () => {
    for (const name of ['Orders', 'a', 'x/../y', 'bucket*', '']) {
      expect(
        () => loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: [name], cover: [] }),
        name,
      ).toThrow(TrailSelectorError);
    }
    const many = Array.from(
      { length: MAX_OBJECT_BUCKETS + 1 },
      (_, i) => `bucket-${String(i).padStart(4, '0')}`,
    );
    expect(() => loggedBucketSelectors({ trailBucket: TRAIL_BUCKET, logged: [], cover: many })).toThrow(
      /over the 497/,
    );
    // At the limit, the trail's 500 values are all used: 1 + 2 + 497.
    const selectors = loggedBucketSelectors({
      trailBucket: TRAIL_BUCKET,
      logged: [],
      cover: many.slice(0, MAX_OBJECT_BUCKETS),
    });
    const values = selectors.flatMap((s) =>
      (s.FieldSelectors ?? []).flatMap((f) => [...(f.Equals ?? []), ...(f.StartsWith ?? [])]),
    );
    expect(values).toHaveLength(500);
  });
});
