import { describe, expect, it } from 'vitest';
import { synthApp } from '../helpers/app';

describe('cdk-nag (AwsSolutions) over the whole app', () => {
  it('synthesizes with no unacknowledged finding', () => {
    const { app } = synthApp({ alertEmail: 'security@example.com' }, { nag: true });
    // The validation plugin throws at synth with the full report on any finding.
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on an unacknowledged finding (the check is live)', async () => {
    const { app, main } = synthApp({}, { nag: true });
    const s3 = await import('aws-cdk-lib/aws-s3');
    new s3.Bucket(main, 'Unencrypted', {});
    expect(() => app.synth()).toThrow(/AwsSolutions-S1|AwsSolutions-S10/);
  });
});
