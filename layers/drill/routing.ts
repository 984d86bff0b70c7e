import type { CloudTrailRecord } from '../cloudtrail/record';
import { compilePattern, type EventMatcher } from '../event-pattern';
import { type DeployedRule, resolvedResources, type StackTemplate } from './template';

/**
 * EventBridge as deployed, offline: which trail logs a CloudTrail record at all,
 * which rules of the record's region see it (their state decides whether read-only
 * management events reach them), where their targets send it (another bus, in this
 * region or another, or a function), hop by hop. The patterns are the synthesized
 * ones, compiled by the local event-pattern engine.
 */

export interface EventEnvelope {
  version?: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources?: string[];
  detail: unknown;
}

export interface Delivery {
  /** The rule that matched on the last hop. */
  rule: DeployedRule;
  /** The rules the event went through, first to last. */
  path: DeployedRule[];
  /** A function (or queue, topic...) ARN: where the event ends up. */
  targetArn: string;
}

const CLOUDTRAIL_DETAIL_TYPES = new Set([
  'AWS API Call via CloudTrail',
  'AWS Console Sign In via CloudTrail',
]);
const BUS_ARN = /^arn:[a-z-]+:events:([a-z0-9-]+):(\d{12}):event-bus\/(.+)$/;
/** The key part of a rule that names no account (hand-written in tests): it listens in any. */
const ANY_ACCOUNT = '*';
const MAX_HOPS = 4;

interface CompiledRule {
  rule: DeployedRule;
  matches: EventMatcher;
}

export class DeployedRouting {
  private readonly byBus = new Map<string, CompiledRule[]>();

  constructor(readonly rules: readonly DeployedRule[]) {
    for (const rule of rules) {
      if (rule.state === 'DISABLED') continue;
      const key = busKey(rule.account ?? ANY_ACCOUNT, rule.region, rule.bus);
      const list = this.byBus.get(key) ?? [];
      list.push({ rule, matches: compilePattern(rule.pattern) });
      this.byBus.set(key, list);
    }
  }

  /** Rules listening on a bus (of `account`: its own and those of no stated account). */
  rulesOn(region: string, bus = 'default', account?: string): DeployedRule[] {
    return this.listening(account, region, bus).map((c) => c.rule);
  }

  private listening(account: string | undefined, region: string, bus: string): CompiledRule[] {
    const any = this.byBus.get(busKey(ANY_ACCOUNT, region, bus)) ?? [];
    if (account === undefined) {
      // No account named: every account's rules on that bus (one-account drills and tests).
      return [...this.byBus.entries()]
        .filter(([key]) => key.endsWith(`\u0000${region}\u0000${bus}`))
        .flatMap(([, list]) => list);
    }
    return [...(this.byBus.get(busKey(account, region, bus)) ?? []), ...any];
  }

  /**
   * Where an event put on `bus` in `region` ends up: one delivery per (rule, non-bus
   * target) reached, as EventBridge would invoke them (two rules matching the same
   * event invoke the same function twice).
   */
  deliver(event: EventEnvelope, region: string, bus = 'default', account?: string): Delivery[] {
    const deliveries: Delivery[] = [];
    const visit = (
      onAccount: string | undefined,
      onRegion: string,
      onBus: string,
      path: DeployedRule[],
      seen: Set<string>,
    ) => {
      if (path.length >= MAX_HOPS) return;
      for (const { rule, matches } of this.listening(onAccount, onRegion, onBus)) {
        if (!seesEvent(rule.state, event) || !matches(event)) continue;
        const through = [...path, rule];
        for (const target of rule.targets) {
          const bus = BUS_ARN.exec(target.arn);
          if (bus) {
            const next = busKey(bus[2]!, bus[1]!, bus[3]!);
            if (!seen.has(next)) visit(bus[2]!, bus[1]!, bus[3]!, through, new Set([...seen, next]));
          } else deliveries.push({ rule, path: through, targetArn: target.arn });
        }
      }
    };
    visit(account, region, bus, [], new Set([busKey(account ?? ANY_ACCOUNT, region, bus)]));
    return deliveries;
  }
}

function busKey(account: string, region: string, bus: string): string {
  return `${account}\u0000${region}\u0000${bus}`;
}

/**
 * A rule in state ENABLED does not receive read-only management events from
 * CloudTrail; ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS does (design.md).
 */
export function seesEvent(state: string, event: EventEnvelope): boolean {
  if (state === 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') return true;
  if (state !== 'ENABLED') return false;
  if (!CLOUDTRAIL_DETAIL_TYPES.has(event['detail-type'])) return true;
  const detail = event.detail as CloudTrailRecord;
  const management = detail.managementEvent !== false && detail.eventCategory !== 'Data';
  return !(management && detail.readOnly === true);
}

type FieldSelector = {
  Field: string;
  Equals?: string[];
  NotEquals?: string[];
  StartsWith?: string[];
  NotStartsWith?: string[];
  EndsWith?: string[];
  NotEndsWith?: string[];
};
export type AdvancedSelector = { Name?: string; FieldSelectors: FieldSelector[] };
type BasicSelector = {
  IncludeManagementEvents?: boolean;
  ReadWriteType?: 'All' | 'ReadOnly' | 'WriteOnly';
  DataResources?: { Type: string; Values?: string[] }[];
};

export interface DeployedTrail {
  stackName: string;
  region: string;
  name: string;
  multiRegion: boolean;
  logging: boolean;
  advanced?: AdvancedSelector[];
  basic?: BasicSelector[];
}

/** The trails of the stacks, resolved. */
export function deployedTrails(stacks: readonly StackTemplate[]): DeployedTrail[] {
  return stacks.flatMap((stack) =>
    resolvedResources(stack, 'AWS::CloudTrail::Trail').map(({ logicalId, props, resolver }) => ({
      stackName: stack.stackName,
      region: stack.region,
      name: typeof props.TrailName === 'string' ? props.TrailName : resolver.physicalName(logicalId),
      multiRegion: props.IsMultiRegionTrail === true,
      logging: props.IsLogging !== false,
      ...(props.AdvancedEventSelectors
        ? { advanced: props.AdvancedEventSelectors as AdvancedSelector[] }
        : {}),
      ...(props.EventSelectors ? { basic: props.EventSelectors as BasicSelector[] } : {}),
    })),
  );
}

/**
 * Whether a trail logs `record` (CloudTrail events reach EventBridge only through
 * a logging trail; object-level S3 events only through one that selects them).
 * With no trail in the templates (an existing trail is configured), the existing
 * trail is assumed to log what detection needs: it cannot be read offline.
 */
export function trailLogs(trails: readonly DeployedTrail[], record: CloudTrailRecord): boolean {
  if (trails.length === 0) return true;
  return trails.some(
    (trail) =>
      trail.logging && (trail.multiRegion || trail.region === record.awsRegion) && selects(trail, record),
  );
}

function selects(trail: DeployedTrail, record: CloudTrailRecord): boolean {
  const data = record.eventCategory === 'Data' || record.managementEvent === false;
  if (trail.advanced) return trail.advanced.some((selector) => advancedSelects(selector, record));
  if (!trail.basic) return !data;
  return trail.basic.some((selector) => {
    const rw = selector.ReadWriteType ?? 'All';
    if (rw === 'ReadOnly' && record.readOnly === false) return false;
    if (rw === 'WriteOnly' && record.readOnly === true) return false;
    if (!data) return selector.IncludeManagementEvents !== false;
    return (selector.DataResources ?? []).some((resource) =>
      resourcesOf(record, resource.Type).some((arn) =>
        (resource.Values ?? []).some((value) => arn.startsWith(value)),
      ),
    );
  });
}

function resourcesOf(record: CloudTrailRecord, type: string): string[] {
  return (record.resources ?? [])
    .filter((resource) => resource.type === type)
    .map((resource) => String(resource.ARN ?? (resource as { ARNPrefix?: string }).ARNPrefix ?? ''));
}

function advancedSelects(selector: AdvancedSelector, record: CloudTrailRecord): boolean {
  const typeSelector = selector.FieldSelectors.find((f) => f.Field === 'resources.type');
  const resourceArns = typeSelector
    ? (typeSelector.Equals ?? []).flatMap((type) => resourcesOf(record, type))
    : [];
  return selector.FieldSelectors.every((field) => {
    if (field.Field === 'resources.type') return resourceArns.length > 0;
    if (field.Field === 'resources.ARN') return resourceArns.some((arn) => fieldMatches(field, arn));
    const value = fieldValue(record, field.Field);
    return value !== undefined && fieldMatches(field, value);
  });
}

function fieldValue(record: CloudTrailRecord, field: string): string | undefined {
  switch (field) {
    case 'eventCategory':
      return record.eventCategory ?? (record.managementEvent === false ? 'Data' : 'Management');
    case 'readOnly':
      return record.readOnly === undefined ? undefined : String(record.readOnly);
    case 'eventSource':
      return record.eventSource;
    case 'eventName':
      return record.eventName;
    case 'eventType':
      return record.eventType;
    case 'userIdentity.arn':
      return record.userIdentity?.arn;
    default:
      return undefined;
  }
}

function fieldMatches(field: FieldSelector, value: string): boolean {
  if (field.Equals && !field.Equals.includes(value)) return false;
  if (field.NotEquals?.includes(value)) return false;
  if (field.StartsWith && !field.StartsWith.some((prefix) => value.startsWith(prefix))) return false;
  if (field.NotStartsWith?.some((prefix) => value.startsWith(prefix))) return false;
  if (field.EndsWith && !field.EndsWith.some((suffix) => value.endsWith(suffix))) return false;
  if (field.NotEndsWith?.some((suffix) => value.endsWith(suffix))) return false;
  return true;
}
