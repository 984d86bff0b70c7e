import { type CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendTaskSuccessCommand, type SFNClient, TaskDoesNotExist, TaskTimedOut } from '@aws-sdk/client-sfn';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  type EvidenceWriter,
  noPrincipal,
  type PrincipalEvidence,
  type PrincipalReader,
  type RecentCall,
} from './evidence';
import type { Escalation, Notifier } from './ledger';
import type { Message } from './messages';
import { REVOKE_POLICY_NAME } from './policy';
import { isAlreadyWritten } from './s3-audit-store';
import type { Approval } from './state';

/**
 * The facts of a principal IAM does not know are those of no principal. The SDK
 * throws NoSuchEntityException (wire code NoSuchEntity); the name also matches a
 * copy of the class from another bundle of the SDK.
 */
async function orNoPrincipal(read: () => Promise<PrincipalEvidence>): Promise<PrincipalEvidence> {
  try {
    return await read();
  } catch (error) {
    if (
      error instanceof NoSuchEntityException ||
      (error as { name?: string })?.name === 'NoSuchEntityException'
    )
      return noPrincipal();
    throw error;
  }
}

/** Attached and inline policies, the same for users and roles; IAM returns inline documents URL-encoded. */
async function policyFacts(
  attached: { AttachedPolicies?: { PolicyArn?: string }[] },
  inline: { PolicyNames?: string[] },
  getInline: (name: string) => Promise<{ PolicyDocument?: string }>,
) {
  const inlinePolicies: Record<string, string> = {};
  for (const name of inline.PolicyNames ?? []) {
    const document = (await getInline(name)).PolicyDocument;
    inlinePolicies[name] = document ? decodeURIComponent(document) : '';
  }
  return {
    attachedPolicyArns: (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''),
    inlinePolicyNames: inline.PolicyNames ?? [],
    existingRevokePolicy: inlinePolicies[REVOKE_POLICY_NAME],
    inlinePolicies,
  };
}

const tagMap = (tags: { Key?: string; Value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** Reads a principal's keys, policies, groups and recent calls through IAM and CloudTrail. */
export class AwsPrincipalReader implements PrincipalReader {
  constructor(
    private readonly iam: IAMClient,
    private readonly cloudtrail: CloudTrailClient,
    /** LookupEvents allows 2 calls a second per account and region: keep the pages few. */
    private readonly maxPages = 2,
  ) {}

  async userFacts(userName: string): Promise<PrincipalEvidence> {
    return orNoPrincipal(async () => {
      const keys = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const accessKeys = await Promise.all(
        (keys.AccessKeyMetadata ?? []).map(async (key) => {
          const used = await this.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
          return {
            accessKeyId: key.AccessKeyId ?? '',
            status: key.Status ?? 'Unknown',
            createDate: key.CreateDate?.toISOString(),
            lastUsed: used.AccessKeyLastUsed?.LastUsedDate?.toISOString(),
          };
        }),
      );
      const policies = await policyFacts(
        await this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName })),
        await this.iam.send(new ListUserPoliciesCommand({ UserName: userName })),
        (name) => this.iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: name })),
      );
      const groups = await this.iam.send(new ListGroupsForUserCommand({ UserName: userName }));
      const tags = await this.iam.send(new ListUserTagsCommand({ UserName: userName }));
      return {
        exists: true,
        accessKeys,
        ...policies,
        groups: (groups.Groups ?? []).map((g) => g.GroupName ?? ''),
        tags: tagMap(tags.Tags),
      };
    });
  }

  async roleFacts(roleName: string): Promise<PrincipalEvidence> {
    return orNoPrincipal(async () => {
      const role = await this.iam.send(new GetRoleCommand({ RoleName: roleName }));
      const policies = await policyFacts(
        await this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName })),
        await this.iam.send(new ListRolePoliciesCommand({ RoleName: roleName })),
        (name) => this.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name })),
      );
      return { exists: true, accessKeys: [], ...policies, groups: [], tags: tagMap(role.Role?.Tags) };
    });
  }

  async recentCalls(lookup: { accessKeyId?: string; userName?: string }, since: Date): Promise<RecentCall[]> {
    const attribute = lookup.accessKeyId
      ? { AttributeKey: 'AccessKeyId' as const, AttributeValue: lookup.accessKeyId }
      : { AttributeKey: 'Username' as const, AttributeValue: lookup.userName ?? '' };
    const calls: RecentCall[] = [];
    let token: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      const result = await this.cloudtrail.send(
        new LookupEventsCommand({
          LookupAttributes: [attribute],
          StartTime: since,
          NextToken: token,
          MaxResults: 50,
        }),
      );
      for (const event of result.Events ?? []) {
        let detail: Record<string, unknown> = {};
        try {
          detail = JSON.parse(event.CloudTrailEvent ?? '{}');
        } catch {
          // A record CloudTrail could not serialize is still listed by name and time.
        }
        calls.push({
          eventTime: event.EventTime?.toISOString() ?? '',
          eventName: event.EventName ?? '',
          eventSource: event.EventSource ?? '',
          region: detail.awsRegion as string | undefined,
          sourceIp: detail.sourceIPAddress as string | undefined,
          errorCode: detail.errorCode as string | undefined,
          eventId: event.EventId,
        });
      }
      token = result.NextToken;
      if (!token) break;
    }
    return calls;
  }
}

/** Evidence objects in the object-locked bucket: written once, never replaced. */
export class S3EvidenceWriter implements EvidenceWriter {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      // A retry of the same execution finds its evidence already there.
      if (isAlreadyWritten(error)) return;
      throw error;
    }
  }
}

export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(message: Message): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: message.subject,
        Message: message.body.slice(0, 250_000),
        ...(message.owner
          ? { MessageAttributes: { owner: { DataType: 'String', StringValue: message.owner } } }
          : {}),
      }),
    );
  }
}

/**
 * Escalation by Step Functions SendTaskSuccess on the waiting approval's token.
 * A token that no longer waits (answered, timed out, its execution ended) is
 * 'gone', not an error: the incident goes on without the escalation.
 */
export class SfnEscalation implements Escalation {
  constructor(private readonly sfn: SFNClient) {}

  async approve(token: string, approval: Approval): Promise<'sent' | 'gone'> {
    try {
      await this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(approval) }));
      return 'sent';
    } catch (error) {
      if (error instanceof TaskTimedOut || error instanceof TaskDoesNotExist) return 'gone';
      throw error;
    }
  }
}
