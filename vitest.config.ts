import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/live/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CDK's built-in CloudFormation validation takes most of each synth (about 14 of 16 s
    // measured); test/infra/nag.test.ts runs it, as `cdk synth` does, on both modes' apps.
    env: { CDK_VALIDATION: 'false' },
  },
});
