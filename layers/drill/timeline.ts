import type { DrillResult, FindingReport, StepReport } from './runner';

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
  for (const hour of result.hours) {
    entries.push({
      time: hour.start,
      kind: 'benign',
      text: `benign: ${hour.benignCalls} calls by ${hour.principals} principals this hour; ${hour.routed} calls routed to detection`,
    });
  }
  const shortIds = shortFindingIds(result.findings);
  for (const step of result.steps) entries.push(stepEntry(step, shortIds));
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
      const what =
        response.status === 'DUPLICATE'
          ? 'duplicate finding: the response already started'
          : `${response.outcome ?? 'no decision'}${response.path && response.path !== 'none' ? ` (${response.path})` : ''}: ${
              response.planned.length > 0 ? `planned ${response.planned.join('; ')}` : (response.reason ?? '')
            }${response.executed.length > 0 ? `; EXECUTED ${response.executed.join(', ')}` : ''}${
              response.status === 'FAILED' ? `; FAILED ${response.error ?? ''}` : ''
            }`;
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
  lines.push(`Timeline (scenario time, UTC, ${new Date(result.playStart).toISOString().slice(0, 10)}):`);
  for (const entry of buildTimeline(result)) {
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
