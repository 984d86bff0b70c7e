import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * The posture of a bucket holding the platform's own data: no public access,
 * TLS only, versioned, SSE-KMS under `key` with an S3 bucket key (fewer KMS
 * calls; reads still need kms:Decrypt on `key`). Spread it into the bucket's
 * props and add what the bucket needs besides (retention, lifecycle, removal).
 */
export function privateKmsBucketProps(key: kms.IKey) {
  return {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: true,
  } satisfies s3.BucketProps;
}
