#!/usr/bin/env node
// Runs the command line built by `npm ci` (its `prepare` script, bin/build.mjs) into
// dist/cli/: plain JavaScript, each command's code loaded only when that command runs.
// Without the bundle (installed with --ignore-scripts, or HONEYTRAIL_FROM_SOURCE=1 while
// changing bin/ or layers/), it compiles the TypeScript source with tsx, as the tests do.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/cli.js', import.meta.url);
const fromSource = process.env.HONEYTRAIL_FROM_SOURCE === '1';
let main;
if (!fromSource && existsSync(bundle)) {
  ({ main } = await import(bundle.href));
} else {
  if (!fromSource) {
    process.stderr.write(
      'honeytrail: no built command line in dist/cli (run "npm run build:cli"); running the TypeScript source with tsx, which starts slower\n',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./cli.ts'));
}
process.exitCode = await main(process.argv);
