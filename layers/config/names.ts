import type { HoneytrailConfig } from './schema';

/**
 * Deployed names derived from the stack name, in one place: the stack creates
 * the resources under these names, and the command line and the drill find (or
 * model) them by the same names. Neutral, like any platform stack's: they are
 * visible to anyone with ReadOnlyAccess.
 */
type Named = Pick<HoneytrailConfig, 'stackName'>;

/** The central event bus findings and CloudTrail events are routed to. */
export function centralBusName(config: Named): string {
  return `${config.stackName}-events`;
}

/** The trail the stack creates (trail.mode "create"). */
export function auditTrailName(config: Named): string {
  return `${config.stackName}-audit`;
}

/** Deployed detection rule names: `<stack name>-route-NN`. */
export function routeNamePrefix(config: Named): string {
  return `${config.stackName.slice(0, 50)}-route-`;
}

/** The response state machine (at most 80 characters, Step Functions' limit). */
export function workflowStateMachineName(config: Named): string {
  return `${config.stackName}-access-review`.slice(0, 80);
}

type OrganizationNamed = Pick<HoneytrailConfig, 'stackName' | 'organization'>;

/**
 * The role each member account gets and the control plane assumes, under the same
 * path as every role of the stack (`/<stack name>/`, infra/aspects/role-path.ts), so
 * the response's Deny on `role/<path>*` keeps it off that role too. `account` `*`:
 * the pattern for every member (sts:AssumeRole grants, protected principals).
 */
export function memberRoleArn(config: OrganizationNamed, partition: string, account = '*'): string {
  const name = config.organization?.memberRoleName;
  if (!name) throw new Error('memberRoleArn: the config has no organization block (single-account mode)');
  return `arn:${partition}:iam::${account}:role/${config.stackName}/${name}`;
}

/** StackSet names (the security account lists them; members see only their stack instances). */
export function memberStackSetName(config: Named, part: 'access' | 'routing' | 'routing-opt-in'): string {
  return `${config.stackName.slice(0, 100)}-${part}`;
}
