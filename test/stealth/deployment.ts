import type { HoneytrailConfig } from '../../layers/config/schema';
import { type Decoy, planDecoys } from '../../layers/decoys/catalogue';
import { type AuditResult, audit, namesOfPlan } from './audit';
import { collectAssembly, isObject, type Json, resolveTokens } from './collect';
import { type PlantedContents, plantInMemory } from './plant';

export interface DeploymentAudit extends AuditResult {
  stacks: { name: string; account: string; region: string }[];
  account: string;
  homeRegion: string;
  /** The decoy names searched for: the plan's and the in-memory registry's. */
  decoyNames: string[];
}

/**
 * The whole audit of one deployment: the synthesized assembly in `dir`, and what
 * the planter writes when the home stack's planter custom resource is created
 * with the properties the template gives it. The decoy names come from
 * `planDecoys` (or `plan`, a `honeytrail plan --json` list, when given) and from
 * the registry the in-memory plant leaves behind.
 */
export async function auditDeployment(
  dir: string,
  config: HoneytrailConfig,
  options: { plan?: readonly Decoy[] } = {},
): Promise<DeploymentAudit> {
  const assembly = collectAssembly(dir);
  const home = assembly.stacks.find((stack) => stack.region === config.homeRegion) ?? assembly.stacks[0];
  if (!home) throw new Error(`${dir}: the assembly holds no stack`);
  if (!/^\d{12}$/.test(home.account))
    throw new Error(`${dir}: stack ${home.name} has no concrete account (${home.account || 'none'})`);
  // Joined, with the account, region and partition filled in, as CloudFormation sends them.
  const stackContext = { stackName: home.name, account: home.account, region: home.region };
  const properties = planterProperties(resolveTokens(home.template, stackContext));
  const planted: PlantedContents = properties
    ? await plantInMemory({ account: home.account, region: home.region, stackName: home.name, properties })
    : { items: [], registryNames: [] };
  const plan =
    options.plan ?? planDecoys(config, { account: home.account, region: config.homeRegion }).resources;
  const decoyNames = [...new Set([...namesOfPlan(plan), ...planted.registryNames])].sort();
  const result = audit([...assembly.items, ...planted.items], {
    decoyNames,
    sourceMaps: assembly.sourceMaps,
  });
  return {
    ...result,
    stacks: assembly.stacks.map(({ name, account, region }) => ({ name, account, region })),
    account: home.account,
    homeRegion: home.region,
    decoyNames,
  };
}

/** The planter's custom resource: the one whose properties carry the decoys' `Shape` (or an older `Plan`). */
function planterProperties(template: Json): Record<string, unknown> | undefined {
  const resources = isObject(template) && isObject(template.Resources) ? template.Resources : {};
  for (const resource of Object.values(resources)) {
    const properties = isObject(resource) && isObject(resource.Properties) ? resource.Properties : undefined;
    if (properties && ('Shape' in properties || 'Plan' in properties)) return properties;
  }
  return undefined;
}
