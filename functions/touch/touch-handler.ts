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
  /**
   * The decoys with their current key ids: the registry of the account the event
   * comes from (organization mode keeps one per member account; `account` is the
   * record's recipientAccountId, undefined when the record has none).
   */
  loadResources: (account: string | undefined) => Promise<readonly KnownDecoy[]>;
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
  matches: { result: TouchResult; findingId?: string; resource: string; severity: string }[];
}

export function touchHandler(deps: TouchHandlerDependencies) {
  const ttl = deps.cacheTtlMs ?? 60_000;
  // One index per account, each reused for `ttl`.
  const cached = new Map<string, { index: DecoyIndex; loadedAt: number }>();
  const decoyIndex = async (account: string | undefined) => {
    const now = deps.now();
    const key = account ?? '';
    let entry = cached.get(key);
    if (!entry || now - entry.loadedAt > ttl) {
      entry = {
        index: new DecoyIndex(await deps.loadResources(account), { keyArn: deps.keyArn }),
        loadedAt: now,
      };
      cached.set(key, entry);
    }
    return entry.index;
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
    const account = parsed.record.recipientAccountId;
    const index = await decoyIndex(/^\d{12}$/.test(account ?? '') ? account : undefined);
    const outcome = await processRecord(parsed.record, parsed.deliveryId, index, deps.settings, {
      store: deps.store,
      sink: deps.sink,
      now: deps.now,
      count: deps.count,
    });
    const result: TouchHandlerResult = {
      ...(outcome.ignored ? { ignored: outcome.ignored } : {}),
      matches: outcome.outcomes.map((o) => ({
        result: o.result,
        ...(o.findingId ? { findingId: o.findingId } : {}),
        resource: `${o.match.resource.kind}:${o.match.resource.name}`,
        severity: o.match.severity,
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
