import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';

/**
 * Runs a deployed state machine definition (ASL, as synthesized) on this machine
 * with aws-local-stepfunctions. Each Task state is bound by what it calls: a
 * Lambda function (by its deployed ARN) runs the code that function's handler
 * runs, over ports the caller provides; an `aws-sdk:<service>:<action>`
 * integration goes to `sdk`; waiting for a task token (human approval) goes to
 * `answer`, or, without one, gets no answer, as when nobody answers before the
 * timeout. Retry pauses take no time; waits none unless the caller says so.
 * The drill runs it over memory; test/response/local-run.ts over mocked AWS.
 */

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node.js 22); the command
// line runs on Node.js 20 too (package.json engines), so supply it when missing.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export type FunctionBinding = (payload: unknown) => Promise<unknown>;

export interface WorkflowBindings {
  /** By function ARN (unqualified). */
  functions: ReadonlyMap<string, FunctionBinding>;
  /** A direct service integration; returns the API's response. */
  sdk: (service: string, action: string, parameters: unknown) => Promise<unknown>;
  /**
   * The answer to a task token (SendTaskSuccess's output; a rejection is
   * SendTaskFailure). Without it nobody answers: the task times out.
   */
  answer?: (token: string) => Promise<unknown>;
}

export interface LocalWorkflowOptions {
  /** Validate the definition's ARNs and paths (asl-validator) when loading it. Default off. */
  validate?: boolean;
  /** The task token ($$.Task.Token) of an execution. Default `local-token-<execution name>`. */
  taskToken?: (executionName: string) => string;
  /**
   * Keep every state's input and output and every task's parameters and result
   * (what DescribeExecution and GetExecutionHistory show) in the result's `data`.
   * Default off.
   */
  keepStateData?: boolean;
}

/** One piece of execution data, as the execution history would show it. */
export interface StateData {
  state: string;
  kind: 'input' | 'output' | 'task-parameters' | 'task-result';
  value: unknown;
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  /** Why it failed; `cause` is the Fail state's (or uncaught task's) error the library wraps. */
  error?: { name: string; message: string; cause?: { name: string; message: string } };
  /** Task states entered, in order. */
  tasks: string[];
  /** Every state entered, in order. */
  states: string[];
  /** Errors Task states raised (caught or not), as `state: name: message`. */
  taskErrors: string[];
  /** With keepStateData: the execution's data, in order (the execution input first). */
  data?: StateData[];
}

export interface RunningExecution {
  result: Promise<ExecutionResult>;
  /** Stops it (StopExecution); its result is then ABORTED. */
  abort: () => void;
}

type StateDefinition = {
  Type: string;
  Resource?: string;
  Retry?: unknown[];
  Branches?: { States: Record<string, StateDefinition> }[];
  Iterator?: { States: Record<string, StateDefinition> };
  ItemProcessor?: { States: Record<string, StateDefinition> };
};

type Definition = { States: Record<string, StateDefinition>; StartAt: string };

export class LocalWorkflowError extends Error {
  override readonly name = 'LocalWorkflowError';
}

/** Every state of a definition, nested branches and map iterators included. */
export function allStates(definition: {
  States: Record<string, StateDefinition>;
}): [string, StateDefinition][] {
  const found: [string, StateDefinition][] = [];
  const walk = (states: Record<string, StateDefinition>) => {
    for (const [name, state] of Object.entries(states)) {
      found.push([name, state]);
      for (const branch of state.Branches ?? []) walk(branch.States);
      if (state.Iterator) walk(state.Iterator.States);
      if (state.ItemProcessor) walk(state.ItemProcessor.States);
    }
  };
  walk(definition.States);
  return found;
}

const LAMBDA_ARN = /^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:[^:]+/;
const SDK_RESOURCE = /^arn:[a-z-]+:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)(\.[a-zA-Z]+)?$/;

/** An error a Task raises, with the name Step Functions' Retry/Catch match on. */
function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

export class LocalWorkflow {
  private readonly definition: Definition;
  private readonly bindings: WorkflowBindings;
  private readonly machine: StateMachine;
  private readonly taskToken: (executionName: string) => string;
  private readonly retries: Record<string, number> = {};
  private readonly keepStateData: boolean;

  constructor(
    definition: Record<string, unknown>,
    bindings: WorkflowBindings,
    options: LocalWorkflowOptions = {},
  ) {
    this.definition = definition as unknown as Definition;
    this.bindings = bindings;
    this.taskToken = options.taskToken ?? ((name) => `local-token-${name}`);
    this.keepStateData = options.keepStateData ?? false;
    for (const [name, state] of allStates(this.definition)) {
      if (state.Retry) this.retries[name] = 0;
      if (state.Type === 'Task') this.handlerOf(name, state, ''); // fail early on an unbindable task
    }
    // Validation off by default: aws-sdk integration ARNs are not all known to the validator.
    const validate = options.validate ?? false;
    this.machine = new StateMachine(definition as never, {
      validationOptions: { checkArn: validate, checkPaths: validate },
    });
  }

  private handlerOf(
    name: string,
    state: StateDefinition,
    token: string,
  ): (input: unknown) => Promise<unknown> {
    const resource = state.Resource ?? '';
    const lambda = LAMBDA_ARN.exec(resource);
    if (lambda) {
      const fn = this.function(lambda[0], name);
      return (input) => fn(input);
    }
    if (/^arn:[a-z-]+:states:::lambda:invoke$/.test(resource)) {
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        const fn = this.function(String(FunctionName), name);
        return { StatusCode: 200, Payload: await fn(Payload) };
      };
    }
    if (/^arn:[a-z-]+:states:::lambda:invoke\.waitForTaskToken$/.test(resource)) {
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        await this.function(String(FunctionName), name)(Payload);
        if (this.bindings.answer) return this.bindings.answer(token);
        // Nobody answers: what the timeout does in AWS.
        throw namedError('States.Timeout', 'no answer to the task token before the timeout');
      };
    }
    const sdk = SDK_RESOURCE.exec(resource);
    if (sdk) return (input) => this.bindings.sdk(sdk[1]!, sdk[2]!, input);
    throw new LocalWorkflowError(`state ${name}: cannot run resource ${resource} locally`);
  }

  private function(arn: string, state: string): FunctionBinding {
    const unqualified = LAMBDA_ARN.exec(arn)?.[0] ?? arn;
    const fn = this.bindings.functions.get(unqualified);
    if (!fn) throw new LocalWorkflowError(`state ${state}: no local binding for function ${unqualified}`);
    return fn;
  }

  /** Runs an execution to its end. */
  async run(
    input: unknown,
    execution: { arn: string; startedAt: string },
  ): Promise<ExecutionResult & { status: 'SUCCEEDED' | 'FAILED' }> {
    const result = await this.start(input, execution).result;
    // Unreachable: nobody else holds this execution's abort.
    if (result.status === 'ABORTED') throw new LocalWorkflowError(`${execution.arn} was aborted`);
    return { ...result, status: result.status };
  }

  /**
   * Starts an execution and returns at once. `waits`: milliseconds a Wait state
   * takes, by state name (default 0).
   */
  start(
    input: unknown,
    execution: { arn: string; startedAt: string },
    options: { waits?: Readonly<Record<string, number>> } = {},
  ): RunningExecution {
    const name = execution.arn.split(':').pop() ?? 'execution';
    const token = this.taskToken(name);
    const tasks: string[] = [];
    const taskErrors: string[] = [];
    const data: StateData[] | undefined = this.keepStateData
      ? [{ state: '(execution)', kind: 'input', value: input }]
      : undefined;
    const waits: Record<string, number> = {};
    type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
    const handlers: LocalHandlers = {};
    for (const [stateName, state] of allStates(this.definition)) {
      if (state.Type === 'Wait') waits[stateName] = options.waits?.[stateName] ?? 0;
      if (state.Type !== 'Task') continue;
      const handler = this.handlerOf(stateName, state, token);
      // The library types inputs and results as its own JSON type; the bindings take and give JSON.
      handlers[stateName] = (async (taskInput: unknown) => {
        tasks.push(stateName);
        data?.push({ state: stateName, kind: 'task-parameters', value: taskInput });
        try {
          const taskResult = await handler(taskInput);
          data?.push({ state: stateName, kind: 'task-result', value: taskResult });
          return taskResult;
        } catch (error) {
          taskErrors.push(`${stateName}: ${(error as Error).name}: ${(error as Error).message}`);

          throw error;
        }
      }) as LocalHandlers[string];
    }
    const run = this.machine.run(input as never, {
      noThrowOnAbort: true,
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: waits,
        retryIntervalOverrides: this.retries,
      },
      context: {
        Execution: { Id: execution.arn, Name: name, StartTime: execution.startedAt, Input: input as never },
        StateMachine: {
          Id: execution.arn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
          Name: name,
        },
        Task: { Token: token },
      },
    });
    const states: string[] = [];
    const logs = (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          states.push(event.state.name);
          data?.push({ state: event.state.name, kind: 'input', value: event.state.input });
        }
        if (event.type === 'StateExited')
          data?.push({ state: event.state.name, kind: 'output', value: event.state.output });
      }
    })().catch(() => undefined);
    let aborted = false;
    const result = run.result.then(
      async (output): Promise<ExecutionResult> => {
        await logs;
        if (aborted) return { status: 'ABORTED', tasks, states, taskErrors, data };
        return { status: 'SUCCEEDED', output, tasks, states, taskErrors, data };
      },
      async (error: Error & { cause?: unknown }): Promise<ExecutionResult> => {
        await logs;
        if (aborted) return { status: 'ABORTED', tasks, states, taskErrors, data };
        const cause = error.cause as { name?: string; message?: string } | undefined;
        return {
          status: 'FAILED',
          error: {
            name: error.name,
            message: error.message,
            ...(cause ? { cause: { name: String(cause.name), message: String(cause.message) } } : {}),
          },
          tasks,
          states,
          taskErrors,
          data,
        };
      },
    );
    return {
      result,
      abort: () => {
        if (aborted) return;
        aborted = true;
        run.abort();
      },
    };
  }
}
