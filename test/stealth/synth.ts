/**
 * `npx tsx test/stealth/synth.ts <outdir> <config json> [<outdir> <config json> ...]`
 *
 * Synthesizes the app into each `outdir` as `cdk synth` does: the CLI's context
 * from cdk.json's settings (path and asset metadata and version reporting unless
 * turned off there, every stack's functions bundled by esbuild) and cdk.json's
 * own context, with `honeytrail` replaced by the given config and the test
 * account. The stealth audit runs it in a child process: a synthesis blocks for
 * tens of seconds, which a test worker must not do to its own event loop; and one
 * process for several configs loads the CDK once.
 */
import { join } from 'node:path';
import { buildApp } from '../../infra/app-builder';
import { readJsonFile } from '../../layers/runtime/json-file';
import { TEST_ACCOUNT } from '../helpers/app';

interface CdkJson {
  context?: Record<string, unknown>;
  pathMetadata?: boolean;
  assetMetadata?: boolean;
  versionReporting?: boolean;
}

/** What the aws-cdk CLI adds to the app's context (its contextFromSettings). */
function cliContext(cdkJson: CdkJson): Record<string, unknown> {
  const versionReporting = cdkJson.versionReporting ?? true;
  return {
    ...cdkJson.context,
    ...((cdkJson.pathMetadata ?? true) ? { 'aws:cdk:enable-path-metadata': true } : {}),
    ...((cdkJson.assetMetadata ?? true) ? { 'aws:cdk:enable-asset-metadata': true } : {}),
    ...(versionReporting
      ? { 'aws:cdk:version-reporting': true }
      : { 'aws:cdk:disable-version-reporting': true }),
    'aws:cdk:bundling-stacks': ['**'],
  };
}

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  process.stderr.write(
    'usage: npx tsx test/stealth/synth.ts <outdir> <config json> [<outdir> <config json> ...]\n',
  );
  process.exitCode = 2;
}
const cdkJson = readJsonFile(join(import.meta.dirname, '..', '..', 'cdk.json'), 'cdk.json') as CdkJson;
for (let i = 0; i + 1 < args.length; i += 2) {
  const [outdir, configJson] = [args[i]!, args[i + 1]!];
  // The given config, not a config file cdk.json may name (which would win over it).
  const { honeytrailConfig: _file, ...context } = cliContext(cdkJson);
  context.honeytrail = JSON.parse(configJson);
  const built = buildApp({ outdir, context }, { nag: false, account: TEST_ACCOUNT });
  built.app.synth();
}
