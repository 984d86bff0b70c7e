import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../helpers/app';

describe("cdk-nag (AwsSolutions) and CDK's CloudFormation validation over the whole app", () => {
  // vitest.config.ts turns the built-in validation off for speed; here it runs, as in `cdk synth`.
  const validation = process.env.CDK_VALIDATION;
  beforeAll(() => {
    delete process.env.CDK_VALIDATION;
  });
  afterAll(() => {
    if (validation !== undefined) process.env.CDK_VALIDATION = validation;
  });

  it('synthesizes with no unacknowledged finding', () => {
    const { app } = synthApp({ alertEmail: 'security@example.com' }, { nag: true });
    // The validation plugin throws at synth with the full report on any finding.
    expect(() => app.synth()).not.toThrow();
  });

  it('synthesizes organization mode (control plane and member templates) with no unacknowledged finding', () => {
    const { app } = synthApp(
      {
        organization: {
          securityAccount: '222233334444',
          targets: { organizationalUnitIds: ['ou-ab12-cdef3456'] },
          logArchive: {
            bucket: 'org-trail-logs-555566667777',
            kmsKeyArn: 'arn:aws:kms:us-east-1:555566667777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
            notificationTopicArn: 'arn:aws:sns:us-east-1:555566667777:log-archive-objects',
          },
        },
      },
      { nag: true },
    );
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on an unacknowledged finding (the check is live)', async () => {
    const { app, main } = synthApp({}, { nag: true });
    const s3 = await import('aws-cdk-lib/aws-s3');
    new s3.Bucket(main, 'Unencrypted', {});
    expect(() => app.synth()).toThrow(/AwsSolutions-S1|AwsSolutions-S10/);
  });
});
