import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readJsonFile } from '../runtime/json-file';
import { ConfigError, type HoneytrailConfig, parseConfig } from './schema';

/** A missing or broken file fails naming its path, like a wrong value does. */
const readJson = (path: string) =>
  readJsonFile(path, 'config file', (message) => new ConfigError(`invalid configuration:\n  ${message}`));

/**
 * Reads the config the CDK app would use: cdk.json's `context.honeytrail`, or the
 * JSON file that `context.honeytrailConfig` (or `--config`) names.
 */
export function loadConfig(options: { configFile?: string; cwd?: string } = {}): HoneytrailConfig {
  const cwd = options.cwd ?? process.cwd();
  if (options.configFile) return parseConfig(readJson(resolve(cwd, options.configFile)), options.configFile);
  const cdkJsonPath = resolve(cwd, 'cdk.json');
  if (!existsSync(cdkJsonPath)) return parseConfig({});
  const cdkJson = readJson(cdkJsonPath) as { context?: Record<string, unknown> };
  const fileName = cdkJson.context?.honeytrailConfig;
  if (typeof fileName === 'string') {
    const path = resolve(dirname(cdkJsonPath), fileName);
    return parseConfig(readJson(path), fileName);
  }
  return parseConfig(cdkJson.context?.honeytrail ?? {}, 'cdk.json context.honeytrail');
}
