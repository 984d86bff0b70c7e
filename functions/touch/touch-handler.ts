import type { Logger } from '@aws-lambda-powertools/logger';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import type { KnownDecoy } from '../../layers/detection/rules';
import type { TouchStore } from '../../layers/detection/store';
import {
  MalformedEventError,
  OversizedEventError,
  parseTouchEvent,
  processRecord,
  type TouchMetric,
  type TouchResult,
  type TouchSettings,
} from '../../layers/detection/touch';
import type { FindingSink } from '../../layers/findings/publish';

/**
 * The touch function, with everything it talks to passed in: handler.ts wires AWS,
 * the tests wire memory. Parse at the boundary, process, return what happened.
 * A malformed or oversized event is counted and rethrown: the invocation fails,
 * Lambda retries it twice, and its on-failure destination (the dead-letter queue)
 * keeps the event. Nothing is swallowed.
 */
export interface TouchHandlerDependencies {
  settings: TouchSettings;
  /** The decoys with their current key ids (the registry). */
  loadResources: () => Promise<readonly KnownDecoy[]>;
  store: TouchStore;
  sink: FindingSink;
  now: () => number;
  count: (metric: TouchMetric, value?: number) => void;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The parameters' KMS key ARN (the registry knows the key by its alias). */
  keyArn?: string;
  /** How long the decoy list is reused before it is read again. */
  cacheTtlMs?: number;
}

export interface TouchHandlerResult {
  ignored?: string;
  /** `resource` is `<kind>:<name>` of the resource the call touched. */
  touches: { result: TouchResult; findingId?: string; resource: string; severity: string }[];
}

export function touchHandler(deps: TouchHandlerDependencies) {
  const ttl = deps.cacheTtlMs ?? 60_000;
  let cached: { index: DecoyIndex; loadedAt: number } | undefined;
  const decoyIndex = async () => {
    const now = deps.now();
    if (!cached || now - cached.loadedAt > ttl) {
      cached = { index: new DecoyIndex(await deps.loadResources(), { keyArn: deps.keyArn }), loadedAt: now };
    }
    return cached.index;
  };

  return async (event: unknown): Promise<TouchHandlerResult> => {
    let parsed: ReturnType<typeof parseTouchEvent>;
    try {
      parsed = parseTouchEvent(event);
    } catch (error) {
      if (error instanceof OversizedEventError) deps.count('OversizedEvents');
      else if (error instanceof MalformedEventError) deps.count('MalformedEvents');
      deps.logger.error('event rejected: it stays in the dead-letter queue', {
        error: (error as Error).message,
      });
      throw error;
    }
    const index = await decoyIndex();
    const outcome = await processRecord(parsed.record, parsed.deliveryId, index, deps.settings, {
      store: deps.store,
      sink: deps.sink,
      now: deps.now,
      count: deps.count,
    });
    const result: TouchHandlerResult = {
      ...(outcome.ignored ? { ignored: outcome.ignored } : {}),
      touches: outcome.outcomes.map((o) => ({
        result: o.result,
        ...(o.findingId ? { findingId: o.findingId } : {}),
        resource: `${o.touch.resource.kind}:${o.touch.resource.name}`,
        severity: o.touch.severity,
      })),
    };
    // The same line for every event, whatever it matched: anyone with logs:FilterLogEvents
    // (ReadOnlyAccess) reads this group, and a line that named the resource, or only
    // differed for the events that matched, would point at the planted resources
    // through the event id. What matched is in the finding (recorded in the state
    // table, published to the operators) and in the counts (metrics).
    deps.logger.info('event processed', {
      eventId: parsed.deliveryId,
      eventName: parsed.record.eventName,
      region: parsed.record.awsRegion,
    });
    return result;
  };
}
