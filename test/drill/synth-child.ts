import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import { type Deployment, synthesizeDeployment } from '../../layers/drill/deployment';

/**
 * Synthesizes the drilled app in a child process. Synthesis is one long synchronous
 * block (tens of seconds on a loaded machine); in the test worker it would starve
 * vitest's worker RPC ("Timeout calling onTaskUpdate"). The Deployment is plain
 * data, so it crosses as JSON.
 */
export function synthesizeInChild(config: HoneytrailConfigInput, account: string): Promise<Deployment> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', self, JSON.stringify({ config, account })],
      { maxBuffer: 512 * 1024 * 1024, cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`synthesis in a child process failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Deployment);
      },
    );
  });
}

// Run as a script: synthesize and print the Deployment as JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { config, account } = JSON.parse(process.argv[2] ?? '{}') as {
    config: HoneytrailConfigInput;
    account: string;
  };
  process.stdout.write(JSON.stringify(synthesizeDeployment({ config, account })));
}
