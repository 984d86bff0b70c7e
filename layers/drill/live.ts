import { randomBytes } from 'node:crypto';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudTrailClient, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteParameterCommand, GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { auditTrailName } from '../config/names';
import type { FindingKind, HoneytrailConfig, Severity } from '../config/schema';
import type { Decoy } from '../decoys/catalogue';
import { decodeSpec } from '../decoys/spec';
import { FINDING_SCHEMA_VERSION, type Finding } from '../findings/finding';
import { decide, decodePolicy, type ResponsePolicy } from '../response/policy';
import { type ReceivedFindings, S3ReceivedFindings } from '../response/received';
import { respondInputSchema } from '../response/state';
import { countByKind, type LatencySummary, summarizeLatencies } from './kpi';
import {
  type CfnTemplate,
  IntrinsicResolver,
  type LambdaProperties,
  resolvedResources,
  type StackTemplate,
} from './template';
import { clock, ms } from './timeline';

/**
 * The live drill, against a deployed stack through the SDK's standard settings
 * (credential chain, AWS_REGION, AWS_ENDPOINT_URL). It refuses to start unless
 * the stack is deployed and the deployed response policy would act on nothing
 * but the drill's own principal; then it creates a temporary IAM user allowed to
 * read exactly the decoys it touches, touches each one, waits for each finding
 * (seen as the response execution it starts, named after the finding) and for
 * the response, reports the measured delays, and removes the user and anything
 * the response gave it, whatever happened (finally).
 */

export class LiveDrillRefused extends Error {
  override readonly name = 'LiveDrillRefused';
}

export interface LiveOptions {
  config: HoneytrailConfig;
  /** Default: the config's home region (where the stack lives). */
  region?: string;
  /** With dry-run off, let the response contain the drill's own user for real. */
  allowContainment?: boolean;
  /** How long to wait for each finding and its response. Default 10 minutes. */
  timeoutMs?: number;
  pollMs?: number;
  /** How long a new access key may take to work. Default 60 s. */
  keyReadyMs?: number;
  log?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The planted decoys (a registry export, `{"decoys":[...]}`). Required with a stack
   * whose template carries no plan: names are chosen at plant time and known only
   * to the registry, which the drill's credentials cannot read.
   */
  decoys?: Decoy[];
}

export interface LiveTouch {
  name: string;
  call: string;
  /** What the drill expects the finding to be about. */
  kind: FindingKind;
  decoy: string;
  touchedAt: number;
  callResult: string;
  findingId?: string;
  findingSeverity?: Severity;
  /** When the intake received the finding (the execution input's receivedAt). */
  findingAt?: number;
  responseStatus?: string;
  responseDoneAt?: number;
}

export interface LiveResult {
  stackName: string;
  region: string;
  account: string;
  dryRun: boolean;
  principal?: string;
  touches: LiveTouch[];
  missedTouches: number;
  touchToFinding: LatencySummary;
  findingToResponse: LatencySummary;
  cleanup: string[];
  cleanupProblems: string[];
}

const READY_STATUSES = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
]);

interface Preflight {
  account: string;
  region: string;
  policy: ResponsePolicy;
  stateMachineArn: string;
  /** Where the intake keeps the findings the executions name by id (layers/response/received.ts). */
  recordsBucket: string;
  trailArn: string;
  decoys: Decoy[];
}

const errorName = (error: unknown) => (error as { name?: string })?.name ?? 'Error';
const errorText = (error: unknown) => `${errorName(error)}: ${(error as Error)?.message ?? String(error)}`;

/**
 * CloudFormation's answer for a stack that is not there: a ValidationError (an
 * unmodelled error, so the SDK's CloudFormationServiceException named so) saying
 * "Stack with id X does not exist". Any other failure is not "not deployed".
 */
export function stackMissing(error: unknown): boolean {
  return errorName(error) === 'ValidationError' && /does not exist/i.test((error as Error)?.message ?? '');
}

/**
 * Checks before anything is created: credentials, the stack, its response
 * policy. Throws LiveDrillRefused with what is wrong and what to do.
 */
export async function preflight(
  options: LiveOptions,
  userArnFor: (account: string) => string,
): Promise<Preflight> {
  const { config } = options;
  const region = options.region ?? config.homeRegion;
  const sts = new STSClient({ region });
  let account: string;
  try {
    account = (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
  } catch (error) {
    throw new LiveDrillRefused(
      `no usable AWS credentials for region ${region} (${errorText(error)}): set them the usual way (AWS_PROFILE, AWS_ACCESS_KEY_ID..., SSO) and run again`,
    );
  }

  const cfn = new CloudFormationClient({ region });
  const stackName = config.stackName;
  let status: string;
  try {
    const stacks = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
    status = stacks[0]?.StackStatus ?? 'MISSING';
  } catch (error) {
    if (stackMissing(error)) {
      throw new LiveDrillRefused(
        `stack ${stackName} is not deployed in account ${account}, region ${region}: deploy it with "npx cdk deploy" first (or point --config at the config it was deployed with)`,
      );
    }
    throw new LiveDrillRefused(`cannot describe stack ${stackName} in ${region}: ${errorText(error)}`);
  }
  if (!READY_STATUSES.has(status)) {
    throw new LiveDrillRefused(
      `stack ${stackName} is ${status}, not deployed and stable: wait for it or fix it first`,
    );
  }

  const body = (await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' })))
    .TemplateBody;
  let template: CfnTemplate;
  try {
    template = JSON.parse(body ?? '') as CfnTemplate;
  } catch {
    throw new LiveDrillRefused(
      `the deployed template of ${stackName} is not JSON: was it deployed by this app?`,
    );
  }
  const stack: StackTemplate = { stackName, id: stackName, account, region, template };
  const resolver = new IntrinsicResolver(stack);
  const policyText = resolvedResources<LambdaProperties>(stack, 'AWS::Lambda::Function')
    .map(({ props }) => props.Environment?.Variables?.RESPONSE_POLICY)
    .find((value): value is string => typeof value === 'string');
  if (!policyText) {
    throw new LiveDrillRefused(
      `stack ${stackName} deploys no response workflow: the live drill sees findings through its executions`,
    );
  }
  let policy: ResponsePolicy;
  try {
    policy = decodePolicy(policyText);
  } catch (error) {
    throw new LiveDrillRefused(`cannot read the deployed response policy: ${(error as Error).message}`);
  }

  const resources = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
    resources.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  const stateMachineArn = resources.find(
    (r) => r.ResourceType === 'AWS::StepFunctions::StateMachine',
  )?.PhysicalResourceId;
  if (!stateMachineArn) throw new LiveDrillRefused(`stack ${stackName} has no response state machine`);
  const trail = resources.find((r) => r.ResourceType === 'AWS::CloudTrail::Trail')?.PhysicalResourceId;
  const trailArn =
    config.trail.mode === 'existing'
      ? config.trail.existingTrailArn
      : trail?.startsWith('arn:')
        ? trail
        : `arn:aws:cloudtrail:${region}:${account}:trail/${trail ?? auditTrailName(config)}`;

  // What was planted: the given list; else the plan a stack of an older version carries.
  const planProperty = Object.entries(template.Resources ?? {})
    .map(([id, resource]) =>
      resource.Properties?.Plan !== undefined ? resolver.resolve(resource.Properties.Plan, id) : undefined,
    )
    .find((plan) => plan !== undefined);
  let decoys: Decoy[];
  try {
    if (options.decoys) decoys = options.decoys;
    else if (planProperty !== undefined) decoys = decodeSpec(planProperty).plan.resources;
    else
      throw new Error(
        'the decoy names are chosen when they are planted and kept only in the registry: pass the planted decoys (--decoys FILE, a registry export)',
      );
  } catch (error) {
    throw new LiveDrillRefused(`cannot read what the stack planted: ${(error as Error).message}`);
  }
  const refusal = policyRefusal(
    policy,
    expectedFindings(decoys, trailArn, userArnFor(account), account, region),
    {
      allowContainment: options.allowContainment === true,
      drillUser: userArnFor(account),
    },
  );
  if (refusal) throw new LiveDrillRefused(refusal);
  // The executions carry only a finding's id and digest; the finding is kept in the records bucket.
  const recordsBucket = recordsBucketOf(template, resources);
  if (!recordsBucket)
    throw new LiveDrillRefused(`stack ${stackName} has no records bucket (RECORDS_BUCKET of its functions)`);
  return { account, region, policy, stateMachineArn, recordsBucket, trailArn, decoys };
}

/** The bucket the functions' RECORDS_BUCKET names: a `Ref` to a stack bucket, or a name. */
function recordsBucketOf(
  template: CfnTemplate,
  resources: readonly { LogicalResourceId?: string; PhysicalResourceId?: string }[],
): string | undefined {
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const environment = resource.Properties?.Environment as
      | { Variables?: Record<string, unknown> }
      | undefined;
    const value = environment?.Variables?.RECORDS_BUCKET;
    if (typeof value === 'string') return value;
    const ref = (value as { Ref?: unknown } | undefined)?.Ref;
    if (typeof ref === 'string')
      return resources.find((r) => r.LogicalResourceId === ref)?.PhysicalResourceId;
  }
  return undefined;
}

/** The decoys the drill touches (besides the trail): the first parameter, object and secret. */
function touchedDecoys(decoys: readonly Decoy[]): { parameter?: Decoy; object?: Decoy; secret?: Decoy } {
  return {
    parameter: decoys.find((d) => d.kind === 'ssm-parameter'),
    object: decoys.find((d) => d.kind === 's3-object'),
    secret: decoys.find((d) => d.kind === 'secretsmanager-secret'),
  };
}

/**
 * A secret's ARN as IAM matches it: the plan's ARN has no suffix, the real one ends
 * in `-` and six characters Secrets Manager adds (its documented `-??????` pattern).
 */
function secretArnPattern(secret: Decoy): string {
  return `${secret.arn}-??????`;
}

const trailNameOf = (trailArn: string) => trailArn.split('/').pop() ?? trailArn;

/** The findings the drill's touches should raise, as the touch function would describe them. */
export function expectedFindings(
  decoys: readonly Decoy[],
  trailArn: string,
  userArn: string,
  account: string,
  region: string,
): Finding[] {
  const base = (
    kind: FindingKind,
    severity: Severity,
    decoy: { kind: string; name: string; arn?: string },
    call: string,
  ): Finding => ({
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: `drill-${decoy.kind}-${decoy.name}`.padEnd(8, '-'),
    kind,
    severity,
    title: `drill: ${call}`,
    actor: { arn: userArn, type: 'IAMUser', accessKeyId: 'AKIADRILLDRILLDRILL0', account },
    region,
    account,
    eventNames: [call],
    eventIds: [],
    resource: decoy,
    firstSeen: new Date(0).toISOString(),
    lastSeen: new Date(0).toISOString(),
    count: 1,
    evidence: [],
    response: { status: 'none' },
  });
  const findings: Finding[] = [];
  const { parameter, object, secret } = touchedDecoys(decoys);
  if (parameter) findings.push(base('resource-access', 'high', parameter, 'GetParameter'));
  if (object) findings.push(base('resource-access', 'high', object, 'GetObject'));
  if (secret) findings.push(base('resource-access', 'high', secret, 'GetSecretValue'));
  findings.push(
    base('tamper', 'critical', { kind: 'trail', name: trailNameOf(trailArn), arn: trailArn }, 'StopLogging'),
  );
  return findings;
}

/** Why the deployed policy makes the drill unsafe to run; undefined when it is safe. */
export function policyRefusal(
  policy: ResponsePolicy,
  findings: readonly Finding[],
  options: { allowContainment: boolean; drillUser: string },
): string | undefined {
  for (const finding of findings) {
    const decision = decide(finding, policy);
    if (decision.outcome === 'notify' || decision.outcome === 'dry-run') continue;
    if (decision.path === 'refresh' || (decision.target && decision.target.arn !== options.drillUser)) {
      return `the response policy would act on ${decision.target?.arn ?? 'the planted resources'} for a ${finding.kind} finding, not only on the drill's own user: refusing`;
    }
    if (!options.allowContainment) {
      const rule = decision.rule
        ? `rule #${decision.rule.index} (${decision.rule.kind} >= ${decision.rule.minSeverity}: ${decision.rule.action})`
        : 'the policy';
      return (
        `the response is not in dry-run: ${rule} would ${decision.outcome === 'approve' ? 'ask for approval to ' : ''}` +
        `${decision.actions.map((a) => a.description).join(', ') || 'act'} for a ${finding.kind} finding. ` +
        'It would act on the drill\'s own temporary user only; pass --allow-containment to let it (the drill removes the user afterwards), or set "dryRun": true'
      );
    }
  }
  return undefined;
}

/** Default name of the drill's temporary user: neutral, like a health check's. */
export function drillUserName(): string {
  return `platform-probe-${randomBytes(4).toString('hex')}`;
}

export async function runLiveDrill(options: LiveOptions): Promise<LiveResult> {
  const log = options.log ?? (() => {});
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const userName = drillUserName();
  const userArnFor = (account: string) => `arn:aws:iam::${account}:user/${userName}`;
  log(`checking the deployed stack ${options.config.stackName}`);
  const pre = await preflight(options, userArnFor);
  const { region, account, decoys, config } = { ...pre, config: options.config };
  const iam = new IAMClient({ region });
  const result: LiveResult = {
    stackName: config.stackName,
    region,
    account,
    dryRun: pre.policy.dryRun,
    touches: [],
    missedTouches: 0,
    touchToFinding: summarizeLatencies([]),
    findingToResponse: summarizeLatencies([]),
    cleanup: [],
    cleanupProblems: [],
  };
  const drillStart = Date.now();
  let created = false;
  try {
    log(`creating the temporary user ${userName}`);
    await iam.send(new CreateUserCommand({ UserName: userName }));
    created = true;
    result.principal = userArnFor(account);
    await iam.send(
      new PutUserPolicyCommand({
        UserName: userName,
        PolicyName: 'probe',
        PolicyDocument: JSON.stringify(probePolicy(decoys)),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('CreateAccessKey returned no key');
    const credentials = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    await waitForKey(region, credentials, options.keyReadyMs ?? 60_000, sleep);

    result.touches = await touchDecoys(region, credentials, decoys, pre.trailArn, log);
    const sfn = new SFNClient({ region });
    const findings = new S3ReceivedFindings(new S3Client({ region }), pre.recordsBucket);
    await waitForFindings(sfn, findings, pre.stateMachineArn, result.touches, {
      userArn: userArnFor(account),
      accessKeyId: key.AccessKeyId,
      since: drillStart,
      timeoutMs: options.timeoutMs ?? 600_000,
      pollMs: options.pollMs ?? 5000,
      sleep,
      log,
    });
  } finally {
    if (created) await cleanUp(iam, userName, pre.policy, region, result, log);
  }
  result.missedTouches = result.touches.filter((t) => !t.findingId).length;
  result.touchToFinding = summarizeLatencies(
    result.touches.flatMap((t) => (t.findingAt ? [t.findingAt - t.touchedAt] : [])),
  );
  result.findingToResponse = summarizeLatencies(
    result.touches.flatMap((t) => (t.findingAt && t.responseDoneAt ? [t.responseDoneAt - t.findingAt] : [])),
  );
  return result;
}

/** Reads of exactly the decoys touched; the trail's controls denied outright, whatever else applies. */
export function probePolicy(decoys: readonly Decoy[]): object {
  const { parameter, object, secret } = touchedDecoys(decoys);
  const statements: object[] = [];
  if (parameter) {
    statements.push({ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [parameter.arn] });
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: ['*'],
      Condition: { StringEquals: { 'kms:EncryptionContext:PARAMETER_ARN': parameter.arn } },
    });
  }
  if (object) statements.push({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [object.arn] });
  if (secret) {
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [secretArnPattern(secret)],
    });
    // The secret's key decrypts for Secrets Manager, for this secret only (its encryption context).
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: ['*'],
      Condition: { StringLike: { 'kms:EncryptionContext:SecretARN': secretArnPattern(secret) } },
    });
  }
  statements.push({
    Effect: 'Deny',
    Action: ['cloudtrail:StopLogging', 'cloudtrail:DeleteTrail', 'cloudtrail:UpdateTrail', 'cloudtrail:Put*'],
    Resource: ['*'],
  });
  return { Version: '2012-10-17', Statement: statements };
}

type Credentials = { accessKeyId: string; secretAccessKey: string };

async function waitForKey(
  region: string,
  credentials: Credentials,
  limitMs: number,
  sleep: (ms: number) => Promise<void>,
) {
  const sts = new STSClient({ region, credentials });
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      await sts.send(new GetCallerIdentityCommand({}));
      return;
    } catch (error) {
      if (Date.now() > until)
        throw new Error(
          `the new access key did not start working within ${limitMs / 1000} s: ${errorText(error)}`,
        );
      await sleep(3000);
    }
  }
}

/**
 * Touches the decoys with the probe user's key (`credentials`), one call each, and
 * the trail (denied): what the drill expects a finding for. A denied call is a touch.
 */
export async function touchDecoys(
  region: string,
  credentials: Credentials,
  decoys: readonly Decoy[],
  trailArn: string,
  log: (message: string) => void,
): Promise<LiveTouch[]> {
  const touches: LiveTouch[] = [];
  const attempt = async (
    touch: Omit<LiveTouch, 'touchedAt' | 'callResult'>,
    call: () => Promise<unknown>,
  ) => {
    const touchedAt = Date.now();
    let callResult = 'ok';
    try {
      await call();
    } catch (error) {
      // A denied call is logged too, and is a touch all the same.
      callResult = errorName(error);
    }
    log(`touched ${touch.decoy} (${touch.call}: ${callResult})`);
    touches.push({ ...touch, touchedAt, callResult });
  };
  const { parameter, object, secret } = touchedDecoys(decoys);
  if (parameter) {
    const ssm = new SSMClient({ region, credentials });
    await attempt(
      { name: 'parameter', call: 'ssm:GetParameter', kind: 'resource-access', decoy: parameter.name },
      () => ssm.send(new GetParameterCommand({ Name: parameter.name, WithDecryption: true })),
    );
  }
  if (object?.bucket) {
    const s3 = new S3Client({ region, credentials });
    await attempt(
      { name: 'object', call: 's3:GetObject', kind: 'resource-access', decoy: object.name },
      async () => {
        const got = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.name }));
        await got.Body?.transformToString();
      },
    );
  }
  if (secret) {
    const secrets = new SecretsManagerClient({ region, credentials });
    await attempt(
      { name: 'secret', call: 'secretsmanager:GetSecretValue', kind: 'resource-access', decoy: secret.name },
      () => secrets.send(new GetSecretValueCommand({ SecretId: secret.name })),
    );
  }
  const cloudtrail = new CloudTrailClient({ region, credentials });
  await attempt(
    {
      name: 'trail',
      call: 'cloudtrail:StopLogging (denied)',
      kind: 'tamper',
      decoy: trailNameOf(trailArn),
    },
    () => cloudtrail.send(new StopLoggingCommand({ Name: trailArn })),
  );
  return touches;
}

async function waitForFindings(
  sfn: SFNClient,
  findings: ReceivedFindings,
  stateMachineArn: string,
  touches: LiveTouch[],
  options: {
    userArn: string;
    accessKeyId: string;
    since: number;
    timeoutMs: number;
    pollMs: number;
    sleep: (ms: number) => Promise<void>;
    log: (message: string) => void;
  },
): Promise<void> {
  const until = Date.now() + options.timeoutMs;
  const seen = new Map<
    string,
    { finding: Finding; receivedAt: number; status: string; stoppedAt?: number }
  >();
  const pending = () => touches.filter((t) => !t.findingId || !t.responseDoneAt);
  options.log(
    `waiting up to ${Math.round(options.timeoutMs / 60_000)} min for ${touches.length} findings and their responses`,
  );
  while (pending().length > 0 && Date.now() < until) {
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100 }));
    for (const execution of listed.executions ?? []) {
      if (!execution.executionArn || !execution.name?.startsWith('f-')) continue;
      if ((execution.startDate?.getTime() ?? 0) < options.since) continue;
      const known = seen.get(execution.executionArn);
      if (known && known.status !== 'RUNNING') continue;
      const described = await sfn.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn }),
      );
      const input = respondInputSchema.safeParse(JSON.parse(described.input ?? '{}'));
      if (!input.success) continue;
      const { receivedAt, ...ref } = input.data;
      // Kept by the intake before it started the execution; the operator's role reads it.
      const finding = await findings.get(ref);
      if (finding.actor.arn !== options.userArn && finding.actor.accessKeyId !== options.accessKeyId)
        continue;
      seen.set(execution.executionArn, {
        finding,
        receivedAt: Date.parse(receivedAt),
        status: described.status ?? 'RUNNING',
        stoppedAt: described.stopDate?.getTime(),
      });
    }
    for (const touch of touches) {
      const match = [...seen.values()].find(
        (s) =>
          s.finding.kind === touch.kind &&
          (touch.kind === 'tamper' || s.finding.resource?.name === touch.decoy),
      );
      if (!match) continue;
      if (!touch.findingId)
        options.log(
          `finding for ${touch.decoy}: ${match.finding.id.slice(0, 12)} (${ms(match.receivedAt - touch.touchedAt)})`,
        );
      touch.findingId = match.finding.id;
      touch.findingSeverity = match.finding.severity;
      touch.findingAt = match.receivedAt;
      touch.responseStatus = match.status;
      if (match.status !== 'RUNNING' && match.stoppedAt) touch.responseDoneAt = match.stoppedAt;
    }
    if (pending().length > 0) await options.sleep(options.pollMs);
  }
}

async function cleanUp(
  iam: IAMClient,
  userName: string,
  policy: ResponsePolicy,
  region: string,
  result: LiveResult,
  log: (message: string) => void,
): Promise<void> {
  const step = async (what: string, action: () => Promise<unknown>, manual: string) => {
    try {
      await action();
      result.cleanup.push(what);
    } catch (error) {
      if (
        errorName(error) === 'NoSuchEntityException' ||
        errorName(error) === 'ResourceNotFoundException' ||
        errorName(error) === 'ParameterNotFound'
      )
        return;
      result.cleanupProblems.push(`cleanup: ${what} failed (${errorText(error)}); by hand: ${manual}`);
    }
  };
  log(`removing the temporary user ${userName}`);
  try {
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    for (const key of keys) {
      await step(
        `deleted access key ${key.AccessKeyId}`,
        () => iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId })),
        `aws iam delete-access-key --user-name ${userName} --access-key-id ${key.AccessKeyId}`,
      );
    }
    const inline = (await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? [];
    for (const name of inline) {
      await step(
        `deleted inline policy ${name}`,
        () => iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: name })),
        `aws iam delete-user-policy --user-name ${userName} --policy-name ${name}`,
      );
    }
    const attached =
      (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName }))).AttachedPolicies ?? [];
    for (const attachedPolicy of attached) {
      await step(
        `detached ${attachedPolicy.PolicyArn}`,
        () =>
          iam.send(new DetachUserPolicyCommand({ UserName: userName, PolicyArn: attachedPolicy.PolicyArn })),
        `aws iam detach-user-policy --user-name ${userName} --policy-arn ${attachedPolicy.PolicyArn}`,
      );
    }
  } catch (error) {
    result.cleanupProblems.push(
      `cleanup: cannot list what user ${userName} holds (${errorText(error)}); remove it by hand`,
    );
  }
  await step(
    `deleted user ${userName}`,
    () => iam.send(new DeleteUserCommand({ UserName: userName })),
    `aws iam delete-user --user-name ${userName}`,
  );
  // A rotation (dry-run off) stores the user's new key: remove it with the user.
  if (!policy.dryRun && policy.rotateKeys) {
    const name = `${policy.keyStorePath}/${userName}`;
    if (policy.keyStore === 'secrets-manager') {
      await step(
        `deleted secret ${name}`,
        () =>
          new SecretsManagerClient({ region }).send(
            new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
          ),
        `aws secretsmanager delete-secret --secret-id ${name} --force-delete-without-recovery`,
      );
    } else {
      await step(
        `deleted parameter /${name}`,
        () => new SSMClient({ region }).send(new DeleteParameterCommand({ Name: `/${name}` })),
        `aws ssm delete-parameter --name /${name}`,
      );
    }
  }
}

export function liveKpis(result: LiveResult) {
  const found = result.touches.filter((t) => t.findingId);
  return {
    live: true,
    stack: result.stackName,
    region: result.region,
    findings: countByKind(found.map((t) => t.kind)),
    missedTouches: result.missedTouches,
    benignActedOn: 0,
    recordToFindingMs: result.touchToFinding,
    findingToContainmentMs: result.findingToResponse,
    cleanupProblems: result.cleanupProblems.length,
  };
}

export function renderLive(result: LiveResult): string {
  const lines = [
    `honeytrail live drill: stack ${result.stackName}, account ${result.account}, ${result.region} (${result.dryRun ? 'dry-run' : 'ACTING'})`,
    `principal: ${result.principal ?? '(not created)'}`,
    '',
  ];
  for (const touch of result.touches) {
    const finding = touch.findingAt
      ? `finding ${touch.findingId?.slice(0, 12)} ${touch.findingSeverity} after ${ms(touch.findingAt - touch.touchedAt)}`
      : 'NO FINDING within the timeout';
    const response =
      touch.responseDoneAt && touch.findingAt
        ? `, response ${touch.responseStatus} after ${ms(touch.responseDoneAt - touch.findingAt)}`
        : touch.findingAt
          ? `, response ${touch.responseStatus ?? 'not finished'}`
          : '';
    lines.push(
      `  ${clock(touch.touchedAt)} ${touch.call} ${touch.decoy} (${touch.callResult}): ${finding}${response}`,
    );
  }
  lines.push('');
  lines.push(
    `touch -> finding        p50 ${ms(result.touchToFinding.p50)}, p99 ${ms(result.touchToFinding.p99)} (CloudTrail delivery, EventBridge, the touch function, the intake)`,
  );
  lines.push(
    `finding -> response     p50 ${ms(result.findingToResponse.p50)}, p99 ${ms(result.findingToResponse.p99)}`,
  );
  lines.push(`missed touches          ${result.missedTouches}`);
  lines.push(`cleanup                 ${result.cleanup.join(', ') || 'nothing to clean'}`);
  for (const problem of result.cleanupProblems) lines.push(`  ${problem}`);
  return `${lines.join('\n')}\n`;
}
