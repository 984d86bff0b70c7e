import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { buildApp } from '../../infra/app-builder';
import { DecoyFleet } from '../../infra/constructs/decoy-fleet';
import { EventRouting } from '../../infra/constructs/event-routing';
import { IncidentWorkflow } from '../../infra/constructs/incident-workflow';
import type { HoneytrailConfig, HoneytrailConfigInput } from '../config/schema';
import { planFromNames, shapeOf } from '../decoys/catalogue';
import { emptyInventory } from '../decoys/inventory';
import { chooseNames } from '../decoys/naming';
import { newNamingSeed } from '../decoys/planter';
import { seededRandom } from '../decoys/random';
import type { KnownDecoy } from '../detection/rules';
import { loggedBucketSelectors } from '../detection/trail-selectors';
import { type DrillWorld, madeUpKeyId } from './play';
import { type AdvancedSelector, type DeployedTrail, deployedTrails } from './routing';
import { type DeployedRule, deployedRules, functionOf, type StackTemplate, stateMachineOf } from './template';

/**
 * The deployment the drill plays against: the app synthesized offline with the
 * drill's account, read back from its templates (rules, trails, the functions'
 * environments, the state machine), and the decoys it plants.
 */

export interface DeployedFunction {
  arn: string;
  environment: Record<string, string>;
}

export interface DeployedResponse {
  intake: DeployedFunction;
  ledger: DeployedFunction;
  evidence: DeployedFunction;
  rotation: DeployedFunction;
  planter?: DeployedFunction;
  stateMachine: { arn: string; definition: Record<string, unknown> };
}

export interface Deployment {
  config: HoneytrailConfig;
  stacks: StackTemplate[];
  rules: DeployedRule[];
  trails: DeployedTrail[];
  touch: DeployedFunction;
  /** Absent when the app deploys no response workflow. */
  response?: DeployedResponse;
  world: DrillWorld;
  synthMs: number;
}

export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
}

export interface SynthOptions {
  config: HoneytrailConfigInput;
  account: string;
  /** Changes the synthesized templates before they are read (tests break a pattern on purpose). */
  alterTemplates?: (stacks: StackTemplate[]) => void;
  /** The planter's secret naming seed; default a fresh one, as at a first deploy. */
  namingSeed?: string;
}

/** Synthesizes the app (no bundling, no nag) and reads what it would deploy. */
export function synthesizeDeployment(options: SynthOptions): Deployment {
  const started = performance.now();
  const outdir = mkdtempSync(join(tmpdir(), 'drill-synth-'));
  try {
    // The plan and the template must agree on the account.
    const built = buildApp(
      {
        outdir,
        context: { 'aws:cdk:bundling-stacks': [], honeytrail: options.config },
        // CDK's built-in CloudFormation validation (a WASM engine) takes most of a synthesis
        // (about 14 of 16 s here); `cdk synth` still runs it, the drill reads the templates only.
        builtinCloudFormationValidation: false,
      },
      { nag: false, account: options.account },
    );
    const assembly = built.app.synth();
    const stacks: StackTemplate[] = assembly.stacks.map((artifact) => ({
      stackName: artifact.stackName,
      id: artifact.id,
      account: artifact.environment.account,
      region: artifact.environment.region,
      template: structuredClone(artifact.template),
    }));
    options.alterTemplates?.(stacks);
    const main = stacks.find((stack) => stack.stackName === built.main.stackName);
    if (!main) throw new DeploymentError(`the app has no stack named ${built.main.stackName}`);
    const logicalId = (construct: Construct) =>
      Stack.of(construct).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;
    const find = <T>(type: abstract new (...args: never[]) => T): T | undefined =>
      built.main.node.findAll().find((c): c is T & Construct => c instanceof type) as T | undefined;

    const routing = find(EventRouting);
    if (!routing)
      throw new DeploymentError('the main stack has no event routing: nothing would detect a touch');
    const touch = functionOf(main, logicalId(routing.touchFunction.function));
    const fleet = find(DecoyFleet);
    const workflow = find(IncidentWorkflow);
    const response: DeployedResponse | undefined = workflow
      ? {
          intake: functionOf(main, logicalId(workflow.intake.function)),
          ledger: functionOf(main, logicalId(workflow.ledger.function)),
          evidence: functionOf(main, logicalId(workflow.evidence.function)),
          rotation: functionOf(main, logicalId(workflow.rotation.function)),
          ...(fleet ? { planter: functionOf(main, logicalId(fleet.plantFunction.function)) } : {}),
          stateMachine: stateMachineOf(main, logicalId(workflow.stateMachine)),
        }
      : undefined;

    const config = built.config;
    const world = plannedWorld(config, touch, options.account, options.namingSeed);
    const plan = { resources: world.decoys };
    return {
      config,
      stacks,
      rules: deployedRules(stacks),
      trails: withPlantTimeSelectors(
        deployedTrails(stacks),
        fleet ? functionOf(main, logicalId(fleet.plantFunction.function)) : undefined,
        plan.resources,
      ),
      touch,
      ...(response ? { response } : {}),
      world,
      synthMs: performance.now() - started,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The world of one account as the planter leaves it in an empty account: names
 * drawn with a fresh secret seed, known to the drill only as the registry would hold
 * them (the template has none), the planted key with the id the registry holds.
 */
export function plannedWorld(
  config: HoneytrailConfig,
  touch: DeployedFunction,
  account: string,
  namingSeed?: string,
): DrillWorld {
  const shape = shapeOf(config);
  const names = chooseNames(
    shape,
    emptyInventory(account, config.homeRegion),
    seededRandom(namingSeed ?? newNamingSeed()),
  );
  const plan = planFromNames(shape, names, { account, region: config.homeRegion });
  const plantedKeyId = madeUpKeyId('AKIA', `${account}:planted-key`);
  // The registry holds the planted key's id once planted; the touch function reads it from there.
  const decoys: KnownDecoy[] = plan.resources.map((decoy) =>
    decoy.kind === 'iam-access-key' ? { ...decoy, accessKeyId: plantedKeyId } : { ...decoy },
  );
  const env = touch.environment;
  return {
    account,
    homeRegion: config.homeRegion,
    partition: 'aws',
    decoys,
    plantedKeyId,
    trailName: required(env, 'AUDIT_TRAIL_NAME'),
    trailArn: required(env, 'AUDIT_TRAIL_ARN'),
    busName: required(env, 'BUS_NAME'),
    keyArn: env.KEY_ARN ?? '',
  };
}

function required(environment: Record<string, string>, name: string): string {
  const value = environment[name];
  if (!value) throw new DeploymentError(`the touch function's environment has no ${name}`);
  return value;
}

/**
 * What the planter does to the stack's trail at plant time (TRAIL_ARN in its
 * environment): the planted bucket's object events added to the selectors, which
 * the template cannot name. The drill plays the trail as it is after planting.
 */
function withPlantTimeSelectors(
  trails: DeployedTrail[],
  planter: DeployedFunction | undefined,
  decoys: readonly { kind: string; name: string }[],
): DeployedTrail[] {
  const trailArn = planter?.environment.TRAIL_ARN;
  const bucket = decoys.find((d) => d.kind === 's3-bucket')?.name;
  if (!trailArn || !bucket) return trails;
  const trailName = trailArn.split(':trail/')[1];
  const trailBucket = (planter.environment.TRAIL_BUCKET ?? '').toLowerCase();
  const selectors = loggedBucketSelectors({
    trailBucket: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(trailBucket) ? trailBucket : 'log-bucket',
    logged: [bucket],
    cover: [],
    partition: trailArn.split(':')[1] ?? 'aws',
  });
  return trails.map((trail) =>
    trail.name === trailName || trailArn.endsWith(`/${trail.name}`)
      ? { ...trail, advanced: selectors as AdvancedSelector[] }
      : trail,
  );
}
