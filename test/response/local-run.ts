import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import * as iamSdk from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import type { CfnResource, Stack } from 'aws-cdk-lib';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import {
  type FunctionBinding,
  LocalWorkflow as LocalStateMachine,
  type StateData,
} from '../../layers/drill/local-workflow';
import {
  type CfnTemplate,
  functionOf,
  type StackTemplate,
  stateMachineOf,
} from '../../layers/drill/template';
import { type Finding, findingSchema } from '../../layers/findings/finding';
import { findingDigest } from '../../layers/findings/records';
import { S3ReceivedFindings } from '../../layers/response/received';
import { executionName, responseExecutionName } from '../../layers/response/state';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { FakeAws } from './fake-aws';

/**
 * Runs the response state machine exactly as synthesized: the definition is
 * taken from the template (CloudFormation intrinsics resolved by the drill's
 * IntrinsicResolver) and executed by the drill's LocalWorkflow
 * (aws-local-stepfunctions). Lambda tasks run the real handlers;
 * aws-sdk integrations (arn:aws:states:::aws-sdk:iam:*) send the same command
 * through the SDK to the mocked clients of FakeAws; executions are started,
 * stopped and answered through a mocked Step Functions client, so the real
 * intake function and the real CLI commands drive them.
 */

export const REGION = 'us-east-1';
type Json = Record<string, unknown>;
type Handler = (event: unknown) => Promise<unknown>;

export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  states: string[];
  /** The execution input and every state's input and output (what ReadOnlyAccess can read). */
  data: StateData[];
}

interface Execution {
  arn: string;
  name: string;
  input: unknown;
  done: Promise<RunResult>;
  abort: () => void;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
}

export interface HarnessOptions {
  /** Milliseconds each Wait state takes (default 0); e.g. keep GracePeriod waiting. */
  waits?: Record<string, number>;
  /**
   * Real AWS (the live suite): no mocks; the handlers use the SDK's standard
   * settings and these resources instead of the synthesized ones.
   */
  live?: { account: string; region: string; bucket: string; topicArn: string };
}

const SERVICE_ERROR_PREFIX: Record<string, string> = { iam: 'Iam', sfn: 'Sfn', cloudwatch: 'CloudWatch' };

/** Step Functions' name for an AWS SDK integration error: ServiceName.ErrorNameException. */
export function integrationErrorName(service: string, name: string): string {
  const prefix = SERVICE_ERROR_PREFIX[service] ?? service;
  return `${prefix}.${name.endsWith('Exception') ? name : `${name}Exception`}`;
}

export class LocalWorkflow {
  readonly aws = new FakeAws();
  readonly executions = new Map<string, Execution>();
  readonly approvals = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Alarms the health check finds in ALARM. */
  alarming: string[] = [];
  refreshCalls = 0;
  /** What the workflow sent the planter, in order. */
  readonly refreshEvents: unknown[] = [];
  definition!: Json;
  template!: CfnTemplate;
  stateMachineArn!: string;
  bucket!: string;
  policyEnvironment!: string;
  private intake!: Handler;
  private sfnMock?: AwsClientStub<SFNClient>;
  private counter = 0;
  /** A live run's state table (createStateTable). */
  private stateTable?: string;
  private machine!: LocalStateMachine;
  private options: HarnessOptions = {};
  /** Milliseconds each Wait state takes (default 0); change per test, e.g. to keep GracePeriod waiting. */
  waits: Record<string, number> = {};

  static async create(config: HoneytrailConfigInput, options: HarnessOptions = {}): Promise<LocalWorkflow> {
    const local = new LocalWorkflow();
    local.options = options;
    local.waits = { ...(options.waits ?? {}) };
    await local.setUp(config);
    return local;
  }

  private async setUp(config: HoneytrailConfigInput): Promise<void> {
    const built = synthApp(config);
    const stack = built.main;
    this.template = built.template().toJSON() as CfnTemplate;
    const deployed: StackTemplate = {
      stackName: stack.stackName,
      id: stack.node.id,
      account: TEST_ACCOUNT,
      region: REGION,
      template: this.template,
    };
    const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
      (stack as Stack).getLogicalId(construct.node.defaultChild as CfnResource);
    const workflow = stack.workflow;
    const machine = stateMachineOf(deployed, logicalId(workflow.stateMachine));
    this.definition = machine.definition;
    this.stateMachineArn = machine.arn;

    // The handlers' ARNs and environment, as synthesized.
    const deployedFunction = (fn: { function: { node: { defaultChild?: unknown } } }) =>
      functionOf(deployed, logicalId(fn.function));
    const env = {
      ...deployedFunction(workflow.ledger).environment,
      ...deployedFunction(workflow.intake).environment,
    };
    const live = this.options.live;
    if (live) {
      // The synthesized policy, for the live account.
      const policy = JSON.parse(env.RESPONSE_POLICY ?? '{}') as { account?: string };
      env.RESPONSE_POLICY = JSON.stringify({ ...policy, account: live.account });
      env.RECORDS_BUCKET = live.bucket;
      env.TOPIC_ARN = live.topicArn;
      // The ledger keeps incidents and the automation budget in the state table: a table of the run's own.
      env.STATE_TABLE = await this.createStateTable(`review-state-${Date.now().toString(36)}`);
    }
    Object.assign(process.env, env, {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_TRACE_DISABLED: 'true',
      AWS_REGION: live?.region ?? REGION,
    });
    this.bucket = env.RECORDS_BUCKET ?? '';
    this.policyEnvironment = env.RESPONSE_POLICY ?? '';

    if (!live) {
      this.aws.install();
      this.installStepFunctions();
    }
    // Fresh handler modules: they read the environment at load.
    vi.resetModules();
    const load = async (path: string) => ((await import(path)) as { handler: Handler }).handler;
    // Payloads and results cross the Lambda boundary as JSON.
    const asLambda =
      (handler: Handler): FunctionBinding =>
      async (payload) =>
        clone(await handler(clone(payload)));
    const functions = new Map<string, FunctionBinding>([
      [deployedFunction(workflow.ledger).arn, asLambda(await load('../../functions/respond-ledger/handler'))],
      [
        deployedFunction(workflow.evidence).arn,
        asLambda(await load('../../functions/respond-evidence/handler')),
      ],
      [
        deployedFunction(workflow.rotation).arn,
        asLambda(await load('../../functions/respond-rotate/handler')),
      ],
      [
        deployedFunction(stack.decoys.plantFunction).arn,
        asLambda(async (event) => {
          this.aws.calls.push('Refresh');
          this.refreshEvents.push(event);
          const failure = this.aws.failures.Refresh;
          if (failure) throw Object.assign(new Error('refresh failed'), { name: failure.name });
          this.refreshCalls++;
          return { refreshed: true, event };
        }),
      ],
    ]);
    this.intake = await load('../../functions/respond-start/handler');
    this.machine = new LocalStateMachine(
      this.definition,
      {
        functions,
        sdk: async (service, action, input) => {
          try {
            return clone(await this.callService(service, action, input as Json));
          } catch (error) {
            const name = (error as { name?: string }).name ?? 'Error';
            throw Object.assign(new Error((error as Error).message), {
              name: integrationErrorName(service, name),
            });
          }
        },
        answer: (token) => new Promise((resolve, reject) => this.approvals.set(token, { resolve, reject })),
      },
      { validate: true, taskToken: tokenOf, keepStateData: true },
    );
  }

  /** A table shaped as the state table (pk, sk), for a live run; deleted by dispose(). */
  private async createStateTable(name: string): Promise<string> {
    const dynamo = new DynamoDBClient({});
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 120 }, { TableName: name });
    this.stateTable = name;
    return name;
  }

  dispose(): void {
    if (this.stateTable)
      void new DynamoDBClient({})
        .send(new DeleteTableCommand({ TableName: this.stateTable }))
        .catch(() => undefined);
    this.aws.restore();
    this.sfnMock?.restore();
    for (const execution of this.executions.values()) execution.abort();
  }

  /**
   * Delivers an EventBridge event to the real intake function (as the rule would).
   * A finding is first recorded in the state table as its detector records it,
   * unless `forged` (put on the bus by someone else).
   */
  async deliver(
    event: unknown,
    options: { forged?: boolean } = {},
  ): Promise<{ executionArn?: string; duplicate: boolean; refused?: string }> {
    const finding = findingSchema.safeParse((event as { detail?: unknown }).detail);
    if (finding.success && !options.forged)
      this.aws.issuedFindings.add(`issued#${finding.data.id}/${findingDigest(finding.data)}`);
    return (await this.intake(structuredClone(event))) as { executionArn?: string; duplicate: boolean };
  }

  /**
   * Starts the response to a finding directly, as the intake would: the finding is
   * kept in the records bucket where the ledger reads it, and the execution's input
   * is its id and digest only.
   */
  async startFinding(finding: Finding): Promise<string> {
    const digest = findingDigest(finding);
    await new S3ReceivedFindings(new S3Client({}), this.bucket).keep(finding, digest);
    return this.startLocal(responseExecutionName(finding.id), {
      mode: 'respond',
      findingId: finding.id,
      digest,
      receivedAt: new Date().toISOString(),
    });
  }

  /** Starts an execution directly (what StartExecution does), e.g. without a mocked Step Functions. */
  startLocal(name: string, input: unknown): string {
    const arn = this.executionArnOf(name);
    this.start(arn, name, structuredClone(input));
    return arn;
  }

  private executionArnOf(name: string): string {
    return `arn:aws:states:${REGION}:${TEST_ACCOUNT}:execution:${this.stateMachineArn.split(':').pop()}:${name}`;
  }

  async settled(executionArn: string): Promise<RunResult> {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`no execution ${executionArn}`);
    return execution.done;
  }

  /** Waits until an execution is waiting for approval; returns its token. */
  async awaitingApproval(executionArn: string): Promise<string> {
    const name = executionName(executionArn);
    const token = tokenOf(name);
    for (let i = 0; i < 400 && !this.approvals.has(token); i++) {
      const execution = this.executions.get(executionArn);
      if (execution && execution.status !== 'RUNNING')
        throw new Error(`${name} ended (${execution.status}) without asking`);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (!this.approvals.has(token)) throw new Error(`${name} is not waiting for approval`);
    return token;
  }

  /** The approval timeout elapses (Step Functions fails the task with States.Timeout). */
  expire(token: string): void {
    const pending = this.approvals.get(token);
    if (!pending) throw new Error(`no pending approval ${token}`);
    this.approvals.delete(token);
    pending.reject(Object.assign(new Error('Task timed out'), { name: 'States.Timeout' }));
  }

  private installStepFunctions(): void {
    const sfn = mockClient(SFNClient);
    this.sfnMock = sfn;
    sfn
      .on(StartExecutionCommand)
      .callsFake((input: { stateMachineArn?: string; name?: string; input?: string }) => {
        if (input.stateMachineArn !== this.stateMachineArn)
          throw new StateMachineDoesNotExist({
            message: `State Machine Does Not Exist: '${input.stateMachineArn}'`,
            $metadata: {},
          });
        const name = input.name ?? `exec-${++this.counter}`;
        const arn = this.executionArnOf(name);
        if (this.executions.has(arn))
          throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} });
        this.start(arn, name, JSON.parse(input.input ?? '{}'));
        return { executionArn: arn, startDate: new Date() };
      });
    sfn.on(StopExecutionCommand).callsFake((input: { executionArn?: string }) => {
      this.aws.calls.push('StopExecution');
      const execution = this.executions.get(input.executionArn ?? '');
      if (!execution) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
      if (execution.status === 'RUNNING') execution.abort();
      return { stopDate: new Date() };
    });
    const pending = (token: string | undefined) => {
      const found = this.approvals.get(token ?? '');
      if (!found) throw new TaskDoesNotExist({ message: 'Task does not exist anymore', $metadata: {} });
      this.approvals.delete(token ?? '');
      return found;
    };
    sfn.on(SendTaskSuccessCommand).callsFake((input: { taskToken?: string; output?: string }) => {
      pending(input.taskToken).resolve(JSON.parse(input.output ?? '{}'));
      return {};
    });
    sfn
      .on(SendTaskFailureCommand)
      .callsFake((input: { taskToken?: string; error?: string; cause?: string }) => {
        pending(input.taskToken).reject(
          Object.assign(new Error(input.cause ?? ''), { name: input.error ?? 'TaskFailed' }),
        );
        return {};
      });
  }

  private start(arn: string, name: string, input: unknown): void {
    const running = this.machine.start(
      input,
      { arn, startedAt: new Date().toISOString() },
      { waits: this.waits },
    );
    const record: Execution = {
      arn,
      name,
      input,
      status: 'RUNNING',
      abort: () => {
        if (record.status === 'RUNNING') {
          record.status = 'ABORTED';
          running.abort();
        }
      },
      done: running.result.then((result): RunResult => {
        const data = result.data ?? [];
        if (result.status === 'ABORTED' || record.status === 'ABORTED')
          return { status: 'ABORTED', states: result.states, data };
        record.status = result.status;
        if (result.status === 'SUCCEEDED')
          return { status: 'SUCCEEDED', output: result.output, states: result.states, data };
        // A Fail state's error and cause (or an uncaught task error).
        const inner = result.error?.cause ?? result.error;
        return { status: 'FAILED', error: inner?.name, cause: inner?.message, states: result.states, data };
      }),
    };
    this.executions.set(arn, record);
  }

  private async callService(service: string, action: string, input: Json): Promise<unknown> {
    const commandName = `${action.charAt(0).toUpperCase()}${action.slice(1)}Command`;
    if (service === 'iam') {
      const Command = (iamSdk as unknown as Record<string, new (i: Json) => unknown>)[commandName];
      if (!Command) throw new Error(`no IAM command ${commandName}`);
      const { $metadata: _, ...result } = (await new iamSdk.IAMClient({}).send(
        new Command(input) as never,
      )) as unknown as Json;
      return result;
    }
    if (service === 'sfn' && action === 'stopExecution') {
      // Step Functions takes PascalCase parameters; the SFN API's own members are camelCase.
      const camel = Object.fromEntries(
        Object.entries(input).map(([k, v]) => [`${k[0]?.toLowerCase()}${k.slice(1)}`, v]),
      );
      const { $metadata: _, ...result } = (await new SFNClient({}).send(
        new StopExecutionCommand(camel as never),
      )) as unknown as Json;
      return result;
    }
    if (service === 'cloudwatch' && action === 'describeAlarms') {
      this.aws.calls.push('DescribeAlarms');
      const failure = this.aws.failures.DescribeAlarms;
      if (failure) throw Object.assign(new Error('describe failed'), { name: failure.name });
      const names = (input.AlarmNames as string[]) ?? [];
      return {
        MetricAlarms: names
          .filter((n) => this.alarming.includes(n))
          .map((AlarmName) => ({ AlarmName, StateValue: 'ALARM' })),
      };
    }
    throw new Error(`no local binding for aws-sdk:${service}:${action}`);
  }
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null));

export function tokenOf(executionName: string): string {
  return `AQCEAAAAKgAAAA-${executionName}`;
}
