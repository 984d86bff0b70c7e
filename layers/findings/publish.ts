import { FINDING_DETAIL_TYPES, FINDING_EVENT_SOURCE, type Finding } from './finding';

/**
 * Where a finding goes once raised. A port: the touch, scoring and unlogged-use
 * functions publish through it, tests and the drill capture it in memory.
 */
export interface FindingSink {
  publish(finding: Finding): Promise<void>;
}

/** The EventBridge entry of a finding on the central bus. */
export function findingEntry(finding: Finding, busName: string) {
  return {
    EventBusName: busName,
    Source: FINDING_EVENT_SOURCE,
    DetailType: FINDING_DETAIL_TYPES[finding.kind],
    Detail: JSON.stringify(finding),
    Time: new Date(finding.lastSeen),
  };
}

/** A human-readable message for mail (SNS email shows the subject and the body). */
export function findingMessage(finding: Finding): { subject: string; body: string } {
  const subject = `[${finding.severity.toUpperCase()}] ${finding.title}`.slice(0, 99);
  // Absent fields are undefined and left out; '' lines are the blank separators.
  const lines: (string | undefined)[] = [
    finding.title,
    '',
    `Kind:        ${finding.kind}`,
    `Severity:    ${finding.severity}`,
    `Actor:       ${finding.actor.arn} (${finding.actor.type})`,
    finding.actor.accessKeyId ? `Access key:  ${finding.actor.accessKeyId}` : undefined,
    finding.sourceIp ? `Source IP:   ${finding.sourceIp}` : undefined,
    finding.userAgent ? `User agent:  ${finding.userAgent}` : undefined,
    `Region:      ${finding.region}`,
    `Calls:       ${finding.eventNames.join(', ')}`,
    finding.resource ? `Resource:    ${finding.resource.name}` : undefined,
    finding.score
      ? `Score:       ${finding.score.score.toFixed(3)} (threshold ${finding.score.threshold})`
      : undefined,
    `First seen:  ${finding.firstSeen}`,
    `Last seen:   ${finding.lastSeen}`,
    `Count:       ${finding.count}`,
    `Finding id:  ${finding.id}`,
    '',
    JSON.stringify(finding, null, 2),
  ];
  return { subject, body: lines.filter((line) => line !== undefined).join('\n') };
}

/** Collects findings in memory: tests, replay and the drill. */
export class MemorySink implements FindingSink {
  readonly findings: Finding[] = [];
  async publish(finding: Finding): Promise<void> {
    this.findings.push(finding);
  }
}
