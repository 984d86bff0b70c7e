import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_READ_ACTIONS, STATE_WRITE_ACTIONS } from '../../infra/constructs/state-store';
import type { HoneytrailConfigInput } from '../../layers/config/schema';
import { bucketPolicyDocument, userPolicyDocument, userPolicyName } from '../../layers/decoys/content';
import { IntrinsicResolver, type StackTemplate } from '../../layers/drill/template';
import { quarantinePolicyArn } from '../../layers/response/plan';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { listOf, type PolicyDocument, type PolicyStatement, statementsOf } from './stack-templates';

/**
 * Who can do what, decided by an IAM policy simulator (@cloud-copilot/iam-simulate,
 * offline: identity policies + resource policies, explicit Deny wins) over the
 * policies the app synthesizes, with CloudFormation's intrinsics resolved the way
 * they deploy (account 111122223333, us-east-1, partition aws; generated role
 * names `<stack>-<logical id>`, under the roles' path).
 *
 * The simulator does not fill in request context keys from the principal; AWS
 * does. Each request carries aws:PrincipalArn (a role's ARN with its path) and
 * aws:PrincipalAccount as AWS would set them.
 */

const ACCOUNT = TEST_ACCOUNT;
const iamArn = (resource: string) => `arn:aws:iam::${ACCOUNT}:${resource}`;

const CONFIG: HoneytrailConfigInput = {
  monitoredRegions: ['eu-west-1'],
  response: {
    protectedPrincipals: [
      'arn:aws:iam::111122223333:role/BreakGlass',
      'arn:aws:iam::111122223333:role/admins/Deployer',
      'arn:aws:iam::111122223333:user/ops-admin',
      'arn:aws:sts::111122223333:assumed-role/Ops/*',
    ],
  },
};

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

interface Request {
  principal: string;
  action: string;
  resource: string;
  identityPolicies: PolicyDocument[];
  resourcePolicy?: PolicyDocument;
  context?: Record<string, string | string[]>;
}

async function decide(request: Request): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: {
        'aws:PrincipalArn': request.principal,
        'aws:PrincipalAccount': ACCOUNT,
        ...request.context,
      },
    },
    identityPolicies: request.identityPolicies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error')
    throw new Error(
      `${request.action} on ${request.resource}: ${JSON.stringify(result.errors)} (a request the simulator cannot evaluate)`,
    );
  return result.overallResult as Decision;
}

/** Tally of one group of simulations, for the summary line. */
class Tally {
  private readonly counts = new Map<string, number>();
  readonly unexpected: string[] = [];
  total = 0;
  constructor(readonly group: string) {}

  record(decision: Decision, expected: 'Allowed' | 'Denied', what: string): void {
    this.total += 1;
    this.counts.set(decision, (this.counts.get(decision) ?? 0) + 1);
    const ok = expected === 'Allowed' ? decision === 'Allowed' : decision !== 'Allowed';
    if (!ok) this.unexpected.push(`${what}: ${decision}, expected ${expected}`);
  }

  summary(shape: string): string {
    const counts = [...this.counts].map(([decision, n]) => `${n} ${decision}`).join(', ');
    return `[iam-simulate] ${this.group}: ${shape} = ${this.total} requests; ${counts}; ${this.unexpected.length} unexpected`;
  }
}

// ---- the synthesized app, resolved ----

interface Role {
  stack: string;
  logicalId: string;
  arn: string;
  policies: PolicyDocument[];
}

let stacks: StackTemplate[];
let roles: Role[];
/**
 * Decoy names are chosen at plant time (naming.ts), so the template has none:
 * sample names stand in, shaped as the planter's.
 */
const decoyUserName = 'payments-backup-agent';
const decoyBucket = 'payments-prod-db-backups';
const decoyParameterArn = `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/payments/db-password`;
const decoyParameterArns = [
  decoyParameterArn,
  `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/payments/database-url`,
  `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/payments/stripe-secret-key`,
];
const decoyKeyAlias = 'alias/payments-prod';
let decoyKeyArn: string;
let decoyKeyPolicy: PolicyDocument;
let tableArn: string;
let tablePolicy: PolicyDocument;

/** Every role of every stack with its identity policies (inline and AWS::IAM::Policy), resolved. */
function rolesOf(stack: StackTemplate): Role[] {
  const resolver = new IntrinsicResolver(stack);
  const resources = stack.template.Resources ?? {};
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([logicalId, r]) => {
      const inline = ((r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
        (p) => resolver.resolve(p.PolicyDocument, logicalId) as PolicyDocument,
      );
      const attached = Object.entries(resources)
        .filter(
          ([, p]) =>
            p.Type === 'AWS::IAM::Policy' &&
            JSON.stringify(p.Properties?.Roles ?? []).includes(`{"Ref":"${logicalId}"}`),
        )
        .map(([id, p]) => resolver.resolve(p.Properties?.PolicyDocument, id) as PolicyDocument);
      return {
        stack: stack.stackName,
        logicalId,
        arn: String(resolver.getAtt(logicalId, 'Arn')),
        policies: [...inline, ...attached],
      };
    });
}

beforeAll(() => {
  const built = synthApp(CONFIG);
  stacks = built.app.synth().stacks.map((s) => ({
    stackName: s.stackName,
    id: s.id,
    account: ACCOUNT,
    region: s.environment.region,
    template: s.template,
  }));
  roles = stacks.flatMap(rolesOf);
  const main = stacks.find((s) => s.stackName === built.main.stackName) as StackTemplate;
  const resolver = new IntrinsicResolver(main);
  // The decoys' own key: the parameters' key, a stack resource (its key policy decides with IAM).
  const keyId = built.main.getLogicalId(built.main.decoys.key.node.defaultChild as CfnElement);
  decoyKeyArn = String(resolver.getAtt(keyId, 'Arn'));
  decoyKeyPolicy = resolver.resolve(
    main.template.Resources?.[keyId]?.Properties?.KeyPolicy,
    keyId,
  ) as PolicyDocument;
  const table = Object.entries(main.template.Resources ?? {}).find(
    ([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable',
  );
  if (!table) throw new Error('no state table in the template');
  const [tableId, { Properties }] = table;
  const replicas = Properties?.Replicas as { ResourcePolicy: { PolicyDocument: unknown } }[];
  tableArn = String(resolver.getAtt(tableId, 'Arn'));
  tablePolicy = resolver.resolve(replicas[0]?.ResourcePolicy.PolicyDocument, tableId) as PolicyDocument;
}, 120_000);

// ---- protected principals ----

const STACK_PATH = '/platform-shared-services/';

/** IAM calls that change a principal's permissions or credentials (the response's and more). */
const IAM_WRITES = [
  'iam:AttachUserPolicy',
  'iam:DetachUserPolicy',
  'iam:PutUserPolicy',
  'iam:DeleteUserPolicy',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRole',
];
const onUsers = (action: string) => /User|AccessKey|LoginProfile/.test(action);

/** The context an Attach/Detach needs so the quarantine-only Deny is not what decides. */
function contextFor(action: string): Record<string, string> | undefined {
  // Every target carries the ownership tag the planter's ABAC conditions on (decoy-fleet.ts),
  // as IaC-managed principals do: the tag never opens a protected principal.
  const tagged = {
    'aws:ResourceTag/managed-by': 'secret-rotation',
    'aws:RequestTag/managed-by': 'secret-rotation',
  };
  return /^iam:(Attach|Detach)(User|Role)Policy$/.test(action)
    ? { 'iam:PolicyARN': quarantinePolicyArn('aws'), ...tagged }
    : tagged;
}

/** Roles that hold an IAM write on any user or role of the account (the principal is known at run time). */
function actingRoles(): { role: Role; actions: string[] }[] {
  return roles
    .map((role) => {
      const actions = role.policies
        .flatMap(statementsOf)
        .filter(
          (s: PolicyStatement) =>
            s.Effect === 'Allow' && listOf(s.Resource).some((r) => /:iam::\d{12}:(user|role)\/\*$/.test(r)),
        )
        .flatMap((s) => listOf(s.Action))
        .filter((a) => a.startsWith('iam:') && !/^iam:(Get|List)/.test(a));
      return { role, actions: [...new Set(actions)].sort() };
    })
    .filter((entry) => entry.actions.length > 0);
}

function protectedTargets(): { group: string; arn: string }[] {
  const bootstrap = [
    'deploy-role',
    'cfn-exec-role',
    'file-publishing-role',
    'image-publishing-role',
    'lookup-role',
  ].map((role) => ({ group: 'bootstrap', arn: iamArn(`role/cdk-hnb659fds-${role}-${ACCOUNT}-us-east-1`) }));
  const own = roles.map((role) => ({ group: 'stack role', arn: role.arn }));
  const anyName = [
    'x',
    // CloudFormation truncates generated names to 64 characters, cutting into the stack name.
    'rm-shared-services-WorkflowStateMachineRoleAB27BF0D-1Q2W3E4R5T6Y',
    'WorkflowKeyRotationRoleD60220FB-ABCDEF012345',
  ].map((name) => ({ group: 'stack path, any name', arn: iamArn(`role${STACK_PATH}${name}`) }));
  const configured = [
    iamArn('role/BreakGlass'),
    iamArn('role/admins/Deployer'),
    iamArn('user/ops-admin'),
    iamArn('role/Ops'),
    iamArn('role/team/Ops'),
  ].map((arn) => ({ group: 'protectedPrincipals', arn }));
  return [...bootstrap, ...own, ...anyName, ...configured];
}

/** Ordinary principals the response must still be able to act on (else the denies prove nothing). */
const ORDINARY = [
  iamArn('user/jenkins'),
  iamArn('user/ci/deployer-bot'),
  iamArn('role/app-server'),
  // Named like the stack's roles but not under its path: not the stack's, not protected.
  iamArn('role/platform-shared-services-lookalike'),
];

describe('the response cannot change a protected principal', () => {
  it('the roles that act on run-time principals are the state machine and key rotation roles', () => {
    const ids = actingRoles().map((entry) => entry.role.logicalId);
    expect(ids.some((id) => id.startsWith('WorkflowStateMachineRole'))).toBe(true);
    expect(ids.some((id) => id.startsWith('WorkflowKeyRotationRole'))).toBe(true);
    // Every role of every stack carries the stack's path.
    for (const role of roles) expect(role.arn).toContain(`:role${STACK_PATH}`);
  });

  it('every IAM write they hold is denied on bootstrap, stack and configured principals, allowed on others', async () => {
    const denied = new Tally('protected principals');
    const allowed = new Tally('ordinary principals');
    const targets = protectedTargets();
    let actions = 0;
    for (const { role, actions: held } of actingRoles()) {
      actions += held.length;
      for (const action of held) {
        const request = (resource: string) => ({
          principal: role.arn,
          action,
          resource,
          identityPolicies: role.policies,
          context: contextFor(action),
        });
        const kind = onUsers(action) ? ':user/' : ':role/';
        for (const target of targets.filter((t) => t.arn.includes(kind)))
          denied.record(
            await decide(request(target.arn)),
            'Denied',
            `${role.logicalId} ${action} ${target.group} ${target.arn}`,
          );
        for (const target of ORDINARY.filter((arn) => arn.includes(kind)))
          allowed.record(await decide(request(target)), 'Allowed', `${role.logicalId} ${action} ${target}`);
      }
    }
    console.log(
      denied.summary(
        `${actingRoles().length} roles, ${actions} held IAM writes x ${targets.length} protected principals (by kind)`,
      ),
    );
    console.log(allowed.summary(`same writes x ${ORDINARY.length} ordinary principals (by kind)`));
    expect(denied.unexpected).toEqual([]);
    expect(allowed.unexpected).toEqual([]);
    expect(denied.total).toBeGreaterThan(100);
    expect(allowed.total).toBeGreaterThan(10);
  });

  it('the planter may re-set policies and tags on what carries its tag, and nothing untagged', async () => {
    // The planter role: the one that creates users (decoy-fleet.ts).
    const planter = roles.find((role) =>
      role.policies
        .flatMap(statementsOf)
        .some((st: PolicyStatement) => st.Effect === 'Allow' && listOf(st.Action).includes('iam:CreateUser')),
    ) as Role;
    expect(planter).toBeDefined();
    const tally = new Tally('the planter role');
    const user = iamArn('user/ledger-etl');
    const parameter = `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/ledger/db-password`;
    const ask = (action: string, resource: string, context: Record<string, string>) =>
      decide({ principal: planter.arn, action, resource, identityPolicies: planter.policies, context });
    const owned = {
      'aws:ResourceTag/managed-by': 'secret-rotation',
      'aws:RequestTag/managed-by': 'secret-rotation',
    };
    // The policy swap (put the read policy, delete the earlier force-MFA one) and the re-tag.
    for (const action of ['iam:PutUserPolicy', 'iam:ListUserPolicies', 'iam:DeleteUserPolicy', 'iam:TagUser'])
      tally.record(await ask(action, user, owned), 'Allowed', `${action} on a tagged user`);
    for (const action of ['iam:PutUserPolicy', 'iam:DeleteUserPolicy'])
      tally.record(await ask(action, user, {}), 'Denied', `${action} on an untagged user`);
    tally.record(
      await ask('ssm:AddTagsToResource', parameter, {
        'ssm:resourceTag/managed-by': 'secret-rotation',
        'aws:RequestTag/managed-by': 'secret-rotation',
      }),
      'Allowed',
      'ssm:AddTagsToResource on a tagged parameter',
    );
    tally.record(
      await ask('ssm:PutParameter', parameter, {}),
      'Denied',
      'ssm:PutParameter on an untagged parameter',
    );
    console.log(tally.summary('policy and tag writes on tagged and untagged decoy-shaped names'));
    expect(tally.unexpected).toEqual([]);
  });

  it('no role of any stack can change a protected principal with any IAM write', async () => {
    const tally = new Tally('every stack role');
    const targets = protectedTargets();
    for (const role of roles) {
      for (const action of IAM_WRITES) {
        const kind = onUsers(action) ? ':user/' : ':role/';
        for (const target of targets.filter((t) => t.arn.includes(kind)))
          tally.record(
            await decide({
              principal: role.arn,
              action,
              resource: target.arn,
              identityPolicies: role.policies,
              context: contextFor(action),
            }),
            'Denied',
            `${role.logicalId} ${action} ${target.arn}`,
          );
      }
    }
    console.log(
      tally.summary(
        `${roles.length} roles x ${IAM_WRITES.length} IAM writes x protected principals (by kind)`,
      ),
    );
    expect(tally.unexpected).toEqual([]);
  });
});

// ---- the decoy user ----

/**
 * Calls worth something to whoever holds the decoy key, each on a resource it
 * takes (the decoys themselves where there is one).
 */
function valuableCalls(): { action: string; resource: string }[] {
  const bucket = `arn:aws:s3:::${decoyBucket}`;
  const user = iamArn(`user/${decoyUserName}`);
  const region = 'arn:aws:%s:us-east-1:111122223333';
  const at = (service: string, rest: string) => `${region.replace('%s', service)}:${rest}`;
  return [
    { action: 's3:GetObject', resource: `${bucket}/terraform.tfstate` },
    { action: 's3:ListBucket', resource: bucket },
    { action: 's3:PutObject', resource: `${bucket}/x` },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::company-data/exports/customers.csv' },
    { action: 's3:ListAllMyBuckets', resource: '*' },
    { action: 's3:PutBucketPolicy', resource: bucket },
    { action: 'ssm:GetParameter', resource: decoyParameterArn },
    { action: 'ssm:GetParameters', resource: decoyParameterArn },
    { action: 'ssm:GetParametersByPath', resource: decoyParameterArn },
    { action: 'ssm:DescribeParameters', resource: '*' },
    { action: 'ssm:SendCommand', resource: at('ec2', 'instance/i-0123456789abcdef0') },
    { action: 'ssm:StartSession', resource: at('ec2', 'instance/i-0123456789abcdef0') },
    { action: 'secretsmanager:GetSecretValue', resource: at('secretsmanager', 'secret:prod/db-AbCdEf') },
    { action: 'secretsmanager:ListSecrets', resource: '*' },
    { action: 'kms:Decrypt', resource: at('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab') },
    { action: 'kms:CreateGrant', resource: at('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab') },
    { action: 'iam:CreateUser', resource: iamArn('user/backdoor') },
    { action: 'iam:CreateAccessKey', resource: user },
    { action: 'iam:CreateAccessKey', resource: iamArn('user/admin') },
    { action: 'iam:AttachUserPolicy', resource: user },
    { action: 'iam:PutUserPolicy', resource: user },
    { action: 'iam:CreateLoginProfile', resource: user },
    { action: 'iam:DeleteUserPolicy', resource: user },
    { action: 'iam:CreateRole', resource: iamArn('role/backdoor') },
    { action: 'iam:PassRole', resource: iamArn('role/admin') },
    { action: 'iam:ListUsers', resource: '*' },
    { action: 'iam:ListRoles', resource: '*' },
    { action: 'iam:GetAccountAuthorizationDetails', resource: '*' },
    { action: 'iam:ListAttachedUserPolicies', resource: user },
    { action: 'sts:AssumeRole', resource: iamArn('role/admin') },
    { action: 'sts:GetFederationToken', resource: `arn:aws:sts::${ACCOUNT}:federated-user/x` },
    { action: 'ec2:RunInstances', resource: at('ec2', 'instance/*') },
    { action: 'ec2:DescribeInstances', resource: '*' },
    { action: 'ec2:CreateSnapshot', resource: at('ec2', 'volume/vol-0123456789abcdef0') },
    { action: 'lambda:InvokeFunction', resource: at('lambda', 'function:payments') },
    { action: 'lambda:GetFunction', resource: at('lambda', 'function:payments') },
    { action: 'lambda:ListFunctions', resource: '*' },
    { action: 'dynamodb:Scan', resource: at('dynamodb', 'table/customers') },
    { action: 'dynamodb:GetItem', resource: tableArn },
    { action: 'rds:DescribeDBInstances', resource: at('rds', 'db:prod') },
    { action: 'rds:CreateDBSnapshot', resource: at('rds', 'db:prod') },
    { action: 'cloudtrail:StopLogging', resource: at('cloudtrail', 'trail/platform-shared-services-audit') },
    { action: 'cloudtrail:DeleteTrail', resource: at('cloudtrail', 'trail/platform-shared-services-audit') },
    { action: 'cloudtrail:LookupEvents', resource: '*' },
    { action: 'events:DisableRule', resource: at('events', 'rule/platform-shared-services-route-01') },
    { action: 'events:PutEvents', resource: at('events', 'event-bus/platform-shared-services-events') },
    {
      action: 'guardduty:DeleteDetector',
      resource: at('guardduty', 'detector/12abc34d567e8fa901bc2d34eexample'),
    },
    {
      action: 'cloudformation:DescribeStacks',
      resource: at('cloudformation', 'stack/platform-shared-services/*'),
    },
    { action: 'organizations:ListAccounts', resource: '*' },
    { action: 'logs:DeleteLogGroup', resource: at('logs', 'log-group:/aws/lambda/payments') },
    { action: 'ecr:GetAuthorizationToken', resource: '*' },
    { action: 'sns:Publish', resource: at('sns', 'alerts') },
    { action: 'sqs:ReceiveMessage', resource: at('sqs', 'jobs') },
  ];
}

/** Calls a key's holder tries on itself first (who am I, can I add MFA): nothing grants them. */
const SELF_SERVICE = [
  { action: 'iam:GetUser', resource: 'self' },
  { action: 'iam:ListMFADevices', resource: 'self' },
  { action: 'iam:EnableMFADevice', resource: 'self' },
  { action: 'iam:ResyncMFADevice', resource: 'self' },
  { action: 'iam:CreateVirtualMFADevice', resource: iamArn('mfa/x') },
  { action: 'iam:ListVirtualMFADevices', resource: '*' },
];

/**
 * Not evaluated here: sts:GetCallerIdentity and sts:GetSessionToken need no
 * permission and no policy can deny them (AWS: "No permissions are required to
 * perform this operation"); a decoy key always authenticates and can mint session
 * credentials that carry its identity and its permissions. Detection counts on
 * that: any call signed by the key, allowed or denied, is a critical touch.
 */
const ALWAYS_WORKS = ['sts:GetCallerIdentity', 'sts:GetSessionToken'];

/**
 * The reads the posture grants on purpose, on the planted resources only: a
 * service user that can do nothing reads as "disabled or trap"; one that reads its
 * backups and its parameters reads as a service user. All of it is planted.
 */
function deliberateReads(): {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}[] {
  const bucket = `arn:aws:s3:::${decoyBucket}`;
  const viaSsm = { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com', 'kms:ResourceAliases': [decoyKeyAlias] };
  return [
    { action: 's3:GetObject', resource: `${bucket}/terraform.tfstate` },
    { action: 's3:ListBucket', resource: bucket },
    { action: 's3:GetBucketLocation', resource: bucket },
    ...decoyParameterArns.flatMap((arn) => [
      { action: 'ssm:GetParameter', resource: arn },
      { action: 'ssm:GetParameters', resource: arn },
    ]),
    { action: 'kms:Decrypt', resource: decoyKeyArn, context: viaSsm },
  ];
}

/** The same reads one step off the decoys: another bucket, a real parameter beside them, another key, KMS directly. */
function besideTheDecoys(): {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}[] {
  const other = 'arn:aws:s3:::payments-prod-db-backups-replica';
  const sibling = `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/payments/api-signing-secret`;
  const otherKey = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`;
  return [
    { action: 's3:GetObject', resource: `${other}/db/payments-prod-full.sql` },
    { action: 's3:ListBucket', resource: other },
    { action: 'ssm:GetParameter', resource: sibling },
    { action: 'ssm:GetParameters', resource: sibling },
    {
      action: 'ssm:GetParametersByPath',
      resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/prod/payments`,
    },
    { action: 'ssm:GetParameterHistory', resource: decoyParameterArn },
    {
      action: 'kms:Decrypt',
      resource: otherKey,
      context: {
        'kms:ViaService': 'ssm.us-east-1.amazonaws.com',
        'kms:ResourceAliases': ['alias/prod-secrets'],
      },
    },
    // The decoys' key outside SSM: a direct Decrypt of anything else it ever encrypted.
    { action: 'kms:Decrypt', resource: decoyKeyArn, context: { 'kms:ResourceAliases': [decoyKeyAlias] } },
    {
      action: 'kms:Decrypt',
      resource: decoyKeyArn,
      context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'kms:ResourceAliases': [decoyKeyAlias] },
    },
    {
      action: 'kms:Encrypt',
      resource: decoyKeyArn,
      context: { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' },
    },
    { action: 's3:PutObject', resource: `arn:aws:s3:::${decoyBucket}/db/payments-prod-full.sql` },
    { action: 's3:DeleteObject', resource: `arn:aws:s3:::${decoyBucket}/terraform.tfstate` },
    { action: 'ssm:PutParameter', resource: decoyParameterArn },
  ];
}

describe('the decoy user reads only what was planted for it', () => {
  it('every valuable call is denied except the reads the posture grants, and those only on the decoys', async () => {
    const user = iamArn(`user/${decoyUserName}`);
    const input = {
      partition: 'aws',
      service: 'payments',
      bucketName: decoyBucket,
      parameterArns: decoyParameterArns,
      key: { alias: decoyKeyAlias, region: 'us-east-1', account: ACCOUNT },
    };
    expect(userPolicyName(input)).toBe('payments-backup-read');
    const policy = JSON.parse(userPolicyDocument(input)) as PolicyDocument;
    const bucketPolicy = JSON.parse(bucketPolicyDocument(decoyBucket, 'aws')) as PolicyDocument;
    const tally = new Tally('decoy user');
    const granted = deliberateReads();
    const key = (c: { action: string; resource: string }) => `${c.action} ${c.resource}`;
    const grantedKeys = new Set(granted.filter((c) => !c.context).map(key));
    const calls: {
      action: string;
      resource: string;
      context?: Record<string, string | string[]>;
      expected: 'Allowed' | 'Denied';
    }[] = [
      ...valuableCalls().map((c) => ({
        ...c,
        expected: (grantedKeys.has(key(c)) ? 'Allowed' : 'Denied') as 'Allowed' | 'Denied',
      })),
      ...SELF_SERVICE.map((c) => ({
        ...c,
        resource: c.resource === 'self' ? user : c.resource,
        expected: 'Denied' as const,
      })),
      ...granted.map((c) => ({ ...c, expected: 'Allowed' as const })),
      ...besideTheDecoys().map((c) => ({ ...c, expected: 'Denied' as const })),
    ];
    for (const mfa of ['false', 'true', undefined]) {
      for (const call of calls) {
        const onBucket = call.resource.startsWith(`arn:aws:s3:::${decoyBucket}`);
        const resourcePolicy = onBucket
          ? bucketPolicy
          : call.resource === tableArn
            ? tablePolicy
            : call.resource === decoyKeyArn
              ? decoyKeyPolicy
              : undefined;
        tally.record(
          await decide({
            principal: user,
            action: call.action,
            resource: call.resource,
            identityPolicies: [policy],
            resourcePolicy,
            context: {
              'aws:SecureTransport': 'true',
              ...(mfa === undefined ? {} : { 'aws:MultiFactorAuthPresent': mfa }),
              ...call.context,
            },
          }),
          call.expected,
          `${call.action} ${call.resource} (MFA ${mfa ?? 'absent'})`,
        );
      }
    }
    const allowed = calls.filter((c) => c.expected === 'Allowed').length;
    console.log(
      tally.summary(
        `${calls.length} calls (${valuableCalls().length} valuable + ${SELF_SERVICE.length} self-service + ${granted.length} deliberate reads + ${besideTheDecoys().length} the same beside the decoys; ${allowed} expected allowed, all on planted resources) x 3 MFA states; not evaluated, never deniable: ${ALWAYS_WORKS.join(', ')}`,
      ),
    );
    expect(tally.unexpected).toEqual([]);
    expect(valuableCalls().length).toBeGreaterThanOrEqual(50);
  });
});

// ---- the state table ----

/**
 * The DynamoDB statements of the AWS-managed ReadOnlyAccess policy, excerpted
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/ReadOnlyAccess.html):
 * data reads on every table.
 */
const READ_ONLY_ACCESS_DYNAMODB: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        'dynamodb:BatchGet*',
        'dynamodb:Describe*',
        'dynamodb:Get*',
        'dynamodb:List*',
        'dynamodb:PartiQLSelect',
        'dynamodb:Query',
        'dynamodb:Scan',
      ],
      Resource: '*',
    },
  ],
};
/** A broad data-plane grant some automation roles carry. */
const ALL_DYNAMODB: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' }],
};

describe('the state table', () => {
  it('ReadOnlyAccess and dynamodb:* are denied every data read; the registered function roles read', async () => {
    const condition = statementsOf(tablePolicy)[0]?.Condition?.StringNotEquals?.['aws:PrincipalArn'];
    const readers = listOf(condition as string[]);
    expect(readers.length).toBeGreaterThanOrEqual(4);
    for (const reader of readers) expect(reader).toContain(`:role${STACK_PATH}`);

    const outsiders = new Tally('state table, outsiders');
    const outsiderPrincipals = [
      { arn: iamArn('role/auditor'), policy: READ_ONLY_ACCESS_DYNAMODB },
      { arn: iamArn('user/analyst'), policy: READ_ONLY_ACCESS_DYNAMODB },
      { arn: iamArn('role/automation'), policy: ALL_DYNAMODB },
      // Roles of the stack that are not registered readers, given a broad grant.
      ...roles.filter((r) => !readers.includes(r.arn)).map((r) => ({ arn: r.arn, policy: ALL_DYNAMODB })),
    ];
    for (const principal of outsiderPrincipals)
      for (const action of STATE_READ_ACTIONS)
        outsiders.record(
          await decide({
            principal: principal.arn,
            action,
            resource: tableArn,
            identityPolicies: [principal.policy],
            resourcePolicy: tablePolicy,
          }),
          'Denied',
          `${principal.arn} ${action}`,
        );

    const insiders = new Tally('state table, registered function roles');
    const readerRoles = roles.filter((r) => readers.includes(r.arn));
    expect(readerRoles).toHaveLength(readers.length);
    const granted = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'];
    for (const role of readerRoles)
      for (const action of granted)
        insiders.record(
          await decide({
            principal: role.arn,
            action,
            resource: tableArn,
            identityPolicies: role.policies,
            resourcePolicy: tablePolicy,
          }),
          'Allowed',
          `${role.logicalId} ${action}`,
        );

    console.log(
      outsiders.summary(`${outsiderPrincipals.length} principals x ${STATE_READ_ACTIONS.length} data reads`),
    );
    console.log(insiders.summary(`${readerRoles.length} reader roles x ${granted.length} granted reads`));
    expect(outsiders.unexpected).toEqual([]);
    expect(insiders.unexpected).toEqual([]);
  });

  it('dynamodb:* is denied every data write, the intake included (a record vouches for a finding); the writers write', async () => {
    const writersCondition = statementsOf(tablePolicy).find((s) => s.Sid === 'OnlyPlatformFunctionsWrite')
      ?.Condition?.StringNotEquals?.['aws:PrincipalArn'];
    const writers = listOf(writersCondition as string[]);
    const readersCondition = statementsOf(tablePolicy)[0]?.Condition?.StringNotEquals?.['aws:PrincipalArn'];
    const readOnly = listOf(readersCondition as string[]).filter((arn) => !writers.includes(arn));
    expect(writers.length).toBeGreaterThanOrEqual(4);
    // The intake reads the records and must not be able to write one.
    expect(readOnly.length).toBeGreaterThanOrEqual(1);

    const outsiders = new Tally('state table writes, outsiders');
    const outsiderPrincipals = [
      { arn: iamArn('role/automation'), policy: ALL_DYNAMODB },
      ...roles.filter((r) => !writers.includes(r.arn)).map((r) => ({ arn: r.arn, policy: ALL_DYNAMODB })),
    ];
    for (const principal of outsiderPrincipals)
      for (const action of STATE_WRITE_ACTIONS)
        outsiders.record(
          await decide({
            principal: principal.arn,
            action,
            resource: tableArn,
            identityPolicies: [principal.policy],
            resourcePolicy: tablePolicy,
          }),
          'Denied',
          `${principal.arn} ${action}`,
        );

    const insiders = new Tally('state table writes, registered writers');
    const writerRoles = roles.filter((r) => writers.includes(r.arn));
    expect(writerRoles).toHaveLength(writers.length);
    for (const role of writerRoles)
      insiders.record(
        await decide({
          principal: role.arn,
          action: 'dynamodb:PutItem',
          resource: tableArn,
          identityPolicies: role.policies,
          resourcePolicy: tablePolicy,
        }),
        'Allowed',
        `${role.logicalId} dynamodb:PutItem`,
      );
    console.log(
      outsiders.summary(
        `${outsiderPrincipals.length} principals x ${STATE_WRITE_ACTIONS.length} data writes`,
      ),
    );
    console.log(insiders.summary(`${writerRoles.length} writer roles x PutItem`));
    expect(outsiders.unexpected).toEqual([]);
    expect(insiders.unexpected).toEqual([]);
  });
});
