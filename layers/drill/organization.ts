import type { HoneytrailConfigInput } from '../config/schema';
import { loggedBucketSelectors } from '../detection/trail-selectors';
import { type Deployment, plannedWorld } from './deployment';
import type { MemberWorlds } from './play';
import type { AdvancedSelector, DeployedTrail } from './routing';
import type { Scenario } from './scenario';
import { type DeployedRule, deployedRules, type StackTemplate, TemplateError } from './template';

/**
 * An organization drill: the app synthesized for the security account in
 * organization mode, decoys planted in each member account as the control plane
 * plants them (the registry in the security account knows them all), and member
 * events reaching the central bus through the member-side forwarding rules: the
 * rules of the member template the StackSet carries when the synthesized app has
 * one, else modelled as the broad forwarding rules of the security account's own
 * stacks, deployed in each member account (they name no decoy and no member).
 */

export interface OrganizationWorld {
  securityAccount: string;
  members: MemberWorlds;
  /** Member-side rules, one copy per member account and covered region. */
  memberRules: DeployedRule[];
  /** Where the member rules come from. */
  memberRulesFrom: 'stack-set' | 'modelled';
  /** The organization trail: management events and the planted buckets' object events of every member. */
  trails: DeployedTrail[];
  regions: string[];
}

const BUS_ARN = /^arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus\//;
/** A placeholder OU for scenarios that name none: a StackSet needs one. */
const SCENARIO_OU = 'ou-ab12-cdef3456';

/** The regions an organization scenario covers: those it names, else its steps' and the home region. */
export function organizationRegions(scenario: Scenario, homeRegion: string): string[] {
  const named = scenario.organization?.regions;
  if (named) return [...new Set([homeRegion, ...named])];
  const used = scenario.attack.steps.map((step) => step.region).filter((r): r is string => Boolean(r));
  return [...new Set([homeRegion, 'us-east-1', ...used])];
}

/** The config an organization scenario is drilled with: the given one, in organization mode. */
export function organizationConfig(config: HoneytrailConfigInput, scenario: Scenario): HoneytrailConfigInput {
  const organization = scenario.organization;
  if (!organization || config.organization) return config;
  const members = Object.values(organization.members);
  const regions = organizationRegions(scenario, config.homeRegion ?? 'us-east-1');
  return {
    ...config,
    organization: {
      securityAccount: organization.securityAccount,
      targets: { organizationalUnitIds: [SCENARIO_OU], accounts: members },
      regions,
      // The drill plans responses (dry-run): automatic action everywhere shows where it would act.
      automation: { accounts: members, organizationalUnitIds: [] },
    },
  };
}

export function organizationWorld(deployment: Deployment, scenario: Scenario): OrganizationWorld {
  const organization = scenario.organization;
  if (!organization) throw new TemplateError(`scenario ${scenario.name} has no "organization"`);
  const { config } = deployment;
  const regions = organizationRegions(scenario, config.homeRegion);
  const members: MemberWorlds = {};
  for (const [name, account] of Object.entries(organization.members)) {
    // A seed per member, fixed by its account: each member draws its own names, as the
    // planter does with a secret seed per account, and the play is the same every run.
    const world = plannedWorld(config, deployment.touch, account, `drill:${account}`);
    members[name] = {
      ...world,
      // Each member's planted parameters use a key of its own.
      keyArn: world.keyArn.replace(/:\d{12}:/, `:${account}:`),
    };
  }
  const accounts = Object.values(organization.members);
  const fromStackSet = stackSetRules(deployment.stacks, accounts, regions);
  const memberRules = fromStackSet ?? modelledMemberRules(deployment.rules, accounts, regions);
  const buckets = Object.values(members).flatMap((world) =>
    world.decoys.filter((d) => d.kind === 's3-bucket').map((d) => d.name),
  );
  const trail: DeployedTrail = {
    stackName: 'organization',
    region: config.homeRegion,
    name: 'organization-trail',
    multiRegion: true,
    logging: true,
    advanced: loggedBucketSelectors({
      trailBucket: 'log-archive',
      logged: buckets,
      cover: [],
      partition: 'aws',
    }) as AdvancedSelector[],
  };
  return {
    securityAccount: organization.securityAccount,
    members,
    memberRules,
    memberRulesFrom: fromStackSet ? 'stack-set' : 'modelled',
    trails: [trail],
    regions,
  };
}

/**
 * The forwarding rules of a StackSet's member template (TemplateBody), one copy
 * per member account and StackSet region; undefined when the synthesized app has
 * no StackSet carrying rules.
 */
export function stackSetRules(
  stacks: readonly StackTemplate[],
  accounts: readonly string[],
  regions: readonly string[],
): DeployedRule[] | undefined {
  const rules: DeployedRule[] = [];
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Type !== 'AWS::CloudFormation::StackSet') continue;
      const body = resource.Properties?.TemplateBody;
      if (typeof body !== 'string' || !body.includes('AWS::Events::Rule')) continue;
      const template = JSON.parse(body) as StackTemplate['template'];
      const groups = (resource.Properties?.StackInstancesGroup ?? []) as { Regions?: unknown }[];
      const setRegions = groups.flatMap((g) => (Array.isArray(g.Regions) ? g.Regions : [])).map(String);
      const covered = setRegions.length > 0 ? setRegions.filter((r) => regions.includes(r)) : regions;
      for (const account of accounts) {
        for (const region of covered) {
          rules.push(
            ...deployedRules([
              { stackName: `StackSet-${logicalId}-${account}`, id: logicalId, account, region, template },
            ]),
          );
        }
      }
    }
  }
  return rules.length > 0 ? rules : undefined;
}

/**
 * The member-side forwarding as the issue specifies it, when the app synthesizes
 * no member template: the security account's default-bus rules that forward to the
 * central bus (broad: services and API names), deployed in each member account.
 */
export function modelledMemberRules(
  rules: readonly DeployedRule[],
  accounts: readonly string[],
  regions: readonly string[],
): DeployedRule[] {
  const forwarding = rules.filter(
    (rule) => rule.bus === 'default' && rule.targets.some((target) => BUS_ARN.test(target.arn)),
  );
  const byRegion = new Map<string, DeployedRule[]>();
  for (const rule of forwarding) byRegion.set(rule.region, [...(byRegion.get(rule.region) ?? []), rule]);
  // Every region gets the home region's set when the app has no regional stack there.
  const template = byRegion.get('us-east-1') ?? forwarding;
  return accounts.flatMap((account) =>
    regions.flatMap((region) =>
      (byRegion.get(region) ?? template).map((rule) => ({
        ...rule,
        stackName: `member-${account}-${region}`,
        account,
        region,
        // The central bus is the security account's: the targets stay as synthesized.
        targets: rule.targets.filter((target) => BUS_ARN.test(target.arn)),
      })),
    ),
  );
}
