import { defineConfig } from 'vitest/config';

// The live suite talks to a real account or an AWS-compatible endpoint through the
// SDK's standard settings; each file skips with a message when none is configured.
// HONEYTRAIL_EMULATOR=moto runs it against moto on loopback (test/live/setup/moto.ts),
// where a test skips only what moto cannot do and its name says what (test/live/emulator.ts).
export default defineConfig({
  test: {
    include: ['test/live/**/*.live.test.ts'],
    globalSetup: ['test/live/setup/moto.ts'],
    // Every test by name, so a skip and its reason show in the output.
    reporters: ['verbose'],
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    fileParallelism: false,
  },
});
