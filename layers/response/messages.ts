import type { StepPlan } from './plan';
import type { Decision } from './policy';

/**
 * The operator command the messages quote, in one place because it is the one
 * product name left in the deployed code (ReadOnlyAccess downloads the package).
 * So they quote the CLI's neutral second `bin` name (package.json), not `honeytrail`.
 */
export const OPERATOR_CLI = 'npx platform-ops';

/** Notifications about a response (SNS: mail shows the subject and the body). Pure text. */
export interface Message {
  subject: string;
  body: string;
  /**
   * Whom the message is for besides the security team: the rotated user's owner
   * (its owner/email tag). Sent as the SNS message attribute `owner`, so the owner
   * can be subscribed with a filter policy `{"owner": ["them@example.com"]}`.
   */
  owner?: string;
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
function subject(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

function actionLines(decision: Decision, plan?: StepPlan): string[] {
  const lines = decision.actions.map((a) => `  - ${a.description}\n      undo: ${a.undo}`);
  for (const skip of plan?.skipped ?? []) lines.push(`  - skipped ${skip.step}: ${skip.reason}`);
  return lines.length ? lines : ['  (none)'];
}

function header(decision: Decision, executionArn: string): string[] {
  return [
    ...(decision.incidentId
      ? [
          `Incident:   ${decision.incidentId} (${decision.severity}: the highest of the principal's findings in it)`,
        ]
      : []),
    `Finding:    ${decision.findingId} (${decision.kind})`,
    `Principal:  ${decision.principal}`,
    `Decision:   ${decision.outcome} - ${decision.reason}`,
    decision.rule
      ? `Rule:       #${decision.rule.index} ${decision.rule.kind} >= ${decision.rule.minSeverity} -> ${decision.rule.action}`
      : 'Rule:       none',
    `Execution:  ${executionArn}`,
  ];
}

/** Who the response is about, in a subject line. */
const whom = (decision: Decision) => decision.target?.name ?? decision.principal;

const auditHint = (decision: Decision) => `Audit:      ${OPERATOR_CLI} audit --finding ${decision.findingId}`;

export function approvalMessage(args: {
  decision: Decision;
  plan: StepPlan;
  executionArn: string;
  token: string;
  evidence: string;
  timeoutMinutes: number;
}): Message {
  const { decision, plan, token } = args;
  return {
    subject: subject(`Approval needed: contain ${whom(decision)}`),
    body: [
      'A response is waiting for your approval.',
      '',
      ...header(decision, args.executionArn),
      `Evidence:   ${args.evidence}`,
      '',
      'Planned actions:',
      ...actionLines(decision, plan),
      '',
      `Approve:    ${OPERATOR_CLI} approve '${token}' [--reason "..."]`,
      `Deny:       ${OPERATOR_CLI} deny '${token}' [--false-positive] [--reason "..."]`,
      '',
      `Without an answer within ${args.timeoutMinutes} minutes nothing is done.`,
      'The same with the AWS CLI:',
      `  aws stepfunctions send-task-success --task-token '${token}' --task-output '{"approved":true,"approver":"<you>"}'`,
      `  aws stepfunctions send-task-failure --task-token '${token}' --error ApprovalDenied`,
      auditHint(decision),
    ].join('\n'),
  };
}

export function dryRunMessage(decision: Decision, plan: StepPlan | undefined, executionArn: string): Message {
  return {
    subject: subject(`Dry run: would contain ${whom(decision)}`),
    body: [
      'Dry run: this response was planned and recorded, and nothing was changed.',
      'Set "dryRun": false in the configuration to let it act.',
      '',
      ...header(decision, executionArn),
      '',
      'Would do:',
      ...actionLines(decision, plan),
      '',
      auditHint(decision),
    ].join('\n'),
  };
}

export function noActionMessage(decision: Decision, executionArn: string, why: string): Message {
  return {
    subject: subject(`No action: ${why}`),
    body: [
      `No action was taken: ${why}.`,
      '',
      ...header(decision, executionArn),
      '',
      auditHint(decision),
    ].join('\n'),
  };
}

export function containedMessage(args: {
  decision: Decision;
  plan?: StepPlan;
  executionArn: string;
  done: string[];
  rotation?: { newAccessKeyId: string; storedIn: string };
  problems: string[];
}): Message {
  const { decision, plan, rotation } = args;
  const lines = [
    args.problems.length ? 'The principal was contained, with problems:' : 'The principal was contained.',
    '',
    ...header(decision, args.executionArn),
    '',
    'Done:',
    ...(args.done.length ? args.done.map((d) => `  - ${d}`) : ['  (nothing)']),
    ...args.problems.map((p) => `  ! ${p}`),
    ...(plan?.skipped ?? []).map((s) => `  - skipped ${s.step}: ${s.reason}`),
  ];
  if (rotation) {
    lines.push(
      '',
      `To the owner of ${plan?.userName ?? 'the user'}${plan?.owner ? ` (${plan.owner})` : ''}:`,
      `  a new access key ${rotation.newAccessKeyId} is stored in ${rotation.storedIn}.`,
      `  The old key ${plan?.accessKeyId ?? ''} is inactive; it is deleted after a grace period of ${Math.round(decision.graceSeconds / 60)} minutes (a revert reactivates it until then).`,
    );
  }
  lines.push('', `Undo:       ${OPERATOR_CLI} revert ${args.executionArn}`, auditHint(decision));
  return {
    subject: subject(`${args.problems.length ? 'Contained with problems' : 'Contained'}: ${whom(decision)}`),
    body: lines.join('\n'),
    ...(rotation && plan?.owner ? { owner: plan.owner } : {}),
  };
}

export function refreshedMessage(decision: Decision, executionArn: string): Message {
  return {
    subject: subject('Credentials replaced after use of a retired key'),
    body: [
      'A retired key was used. It has been replaced and the use recorded.',
      '',
      ...header(decision, executionArn),
      '',
      auditHint(decision),
    ].join('\n'),
  };
}

export function rolledBackMessage(args: {
  decision: Decision;
  executionArn: string;
  failedStep: string;
  error: string;
  undone: string[];
  reason: 'rollback' | 'health-check' | 'revert';
}): Message {
  const what =
    args.reason === 'rollback'
      ? `Step ${args.failedStep} failed (${args.error}); everything done before it was undone.`
      : args.reason === 'health-check'
        ? 'A health check alarm went off after acting; the response was reverted.'
        : 'The response was reverted on request.';
  return {
    subject: subject(`${args.reason === 'rollback' ? 'Rolled back' : 'Reverted'}: ${whom(args.decision)}`),
    body: [
      what,
      'The principal works as it did before the response.',
      '',
      ...header(args.decision, args.executionArn),
      '',
      'Undone:',
      ...(args.undone.length ? args.undone.map((u) => `  - ${u}`) : ['  (nothing to undo)']),
      '',
      auditHint(args.decision),
    ].join('\n'),
  };
}

export function manualActionMessage(args: {
  decision: Decision | undefined;
  executionArn: string;
  step: string;
  error: string;
  instructions: string[];
}): Message {
  return {
    subject: subject(`Action needed: response step ${args.step} failed`),
    body: [
      `The response could not finish step ${args.step}: ${args.error}.`,
      'Check the principal by hand:',
      ...args.instructions.map((i) => `  - ${i}`),
      '',
      ...(args.decision ? header(args.decision, args.executionArn) : [`Execution:  ${args.executionArn}`]),
      ...(args.decision ? ['', auditHint(args.decision)] : []),
    ].join('\n'),
  };
}
