import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { jsTokens } from './js-tokens';

/**
 * Everything an attacker holding ReadOnlyAccess can read of a deployment, as
 * `{ surface, where, text }` items. Two sources:
 * - a synthesized cloud assembly (`cdk synth -o DIR`, or `app.synth()` with an
 *   outdir): the templates (`cloudformation:GetTemplate`) and the asset packages
 *   (`lambda:GetFunction` downloads the code; the CDK's asset bucket is readable
 *   with `s3:GetObject` too);
 * - what the planter writes into the account (see plant.ts).
 * The audit (audit.ts) scans the items; the surfaces let the README's table of
 * tells be re-measured one place at a time.
 */

export const surfaces = [
  'template',
  'metadata',
  'output',
  'rule',
  'trail',
  'custom resource',
  'policy',
  'environment',
  'tag',
  'state machine',
  'dashboard',
  'package code',
  'log literal',
  'log line',
  'bait',
  'registry',
] as const;
export type Surface = (typeof surfaces)[number];

export interface Item {
  surface: Surface;
  /** Where an attacker reads it: stack, resource, JSON path, or file and line. */
  where: string;
  text: string;
  /** The text is a line of a file in this format (allowances, audit.ts). */
  format?: 'terraform-state';
  /**
   * A planted resource's own content, which names decoys by design (a bucket
   * policy names its bucket, the .env names the key): only marker words count.
   */
  namesAllowed?: boolean;
}

export interface AssemblyContents {
  items: Item[];
  /** Source maps shipped in a package: each one is a finding by itself. */
  sourceMaps: string[];
  /** Each stack's account, region and template, from the assembly's manifest. */
  stacks: { name: string; account: string; region: string; template: Json }[];
}

interface ManifestArtifact {
  type: string;
  environment?: string;
  properties?: { templateFile?: string; stackName?: string; tags?: Record<string, string> };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Reads a cloud assembly directory: every stack's template and every asset. */
export function collectAssembly(dir: string): AssemblyContents {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const items: Item[] = [];
  const stacks: AssemblyContents['stacks'] = [];
  /** Asset directory → the resource whose code it is, to say where a finding is. */
  const assetOwners = new Map<string, string>();
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const [, account = '', region = ''] = /^aws:\/\/([^/]*)\/(.*)$/.exec(artifact.environment ?? '') ?? [];
    const stackName = artifact.properties.stackName ?? id;
    items.push({ surface: 'template', where: `${stackName} (stack name)`, text: stackName });
    for (const [key, value] of Object.entries(artifact.properties.tags ?? {})) {
      items.push({ surface: 'tag', where: `${stackName} (stack tag)`, text: `${key}=${value}` });
    }
    const template = JSON.parse(readFileSync(join(dir, artifact.properties.templateFile), 'utf8')) as Json;
    stacks.push({ name: stackName, account, region, template });
    items.push(...templateItems(template, { stackName, account, region }));
    for (const [asset, logicalId] of assetsOf(template)) assetOwners.set(asset, `${stackName} ${logicalId}`);
  }
  const sourceMaps: string[] = [];
  for (const entry of readdirSync(dir)
    .filter((name) => name.startsWith('asset.'))
    .sort()) {
    const owner = assetOwners.get(entry);
    for (const file of filesUnder(join(dir, entry))) {
      const where = `${owner ?? entry.slice(0, 18)}/${file.relative}`;
      // A source map is a finding by itself; its content is the whole source,
      // which keeps its clear names (design.md), so it is not scanned word by word.
      if (file.relative.endsWith('.map')) sourceMaps.push(where);
      else items.push(...packageFileItems(file.path, where));
    }
  }
  return { items, sourceMaps, stacks };
}

function filesUnder(path: string, prefix = ''): { path: string; relative: string }[] {
  if (!statSync(path).isDirectory()) return [{ path, relative: prefix || path.split('/').at(-1)! }];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name), prefix ? `${prefix}/${name}` : name));
}

// ---------------------------------------------------------------- packages

/**
 * Which resource each asset directory is the code of: the CDK's asset metadata
 * when the app writes it, else the object key the code is read from (`<hash>.zip`,
 * staged as `asset.<hash>`).
 */
function assetsOf(template: Json): [string, string][] {
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  return Object.entries(resources).flatMap(([logicalId, resource]): [string, string][] => {
    if (!isObject(resource)) return [];
    const metadata = isObject(resource.Metadata) ? resource.Metadata : {};
    const path = metadata['aws:asset:path'];
    if (typeof path === 'string') return [[path.split('/').at(-1)!, logicalId]];
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    const code = isObject(properties.Code) ? properties.Code : {};
    const key = typeof code.S3Key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(code.S3Key) : null;
    return key ? [[`asset.${key[1]}`, logicalId]] : [];
  });
}

const SCRIPT = /\.(?:m?js|cjs)$/;
const BINARY = /\.(?:zip|gz|jar|png|jpg|node|wasm|bin)$/;

/**
 * A package file's readable strings. Scripts are tokenized: string literals and
 * template chunks, identifiers (property names survive minification), comments
 * and regular expressions are "package code"; the first argument of a logging
 * call is a "log literal" instead (it becomes a log line). Other text files (a
 * README, package.json) are read line by line.
 */
function packageFileItems(path: string, where: string): Item[] {
  if (BINARY.test(path)) return [];
  const text = readFileSync(path, 'utf8');
  if (!SCRIPT.test(path)) {
    return text
      .split('\n')
      .map((line, i) => ({ surface: 'package code' as const, where: `${where}:${i + 1}`, text: line }))
      .filter((item) => item.text.trim() !== '');
  }
  return jsTokens(text).map((token) => ({
    surface: token.logMessage ? 'log literal' : 'package code',
    where: `${where}:${token.line} ${token.kind}`,
    text: token.text,
  }));
}

// ---------------------------------------------------------------- templates

interface StackContext {
  stackName: string;
  account: string;
  region: string;
}

/** Resource types whose whole properties are a policy document or a policy's targets. */
const POLICY_TYPES = new Set([
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::Events::EventBusPolicy',
  'AWS::Lambda::Permission',
]);
/** Property names that hold a policy inside another resource. */
const POLICY_KEYS =
  /^(?:PolicyDocument|AssumeRolePolicyDocument|Policies|ManagedPolicyArns|KeyPolicy|ResourcePolicy|Policy|PermissionsBoundary)$/;

function surfaceOfProperty(type: string, path: string[]): Surface {
  if (path.some((key) => key === 'Tags' || key === 'tags')) return 'tag';
  if (type === 'AWS::Lambda::Function' && path[0] === 'Environment') return 'environment';
  if (POLICY_TYPES.has(type) || path.some((key) => POLICY_KEYS.test(key))) return 'policy';
  if (type === 'AWS::StepFunctions::StateMachine' && /^Definition/.test(path[0] ?? ''))
    return 'state machine';
  if (type === 'AWS::CloudWatch::Dashboard') return 'dashboard';
  if (type === 'AWS::Events::Rule') return 'rule';
  if (type === 'AWS::CloudTrail::Trail') return 'trail';
  if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') return 'custom resource';
  return 'template';
}

/** Every string of a template, with the surface an attacker reads it through. */
export function templateItems(template: Json, stack: StackContext): Item[] {
  const items: Item[] = [];
  const push = (surface: Surface, where: string, text: string) => items.push({ surface, where, text });
  const root = isObject(template) ? template : {};
  for (const [section, body] of Object.entries(root)) {
    if (section === 'Resources' && isObject(body)) {
      for (const [logicalId, resource] of Object.entries(body)) {
        const where = `${stack.stackName} ${logicalId}`;
        push('template', `${where} (logical id)`, logicalId);
        if (!isObject(resource)) continue;
        const type = typeof resource.Type === 'string' ? resource.Type : '';
        for (const [key, value] of Object.entries(resource)) {
          if (key === 'Type') continue;
          if (key === 'Properties' && isObject(value)) {
            for (const [property, propertyValue] of Object.entries(value)) {
              walkStrings(resolveTokens(propertyValue, stack), [property], (path, text) =>
                push(surfaceOfProperty(type, path), `${where}.${path.join('.')}`, text),
              );
            }
          } else {
            const surface: Surface = key === 'Metadata' ? 'metadata' : 'template';
            walkStrings(resolveTokens(value, stack), [key], (path, text) =>
              push(surface, `${where}.${path.join('.')}`, text),
            );
          }
        }
      }
    } else {
      const surface: Surface =
        section === 'Outputs' ? 'output' : section === 'Metadata' ? 'metadata' : 'template';
      walkStrings(resolveTokens(body, stack), [section], (path, text) =>
        push(surface, `${stack.stackName} ${path.join('.')}`, text),
      );
    }
  }
  return items;
}

/**
 * Calls `visit` on every string and every object key, with its path. A string
 * holding JSON (a state machine definition, a dashboard body, a custom resource's
 * property) is opened and walked too, so each state name or widget title is an
 * item of its own; the CDK's gzipped construct list is unzipped.
 */
function walkStrings(value: Json, path: string[], visit: (path: string[], text: string) => void): void {
  if (typeof value === 'string') {
    const inner = embeddedJson(value);
    if (inner !== undefined) walkStrings(inner, [...path, '<json>'], visit);
    else if (value.startsWith(ANALYTICS_PREFIX)) visit([...path, '<gzip>'], analyticsText(value));
    else visit(path, value);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) walkStrings(item, [...path, String(i)], visit);
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      visit([...path, '<key>'], key);
      walkStrings(item, [...path, key], visit);
    }
  }
}

/** AWS::CDK::Metadata's `Analytics`: the constructs used, gzipped, readable by anyone who unzips it. */
const ANALYTICS_PREFIX = 'v2:deflate64:';

function analyticsText(value: string): string {
  try {
    return gunzipSync(Buffer.from(value.slice(ANALYTICS_PREFIX.length), 'base64')).toString('utf8');
  } catch {
    return value;
  }
}

function embeddedJson(text: string): Json | undefined {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return undefined;
  try {
    return JSON.parse(trimmed) as Json;
  } catch {
    return undefined;
  }
}

/**
 * Joins `Fn::Join` and fills the pseudo parameters an attacker knows (account,
 * region, partition), so a name split across intrinsic functions is seen whole;
 * any other reference stays as `${Ref:X}` or `${GetAtt:X.Y}`, still readable.
 */
export function resolveTokens(value: Json, stack: StackContext): Json {
  if (Array.isArray(value)) return value.map((item) => resolveTokens(item, stack));
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const token = tokenText(value, stack);
    if (token !== undefined) return token;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveTokens(item, stack)]));
}

const PSEUDO: Record<string, (stack: StackContext) => string> = {
  'AWS::AccountId': (stack) => stack.account,
  'AWS::Region': (stack) => stack.region,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
};

function tokenText(value: { [key: string]: Json }, stack: StackContext): string | undefined {
  const ref = value.Ref;
  if (typeof ref === 'string') return PSEUDO[ref]?.(stack) ?? `\${Ref:${ref}}`;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${GetAtt:${getAtt.join('.')}}`;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map((part) => resolveTokens(part, stack));
    if (parts.every((part) => typeof part === 'string')) return parts.join(join[0]);
  }
  return undefined;
}

export function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
