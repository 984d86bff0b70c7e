import { Annotations, ArnFormat, CfnResource, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { workflowStateMachineName } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { FINDING_EVENT_SOURCE } from '../../layers/findings/finding';
import { AUDIT_PREFIX, EVIDENCE_PREFIX } from '../../layers/response/audit';
import { FALSE_POSITIVE_REASONS, KIND_LABELS, KPI } from '../../layers/response/kpi';
import type { LedgerOp } from '../../layers/response/ledger';
import { quarantinePolicyArn } from '../../layers/response/plan';
import { encodePolicy, REVOKE_POLICY_NAME, responsePolicy } from '../../layers/response/policy';
import { REFUSAL_REASONS, REFUSED_PREFIX } from '../../layers/response/refusals';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../layers/scoring/labels';
import { roleIamPath } from '../aspects/role-path';
import { acknowledge, nagResource } from '../nag/acknowledge';
import { HouseFunction } from './house-function';
import type { Notifications } from './notifications';
import { privateKmsBucketProps } from './private-bucket';
import type { StateStore } from './state-store';

/**
 * The response to findings (issue 5): a Standard Step Functions state machine
 * with a policy gate, evidence, containment and rotation, approval by task
 * token, rollback and revert; the object-locked bucket of evidence and audit
 * records; the rule that starts it from the central bus; and the KPI dashboard.
 *
 * Deployed names are neutral ("access review"): state names, metric names and
 * descriptions are readable with ReadOnlyAccess. The execution data (the
 * finding names what was touched) is encrypted with a key of this construct,
 * which ReadOnlyAccess cannot use.
 *
 * Idempotent start: the intake function names each execution after the finding
 * id, and Step Functions refuses a second execution of the same name, which the
 * intake counts as a duplicate (EventBridge cannot name executions itself).
 *
 * Approval: the ledger publishes the task token with `honeytrail approve|deny`
 * instructions to the notifications topic, and the task waits
 * (`.waitForTaskToken`) until the configured timeout, which means no action.
 * There is deliberately no HTTP approve link: whoever can read the mail could
 * click it. An answer needs states:SendTaskSuccess/Failure on this state machine
 * (and kms:Decrypt/GenerateDataKey on its key), and CloudTrail records who.
 */

export interface IncidentWorkflowProps {
  readonly config: HoneytrailConfig;
  readonly notifications: Notifications;
  /** The planter: invoked with {"action":"refresh"} when the planted key itself was used. */
  readonly plantFunction?: HouseFunction;
  /** The registry of planted resources: the ledger reads which users are planted. */
  readonly state: StateStore;
}

/** Logical-id prefixes the command line finds the deployed resources by (under the construct's id). */
export const WORKFLOW_RESOURCE_IDS = {
  records: 'Records',
  stateMachine: 'StateMachine',
} as const;

export const SERVICE_NAME = 'access-review';
export const METRICS_NAMESPACE = 'PlatformServices';

/** Throttling and transient service errors, as Step Functions names them for aws-sdk integrations. */
const IAM_TRANSIENT = [
  'Iam.ThrottlingException',
  'Iam.Throttling',
  'Iam.ServiceFailureException',
  'Iam.ConcurrentModificationException',
];
/** Errors a Lambda raises when an AWS call it made was throttled (the SDK's error names). */
const LAMBDA_TRANSIENT = [
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'ServiceUnavailable',
  'RequestLimitExceeded',
  'Lambda.TooManyRequestsException',
];

/** Finding events: from the findings source and naming an actor (label events do not). */
export const FINDINGS_PATTERN = {
  source: [FINDING_EVENT_SOURCE],
  detail: { actor: { arn: [{ exists: true }] } },
};
/** A person's verdict on a finding (`honeytrail label`): counted for the false-positive KPI. */
export const LABELS_PATTERN = { source: [FINDING_EVENT_SOURCE], detailType: [FINDING_LABELLED_DETAIL_TYPE] };

export class IncidentWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly records: s3.Bucket;
  readonly key: kms.Key;
  readonly intake: HouseFunction;
  readonly ledger: HouseFunction;
  readonly evidence: HouseFunction;
  readonly rotation: HouseFunction;
  readonly rule: events.Rule;
  readonly labelRule: events.Rule;
  readonly undelivered: sqs.Queue;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: IncidentWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config } = props;
    const response = config.response;
    const stateMachineName = workflowStateMachineName(config);
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'Access review records encryption',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Append-only: object lock on every version (governance mode: an administrator with
    // s3:BypassGovernanceRetention can still clean up; compliance mode would stop even root).
    this.records = new s3.Bucket(this, WORKFLOW_RESOURCE_IDS.records, {
      ...privateKmsBucketProps(this.key),
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(
        Duration.days(response.auditRetentionDays),
      ),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.records,
      'AwsSolutions-S1',
      'Every read of these SSE-KMS objects is a kms:Decrypt that CloudTrail records; writes are the workflow roles only, and are themselves the audit trail.',
    );

    const environment = { RECORDS_BUCKET: this.records.bucketName };
    this.ledger = new HouseFunction(this, 'Ledger', {
      handlerDir: 'respond-ledger',
      serviceName: SERVICE_NAME,
      description: 'Records access review decisions and notifies reviewers',
      timeout: Duration.minutes(2),
      environment: {
        ...environment,
        TOPIC_ARN: props.notifications.topic.topicArn,
        STATE_TABLE: props.state.table.tableName,
        // Lazy: every role of the stack exists only once the whole stack is built.
        RESPONSE_POLICY: Lazy.string({
          produce: () =>
            encodePolicy(
              responsePolicy(config, {
                ownRoles: ownRoleEntries(stack, config),
                account: stack.account,
                partition: stack.partition,
              }),
            ),
        }),
      },
    });
    props.state.allowReadWrite(this.ledger.role);
    this.evidence = new HouseFunction(this, 'Inventory', {
      handlerDir: 'respond-evidence',
      serviceName: SERVICE_NAME,
      description: 'Collects IAM inventory for access reviews',
      timeout: Duration.minutes(2),
      environment,
    });
    this.rotation = new HouseFunction(this, 'KeyRotation', {
      handlerDir: 'respond-rotate',
      serviceName: SERVICE_NAME,
      description: 'Rotates IAM user access keys',
      timeout: Duration.minutes(1),
    });
    this.intake = new HouseFunction(this, 'Intake', {
      handlerDir: 'respond-start',
      serviceName: SERVICE_NAME,
      description: 'Starts access reviews from platform events',
      environment: {
        WORKFLOW_ARN: stateMachineArn,
        // Findings are checked against the detectors' records; refusals are kept and mailed.
        STATE_TABLE: props.state.table.tableName,
        RECORDS_BUCKET: this.records.bucketName,
        TOPIC_ARN: props.notifications.topic.topicArn,
      },
    });
    // Reads the detectors' records, writes none: it must not be able to vouch for a finding.
    props.state.allowRead(this.intake.role);

    this.grantRecords();
    this.grantLedger(props.notifications);
    this.grantEvidence();
    this.grantRotation(config);

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR });
    const definition = new WorkflowDefinition(this, 'Definition', {
      config,
      ledger: this.ledger,
      evidence: this.evidence,
      rotation: this.rotation,
      plantFunction: props.plantFunction,
      stateMachineName,
    });
    this.stateMachine = new sfn.StateMachine(this, WORKFLOW_RESOURCE_IDS.stateMachine, {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.start),
      tracingEnabled: true,
      // Every event, but no execution data: the data names what was touched.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(this.key, Duration.minutes(5)),
      comment: 'Access review',
    });
    definition.grant(this.stateMachine.role, config);
    this.acknowledgeStateMachineRole(definition);

    // Intake: starts executions (and must encrypt their input with the workflow key).
    this.stateMachine.grantStartExecution(this.intake.role);
    this.intake.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': stateMachineArn } },
      }),
    );

    this.undelivered = new sqs.Queue(this, 'Undelivered', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.undelivered,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the intake rule and function.',
    );
    this.intake.function.configureAsyncInvoke({
      onFailure: new lambdaDestinations.SqsDestination(this.undelivered),
      retryAttempts: 2,
    });

    const target = () =>
      new targets.LambdaFunction(this.intake.function, {
        deadLetterQueue: this.undelivered,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      });
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.notifications.bus,
      description: 'Starts access reviews',
      // Findings only (they name an actor); detail-types would be readable in the pattern.
      eventPattern: FINDINGS_PATTERN,
    });
    this.rule.addTarget(target());
    this.labelRule = new events.Rule(this, 'Labels', {
      eventBus: props.notifications.bus,
      description: 'Counts access review outcomes',
      eventPattern: LABELS_PATTERN,
    });
    this.labelRule.addTarget(target());

    this.dashboard = this.buildDashboard(config);
  }

  private grantRecords(): void {
    const put = (role: iam.IRole, prefix: string) => {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [this.records.arnForObjects(`${prefix}*`)],
        }),
      );
      this.key.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    };
    put(this.ledger.role, AUDIT_PREFIX);
    put(this.evidence.role, EVIDENCE_PREFIX);
    put(this.intake.role, REFUSED_PREFIX);
    // The ledger reads audit records back to plan a revert.
    this.ledger.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.records.arnForObjects(`${AUDIT_PREFIX}*`)],
      }),
    );
    this.ledger.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.records.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${AUDIT_PREFIX}*`] } },
      }),
    );
    for (const [role, prefix] of [
      [this.ledger.role, AUDIT_PREFIX],
      [this.evidence.role, EVIDENCE_PREFIX],
      [this.intake.role, REFUSED_PREFIX],
    ] as const) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::<${stackLogicalId(this.records)}.Arn>/${prefix}*]`,
        'Records are one object each under this prefix; their names are only known when written.',
      );
    }
  }

  private grantLedger(notifications: Notifications): void {
    // Explicit actions: grantPublish's KMS grant carries a wildcard (kms:GenerateDataKey*).
    this.ledger.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [notifications.topic.topicArn] }),
    );
    notifications.key.grant(this.ledger.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    // The intake mails refused findings.
    this.intake.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [notifications.topic.topicArn] }),
    );
    notifications.key.grant(this.intake.role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  private grantEvidence(): void {
    const stack = Stack.of(this);
    const role = this.evidence.role;
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
    this.evidence.allowOnAnyResource(
      ['cloudtrail:LookupEvents'],
      "CloudTrail LookupEvents supports no resource-level permissions; evidence is the principal's recent calls.",
    );
    for (const kind of ['user', 'role'] as const) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::${nagResource(this, iamResourceArn(stack, kind))}]`,
        'The principal under review is only known at run time; read-only IAM calls.',
      );
    }
  }

  private grantRotation(config: HoneytrailConfig): void {
    const stack = Stack.of(this);
    const role = this.rotation.role;
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
            ? [
                'secretsmanager:CreateSecret',
                'secretsmanager:PutSecretValue',
                'secretsmanager:GetSecretValue',
              ]
            : ['ssm:PutParameter', 'ssm:GetParameter'],
        resources: [storeResource],
      }),
    );
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagResource(this, users)}]`,
      'The user whose key is rotated is only known at run time; protected principals are denied explicitly.',
    );
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagResource(this, storeResource)}]`,
      `New keys are stored one per user under ${path}/, named after the user.`,
    );
  }

  private acknowledgeStateMachineRole(definition: WorkflowDefinition): void {
    const role = this.stateMachine.role;
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray and CloudWatch Logs delivery (PutTraceSegments, CreateLogDelivery, ...) support no resource-level permissions.',
    );
    for (const kind of ['user', 'role'] as const) {
      const resource = iamResourceArn(Stack.of(this), kind);
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`,
        'The principal to contain is only known at run time: IAM cannot scope to it in advance. Protected principals are denied explicitly and policy attachment is limited to the quarantine policy by condition.',
      );
    }
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagResource(this, definition.executionsArn)}]`,
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

  private buildDashboard(config: HoneytrailConfig): cloudwatch.Dashboard {
    const metric = (name: string, statistic: string, dimension?: { name: string; value: string }) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: SERVICE_NAME, ...(dimension ? { [dimension.name]: dimension.value } : {}) },
        statistic,
        period: Duration.hours(1),
        label: dimension ? dimension.value : name,
      });
    const kinds = Object.values(KIND_LABELS);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.stackName}-access-review`,
      defaultInterval: Duration.days(7),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Findings by kind',
        left: kinds.map((kind) => metric(KPI.findings, 'Sum', { name: 'Kind', value: kind })),
        stacked: true,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency: event to finding, finding to containment (p50, p90)',
        left: [
          metric(KPI.eventToFinding, 'p50'),
          metric(KPI.eventToFinding, 'p90'),
          metric(KPI.findingToContainment, 'p50'),
          metric(KPI.findingToContainment, 'p90'),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Actions, approvals and reverts',
        left: [
          metric(KPI.automaticActions, 'Sum'),
          metric(KPI.approvalsRequested, 'Sum'),
          metric(KPI.approvalsGranted, 'Sum'),
          metric(KPI.approvalsDenied, 'Sum'),
          metric(KPI.approvalsTimedOut, 'Sum'),
          metric(KPI.reverts, 'Sum', { name: 'Reason', value: 'requested' }),
          metric(KPI.reverts, 'Sum', { name: 'Reason', value: 'health-check' }),
          metric(KPI.rollbacks, 'Sum'),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'False positives labelled, dry-run plans, duplicates, rejected',
        left: [
          ...FALSE_POSITIVE_REASONS.map((reason) =>
            metric(KPI.falsePositives, 'Sum', { name: 'Reason', value: reason }),
          ),
          ...kinds.map((kind) => metric(KPI.dryRunPlans, 'Sum', { name: 'Kind', value: kind })),
          ...kinds.map((kind) => metric(KPI.duplicateFindings, 'Sum', { name: 'Kind', value: kind })),
          // Finding events no detector recorded (layers/response/refusals.ts): each is also mailed.
          ...Object.values(REFUSAL_REASONS).map((reason) =>
            metric(KPI.rejectedFindings, 'Sum', { name: 'Reason', value: reason }),
          ),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Workflow executions',
        left: [
          this.stateMachine.metricStarted({ period: Duration.hours(1) }),
          this.stateMachine.metricSucceeded({ period: Duration.hours(1) }),
          this.stateMachine.metricFailed({ period: Duration.hours(1) }),
          this.stateMachine.metricAborted({ period: Duration.hours(1) }),
        ],
        width: 24,
      }),
    );
    return dashboard;
  }
}

/**
 * The stack's own roles for the policy gate: every role's ARN while they fit the
 * function's 4 KB environment; beyond that patterns. The IAM Deny protects them
 * by their path whatever their names (protectedIamArns); the gate compares
 * actors, and an assumed-role ARN drops the path, so the second pattern is the
 * name prefix CloudFormation's generated names usually carry.
 */
const MAX_LISTED_ROLES = 25;
function ownRoleEntries(stack: Stack, config: HoneytrailConfig): string[] {
  const roles = stackRoleArns(stack);
  if (roles.length <= MAX_LISTED_ROLES) return roles;
  const iamArn = (resource: string) => `arn:${stack.partition}:iam::${stack.account}:${resource}`;
  Annotations.of(stack).addWarningV2(
    'response:many-roles',
    `${roles.length} roles: the policy gate matches them by pattern (role${roleIamPath(config)}*, role/${config.stackName}-*); the IAM Deny by path`,
  );
  return [iamArn(`role${roleIamPath(config)}*`), iamArn(`role/${config.stackName}-*`)];
}

/** Every IAM role of the stack (L2 and CDK's own providers'), as ARN tokens. */
function stackRoleArns(stack: Stack): string[] {
  return stack.node
    .findAll()
    .filter((c): c is CfnResource => c instanceof CfnResource && c.cfnResourceType === 'AWS::IAM::Role')
    .filter((c) => Stack.of(c) === stack)
    .map((c) => c.getAtt('Arn').toString());
}

function stackLogicalId(construct: Construct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnResource;
  return Stack.of(construct).getLogicalId(resource);
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

function protectedDeny(stack: Stack, config: HoneytrailConfig, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'NeverProtectedPrincipals',
    effect: iam.Effect.DENY,
    actions,
    resources: protectedIamArns(stack, config),
  });
}

interface DefinitionProps {
  config: HoneytrailConfig;
  ledger: HouseFunction;
  evidence: HouseFunction;
  rotation: HouseFunction;
  plantFunction?: HouseFunction;
  stateMachineName: string;
}

type Kind = 'user' | 'role';
const KIND_NAME = { user: 'User', role: 'Role' } as const;
const NAME_PARAMETER = { user: 'UserName', role: 'RoleName' } as const;
const NAME_PATH = { user: '$.evidence.plan.userName', role: '$.evidence.plan.roleName' } as const;

/**
 * The state machine's definition (JSONPath). Each action is recorded by the
 * ledger before and after it; every failure is caught and rolls back through
 * the undo chain; revert runs the same undo chain from an execution's audit
 * records. State names are deployed: they say what happens in plain words.
 */
class WorkflowDefinition extends Construct {
  readonly start: sfn.IChainable;
  readonly invokedFunctions: HouseFunction[];
  /** The IAM calls made directly (aws-sdk integrations), for the Deny statements and the nag notes. */
  readonly iamActions = new Set<string>();
  /** Every execution of this state machine (revert stops the one it reverts). */
  readonly executionsArn: string;
  private readonly props: DefinitionProps;
  /** The workflow construct: states are its children, so their ids are the state names. */
  private readonly s: Construct;
  private collecting: tasks.CallAwsService[] | undefined;

  constructor(scope: Construct, id: string, props: DefinitionProps) {
    super(scope, id);
    this.props = props;
    this.s = scope;
    const s = scope;
    this.executionsArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const response = props.config.response;
    this.invokedFunctions = [
      props.ledger,
      props.evidence,
      props.rotation,
      ...(props.plantFunction ? [props.plantFunction] : []),
    ];

    // ---- the undo chain: rollback, auto-revert and revert share it ----
    const rolledBack = this.ledgerTask('RolledBack', 'rolled-back');
    const reverted = this.ledgerTask('Reverted', 'reverted');
    const rollbackFailed = new sfn.Fail(s, 'ResponseRolledBack', {
      error: 'ResponseRolledBack',
      cause: 'a step failed; what was done before it has been undone',
    });
    const revertDone = new sfn.Succeed(s, 'RevertDone');
    rolledBack.addCatch(rollbackFailed, { resultPath: '$.recordError' }).next(rollbackFailed);
    reverted.addCatch(revertDone, { resultPath: '$.recordError' }).next(revertDone);
    const undoFinished = new sfn.Choice(s, 'UndoFinished')
      .when(sfn.Condition.stringEquals('$.undoReason', 'rollback'), rolledBack)
      .otherwise(reverted);

    const undoFailedRecord = this.ledgerTask('UndoFailed', 'undo-failed', { step: 'undo' });
    const undoFailed = new sfn.Fail(s, 'UndoIncomplete', {
      error: 'UndoIncomplete',
      cause: 'an undo step failed; the notification lists what to check by hand',
    });
    undoFailedRecord.addCatch(undoFailed, { resultPath: '$.recordError' }).next(undoFailed);

    const reactivate = this.undoStep(
      'ReactivateKey',
      'reactivate-key',
      undoFinished,
      undoFailedRecord,
      (after) =>
        this.iamCall('ReactivateKeyCall', 'updateAccessKey', 'user', {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
          Status: 'Active',
        }).next(after),
    );
    const ifReactivate = new sfn.Choice(s, 'IfUndoDeactivate')
      .when(sfn.Condition.isPresent('$.done.deactivateKey'), reactivate)
      .otherwise(undoFinished);

    const restoreSessions = this.undoStep(
      'RestoreSessions',
      'restore-sessions',
      ifReactivate,
      undoFailedRecord,
      (after) =>
        this.byKind('RestoreSessionsFor', (kind) => {
          const put = this.iamCall(
            `Restore${KIND_NAME[kind]}SessionsPolicy`,
            `put${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
              PolicyDocument: sfn.JsonPath.stringAt('$.evidence.plan.previousRevokePolicy'),
            },
          ).next(after);
          const remove = this.iamCall(
            `Remove${KIND_NAME[kind]}SessionsPolicy`,
            `delete${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
            },
          );
          // Already gone is what the undo wants.
          remove
            .addCatch(after, { errors: ['Iam.NoSuchEntityException'], resultPath: '$.undoNote' })
            .next(after);
          return new sfn.Choice(s, `IfPrevious${KIND_NAME[kind]}SessionsPolicy`)
            .when(sfn.Condition.booleanEquals('$.evidence.plan.hasPreviousRevokePolicy', true), put)
            .otherwise(remove);
        }),
    );
    const ifRestoreSessions = new sfn.Choice(s, 'IfUndoRevoke')
      .when(sfn.Condition.isPresent('$.done.revokeSessions'), restoreSessions)
      .otherwise(ifReactivate);

    const detach = this.undoStep(
      'DetachQuarantine',
      'detach-quarantine',
      ifRestoreSessions,
      undoFailedRecord,
      (after) =>
        this.byKind('DetachQuarantineFrom', (kind) => {
          const task = this.iamCall(
            `Detach${KIND_NAME[kind]}Quarantine`,
            `detach${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
            },
          );
          task.addCatch(after, { errors: ['Iam.NoSuchEntityException'], resultPath: '$.undoNote' });
          return task.next(after);
        }),
    );
    const undoChain = new sfn.Choice(s, 'IfUndoQuarantine')
      .when(sfn.Condition.isPresent('$.done.attachQuarantine'), detach)
      .otherwise(ifRestoreSessions);

    const rollback = new sfn.Pass(s, 'Rollback', {
      result: sfn.Result.fromString('rollback'),
      resultPath: '$.undoReason',
    });
    rollback.next(undoChain);

    // ---- respond: decide, collect evidence, gate ----
    const finished = new sfn.Succeed(s, 'Finished');
    const decisionFailed = new sfn.Fail(s, 'DecisionFailed', {
      error: 'DecisionFailed',
      cause: 'the policy could not be evaluated or recorded; nothing was changed',
    });
    const init = new sfn.Pass(s, 'Init', {
      parameters: { mode: 'respond', 'finding.$': '$.finding', 'receivedAt.$': '$.receivedAt', done: {} },
    });
    const decide = this.ledgerTask('Decide', 'decide', { resultPath: '$.decision' });
    decide.addCatch(decisionFailed, { resultPath: '$.error' });

    const notifyOnly = this.ledgerTask('NotifyOnly', 'notify-only');
    notifyOnly.addCatch(finished, { resultPath: '$.recordError' }).next(finished);

    const collect = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'CollectEvidence', {
        lambdaFunction: props.evidence.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          decision: sfn.JsonPath.objectAt('$.decision'),
          execution: executionRef(),
        }),
        resultPath: '$.evidence',
      }),
    );
    collect.addCatch(this.failedRecord('FailedCollectEvidence', 'collect-evidence', rollback), {
      resultPath: '$.error',
    });
    const recordPlan = this.ledgerTask('RecordPlan', 'plan');
    recordPlan.addCatch(rollback, { resultPath: '$.error' });

    const dryRun = this.ledgerTask('DryRun', 'dry-run');
    dryRun.addCatch(finished, { resultPath: '$.recordError' }).next(finished);

    // ---- the actions ----
    const afterContained = this.afterContained(finished, undoChain);
    const contained = this.ledgerTask('Contained', 'contained');
    contained.addCatch(afterContained, { resultPath: '$.recordError' }).next(afterContained);

    const nothingToDo = this.ledgerTask('NothingToDo', 'finished', { step: 'nothing to do' });
    nothingToDo.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const act = new sfn.Choice(s, 'Act')
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'user-key'),
        this.userKeyChain(contained, rollback),
      )
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'session'),
        this.sessionChain(contained, rollback),
      )
      .when(
        sfn.Condition.stringEquals('$.evidence.plan.path', 'refresh'),
        this.refreshChain(contained, finished),
      )
      .otherwise(nothingToDo);

    // ---- approval by task token: no answer before the timeout means no action ----
    const timedOut = this.ledgerTask('ApprovalTimedOut', 'approval-timed-out');
    timedOut.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const denied = this.ledgerTask('ApprovalDenied', 'approval-denied');
    denied.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
    const granted = this.ledgerTask('ApprovalGranted', 'approval-granted');
    granted.addCatch(rollback, { resultPath: '$.error' }).next(act);
    const requestApproval = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'RequestApproval', {
        lambdaFunction: props.ledger.function,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({
          op: 'request-approval',
          record: 'RequestApproval',
          token: sfn.JsonPath.taskToken,
          state: sfn.JsonPath.entirePayload,
          execution: executionRef(),
        }),
        taskTimeout: sfn.Timeout.duration(Duration.minutes(response.approvalTimeoutMinutes)),
        resultPath: '$.approval',
      }),
    );
    requestApproval.addCatch(timedOut, { errors: ['States.Timeout'], resultPath: '$.error' });
    requestApproval.addCatch(denied, { errors: ['ApprovalDenied'], resultPath: '$.error' });
    requestApproval.addCatch(this.failedRecord('FailedApproval', 'approval', finished), {
      resultPath: '$.error',
    });
    // An answer through the raw API without approved=true is a denial.
    requestApproval.next(
      new sfn.Choice(s, 'Approved')
        .when(sfn.Condition.booleanEquals('$.approval.approved', true), granted)
        .otherwise(denied),
    );

    const gate = new sfn.Choice(s, 'Gate')
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'dry-run'), dryRun)
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'approve'), requestApproval)
      .otherwise(act);
    const route = new sfn.Choice(s, 'Route')
      .when(sfn.Condition.stringEquals('$.decision.outcome', 'notify'), notifyOnly)
      .otherwise(collect);
    collect.next(recordPlan).next(gate);
    const respond = init.next(decide).next(route);

    // ---- revert: stop the original first (its grace wait must not delete the key later), plan from the audit, undo ----
    const stopOriginal = new tasks.CallAwsService(s, 'StopOriginal', {
      service: 'sfn',
      action: 'stopExecution',
      iamAction: 'states:StopExecution',
      iamResources: [this.executionsArn],
      parameters: { ExecutionArn: sfn.JsonPath.stringAt('$.revertOf'), Cause: 'reverted' },
      resultPath: sfn.JsonPath.DISCARD,
    });
    const planRevert = this.ledgerTask('PlanRevert', 'plan-revert', { resultPath: '$.revert' });
    const revertImpossible = new sfn.Fail(s, 'RevertNotPossible', {
      error: 'RevertNotPossible',
      cause: 'the audit records of that execution could not be read or name no response',
    });
    planRevert.addCatch(revertImpossible, { resultPath: '$.error' });
    stopOriginal.addRetry({
      errors: ['Sfn.ThrottlingException'],
      interval: Duration.seconds(2),
      maxAttempts: 4,
    });
    // An execution that already ended cannot be stopped: revert anyway.
    stopOriginal.addCatch(planRevert, { resultPath: '$.stopError' });
    const prepareRevert = new sfn.Pass(s, 'PrepareRevert', {
      parameters: { 'merged.$': 'States.JsonMerge($, $.revert, false)' },
      outputPath: '$.merged',
    });
    const markRevert = new sfn.Pass(s, 'MarkRevert', {
      result: sfn.Result.fromString('revert'),
      resultPath: '$.undoReason',
    });
    stopOriginal.next(planRevert).next(prepareRevert).next(markRevert).next(undoChain);

    this.start = new sfn.Choice(s, 'Mode')
      .when(sfn.Condition.stringEquals('$.mode', 'revert'), stopOriginal)
      .otherwise(respond);
  }

  /** A ledger call. The state's name names the record, so a retry writes nothing twice. */
  private ledgerTask(id: string, op: LedgerOp, options: { step?: string; resultPath?: string } = {}) {
    return this.lambdaRetry(
      new tasks.LambdaInvoke(this.s, id, {
        lambdaFunction: this.props.ledger.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          op,
          record: id,
          ...(options.step ? { step: options.step } : {}),
          state: sfn.JsonPath.entirePayload,
          execution: executionRef(),
        }),
        resultPath: options.resultPath ?? sfn.JsonPath.DISCARD,
      }),
    );
  }

  private lambdaRetry<T extends tasks.LambdaInvoke>(task: T): T {
    task.addRetry({
      errors: LAMBDA_TRANSIENT,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  }

  /** Records a failed step, then goes on; recording never stands between a failure and its rollback. */
  private failedRecord(id: string, step: string, next: sfn.IChainable): sfn.State {
    const record = this.ledgerTask(id, 'failed', { step });
    record.addCatch(next, { resultPath: '$.recordError' }).next(next);
    return record;
  }

  /** An IAM call as a direct aws-sdk integration, retried on throttling with backoff. */
  private iamCall(
    id: string,
    action: string,
    kind: Kind,
    parameters: Record<string, unknown>,
    resultPath: string = sfn.JsonPath.DISCARD,
  ): tasks.CallAwsService {
    const iamAction = `iam:${action.charAt(0).toUpperCase()}${action.slice(1)}`;
    this.iamActions.add(iamAction);
    const task = new tasks.CallAwsService(this.s, id, {
      service: 'iam',
      action,
      iamAction,
      // The principal is known at run time only; grant() denies the protected ones.
      iamResources: [iamResourceArn(Stack.of(this), kind)],
      parameters,
      resultSelector: { ok: true },
      resultPath,
    });
    task.addRetry({
      errors: IAM_TRANSIENT,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      jitterStrategy: sfn.JitterType.FULL,
    });
    this.collecting?.push(task);
    return task;
  }

  private byKind(id: string, build: (kind: Kind) => sfn.IChainable): sfn.Choice {
    return new sfn.Choice(this.s, id)
      .when(sfn.Condition.stringEquals('$.evidence.plan.targetKind', 'role'), build('role'))
      .otherwise(build('user'));
  }

  /**
   * A forward action: recorded before, done, recorded after. The IAM call's
   * ResultPath keeps its success under `$.done` (the undo chain reads it); any
   * failure is recorded and goes to `onError`.
   */
  private action(
    id: string,
    step: string,
    onError: sfn.IChainable,
    build: (after: sfn.State, failed: sfn.State) => sfn.IChainable,
    options: { beforeResultPath?: string } = {},
  ): { start: sfn.State; end: tasks.LambdaInvoke } {
    const failed = this.failedRecord(`Failed${id}`, step, onError);
    const before = this.ledgerTask(`Before${id}`, 'before', { step, resultPath: options.beforeResultPath });
    const after = this.ledgerTask(`After${id}`, 'after', { step });
    before.addCatch(failed, { resultPath: '$.error' });
    after.addCatch(failed, { resultPath: '$.error' });
    before.next(build(after, failed));
    return { start: before, end: after };
  }

  /** An undo step: recording problems never block it; a failed IAM call stops the chain for a person. */
  private undoStep(
    id: string,
    step: string,
    next: sfn.IChainable,
    onError: sfn.IChainable,
    build: (after: sfn.State) => sfn.IChainable,
  ): sfn.State {
    const before = this.ledgerTask(`Before${id}`, 'before', { step });
    const after = this.ledgerTask(`After${id}`, 'after', { step });
    this.collecting = [];
    const body = build(after);
    const calls = this.collecting;
    this.collecting = undefined;
    for (const call of calls) call.addCatch(onError, { resultPath: '$.error' });
    before.addCatch(body, { resultPath: '$.recordError' }).next(body);
    after.addCatch(next, { resultPath: '$.recordError' }).next(next);
    return before;
  }

  private userKeyChain(contained: sfn.IChainable, rollback: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    // A failed rotation deletes any new key that was not stored; the old key stays (inactive).
    const cleanup = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'CleanupNewKeys', {
        lambdaFunction: this.props.rotation.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ op: 'cleanup', plan: sfn.JsonPath.objectAt('$.evidence.plan') }),
        resultPath: '$.cleanup',
      }),
    );
    const cleanupFailed = this.ledgerTask('CleanupFailed', 'undo-failed', { step: 'cleanup-new-keys' });
    const unstored = new sfn.Fail(s, 'UnstoredKeyRemains', {
      error: 'UnstoredKeyRemains',
      cause: 'a new access key may exist that was not stored; the notification says which user to check',
    });
    cleanupFailed.addCatch(unstored, { resultPath: '$.recordError' }).next(unstored);
    cleanup.addCatch(cleanupFailed, { resultPath: '$.cleanupError' });
    const afterCleanup = this.ledgerTask('AfterCleanupNewKeys', 'after', { step: 'cleanup-new-keys' });
    afterCleanup.addCatch(contained, { resultPath: '$.recordError' }).next(contained);
    cleanup.next(afterCleanup);

    const rotationFailed = this.failedRecord('FailedRotateKey', 'rotate-key', cleanup);
    const beforeRotate = this.ledgerTask('BeforeRotateKey', 'before', { step: 'rotate-key' });
    const rotate = this.lambdaRetry(
      new tasks.LambdaInvoke(s, 'RotateKey', {
        lambdaFunction: this.props.rotation.function,
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({ op: 'rotate', plan: sfn.JsonPath.objectAt('$.evidence.plan') }),
        resultPath: '$.rotation',
      }),
    );
    const afterRotate = this.ledgerTask('AfterRotateKey', 'after', {
      step: 'rotate-key',
      resultPath: '$.done.rotateKey',
    });
    for (const state of [beforeRotate, rotate, afterRotate])
      state.addCatch(rotationFailed, { resultPath: '$.error' });
    beforeRotate.next(rotate).next(afterRotate).next(contained);
    const ifRotate = new sfn.Choice(s, 'IfRotateKey')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.rotate', true), beforeRotate)
      .otherwise(contained);

    const quarantine = this.action('QuarantineUser', 'attach-quarantine', rollback, (after, failed) =>
      this.iamCall(
        'AttachUserQuarantine',
        'attachUserPolicy',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
        },
        '$.done.attachQuarantine',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    quarantine.end.next(ifRotate);
    const ifQuarantine = new sfn.Choice(s, 'IfQuarantineUser')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.attachQuarantine', true), quarantine.start)
      .otherwise(ifRotate);

    const deactivate = this.action('DeactivateKey', 'deactivate-key', rollback, (after, failed) =>
      this.iamCall(
        'DeactivateKeyCall',
        'updateAccessKey',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
          Status: 'Inactive',
        },
        '$.done.deactivateKey',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    deactivate.end.next(ifQuarantine);
    return new sfn.Choice(s, 'IfDeactivateKey')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.deactivateKey', true), deactivate.start)
      .otherwise(ifQuarantine);
  }

  private sessionChain(contained: sfn.IChainable, rollback: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const quarantine = this.action('QuarantineSession', 'attach-quarantine', rollback, (after, failed) =>
      this.byKind('QuarantineSessionFor', (kind) =>
        this.iamCall(
          `Attach${KIND_NAME[kind]}SessionQuarantine`,
          `attach${KIND_NAME[kind]}Policy`,
          kind,
          {
            [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
            PolicyArn: sfn.JsonPath.stringAt('$.evidence.plan.quarantinePolicyArn'),
          },
          '$.done.attachQuarantine',
        )
          .addCatch(failed, { resultPath: '$.error' })
          .next(after),
      ),
    );
    quarantine.end.next(contained);
    const ifQuarantine = new sfn.Choice(s, 'IfQuarantineSession')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.attachQuarantine', true), quarantine.start)
      .otherwise(contained);

    const revoke = this.action(
      'RevokeSessions',
      'revoke-sessions',
      rollback,
      (after, failed) =>
        this.byKind('RevokeSessionsFor', (kind) =>
          this.iamCall(
            `Revoke${KIND_NAME[kind]}Sessions`,
            `put${KIND_NAME[kind]}Policy`,
            kind,
            {
              [NAME_PARAMETER[kind]]: sfn.JsonPath.stringAt(NAME_PATH[kind]),
              PolicyName: REVOKE_POLICY_NAME,
              // Written by the "before" record at the moment of the call, not when the plan was made.
              PolicyDocument: sfn.JsonPath.stringAt('$.revokePolicy.policyDocument'),
            },
            '$.done.revokeSessions',
          )
            .addCatch(failed, { resultPath: '$.error' })
            .next(after),
        ),
      { beforeResultPath: '$.revokePolicy' },
    );
    revoke.end.next(ifQuarantine);
    return new sfn.Choice(s, 'IfRevokeSessions')
      .when(sfn.Condition.booleanEquals('$.evidence.plan.revokeSessions', true), revoke.start)
      .otherwise(ifQuarantine);
  }

  private refreshChain(contained: sfn.IChainable, finished: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const planter = this.props.plantFunction;
    if (!planter) {
      const none = this.ledgerTask('NoRefresh', 'finished', { step: 'no planter deployed' });
      none.addCatch(finished, { resultPath: '$.recordError' }).next(finished);
      return none;
    }
    const refreshFailed = this.ledgerTask('RefreshFailed', 'undo-failed', { step: 'refresh-credentials' });
    const incomplete = new sfn.Fail(s, 'RefreshIncomplete', {
      error: 'RefreshIncomplete',
      cause: 'replacing the planted resources failed; the scheduled refresh will retry',
    });
    refreshFailed.addCatch(incomplete, { resultPath: '$.recordError' }).next(incomplete);
    const refresh = this.action('Refresh', 'refresh-credentials', refreshFailed, (after, failed) =>
      this.lambdaRetry(
        new tasks.LambdaInvoke(s, 'RefreshCredentials', {
          lambdaFunction: planter.function,
          payloadResponseOnly: true,
          payload: sfn.TaskInput.fromObject({ action: 'refresh' }),
          resultSelector: { ok: true },
          resultPath: '$.done.refreshCredentials',
        }),
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    refresh.end.next(contained);
    return refresh.start;
  }

  /** After containment: the health check (auto-revert), then the old key's grace period and deletion. */
  private afterContained(finished: sfn.IChainable, undoChain: sfn.IChainable): sfn.IChainable {
    const s = this.s;
    const manual = this.ledgerTask('OldKeyNotDeleted', 'undo-failed', { step: 'delete-old-key' });
    const oldKeyRemains = new sfn.Fail(s, 'OldKeyRemains', {
      error: 'OldKeyRemains',
      cause: 'the old access key stays inactive but could not be deleted; the new key is stored',
    });
    manual.addCatch(oldKeyRemains, { resultPath: '$.recordError' }).next(oldKeyRemains);
    const deleteOld = this.action('DeleteOldKey', 'delete-old-key', manual, (after, failed) =>
      this.iamCall(
        'DeleteOldKeyCall',
        'deleteAccessKey',
        'user',
        {
          UserName: sfn.JsonPath.stringAt('$.evidence.plan.userName'),
          AccessKeyId: sfn.JsonPath.stringAt('$.evidence.plan.accessKeyId'),
        },
        '$.done.deleteOldKey',
      )
        .addCatch(failed, { resultPath: '$.error' })
        .next(after),
    );
    deleteOld.end.next(finished);
    const grace = new sfn.Wait(s, 'GracePeriod', {
      time: sfn.WaitTime.secondsPath('$.decision.graceSeconds'),
    });
    grace.next(deleteOld.start);
    // The old key goes only once the new one is stored: the rotation's result is there.
    const ifDelete = new sfn.Choice(s, 'IfDeleteOldKey')
      .when(sfn.Condition.isPresent('$.rotation.newAccessKeyId'), grace)
      .otherwise(finished);

    let next: sfn.IChainable = ifDelete;
    const alarms = this.props.config.response.healthCheckAlarms;
    if (alarms.length > 0) {
      const delay = new sfn.Wait(s, 'HealthCheckDelay', {
        time: sfn.WaitTime.secondsPath('$.decision.healthCheckSeconds'),
      });
      const check = new tasks.CallAwsService(s, 'CheckHealth', {
        service: 'cloudwatch',
        action: 'describeAlarms',
        iamAction: 'cloudwatch:DescribeAlarms',
        iamResources: alarms.map((name) =>
          Stack.of(this).formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: name,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
        parameters: { AlarmNames: sfn.JsonPath.listAt('$.decision.healthAlarms'), StateValue: 'ALARM' },
        resultSelector: { 'alarming.$': 'States.ArrayLength($.MetricAlarms)' },
        resultPath: '$.health',
      });
      check.addRetry({
        errors: ['CloudWatch.ThrottlingException', 'CloudWatch.Throttling'],
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 5,
      });
      // A health check that cannot run does not undo a containment.
      check.addCatch(this.failedRecord('FailedCheckHealth', 'health-check', ifDelete), {
        resultPath: '$.error',
      });
      const autoRevert = new sfn.Pass(s, 'AutoRevert', {
        result: sfn.Result.fromString('health-check'),
        resultPath: '$.undoReason',
      });
      autoRevert.next(undoChain);
      delay
        .next(check)
        .next(
          new sfn.Choice(s, 'Healthy')
            .when(sfn.Condition.numberGreaterThan('$.health.alarming', 0), autoRevert)
            .otherwise(ifDelete),
        );
      next = delay;
    }
    // Replacing planted resources changed nothing real: no health check, no key to delete.
    return new sfn.Choice(s, 'AfterContained')
      .when(sfn.Condition.stringEquals('$.evidence.plan.path', 'refresh'), finished)
      .otherwise(next);
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
  grant(role: iam.IRole, config: HoneytrailConfig): void {
    const stack = Stack.of(this);
    const actions = [...this.iamActions].sort();
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
  }
}

function iamResourceArn(stack: Stack, kind: Kind): string {
  return stack.formatArn({ service: 'iam', region: '', resource: kind, resourceName: '*' });
}

function executionRef() {
  return {
    arn: sfn.JsonPath.stringAt('$$.Execution.Id'),
    startedAt: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
  };
}
