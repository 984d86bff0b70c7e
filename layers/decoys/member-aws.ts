import {
  type CloudFormationClient,
  ListStackInstancesCommand,
  type StackInstanceSummary,
} from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { awsCall } from './aws-errors';
import { awsPorts } from './aws-ports';
import type { AccountListingPort, MemberConnector } from './members';

/**
 * The AWS side of organization-mode planting (members.ts): the member role's
 * session, and the accounts the member role was deployed to.
 */

/** `arn:<partition>:iam::*:role/<path>/<name>` (names.ts memberRoleArn) for one account. */
export function roleArnIn(rolePattern: string, account: string): string {
  if (!/^arn:aws[a-z-]*:iam::\*:role\/.+$/.test(rolePattern))
    throw new Error(`the member role pattern "${rolePattern}" is not arn:PARTITION:iam::*:role/PATH/NAME`);
  return rolePattern.replace(':iam::*:', `:iam::${account}:`);
}

/**
 * sts:AssumeRole into the account's member role, then the planter's ports as that
 * session. A denied AssumeRole (the role not there yet, or not yet visible to STS)
 * surfaces as a denied AwsCallError, which members.ts retries.
 */
export function stsMemberConnector(options: {
  sts: STSClient;
  rolePattern: string;
  region: string;
  /** Shows in the member's CloudTrail as the session name: neutral. */
  sessionName: string;
}): MemberConnector {
  return async (account) => {
    const roleArn = roleArnIn(options.rolePattern, account);
    const answer = await awsCall('sts:AssumeRole', roleArn, () =>
      options.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: options.sessionName,
          DurationSeconds: 3600,
        }),
      ),
    );
    const session = answer.Credentials;
    if (!session?.AccessKeyId || !session.SecretAccessKey)
      throw new Error(`sts:AssumeRole on ${roleArn} returned no credentials`);
    return awsPorts(options.region, {
      accessKeyId: session.AccessKeyId,
      secretAccessKey: session.SecretAccessKey,
      ...(session.SessionToken ? { sessionToken: session.SessionToken } : {}),
      ...(session.Expiration ? { expiration: session.Expiration } : {}),
    });
  };
}

/**
 * The accounts under each target OU, read from the access StackSet's instances
 * (cloudformation:ListStackInstances as the delegated administrator): exactly the
 * accounts of the target OUs that got the member role, new ones included
 * (automatic deployment). Chosen over organizations:ListAccountsForParent: it
 * needs no further SDK client, names only accounts where the role exists, and
 * covers accounts in nested OUs, which ListAccountsForParent (direct children
 * only) would miss.
 */
export class StackSetAccountListing implements AccountListingPort {
  private instances: Promise<StackInstanceSummary[]> | undefined;

  constructor(
    private readonly cloudformation: CloudFormationClient,
    private readonly stackSetName: string,
  ) {}

  async accountsIn(parentId: string): Promise<string[]> {
    this.instances ??= this.listAll();
    const accounts = (await this.instances)
      .filter((i) => i.OrganizationalUnitId === parentId && i.Account && i.Status !== 'INOPERABLE')
      .map((i) => i.Account as string);
    return [...new Set(accounts)].sort();
  }

  private async listAll(): Promise<StackInstanceSummary[]> {
    const all: StackInstanceSummary[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall('cloudformation:ListStackInstances', this.stackSetName, () =>
        this.cloudformation.send(
          new ListStackInstancesCommand({
            StackSetName: this.stackSetName,
            CallAs: 'DELEGATED_ADMIN',
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      all.push(...(page.Summaries ?? []));
      token = page.NextToken;
    } while (token);
    return all;
  }
}
