import type { Finding } from '../findings/finding';
import type { Precision } from './labels';
import type { ActivityModel } from './model';
import { type FeatureReason, type ScoredWindow, topReasons } from './score';

/**
 * The score report: one self-contained HTML file (inline CSS and SVG, no script,
 * no external assets) that can be mailed or attached to a ticket. It shows the
 * score distribution against the threshold and, for the top principal-windows,
 * their reasons as charts: how far each feature is from the principal's norm and
 * how much it added to the score.
 */
export interface ReportInput {
  readonly title?: string;
  readonly generatedAt: string;
  readonly inputs: readonly string[];
  readonly model: ActivityModel;
  readonly threshold: number;
  readonly scored: readonly ScoredWindow[];
  readonly findings: readonly Finding[];
  readonly records: number;
  readonly problems: number;
  readonly skippedRecords: number;
  /** Present when labels were given. */
  readonly precision?: Precision;
  /** Label per finding id, to mark windows in the charts. */
  readonly labels?: ReadonlyMap<string, string>;
  /** Finding id per scored window (same order as `scored`), to show labels. */
  readonly findingIds?: readonly string[];
  /** How many top windows get a chart (default 12). */
  readonly top?: number;
}

const esc = (text: unknown): string =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

export function renderReport(input: ReportInput): string {
  const top = input.top ?? 12;
  const order = input.scored
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.score - a.s.score)
    .slice(0, top);
  const above = input.scored.filter((s) => s.score >= input.threshold).length;
  const { model } = input;

  const summary = [
    ['Inputs', input.inputs.join(', ')],
    [
      'Records read',
      `${input.records}${input.problems ? ` (${input.problems} could not be read)` : ''}${input.skippedRecords ? `, ${input.skippedRecords} without a usable time` : ''}`,
    ],
    ['Principal-windows', `${input.scored.length} of ${model.windowMinutes} minutes`],
    [
      'Threshold',
      `${fmt(input.threshold, 3)} (model: ${fmt(model.threshold, 3)}, the ${model.training.thresholdRule.quantile} quantile of training scores, at least ${model.training.thresholdRule.minThreshold})`,
    ],
    ['Findings', `${input.findings.length} window(s) at or above the threshold`],
    [
      'Model',
      `trained on ${model.trainingWindow.start} to ${model.trainingWindow.end}: ${model.training.records} records, ${model.training.rows} windows, ${model.training.principals} principals, ${model.forest.trees} trees, ψ=${model.forest.sampleSize}`,
    ],
  ];

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${esc(input.title ?? 'Activity scores')}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eef;text-align:left;vertical-align:top}
th{color:#556;font-weight:600;width:170px}.muted{color:#667}.card{border:1px solid #dde;border-radius:6px;padding:12px 14px;margin:14px 0}
.card h3{margin:0 0 6px;font-size:15px}.score{font-weight:700}.hot{color:#b3261e}.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;margin-left:6px;background:#eef}
.tp{background:#fde2e0;color:#8c1d18}.fp{background:#e3f2e1;color:#1e5b1a}svg text{font:11px system-ui,sans-serif;fill:#334}
</style></head><body>
<h1>${esc(input.title ?? 'Activity scores')}</h1>
<div class="muted">Generated ${esc(input.generatedAt)}. ${above} of ${input.scored.length} principal-windows at or above the threshold.</div>
<h2>Summary</h2>
<table>${summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${input.precision ? precisionSection(input.precision) : ''}
<h2>Score distribution</h2>
<p class="muted">Principal-windows per score bin (counts on a log scale, so the few high scores stay visible). The dashed line is the threshold; bins at or above it are red.</p>
${histogram(
  input.scored.map((s) => s.score),
  input.threshold,
)}
<h2>Top ${order.length} principal-windows</h2>
<p class="muted">Each bar is a feature: its length is how far the window is from the principal's norm, in standard deviations (capped at ±10); red bars raised the score (setting that feature back to the norm lowers the score by the amount shown).</p>
${order.map(({ s, i }) => windowCard(s, input.threshold, input.labels?.get(input.findingIds?.[i] ?? ''))).join('\n')}
<h2>Top windows, as a table</h2>
${topTable(
  order.map(({ s }) => s),
  input.threshold,
)}
</body></html>
`;
}

function precisionSection(p: Precision): string {
  const precision = p.precision === null ? 'no labelled finding yet' : `${fmt(p.precision * 100, 1)}%`;
  const total = Math.max(1, p.findings);
  const bar = (n: number, color: string, offset: number) =>
    `<rect x="${(offset / total) * 600}" y="0" width="${(n / total) * 600}" height="18" fill="${color}"/>`;
  return `<h2>Precision by label</h2>
<table><tr><th>Findings</th><td>${p.findings}</td></tr>
<tr><th>True positives</th><td>${p.truePositives}</td></tr>
<tr><th>False positives</th><td>${p.falsePositives}</td></tr>
<tr><th>Unlabelled</th><td>${p.unlabelled}</td></tr>
<tr><th>Precision</th><td class="score">${esc(precision)}</td></tr></table>
<svg width="620" height="40" role="img" aria-label="findings by label">
${bar(p.truePositives, '#d9534f', 0)}${bar(p.falsePositives, '#5cb85c', p.truePositives)}${bar(p.unlabelled, '#c9cfdb', p.truePositives + p.falsePositives)}
<text x="0" y="32">true positive ${p.truePositives} · false positive ${p.falsePositives} · unlabelled ${p.unlabelled}</text></svg>`;
}

function histogram(scores: readonly number[], threshold: number): string {
  const width = 1000;
  const height = 220;
  const pad = { left: 40, right: 10, top: 10, bottom: 30 };
  if (scores.length === 0) return '<p>No windows.</p>';
  const binWidth = 0.01;
  const low = Math.min(Math.floor(Math.min(...scores) / binWidth) * binWidth, threshold - binWidth);
  const high = Math.max(Math.ceil(Math.max(...scores) / binWidth) * binWidth, threshold + binWidth);
  const bins = Math.max(1, Math.round((high - low) / binWidth));
  const counts = new Array<number>(bins).fill(0);
  for (const score of scores) counts[Math.min(bins - 1, Math.floor((score - low) / binWidth))]!++;
  const maxLog = Math.log10(Math.max(...counts) + 1);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (score: number) => pad.left + ((score - low) / (high - low)) * plotW;
  const barW = plotW / bins;
  const bars = counts
    .map((count, b) => {
      if (count === 0) return '';
      const h = (Math.log10(count + 1) / maxLog) * plotH;
      const start = low + b * binWidth;
      const color = start + binWidth / 2 >= threshold ? '#d9534f' : '#6c8ebf';
      return `<rect x="${fmt(pad.left + b * barW, 1)}" y="${fmt(pad.top + plotH - h, 1)}" width="${fmt(Math.max(1, barW - 1), 1)}" height="${fmt(h, 1)}" fill="${color}"><title>${fmt(start)}–${fmt(start + binWidth)}: ${count}</title></rect>`;
    })
    .join('');
  const ticks: string[] = [];
  for (let t = Math.ceil(low * 10) / 10; t <= high + 1e-9; t += 0.1) {
    ticks.push(
      `<line x1="${fmt(x(t), 1)}" x2="${fmt(x(t), 1)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 4}" stroke="#889"/><text x="${fmt(x(t), 1)}" y="${height - 12}" text-anchor="middle">${fmt(t, 1)}</text>`,
    );
  }
  const yTicks = [1, 10, 100, 1000, 10000, 100000]
    .filter((n) => Math.log10(n + 1) <= maxLog + 1e-9)
    .map((n) => {
      const y = pad.top + plotH - (Math.log10(n + 1) / maxLog) * plotH;
      return `<text x="${pad.left - 6}" y="${fmt(y + 4, 1)}" text-anchor="end">${n}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${fmt(y, 1)}" y2="${fmt(y, 1)}" stroke="#eef"/>`;
    })
    .join('');
  const tx = x(threshold);
  return `<svg width="100%" viewBox="0 0 ${width} ${height}" role="img" aria-label="score histogram">
${yTicks}${bars}
<line x1="${pad.left}" x2="${width - pad.right}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="#889"/>${ticks.join('')}
<line x1="${fmt(tx, 1)}" x2="${fmt(tx, 1)}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#b3261e" stroke-dasharray="5,4" stroke-width="2"/>
<text x="${fmt(tx + 5, 1)}" y="${pad.top + 12}" fill="#b3261e">threshold ${fmt(threshold, 3)}</text>
<text x="${width / 2}" y="${height}" text-anchor="middle">score</text></svg>`;
}

function describeWindow(scored: ScoredWindow): { who: string; when: string } {
  const { window } = scored;
  const start = new Date(window.windowStart).toISOString();
  const end = new Date(window.windowStart + window.windowMinutes * 60_000).toISOString();
  const { principal } = window;
  const who =
    principal.accessKeyId && principal.key === principal.accessKeyId
      ? `${principal.arn} (${principal.accessKeyId})`
      : principal.arn;
  return { who, when: `${start.slice(0, 16).replace('T', ' ')} – ${end.slice(11, 16)} UTC` };
}

function windowCard(scored: ScoredWindow, threshold: number, label: string | undefined): string {
  const { window, score } = scored;
  const { who, when } = describeWindow(scored);
  const topApis = [...window.apis]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([api, n]) => `${api} ×${n}`);
  const tag = label
    ? `<span class="tag ${label === 'true-positive' ? 'tp' : 'fp'}">${esc(label)}</span>`
    : '';
  return `<div class="card"><h3><span class="score ${score >= threshold ? 'hot' : ''}">${fmt(score, 3)}</span> · ${esc(who)}${tag}</h3>
<div class="muted">${esc(when)} · ${window.calls} calls from ${[...window.sourceIps.keys()].slice(0, 4).map(esc).join(', ')} · ${esc(topApis.join(', '))}</div>
${scored.reasons ? reasonChart(scored.reasons) : '<p class="muted">(not explained)</p>'}
</div>`;
}

function reasonChart(reasons: readonly FeatureReason[]): string {
  const rows = [...reasons];
  const width = 1000;
  const rowH = 20;
  const labelW = 170;
  const valueW = 250;
  const plotW = width - labelW - valueW;
  const mid = labelW + plotW / 2;
  const cap = 10;
  const height = rows.length * rowH + 24;
  const bars = rows
    .map((reason, r) => {
      const y = 4 + r * rowH;
      const d = Math.max(-cap, Math.min(cap, reason.deviation));
      const w = (Math.abs(d) / cap) * (plotW / 2);
      const x = d >= 0 ? mid : mid - w;
      const raising = reason.contribution > 0.002;
      const color = raising ? '#d9534f' : '#b7c3d6';
      return `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(reason.name)}</text>
<rect x="${fmt(x, 1)}" y="${y + 3}" width="${fmt(Math.max(w, 0.5), 1)}" height="${rowH - 6}" fill="${color}"><title>${esc(reason.why)}</title></rect>
<text x="${labelW + plotW + 8}" y="${y + 13}">${fmt(reason.value)} vs norm ${fmt(reason.norm)} (${reason.deviation >= 0 ? '+' : ''}${fmt(reason.deviation, 1)}σ${raising ? `, +${fmt(reason.contribution, 3)}` : ''})</text>`;
    })
    .join('');
  const axisY = rows.length * rowH + 6;
  return `<svg width="100%" viewBox="0 0 ${width} ${height}" role="img" aria-label="feature deviations">
<line x1="${mid}" x2="${mid}" y1="0" y2="${axisY}" stroke="#889"/>${bars}
<text x="${labelW}" y="${axisY + 14}">−${cap}σ</text><text x="${mid}" y="${axisY + 14}" text-anchor="middle">norm</text><text x="${labelW + plotW}" y="${axisY + 14}" text-anchor="end">+${cap}σ</text></svg>`;
}

function topTable(rows: readonly ScoredWindow[], threshold: number): string {
  const body = rows
    .map((s) => {
      const { who, when } = describeWindow(s);
      const reasons = topReasons(s.reasons ?? [], 3)
        .map((r) => `${r.name} ${fmt(r.value)} (norm ${fmt(r.norm)})`)
        .join('; ');
      return `<tr><td class="score ${s.score >= threshold ? 'hot' : ''}">${fmt(s.score, 3)}</td><td>${esc(who)}</td><td>${esc(when)}</td><td>${s.window.calls}</td><td>${esc(reasons)}</td></tr>`;
    })
    .join('');
  return `<table><tr><th>Score</th><th>Principal</th><th>Window</th><th>Calls</th><th>Reasons</th></tr>${body}</table>`;
}
