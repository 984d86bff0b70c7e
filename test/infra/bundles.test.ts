import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOUSE_BUNDLING } from '../../infra/constructs/house-function';

/**
 * What ReadOnlyAccess downloads with `lambda:GetFunction`: each function's package,
 * bundled here by esbuild with exactly the options house-function.ts gives the CDK.
 * The packages must carry no source map, none of the modules that hold readable
 * configuration or word lists, and no marker or purpose word.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HANDLERS = readdirSync(join(ROOT, 'functions')).filter((dir) =>
  existsSync(join(ROOT, 'functions', dir, 'handler.ts')),
);

/** HOUSE_BUNDLING in esbuild's terms, as aws-lambda-nodejs passes it (bundling.js, buildEsbuildArgs). */
function esbuildOptions(entry: string) {
  const { format, target, minify, sourceMap, keepNames, banner, externalModules, esbuildArgs, ...rest } =
    HOUSE_BUNDLING;
  // forceDockerBundling only says where esbuild runs; any other option must be translated here.
  expect(Object.keys(rest)).toEqual(['forceDockerBundling']);
  expect(Object.keys(esbuildArgs)).toEqual(['--legal-comments']);
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    outfile: join(ROOT, 'cdk.out', 'bundle-test', 'index.mjs'),
    write: false as const,
    metafile: true as const,
    absWorkingDir: ROOT,
    logLevel: 'silent',
    format: format === OutputFormat.ESM ? 'esm' : 'cjs',
    target,
    minify,
    sourcemap: sourceMap,
    keepNames,
    banner: { js: banner },
    external: externalModules,
    legalComments: esbuildArgs['--legal-comments'],
  } satisfies BuildOptions;
}

/**
 * Modules no function needs and that would ship readable words: the configuration
 * schema (defaults, messages), its validators and region table, the tell scanner's
 * word list (tells.ts; the planter uses the hashed stems.ts), and zod's locales
 * other than English (its message tables in 60 languages, "bait" among them).
 */
const EXCLUDED = [
  /^layers\/config\/(schema|validators|regions|cross-checks)\.ts$/,
  /^layers\/stealth\/tells\.ts$/,
  /^node_modules\/zod\/.*\/locales\/(?!en\.js$)[^/]+$/,
];

/** The red-team read's stems (issue #10): the tell scanner's, and the purpose words "planted" and "touch". */
const MARKER =
  /(honey|canar|decoy|decept|tripwire|sentinel|\bbait|\blure|\btrap|\bfake|planted|\btouch|intruder)/gi;

interface Bundle {
  handler: string;
  outputs: string[];
  text: string;
  /** Files with at least one byte in the output (metafile.inputs also lists what tree-shaking dropped). */
  included: string[];
  metafile: Metafile;
}

function hitsIn(text: string): string[] {
  return [...text.matchAll(MARKER)].map((m) => text.slice(Math.max(0, m.index - 30), m.index + 30));
}

const bundles: Bundle[] = [];

beforeAll(async () => {
  for (const handler of HANDLERS) {
    const result = await build(esbuildOptions(join(ROOT, 'functions', handler, 'handler.ts')));
    const main = result.outputFiles.find((file) => file.path.endsWith('.mjs'))!;
    const output = Object.values(result.metafile.outputs)[0]!;
    bundles.push({
      handler,
      outputs: result.outputFiles.map((file) => file.path),
      text: main.text,
      included: Object.entries(output.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([path]) => path),
      metafile: result.metafile,
    });
  }
}, 300_000);

describe('function packages (what lambda:GetFunction hands out)', () => {
  it('bundles every handler', () => {
    expect(bundles.map((b) => b.handler)).toEqual(HANDLERS);
    expect(HANDLERS.length).toBeGreaterThanOrEqual(9);
  });

  it('emit no source map and point at none', () => {
    for (const bundle of bundles) {
      expect(
        bundle.outputs.filter((path) => path.endsWith('.map')),
        bundle.handler,
      ).toEqual([]);
      expect(bundle.text, bundle.handler).not.toContain('sourceMappingURL');
    }
  });

  it('include neither the configuration schema, its validators, the tell word list nor foreign zod locales', () => {
    for (const bundle of bundles) {
      const excluded = bundle.included.filter((path) => EXCLUDED.some((pattern) => pattern.test(path)));
      expect(excluded, bundle.handler).toEqual([]);
    }
  });

  it('import nothing of the schema at all (type imports are erased; a value import would parse it)', () => {
    for (const bundle of bundles) {
      const parsed = Object.keys(bundle.metafile.inputs).filter((path) => EXCLUDED[0]!.test(path));
      expect(parsed, bundle.handler).toEqual([]);
    }
  });

  it('carry no marker or purpose word (counts printed)', () => {
    const rows = bundles.map((bundle) => ({
      handler: bundle.handler,
      bytes: bundle.text.length,
      hits: hitsIn(bundle.text),
    }));
    console.log(
      [
        'marker-word hits per package:',
        ...rows.map(
          (row) =>
            `${row.handler.padEnd(18)} ${String(row.bytes).padStart(8)} bytes ${String(row.hits.length).padStart(4)} hits`,
        ),
      ].join('\n'),
    );
    for (const row of rows) expect(row.hits, row.handler).toEqual([]);
  });
});
