import type { FeatureName } from '../features';
import type { Finding } from '../findings/finding';
import type { Precision } from './labels';
import type { ActivityModel } from './model';
import type { FeatureReason, ScoredWindow } from './score';

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
  const quiet = order.filter(
    ({ s }) => s.score >= input.threshold && s.reasons !== undefined && lacksNovelty(s.reasons),
  ).length;
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
    [
      'Findings',
      `${input.findings.length} window(s) at or above the threshold${quiet > 0 ? `, ${quiet} of the top ${order.length} flagged for lacking novelty (see their cards)` : ''}`,
    ],
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
.card.hot{border-left:4px solid #b3261e}.card.quiet{border-left:4px solid #c9a227}.score.quiet{color:#8a6d00}
.verdict{margin:6px 0;font-size:13px}.verdict.quiet{background:#fff8e1;border-radius:4px;padding:6px 8px}
table.reasons{margin-top:6px;width:100%}table.reasons th{width:auto;font-size:12px}table.reasons td{border:0;padding:2px 6px;font-size:13px}
td.bar{width:160px}td.bar div{height:12px;border-radius:2px}td.bar div.up{background:#d9534f}td.bar div.down{background:#8fa7c9;margin-left:auto}
td.points{width:56px;text-align:right;font-variant-numeric:tabular-nums}td.points.up{color:#b3261e}td.points.down{color:#3b5b8c}
.name{color:#889;font-size:11px;margin-left:8px}table.top th{width:auto}table.top td{font-size:13px}.small{font-size:12px}
</style></head><body>
<h1>${esc(input.title ?? 'Activity scores')}</h1>
<div class="muted">Generated ${esc(input.generatedAt)}. ${above} of ${input.scored.length} principal-windows at or above the threshold.</div>
<h2>Summary</h2>
<table>${summary.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${input.precision ? precisionSection(input.precision) : ''}
<h2>Score distribution</h2>
<p class="muted">Principal-windows per score bin. The dashed line is the threshold; bins at or above it are red.</p>
${histogram(
  input.scored.map((s) => s.score),
  input.threshold,
)}
<h2>Top ${order.length} principal-windows</h2>
<p class="muted">Each card lists the features that moved the window's score: the bar is how many score points the feature adds (red) or takes away (blue), that is how much lower (or higher) the score would be with that feature at the principal's norm; the sentence says which way the window differs from the norm, with the values and the distance in the principal's standard deviations. Hover a feature's name for why it matters.</p>
${
  quiet > 0
    ? `<p class="verdict quiet"><b>${quiet} window(s) flagged for lacking novelty.</b> Most of what raised their score is that they bring <i>less</i> that is new (APIs, source addresses, user agents, regions) than the principal's windows usually do. That is no sign of misuse: it is what scoring the activity the model was trained on looks like, where every principal's first windows were all new. Score activity after the training period, or read these as noise.</p>`
    : ''
}
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

/** Round steps for a score axis, smallest first. */
const SCORE_STEPS = [0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25];

/**
 * Windows per score bin. Counts are drawn on a linear axis, unless the tallest
 * bin is over 20 times the shortest non-empty one: then on a log axis (1, 2, 5,
 * 10, ...) so that the few high scores stay visible next to the bulk.
 */
function histogram(scores: readonly number[], threshold: number): string {
  const width = 1000;
  const height = 230;
  const pad = { left: 56, right: 10, top: 16, bottom: 40 };
  if (scores.length === 0) return '<p>No windows.</p>';
  const binWidth = 0.01;
  const low = Math.min(Math.floor(Math.min(...scores) / binWidth) * binWidth, threshold - binWidth);
  const high = Math.max(Math.ceil(Math.max(...scores) / binWidth) * binWidth, threshold + binWidth);
  const bins = Math.max(1, Math.round((high - low) / binWidth));
  const counts = new Array<number>(bins).fill(0);
  for (const score of scores) counts[Math.min(bins - 1, Math.floor((score - low) / binWidth))]!++;
  const most = Math.max(...counts);
  const fewest = Math.min(...counts.filter((n) => n > 0));
  const logScale = most / fewest > 20;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  // Log scale: log10(1 + n), so a bin of 1 still has a height.
  const scale = (n: number) => (logScale ? Math.log10(1 + n) / Math.log10(1 + most) : n / most);
  const x = (score: number) => pad.left + ((score - low) / (high - low)) * plotW;
  const barW = plotW / bins;
  const bars = counts
    .map((count, b) => {
      if (count === 0) return '';
      const h = scale(count) * plotH;
      const start = low + b * binWidth;
      const color = start + binWidth / 2 >= threshold ? '#d9534f' : '#6c8ebf';
      return `<rect x="${fmt(pad.left + b * barW, 1)}" y="${fmt(pad.top + plotH - h, 1)}" width="${fmt(Math.max(1, barW - 1), 1)}" height="${fmt(h, 1)}" fill="${color}"><title>${fmt(start)}–${fmt(start + binWidth)}: ${count} window(s)</title></rect>`;
    })
    .join('');
  const step = SCORE_STEPS.find((s) => (high - low) / s <= 10) ?? 0.5;
  const ticks: string[] = [];
  const digits = step < 0.01 ? 3 : 2;
  for (let t = Math.ceil(low / step - 1e-9) * step; t <= high + 1e-9; t += step) {
    ticks.push(
      `<line x1="${fmt(x(t), 1)}" x2="${fmt(x(t), 1)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 4}" stroke="#889"/><text x="${fmt(x(t), 1)}" y="${pad.top + plotH + 17}" text-anchor="middle">${fmt(t, digits)}</text>`,
    );
  }
  const yValues = logScale ? logTicks(most) : linearTicks(most);
  const yTicks = yValues
    .map((n) => {
      const y = pad.top + plotH - scale(n) * plotH;
      return `<text x="${pad.left - 6}" y="${fmt(y + 4, 1)}" text-anchor="end">${n}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${fmt(y, 1)}" y2="${fmt(y, 1)}" stroke="#e6e8f0"/>`;
    })
    .join('');
  const tx = x(threshold);
  return `<svg width="100%" viewBox="0 0 ${width} ${height}" role="img" aria-label="score histogram">
${yTicks}${bars}
<line x1="${pad.left}" x2="${width - pad.right}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="#889"/>${ticks.join('')}
<line x1="${fmt(tx, 1)}" x2="${fmt(tx, 1)}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#b3261e" stroke-dasharray="5,4" stroke-width="2"/>
<text x="${fmt(tx + 5, 1)}" y="${pad.top + 10}" style="fill:#b3261e">threshold ${fmt(threshold, 3)}</text>
<text x="${pad.left + plotW / 2}" y="${height - 4}" text-anchor="middle">score (bins of ${binWidth})</text>
<text x="14" y="${pad.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${pad.top + plotH / 2})">windows${logScale ? ' (log scale)' : ''}</text></svg>`;
}

/** 0 and round counts up to `most`: at most about six of them. */
function linearTicks(most: number): number[] {
  const step =
    [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => most / s <= 6) ?? Math.ceil(most / 6);
  const ticks: number[] = [];
  for (let n = 0; n <= most; n += step) ticks.push(n);
  return ticks;
}

/** 1, 2, 5, 10, 20, 50, ... up to `most`, thinned to 1, 10, 100 ... when there are many. */
function logTicks(most: number): number[] {
  const ticks: number[] = [];
  for (let decade = 1; decade <= most; decade *= 10)
    for (const m of [1, 2, 5]) if (m * decade <= most) ticks.push(m * decade);
  return ticks.length > 8 ? ticks.filter((n) => /^10*$/.test(String(n))) : ticks;
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
  const flagged = score >= threshold;
  const lacking = scored.reasons ? lacksNovelty(scored.reasons) : false;
  const verdict = !flagged
    ? ''
    : lacking
      ? '<div class="verdict quiet"><b>Flagged for lacking novelty.</b> It brings less that is new than its windows usually do (see the note above the cards).</div>'
      : '<div class="verdict">At or above the threshold: a finding.</div>';
  return `<div class="card${flagged ? (lacking ? ' quiet' : ' hot') : ''}"><h3><span class="score ${flagged ? (lacking ? 'quiet' : 'hot') : ''}">${fmt(score, 3)}</span> · ${esc(who)}${tag}</h3>
<div class="muted">${esc(when)} · ${window.calls} calls from ${[...window.sourceIps.keys()].slice(0, 4).map(esc).join(', ')} · ${esc(topApis.join(', '))}</div>
${verdict}
${scored.reasons ? reasonList(scored.reasons) : '<p class="muted">(not explained)</p>'}
</div>`;
}

/** A contribution this small (score points) did not move the score. */
const MOVED = 0.002;

/** Features whose value counts novelty: below the norm they make a window less novel, not more suspicious. */
const NOVELTY = new Set<FeatureName>([
  'newSourceIps',
  'newUserAgents',
  'newApiRatio',
  'newRegions',
  'noveltyKinds',
  'hourRarity',
]);

/** True when most of what raised the score is novelty below the principal's norm. */
export function lacksNovelty(reasons: readonly FeatureReason[]): boolean {
  const raising = reasons.filter((r) => r.contribution > MOVED);
  const total = raising.reduce((sum, r) => sum + r.contribution, 0);
  const fromLess = raising
    .filter((r) => NOVELTY.has(r.name) && r.value < r.norm)
    .reduce((sum, r) => sum + r.contribution, 0);
  return total > 0 && fromLess / total > 0.5;
}

/** How a feature reads in words: what "more" and "less" of it are, and its value shown as people count it. */
const WORDS: Record<FeatureName, { more: string; less: string; show: (value: number) => string }> = {
  calls: { more: 'more calls', less: 'fewer calls', show: (v) => `${Math.round(Math.expm1(v))} calls` },
  distinctApis: {
    more: 'more different APIs',
    less: 'fewer different APIs',
    show: (v) => `${fmt(v, 0)} APIs`,
  },
  distinctServices: {
    more: 'more services',
    less: 'fewer services',
    show: (v) => `${fmt(v, 0)} services`,
  },
  errorRatio: { more: 'more errors', less: 'fewer errors', show: percent },
  accessDeniedRatio: { more: 'more denied calls', less: 'fewer denied calls', show: percent },
  writeRatio: { more: 'more writes', less: 'fewer writes', show: percent },
  sensitiveCalls: {
    more: 'more sensitive calls',
    less: 'fewer sensitive calls',
    show: (v) => `${Math.round(Math.expm1(v))} sensitive calls`,
  },
  newSourceIps: {
    more: 'more new source addresses',
    less: 'fewer new source addresses',
    show: (v) => `${fmt(v, 0)} new`,
  },
  newUserAgents: {
    more: 'more new user agents',
    less: 'fewer new user agents',
    show: (v) => `${fmt(v, 0)} new`,
  },
  newApiRatio: {
    more: 'more APIs it never called before',
    less: 'fewer new APIs',
    show: (v) => `${percent(v)} new`,
  },
  regions: { more: 'more regions', less: 'fewer regions', show: (v) => `${fmt(v, 0)} regions` },
  newRegions: {
    more: 'more regions it never used before',
    less: 'fewer new regions',
    show: (v) => `${fmt(v, 0)} new`,
  },
  hourRarity: {
    more: 'a rarer hour for it',
    less: 'a more usual hour',
    show: (v) => `rarity ${fmt(v)}`,
  },
  callsVsHabit: {
    more: 'more calls than its habit',
    less: 'fewer calls than its habit',
    show: (v) => `${fmt(Math.exp(v), 1)}× its usual volume`,
  },
  noveltyKinds: {
    more: 'more kinds of novelty at once',
    less: 'less novelty',
    show: (v) => `${fmt(v, 0)} of 5 kinds`,
  },
};

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/** "more X than this principal's norm", or "less X", from a reason. */
export function reasonInWords(reason: FeatureReason): string {
  const words = WORDS[reason.name];
  const direction = reason.value > reason.norm ? words.more : words.less;
  const norm =
    reason.basis === 'principal'
      ? "this principal's norm"
      : reason.basis === 'identity'
        ? 'the norm of its user or role'
        : "the account's norm";
  if (reason.value === reason.norm) return `${reason.name} at ${norm}`;
  // Below the norm, a novelty feature makes the window more ordinary, not more suspicious: say so.
  const lessNovel = reason.value < reason.norm && NOVELTY.has(reason.name) && reason.name !== 'noveltyKinds';
  return `${direction} than ${norm}${lessNovel ? ': less novelty' : ''}`;
}

/**
 * The features that moved the score, most first, each a bar as long as the score
 * points it added (red) or took away (blue), and a sentence saying which way the
 * window differs from its principal's norm. The others are only counted.
 */
function reasonList(reasons: readonly FeatureReason[]): string {
  const moved = reasons
    .filter((r) => Math.abs(r.contribution) >= MOVED)
    .sort((a, b) => b.contribution - a.contribution);
  const rest = reasons.length - moved.length;
  if (moved.length === 0)
    return `<p class="muted">No single feature moves this score by ${MOVED} or more: it comes from the combination.</p>`;
  const largest = Math.max(...moved.map((r) => Math.abs(r.contribution)));
  const rows = moved
    .map((reason) => {
      const words = WORDS[reason.name];
      const raised = reason.contribution > 0;
      const w = (Math.abs(reason.contribution) / largest) * 100;
      return `<tr><td class="bar"><div class="${raised ? 'up' : 'down'}" style="width:${fmt(w, 1)}%"></div></td><td class="points ${raised ? 'up' : 'down'}">${raised ? '+' : '−'}${fmt(Math.abs(reason.contribution), 3)}</td><td><b>${esc(reasonInWords(reason))}</b> <span class="muted">${esc(words.show(reason.value))} vs ${esc(words.show(reason.norm))} (${reason.deviation >= 0 ? '+' : '−'}${fmt(Math.abs(reason.deviation), 1)}σ)</span><span class="name" title="${esc(reason.why)}">${esc(reason.name)}</span></td></tr>`;
    })
    .join('');
  return `<table class="reasons"><tr><th colspan="2">score points</th><th>what differs from the norm</th></tr>${rows}</table>
<div class="muted small">${rest} other feature${rest === 1 ? '' : 's'} moved the score by less than ${MOVED}.</div>`;
}

function topTable(rows: readonly ScoredWindow[], threshold: number): string {
  const body = rows
    .map((s) => {
      const { who, when } = describeWindow(s);
      const reasons =
        (s.reasons ?? [])
          .filter((r) => r.contribution > MOVED)
          .slice(0, 3)
          .map((r) => (r.value >= r.norm ? WORDS[r.name].more : WORDS[r.name].less))
          .join('; ') || '–';
      return `<tr><td class="score ${s.score >= threshold ? 'hot' : ''}">${fmt(s.score, 3)}</td><td>${esc(who)}</td><td>${esc(when)}</td><td>${s.window.calls}</td><td>${esc(reasons)}</td></tr>`;
    })
    .join('');
  return `<table class="top"><tr><th>Score</th><th>Principal</th><th>Window</th><th>Calls</th><th>Raised by</th></tr>${body}</table>`;
}
