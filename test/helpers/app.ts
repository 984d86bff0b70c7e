import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/app-builder';
import type { HoneytrailConfigInput } from '../../layers/config/schema';

export const TEST_ACCOUNT = '111122223333';

/**
 * Builds the app for a test: no esbuild bundling, a fixed account, the given
 * config. `template()` synthesizes the main stack; call either it or `app.synth()`.
 */
export function synthApp(config: HoneytrailConfigInput = {}, options: { nag?: boolean } = {}) {
  const built = buildApp(
    { context: { 'aws:cdk:bundling-stacks': [], honeytrail: config } },
    { nag: options.nag ?? false, account: TEST_ACCOUNT },
  );
  return { ...built, template: () => Template.fromStack(built.main) };
}
