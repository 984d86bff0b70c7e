import type { DrillResult } from './runner';
import { buildTimeline, clock, ms, shortFindingIds } from './timeline';

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
    '<p class="hint">One lane per principal, scenario time (UTC). Grey ticks: benign calls (taller: more calls that minute). Red dots: attack calls (hover for the call). Diamonds: findings, coloured by severity. Squares: the response (dry-run: planned, not executed). The dashed line is when the attack starts.</p>',
    timelineSvg(result),
    '<h2>Anomaly scores</h2>',
    `<p class="hint">Every principal-window of the played period, scored by the isolation forest trained on the benign history only. Above the dashed line (the model's threshold${result.threshold !== undefined ? `, ${result.threshold}` : ''}) a window is a finding. Red: windows with attack calls.</p>`,
    scoreSvg(result),
    '<h2>Attack steps</h2>',
    stepsTable(result, shortIds),
    '<h2>Findings and responses</h2>',
    findingsTable(result, shortIds),
    '<h2>Story</h2>',
    `<pre>${esc(
      buildTimeline(result)
        .filter((e) => e.kind !== 'benign')
        .map((e) => `${clock(e.time)} ${e.text}`)
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
th{background:#f5f7f9}td.miss{color:#c0182b;font-weight:600}td.ok{color:#2e8540}code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f5f7f9;padding:10px;overflow-x:auto}svg{display:block;margin:8px 0;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#4a5560}
</style></head><body>
${sections.filter(Boolean).join('\n')}
</body></html>
`;
}

function timelineSvg(result: DrillResult): string {
  const { calls } = result;
  const width = 1140;
  const left = 250;
  const right = 20;
  const laneHeight = 26;
  const { playStart, playEnd } = result;
  const lanes = [
    ...result.attackPrincipals,
    ...[...new Set(calls.map((c) => c.arn))].filter((arn) => !result.attackPrincipals.includes(arn)).sort(),
  ];
  const height = 30 + lanes.length * laneHeight + 24;
  const x = (time: number) =>
    left + ((time - playStart) / Math.max(1, playEnd - playStart)) * (width - left - right);
  const laneY = (arn: string) => 20 + Math.max(0, lanes.indexOf(arn)) * laneHeight + laneHeight / 2;
  const parts: string[] = [];

  lanes.forEach((arn, i) => {
    const y = 20 + i * laneHeight;
    parts.push(
      `<rect x="${left}" y="${y}" width="${width - left - right}" height="${laneHeight}" fill="${i % 2 ? '#fafbfc' : '#fff'}"/>`,
    );
    const attacker = result.attackPrincipals.includes(arn);
    parts.push(
      `<text x="${left - 6}" y="${y + laneHeight / 2 + 4}" text-anchor="end"${attacker ? ' style="fill:#c0182b;font-weight:600"' : ''}>${esc(shorten(principalName(arn), 34))}<title>${esc(arn)}</title></text>`,
    );
  });
  for (let hour = Math.ceil(playStart / 3_600_000) * 3_600_000; hour <= playEnd; hour += 3_600_000) {
    parts.push(`<line x1="${x(hour)}" x2="${x(hour)}" y1="18" y2="${height - 20}" stroke="#dde2e7"/>`);
    parts.push(`<text x="${x(hour)}" y="${height - 6}" text-anchor="middle">${hhmm(hour)}</text>`);
  }
  // Benign calls: one tick per principal-minute, its height by count.
  const perMinute = new Map<string, number>();
  for (const call of calls) {
    if (call.attack) continue;
    const key = `${call.arn}\u0000${Math.floor(call.time / 60_000)}`;
    perMinute.set(key, (perMinute.get(key) ?? 0) + 1);
  }
  for (const [key, count] of perMinute) {
    const [arn, minute] = key.split('\u0000') as [string, string];
    const h = Math.min(laneHeight - 6, 3 + Math.log2(count + 1) * 3);
    const y = laneY(arn);
    parts.push(
      `<rect x="${x(Number(minute) * 60_000).toFixed(1)}" y="${(y - h / 2).toFixed(1)}" width="1.6" height="${h.toFixed(1)}" fill="#9aa5b1"/>`,
    );
  }
  const attackX = x(result.attackStart);
  parts.push(
    `<line x1="${attackX}" x2="${attackX}" y1="16" y2="${height - 20}" stroke="#c0182b" stroke-dasharray="4 3"/>`,
  );
  for (const call of calls) {
    if (!call.attack) continue;
    parts.push(
      `<circle cx="${x(call.time).toFixed(1)}" cy="${laneY(call.arn)}" r="3.5" fill="#c0182b" opacity="0.85"><title>${esc(`${clock(call.time)} ${call.label}`)}</title></circle>`,
    );
  }
  const shortIds = shortFindingIds(result.findings);
  for (const report of result.findings) {
    const cx = x(report.time);
    const cy = laneY(report.finding.actor.arn) - 9;
    const color = SEVERITY_COLOR[report.finding.severity] ?? '#333';
    parts.push(
      `<path d="M${cx.toFixed(1)} ${cy - 6} l6 6 l-6 6 l-6 -6 z" fill="${color}" stroke="#fff"><title>${esc(
        `${clock(report.time)} finding ${shortIds.get(report.finding.id)} ${report.finding.kind} ${report.finding.severity}: ${report.finding.title}`,
      )}</title></path>`,
    );
    if (report.response && report.response.status !== 'DUPLICATE') {
      const acted = report.response.outcome && report.response.outcome !== 'notify';
      parts.push(
        `<rect x="${(cx + 7).toFixed(1)}" y="${cy - 4}" width="8" height="8" fill="${acted ? '#1d5fa8' : '#b9c4cf'}"><title>${esc(
          `response ${shortIds.get(report.finding.id)}: ${report.response.outcome} ${report.response.path ?? ''} ${report.response.planned.join('; ')}`,
        )}</title></rect>`,
      );
    }
  }
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="timeline">${parts.join('')}</svg>`;
}

function scoreSvg(result: DrillResult): string {
  if (result.scores.length === 0)
    return '<p class="hint">No scores: the scorer was not trained (see warnings).</p>';
  const width = 1140;
  const height = 260;
  const left = 50;
  const right = 20;
  const top = 14;
  const bottom = 30;
  const { playStart, playEnd } = result;
  const x = (time: number) =>
    left + ((time - playStart) / Math.max(1, playEnd - playStart)) * (width - left - right);
  const y = (score: number) => top + (1 - score) * (height - top - bottom);
  const parts: string[] = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eceff2"/>`);
    parts.push(`<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`);
  }
  for (let hour = Math.ceil(playStart / 3_600_000) * 3_600_000; hour <= playEnd; hour += 3_600_000) {
    parts.push(`<text x="${x(hour)}" y="${height - 8}" text-anchor="middle">${hhmm(hour)}</text>`);
  }
  if (result.threshold !== undefined) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(result.threshold)}" y2="${y(result.threshold)}" stroke="#c0182b" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${width - right}" y="${y(result.threshold) - 4}" text-anchor="end" style="fill:#c0182b">threshold ${result.threshold}</text>`,
    );
  }
  // Windows of one principal share an x: spread them a little so each is visible.
  const byWindow = new Map<number, number>();
  for (const point of [...result.scores].sort(
    (a, b) => Number(a.attack) - Number(b.attack) || a.score - b.score,
  )) {
    const index = byWindow.get(point.windowStart) ?? 0;
    byWindow.set(point.windowStart, index + 1);
    const windowMs = 3_600_000;
    const cx = x(point.windowStart + windowMs / 2) + ((index % 9) - 4) * 5;
    parts.push(
      `<circle cx="${cx.toFixed(1)}" cy="${y(point.score).toFixed(1)}" r="${point.attack ? 5 : 3.5}" fill="${point.attack ? '#c0182b' : '#6b8fb3'}" opacity="${point.flagged || point.attack ? 0.95 : 0.6}"${point.flagged ? ' stroke="#1d232a"' : ''}><title>${esc(
        `${principalName(point.principal)} ${hhmm(point.windowStart)}: score ${point.score.toFixed(3)}, ${point.calls} calls${point.flagged ? ' (finding)' : ''}`,
      )}</title></circle>`,
    );
  }
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="anomaly scores">${parts.join('')}</svg>`;
}

function stepsTable(result: DrillResult, shortIds: Map<string, string>): string {
  const rows = result.steps.map((step) => {
    const verdict = step.touchesDecoy
      ? step.detected
        ? `<td class="ok">${esc(step.findingIds.map((id) => shortIds.get(id) ?? id).join(', '))}</td>`
        : `<td class="miss">MISSED: ${esc(step.missReason ?? 'no finding')}</td>`
      : `<td>${step.detected ? esc(step.findingIds.map((id) => shortIds.get(id) ?? id).join(', ')) : '–'}</td>`;
    return `<tr><td>${clock(step.time)}</td><td>${esc(step.actor)}</td><td><code>${esc(step.call)}</code>${step.error ? ` <small>(${esc(step.error)})</small>` : ''}</td><td>${esc(step.region)}</td><td>${esc(step.note)}</td><td>${step.touchesDecoy ? 'yes' : ''}</td>${verdict}<td><small>${esc([...new Set(step.rules)].join(' | '))}</small></td></tr>`;
  });
  return `<table><tr><th>time</th><th>actor</th><th>call</th><th>region</th><th>what</th><th>touch?</th><th>finding</th><th>deployed rules it went through</th></tr>${rows.join('')}</table>`;
}

function findingsTable(result: DrillResult, shortIds: Map<string, string>): string {
  if (result.findings.length === 0) return '<p>No findings.</p>';
  const rows = result.findings.map((report) => {
    const f = report.finding;
    const r = report.response;
    const response = r
      ? `${esc(r.status === 'DUPLICATE' ? 'duplicate' : (r.outcome ?? r.status))}${r.path && r.path !== 'none' ? ` (${esc(r.path)})` : ''}${
          r.planned.length
            ? `<br><small>${r.planned.map(esc).join('<br>')}</small>`
            : r.reason
              ? `<br><small>${esc(r.reason)}</small>`
              : ''
        }${r.error ? `<br><small class="miss">${esc(r.error)}</small>` : ''}`
      : '–';
    const score = f.score
      ? `<br><small>score ${f.score.score} ≥ ${f.score.threshold}: ${esc(f.score.topFeatures.map((t) => t.name).join(', '))}</small>`
      : '';
    return `<tr><td><code>${esc(shortIds.get(f.id))}</code></td><td>${clock(report.time)}</td><td>${esc(f.kind)}</td><td style="color:${SEVERITY_COLOR[f.severity]}">${esc(f.severity)}</td><td>${esc(principalName(f.actor.arn))}</td><td>${esc(f.title)}${score}</td><td>${ms(report.recordToFindingMs)}</td><td>${response}</td><td>${report.findingToContainmentMs !== undefined ? ms(report.findingToContainmentMs) : '–'}</td></tr>`;
  });
  return `<table><tr><th>id</th><th>time</th><th>kind</th><th>severity</th><th>actor</th><th>finding</th><th>record → finding</th><th>response (dry-run)</th><th>finding → plan</th></tr>${rows.join('')}</table>`;
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
<h3>Decoys</h3><table><tr><th>kind</th><th>name</th><th>ARN</th></tr>${decoys}</table>
<h3>Routing rules</h3><table><tr><th>region</th><th>bus</th><th>name</th><th>state</th><th>targets</th></tr>${rules}</table>`;
}
