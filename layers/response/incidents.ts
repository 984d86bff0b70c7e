import * as z from 'zod';
import { type Severity, severities } from '../config/vocabulary';
import { type Finding, findingId } from '../findings/finding';
import { TACTICS, type Tactic, tacticOf, tacticOfEventName } from '../verdicts/tactics';
import { type Outcome, outcomes } from './policy';
import { principalOf } from './principal';

/**
 * Incidents: the findings of one actor, grouped, so that one actor gets one
 * response however many findings it raises (issue 12, item 1).
 *
 * A finding joins the open incident it is linked to: by its principal (the IAM
 * user, or the role behind a session), by the access key it was signed with, by
 * the role session, or by its source address, each within `spanMinutes` of the
 * incident's last finding. The incident's severity is the highest of its
 * findings; its stages are the MITRE ATT&CK tactics of their calls (the tactic
 * table of layers/verdicts/tactics.ts).
 *
 * One response per principal per incident: the first execution that decides for
 * a principal claims the incident's response for it (a conditional write in the
 * store, so two concurrent executions cannot both claim). Later findings update
 * the incident; when they raise its severity so that the policy acts where the
 * running response waits for approval, they escalate it (approve -> act) instead
 * of starting another. A response that only notified is no response: a finding
 * that raises the incident to a level the policy answers claims it anew.
 *
 * Pure, over the IncidentStore port (DynamoDB deployed, memory in the drill).
 */

export const INCIDENT_SCHEMA_VERSION = 1;
/** Findings an incident keeps in its timeline: a DynamoDB item holds 400 KB. */
export const TIMELINE_LIMIT = 200;
/** Calls a timeline entry keeps. */
const CALLS_PER_ENTRY = 10;

export const timelineEntrySchema = z.object({
  findingId: z.string(),
  kind: z.string(),
  severity: z.enum(severities),
  /** The principal key (principalKeyOf) and the caller's ARN as the finding names it. */
  principal: z.string(),
  actor: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  sourceIp: z.string().optional(),
  eventNames: z.array(z.string()),
  stages: z.array(z.enum(TACTICS)),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const incidentResponseSchema = z.object({
  executionArn: z.string(),
  findingId: z.string(),
  outcome: z.enum(outcomes),
  severity: z.enum(severities),
  /** running: deciding or acting; awaiting-approval: a person is asked; ended: it finished. */
  status: z.enum(['running', 'awaiting-approval', 'ended']),
  /** The approval's task token while it waits: an escalation answers it. */
  token: z.string().optional(),
  /** The finding that escalated it, when one did. */
  escalatedBy: z.string().optional(),
});
export type IncidentResponse = z.infer<typeof incidentResponseSchema>;

export const incidentSchema = z.object({
  schemaVersion: z.literal(INCIDENT_SCHEMA_VERSION),
  id: z.string(),
  openedAt: z.string(),
  /** The last finding's lastSeen: the incident stays open `spanMinutes` after it. */
  lastSeen: z.string(),
  severity: z.enum(severities),
  stages: z.array(z.enum(TACTICS)),
  principals: z.array(z.string()),
  links: z.array(z.string()),
  timeline: z.array(timelineEntrySchema),
  /** Findings beyond TIMELINE_LIMIT, counted only. */
  dropped: z.number().int().default(0),
  /** By principal key. */
  responses: z.record(z.string(), incidentResponseSchema),
  /** Bumped by every save: the store's conditional write compares it. */
  version: z.number().int().min(0),
});
export type Incident = z.infer<typeof incidentSchema>;

const rank = (severity: Severity) => severities.indexOf(severity);
export const maxSeverity = (a: Severity, b: Severity): Severity => (rank(a) >= rank(b) ? a : b);

/**
 * The key a principal's response is kept under: the IAM user, or the role behind
 * a session (what the response contains), else the caller's ARN.
 */
export function principalKeyOf(finding: Pick<Finding, 'actor'>): string {
  const principal = principalOf(finding.actor);
  if (principal.kind === 'role') return principal.roleArn;
  return principal.arn;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-f:]+$/i;

/**
 * What links a finding to an actor's incident. Source addresses link only when
 * they are addresses (AWS services call "from" their own host names).
 */
export function linksOf(finding: Finding): string[] {
  const links = [`principal:${principalKeyOf(finding)}`];
  if (finding.actor.accessKeyId) links.push(`key:${finding.actor.accessKeyId}`);
  if (finding.actor.arn.includes(':assumed-role/')) links.push(`session:${finding.actor.arn}`);
  const ip = finding.sourceIp;
  if (ip && (IPV4.test(ip) || (ip.includes(':') && IPV6.test(ip)))) links.push(`ip:${ip}`);
  return links;
}

/**
 * The kill-chain stages of a finding's calls. Event names come as `service:Name`
 * (the detectors' form) or bare; a change to the trail is defense evasion
 * whatever the call's name.
 */
export function stagesOf(finding: Pick<Finding, 'kind' | 'eventNames'>): Tactic[] {
  const found = new Set<Tactic>();
  if (finding.kind === 'tamper') found.add('defense-evasion');
  for (const call of finding.eventNames) {
    const separator = call.indexOf(':');
    const tactic =
      separator > 0
        ? tacticOf(call.slice(0, separator), call.slice(separator + 1))?.tactic
        : tacticOfEventName(call);
    if (tactic) found.add(tactic);
  }
  return TACTICS.filter((tactic) => found.has(tactic));
}

function entryOf(finding: Finding): TimelineEntry {
  return {
    findingId: finding.id,
    kind: finding.kind,
    severity: finding.severity,
    principal: principalKeyOf(finding),
    actor: finding.actor.arn,
    firstSeen: finding.firstSeen,
    lastSeen: finding.lastSeen,
    ...(finding.sourceIp ? { sourceIp: finding.sourceIp } : {}),
    eventNames: finding.eventNames.slice(0, CALLS_PER_ENTRY),
    stages: stagesOf(finding),
  };
}

const later = (a: string, b: string) => (Date.parse(a) >= Date.parse(b) ? a : b);
const earlier = (a: string, b: string) => (Date.parse(a) <= Date.parse(b) ? a : b);

/** A new incident with one finding (version 0: not yet stored). */
export function openIncident(finding: Finding): Incident {
  return addFinding(
    {
      schemaVersion: INCIDENT_SCHEMA_VERSION,
      id: findingId(['incident', principalKeyOf(finding), finding.firstSeen, finding.id]),
      openedAt: finding.firstSeen,
      lastSeen: finding.lastSeen,
      severity: finding.severity,
      stages: [],
      principals: [],
      links: [],
      timeline: [],
      dropped: 0,
      responses: {},
      version: 0,
    },
    finding,
  );
}

/** The incident with the finding in its timeline (a finding already there is updated, not added). */
export function addFinding(incident: Incident, finding: Finding): Incident {
  const entry = entryOf(finding);
  const others = incident.timeline.filter((e) => e.findingId !== finding.id);
  const timeline = [...others, entry].sort((a, b) => Date.parse(a.firstSeen) - Date.parse(b.firstSeen));
  const kept = timeline.slice(-TIMELINE_LIMIT);
  const stages = new Set([...incident.stages, ...entry.stages]);
  return {
    ...incident,
    openedAt: earlier(incident.openedAt, finding.firstSeen),
    lastSeen: later(incident.lastSeen, finding.lastSeen),
    severity: maxSeverity(incident.severity, finding.severity),
    stages: TACTICS.filter((tactic) => stages.has(tactic)),
    principals: [...new Set([...incident.principals, principalKeyOf(finding)])],
    links: [...new Set([...incident.links, ...linksOf(finding)])],
    timeline: kept,
    dropped: incident.dropped + (timeline.length - kept.length),
  };
}

/**
 * The severity a principal is answered at: the highest of its own findings in the
 * incident. An address links actors into one incident, but a bystander behind the
 * same NAT must not be contained at the attacker's severity.
 */
export function principalSeverity(incident: Incident, principal: string): Severity {
  return incident.timeline
    .filter((entry) => entry.principal === principal)
    .reduce<Severity>((worst, entry) => maxSeverity(worst, entry.severity), 'low');
}

/** Is the incident still open for a finding first seen at `at`? */
export function isOpen(incident: Incident, at: string, spanMinutes: number): boolean {
  return Date.parse(at) - Date.parse(incident.lastSeen) <= spanMinutes * 60_000;
}

/** What this execution is to the principal's response in the incident. */
export type ResponseRole =
  | { role: 'respond' }
  | { role: 'join'; by: IncidentResponse }
  | { role: 'escalate'; by: IncidentResponse & { token: string } };

/**
 * Respond, join or escalate. `outcome` is what the policy decides at the
 * incident's severity.
 */
export function roleOf(
  incident: Incident,
  principal: string,
  executionArn: string,
  outcome: Outcome,
): ResponseRole {
  const current = incident.responses[principal];
  if (!current || current.executionArn === executionArn) return { role: 'respond' };
  // A notification answered nothing: a finding the policy now answers gets the response.
  if (current.status === 'ended' && current.outcome === 'notify' && outcome !== 'notify')
    return { role: 'respond' };
  if (current.status === 'awaiting-approval' && current.token && outcome === 'act')
    return { role: 'escalate', by: { ...current, token: current.token } };
  return { role: 'join', by: current };
}

/** The incident after the role is taken (what the conditional write stores). */
export function withRole(
  incident: Incident,
  principal: string,
  role: ResponseRole,
  response: { executionArn: string; findingId: string; outcome: Outcome },
): Incident {
  const responses = { ...incident.responses };
  const severity = principalSeverity(incident, principal);
  if (role.role === 'respond')
    responses[principal] = {
      ...response,
      severity,
      status: response.outcome === 'notify' ? 'ended' : 'running',
    };
  else if (role.role === 'escalate') {
    const { token: _answered, ...by } = role.by;
    responses[principal] = {
      ...by,
      outcome: 'act',
      severity,
      status: 'running',
      escalatedBy: response.findingId,
    };
  }
  return { ...incident, responses };
}

/** The incident with this execution's response in a new status; undefined when it holds none. */
export function withStatus(
  incident: Incident,
  executionArn: string,
  status: IncidentResponse['status'],
  token?: string,
): Incident | undefined {
  const entry = Object.entries(incident.responses).find(([, r]) => r.executionArn === executionArn);
  if (!entry) return undefined;
  const [principal, { token: _old, ...rest }] = entry;
  return {
    ...incident,
    responses: { ...incident.responses, [principal]: { ...rest, status, ...(token ? { token } : {}) } },
  };
}

/** The incident in a few words, for messages and records. */
export function incidentSummary(incident: Incident): string {
  const stages = incident.stages.length ? incident.stages.join(' -> ') : 'no known stage';
  return `incident ${incident.id} (${incident.severity}, ${incident.timeline.length + incident.dropped} finding(s) since ${incident.openedAt}; stages: ${stages})`;
}

/** The incident as records keep it: no task token. */
export function incidentForRecord(incident: Incident): Incident {
  const responses = Object.fromEntries(
    Object.entries(incident.responses).map(([principal, { token: _token, ...response }]) => [
      principal,
      response,
    ]),
  );
  return { ...incident, responses };
}

export class IncidentConflict extends Error {
  override readonly name = 'IncidentConflict';
}

/** Where incidents are kept. A port: the state table deployed, memory in the drill and tests. */
export interface IncidentStore {
  /**
   * The open incident any of the links points to (linked at or after `since`),
   * the most recently linked first.
   */
  find(links: readonly string[], since: Date): Promise<Incident | undefined>;
  load(id: string): Promise<Incident | undefined>;
  /**
   * Stores the incident if its stored version is still `incident.version` (0: not
   * stored yet) and no other open incident holds its principal links (linked at
   * or after `since`); points its links at it. False when someone else wrote first.
   * `relink: false` writes the incident alone (a status change: its links stay as
   * they are, even where a newer incident took them over).
   */
  save(incident: Incident, since: Date, options?: { relink?: boolean }): Promise<boolean>;
}

/** Principal links are claimed conditionally: one open incident per principal. */
export const isPrincipalLink = (link: string) => link.startsWith('principal:');

export class MemoryIncidentStore implements IncidentStore {
  readonly incidents = new Map<string, Incident>();
  readonly linked = new Map<string, { incidentId: string; lastSeen: string }>();

  async find(links: readonly string[], since: Date): Promise<Incident | undefined> {
    const candidates = links
      .map((link) => this.linked.get(link))
      .filter((l): l is { incidentId: string; lastSeen: string } => l !== undefined)
      .filter((l) => Date.parse(l.lastSeen) >= since.getTime())
      .sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen));
    const first = candidates[0];
    return first ? this.load(first.incidentId) : undefined;
  }

  async load(id: string): Promise<Incident | undefined> {
    const incident = this.incidents.get(id);
    return incident ? structuredClone(incident) : undefined;
  }

  async save(incident: Incident, since: Date, { relink = true } = {}): Promise<boolean> {
    const stored = this.incidents.get(incident.id);
    if ((stored?.version ?? 0) !== incident.version) return false;
    const links = relink ? incident.links : [];
    for (const link of links.filter(isPrincipalLink)) {
      const held = this.linked.get(link);
      if (held && held.incidentId !== incident.id && Date.parse(held.lastSeen) >= since.getTime())
        return false;
    }
    this.incidents.set(incident.id, structuredClone({ ...incident, version: incident.version + 1 }));
    for (const link of links) this.linked.set(link, { incidentId: incident.id, lastSeen: incident.lastSeen });
    return true;
  }
}

/** Tries a read-modify-write until the conditional write holds (a few times, then says so). */
export async function withRetries<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  tries = 5,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const done = await attempt();
    if (done !== undefined) return done;
  }
  throw new IncidentConflict(`${what}: the incident kept changing under ${tries} attempts; retry`);
}
