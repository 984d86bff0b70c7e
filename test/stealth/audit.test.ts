import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRegions, type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { TEST_ACCOUNT } from '../helpers/app';
import { audit, countLines, findingSummary } from './audit';
import { templateItems } from './collect';
import { auditDeployment, type DeploymentAudit } from './deployment';
import { jsTokens } from './js-tokens';
import { trailSelectorItems } from './plant';

/**
 * The test an attacker would run (issue #10, item 7): synthesize the deployment
 * as `cdk synth` does, with every function bundled, read everything ReadOnlyAccess
 * can read of it and of what the planter writes, and require no marker word, no
 * UUID-shaped name and no decoy name outside the registry, and no source map.
 * `npx tsx test/stealth/report.ts DIR` prints the same counts for any assembly.
 */

/** Every region's stack is read: one per region events are forwarded from (allRegions). */
const configs: { label: string; config: HoneytrailConfigInput }[] = [
  { label: 'the default config', config: {} },
  { label: 'an opt-in region monitored too', config: { monitoredRegions: ['ap-east-1'] } },
];

const SYNTH = join(dirname(fileURLToPath(import.meta.url)), 'synth.ts');
const workdir = mkdtempSync(join(tmpdir(), 'stealth-audit-'));
const results = new Map<string, DeploymentAudit>();

/**
 * One synthesis per config, every function bundled (synth.ts), all in one child
 * process: the worker's event loop stays free meanwhile, and the CDK loads once.
 */
beforeAll(async () => {
  const outdirs = configs.map((_, i) => join(workdir, `assembly-${i}`));
  const args = configs.flatMap(({ config }, i) => [outdirs[i]!, JSON.stringify(config)]);
  await promisify(execFile)(process.execPath, ['--import', 'tsx', SYNTH, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const [i, { label, config }] of configs.entries()) {
    const result = await auditDeployment(outdirs[i]!, parseConfig(config));
    results.set(label, result);
    console.log([`stealth audit, ${label}:`, ...countLines(result)].join('\n'));
  }
}, 600_000);
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

describe.each(configs)('stealth audit of $label', ({ label, config }) => {
  const regions = allRegions(parseConfig(config));
  const result = () => results.get(label)!;

  it('read every stack and every surface: templates, bundled code, log literals, what the planter writes', () => {
    const { stacks, counts, decoyNames } = result();
    expect(stacks.map((stack) => [stack.account, stack.region]).sort()).toEqual(
      regions.map((region) => [TEST_ACCOUNT, region]).sort(),
    );
    expect(counts.template.items).toBeGreaterThan(100);
    expect(counts.rule.items).toBeGreaterThan(10);
    expect(counts.policy.items).toBeGreaterThan(100);
    expect(counts.environment.items).toBeGreaterThan(10);
    expect(counts['state machine'].items).toBeGreaterThan(100);
    expect(counts['package code'].items).toBeGreaterThan(100_000);
    expect(counts['log literal'].items).toBeGreaterThan(10);
    expect(counts.bait.items).toBeGreaterThan(100);
    // The planter's own writes beyond the bait: the trail's selectors, its log lines.
    expect(counts.trail.items).toBeGreaterThan(10);
    expect(counts['log line'].items).toBeGreaterThan(0);
    expect(decoyNames.length).toBeGreaterThan(5);
  });

  it('finds no source map, no marker word, no UUID-shaped name and no decoy name outside the registry', () => {
    expect(findingSummary(result().findings)).toEqual([]);
  });
});

describe('the audit itself', () => {
  const stack = { stackName: 'S', account: '111122223333', region: 'us-east-1' };

  it('reads names split across Fn::Join and JSON held in a string, each where an attacker finds it', () => {
    const template = {
      Resources: {
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: { EventPattern: { detail: { bucketName: ['orders-exports'] } } },
        },
        Policy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyDocument: {
              Statement: [
                {
                  Resource: {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':iam::',
                        { Ref: 'AWS::AccountId' },
                        ':user/ci-deploy',
                      ],
                    ],
                  },
                },
              ],
            },
          },
        },
        Machine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            DefinitionString: '{"StartAt":"CheckDecoy","States":{"CheckDecoy":{"Type":"Pass"}}}',
          },
        },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Environment: { Variables: { TABLE: 'x' } },
            Tags: [{ Key: 'purpose', Value: 'honeypot' }],
          },
        },
      },
    };
    const items = templateItems(template, stack);
    const result = audit(items, { decoyNames: ['orders-exports', 'ci-deploy'] });
    expect(result.findings.map((f) => [f.kind, f.surface, f.detail])).toEqual([
      ['decoy name', 'rule', 'orders-exports'],
      ['decoy name', 'policy', 'ci-deploy'],
      ['marker', 'state machine', 'contains "decoy"'],
      ['marker', 'state machine', 'contains "decoy"'],
      ['marker', 'tag', 'contains "honey"'],
    ]);
    expect(items).toContainEqual({
      surface: 'policy',
      where: 'S Policy.PolicyDocument.Statement.0.Resource',
      text: 'arn:aws:iam::111122223333:user/ci-deploy',
    });
  });

  it('tokenizes bundled code: strings, template chunks, regular expressions, comments and log messages', () => {
    const code = [
      '// checks the decoys',
      'const a=x/2/y, r=/honey["]/g;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source holding a template literal
      'Sk.info("keys checked",{n:a}); o?.warn?.(`bait ${a} left`);',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source holding a template literal
      'const t={k:`a${ {b:1}.b }trap`};',
    ].join('\n');
    const tokens = jsTokens(code);
    expect(tokens.filter((t) => t.kind === 'comment').map((t) => t.text)).toEqual(['// checks the decoys']);
    expect(tokens.filter((t) => t.kind === 'regex').map((t) => t.text)).toEqual(['/honey["]/g']);
    expect(tokens.filter((t) => t.logMessage).map((t) => t.text)).toEqual(['keys checked', 'bait ']);
    expect(tokens.filter((t) => t.kind === 'string').map((t) => t.text)).toEqual([
      'keys checked',
      'bait ',
      ' left',
      'a',
      'trap',
    ]);
    expect(tokens.find((t) => t.text === 'trap')?.line).toBe(4);
  });

  it('lets the trail name a planted bucket only among enough buckets of the account', () => {
    const selectors = (buckets: string[]) => [
      [
        {
          Name: 'Object activity',
          FieldSelectors: [{ Field: 'resources.ARN', StartsWith: buckets.map((b) => `arn:aws:s3:::${b}/`) }],
        },
      ],
    ];
    const decoyNames = ['orders-dumps'];
    const alone = trailSelectorItems(selectors(['orders-dumps', 'web-assets']), decoyNames);
    expect(audit(alone, { decoyNames }).findings.map((f) => [f.kind, f.surface, f.where])).toEqual([
      [
        'decoy name',
        'trail',
        'planter cloudtrail:PutEventSelectors[0][0].FieldSelectors[0].StartsWith[0] (1 other buckets)',
      ],
    ]);
    const covered = trailSelectorItems(
      selectors(['build-cache', 'orders-dumps', 'reports', 'web-assets']),
      decoyNames,
    );
    expect(audit(covered, { decoyNames }).findings).toEqual([]);
  });

  it('allows a UUID only as a terraform state lineage, or the nil UUID in a pattern', () => {
    const lineage = '  "lineage": "0f8fad5b-d9cb-469f-a165-70867728950e",';
    const result = audit(
      [
        { surface: 'bait', where: 'state', text: lineage, format: 'terraform-state' },
        { surface: 'bait', where: 'env', text: lineage },
        { surface: 'package code', where: 'zod', text: '/^(00000000-0000-0000-0000-000000000000)$/' },
        { surface: 'bait', where: 'tag', text: 'orders-exports', namesAllowed: true },
      ],
      { decoyNames: ['orders-exports'], sourceMaps: ['fn/index.mjs.map'] },
    );
    expect(result.findings.map((f) => [f.kind, f.where])).toEqual([
      ['marker', 'env'],
      ['source map', 'fn/index.mjs.map'],
    ]);
  });
});
