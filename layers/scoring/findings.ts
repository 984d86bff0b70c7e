import type { Severity } from '../config/vocabulary';
import { mostFrequent } from '../features';
import { type Finding, findingId, findingSchema } from '../findings/finding';
import type { ActivityModel } from './model';
import { type ScoredWindow, topReasons } from './score';

/** Stable id of the anomaly finding about one principal-window: the same window always gives the same id. */
export function anomalyFindingId(principalKey: string, windowStartMs: number, windowMinutes: number): string {
  return findingId(['anomaly', principalKey, new Date(windowStartMs).toISOString(), windowMinutes]);
}

export interface AnomalyFindingOptions {
  /** Default: the model's threshold. */
  readonly threshold?: number;
}

/**
 * Severity by how far above the threshold a window scores: scores bunch up near
 * the threshold and are rare far above it.
 */
export function anomalySeverity(score: number, threshold: number): Severity {
  if (score >= threshold + 0.1) return 'high';
  if (score >= threshold + 0.04) return 'medium';
  return 'low';
}

/**
 * An "Anomalous Activity" finding (design.md's one shape) for every scored window
 * at or above the threshold, highest score first. Windows without reasons are
 * explained by deviation only, so pass windows from scoreWindows/scoreAggregates.
 */
export function anomalyFindings(
  scored: readonly ScoredWindow[],
  model: ActivityModel,
  options: AnomalyFindingOptions = {},
): Finding[] {
  const threshold = options.threshold ?? model.threshold;
  return scored
    .filter((s) => s.score >= threshold)
    .sort((a, b) => b.score - a.score)
    .map((s) => anomalyFinding(s, threshold));
}

export function anomalyFinding(scored: ScoredWindow, threshold: number): Finding {
  const { window, score } = scored;
  const { principal } = window;
  const windowMs = window.windowMinutes * 60_000;
  const windowStart = new Date(window.windowStart).toISOString();
  const windowEnd = new Date(window.windowStart + windowMs).toISOString();
  const eventNames = [...window.apis]
    .sort((a, b) => b[1] - a[1])
    .map(([api]) => api.slice(api.indexOf(':') + 1))
    .filter((name, i, all) => name && all.indexOf(name) === i)
    .slice(0, 20);
  const reasons = topReasons(scored.reasons ?? [], 5);
  const outcome = window.errors === 0 ? 'allowed' : window.denied === window.calls ? 'denied' : 'mixed';
  const who = principal.sessionName
    ? `${principal.identity.split('/').pop()}/${principal.sessionName}`
    : principal.arn;
  const drivers = reasons
    .slice(0, 2)
    .map((reason) => reason.name)
    .join(', ');
  return findingSchema.parse({
    schemaVersion: 1,
    id: anomalyFindingId(principal.key, window.windowStart, window.windowMinutes),
    kind: 'anomaly',
    severity: anomalySeverity(score, threshold),
    title: `Anomalous activity by ${who} (score ${score.toFixed(2)}${drivers ? `: ${drivers}` : ''})`,
    actor: {
      arn: principal.arn,
      type: principal.type,
      ...(principal.accessKeyId && { accessKeyId: principal.accessKeyId }),
      ...(principal.sessionName && { sessionName: principal.sessionName }),
      ...(principal.account && { account: principal.account }),
    },
    sourceIp: mostFrequent(window.sourceIps),
    userAgent: mostFrequent(window.userAgents),
    region: mostFrequent(window.regions) ?? 'unknown',
    account: principal.account,
    eventNames: eventNames.length > 0 ? eventNames : ['(unknown)'],
    eventIds: window.eventIds,
    outcome,
    score: {
      score: Math.round(score * 10_000) / 10_000,
      threshold,
      windowStart,
      windowEnd,
      topFeatures: reasons.map((reason) => ({
        name: reason.name,
        value: reason.value,
        norm: reason.norm,
        deviation: reason.deviation,
        why: reason.why,
      })),
    },
    firstSeen: new Date(window.firstSeen).toISOString(),
    lastSeen: new Date(window.lastSeen).toISOString(),
    count: Math.max(1, window.calls),
  });
}
