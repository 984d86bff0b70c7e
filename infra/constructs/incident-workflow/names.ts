import { FINDING_EVENT_SOURCE } from '../../../layers/findings/finding';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../../layers/scoring/labels';

/**
 * The workflow's deployed names and the event patterns that start it. Deployed
 * words are neutral ("access review"): they are readable with ReadOnlyAccess.
 */

/** Logical-id prefixes the command line finds the deployed resources by (under the construct's id). */
export const WORKFLOW_RESOURCE_IDS = {
  records: 'Records',
  stateMachine: 'StateMachine',
} as const;

export const SERVICE_NAME = 'access-review';
export const METRICS_NAMESPACE = 'PlatformServices';

/** Finding events: from the findings source and naming an actor (label events do not). */
export const FINDINGS_PATTERN = {
  source: [FINDING_EVENT_SOURCE],
  detail: { actor: { arn: [{ exists: true }] } },
};
/** A person's verdict on a finding (`honeytrail label`): counted for the false-positive KPI. */
export const LABELS_PATTERN = { source: [FINDING_EVENT_SOURCE], detailType: [FINDING_LABELLED_DETAIL_TYPE] };
