#!/usr/bin/env node
// Builds the command line into dist/cli/ (git-ignored) with esbuild: `npm ci` runs it as
// the `prepare` script, so `npx honeytrail` starts as plain JavaScript instead of compiling
// TypeScript with tsx at every run. Code splitting keeps each command's code in chunks of
// its own, loaded by the dynamic import in its action: `plan` never loads the AWS SDK.
// Tests and `npm run bench` keep running the TypeScript source.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'cli');

/**
 * Left to node_modules at run time: the CDK (the drill synthesizes the app; its
 * libraries read files next to their own code) and tools the drill runs.
 */
const EXTERNAL = ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', 'aws-cdk', 'esbuild', 'tsx'];

/**
 * Source files find data next to themselves (`new URL('x', import.meta.url)`, the drill's
 * scenarios, the functions' entries the CDK bundles). In a chunk, import.meta.url is the
 * chunk's address: each project file gets its own source address back, relative to the
 * chunk folder, so the bundle keeps working wherever the project is.
 */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      const fromChunks = relative(OUT_DIR, args.path).split('\\').join('/');
      const sourceUrl = `new URL(${JSON.stringify(fromChunks)}, import.meta.url).href`;
      return { contents: replaceOutsideStrings(text, 'import.meta.url', sourceUrl), loader: 'ts' };
    });
  },
};

/** Replaces `code` where it is code: not inside a quoted string on its line (a banner text quotes it). */
function replaceOutsideStrings(text, code, replacement) {
  return text
    .split('\n')
    .map((line) => {
      let result = '';
      let rest = line;
      let before = '';
      for (let at = rest.indexOf(code); at >= 0; at = rest.indexOf(code)) {
        before += rest.slice(0, at);
        const quoted = ["'", '"', '`'].some((quote) => before.split(quote).length % 2 === 0);
        result += rest.slice(0, at) + (quoted ? code : replacement);
        before += code;
        rest = rest.slice(at + code.length);
      }
      return result + rest;
    })
    .join('\n');
}

/** Builds the bundle into dist/cli (what `npm ci` does); test/cli/bundle.test.ts builds it the same way. */
export async function buildCli({ quiet = false } = {}) {
  const started = Date.now();
  // Loaded here: a production install (--omit=dev) has no esbuild, and says so below.
  const { build } = await import('esbuild');
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cli: join(ROOT, 'bin', 'cli.ts') },
    outdir: OUT_DIR,
    // Every chunk beside the entry: the relative source addresses above count from here.
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // ES module builds first: they tree-shake, and their named exports survive a dynamic import.
    mainFields: ['module', 'main'],
    target: 'node20',
    external: EXTERNAL,
    // ESM chunks of CommonJS dependencies still call require(): give them one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
  writeFileSync(join(OUT_DIR, 'meta.json'), JSON.stringify(result.metafile));
  writeFileSync(join(OUT_DIR, 'package.json'), '{"type":"module"}\n');
  if (!quiet) {
    const bytes = Object.values(result.metafile.outputs).reduce((total, output) => total + output.bytes, 0);
    process.stderr.write(
      `honeytrail: built the command line into ${relative(ROOT, OUT_DIR)}/ (${(bytes / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await buildCli();
  } catch (error) {
    // At install (`prepare`), a failed build must not fail the install: the command line
    // then runs from source and says so; test/cli/bundle.test.ts fails instead.
    // `npm run build:cli` fails loudly.
    if (process.env.npm_lifecycle_event !== 'prepare') throw error;
    rmSync(OUT_DIR, { recursive: true, force: true });
    process.stderr.write(
      `honeytrail: could not build the command line (${error.message.split('\n')[0]}); npx honeytrail will run the TypeScript source with tsx until "npm run build:cli" succeeds\n`,
    );
  }
}
