import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  SecurityHubClient,
  type SeverityLabel,
} from '@aws-sdk/client-securityhub';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnvironmentOf, EnvironmentSpec } from '../runtime/env';
import type { Finding } from './finding';
import { type FindingSink, findingEntry, findingMessage } from './publish';
import { DynamoFindingRecords, RecordedFindingSink } from './records';

/**
 * The FindingSink that deploys: mail through the SNS topic, an event on the central
 * bus (source FINDING_EVENT_SOURCE, detail-type per kind, detail = the finding),
 * and, when configured, a Security Hub finding in ASFF. The three are sent together;
 * if any fails, publish throws naming each failure, so the caller's retry sends the
 * finding again (consumers dedupe on its stable id).
 */
export interface SecurityHubTarget {
  client: SecurityHubClient;
  accountId: string;
  region: string;
  partition?: string;
}

export interface AwsFindingSinkOptions {
  sns: SNSClient;
  topicArn: string;
  eventBridge: EventBridgeClient;
  busName: string;
  securityHub?: SecurityHubTarget;
}

export class FindingPublishError extends Error {
  override readonly name = 'FindingPublishError';
  constructor(
    readonly findingId: string,
    readonly failures: string[],
  ) {
    super(`finding ${findingId} not fully published: ${failures.join('; ')}`);
  }
}

export class AwsFindingSink implements FindingSink {
  constructor(private readonly options: AwsFindingSinkOptions) {}

  async publish(finding: Finding): Promise<void> {
    const sends: [string, Promise<void>][] = [
      ['SNS', this.mail(finding)],
      ['EventBridge', this.event(finding)],
    ];
    if (this.options.securityHub)
      sends.push(['Security Hub', this.securityHub(finding, this.options.securityHub)]);
    const results = await Promise.allSettled(sends.map(([, send]) => send));
    const failures = results.flatMap((result, i) =>
      result.status === 'rejected' ? [`${sends[i]![0]}: ${errorText(result.reason)}`] : [],
    );
    if (failures.length > 0) throw new FindingPublishError(finding.id, failures);
  }

  private async mail(finding: Finding): Promise<void> {
    const { subject, body } = findingMessage(finding);
    await this.options.sns.send(
      new PublishCommand({
        TopicArn: this.options.topicArn,
        // SNS subjects: at most 100 printable characters, no line breaks.
        Subject: subject
          .replace(/[\r\n]+/g, ' ')
          .replace(/[^\x20-\x7e]/g, '?')
          .slice(0, 99),
        Message: body,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: finding.kind },
          severity: { DataType: 'String', StringValue: finding.severity },
        },
      }),
    );
  }

  private async event(finding: Finding): Promise<void> {
    const result = await this.options.eventBridge.send(
      new PutEventsCommand({ Entries: [findingEntry(finding, this.options.busName)] }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.find((e) => e.ErrorCode);
      throw new Error(
        `PutEvents refused the entry: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }

  private async securityHub(finding: Finding, target: SecurityHubTarget): Promise<void> {
    const result = await target.client.send(
      new BatchImportFindingsCommand({ Findings: [toAsff(finding, target)] }),
    );
    if ((result.FailedCount ?? 0) > 0) {
      const failed = result.FailedFindings?.[0];
      throw new Error(
        `BatchImportFindings refused it: ${failed?.ErrorCode ?? 'unknown'} ${failed?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}

/** The variables every function that publishes findings is deployed with. */
export const FINDING_SINK_ENVIRONMENT = {
  AWS_REGION: { description: 'set by Lambda' },
  TOPIC_ARN: { pattern: /^arn:aws[a-z-]*:sns:/, description: 'the findings topic' },
  BUS_NAME: { description: 'the central bus' },
  SECURITY_HUB: { pattern: /^(on|off)$/ },
} as const satisfies EnvironmentSpec;

/**
 * What findingSinkFromEnvironment reads: the variables above, and STATE_TABLE,
 * where each finding is recorded before it is published. Every detector reads
 * STATE_TABLE for its own state already (and declares it in its own spec).
 */
export type FindingSinkEnvironment = EnvironmentOf<typeof FINDING_SINK_ENVIRONMENT> & {
  STATE_TABLE: string;
  ACCOUNT_ID?: string;
};

/**
 * The deployed sink, its clients created here (call it once, at module scope):
 * each finding is recorded in the state table (the intake acts only on recorded
 * findings), then published. Security Hub findings name ACCOUNT_ID when given,
 * else the account in the topic's ARN: the findings topic is this stack's (an
 * existing trail may not be).
 */
export function findingSinkFromEnvironment(env: FindingSinkEnvironment): RecordedFindingSink {
  const records = new DynamoFindingRecords(
    DynamoDBDocumentClient.from(new DynamoDBClient({})),
    env.STATE_TABLE,
  );
  return new RecordedFindingSink(records, awsFindingSink(env));
}

function awsFindingSink(env: FindingSinkEnvironment): AwsFindingSink {
  const accountId = env.ACCOUNT_ID ?? env.TOPIC_ARN.split(':')[4] ?? '';
  return new AwsFindingSink({
    sns: new SNSClient({}),
    topicArn: env.TOPIC_ARN,
    eventBridge: new EventBridgeClient({}),
    busName: env.BUS_NAME,
    ...(env.SECURITY_HUB === 'on'
      ? { securityHub: { client: new SecurityHubClient({}), accountId, region: env.AWS_REGION } }
      : {}),
  });
}

const ASFF_TYPES: Record<Finding['kind'], string> = {
  'resource-access': 'TTPs/Credential Access',
  tamper: 'TTPs/Defense Evasion',
  anomaly: 'Unusual Behaviors/User',
  'unlogged-use': 'TTPs/Credential Access',
};

const ASFF_RESOURCE_TYPES: Record<string, string> = {
  's3-bucket': 'AwsS3Bucket',
  's3-object': 'AwsS3Object',
  'iam-user': 'AwsIamUser',
  'iam-access-key': 'AwsIamAccessKey',
  'kms-key': 'AwsKmsKey',
  trail: 'AwsCloudTrailTrail',
  rule: 'AwsEventsEventbus',
  'event-bus': 'AwsEventsEventbus',
};

/**
 * A finding in the AWS Security Finding Format, imported as the account's own
 * ("default") product. Security Hub keeps one finding per Id and updates it on
 * re-import, so a retried publish does not duplicate it.
 */
export function toAsff(
  finding: Finding,
  target: { accountId: string; region: string; partition?: string },
): AwsSecurityFinding {
  const partition = target.partition ?? 'aws';
  const resourceId = finding.resource?.arn ?? finding.resource?.name ?? finding.actor.arn;
  const details = [
    finding.title,
    `Actor: ${finding.actor.arn} (${finding.actor.type})`,
    finding.actor.accessKeyId ? `Access key: ${finding.actor.accessKeyId}` : '',
    finding.sourceIp ? `Source IP: ${finding.sourceIp}` : '',
    `Calls: ${finding.eventNames.join(', ')} (${finding.count} in all)`,
  ].filter(Boolean);
  const ipv4 =
    finding.sourceIp && /^\d{1,3}(\.\d{1,3}){3}$/.test(finding.sourceIp) ? finding.sourceIp : undefined;
  return {
    SchemaVersion: '2018-10-08',
    Id: `${finding.kind}/${finding.id}`,
    ProductArn: `arn:${partition}:securityhub:${target.region}:${target.accountId}:product/${target.accountId}/default`,
    GeneratorId: `platform-security-findings/${finding.kind}`,
    AwsAccountId: finding.account ?? target.accountId,
    Types: [ASFF_TYPES[finding.kind]],
    CreatedAt: finding.firstSeen,
    UpdatedAt: finding.lastSeen,
    FirstObservedAt: finding.firstSeen,
    LastObservedAt: finding.lastSeen,
    Severity: { Label: finding.severity.toUpperCase() as SeverityLabel },
    Title: finding.title.slice(0, 256),
    Description: details.join('\n').slice(0, 1024),
    Resources: [
      {
        Type: (finding.resource && ASFF_RESOURCE_TYPES[finding.resource.kind]) ?? 'Other',
        Id: resourceId,
        Region: finding.region === 'unknown' ? target.region : finding.region,
      },
    ],
    ...(ipv4 ? { Network: { Direction: 'IN', SourceIpV4: ipv4 } } : {}),
    ProductFields: {
      kind: finding.kind,
      findingId: finding.id,
      count: String(finding.count),
      actorArn: finding.actor.arn,
      ...(finding.actor.accessKeyId ? { accessKeyId: finding.actor.accessKeyId } : {}),
      eventNames: finding.eventNames.join(',').slice(0, 1000),
    },
    ...(finding.evidence[0] ? { SourceUrl: finding.evidence[0].url } : {}),
  };
}

function errorText(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  return String(reason);
}
