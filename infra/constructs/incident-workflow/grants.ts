import { ArnFormat, type CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../../layers/config/schema';
import { AUDIT_PREFIX, EVIDENCE_PREFIX } from '../../../layers/response/audit';
import { quarantinePolicyArn } from '../../../layers/response/plan';
import { RECEIVED_PREFIX } from '../../../layers/response/received';
import { REFUSED_PREFIX } from '../../../layers/response/refusals';
import { acknowledge, nagResource } from '../../nag/acknowledge';
import type { HouseFunction } from '../house-function';
import type { Notifications } from '../notifications';
import type { WorkflowDefinition } from './definition';
import { iamResourceArn, protectedDeny } from './protected-principals';

/**
 * What each role of the response may do, each grant scoped as far as IAM allows
 * and every remaining wildcard acknowledged with its reason (cdk-nag).
 */

/** The parts of the workflow the grants are about. */
export interface WorkflowParts {
  /** The workflow construct: nag notes name resources relative to it. */
  readonly scope: Construct;
  readonly records: s3.Bucket;
  readonly key: kms.Key;
  readonly intake: HouseFunction;
  readonly ledger: HouseFunction;
  readonly evidence: HouseFunction;
  readonly rotation: HouseFunction;
}

export function grantRecords(parts: WorkflowParts): void {
  const objects = (prefixes: readonly string[]) =>
    prefixes.map((prefix) => parts.records.arnForObjects(`${prefix}*`));
  const put = (role: iam.IRole, prefixes: readonly string[]) => {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects(prefixes) }),
    );
    parts.key.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
  };
  const written = [
    [parts.ledger.role, [AUDIT_PREFIX]],
    [parts.evidence.role, [EVIDENCE_PREFIX]],
    // Refused findings, and the accepted ones the response reads (not in the execution's input).
    [parts.intake.role, [REFUSED_PREFIX, RECEIVED_PREFIX]],
  ] as const;
  for (const [role, prefixes] of written) put(role, prefixes);
  // The ledger reads audit records back to plan a revert, and the findings the intake kept.
  const read = [AUDIT_PREFIX, RECEIVED_PREFIX];
  parts.ledger.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(read) }),
  );
  parts.ledger.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [parts.records.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${AUDIT_PREFIX}*`] } },
    }),
  );
  // The ledger's audit/ prefix is acknowledged with its writes.
  const acknowledged = [...written, [parts.ledger.role, [RECEIVED_PREFIX]] as const];
  for (const [role, prefixes] of acknowledged)
    for (const prefix of prefixes)
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::<${stackLogicalId(parts.records)}.Arn>/${prefix}*]`,
        'Records are one object each under this prefix; their names are only known when written.',
      );
}

export function grantNotifications(parts: WorkflowParts, notifications: Notifications): void {
  // Explicit actions: grantPublish's KMS grant carries a wildcard (kms:GenerateDataKey*).
  parts.ledger.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [notifications.topic.topicArn] }),
  );
  notifications.key.grant(parts.ledger.role, 'kms:GenerateDataKey', 'kms:Decrypt');
  // The intake mails refused findings.
  parts.intake.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [notifications.topic.topicArn] }),
  );
  notifications.key.grant(parts.intake.role, 'kms:GenerateDataKey', 'kms:Decrypt');
}

export function grantEvidence(parts: WorkflowParts): void {
  const stack = Stack.of(parts.scope);
  const role = parts.evidence.role;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'iam:ListAccessKeys',
        'iam:GetAccessKeyLastUsed',
        'iam:ListAttachedUserPolicies',
        'iam:ListUserPolicies',
        'iam:GetUserPolicy',
        'iam:ListGroupsForUser',
        'iam:ListUserTags',
      ],
      resources: [iamResourceArn(stack, 'user')],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:GetRolePolicy'],
      resources: [iamResourceArn(stack, 'role')],
    }),
  );
  parts.evidence.allowOnAnyResource(
    ['cloudtrail:LookupEvents'],
    "CloudTrail LookupEvents supports no resource-level permissions; evidence is the principal's recent calls.",
  );
  for (const kind of ['user', 'role'] as const) {
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagResource(parts.scope, iamResourceArn(stack, kind))}]`,
      'The principal under review is only known at run time; read-only IAM calls.',
    );
  }
}

export function grantRotation(parts: WorkflowParts, config: HoneytrailConfig): void {
  const stack = Stack.of(parts.scope);
  const role = parts.rotation.role;
  const users = iamResourceArn(stack, 'user');
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['iam:ListAccessKeys', 'iam:CreateAccessKey', 'iam:DeleteAccessKey'],
      resources: [users],
    }),
  );
  role.addToPrincipalPolicy(protectedDeny(stack, config, ['iam:CreateAccessKey', 'iam:DeleteAccessKey']));
  const path = config.response.keyStorePath;
  const storeResource =
    config.response.keyStore === 'secrets-manager'
      ? stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${path}/*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        })
      : stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `${path}/*` });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions:
        config.response.keyStore === 'secrets-manager'
          ? ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:GetSecretValue']
          : ['ssm:PutParameter', 'ssm:GetParameter'],
      resources: [storeResource],
    }),
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagResource(parts.scope, users)}]`,
    'The user whose key is rotated is only known at run time; protected principals are denied explicitly.',
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagResource(parts.scope, storeResource)}]`,
    `New keys are stored one per user under ${path}/, named after the user.`,
  );
}

function acknowledgeStateMachineRole(
  parts: WorkflowParts,
  stateMachine: sfn.StateMachine,
  definition: WorkflowDefinition,
): void {
  const role = stateMachine.role;
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray and CloudWatch Logs delivery (PutTraceSegments, CreateLogDelivery, ...) support no resource-level permissions.',
  );
  for (const kind of ['user', 'role'] as const) {
    const resource = iamResourceArn(Stack.of(parts.scope), kind);
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagResource(parts.scope, resource)}]`,
      'The principal to contain is only known at run time: IAM cannot scope to it in advance. Protected principals are denied explicitly and policy attachment is limited to the quarantine policy by condition.',
    );
  }
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagResource(parts.scope, definition.executionsArn)}]`,
    'Revert stops the execution it reverts, which is any execution of this state machine.',
  );
  for (const fn of definition.invokedFunctions) {
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::<${stackLogicalId(fn.function)}.Arn>:*]`,
      "Invoking any version or alias of the workflow's own function (CDK grants the qualified ARN too).",
    );
  }
}
/**
 * Narrows the state machine role. CDK grants each direct IAM call on the
 * account's users or roles: the principal is only known at run time, so IAM
 * cannot scope to it in advance. These Deny statements take out the protected
 * principals (the deployer's cdk-* roles, the stack's own roles, configured
 * IAM ARNs) and limit policy attachment to the quarantine policy by the
 * iam:PolicyARN condition. IAM has no condition key for an inline policy's
 * name or content: Put/DeleteUserPolicy and Put/DeleteRolePolicy are bounded
 * by the definition (only AWSRevokeOlderSessions, only the revoke document),
 * which only the deployer can change.
 */
export function grantStateMachine(
  parts: WorkflowParts,
  stateMachine: sfn.StateMachine,
  definition: WorkflowDefinition,
  config: HoneytrailConfig,
): void {
  const role = stateMachine.role;
  const stack = Stack.of(parts.scope);
  const actions = [...definition.iamActions].sort();
  role.addToPrincipalPolicy(protectedDeny(stack, config, actions));
  const attach = actions.filter((a) => /^iam:(Attach|Detach)(User|Role)Policy$/.test(a));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheQuarantinePolicy',
      effect: iam.Effect.DENY,
      actions: attach,
      resources: ['*'],
      conditions: { ArnNotEquals: { 'iam:PolicyARN': quarantinePolicyArn(stack.partition) } },
    }),
  );
  acknowledgeStateMachineRole(parts, stateMachine, definition);
}

/** The logical id of a construct's resource, as nag notes name it. */
export function stackLogicalId(construct: Construct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnResource;
  return Stack.of(construct).getLogicalId(resource);
}
