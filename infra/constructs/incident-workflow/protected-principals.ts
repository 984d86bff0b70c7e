import { Annotations, CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { HoneytrailConfig } from '../../../layers/config/schema';
import { roleIamPath } from '../../aspects/role-path';

/**
 * Who the response must never act on, as the deployment knows it: the IAM
 * resources its roles may touch, the protected ones denied explicitly, and the
 * stack's own roles handed to the policy gate.
 */

export type Kind = 'user' | 'role';

/** Every user or every role of the account: the principal to act on is only known at run time. */
export function iamResourceArn(stack: Stack, kind: Kind): string {
  return stack.formatArn({ service: 'iam', region: '', resource: kind, resourceName: '*' });
}

/**
 * The stack's own roles for the policy gate: every role's ARN while they fit the
 * function's 4 KB environment; beyond that patterns. The IAM Deny protects them
 * by their path whatever their names (protectedIamArns); the gate compares
 * actors, and an assumed-role ARN drops the path, so the second pattern is the
 * name prefix CloudFormation's generated names usually carry.
 */
const MAX_LISTED_ROLES = 25;
export function ownRoleEntries(stack: Stack, config: HoneytrailConfig): string[] {
  const roles = stackRoleArns(stack);
  if (roles.length <= MAX_LISTED_ROLES) return roles;
  const iamArn = (resource: string) => `arn:${stack.partition}:iam::${stack.account}:${resource}`;
  Annotations.of(stack).addWarningV2(
    'response:many-roles',
    `${roles.length} roles: the policy gate matches them by pattern (role${roleIamPath(config)}*, role/${config.stackName}-*); the IAM Deny by path`,
  );
  return [iamArn(`role${roleIamPath(config)}*`), iamArn(`role/${config.stackName}-*`)];
}

/** How many entries ownRoleEntries gives (without its warning): for sizing the policy at synth. */
export function ownRoleEntryCount(stack: Stack): number {
  const roles = stackRoleArns(stack).length;
  return roles <= MAX_LISTED_ROLES ? roles : 2;
}

/** Every IAM role of the stack (L2 and CDK's own providers'), as ARN tokens. */
function stackRoleArns(stack: Stack): string[] {
  return stack.node
    .findAll()
    .filter((c): c is CfnResource => c instanceof CfnResource && c.cfnResourceType === 'AWS::IAM::Role')
    .filter((c) => Stack.of(c) === stack)
    .map((c) => c.getAtt('Arn').toString());
}

/**
 * IAM resources the response must never change, denied explicitly: the deployer
 * (CDK bootstrap roles), the stack's own roles (every role of the app has the
 * path roleIamPath, set by the RolePath aspect, so `role/<path>/*` covers them
 * whatever their generated names) and the configured protected principals that
 * are IAM ARNs.
 */
export function protectedIamArns(stack: Stack, config: HoneytrailConfig): string[] {
  const iamArn = (resource: string) => `arn:${stack.partition}:iam::${stack.account}:${resource}`;
  const arns = [iamArn('role/cdk-*'), iamArn(`role${roleIamPath(config)}*`)];
  for (const entry of config.response.protectedPrincipals) {
    const assumed = /^arn:([a-z-]+):sts::(\d{12}|\*):assumed-role\/([^/]+)/.exec(entry);
    if (assumed)
      arns.push(
        `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`,
        `arn:${assumed[1]}:iam::${assumed[2]}:role/*/${assumed[3]}`,
      );
    else if (/^arn:[a-z-]+:iam::(\d{12}|\*):(user|role)\//.test(entry)) arns.push(entry);
  }
  return arns;
}

export function protectedDeny(
  stack: Stack,
  config: HoneytrailConfig,
  actions: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'NeverProtectedPrincipals',
    effect: iam.Effect.DENY,
    actions,
    resources: protectedIamArns(stack, config),
  });
}
