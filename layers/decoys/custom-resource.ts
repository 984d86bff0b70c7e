import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as z from 'zod';
import type { DecoyShape } from './catalogue';
import type { ShapeTarget } from './planter';
import type { PlanterLog, TrailPort } from './ports';
import { decodeShape, decodeSpec, type PlantSpec, specParts } from './spec';
import { checkTrail, TrailCoverageError } from './trail-check';

/**
 * The planter as a CloudFormation custom resource whose ServiceToken is the
 * function itself (no provider framework). CloudFormation waits for a PUT to the
 * presigned ResponseURL, up to an hour; so every path, errors and timeouts
 * included, ends in exactly that PUT, sent before the function's own timeout.
 */

export const customResourceEventSchema = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResponseURL: z.string().url(),
  StackId: z.string().min(1),
  RequestId: z.string().min(1),
  LogicalResourceId: z.string().min(1),
  ResourceType: z.string().optional(),
  PhysicalResourceId: z.string().optional(),
  ResourceProperties: z.record(z.string(), z.unknown()).default({}),
  OldResourceProperties: z.record(z.string(), z.unknown()).optional(),
});
export type CustomResourceEvent = z.infer<typeof customResourceEventSchema>;

export interface Outcome {
  status: 'SUCCESS' | 'FAILED';
  reason?: string;
  physicalResourceId: string;
}

export interface ResponseSender {
  send(url: string, body: string): Promise<void>;
}

/** CloudFormation's limit on the whole response body. */
export const RESPONSE_LIMIT = 4096;

/**
 * Stable for the life of the resource: a different id on Update would make
 * CloudFormation delete the "old" resource, which here means every decoy.
 */
export function physicalIdOf(event: CustomResourceEvent): string {
  return event.PhysicalResourceId || event.LogicalResourceId;
}

export function responseBody(event: CustomResourceEvent, outcome: Outcome): string {
  const base = {
    Status: outcome.status,
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const reason = outcome.reason ?? '';
  const fits = (text: string) =>
    Buffer.byteLength(JSON.stringify({ ...base, Reason: text })) <= RESPONSE_LIMIT;
  let text = reason;
  while (text.length > 0 && !fits(text)) text = text.slice(0, -64);
  if (text !== reason) text = `${text.slice(0, -3)}...`;
  return JSON.stringify({ ...base, Reason: text });
}

/** PUT with an empty content type: the presigned URL is signed without one. */
export const httpsSender: ResponseSender = {
  send: (url, body) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const request = (target.protocol === 'http:' ? httpRequest : httpsRequest)(
        target,
        {
          method: 'PUT',
          headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
          timeout: 10_000,
        },
        (response) => {
          response.resume();
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`the response URL answered HTTP ${status}`));
        },
      );
      request.on('timeout', () => request.destroy(new Error('the response URL did not answer in 10 s')));
      request.on('error', reject);
      request.end(body);
    }),
};

export interface AnswerDeps {
  /** Does the work; throws on failure. */
  work: (event: CustomResourceEvent) => Promise<void>;
  sender: ResponseSender;
  /** Milliseconds before the function times out (context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** What the work is doing now, for a timeout's Reason. */
  step?: () => string;
  /** Appended to a failure's Reason so the deployer finds the details. */
  logHint?: string;
  log?: PlanterLog;
  /** Time kept for sending the response. */
  reserveMs?: number;
  /** Pauses between attempts to send (tests pass 0). */
  sendBackoffMs?: number;
}

/**
 * Runs the work, then always answers CloudFormation: SUCCESS, or FAILED with a
 * Reason naming what failed. If the work outlives the time left minus the
 * reserve, FAILED is sent while there is still time to send it. Throws only if
 * the answer itself cannot be delivered (then Lambda's retry runs it again).
 */
export async function answerCustomResource(event: CustomResourceEvent, deps: AnswerDeps): Promise<Outcome> {
  const physicalResourceId = physicalIdOf(event);
  const reserve = deps.reserveMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const budget = Math.max(0, deps.remainingMs() - reserve);
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: 'FAILED',
          physicalResourceId,
          reason: withHint(
            `${event.RequestType} timed out after ${Math.round(budget / 1000)} s while ${deps.step?.() ?? 'working'}; ` +
              'what was done is recorded and a retry continues from there',
            deps.logHint,
          ),
        }),
      budget,
    );
  });
  const work = deps.work(event).then(
    (): Outcome => ({ status: 'SUCCESS', physicalResourceId }),
    (error: unknown): Outcome => ({
      status: 'FAILED',
      physicalResourceId,
      reason: withHint(failureReason(error, deps.step?.()), deps.logHint),
    }),
  );
  const outcome = await Promise.race([work, timeout]);
  clearTimeout(timer);
  if (outcome.status === 'FAILED') deps.log?.warn('answering FAILED', { reason: outcome.reason });

  const body = responseBody(event, outcome);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await deps.sender.send(event.ResponseURL, body);
      return outcome;
    } catch (error) {
      lastError = error;
      deps.log?.warn('could not send the response, retrying', { attempt, error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, (deps.sendBackoffMs ?? 1000) * attempt));
    }
  }
  throw new Error(`could not deliver the ${outcome.status} response to CloudFormation: ${String(lastError)}`);
}

function failureReason(error: unknown, step: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  // AWS call errors already name the call and resource; other errors get the step.
  const named =
    error instanceof Error &&
    ['AwsCallError', 'ForeignResourceError', 'TrailCoverageError', 'SpecError'].includes(error.name);
  return named || !step ? message : `${message} (while ${step})`;
}

function withHint(reason: string, hint: string | undefined): string {
  return hint ? `${reason}. ${hint}` : reason;
}

/** The planter as the custom resource needs it (a fake in tests). */
export interface PlanterLike {
  plant(spec: PlantSpec): Promise<unknown>;
  /** Chooses the names (first plant) or reuses the registry's, then plants; returns what it planted. */
  plantShape(shape: DecoyShape, target: ShapeTarget): Promise<{ spec?: PlantSpec }>;
  remove(): Promise<unknown>;
  step: string;
}

/** The stack's account and partition, from its StackId (arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/...). */
export function stackTarget(stackId: string): { account: string; partition: string; stackName?: string } {
  const [, partition, , , account, resource] = stackId.split(':');
  if (!partition || !account || !/^\d{12}$/.test(account))
    throw new Error(
      `StackId ${stackId} is not a stack ARN (arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID)`,
    );
  const stackName = resource?.split('/')[1];
  return { account, partition, ...(stackName ? { stackName } : {}) };
}

export interface WorkDeps {
  planter: PlanterLike;
  /** Set when the config names an existing trail: it is checked before planting. */
  trail?: { port: TrailPort; arn: string };
  log?: PlanterLog;
}

/** Create and Update plant (after checking an existing trail); Delete removes. */
export async function customResourceWork(event: CustomResourceEvent, deps: WorkDeps): Promise<void> {
  if (event.RequestType === 'Delete') {
    await deps.planter.remove();
    // Counts only: the function's logs are readable with ReadOnlyAccess.
    deps.log?.info('removal done');
    return;
  }
  const properties = event.ResourceProperties;
  let spec: PlantSpec;
  if (properties.Shape !== undefined) {
    // The template names nothing: the planter chooses (or reuses) the names.
    deps.planter.step = 'reading the Shape property';
    const shape = decodeShape(properties.Shape, 'Shape');
    const keyId = typeof properties.KeyArn === 'string' && properties.KeyArn ? properties.KeyArn : undefined;
    const result = await deps.planter.plantShape(shape, { ...stackTarget(event.StackId), keyId });
    if (!result.spec) return;
    spec = result.spec;
    await checkExistingTrail(spec, deps);
    // Counts only: the function's logs are readable with ReadOnlyAccess.
    deps.log?.info('update done', { items: spec.plan.resources.length });
    return;
  }
  // A `Plan` property (names in the template) from an older version of the stack.
  deps.planter.step = 'reading the Plan property';
  spec = decodeSpec(properties.Plan, 'Plan');
  await checkExistingTrail(spec, deps);
  await deps.planter.plant(spec);
  deps.log?.info('update done', { items: spec.plan.resources.length });
}

/**
 * An existing trail must log the bucket's object events. With names chosen at
 * plant time the check runs after planting (a failure rolls the stack back, which
 * removes what was planted).
 */
async function checkExistingTrail(spec: PlantSpec, deps: WorkDeps): Promise<void> {
  if (deps.trail) {
    deps.planter.step = `checking trail ${deps.trail.arn}`;
    const parts = specParts(spec);
    const problems = await checkTrail(deps.trail.port, deps.trail.arn, parts.bucket?.name, {
      objectKeys: parts.objects.map((o) => o.name),
      partition: parts.partition,
    });
    if (problems.length > 0) throw new TrailCoverageError(deps.trail.arn, problems);
  }
}
