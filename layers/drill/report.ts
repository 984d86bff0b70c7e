import type { DrillResult, FindingReport } from './runner';
import {
  attackFocus,
  buildTimeline,
  clock,
  dayName,
  incidentsByPrincipal,
  ms,
  shortFindingIds,
  spansDays,
  stamp,
  tickLabel,
  timeTicks,
} from './timeline';

/**
 * The drill's HTML report: one self-contained file (inline CSS and SVG, no
 * script, nothing fetched), with the KPIs, a timeline of every principal's calls
 * with the findings and responses on it, the anomaly scores of every
 * principal-window against the threshold, and the tables behind them.
 */

const esc = (value: unknown) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const SEVERITY_COLOR: Record<string, string> = {
  low: '#6b8fb3',
  medium: '#d9a400',
  high: '#e0662b',
  critical: '#c0182b',
};

const hhmm = (time: number) => new Date(time).toISOString().slice(11, 16);

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** Short, readable principal names: alice, ci-deploy/GitHubActions, ... */
export function principalName(arn: string): string {
  const assumed = /:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (assumed) return `${assumed[1]}/${assumed[2]}`;
  const user = /:user\/(.+)$/.exec(arn);
  if (user) return user[1]!;
  return arn;
}

export function renderReport(result: DrillResult): string {
  const { kpis } = result;
  const shortIds = shortFindingIds(result.findings);
  const title = `honeytrail drill: ${result.scenario.name}`;
  const status = kpis.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
  const f = kpis.findings;
  const multiDay = spansDays(result.playStart, result.playEnd);

  const cards = [
    [
      'Findings',
      `${f['resource-access']} resource-access · ${f.tamper} tamper · ${f.anomaly} anomaly · ${f['unlogged-use']} unlogged-use`,
    ],
    [
      'Decoy touches missed',
      `${kpis.missedTouches} of ${kpis.touchesExpected} (must be 0)`,
      kpis.missedTouches > 0,
    ],
    [
      'Benign principals acted on',
      `${kpis.benignActedOn} of ${result.benignPrincipals.length} (must be 0)`,
      kpis.benignActedOn > 0,
    ],
    [
      'Record → finding (own time)',
      `p50 ${ms(kpis.recordToFindingMs.p50)} · p99 ${ms(kpis.recordToFindingMs.p99)}`,
    ],
    [
      'Finding → planned containment',
      `p50 ${ms(kpis.findingToContainmentMs.p50)} · p99 ${ms(kpis.findingToContainmentMs.p99)}`,
    ],
    [
      'Records',
      `${kpis.records.played} played · ${kpis.records.routed} routed · ${kpis.records.history} history`,
    ],
  ] as const;

  const sections = [
    `<h1>${esc(title)} ${status}</h1>`,
    result.scenario.description ? `<p class="lead">${esc(result.scenario.description)}</p>` : '',
    result.failures.length
      ? `<ul class="failures">${result.failures.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
      : '',
    `<div class="cards">${cards
      .map(
        ([label, value, bad]) =>
          `<div class="card${bad ? ' bad' : ''}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div></div>`,
      )
      .join('')}</div>`,
    '<h2>Timeline</h2>',
    '<p class="hint">Scenario time (UTC). Top: the whole play, calls per interval (grey benign, red the attack; diamonds: findings); the framed part is drawn below, one lane per principal active in it. Grey ticks: benign calls (taller: more calls). Red dots: attack calls (hover for the call). Diamonds: findings, coloured by severity. Squares: the response (blue: containment planned; grey: notify only). Findings after the span are named at the right edge.</p>',
    timelineSvg(result),
    '<h2>Anomaly scores</h2>',
    `<p class="hint">Every principal-window of the played period, scored by the isolation forest trained on the benign history only, at the window's start, labelled with its principal and score. Above the dashed line (the model's threshold${result.threshold !== undefined ? `, ${result.threshold}` : ''}) a window is a finding (black ring). Red: windows with attack calls.</p>`,
    scoreSvg(result),
    '<h2>Attack steps</h2>',
    stepsTable(result, shortIds),
    '<h2>Incidents</h2>',
    '<p class="hint">The findings per principal, and what the response would do about each principal: a plan is listed once, with the findings that led to it.</p>',
    incidentsSection(result, shortIds),
    '<h2>Findings</h2>',
    findingsTable(result, shortIds),
    '<h2>Story</h2>',
    `<pre>${esc(
      buildTimeline(result)
        .filter((e) => e.kind !== 'benign')
        .map((e) => `${stamp(e.time, multiDay)} ${e.text}`)
        .join('\n'),
    )}</pre>`,
    '<h2>What was drilled</h2>',
    deploymentSection(result),
    '<h2>How to read this report</h2>',
    `<ul class="hint">
<li><b>Decoy touches missed</b>: attack steps the scenario marks as touching a planted resource (or the trail) that produced no finding. Anything above 0 means a rule pattern, the trail's selectors or the touch logic would let that call through in your account.</li>
<li><b>Benign principals acted on</b>: principals that only appear in the benign activity and that a response planned to contain. Anything above 0 is a false positive that would hurt a real workload once dry-run is off.</li>
<li><b>Own processing time</b> is the drill's wall-clock time for honeytrail's own code (rules, touch logic, scoring, state machine), not AWS delivery: CloudTrail to EventBridge takes seconds to minutes; <code>npm run drill -- --live</code> measures that against a deployed stack.</li>
<li>Everything here was synthesized from this checkout's CDK app: the rule patterns, the trail's selectors, the functions' settings and the state machine are the ones <code>cdk deploy</code> would create.</li>
</ul>`,
    result.warnings.length
      ? `<h2>Warnings</h2><ul>${result.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`
      : '',
  ];

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;color:#1d232a;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #dde2e7;padding-bottom:4px}
.pass,.fail{font-size:13px;padding:2px 8px;border-radius:4px;color:#fff;vertical-align:middle}.pass{background:#2e8540}.fail{background:#c0182b}
.lead{color:#4a5560}.hint{color:#5a6570;font-size:13px}.failures{color:#c0182b;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}.card{border:1px solid #dde2e7;border-radius:6px;padding:10px}
.card.bad{border-color:#c0182b;background:#fff3f4}.label{font-size:12px;color:#5a6570}.value{font-size:15px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #eceff2;padding:4px 6px;text-align:left;vertical-align:top}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}th{background:#f5f7f9}td:first-child{white-space:nowrap}td.miss{color:#c0182b;font-weight:600}td.ok{color:#2e8540}code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f5f7f9;padding:10px;overflow-x:auto}svg{display:block;margin:8px 0;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#4a5560}
.incident{border:1px solid #dde2e7;border-radius:6px;padding:8px 12px;margin:10px 0}.incident.attacker{border-left:4px solid #c0182b}.incident h3{margin:0;font-size:15px}.incident ul{margin:4px 0 0;padding-left:20px}
.tag{font-size:11px;font-weight:600;padding:1px 6px;border-radius:4px;background:#fde2e0;color:#8c1d18;vertical-align:middle}.tag.benign{background:#e3f2e1;color:#1e5b1a}.miss{color:#c0182b}
</style></head><body>
${sections.filter(Boolean).join('\n')}
</body></html>
`;
}

const WIDTH = 1140;

/**
 * A time axis: ticks at round steps; on a play that spans days, a second row
 * names the day under each day's part of the axis (callers leave DATE_ROW
 * pixels for it).
 */
function timeAxis(
  start: number,
  end: number,
  x: (time: number) => number,
  y: { top: number; bottom: number; labels: number },
  options: { most?: number; multiDay?: boolean } = {},
): string {
  const multiDay = options.multiDay ?? spansDays(start, end);
  const { step, ticks } = timeTicks(start, end, options.most ?? 10);
  const [from, to] = [x(start), x(end)];
  const parts = ticks.map((tick) => {
    const midnight = tick % DAY_MS === 0;
    const label = tickLabel(tick, step, false, false);
    const at = x(tick);
    // Labels at the ends of the axis would be cut off when centred.
    const anchor = at - from < label.length * 3.2 ? 'start' : to - at < label.length * 3.2 ? 'end' : 'middle';
    return `<line x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${y.top}" y2="${y.bottom}" stroke="${midnight ? '#8a96a3' : '#dde2e7'}"/><text x="${at.toFixed(1)}" y="${y.labels}" text-anchor="${anchor}"${midnight ? ' style="font-weight:600"' : ''}>${esc(label)}</text>`;
  });
  if (multiDay && step < DAY_MS) {
    for (let dayStart = Math.floor(start / DAY_MS) * DAY_MS; dayStart < end; dayStart += DAY_MS) {
      const left = x(Math.max(start, dayStart));
      const right = x(Math.min(end, dayStart + DAY_MS));
      if (right - left < 70) continue;
      parts.push(
        `<text x="${((left + right) / 2).toFixed(1)}" y="${y.labels + DATE_ROW}" text-anchor="middle" style="font-weight:600">${esc(dayName(dayStart))}</text>`,
      );
    }
  }
  return parts.join('');
}

const DAY_MS = 86_400_000;
/** Height of the date row under a multi-day axis. */
const DATE_ROW = 14;

/** Principals with calls in [start, end], the attack's first, then by name. */
function lanesIn(result: DrillResult, start: number, end: number): string[] {
  const active = new Set(result.calls.filter((c) => c.time >= start && c.time <= end).map((c) => c.arn));
  for (const report of result.findings)
    if (report.time >= start && report.time <= end) active.add(report.finding.actor.arn);
  return [
    ...result.attackPrincipals.filter((arn) => active.has(arn)),
    ...[...active].filter((arn) => !result.attackPrincipals.includes(arn)).sort(),
  ];
}

/**
 * The timeline: a strip of the whole play (calls per bucket, the attack in red,
 * the zoomed span framed), then the attack with the context around it, one lane
 * per principal active in it. A 10-minute attack in a 4-hour play would
 * otherwise be a few pixels wide.
 */
function timelineSvg(result: DrillResult): string {
  const focus = attackFocus(result) ?? {
    start: result.playStart,
    end: result.playEnd,
    attackStart: result.attackStart,
    attackEnd: result.attackStart,
  };
  return `${overviewSvg(result, focus)}${attackLanesSvg(result, focus)}`;
}

function overviewSvg(result: DrillResult, focus: { start: number; end: number }): string {
  const left = 250;
  const right = 20;
  const top = 16;
  const barHeight = 34;
  const dateRow = spansDays(result.playStart, result.playEnd) ? DATE_ROW : 0;
  const axisHeight = top + barHeight + 22;
  const height = axisHeight + dateRow;
  const { playStart, playEnd } = result;
  const plotWidth = WIDTH - left - right;
  const x = (time: number) => left + ((time - playStart) / Math.max(1, playEnd - playStart)) * plotWidth;
  const buckets = 240;
  const bucketMs = Math.max(1, (playEnd - playStart) / buckets);
  const benign = new Array<number>(buckets).fill(0);
  const attack = new Array<number>(buckets).fill(0);
  for (const call of result.calls) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((call.time - playStart) / bucketMs)));
    (call.attack ? attack : benign)[b]!++;
  }
  const most = Math.max(1, ...benign.map((n, b) => n + attack[b]!));
  const bar = (count: number, b: number, base: number, color: string) => {
    const h = (Math.sqrt(count) / Math.sqrt(most)) * barHeight;
    return count > 0
      ? `<rect x="${(left + b * (plotWidth / buckets)).toFixed(1)}" y="${(base - h).toFixed(1)}" width="${Math.max(1, plotWidth / buckets - 0.5).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"/>`
      : '';
  };
  const parts: string[] = [];
  parts.push(
    `<rect x="${x(focus.start).toFixed(1)}" y="${top - 4}" width="${Math.max(2, x(focus.end) - x(focus.start)).toFixed(1)}" height="${barHeight + 6}" fill="#fdecee" stroke="#c0182b" stroke-width="1"/>`,
  );
  parts.push(
    timeAxis(playStart, playEnd, x, { top: top - 4, bottom: top + barHeight + 2, labels: axisHeight - 4 }),
  );
  benign.forEach((n, b) => {
    parts.push(bar(n, b, top + barHeight, '#9aa5b1'));
  });
  attack.forEach((n, b) => {
    parts.push(bar(n, b, top + barHeight, '#c0182b'));
  });
  for (const report of result.findings) {
    const cx = x(report.time);
    parts.push(
      `<path d="M${cx.toFixed(1)} ${top - 10} l4 4 l-4 4 l-4 -4 z" fill="${SEVERITY_COLOR[report.finding.severity] ?? '#333'}"/>`,
    );
  }
  parts.push(
    `<text x="${left - 8}" y="${top + barHeight / 2}" text-anchor="end" style="font-weight:600">the whole play</text>`,
    `<text x="${left - 8}" y="${top + barHeight / 2 + 14}" text-anchor="end">calls per ${esc(duration(bucketMs))}; framed: below</text>`,
  );
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="the whole play">${parts.join('')}</svg>`;
}

function attackLanesSvg(
  result: DrillResult,
  focus: { start: number; end: number; attackStart: number; attackEnd: number },
): string {
  const { calls } = result;
  const left = 250;
  const right = 110;
  const laneHeight = 26;
  const top = 22;
  const { start, end } = focus;
  const lanes = lanesIn(result, start, end);
  const multiDay = spansDays(result.playStart, result.playEnd);
  const axisHeight = top + lanes.length * laneHeight + 24;
  const height = axisHeight + (multiDay ? DATE_ROW : 0);
  const plotWidth = WIDTH - left - right;
  const x = (time: number) => left + ((time - start) / Math.max(1, end - start)) * plotWidth;
  const laneY = (arn: string) => top + Math.max(0, lanes.indexOf(arn)) * laneHeight + laneHeight / 2;
  const inFocus = (time: number) => time >= start && time <= end;
  const parts: string[] = [];

  parts.push(
    `<rect x="${x(focus.attackStart).toFixed(1)}" y="${top - 6}" width="${Math.max(2, x(focus.attackEnd) - x(focus.attackStart)).toFixed(1)}" height="${lanes.length * laneHeight + 6}" fill="#fdecee"/>`,
  );
  lanes.forEach((arn, i) => {
    const y = top + i * laneHeight;
    parts.push(
      `<rect x="${left}" y="${y}" width="${plotWidth}" height="${laneHeight}" fill="${i % 2 ? '#f6f8fa' : '#fff'}" opacity="0.6"/>`,
    );
    const attacker = result.attackPrincipals.includes(arn);
    parts.push(
      `<text x="${left - 6}" y="${y + laneHeight / 2 + 4}" text-anchor="end"${attacker ? ' style="fill:#c0182b;font-weight:600"' : ''}>${esc(shorten(principalName(arn), 34))}<title>${esc(arn)}</title></text>`,
    );
  });
  parts.push(
    timeAxis(
      start,
      end,
      x,
      { top: top - 6, bottom: axisHeight - 20, labels: axisHeight - 6 },
      { most: 12, multiDay },
    ),
  );
  parts.push(
    `<text x="${x(focus.attackStart).toFixed(1)}" y="${top - 10}" style="fill:#c0182b">attack ${esc(clock(focus.attackStart))}–${esc(clock(focus.attackEnd))}</text>`,
  );
  // Benign calls: one tick per principal and bucket (about 2 px), taller for more calls.
  const bucketMs = Math.max(1000, (end - start) / (plotWidth / 2));
  const perBucket = new Map<string, number>();
  for (const call of calls) {
    if (call.attack || !inFocus(call.time)) continue;
    const key = `${call.arn}\u0000${Math.floor(call.time / bucketMs)}`;
    perBucket.set(key, (perBucket.get(key) ?? 0) + 1);
  }
  for (const [key, count] of perBucket) {
    const [arn, bucket] = key.split('\u0000') as [string, string];
    const h = Math.min(laneHeight - 6, 4 + Math.log2(count) * 3);
    parts.push(
      `<rect x="${x(Number(bucket) * bucketMs).toFixed(1)}" y="${(laneY(arn) - h / 2).toFixed(1)}" width="1.6" height="${h.toFixed(1)}" fill="#9aa5b1"/>`,
    );
  }
  for (const call of calls) {
    if (!call.attack || !inFocus(call.time)) continue;
    parts.push(
      `<circle cx="${x(call.time).toFixed(1)}" cy="${laneY(call.arn)}" r="4" fill="#c0182b" opacity="0.85"><title>${esc(`${clock(call.time)} ${call.label}`)}</title></circle>`,
    );
  }
  const shortIds = shortFindingIds(result.findings);
  const later = new Map<string, FindingReport[]>();
  for (const report of result.findings) {
    if (!inFocus(report.time)) {
      if (report.time > end)
        later.set(report.finding.actor.arn, [...(later.get(report.finding.actor.arn) ?? []), report]);
      continue;
    }
    const cx = x(report.time);
    const cy = laneY(report.finding.actor.arn) - 8;
    const color = SEVERITY_COLOR[report.finding.severity] ?? '#333';
    parts.push(
      `<path d="M${cx.toFixed(1)} ${cy - 6} l6 6 l-6 6 l-6 -6 z" fill="${color}" stroke="#fff"><title>${esc(
        `${clock(report.time)} finding ${shortIds.get(report.finding.id)} ${report.finding.kind} ${report.finding.severity}: ${report.finding.title}`,
      )}</title></path>`,
    );
    if (report.response && report.response.status !== 'DUPLICATE') {
      const acted = report.response.outcome && report.response.outcome !== 'notify';
      parts.push(
        `<rect x="${(cx + 4).toFixed(1)}" y="${cy + 3}" width="7" height="7" fill="${acted ? '#1d5fa8' : '#b9c4cf'}"><title>${esc(
          `response ${shortIds.get(report.finding.id)}: ${report.response.outcome} ${report.response.path ?? ''} ${report.response.planned.join('; ')}`,
        )}</title></rect>`,
      );
    }
  }
  // Findings after the span (anomaly findings come when the window closes): named at the edge.
  for (const [arn, reports] of later) {
    const first = reports[0]!;
    parts.push(
      `<text x="${WIDTH - right + 6}" y="${laneY(arn) + 4}" style="fill:${SEVERITY_COLOR[first.finding.severity] ?? '#333'}">→ ${reports.length} ${reports.length === 1 ? first.finding.kind : 'findings'} ${esc(hhmm(first.time))}<title>${esc(
        reports
          .map(
            (r) =>
              `${clock(r.time)} finding ${shortIds.get(r.finding.id)} ${r.finding.kind}: ${r.finding.title}`,
          )
          .join('\n'),
      )}</title></text>`,
    );
  }
  const others = new Set(result.calls.map((c) => c.arn)).size - lanes.length;
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="timeline">${parts.join('')}</svg>${
    others > 0
      ? `<p class="hint">${others} other principal${others === 1 ? '' : 's'} made no call in this span (see the whole play above).</p>`
      : ''
  }`;
}

/** A duration in words: 45 s, 1 min, 2.5 min, 1 h. */
function duration(value: number): string {
  if (value < 60_000) return `${Math.round(value / 1000)} s`;
  if (value < 3_600_000) return `${+(value / 60_000).toFixed(1)} min`;
  return `${+(value / 3_600_000).toFixed(1)} h`;
}

/**
 * The score of every principal-window: one column per window, each dot labelled
 * with its principal (all of them when the columns leave room, else those at or
 * above the threshold and the attack's).
 */
function scoreSvg(result: DrillResult): string {
  if (result.scores.length === 0)
    return '<p class="hint">No scores: the scorer was not trained (see warnings).</p>';
  const axisHeight = 300;
  const height = axisHeight + (spansDays(result.playStart, result.playEnd) ? DATE_ROW : 0);
  const left = 50;
  const right = 20;
  const top = 14;
  const bottom = 30;
  const { playStart, playEnd } = result;
  const plotWidth = WIDTH - left - right;
  const x = (time: number) => left + ((time - playStart) / Math.max(1, playEnd - playStart)) * plotWidth;
  const y = (score: number) => top + (1 - score) * (axisHeight - top - bottom);
  const parts: string[] = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${left}" x2="${WIDTH - right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eceff2"/>`);
    parts.push(`<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`);
  }
  parts.push(timeAxis(playStart, playEnd, x, { top, bottom: axisHeight - bottom, labels: axisHeight - 8 }));
  if (result.threshold !== undefined) {
    parts.push(
      `<line x1="${left}" x2="${WIDTH - right}" y1="${y(result.threshold)}" y2="${y(result.threshold)}" stroke="#c0182b" stroke-dasharray="6 4"/>`,
      `<text x="${WIDTH - right}" y="${y(result.threshold) - 4}" text-anchor="end" style="fill:#c0182b">threshold ${result.threshold}</text>`,
    );
  }
  const windows = [...new Set(result.scores.map((p) => p.windowStart))].sort((a, b) => a - b);
  const windowMs =
    windows.length > 1 ? Math.min(...windows.slice(1).map((w, i) => w - windows[i]!)) : 3_600_000;
  const columnWidth = (windowMs / Math.max(1, playEnd - playStart)) * plotWidth;
  const labelAll = columnWidth >= 150;
  for (const windowStart of windows) {
    const points = result.scores
      .filter((p) => p.windowStart === windowStart)
      .sort((a, b) => b.score - a.score);
    const cx = x(windowStart) + Math.min(14, columnWidth / 4);
    let nextLabelY = -Infinity;
    for (const point of points) {
      const cy = y(point.score);
      parts.push(
        `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${point.attack ? 5 : 3.5}" fill="${point.attack ? '#c0182b' : '#6b8fb3'}" opacity="${point.flagged || point.attack ? 0.95 : 0.7}"${point.flagged ? ' stroke="#1d232a"' : ''}><title>${esc(
          `${principalName(point.principal)} ${hhmm(point.windowStart)}: score ${point.score.toFixed(3)}, ${point.calls} calls${point.flagged ? ' (finding)' : ''}`,
        )}</title></circle>`,
      );
      if (!(labelAll || point.flagged || point.attack)) continue;
      // Labels go right of the dots, top to bottom, pushed down when they would overlap.
      const labelY = Math.max(cy + 4, nextLabelY + 12);
      nextLabelY = labelY;
      if (labelY - 4 - cy > 3)
        parts.push(
          `<line x1="${(cx + 5).toFixed(1)}" x2="${(cx + 11).toFixed(1)}" y1="${cy.toFixed(1)}" y2="${(labelY - 4).toFixed(1)}" stroke="#b9c4cf"/>`,
        );
      parts.push(
        `<text x="${(cx + 12).toFixed(1)}" y="${labelY.toFixed(1)}" class="dot-label"${point.attack || point.flagged ? ' style="fill:#c0182b;font-weight:600"' : ''}>${esc(
          shorten(principalName(point.principal), labelAll ? Math.floor((columnWidth - 50) / 6.5) : 26),
        )} ${point.score.toFixed(2)}</text>`,
      );
    }
  }
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="anomaly scores">${parts.join('')}</svg>`;
}

function stepsTable(result: DrillResult, shortIds: Map<string, string>): string {
  const multiDay = spansDays(result.playStart, result.playEnd);
  const rows = result.steps.map((step) => {
    const verdict = step.touchesDecoy
      ? step.detected
        ? `<td class="ok">${esc(step.findingIds.map((id) => shortIds.get(id) ?? id).join(', '))}</td>`
        : `<td class="miss">MISSED: ${esc(step.missReason ?? 'no finding')}</td>`
      : `<td>${step.detected ? esc(step.findingIds.map((id) => shortIds.get(id) ?? id).join(', ')) : '–'}</td>`;
    return `<tr><td>${stamp(step.time, multiDay)}</td><td>${esc(step.actor)}</td><td><code>${esc(step.call)}</code>${step.error ? ` <small>(${esc(step.error)})</small>` : ''}</td><td>${esc(step.region)}</td><td>${esc(step.note)}</td><td>${step.touchesDecoy ? 'yes' : ''}</td>${verdict}<td><small>${esc(rulesOf(step.rules))}</small></td></tr>`;
  });
  return `<table><tr><th>time</th><th>actor</th><th>call</th><th>region</th><th>what</th><th>touch?</th><th>finding</th><th>deployed rules it went through</th></tr>${rows.join('')}</table>`;
}

/**
 * The rules a step went through, each once: a call is delivered bus to bus, so
 * its paths (rule > rule) share most of their rules.
 */
function rulesOf(paths: readonly string[]): string {
  return [...new Set(paths.flatMap((path) => path.split(' > ')))].join(', ');
}

function findingsTable(result: DrillResult, shortIds: Map<string, string>): string {
  if (result.findings.length === 0) return '<p>No findings.</p>';
  const multiDay = spansDays(result.playStart, result.playEnd);
  const rows = result.findings.map((report) => {
    const f = report.finding;
    const r = report.response;
    const response = r
      ? `${esc(r.status === 'DUPLICATE' ? 'duplicate' : (r.outcome ?? r.status))}${r.path && r.path !== 'none' ? ` (${esc(r.path)})` : ''}${
          r.planned.length
            ? ` <small>(${r.planned.length} change${r.planned.length === 1 ? '' : 's'}: see Incidents)</small>`
            : r.reason
              ? `<br><small>${esc(r.reason)}</small>`
              : ''
        }${r.error ? `<br><small class="miss">${esc(r.error)}</small>` : ''}`
      : '–';
    const score = f.score
      ? `<br><small>score ${f.score.score} ≥ ${f.score.threshold}: ${esc(f.score.topFeatures.map((t) => t.name).join(', '))}</small>`
      : '';
    return `<tr><td><code>${esc(shortIds.get(f.id))}</code></td><td>${stamp(report.time, multiDay)}</td><td>${esc(f.kind)}</td><td style="color:${SEVERITY_COLOR[f.severity]}">${esc(f.severity)}</td><td>${esc(principalName(f.actor.arn))}</td><td>${esc(f.title)}${score}</td><td>${ms(report.recordToFindingMs)}</td><td>${response}</td><td>${report.findingToContainmentMs !== undefined ? ms(report.findingToContainmentMs) : '–'}</td></tr>`;
  });
  return `<table><tr><th>id</th><th>time</th><th>kind</th><th>severity</th><th>actor</th><th>finding</th><th>record → finding</th><th>response (dry-run)</th><th>finding → plan</th></tr>${rows.join('')}</table>`;
}

/** One card per principal with findings: its findings, and each distinct plan once. */
function incidentsSection(result: DrillResult, shortIds: Map<string, string>): string {
  const incidents = incidentsByPrincipal(result);
  if (incidents.length === 0) return '<p>No findings.</p>';
  const multiDay = spansDays(result.playStart, result.playEnd);
  return (
    incidentTable(result) +
    incidents
      .map((incident) => {
        const kinds = new Map<string, number>();
        for (const report of incident.findings)
          kinds.set(report.finding.kind, (kinds.get(report.finding.kind) ?? 0) + 1);
        const ids = (list: readonly string[]) =>
          list.map((id) => `<code>${esc(shortIds.get(id) ?? id)}</code>`).join(' ');
        const responses = incident.responses
          .map(
            (r) =>
              `<li><b>${esc(r.outcome)}</b> after ${ids(r.findingIds)}${
                r.plan
                  ? `: ${
                      r.plan.startsWith('planned ')
                        ? `<ul>${r.plan
                            .slice(8)
                            .split('; ')
                            .map((c) => `<li>${esc(c)}</li>`)
                            .join('')}</ul>`
                        : esc(r.plan)
                    }`
                  : ''
              }${r.executed.length ? `<br>executed: ${esc(r.executed.join(', '))}` : ''}${r.failed ? `<br><span class="miss">failed: ${esc(r.failed)}</span>` : ''}</li>`,
          )
          .join('');
        return `<div class="incident${incident.attacker ? ' attacker' : ''}"><h3>${esc(principalName(incident.principal))}${
          incident.attacker ? ' <span class="tag">attack</span>' : ' <span class="tag benign">benign</span>'
        }</h3><div class="hint">${esc(incident.principal)} · ${incident.findings.length} finding${incident.findings.length === 1 ? '' : 's'} (${esc(
          [...kinds].map(([kind, n]) => `${n} ${kind}`).join(', '),
        )}) from ${stamp(incident.first, multiDay)} to ${stamp(incident.last, multiDay)}${
          incident.duplicates
            ? ` · ${incident.duplicates} duplicate${incident.duplicates === 1 ? '' : 's'} (response already started)`
            : ''
        }</div><ul>${responses || '<li>no response</li>'}</ul></div>`;
      })
      .join('')
  );
}

/** The response's incidents (findings of one actor): severity, kill-chain stages, principals. */
function incidentTable(result: DrillResult): string {
  // Saved results from before incidents were kept have none.
  const incidents = result.incidents ?? [];
  if (incidents.length === 0) return '';
  const rows = incidents
    .map(
      (incident) =>
        `<tr><td style="color:${SEVERITY_COLOR[incident.severity] ?? 'inherit'}">${esc(incident.severity)}</td><td>${esc(incident.stages.join(' → ') || '–')}</td><td>${esc(incident.principals.map(principalName).join(', '))}</td><td>${incident.findings}</td></tr>`,
    )
    .join('');
  return `<table class="incidents"><tr><th>severity</th><th>kill-chain stages</th><th>principals</th><th>findings</th></tr>${rows}</table>`;
}

function deploymentSection(result: DrillResult): string {
  const { deployment } = result;
  const config = deployment.config;
  const decoys = deployment.world.decoys
    .map(
      (d) =>
        `<tr><td>${esc(d.kind)}</td><td><code>${esc(d.name)}</code></td><td><small>${esc(d.arn)}</small></td></tr>`,
    )
    .join('');
  const rules = deployment.rules
    .map(
      (r) =>
        `<tr><td>${esc(r.region)}</td><td>${esc(r.bus)}</td><td><code>${esc(r.name)}</code></td><td><small>${esc(r.state)}</small></td><td><small>${esc(
          r.targets
            .map((t) =>
              t.arn
                .split(':')
                .slice(2, 3)
                .concat(t.arn.split(/[:/]/).pop() ?? '')
                .join(' '),
            )
            .join(', '),
        )}</small></td></tr>`,
    )
    .join('');
  return `<p>Stack <code>${esc(config.stackName)}</code> in ${esc(config.homeRegion)}, account ${esc(deployment.world.account)} (the scenario's), trail <code>${esc(deployment.world.trailName)}</code>, response ${config.dryRun ? 'in dry-run' : '<b>acting</b>'}. Synthesized in ${ms(deployment.synthMs)}.</p>
<details><summary>${deployment.world.decoys.length} decoys</summary><table><tr><th>kind</th><th>name</th><th>ARN</th></tr>${decoys}</table></details>
<details><summary>${deployment.rules.length} routing rules</summary><table><tr><th>region</th><th>bus</th><th>name</th><th>state</th><th>targets</th></tr>${rules}</table></details>`;
}
