#!/usr/bin/env node
// Runs the TypeScript command line straight from source, so `npx honeytrail` works
// right after `npm ci` with no build step (tsx compiles on the fly).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
