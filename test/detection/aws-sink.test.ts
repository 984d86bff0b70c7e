import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { AuthorizationErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsFindingSink, FindingPublishError, toAsff } from '../../layers/findings/aws-sink';
import { FINDING_EVENT_SOURCE, type Finding, findingSchema } from '../../layers/findings/finding';

const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
const securityHub = mockClient(SecurityHubClient);

const finding: Finding = findingSchema.parse({
  schemaVersion: 1,
  id: '0123456789abcdef0123456789abcdef',
  kind: 'resource-access',
  severity: 'critical',
  title: 'Reserved access key used (sts:GetCallerIdentity) by arn:aws:iam::111122223333:user/payments-etl',
  actor: {
    arn: 'arn:aws:iam::111122223333:user/payments-etl',
    type: 'IAMUser',
    accessKeyId: 'AKIAQ3EGWSXRLIVE0001',
  },
  sourceIp: '198.51.100.7',
  region: 'eu-central-1',
  account: '111122223333',
  eventNames: ['GetCallerIdentity'],
  eventIds: ['7f3c9a4e-0000-4000-8000-000000000001'],
  resource: {
    kind: 'iam-access-key',
    name: 'payments-etl/access-key',
    arn: 'arn:aws:iam::111122223333:user/payments-etl',
  },
  firstSeen: '2024-08-01T15:00:00.000Z',
  lastSeen: '2024-08-01T15:05:00.000Z',
  count: 2,
  evidence: [
    { label: 'CloudTrail event', url: 'https://eu-central-1.console.aws.amazon.com/cloudtrailv2/home' },
  ],
});

const sink = (withSecurityHub = false) =>
  new AwsFindingSink({
    sns: new SNSClient({ region: 'eu-west-1' }),
    topicArn: 'arn:aws:sns:eu-west-1:111122223333:topic',
    eventBridge: new EventBridgeClient({ region: 'eu-west-1' }),
    busName: 'platform-shared-services-events',
    ...(withSecurityHub
      ? {
          securityHub: {
            client: new SecurityHubClient({ region: 'eu-west-1' }),
            accountId: '111122223333',
            region: 'eu-west-1',
          },
        }
      : {}),
  });

beforeEach(() => {
  sns.reset();
  eventBridge.reset();
  securityHub.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  securityHub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1 });
});

describe('AwsFindingSink', () => {
  it('mails through SNS and puts the finding on the central bus', async () => {
    await sink().publish(finding);
    const mail = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(mail.TopicArn).toBe('arn:aws:sns:eu-west-1:111122223333:topic');
    expect(mail.Subject!.length).toBeLessThan(100);
    expect(mail.Subject).toMatch(/^\[CRITICAL\] /);
    expect(mail.Message).toContain('AKIAQ3EGWSXRLIVE0001');
    expect(mail.MessageAttributes?.severity?.StringValue).toBe('critical');
    const [entry] = eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entry).toMatchObject({
      EventBusName: 'platform-shared-services-events',
      Source: FINDING_EVENT_SOURCE,
      DetailType: 'Resource Access',
    });
    expect(JSON.parse(entry!.Detail!)).toEqual(finding);
    expect(securityHub.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
  });

  it('imports an ASFF finding into Security Hub when configured', async () => {
    await sink(true).publish(finding);
    const [asff] = securityHub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings!;
    expect(asff).toMatchObject({
      SchemaVersion: '2018-10-08',
      Id: `resource-access/${finding.id}`,
      ProductArn: 'arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default',
      AwsAccountId: '111122223333',
      Types: ['TTPs/Credential Access'],
      Severity: { Label: 'CRITICAL' },
      Resources: [{ Type: 'AwsIamAccessKey', Id: finding.resource!.arn, Region: 'eu-central-1' }],
      Network: { Direction: 'IN', SourceIpV4: '198.51.100.7' },
    });
  });

  it('names every part that failed, after trying all of them', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    securityHub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      FailedFindings: [{ Id: 'x', ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }],
    });
    const error = await sink(true)
      .publish(finding)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FindingPublishError);
    expect((error as FindingPublishError).failures).toEqual([
      'EventBridge: Error: PutEvents refused the entry: ThrottlingException Rate exceeded',
      'Security Hub: Error: BatchImportFindings refused it: InvalidInput bad',
    ]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('an SNS failure fails the publish', async () => {
    sns
      .on(PublishCommand)
      .rejects(new AuthorizationErrorException({ message: 'not allowed to publish', $metadata: {} }));
    await expect(sink().publish(finding)).rejects.toThrow(/SNS: AuthorizationErrorException: not allowed/);
  });

  it('ASFF types and resources follow the kind; unknown regions fall back to the home region', () => {
    const tamper = toAsff(
      {
        ...finding,
        kind: 'tamper',
        region: 'unknown',
        sourceIp: 'cloudformation.amazonaws.com',
        resource: { kind: 'trail', name: 't' },
      },
      { accountId: '111122223333', region: 'eu-west-1' },
    );
    expect(tamper.Types).toEqual(['TTPs/Defense Evasion']);
    expect(tamper.Resources).toEqual([{ Type: 'AwsCloudTrailTrail', Id: 't', Region: 'eu-west-1' }]);
    expect(tamper.Network).toBeUndefined();
  });
});
