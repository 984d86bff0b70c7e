/**
 * A local EventBridge event-pattern engine: checks which events the deployed
 * rules would match, fed with the same JSON patterns. Semantics follow the
 * EventBridge user guide ("Creating event patterns", "Comparison operators",
 * "Arrays in event patterns", "Matching null values and empty strings") and
 * its matcher, aws/event-ruler. See compile.ts for how arrays and `exists`
 * are treated.
 *
 *   const isTouch = compilePattern(rule.pattern); // validate and compile once
 *   for (const event of events) if (isTouch(event)) ...
 */

import { compileNode } from './compile';
import { parsePattern } from './parse';

/** An EventBridge event pattern, as parsed JSON. */
export type EventPattern = Record<string, unknown>;

/** A compiled pattern: true when the event matches. */
export type EventMatcher = (event: unknown) => boolean;

/** Thrown by compilePattern; `errors` holds one message per problem, each naming its path. */
export class EventPatternError extends Error {
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super(`Invalid event pattern:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    this.name = 'EventPatternError';
    this.errors = errors;
  }
}

/**
 * Checks a pattern the way EventBridge would on PutRule, roughly. Returns
 * human-readable errors such as `detail.eventName[2]: "prefix" expects a string, got 3`;
 * empty when the pattern is valid.
 */
export function validatePattern(pattern: unknown): string[] {
  return parsePattern(pattern).errors;
}

/**
 * Validates and compiles a pattern into a fast matcher. Compile once, then call
 * the matcher per event; it does not allocate on the common paths.
 * @throws EventPatternError listing every problem when the pattern is invalid.
 */
export function compilePattern(pattern: EventPattern): EventMatcher {
  const { node, errors } = parsePattern(pattern);
  if (!node) throw new EventPatternError(errors);
  return compileNode(node);
}

// Compiled patterns by identity; a pattern object must not be mutated once matched.
const cache = new WeakMap<object, EventMatcher>();

function cachedMatcher(pattern: EventPattern): EventMatcher {
  let matcher = cache.get(pattern);
  if (!matcher) {
    matcher = compilePattern(pattern);
    cache.set(pattern, matcher);
  }
  return matcher;
}

/** Whether `event` matches `pattern`; compiles on first use and caches by pattern identity. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return cachedMatcher(pattern)(event);
}

/** Names of the rules whose pattern matches `event`, in the order given. */
export function matchingRules(
  rules: readonly { name: string; pattern: EventPattern }[],
  event: unknown,
): string[] {
  const names: string[] = [];
  for (const rule of rules) if (cachedMatcher(rule.pattern)(event)) names.push(rule.name);
  return names;
}
