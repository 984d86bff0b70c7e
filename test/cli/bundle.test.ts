import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error bin/build.mjs is plain JavaScript (it runs at `npm ci`, before any compiler)
import { buildCli, OUT_DIR } from '../../bin/build.mjs';

/**
 * The command line as `npx honeytrail` runs it after `npm ci`: the esbuild bundle in
 * dist/cli, started by bin/honeytrail.mjs. Built here the way `prepare` builds it, so
 * what is tested is the current source.
 */
const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function honeytrail(args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin', 'honeytrail.mjs'), ...args], {
      cwd: ROOT,
      env,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout, err: failed.stderr };
  }
}

/** Every line of stdout is one JSON document. */
function jsonLines(out: string): unknown[] {
  expect(out.endsWith('\n')).toBe(true);
  return out
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
}

beforeAll(async () => {
  await buildCli({ quiet: true });
});

describe('the built command line', () => {
  it('--version prints the package version', async () => {
    const { code, out, err } = await honeytrail(['--version']);
    expect(code).toBe(0);
    expect(out).toBe(`${version}\n`);
    expect(err).toBe('');
  });

  it('plan --json: one JSON document on one line, nothing else', async () => {
    const { code, out, err } = await honeytrail(['plan', '--json']);
    expect(code).toBe(0);
    expect(err).toBe('');
    const [plan] = jsonLines(out) as [{ resources: unknown[] }];
    expect(plan.resources.length).toBeGreaterThan(5);
  });

  it('replay --json: a finding a line, then the summary line; the human summary on stderr', async () => {
    const { code, out, err } = await honeytrail([
      'replay',
      '--decoys',
      'test/data/decoy-lists/stratus-parameters.json',
      '--json',
      'test/data/cloudtrail',
    ]);
    expect(code).toBe(0);
    const lines = jsonLines(out) as { kind?: string; summary?: { findings: number; records: number } }[];
    const summary = lines.at(-1)?.summary;
    expect(summary?.findings).toBe(2);
    expect(lines.slice(0, -1).map((line) => line.kind)).toEqual(['resource-access', 'resource-access']);
    expect(err).toMatch(new RegExp(`^${summary?.records} records read, .* 2 finding\\(s\\)`, 'm'));
  });

  it('start-up loads no AWS SDK and no CDK: each command loads its own code when it runs', () => {
    const meta = JSON.parse(readFileSync(join(OUT_DIR, 'meta.json'), 'utf8')) as {
      outputs: Record<
        string,
        { imports: { path: string; kind: string; external?: boolean }[]; inputs: object }
      >;
    };
    const seen = new Set<string>();
    const visit = (output: string) => {
      if (seen.has(output)) return;
      seen.add(output);
      for (const i of meta.outputs[output]?.imports ?? []) if (i.kind === 'import-statement') visit(i.path);
    };
    visit(Object.keys(meta.outputs).find((o) => o.endsWith('/cli.js'))!);
    const loaded = [...seen].flatMap((output) => [
      ...Object.keys(meta.outputs[output]?.inputs ?? {}),
      ...(meta.outputs[output]?.imports ?? []).filter((i) => i.external).map((i) => i.path),
    ]);
    expect(loaded.filter((input) => /@aws-sdk|aws-cdk-lib|layers\//.test(input))).toEqual([]);
  });

  it('a command that talks to AWS names the missing region and how to set it', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_CONFIG_FILE: join(ROOT, 'no-such-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'no-such-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const region = await honeytrail(['approve', 'token'], env);
    expect(region.code).toBe(1);
    expect(region.err).toMatch(/no AWS region: pass --region .*or set AWS_REGION/);
    const credentials = await honeytrail(['deny', 'token', '--region', 'eu-west-1'], env);
    expect(credentials.code).toBe(1);
    expect(credentials.err).toMatch(/no AWS credentials .*pass --profile NAME/);
  });
});
