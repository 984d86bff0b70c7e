import { ArnFormat, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { workflowStateMachineName } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { encodePolicy, responsePolicy } from '../../layers/response/policy';
import { roleIamPath } from '../aspects/role-path';
import { acknowledge } from '../nag/acknowledge';
import { HouseFunction } from './house-function';
import { buildDashboard } from './incident-workflow/dashboard';
import { WorkflowDefinition } from './incident-workflow/definition';
import {
  grantEvidence,
  grantNotifications,
  grantRecords,
  grantRotation,
  grantStateMachine,
  type WorkflowParts,
} from './incident-workflow/grants';
import {
  FINDINGS_PATTERN,
  LABELS_PATTERN,
  SERVICE_NAME,
  WORKFLOW_RESOURCE_IDS,
} from './incident-workflow/names';
import { ownRoleEntries, ownRoleEntryCount } from './incident-workflow/protected-principals';
import type { Notifications } from './notifications';
import { privateKmsBucketProps } from './private-bucket';
import type { StateStore } from './state-store';

export {
  FINDINGS_PATTERN,
  LABELS_PATTERN,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  WORKFLOW_RESOURCE_IDS,
} from './incident-workflow/names';
export { protectedIamArns } from './incident-workflow/protected-principals';

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
  /**
   * The planter: invoked with {"action":"refresh","reason":"response","id":<execution name>}
   * when the planted key itself was used.
   */
  readonly plantFunction?: HouseFunction;
  /** The registry of planted resources: the ledger reads which users are planted. */
  readonly state: StateStore;
}

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
    // Lambda refuses more than 4 KB of environment: a policy that cannot fit fails here, at synth.
    this.node.addValidation({ validate: () => policyTooLarge(config, ownRoleEntryCount(stack)) });
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
    const parts: WorkflowParts = {
      scope: this,
      records: this.records,
      key: this.key,
      intake: this.intake,
      ledger: this.ledger,
      evidence: this.evidence,
      rotation: this.rotation,
    };
    grantRecords(parts);
    grantNotifications(parts, props.notifications);
    grantEvidence(parts);
    grantRotation(parts, config);

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
    grantStateMachine(parts, this.stateMachine, definition, config);

    // Intake: starts executions (and must encrypt their input with the workflow key).
    this.stateMachine.grantStartExecution(this.intake.role);
    this.intake.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': stateMachineArn } },
      }),
    );

    // Ledger: escalates a waiting approval (SendTaskSuccess, its output encrypted with the
    // workflow key) when a later finding raises the incident to a level the policy acts on.
    this.ledger.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [stateMachineArn] }),
    );
    this.ledger.role.addToPrincipalPolicy(
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

    this.dashboard = buildDashboard(this, config, this.stateMachine);
  }
}

/**
 * Of Lambda's 4 KB of environment variables (names and values), what the ledger's
 * policy may take: the rest is for the bucket, topic and table names at their
 * longest and the runtime's own settings.
 */
export const MAX_POLICY_ENVIRONMENT_BYTES = 3328;

/**
 * The policy's size at its largest (every own role's ARN with the longest name
 * CloudFormation generates, 64 characters, in the longest partition name): a
 * problem when it cannot fit.
 */
export function policyTooLarge(config: HoneytrailConfig, ownRoles: number): string[] {
  const longestRole = `arn:aws-iso-b:iam::111122223333:role${roleIamPath(config)}${'x'.repeat(64)}`;
  const policy = responsePolicy(config, {
    ownRoles: Array.from({ length: ownRoles }, () => longestRole),
    account: '111122223333',
    partition: 'aws-iso-b',
  });
  const bytes = Buffer.byteLength(encodePolicy(policy));
  if (bytes <= MAX_POLICY_ENVIRONMENT_BYTES) return [];
  return [
    `the response policy takes up to ${bytes} bytes of the ledger's environment, more than the ${MAX_POLICY_ENVIRONMENT_BYTES} of Lambda's 4 KB it may use: shorten response.protectedPrincipals, organization.protectedPrincipals or response.rules (a pattern such as arn:aws:iam::*:role/ops-* covers many roles)`,
  ];
}
