import * as iamSdk from '@aws-sdk/client-iam';
import {
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import type { CfnResource, Stack } from 'aws-cdk-lib';
import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { FakeAws } from './fake-aws';

/**
 * Runs the response state machine exactly as synthesized: the definition is
 * taken from the template (CloudFormation tokens resolved to fake ARNs) and
 * executed with aws-local-stepfunctions. Lambda tasks run the real handlers;
 * aws-sdk integrations (arn:aws:states:::aws-sdk:iam:*) send the same command
 * through the SDK to the mocked clients of FakeAws; executions are started,
 * stopped and answered through a mocked Step Functions client, so the real
 * intake function and the real CLI commands drive them.
 */

// aws-local-stepfunctions 3 targets Node 22; Node 20 lacks only Promise.withResolvers.
const promiseStatics = Promise as unknown as { withResolvers?: unknown };
if (!promiseStatics.withResolvers) {
  promiseStatics.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export const REGION = 'us-east-1';
type Json = Record<string, unknown>;
type Handler = (event: unknown) => Promise<unknown>;

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Json }>;
}

/** Resolves the intrinsic functions CDK leaves in a template value to fake, stable values. */
export function resolveTokens(value: unknown, template: TemplateJson): unknown {
  const resolveRef = (id: string): string => {
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::AccountId') return TEST_ACCOUNT;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${REGION}:${TEST_ACCOUNT}:${id}`;
    if (type === 'AWS::S3::Bucket') return id.toLowerCase();
    return id;
  };
  const resolveArn = (id: string): string => {
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${TEST_ACCOUNT}:function:${id}`;
    if (type === 'AWS::IAM::Role') return `arn:aws:iam::${TEST_ACCOUNT}:role/${id}`;
    if (type === 'AWS::KMS::Key') return `arn:aws:kms:${REGION}:${TEST_ACCOUNT}:key/${id}`;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${id.toLowerCase()}`;
    return `arn:aws:fake:${REGION}:${TEST_ACCOUNT}:${id}`;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Json;
      if ('Ref' in o) return resolveRef(String(o.Ref));
      if ('Fn::GetAtt' in o) {
        const [id, attribute] = o['Fn::GetAtt'] as [string, string];
        if (attribute === 'Arn') return resolveArn(id);
        return `${id}.${attribute}`;
      }
      if ('Fn::Join' in o) {
        const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map((p) => String(walk(p))).join(separator);
      }
      return Object.fromEntries(Object.entries(o).map(([k, item]) => [k, walk(item)]));
    }
    return v;
  };
  return walk(value);
}

export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  states: string[];
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
  definition!: Json;
  template!: TemplateJson;
  stateMachineArn!: string;
  bucket!: string;
  policyEnvironment!: string;
  private handlers = new Map<string, Handler>();
  private intake!: Handler;
  private sfnMock?: AwsClientStub<SFNClient>;
  private counter = 0;
  private machine?: StateMachine;
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
    this.template = built.template().toJSON() as TemplateJson;
    const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
      (stack as Stack).getLogicalId(construct.node.defaultChild as CfnResource);
    const workflow = stack.workflow;
    const machine = Object.entries(this.template.Resources).find(
      ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (!machine) throw new Error('no state machine in the template');
    this.definition = JSON.parse(
      String(resolveTokens(machine[1].Properties?.DefinitionString, this.template)),
    );
    this.stateMachineArn = `arn:aws:states:${REGION}:${TEST_ACCOUNT}:stateMachine:${machine[1].Properties?.StateMachineName}`;

    // The handlers' environment, as synthesized.
    const environmentOf = (fn: { function: { node: { defaultChild?: unknown } } }) => {
      const resource = this.template.Resources[logicalId(fn.function)];
      return resolveTokens((resource?.Properties?.Environment as Json)?.Variables, this.template) as Record<
        string,
        string
      >;
    };
    const env = { ...environmentOf(workflow.ledger), ...environmentOf(workflow.intake) };
    const live = this.options.live;
    if (live) {
      // The synthesized policy, for the live account.
      const policy = JSON.parse(env.RESPONSE_POLICY ?? '{}') as { account?: string };
      env.RESPONSE_POLICY = JSON.stringify({ ...policy, account: live.account });
      env.RECORDS_BUCKET = live.bucket;
      env.TOPIC_ARN = live.topicArn;
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
    this.handlers.set(
      logicalId(workflow.ledger.function),
      await load('../../functions/respond-ledger/handler'),
    );
    this.handlers.set(
      logicalId(workflow.evidence.function),
      await load('../../functions/respond-evidence/handler'),
    );
    this.handlers.set(
      logicalId(workflow.rotation.function),
      await load('../../functions/respond-rotate/handler'),
    );
    this.intake = await load('../../functions/respond-start/handler');
    this.handlers.set(logicalId(stack.decoys.plantFunction.function), async (event) => {
      this.aws.calls.push('Refresh');
      const failure = this.aws.failures.Refresh;
      if (failure) throw Object.assign(new Error('refresh failed'), { name: failure.name });
      this.refreshCalls++;
      return { refreshed: true, event };
    });
  }

  dispose(): void {
    this.aws.restore();
    this.sfnMock?.restore();
    for (const execution of this.executions.values()) execution.abort();
  }

  /** Delivers an EventBridge event to the real intake function (as the rule would). */
  async deliver(event: unknown): Promise<{ executionArn?: string; duplicate: boolean }> {
    return (await this.intake(structuredClone(event))) as { executionArn?: string; duplicate: boolean };
  }

  /** Starts an execution directly (what StartExecution does), e.g. without a mocked Step Functions. */
  startLocal(name: string, input: unknown): string {
    const arn = `arn:aws:states:${REGION}:${TEST_ACCOUNT}:execution:${this.stateMachineArn.split(':').pop()}:${name}`;
    this.start(arn, name, structuredClone(input));
    return arn;
  }

  async settled(executionArn: string): Promise<RunResult> {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`no execution ${executionArn}`);
    return execution.done;
  }

  /** Waits until an execution is waiting for approval; returns its token. */
  async awaitingApproval(executionArn: string): Promise<string> {
    const name = executionArn.split(':').pop() ?? '';
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
          throw Object.assign(new Error(`state machine ${input.stateMachineArn} does not exist`), {
            name: 'StateMachineDoesNotExist',
          });
        const name = input.name ?? `exec-${++this.counter}`;
        const arn = `arn:aws:states:${REGION}:${TEST_ACCOUNT}:execution:${this.stateMachineArn.split(':').pop()}:${name}`;
        if (this.executions.has(arn))
          throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${arn}'`, $metadata: {} });
        this.start(arn, name, JSON.parse(input.input ?? '{}'));
        return { executionArn: arn, startDate: new Date() };
      });
    sfn.on(StopExecutionCommand).callsFake((input: { executionArn?: string }) => {
      this.aws.calls.push('StopExecution');
      const execution = this.executions.get(input.executionArn ?? '');
      if (!execution) throw Object.assign(new Error('does not exist'), { name: 'ExecutionDoesNotExist' });
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
    // Validated once (the library validates on construction); each run is independent.
    this.machine ??= new StateMachine(this.definition as never, {
      validationOptions: { checkArn: true, checkPaths: true },
    });
    const machine = this.machine;
    const states = this.collectStates(this.definition);
    type Overrides = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
    const taskHandlers: Overrides = {};
    for (const [stateName, state] of states) {
      if (state.Type === 'Task')
        taskHandlers[stateName] = async (taskInput) =>
          (await this.runTask(stateName, state, taskInput, name)) as never;
    }
    const waits = Object.fromEntries(
      [...states].filter(([, s]) => s.Type === 'Wait').map(([n]) => [n, this.waits[n] ?? 0]),
    );
    const retries = Object.fromEntries([...states].filter(([, s]) => 'Retry' in s).map(([n]) => [n, 0]));
    const context: RunOptions['context'] = {
      Execution: { Id: arn, Name: name, StartTime: new Date().toISOString(), Input: input as never },
      Task: { Token: tokenOf(name) },
    };
    const run = machine.run(input as never, {
      context,
      noThrowOnAbort: true,
      overrides: {
        taskResourceLocalHandlers: taskHandlers,
        waitTimeOverrides: waits,
        retryIntervalOverrides: retries,
      },
    });
    const visited: string[] = [];
    const record: Execution = {
      arn,
      name,
      input,
      status: 'RUNNING',
      abort: () => {
        if (record.status === 'RUNNING') {
          record.status = 'ABORTED';
          run.abort();
        }
      },
      done: Promise.resolve(undefined as never),
    };
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') visited.push((event as { state: { name: string } }).state.name);
      }
    })().catch(() => undefined);
    record.done = run.result.then(
      async (output) => {
        await logs;
        if (record.status === 'ABORTED') return { status: 'ABORTED' as const, states: visited };
        record.status = 'SUCCEEDED';
        return { status: 'SUCCEEDED' as const, output, states: visited };
      },
      async (error: { name?: string; message?: string; cause?: { name?: string; message?: string } }) => {
        await logs;
        if (record.status === 'ABORTED') return { status: 'ABORTED' as const, states: visited };
        record.status = 'FAILED';
        // A Fail state's error and cause (or an uncaught task error).
        const inner = error.cause ?? error;
        return { status: 'FAILED' as const, error: inner.name, cause: inner.message, states: visited };
      },
    );
    this.executions.set(arn, record);
  }

  private collectStates(definition: Json): Map<string, Json> {
    const states = new Map<string, Json>();
    for (const [name, state] of Object.entries(definition.States as Record<string, Json>))
      states.set(name, state);
    return states;
  }

  private async runTask(
    stateName: string,
    state: Json,
    input: unknown,
    executionName: string,
  ): Promise<unknown> {
    const resource = String(state.Resource);
    const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null));
    if (resource.startsWith('arn:aws:lambda:')) {
      const handler = this.handlers.get(resource.split(':').pop() ?? '');
      if (!handler) throw new Error(`${stateName}: no handler for ${resource}`);
      return clone(await handler(clone(input)));
    }
    if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      const parameters = input as { FunctionName: string; Payload: unknown };
      const handler = this.handlers.get(parameters.FunctionName.split(':').pop() ?? '');
      if (!handler) throw new Error(`${stateName}: no handler for ${parameters.FunctionName}`);
      await handler(clone(parameters.Payload));
      const token = tokenOf(executionName);
      return new Promise((resolve, reject) => this.approvals.set(token, { resolve, reject }));
    }
    const sdk = /^arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)$/.exec(resource);
    if (sdk) {
      const [, service = '', action = ''] = sdk;
      try {
        return clone(await this.callService(service, action, input as Json));
      } catch (error) {
        const name = (error as { name?: string }).name ?? 'Error';
        throw Object.assign(new Error((error as Error).message), {
          name: integrationErrorName(service, name),
        });
      }
    }
    throw new Error(`${stateName}: no local binding for ${resource}`);
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

export function tokenOf(executionName: string): string {
  return `AQCEAAAAKgAAAA-${executionName}`;
}
