import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { runProgram } from '../../bin/cli';
import { type DrillHooks, registerDrill } from '../../bin/commands/drill';
import { runDrill } from '../../layers/drill/runner';
import { defaultScenario, loadScenario, parseScenario } from '../../layers/drill/scenario';
import type { StackTemplate } from '../../layers/drill/template';
import { captureOutput, honeytrail } from '../helpers/cli';
import { synthesizeInChild } from './synth-child';

/**
 * The drill end to end, as a user runs it: the default scenario passes with no
 * missed touch and no benign principal acted on; a rule pattern broken on purpose
 * in the synthesized template makes it fail.
 */

const dir = mkdtempSync(join(tmpdir(), 'drill-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The drill command alone, with test hooks, run as bin/cli.ts runs the whole program. */
async function drillWith(hooks: DrillHooks, ...args: string[]) {
  const program = new Command('honeytrail').exitOverride();
  registerDrill(program, hooks);
  return captureOutput(() => runProgram(program, ['node', 'honeytrail', 'drill', ...args]));
}

type Kpis = {
  findings: Record<string, number>;
  missedTouches: number;
  benignActedOn: number;
  recordToFindingMs: { p50: number; p99: number };
  findingToContainmentMs: { p50: number; p99: number };
  timeToDetectMs: { p50: number; max: number };
  incidents: number;
  responses: number;
  maxResponsesPerAttacker: number;
  attackersUnmet: number;
  attackersContained: number;
  actionsExecuted: number;
  passed: boolean;
};

describe('honeytrail drill (offline)', () => {
  it('plays the default scenario: every touch found, no benign principal acted on, KPIs on the last line, a report', {
    timeout: 240_000,
  }, async () => {
    const report = join(dir, 'drill.html');
    const { code, out, err } = await honeytrail('drill', '--json', '--report', report);
    expect(err).not.toMatch(/honeytrail:/);
    expect(code).toBe(0);

    const lines = out.trimEnd().split('\n');
    const kpis = JSON.parse(lines.at(-1)!) as Kpis;
    expect(kpis.missedTouches).toBe(0);
    expect(kpis.benignActedOn).toBe(0);
    expect(kpis.actionsExecuted).toBe(0);
    expect(kpis.passed).toBe(true);
    expect(kpis.findings['resource-access']).toBeGreaterThanOrEqual(4);
    expect(kpis.findings.tamper).toBeGreaterThanOrEqual(1);
    expect(kpis.findings.anomaly).toBeGreaterThanOrEqual(1);
    // One actor behind both principals (the leaked key, then the planted key, from one address):
    // one incident, one response per principal, every principal met, both within minutes
    // (a benign principal's low anomaly finding, scored as its log file arrives, may open a
    // notify-only incident of its own: see the incident lines below).
    expect(kpis.incidents).toBeGreaterThanOrEqual(1);
    expect(kpis).toMatchObject({
      attackersContained: 2,
      responses: 2,
      maxResponsesPerAttacker: 1,
      attackersUnmet: 0,
    });
    expect(kpis.timeToDetectMs.p50).toBeGreaterThanOrEqual(60_000);
    expect(kpis.timeToDetectMs.max).toBeLessThanOrEqual(600_000);
    for (const latency of [kpis.recordToFindingMs, kpis.findingToContainmentMs]) {
      expect(latency.p50).toBeGreaterThan(0);
      expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    }

    // The timeline tells the story: the .env read, the planted key, the trail (on stderr with --json).
    const timeline = `${out}\n${err}`;
    expect(timeline).toMatch(/s3:GetObject: reads the \.env file {2}-> [0-9a-f]{8}/);
    expect(timeline).toMatch(/finding [0-9a-f]{8} resource-access critical: Reserved access key used/);
    expect(timeline).toMatch(
      /finding [0-9a-f]{8} tamper critical: Trail .* tampered with \(cloudtrail:StopLogging\)/,
    );
    expect(timeline).toMatch(/response [0-9a-f]{8} dry-run \(user-key\): planned deactivate access key/);
    expect(timeline).toMatch(/result {16}PASS/);
    // The incidents, with the kill-chain stages their calls reached and the principals in them.
    expect(timeline).toMatch(/Incidents \(\d+\):\n {2}\S+ +\w+ +\d+ finding\(s\)/);
    expect(timeline).toMatch(/ {4}stages {6}\S/);
    expect(timeline).toMatch(/ {4}principals {2}arn:aws:/);
    const principalLines = timeline.split('\n').filter((line) => line.startsWith('    principals  '));
    // Both attack principals (alice's leaked key, the planted key's user) in one incident.
    expect(principalLines.filter((line) => /user\/alice\b.*, |, .*user\/alice\b/.test(line))).toHaveLength(1);

    const html = readFileSync(report, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(2);
    // The response's incidents, with their kill-chain stages.
    expect(html).toMatch(/<table class="incidents">.*kill-chain stages.*credential-access/s);
    expect(html).not.toMatch(/<script|https?:\/\/(?!docs)/i);
  });

  it('fails when a synthesized rule pattern no longer matches a decoy (the SSM source changed)', {
    timeout: 240_000,
  }, async () => {
    // The patterns name no decoy (names are chosen at plant time): break the service they match instead.
    const renamed = new Map<string, string>();
    const breakParameterPatterns: DrillHooks['alterTemplates'] = (stacks: StackTemplate[]) => {
      for (const stack of stacks) {
        for (const resource of Object.values(stack.template.Resources ?? {})) {
          if (resource.Type !== 'AWS::Events::Rule' || !resource.Properties?.EventPattern) continue;
          const text = JSON.stringify(resource.Properties.EventPattern);
          const broken = JSON.parse(
            text.replace(/ssm\.amazonaws\.com|"aws\.ssm"/g, (source) => {
              const broken = source.startsWith('"') ? '"example.ssm"' : 'ssm.example.com';
              renamed.set(source, broken);
              return broken;
            }),
          ) as Record<string, unknown>;
          // The rule for any call signed by a user key no longer takes SSM calls either.
          if (!broken.source) broken.source = [{ 'anything-but': ['aws.ssm'] }];
          resource.Properties.EventPattern = broken;
        }
      }
    };
    const report = join(dir, 'broken.html');
    const { code, out, err } = await drillWith(
      { alterTemplates: breakParameterPatterns },
      '--json',
      '--report',
      report,
    );
    expect(renamed.size).toBeGreaterThan(0);
    expect(code).toBe(1);
    const kpis = JSON.parse(out.trimEnd().split('\n').at(-1)!) as Kpis;
    expect(kpis.missedTouches).toBeGreaterThan(0);
    expect(kpis.passed).toBe(false);
    expect(`${out}\n${err}`).toMatch(/ssm:GetParameter: reads the database password .* -> MISSED/);
    expect(err).toMatch(
      /drill failed: \d+ decoy touch\(es\) produced no finding: step 10 ssm:GetParameter in us-east-1 \(no deployed rule in us-east-1 matches it\)/,
    );
    expect(readFileSync(report, 'utf8')).toMatch(/MISSED/);
  });

  it('fails when the response itself breaks (an execution ends FAILED)', { timeout: 240_000 }, async () => {
    // The state machine's ledger tasks call the evidence function instead, which rejects their input.
    const breakWorkflow: DrillHooks['alterTemplates'] = (stacks: StackTemplate[]) => {
      for (const stack of stacks) {
        for (const resource of Object.values(stack.template.Resources ?? {})) {
          if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
          const text = JSON.stringify(resource.Properties?.DefinitionString);
          const evidence = /WorkflowInventoryFunction[0-9A-F]{8}/.exec(text)?.[0];
          expect(evidence).toBeDefined();
          resource.Properties!.DefinitionString = JSON.parse(
            text.replace(/WorkflowLedgerFunction[0-9A-F]{8}/g, evidence!),
          );
        }
      }
    };
    const { code, out, err } = await drillWith(
      { alterTemplates: breakWorkflow },
      '--json',
      '--report',
      join(dir, 'x.html'),
    );
    expect(code).toBe(1);
    const kpis = JSON.parse(out.trimEnd().split('\n').at(-1)!) as Kpis & { responsesFailed: number };
    expect(kpis.responsesFailed).toBeGreaterThan(0);
    expect(err).toMatch(/response execution\(s\) failed/);
  });

  it('matches each record against the rules deployed in its region: a monitored region is seen, another is not', {
    timeout: 240_000,
  }, async () => {
    const base = defaultScenario();
    const scenario = parseScenario({
      ...base,
      attack: {
        ...base.attack,
        steps: [
          ...base.attack.steps,
          {
            actor: 'planted-key',
            after: '1m',
            call: 'sts:GetCallerIdentity',
            region: 'eu-west-1',
            touchesDecoy: true,
          },
          {
            actor: 'planted-key',
            after: '1m',
            call: 'ec2:DescribeInstances',
            // Hong Kong is opt-in: not covered unless monitoredRegions lists it.
            region: 'ap-east-1',
            touchesDecoy: true,
          },
        ],
      },
    });
    const config = { monitoredRegions: ['eu-west-1'] };
    // Synthesized in a child process: one long synchronous block would starve vitest's worker RPC.
    const deployment = await synthesizeInChild(config, scenario.account);
    const result = await runDrill({ config, scenario, deployment });
    const [ireland, hongKong] = result.steps.slice(-2);
    expect(ireland!.detected).toBe(true);
    // Forwarded by the regional stack's rule to the central bus, then to the touch function.
    expect(ireland!.rules[0]).toMatch(/^eu-west-1\/.*-route-10 > us-east-1\/.*-route-10$/);
    expect(hongKong!.detected).toBe(false);
    expect(hongKong!.missReason).toBe('no rule is deployed in ap-east-1');
    expect(result.kpis.missedTouches).toBe(1);
    expect(result.failures[0]).toMatch(
      new RegExp(
        `step ${result.steps.length - 1} ec2:DescribeInstances in ap-east-1 \\(no rule is deployed in ap-east-1\\)`,
      ),
    );
  });

  it("scores log files as they are delivered: a copied key is met within minutes, not at the hour window's end", {
    timeout: 240_000,
  }, async () => {
    const scenario = loadScenario(
      fileURLToPath(new URL('../../layers/drill/scenarios/verdict-key-two-networks.json', import.meta.url)),
    );
    const config = {};
    const deployment = await synthesizeInChild(config, scenario.account);
    const result = await runDrill({ config, scenario, deployment });
    const anomalies = result.findings.filter((report) => report.finding.kind === 'anomaly');
    expect(anomalies.length).toBeGreaterThanOrEqual(1);
    // Raised when a log file arrives (5-minute files, the scenario's delay), with the verdict's reason.
    expect(anomalies[0]!.time % 300_000).not.toBe(0);
    expect(JSON.stringify(anomalies[0]!.finding)).toMatch(/key-two-networks/);
    expect(result.kpis).toMatchObject({
      passed: true,
      incidents: 1,
      responses: 1,
      maxResponsesPerAttacker: 1,
      attackersUnmet: 0,
      benignActedOn: 0,
    });
    expect(result.kpis.timeToDetectMs.max).toBeLessThanOrEqual(600_000);
    expect(result.incidents[0]!.principals).toContain(anomalies[0]!.finding.actor.arn);
  });

  it('names the wrong field of a malformed scenario file, before synthesizing anything', async () => {
    const file = join(dir, 'bad-scenario.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'bad',
        actors: { me: { synthetic: 'alice', sourceIp: '198.51.100.7' } },
        attack: {
          steps: [
            { actor: 'me', call: 'GetObject' },
            { actor: 'someone', call: 's3:GetObject', after: 'soon' },
          ],
        },
      }),
    );
    const { code, err } = await honeytrail('drill', '--scenario', file);
    expect(code).toBe(1);
    expect(err).toContain('is not a valid scenario');
    expect(err).toContain(
      'attack.steps.0.call: expected service:EventName such as s3:GetObject (got "GetObject")',
    );
    expect(err).toContain('attack.steps.1.after: expected a duration');
    expect(err).toContain('attack.steps.1.actor: no actor "someone" in "actors" (known: me)');
    expect(err).not.toContain('synthesizing');
  });
});
