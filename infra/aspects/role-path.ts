import { CfnResource, type IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';

/**
 * The IAM path every role of the app is created under: `/<stack name>/`. The
 * response denies itself `role/<path>/*`, so a role of the stack is protected
 * because of where it is, whatever CloudFormation names it (generated names are
 * truncated to 64 characters and need not start with the stack name). The path is
 * as visible as the stack name (ReadOnlyAccess lists roles) and as neutral.
 */
export function roleIamPath(config: Pick<HoneytrailConfig, 'stackName'>): string {
  return `/${config.stackName}/`;
}

/**
 * Sets the path on every IAM role in the scope: L1/L2 roles (`iam.CfnRole`) and
 * the roles CDK's own custom-resource providers declare as a bare
 * `CfnResource` of type AWS::IAM::Role (e.g. the S3 auto-delete provider).
 * Changing a role's path replaces the role; names stay generated.
 */
export class RolePath implements IAspect {
  constructor(private readonly path: string) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || node.cfnResourceType !== 'AWS::IAM::Role') return;
    if (node instanceof iam.CfnRole) node.path = this.path;
    else node.addPropertyOverride('Path', this.path);
  }
}
