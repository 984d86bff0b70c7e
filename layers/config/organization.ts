import * as z from 'zod';
import { isAwsRegion } from './regions';
import { arnProblem, bucketNameProblem, type Problem, regionProblem, tellProblem } from './validators';

/**
 * The `organization` block: the control plane runs in a security account (a
 * delegated administrator for CloudFormation StackSets) and member accounts in
 * the target OUs get, through a service-managed StackSet, only the role the
 * security account assumes and the event forwarding rules. Absent: single account.
 *
 * Each value a deployment would reject is checked here, so it fails at `cdk synth`.
 */

/** A string that must also pass `checks`, each returning an "expected ..." phrase or undefined. */
function checked<T extends z.ZodString>(schema: T, ...checks: ((value: string) => Problem)[]): T {
  return schema.superRefine((value, ctx) => {
    for (const check of checks) {
      const problem = check(value);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return;
      }
    }
  });
}

const ACCOUNT_ID = /^\d{12}$/;
/** Organizations' own patterns (DescribeOrganization, ListOrganizationalUnitsForParent). */
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
/** IAM role names: 1-64 of letters, digits and +=,.@_- (IAM User Guide, "IAM object quotas"). */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const PARTITION = 'aws(-[a-z]+)*';

export function accountIdProblem(text: string): Problem {
  return ACCOUNT_ID.test(text) ? undefined : 'expected a 12-digit AWS account ID such as 111122223333';
}

export function organizationIdProblem(text: string): Problem {
  return ORGANIZATION_ID.test(text)
    ? undefined
    : 'expected an organization ID: "o-" and 10 to 32 lower-case letters or digits, such as o-a1b2c3d4e5';
}

/** A deployment target: an organizational unit (`ou-...`) or the organization's root (`r-...`). */
export function deploymentTargetIdProblem(text: string): Problem {
  return OU_ID.test(text) || ROOT_ID.test(text)
    ? undefined
    : 'expected an organizational unit ID such as ou-ab12-cdef3456, or the root ID such as r-ab12';
}

export function ouIdProblem(text: string): Problem {
  return OU_ID.test(text) ? undefined : 'expected an organizational unit ID such as ou-ab12-cdef3456';
}

export function roleNameProblem(text: string): Problem {
  if (!ROLE_NAME.test(text)) return 'expected an IAM role name: 1-64 letters, digits and +=,.@_-';
  // Names AWS reserves for its own roles; a role there would collide or be refused.
  if (
    /^(AWSServiceRoleFor|AWSReservedSSO_|OrganizationAccountAccessRole$|AWSControlTower|stacksets-exec-)/.test(
      text,
    )
  )
    return 'expected an IAM role name of your own, not one AWS Organizations, Control Tower, SSO or StackSets use';
  return undefined;
}

export function kmsKeyArnProblem(text: string): Problem {
  return new RegExp(`^arn:${PARTITION}:kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]{1,128}$`).test(text)
    ? undefined
    : 'expected a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
}

export function topicArnProblem(text: string): Problem {
  return new RegExp(`^arn:${PARTITION}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$`).test(text)
    ? undefined
    : 'expected an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:log-archive-objects';
}

/** The region part of an ARN, checked to be a real one (validated shape assumed). */
export function arnRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

const accountIdSchema = checked(z.string(), accountIdProblem);

/** Default name of the role each member account gets: neutral, like any platform team's. */
export const DEFAULT_MEMBER_ROLE_NAME = 'platform-operations-access';

export const organizationSchema = z
  .object({
    /** The delegated-administrator account that runs the control plane (and deploys the StackSets). */
    securityAccount: accountIdSchema,
    /** Optional: when absent the deployment looks it up (organizations:DescribeOrganization). */
    organizationId: checked(z.string(), organizationIdProblem).optional(),
    /** Member accounts that get decoys: every account in these OUs (new ones too) and these accounts. */
    targets: z
      .object({
        organizationalUnitIds: z.array(checked(z.string(), deploymentTargetIdProblem)).default([]),
        /** Accounts inside the OUs above (the StackSet deploys only to accounts of its target OUs). */
        accounts: z.array(accountIdSchema).default([]),
      })
      .strict(),
    /** `all`: every region enabled by default in the home region's partition, plus monitoredRegions. */
    regions: z.union([z.literal('all'), z.array(checked(z.string(), regionProblem)).min(1)]).default('all'),
    /** The role member accounts get and the control plane assumes. Deployed in every member: neutral. */
    memberRoleName: checked(z.string(), roleNameProblem, tellProblem).default(DEFAULT_MEMBER_ROLE_NAME),
    /** Gradual enablement: automatic response only here; everywhere else findings are notified. */
    automation: z
      .object({
        accounts: z.array(accountIdSchema).default([]),
        organizationalUnitIds: z.array(checked(z.string(), deploymentTargetIdProblem)).default([]),
      })
      .strict()
      .default({ accounts: [], organizationalUnitIds: [] }),
    /** Per member account: principals never acted on automatically (ARN patterns, * and ? allowed). */
    protectedPrincipals: z
      .record(z.string(), z.array(checked(z.string(), (v) => arnProblem(v, { wildcards: true }))))
      .default({}),
    /** The organization trail's log archive, read for scoring instead of a trail of the stack's own. */
    logArchive: z
      .object({
        bucket: checked(z.string(), bucketNameProblem),
        kmsKeyArn: checked(z.string(), kmsKeyArnProblem).optional(),
        /** The log archive's object-created topic; absent: see the README for the notification needed. */
        notificationTopicArn: checked(z.string(), topicArnProblem).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((organization, ctx) => {
    const { targets } = organization;
    if (targets.organizationalUnitIds.length === 0 && targets.accounts.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', 'organizationalUnitIds'],
        message:
          'expected at least one organizational unit ID (or, with targets.accounts, the accounts to deploy to): a StackSet needs deployment targets',
      });
    }
    if (targets.accounts.length > 0 && targets.organizationalUnitIds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', 'organizationalUnitIds'],
        message:
          'expected the organizational units the listed accounts belong to: a service-managed StackSet deploys to accounts only within its target OUs',
      });
    }
    targets.accounts.forEach((account, index) => {
      if (account === organization.securityAccount) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', 'accounts', index],
          message: `expected member accounts only: ${account} is the security account, which holds the control plane and no decoys`,
        });
      }
    });
    for (const [account, patterns] of Object.entries(organization.protectedPrincipals)) {
      const accountProblem = accountIdProblem(account);
      if (accountProblem) {
        ctx.addIssue({
          code: 'custom',
          path: ['protectedPrincipals', account],
          message: `${accountProblem} as the key (got ${JSON.stringify(account)})`,
        });
        continue;
      }
      patterns.forEach((pattern, index) => {
        const arnAccount = pattern.split(':')[4] ?? '';
        if (arnAccount !== '' && !/[*?]/.test(arnAccount) && arnAccount !== account) {
          ctx.addIssue({
            code: 'custom',
            path: ['protectedPrincipals', account, index],
            message: `expected a principal of account ${account} (the key it is listed under), not of ${arnAccount}`,
          });
        }
      });
    }
    for (const key of ['kmsKeyArn', 'notificationTopicArn'] as const) {
      const arn = organization.logArchive?.[key];
      if (arn && !isAwsRegion(arnRegion(arn))) {
        ctx.addIssue({
          code: 'custom',
          path: ['logArchive', key],
          message: `expected an ARN in a real region (${arnRegion(arn)} is not one)`,
        });
      }
    }
  });

export type OrganizationConfig = z.infer<typeof organizationSchema>;
