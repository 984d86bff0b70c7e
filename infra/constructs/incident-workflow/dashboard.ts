import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../../layers/config/schema';
import { FALSE_POSITIVE_REASONS, KIND_LABELS, KPI } from '../../../layers/response/kpi';
import { responsePolicy } from '../../../layers/response/policy';
import { REFUSAL_REASONS } from '../../../layers/response/refusals';
import { METRICS_NAMESPACE, SERVICE_NAME } from './names';

/**
 * The response KPI dashboard (issue 5): findings, latencies, actions and
 * approvals, false positives and refusals, incidents and the automation budget
 * (its use against its limit, and actions it held for approval), executions. Its title and metric
 * names are deployed words, readable with ReadOnlyAccess: neutral ones.
 */
export function buildDashboard(
  scope: Construct,
  config: HoneytrailConfig,
  stateMachine: sfn.StateMachine,
): cloudwatch.Dashboard {
  const metric = (name: string, statistic: string, dimension?: { name: string; value: string }) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: SERVICE_NAME, ...(dimension ? { [dimension.name]: dimension.value } : {}) },
      statistic,
      period: Duration.hours(1),
      label: dimension ? dimension.value : name,
    });
  const kinds = Object.values(KIND_LABELS);
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `${config.stackName}-access-review`,
    defaultInterval: Duration.days(7),
  });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Findings by kind',
      left: kinds.map((kind) => metric(KPI.findings, 'Sum', { name: 'Kind', value: kind })),
      stacked: true,
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Latency: event to finding, finding to containment (p50, p90)',
      left: [
        metric(KPI.eventToFinding, 'p50'),
        metric(KPI.eventToFinding, 'p90'),
        metric(KPI.findingToContainment, 'p50'),
        metric(KPI.findingToContainment, 'p90'),
      ],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Actions, approvals and reverts',
      left: [
        metric(KPI.automaticActions, 'Sum'),
        metric(KPI.approvalsRequested, 'Sum'),
        metric(KPI.approvalsGranted, 'Sum'),
        metric(KPI.approvalsDenied, 'Sum'),
        metric(KPI.approvalsTimedOut, 'Sum'),
        metric(KPI.reverts, 'Sum', { name: 'Reason', value: 'requested' }),
        metric(KPI.reverts, 'Sum', { name: 'Reason', value: 'health-check' }),
        metric(KPI.rollbacks, 'Sum'),
      ],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'False positives labelled, dry-run plans, duplicates, rejected',
      left: [
        ...FALSE_POSITIVE_REASONS.map((reason) =>
          metric(KPI.falsePositives, 'Sum', { name: 'Reason', value: reason }),
        ),
        ...kinds.map((kind) => metric(KPI.dryRunPlans, 'Sum', { name: 'Kind', value: kind })),
        ...kinds.map((kind) => metric(KPI.duplicateFindings, 'Sum', { name: 'Kind', value: kind })),
        // Finding events no detector recorded (layers/response/refusals.ts): each is also mailed.
        ...Object.values(REFUSAL_REASONS).map((reason) =>
          metric(KPI.rejectedFindings, 'Sum', { name: 'Reason', value: reason }),
        ),
      ],
      width: 12,
    }),
  );
  const budget = responsePolicy(config, { ownRoles: [] }).errorBudget;
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: `Automation budget (${budget.principals} principals per ${budget.minutes} min)`,
      left: [metric(KPI.automationBudgetUsed, 'Maximum'), metric(KPI.automationHeld, 'Sum')],
      leftAnnotations: [{ value: budget.principals, label: 'limit' }],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Incidents',
      left: [
        metric(KPI.incidentsOpened, 'Sum'),
        metric(KPI.incidentUpdates, 'Sum'),
        metric(KPI.escalations, 'Sum'),
      ],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Workflow executions',
      left: [
        stateMachine.metricStarted({ period: Duration.hours(1) }),
        stateMachine.metricSucceeded({ period: Duration.hours(1) }),
        stateMachine.metricFailed({ period: Duration.hours(1) }),
        stateMachine.metricAborted({ period: Duration.hours(1) }),
      ],
      width: 24,
    }),
  );
  return dashboard;
}
