import { defineConfig } from 'vitest/config';

// The live suite talks to a real account or an AWS-compatible endpoint through the
// SDK's standard settings; each file skips with a message when none is configured.
export default defineConfig({
  test: {
    include: ['test/live/**/*.live.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    fileParallelism: false,
  },
});
