import type { DrillResult, FindingReport, HourSummary, ResponseReport, StepReport } from './runner';

/**
 * The drill's story in time order (scenario time, UTC): benign hours summed up,
 * every attack step, every finding with its own processing time, every response.
 */

export type TimelineKind = 'benign' | 'step' | 'finding' | 'response' | 'scoring';

export interface TimelineEntry {
  time: number;
  kind: TimelineKind;
  text: string;
  /** For steps marked touchesDecoy: found (true) or missed (false). */
  ok?: boolean;
  severity?: string;
}

const ORDER: Record<TimelineKind, number> = { benign: 0, scoring: 1, step: 2, finding: 3, response: 4 };

export function buildTimeline(result: DrillResult): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const hour of result.hours)
    entries.push({ time: hour.start, kind: 'benign', text: hourLine(result, hour) });
  const shortIds = shortFindingIds(result.findings);
  for (const step of result.steps) entries.push(stepEntry(step, shortIds));
  // A principal's later findings usually get the plan its first one got: say so once.
  const firstWithPlan = new Map<string, string>();
  for (const report of result.findings) {
    const id = shortIds.get(report.finding.id)!;
    const f = report.finding;
    entries.push({
      time: report.time,
      kind: 'finding',
      severity: f.severity,
      text: `finding ${id} ${f.kind} ${f.severity}: ${f.title} [own time ${ms(report.recordToFindingMs)}]`,
    });
    const response = report.response;
    if (response) {
      let what: string;
      if (response.status === 'DUPLICATE') what = 'duplicate finding: the response already started';
      else {
        const plan = planText(response);
        const key = `${f.actor.arn}\u0000${plan}`;
        const same = firstWithPlan.get(key);
        if (!same) firstWithPlan.set(key, id);
        what = `${response.outcome ?? 'no decision'}${response.path && response.path !== 'none' ? ` (${response.path})` : ''}: ${
          same && response.planned.length > 0 ? `the same plan as ${same}` : plan
        }${response.executed.length > 0 ? `; EXECUTED ${response.executed.join(', ')}` : ''}${
          response.status === 'FAILED' ? `; FAILED ${response.error ?? ''}` : ''
        }`;
      }
      entries.push({
        time: response.time,
        kind: 'response',
        text: `response ${id} ${what}${report.findingToContainmentMs !== undefined ? ` [own time ${ms(report.findingToContainmentMs)}]` : ''}`,
      });
    }
  }
  return entries.sort((a, b) => a.time - b.time || ORDER[a.kind] - ORDER[b.kind]);
}

function stepEntry(step: StepReport, shortIds: Map<string, string>): TimelineEntry {
  const outcome = step.error ? ` (${step.error})` : '';
  const found = step.findingIds.map((id) => shortIds.get(id) ?? id.slice(0, 8)).join(', ');
  let verdict = '';
  if (step.touchesDecoy)
    verdict = step.detected ? `  -> ${found}` : `  -> MISSED (${step.missReason ?? 'no finding'})`;
  else if (step.detected) verdict = `  -> ${found}`;
  return {
    time: step.time,
    kind: 'step',
    text: `attack ${step.actor} ${step.region} ${step.call}${outcome}${step.note ? `: ${step.note}` : ''}${verdict}`,
    ...(step.touchesDecoy ? { ok: step.detected } : {}),
  };
}

/** Findings named by a short id (the first 8 hex digits; longer if two collide). */
export function shortFindingIds(findings: readonly FindingReport[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const report of findings) {
    let length = 8;
    let short = report.finding.id.slice(0, length);
    while ([...ids.values()].includes(short) && length < report.finding.id.length)
      short = report.finding.id.slice(0, ++length);
    ids.set(report.finding.id, short);
  }
  return ids;
}

export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

/** A time of day, UTC: hh:mm:ss. */
export function clock(time: number): string {
  return new Date(time).toISOString().slice(11, 19);
}

/** The timeline and the KPIs as text, for the terminal. */
export function renderText(result: DrillResult, reportPath?: string): string {
  const { kpis, deployment, scenario } = result;
  const lines: string[] = [];
  const config = deployment.config;
  const regions = [...new Set(deployment.rules.map((r) => r.region))].sort();
  lines.push(`honeytrail drill: ${scenario.name}`);
  if (scenario.description) lines.push(`  ${scenario.description}`);
  lines.push('');
  lines.push(
    `Deployment (synthesized offline in ${ms(deployment.synthMs)}): stack ${config.stackName}, home ${config.homeRegion}, ` +
      `${deployment.rules.length} routing rules in ${regions.join(', ')}, trail ${deployment.world.trailName}, ` +
      `${deployment.response ? `response state machine ${deployment.response.stateMachine.arn.split(':').pop()} (${config.dryRun ? 'dry-run' : 'ACTING'})` : 'no response workflow'}`,
  );
  lines.push(`Decoys (${deployment.world.decoys.length}):`);
  for (const decoy of deployment.world.decoys) lines.push(`  ${decoy.kind.padEnd(15)} ${decoy.name}`);
  lines.push(
    result.threshold !== undefined
      ? `Scorer: trained on ${kpis.records.history} benign records before the play; threshold ${result.threshold}`
      : 'Scorer: not trained',
  );
  lines.push('');
  const multiDay = spansDays(result.playStart, result.playEnd);
  lines.push(
    `Timeline (scenario time, UTC, ${day(result.playStart)}${multiDay ? ` to ${day(result.playEnd - 1)}` : ''}):`,
  );
  let today = day(result.playStart);
  for (const entry of buildTimeline(result)) {
    if (multiDay && day(entry.time) !== today) {
      today = day(entry.time);
      lines.push(`-- ${dayName(entry.time)} ${today} --`);
    }
    const mark =
      entry.ok === false ? '!!' : entry.kind === 'finding' ? '* ' : entry.kind === 'response' ? '> ' : '  ';
    lines.push(`${clock(entry.time)} ${mark}${entry.text}`);
  }
  lines.push('');
  lines.push(...renderKpis(result));
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  if (reportPath) lines.push(`Report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}

export function renderKpis(result: DrillResult): string[] {
  const { kpis } = result;
  const f = kpis.findings;
  return [
    'KPIs:',
    `  findings              resource-access ${f['resource-access']}, tamper ${f.tamper}, anomaly ${f.anomaly}, unlogged-use ${f['unlogged-use']}`,
    `  decoy touches         ${kpis.touchesExpected} expected, ${kpis.touchesDetected} found, ${kpis.missedTouches} missed (must be 0)`,
    `  benign acted on       ${kpis.benignActedOn} of ${result.benignPrincipals.length} benign principals (must be 0)`,
    `  attackers contained   ${kpis.attackersContained} of ${result.attackPrincipals.length} (planned in dry-run)`,
    `  record -> finding     p50 ${ms(kpis.recordToFindingMs.p50)}, p99 ${ms(kpis.recordToFindingMs.p99)} (${kpis.recordToFindingMs.count} findings, own processing time)`,
    `  finding -> containment p50 ${ms(kpis.findingToContainmentMs.p50)}, p99 ${ms(kpis.findingToContainmentMs.p99)} (${kpis.findingToContainmentMs.count} planned)`,
    `  actions executed      ${kpis.actionsExecuted}`,
    `  records               ${kpis.records.played} played (${kpis.records.attack} attack), ${kpis.records.routed} routed to detection, ${kpis.records.history} history`,
    `  result                ${kpis.passed ? 'PASS' : `FAIL: ${result.failures.join('; ')}`} (${ms(kpis.elapsedMs)})`,
  ];
}

/** What a response planned, in words (or why it planned nothing). */
export function planText(response: ResponseReport): string {
  return response.planned.length > 0 ? `planned ${response.planned.join('; ')}` : (response.reason ?? '');
}

/**
 * An hour's summary. The hour's counts of routed calls include the attack's own
 * calls; they are told apart here so that the benign figure is benign only.
 */
export function hourLine(result: DrillResult, hour: HourSummary): string {
  const end = hour.start + 3_600_000;
  const attackRouted = result.steps.filter(
    (step) => step.time >= hour.start && step.time < end && step.rules.length > 0,
  ).length;
  const benignRouted = Math.max(0, hour.routed - attackRouted);
  const attack =
    hour.attackCalls > 0 ? `; attack: ${hour.attackCalls} calls, ${attackRouted} routed to detection` : '';
  return `benign: ${hour.benignCalls} calls by ${hour.principals} principals this hour, ${benignRouted} routed to detection${attack}`;
}

/** One principal's findings and the response they got: an incident, its plan listed once. */
export interface PrincipalIncident {
  principal: string;
  attacker: boolean;
  findings: FindingReport[];
  first: number;
  last: number;
  /** Distinct plans (or decisions without a plan), in order, with the findings that got each. */
  responses: { outcome: string; plan: string; executed: string[]; failed?: string; findingIds: string[] }[];
  duplicates: number;
}

/** The findings grouped per principal, in the order of each principal's first finding. */
export function incidentsByPrincipal(result: DrillResult): PrincipalIncident[] {
  const byPrincipal = new Map<string, PrincipalIncident>();
  for (const report of [...result.findings].sort((a, b) => a.time - b.time)) {
    const principal = report.finding.actor.arn;
    let incident = byPrincipal.get(principal);
    if (!incident) {
      incident = {
        principal,
        attacker: result.attackPrincipals.includes(principal),
        findings: [],
        first: report.time,
        last: report.time,
        responses: [],
        duplicates: 0,
      };
      byPrincipal.set(principal, incident);
    }
    incident.findings.push(report);
    incident.last = Math.max(incident.last, report.time);
    const response = report.response;
    if (!response) continue;
    if (response.status === 'DUPLICATE') {
      incident.duplicates++;
      continue;
    }
    const outcome = `${response.outcome ?? 'no decision'}${response.path && response.path !== 'none' ? ` (${response.path})` : ''}`;
    const plan = planText(response);
    const failed = response.status === 'FAILED' ? (response.error ?? 'failed') : undefined;
    const same = incident.responses.find(
      (r) => r.outcome === outcome && r.plan === plan && r.failed === failed,
    );
    if (same) same.findingIds.push(report.finding.id);
    else
      incident.responses.push({
        outcome,
        plan,
        executed: response.executed,
        ...(failed ? { failed } : {}),
        findingIds: [report.finding.id],
      });
  }
  return [...byPrincipal.values()];
}

const DAY = 86_400_000;

/** True when the play crosses midnight (UTC): times then carry their date. */
export function spansDays(start: number, end: number): boolean {
  return Math.floor(start / DAY) !== Math.floor(Math.max(start, end - 1) / DAY);
}

/** A date, UTC: 2024-05-13. */
export function day(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** A time of day, with its date when the play spans days. */
export function stamp(time: number, withDate: boolean): string {
  return withDate ? `${day(time)} ${clock(time)}` : clock(time);
}

/** Tick steps a time axis may use, in milliseconds: round numbers of seconds, minutes, hours, days. */
const TICK_STEPS = [
  10_000,
  15_000,
  30_000,
  60_000,
  120_000,
  300_000,
  600_000,
  900_000,
  1_800_000,
  3_600_000,
  7_200_000,
  10_800_000,
  21_600_000,
  43_200_000,
  DAY,
  2 * DAY,
  7 * DAY,
];

/**
 * Axis ticks for [start, end]: the smallest round step that gives at most `most`
 * ticks, on multiples of that step (so 10:15, 10:20 rather than 10:13, 10:18).
 */
export function timeTicks(start: number, end: number, most = 10): { step: number; ticks: number[] } {
  const span = Math.max(1, end - start);
  const step = TICK_STEPS.find((s) => span / s <= most) ?? Math.ceil(span / most / DAY) * DAY;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return { step, ticks };
}

/** A date in words, UTC: Mon 13 May. */
export function dayName(time: number): string {
  return new Date(time).toUTCString().slice(0, 11).replace(',', '');
}

/** A tick's label: hh:mm (hh:mm:ss below a minute), with the date at midnight and on the first tick of a multi-day axis. */
export function tickLabel(time: number, step: number, first: boolean, multiDay: boolean): string {
  const text = step < 60_000 ? clock(time) : clock(time).slice(0, 5);
  if (step >= DAY) return dayName(time);
  if (multiDay && (first || time % DAY === 0)) return `${dayName(time)} ${text}`;
  return text;
}

/**
 * The span the timeline zooms to: the attack's calls with context around them
 * (15% of the attack's length on each side, at least a minute), inside
 * the play. Undefined when the play has no attack call.
 */
export function attackFocus(
  result: DrillResult,
): { start: number; end: number; attackStart: number; attackEnd: number } | undefined {
  const times = result.calls.filter((c) => c.attack).map((c) => c.time);
  if (times.length === 0) return undefined;
  const attackStart = Math.min(...times);
  const attackEnd = Math.max(...times);
  const context = Math.max(60_000, (attackEnd - attackStart) * 0.15);
  return {
    start: Math.max(result.playStart, attackStart - context),
    end: Math.min(result.playEnd, attackEnd + context),
    attackStart,
    attackEnd,
  };
}
