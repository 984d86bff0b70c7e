import * as z from 'zod';

/**
 * The planter's refresh request. Two callers send it: the schedule
 * (`{"action":"refresh","id":<event id>}`, reason absent or `schedule`) and the
 * response workflow after the reserved key was used
 * (`{"action":"refresh","reason":"response","id":<execution name>}`). The reason is
 * said, not inferred from a missing id: both carry an id (the idempotency key).
 */
export const refreshRequestSchema = z.object({
  action: z.literal('refresh'),
  /** `response`: rotate the key (and the files holding it) now, whatever the cadence says. */
  reason: z.enum(['schedule', 'response']).default('schedule'),
  /** The schedule's event id or the execution's name: the idempotency key. */
  id: z.string().min(1).optional(),
  time: z.string().optional(),
});
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

/** What Planter.refresh is asked to do for a request. */
export function refreshOptionsOf(request: RefreshRequest): { rotateKey: boolean } {
  return { rotateKey: request.reason === 'response' };
}

/** Whether an event means to be a refresh request (so a malformed one gets the schema's own words). */
export function looksLikeRefresh(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { action?: unknown }).action === 'refresh';
}
