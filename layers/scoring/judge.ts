import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Severity } from '../config/vocabulary';
import { principalOf, windowKey, windowStartOf } from '../features';
import { type Finding, findingId } from '../findings/finding';
import { classify } from '../supervised/classifier';
import { type RefinedVerdict, refineVerdict } from '../supervised/refine';
import {
  applyVerdicts,
  type CallTrace,
  DEFAULT_VERDICT_SETTINGS,
  decideWindow,
  historyFor,
  MAX_TRACES,
  maxSeverity,
  mergeTraces,
  runVerdicts,
  severityRank,
  traceOf,
  type Verdict,
  type VerdictSettings,
  type WindowDecision,
} from '../verdicts';
import { anomalyFinding, anomalySeverity } from './findings';
import type { ActivityModel } from './model';
import type { ScoredWindow } from './score';

/**
 * The forest's score and the verdicts, together: what a principal-window is worth.
 * The forest's model, threshold and explanations are unchanged; the verdicts add
 * windows the forest missed and raise the severity of those it caught.
 */

/**
 * The id of a finding that raises an already reported window to a higher severity:
 * stable per window and severity (a redelivered log file gives the same id), and
 * not the first finding's id, so a response started for the first is not mistaken
 * for this one.
 */
export function raisedFindingId(
  principalKey: string,
  windowStartMs: number,
  windowMinutes: number,
  severity: Severity,
): string {
  return findingId([
    'anomaly-raised',
    principalKey,
    new Date(windowStartMs).toISOString(),
    windowMinutes,
    severity,
  ]);
}

export interface JudgedWindow {
  readonly verdicts: readonly Verdict[];
  readonly severity: Severity;
  readonly decision: WindowDecision;
  /**
   * The label classifier's word on a window the forest alone raised (no verdict),
   * when the model carries a classifier. `flag: false`: suppressed, not published.
   */
  readonly refinement?: RefinedVerdict;
  /** Present when the decision is to publish. */
  readonly finding?: Finding;
}

/** Outcomes of the refinement worth a line in the finding: the classifier weighed the window and kept it. */
const REFINEMENT_SHOWN = new Set<RefinedVerdict['outcome']>(['kept', 'far-above-threshold']);
const MAX_TITLE = 400;

/**
 * Judges one scored window against its calls. Pure.
 *
 * The hybrid (issue 12, item 5): a window the forest alone raises (at or above the
 * threshold, no verdict) goes to the classifier `label` feedback taught, when the
 * model carries one; windows like those labelled false positives are not published
 * (refineVerdict says when). A window a verdict raised is never suppressed: the
 * verdicts are high-fidelity on their own, and labels never lower them.
 */
export function judgeWindow(
  scored: ScoredWindow,
  model: ActivityModel,
  calls: readonly CallTrace[],
  options: { threshold?: number; reportedSeverity?: Severity; settings?: VerdictSettings } = {},
): JudgedWindow {
  const threshold = options.threshold ?? model.threshold;
  const { window } = scored;
  const verdicts = runVerdicts(
    { principal: window.principal, calls, history: historyFor(window.principal, model.baselines) },
    options.settings ?? DEFAULT_VERDICT_SETTINGS,
  );
  const aboveThreshold = scored.score >= threshold;
  const severity = maxSeverity(
    aboveThreshold ? anomalySeverity(scored.score, threshold) : 'low',
    ...verdicts.map((verdict) => verdict.severity),
  );
  const decision = decideWindow({
    aboveThreshold,
    severity,
    verdicts,
    ...(options.reportedSeverity && { reportedSeverity: options.reportedSeverity }),
  });
  if (!decision.publish) return { verdicts, severity, decision };
  const refinement =
    model.classifier && verdicts.length === 0 && !decision.raised
      ? refineVerdict(scored.score, threshold, classify(model.classifier, scored.features), {
          examples: model.classifier.examples,
        })
      : undefined;
  if (refinement && !refinement.flag) {
    return { verdicts, severity, decision: { publish: false, why: refinement.reason }, refinement };
  }
  const judged = withRefinement(applyVerdicts(anomalyFinding(scored, threshold), verdicts), refinement);
  const finding: Finding = decision.raised
    ? {
        ...judged,
        id: raisedFindingId(window.principal.key, window.windowStart, window.windowMinutes, severity),
      }
    : judged;
  return { verdicts, severity, decision, finding, ...(refinement && { refinement }) };
}

/** The finding with the classifier's reason in its title, when the classifier weighed it. */
function withRefinement(finding: Finding, refinement: RefinedVerdict | undefined): Finding {
  if (!refinement || !REFINEMENT_SHOWN.has(refinement.outcome)) return finding;
  const title = `${finding.title} [labels: ${refinement.reason}]`;
  return { ...finding, title: title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title };
}

/** A window the forest raised and the label classifier suppressed. */
export interface SuppressedWindow {
  readonly scored: ScoredWindow;
  readonly refinement: RefinedVerdict;
}

/**
 * The batch form (the command line, the drill): every window at or above the
 * threshold or with a verdict, as a finding with its verdicts, highest severity
 * then highest score first; and the windows the label classifier suppressed.
 * `calls` from `tracesByWindow` over the same records.
 */
export function judgeWindows(
  scored: readonly ScoredWindow[],
  model: ActivityModel,
  calls: ReadonlyMap<string, readonly CallTrace[]>,
  options: { threshold?: number; settings?: VerdictSettings } = {},
): { findings: Finding[]; suppressed: SuppressedWindow[] } {
  const findings: { finding: Finding; score: number }[] = [];
  const suppressed: SuppressedWindow[] = [];
  for (const s of scored) {
    const key = windowKey(s.window.principal.key, s.window.windowStart);
    const judged = judgeWindow(s, model, calls.get(key) ?? [], options);
    if (judged.finding) findings.push({ finding: judged.finding, score: s.score });
    else if (judged.refinement && !judged.refinement.flag) {
      suppressed.push({ scored: s, refinement: judged.refinement });
    }
  }
  return {
    findings: findings
      .sort(
        (a, b) => severityRank(b.finding.severity) - severityRank(a.finding.severity) || b.score - a.score,
      )
      .map((entry) => entry.finding),
    suppressed: suppressed.sort((a, b) => b.scored.score - a.scored.score),
  };
}

/** The findings of judgeWindows alone. */
export function judgedAnomalyFindings(
  scored: readonly ScoredWindow[],
  model: ActivityModel,
  calls: ReadonlyMap<string, readonly CallTrace[]>,
  options: { threshold?: number; settings?: VerdictSettings } = {},
): Finding[] {
  return judgeWindows(scored, model, calls, options).findings;
}

/**
 * Each window's calls, collected record by record (tracesByWindow's result without
 * keeping the records): a window's calls are merged as the scoring function merges
 * them, file by file (mergeTraces), so memory stays bounded by MAX_TRACES per window.
 */
export class WindowTraces {
  private readonly merged = new Map<string, CallTrace[]>();
  private readonly pending = new Map<string, CallTrace[]>();

  constructor(readonly windowMinutes: number) {}

  add(record: CloudTrailRecord): void {
    const trace = traceOf(record);
    if (!trace) return;
    const key = windowKey(principalOf(record).key, windowStartOf(trace.time, this.windowMinutes));
    const list = this.pending.get(key) ?? [];
    list.push(trace);
    this.pending.set(key, list);
    if (list.length >= 4 * MAX_TRACES) this.flush(key, list);
  }

  /** The calls of every window, keyed like WindowBuilder (`windowKey`). */
  byWindow(): Map<string, CallTrace[]> {
    for (const [key, list] of this.pending) this.flush(key, list);
    return new Map(this.merged);
  }

  private flush(key: string, list: readonly CallTrace[]): void {
    this.merged.set(key, mergeTraces(this.merged.get(key) ?? [], list));
    this.pending.delete(key);
  }
}
