import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';

/**
 * Runs a deployed state machine definition (ASL, as synthesized) on this machine
 * with aws-local-stepfunctions. Each Task state is bound by what it calls: a
 * Lambda function (by its deployed ARN) runs the code that function's handler
 * runs, over ports the caller provides; an `aws-sdk:<service>:<action>`
 * integration goes to `sdk`; waiting for a task token (human approval) gets no
 * answer, as when nobody answers before the timeout. Waits and retry pauses take
 * no time.
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
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: { name: string; message: string };
  /** Task states entered, in order. */
  tasks: string[];
  /** Errors Task states raised (caught or not), as `state: name: message`. */
  taskErrors: string[];
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
  private readonly waits: Record<string, number> = {};
  private readonly retries: Record<string, number> = {};

  constructor(definition: Record<string, unknown>, bindings: WorkflowBindings) {
    this.definition = definition as unknown as Definition;
    this.bindings = bindings;
    for (const [name, state] of allStates(this.definition)) {
      if (state.Type === 'Wait') this.waits[name] = 0;
      if (state.Retry) this.retries[name] = 0;
      if (state.Type === 'Task') this.handlerOf(name, state); // fail early on an unbindable task
    }
    // checkArn off: aws-sdk integration ARNs are not all known to the validator.
    this.machine = new StateMachine(definition as never, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
  }

  private handlerOf(name: string, state: StateDefinition): (input: unknown) => Promise<unknown> {
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
        // Nobody answers offline: what the timeout does in AWS.
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

  async run(input: unknown, execution: { arn: string; startedAt: string }): Promise<ExecutionResult> {
    const tasks: string[] = [];
    const taskErrors: string[] = [];
    type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
    const handlers: LocalHandlers = {};
    for (const [name, state] of allStates(this.definition)) {
      if (state.Type !== 'Task') continue;
      const handler = this.handlerOf(name, state);
      // The library types inputs and results as its own JSON type; the bindings take and give JSON.
      handlers[name] = (async (taskInput: unknown) => {
        tasks.push(name);
        try {
          return await handler(taskInput);
        } catch (error) {
          taskErrors.push(`${name}: ${(error as Error).name}: ${(error as Error).message}`);
          throw error;
        }
      }) as LocalHandlers[string];
    }
    const name = execution.arn.split(':').pop() ?? 'execution';
    const run = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: this.waits,
        retryIntervalOverrides: this.retries,
      },
      context: {
        Execution: { Id: execution.arn, Name: name, StartTime: execution.startedAt, Input: input as never },
        StateMachine: {
          Id: execution.arn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
          Name: name,
        },
        Task: { Token: `local-token-${name}` },
      },
    });
    try {
      const output = await run.result;
      return { status: 'SUCCEEDED', output, tasks, taskErrors };
    } catch (error) {
      const failure = error as Error & { cause?: unknown };
      return { status: 'FAILED', error: { name: failure.name, message: failure.message }, tasks, taskErrors };
    }
  }
}
