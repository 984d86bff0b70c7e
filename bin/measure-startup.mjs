#!/usr/bin/env node
// Start-up times of the command line next to a bare `node -e ''`, in the same run
// (the machine is shared: compare within a run). Median of 5 runs each, interleaved.
// Usage: node bin/measure-startup.mjs [runs]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 5);
const cli = join(ROOT, 'bin', 'honeytrail.mjs');
const cases = [
  ['node -e ""', process.execPath, ['-e', '']],
  ['node bin/honeytrail.mjs plan --json', process.execPath, [cli, 'plan', '--json']],
  ['npx honeytrail plan --json', 'npx', ['honeytrail', 'plan', '--json']],
  // As before the bundle: tsx compiling the source at every run.
  [
    'HONEYTRAIL_FROM_SOURCE=1 node bin/honeytrail.mjs plan --json',
    process.execPath,
    [cli, 'plan', '--json'],
    { HONEYTRAIL_FROM_SOURCE: '1' },
  ],
  ['npx honeytrail --version', 'npx', ['honeytrail', '--version']],
  // npm's own share: a native binary from node_modules/.bin, through npx.
  ['npx esbuild --version (npx alone)', 'npx', ['esbuild', '--version']],
  [
    'node bin/honeytrail.mjs replay --json (1 file)',
    process.execPath,
    [
      cli,
      'replay',
      '--json',
      'test/data/cloudtrail/stratus-detonations/aws.credential-access.ec2-get-password-data.json',
    ],
  ],
  ['node bin/honeytrail.mjs score --help', process.execPath, [cli, 'score', '--help']],
  [
    'node bin/honeytrail.mjs cost --events-per-day 1000000',
    process.execPath,
    [cli, 'cost', '--events-per-day', '1000000'],
  ],
];
const times = new Map(cases.map(([name]) => [name, []]));
for (let run = 0; run < runs; run++) {
  for (const [name, command, args, env] of cases) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}`);
    times.get(name).push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const base = median(times.get(cases[0][0]));
for (const [name, values] of times) {
  const m = median(values);
  process.stdout.write(
    `${name.padEnd(64)} ${String(Math.round(m)).padStart(6)} ms  ${(m / base).toFixed(1)}x\n`,
  );
}
