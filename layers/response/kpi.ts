import type { FindingKind } from '../config/vocabulary';

/**
 * The response's KPIs as CloudWatch metrics. The pure code returns them; the
 * handlers publish them with Powertools Metrics (namespace from
 * POWERTOOLS_METRICS_NAMESPACE). Metric names and dimension values are visible to
 * anyone who can list metrics, so they say nothing about what is planted.
 */
export const KPI = {
  findings: 'FindingsReceived',
  duplicateFindings: 'DuplicateFindings',
  /** Finding events the intake refused: no detector recorded them (layers/response/refusals.ts). */
  rejectedFindings: 'RejectedFindings',
  eventToFinding: 'EventToFindingLatency',
  findingToContainment: 'FindingToContainmentLatency',
  automaticActions: 'AutomaticActions',
  approvalsRequested: 'ApprovalsRequested',
  approvalsGranted: 'ApprovalsGranted',
  approvalsDenied: 'ApprovalsDenied',
  approvalsTimedOut: 'ApprovalsTimedOut',
  reverts: 'Reverts',
  rollbacks: 'Rollbacks',
  falsePositives: 'FalsePositives',
  dryRunPlans: 'DryRunPlans',
  /** Findings that opened an incident, joined one, or escalated its response. */
  incidentsOpened: 'IncidentsOpened',
  incidentUpdates: 'IncidentUpdates',
  escalations: 'Escalations',
  /** The automation budget: principals contained automatically in its window, and actions held back. */
  automationBudgetUsed: 'AutomationBudgetUsed',
  automationHeld: 'AutomationHeldForApproval',
} as const;
export type KpiName = (typeof KPI)[keyof typeof KPI];

export interface Kpi {
  name: KpiName;
  unit: 'Count' | 'Milliseconds';
  value: number;
  /** At most one dimension besides the service, so the dashboard can name each series. */
  dimension?: { name: 'Kind' | 'Reason'; value: string };
}

/** How a finding came to be labelled a false positive. */
export const FALSE_POSITIVE_REASONS = ['denied', 'reverted', 'labelled'] as const;
export function falsePositive(reason: (typeof FALSE_POSITIVE_REASONS)[number]): Kpi {
  return count(KPI.falsePositives, { name: 'Reason', value: reason });
}

/** Neutral labels for finding kinds: metric dimensions and the policy in the environment. */
export const KIND_LABELS: Record<FindingKind, string> = {
  'resource-access': 'resource-access',
  anomaly: 'anomaly',
  tamper: 'logging-change',
  'unlogged-use': 'unlogged-use',
};

export const count = (name: KpiName, dimension?: Kpi['dimension']): Kpi => ({
  name,
  unit: 'Count',
  value: 1,
  dimension,
});

export const latency = (name: KpiName, from: string | undefined, to: Date): Kpi[] => {
  const start = from ? Date.parse(from) : Number.NaN;
  if (Number.isNaN(start)) return [];
  return [{ name, unit: 'Milliseconds', value: Math.max(0, to.getTime() - start) }];
};

/** A port the handlers implement with Powertools Metrics; tests collect in memory. */
export interface KpiSink {
  publish(kpis: readonly Kpi[]): void;
}
