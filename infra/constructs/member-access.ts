import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { OrganizationConfig } from '../../layers/config/organization';
import { OWNERSHIP_TAG_KEY } from '../../layers/decoys/catalogue';
import { DECOY_WRITER } from '../../layers/decoys/content';
import { quarantinePolicyArn } from '../../layers/response/plan';
import { roleIamPath } from '../aspects/role-path';
import { acknowledge, nagResource } from '../nag/acknowledge';

export interface MemberAccessProps {
  readonly stackName: string;
  readonly organization: OrganizationConfig;
}

/**
 * Principals of a member account the control plane must never change through this
 * role, whatever their tags: the organization's own roles (Organizations, Control
 * Tower, StackSets, SSO), the CDK deployer, and every role under the stack's path
 * (this role and the forwarding roles).
 */
export function memberProtectedArns(partition: string, stackName: string): string[] {
  const role = (name: string) => `arn:${partition}:iam::*:role/${name}`;
  return [
    role('OrganizationAccountAccessRole'),
    role('AWSControlTower*'),
    role('aws-controltower-*'),
    role('stacksets-exec-*'),
    role('AWSCloudFormationStackSetExecutionRole'),
    role('aws-reserved/*'),
    role('cdk-*'),
    role(`${stackName}/*`),
  ];
}

/**
 * The one role a member account gets for the control plane: the security account's
 * planter and response roles assume it to plant, refresh and remove the decoys and
 * to contain a principal. Trusted by the security account, and within it only by
 * roles under the stack's path (`aws:PrincipalArn`), so no other principal of the
 * security account can assume it even with sts:AssumeRole on `*`.
 *
 * Its policy names no decoy: planting is scoped by the ownership tag (ABAC) as the
 * single-account planter is (decoy-fleet.ts), and the response acts on principals
 * known only at run time, never on the protected ones. IAM is global: the StackSet
 * that carries this role deploys to one region only.
 */
export class MemberAccess extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemberAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { organization, stackName } = props;
    const partition = stack.partition;
    const controlPlaneRoles = `arn:${partition}:iam::${organization.securityAccount}:role${roleIamPath({ stackName })}*`;
    this.role = new iam.Role(this, 'Role', {
      roleName: organization.memberRoleName,
      description: 'Platform operations access',
      assumedBy: new iam.AccountPrincipal(organization.securityAccount).withConditions({
        ArnLike: { 'aws:PrincipalArn': controlPlaneRoles },
      }),
    });
    const role = this.role;
    const any = (service: string, resource: string) =>
      `arn:${partition}:${service}:*:${stack.account}:${resource}`;
    const users = `arn:${partition}:iam::${stack.account}:user/*`;
    const roles = `arn:${partition}:iam::${stack.account}:role/*`;
    const tagged = (conditionKey: string) => ({
      StringEquals: { [`${conditionKey}/${OWNERSHIP_TAG_KEY}`]: DECOY_WRITER },
    });
    const statements = [
      // Naming after the account's own resources: names only, no resource-level scope.
      new iam.PolicyStatement({
        actions: [
          'ssm:DescribeParameters',
          's3:ListAllMyBuckets',
          'iam:ListUsers',
          'secretsmanager:ListSecrets',
          'kms:ListAliases',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
        resources: [any('ssm', 'parameter/*')],
        conditions: tagged('aws:RequestTag'),
      }),
      new iam.PolicyStatement({
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'],
        resources: [any('ssm', 'parameter/*')],
        conditions: tagged('ssm:resourceTag'),
      }),
      new iam.PolicyStatement({
        actions: [
          's3:CreateBucket',
          's3:DeleteBucket',
          's3:PutBucketVersioning',
          's3:PutLifecycleConfiguration',
          's3:PutEncryptionConfiguration',
          's3:PutBucketPublicAccessBlock',
          's3:PutBucketOwnershipControls',
          's3:PutBucketTagging',
          's3:PutBucketPolicy',
          's3:ListBucket',
          's3:ListBucketVersions',
          's3:PutObject',
          's3:DeleteObject',
          's3:DeleteObjectVersion',
        ],
        resources: [`arn:${partition}:s3:::*`, `arn:${partition}:s3:::*/*`],
        conditions: { StringEquals: { 's3:ResourceAccount': stack.account } },
      }),
      new iam.PolicyStatement({ actions: ['iam:GetUser'], resources: [users] }),
      new iam.PolicyStatement({
        actions: ['iam:CreateUser'],
        resources: [users],
        conditions: tagged('aws:RequestTag'),
      }),
      new iam.PolicyStatement({
        actions: ['iam:TagUser'],
        resources: [users],
        conditions: {
          StringEquals: {
            ...tagged('aws:RequestTag').StringEquals,
            ...tagged('aws:ResourceTag').StringEquals,
          },
        },
      }),
      new iam.PolicyStatement({
        actions: [
          'iam:PutUserPolicy',
          'iam:ListUserPolicies',
          'iam:DeleteUserPolicy',
          'iam:ListAttachedUserPolicies',
          'iam:DetachUserPolicy',
          'iam:DeleteLoginProfile',
          'iam:DeleteUser',
        ],
        resources: [users],
        conditions: tagged('aws:ResourceTag'),
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:DescribeSecret'],
        resources: [any('secretsmanager', 'secret:*')],
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [any('secretsmanager', 'secret:*')],
        conditions: tagged('aws:RequestTag'),
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret'],
        resources: [any('secretsmanager', 'secret:*')],
        conditions: tagged('aws:ResourceTag'),
      }),
      // Response: the principal to contain is known at run time only.
      new iam.PolicyStatement({
        actions: [
          'iam:ListAccessKeys',
          'iam:GetAccessKeyLastUsed',
          'iam:CreateAccessKey',
          'iam:UpdateAccessKey',
          'iam:DeleteAccessKey',
          'iam:ListAttachedUserPolicies',
          'iam:ListUserPolicies',
          'iam:GetUserPolicy',
          'iam:ListGroupsForUser',
          'iam:ListUserTags',
          'iam:PutUserPolicy',
          'iam:DeleteUserPolicy',
        ],
        resources: [users],
      }),
      new iam.PolicyStatement({
        actions: [
          'iam:GetRole',
          'iam:ListAttachedRolePolicies',
          'iam:ListRolePolicies',
          'iam:GetRolePolicy',
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
        ],
        resources: [roles],
      }),
      // Attaching and detaching: the quarantine policy only.
      new iam.PolicyStatement({
        actions: [
          'iam:AttachUserPolicy',
          'iam:DetachUserPolicy',
          'iam:AttachRolePolicy',
          'iam:DetachRolePolicy',
        ],
        resources: [users, roles],
        conditions: { ArnEquals: { 'iam:PolicyARN': quarantinePolicyArn(partition) } },
      }),
      new iam.PolicyStatement({
        sid: 'NeverProtectedPrincipals',
        effect: iam.Effect.DENY,
        actions: [
          'iam:CreateAccessKey',
          'iam:UpdateAccessKey',
          'iam:DeleteAccessKey',
          'iam:PutUserPolicy',
          'iam:DeleteUserPolicy',
          'iam:AttachUserPolicy',
          'iam:DetachUserPolicy',
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:AttachRolePolicy',
          'iam:DetachRolePolicy',
        ],
        resources: memberProtectedArns(partition, stackName),
      }),
    ];
    for (const statement of statements) role.addToPolicy(statement);

    const reasons: [string, string][] = [
      ['*', 'Listings (names only) have no resource-level scope.'],
      [
        any('ssm', 'parameter/*'),
        'Scoped by the ownership tag (ABAC): decoy names are chosen at plant time.',
      ],
      [
        `arn:${partition}:s3:::*`,
        'Bucket ABAC needs a per-bucket switch that would single the bucket out: limited to this account.',
      ],
      [`arn:${partition}:s3:::*/*`, 'Objects of the planted bucket, named at plant time; this account only.'],
      [
        any('secretsmanager', 'secret:*'),
        'Scoped by the ownership tag (ABAC), DescribeSecret excepted (a read).',
      ],
      [
        users,
        'Decoy users by ownership tag; the user to contain is known at run time only; protected principals denied.',
      ],
      [roles, 'The role to contain is known at run time only; protected principals denied.'],
    ];
    for (const [resource, reason] of reasons)
      acknowledge(role, `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`, reason);
  }
}
