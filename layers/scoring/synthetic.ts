import type { CloudTrailRecord } from '../cloudtrail/record';
import { createRandom, type Random } from '../forest/random';

/**
 * A deterministic, realistic-enough benign CloudTrail history for tests, the
 * benchmark and the drill: a CI role deploying on weekdays, developers with IAM
 * user keys working their own hours, application roles busy around the clock
 * (new session every day), a nightly reporting function that legitimately lists
 * IAM, and AWS Config's recorder describing everything. Same options, same records.
 *
 * `injectAttack` re-attributes real attack records (Stratus Red Team detonations)
 * to one of these principals, or leaves them as a new principal, at a chosen time.
 */

export interface SyntheticOptions {
  /** First hour generated (UTC). Default 2024-05-06T00:00:00Z, a Monday. */
  readonly start?: Date;
  readonly days?: number;
  readonly seed?: number;
  readonly account?: string;
  /** The region the workloads live in. */
  readonly region?: string;
  /** How many developer users and application roles (more of both: more records). */
  readonly developers?: number;
  readonly applications?: number;
}

export const SYNTHETIC_DEFAULTS = {
  start: new Date('2024-05-06T00:00:00Z'),
  days: 7,
  seed: 7,
  account: '111122223333',
  region: 'eu-west-1',
  developers: 3,
  applications: 1,
} as const;

type Api = readonly [service: string, eventName: string, weight: number];

interface Profile {
  readonly name: string;
  readonly identity: (day: number) => NonNullable<CloudTrailRecord['userIdentity']>;
  readonly ips: readonly string[];
  readonly userAgents: readonly string[];
  readonly regions: readonly string[];
  /** Expected calls in this hour of this day (0: idle). */
  readonly callsAt: (hourOfDay: number, dayOfWeek: number, random: Random) => number;
  readonly apis: readonly Api[];
  readonly errorRate: number;
  readonly deniedRate: number;
}

const READ = /^(Get|List|Describe|Head|Lookup|Query|Scan|BatchGet|Filter|Generate|Decrypt|Receive)/;

const CI_APIS: readonly Api[] = [
  ['cloudformation', 'DescribeStacks', 12],
  ['cloudformation', 'DescribeStackEvents', 10],
  ['cloudformation', 'CreateChangeSet', 2],
  ['cloudformation', 'DescribeChangeSet', 4],
  ['cloudformation', 'ExecuteChangeSet', 2],
  ['cloudformation', 'GetTemplate', 2],
  ['s3', 'PutObject', 6],
  ['s3', 'GetObject', 3],
  ['s3', 'ListObjectsV2', 2],
  ['ssm', 'GetParameter', 3],
  ['sts', 'GetCallerIdentity', 2],
  ['sts', 'AssumeRole', 2],
  ['ecr', 'GetAuthorizationToken', 1],
  ['ecr', 'PutImage', 1],
  ['ecr', 'BatchCheckLayerAvailability', 2],
  ['lambda', 'UpdateFunctionCode', 1],
  ['lambda', 'GetFunction', 1],
  ['iam', 'GetRole', 2],
  ['iam', 'PassRole', 1],
];

const DEVELOPER_APIS: readonly Api[] = [
  ['sts', 'GetCallerIdentity', 3],
  ['s3', 'ListBuckets', 3],
  ['s3', 'GetObject', 4],
  ['s3', 'ListObjectsV2', 4],
  ['logs', 'FilterLogEvents', 6],
  ['logs', 'DescribeLogGroups', 3],
  ['logs', 'GetLogEvents', 3],
  ['lambda', 'ListFunctions', 2],
  ['lambda', 'Invoke', 1],
  ['cloudwatch', 'GetMetricData', 4],
  ['dynamodb', 'Query', 3],
  ['dynamodb', 'DescribeTable', 2],
  ['ec2', 'DescribeInstances', 2],
  ['ecs', 'DescribeServices', 2],
  ['ecs', 'ListTasks', 2],
  ['cloudformation', 'DescribeStacks', 2],
  ['ssm', 'GetParameter', 1],
  ['sqs', 'GetQueueAttributes', 1],
];

const APPLICATION_APIS: readonly Api[] = [
  ['dynamodb', 'GetItem', 20],
  ['dynamodb', 'PutItem', 8],
  ['dynamodb', 'Query', 10],
  ['dynamodb', 'UpdateItem', 4],
  ['sqs', 'SendMessage', 6],
  ['sqs', 'ReceiveMessage', 10],
  ['sqs', 'DeleteMessage', 6],
  ['kms', 'Decrypt', 4],
  ['kms', 'GenerateDataKey', 2],
  ['s3', 'GetObject', 4],
  ['s3', 'PutObject', 2],
  ['secretsmanager', 'GetSecretValue', 1],
  ['events', 'PutEvents', 2],
];

const REPORT_APIS: readonly Api[] = [
  ['ce', 'GetCostAndUsage', 3],
  ['ec2', 'DescribeInstances', 4],
  ['ec2', 'DescribeVolumes', 2],
  ['rds', 'DescribeDBInstances', 2],
  ['iam', 'GenerateCredentialReport', 1],
  ['iam', 'GetCredentialReport', 1],
  ['iam', 'ListUsers', 1],
  ['s3', 'PutObject', 1],
  ['ses', 'SendEmail', 1],
];

const CONFIG_APIS: readonly Api[] = [
  ['ec2', 'DescribeSecurityGroups', 3],
  ['ec2', 'DescribeVpcs', 2],
  ['ec2', 'DescribeSubnets', 2],
  ['ec2', 'DescribeInstances', 2],
  ['s3', 'GetBucketPolicy', 2],
  ['s3', 'GetBucketAcl', 2],
  ['s3', 'GetBucketEncryption', 1],
  ['lambda', 'GetPolicy', 1],
  ['kms', 'DescribeKey', 1],
  ['iam', 'GetRole', 2],
  ['iam', 'ListAttachedRolePolicies', 1],
  ['config', 'PutEvaluations', 1],
];

const DEVELOPER_NAMES = ['alice', 'bob', 'carol', 'dmitri', 'erin', 'farah', 'gus', 'hana', 'ivan', 'jun'];
const APPLICATION_NAMES = [
  'orders-api',
  'billing-worker',
  'search-indexer',
  'notifications',
  'inventory-sync',
];

function ipPool(random: Random, count: number, prefix: string): string[] {
  return Array.from(
    { length: count },
    () => `${prefix}.${1 + random.nextInt(250)}.${1 + random.nextInt(250)}`,
  );
}

function keyId(prefix: string, random: Random): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = prefix;
  while (id.length < 20) id += alphabet[random.nextInt(alphabet.length)];
  return id;
}

function profiles(options: Required<Omit<SyntheticOptions, 'start'>>, random: Random): Profile[] {
  const { account, region } = options;
  const role = (roleName: string, session: (day: number) => string) => {
    const roleId = keyId('AROA', random);
    return (day: number): NonNullable<CloudTrailRecord['userIdentity']> => {
      const sessionName = session(day);
      return {
        type: 'AssumedRole',
        principalId: `${roleId}:${sessionName}`,
        arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
        accountId: account,
        accessKeyId: keyId('ASIA', createRandom(day * 7919 + roleName.length)),
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: roleId,
            arn: `arn:aws:iam::${account}:role/${roleName}`,
            accountId: account,
            userName: roleName,
          },
          attributes: { creationDate: '', mfaAuthenticated: 'false' },
        },
      };
    };
  };
  const result: Profile[] = [];

  result.push({
    name: 'ci',
    identity: role('ci-deploy', () => 'GitHubActions'),
    ips: ipPool(random, 6, '20.171'),
    userAgents: [
      'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1017-azure exe/x86_64.ubuntu.22',
      'aws-sdk-js/3.525.0 ua/2.0 os/linux#6.5.0 lang/js md/nodejs#20.11.1 api/cloudformation#3.525.0',
    ],
    regions: [region],
    callsAt: (hour, dow, r) =>
      dow >= 1 && dow <= 5 && hour >= 7 && hour <= 19 && r.next() < 0.45 ? 40 + r.nextInt(90) : 0,
    apis: CI_APIS,
    errorRate: 0.01,
    deniedRate: 0.002,
  });

  for (let d = 0; d < options.developers; d++) {
    const userName =
      DEVELOPER_NAMES[d % DEVELOPER_NAMES.length]! + (d >= DEVELOPER_NAMES.length ? String(d) : '');
    const startHour = 6 + ((d * 3) % 9);
    const accessKeyId = keyId('AKIA', random);
    const principalId = keyId('AIDA', random);
    const home = ipPool(random, 2, `${81 + d}.${10 + random.nextInt(200)}`);
    result.push({
      name: userName,
      identity: () => ({
        type: 'IAMUser',
        principalId,
        arn: `arn:aws:iam::${account}:user/${userName}`,
        accountId: account,
        accessKeyId,
        userName,
      }),
      ips: home,
      userAgents: [
        `aws-cli/2.${13 + (d % 3)}.${random.nextInt(30)} Python/3.11.6 Darwin/23.4.0 exe/x86_64 prompt/off`,
        `Boto3/1.34.${random.nextInt(80)} md/Botocore#1.34.${random.nextInt(80)} ua/2.0 os/macos#23.4.0 lang/python#3.12.2`,
      ],
      regions: [region, region, region, 'us-east-1'],
      callsAt: (hour, dow, r) => {
        const working = dow >= 1 && dow <= 5 && hour >= startHour && hour < startHour + 9;
        if (!working) return r.next() < 0.01 ? 3 + r.nextInt(10) : 0;
        return r.next() < 0.7 ? 5 + r.nextInt(50) : 0;
      },
      apis: DEVELOPER_APIS,
      errorRate: 0.03,
      deniedRate: 0.015,
    });
  }

  for (let a = 0; a < options.applications; a++) {
    const name =
      APPLICATION_NAMES[a % APPLICATION_NAMES.length]! + (a >= APPLICATION_NAMES.length ? String(a) : '');
    const taskPrefix = keyId('', random).slice(0, 8).toLowerCase();
    result.push({
      name,
      // ECS tasks are replaced daily: a new role session every day, same role.
      identity: role(`${name}-task`, (day) => `${taskPrefix}${(day * 2654435761) % 100000}`),
      ips: ipPool(random, 2, '10.20'),
      userAgents: [
        'aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 api/dynamodb#3.540.0',
      ],
      regions: [region],
      callsAt: (hour, _dow, r) => {
        const daytime = hour >= 7 && hour <= 21 ? 1.6 : 0.7;
        return Math.round((120 + r.nextInt(120)) * daytime);
      },
      apis: APPLICATION_APIS,
      errorRate: 0.004,
      deniedRate: 0,
    });
  }

  result.push({
    name: 'nightly-report',
    identity: role('cost-report-function', () => 'cost-report'),
    ips: ['34.245.18.220'],
    userAgents: [
      'aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 exec-env/AWS_Lambda_nodejs20.x',
    ],
    regions: [region, 'us-east-1', 'eu-central-1', 'us-west-2'],
    callsAt: (hour) => (hour === 2 ? 30 : 0),
    apis: REPORT_APIS,
    errorRate: 0,
    deniedRate: 0,
  });

  result.push({
    name: 'config-recorder',
    identity: role('AWSServiceRoleForConfig', () => 'AWSConfig-Describe'),
    ips: ['config.amazonaws.com'],
    userAgents: ['config.amazonaws.com'],
    regions: [region],
    callsAt: (_hour, _dow, r) => (r.next() < 0.3 ? 10 + r.nextInt(30) : 0),
    apis: CONFIG_APIS,
    errorRate: 0.02,
    deniedRate: 0,
  });
  return result;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[random.nextInt(items.length)]!;
}

function pickWeighted(random: Random, apis: readonly Api[], totalWeight: number): Api {
  let target = random.next() * totalWeight;
  for (const api of apis) {
    target -= api[2];
    if (target < 0) return api;
  }
  return apis[apis.length - 1]!;
}

function uuid(random: Random): string {
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[random.nextInt(16)]).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

/**
 * The benign history, hour by hour in time order (records within an hour sorted
 * by time). Lazy: take as many records as needed.
 */
export function* syntheticActivity(options: SyntheticOptions = {}): Generator<CloudTrailRecord> {
  const settings = { ...SYNTHETIC_DEFAULTS, ...options };
  const random = createRandom(settings.seed);
  const people = profiles(settings, random);
  const weights = new Map(people.map((p) => [p, p.apis.reduce((sum, api) => sum + api[2], 0)]));
  const startMs = Math.floor(settings.start.getTime() / 3_600_000) * 3_600_000;

  for (let hourIndex = 0; hourIndex < settings.days * 24; hourIndex++) {
    const hourStart = startMs + hourIndex * 3_600_000;
    const date = new Date(hourStart);
    const day = Math.floor(hourIndex / 24);
    const batch: CloudTrailRecord[] = [];
    for (const profile of people) {
      const calls = profile.callsAt(date.getUTCHours(), date.getUTCDay(), random);
      if (calls <= 0) continue;
      const identity = profile.identity(day);
      const ip = pick(random, profile.ips);
      // A burst: calls cluster within part of the hour, as a session or a job does.
      const burstStart = random.nextInt(40) * 60_000;
      const burstLength = (10 + random.nextInt(20)) * 60_000;
      for (let c = 0; c < calls; c++) {
        const [service, eventName] = pickWeighted(random, profile.apis, weights.get(profile)!);
        const time = hourStart + Math.min(3_599_000, burstStart + random.nextInt(burstLength));
        const failed = random.next() < profile.errorRate;
        const denied = random.next() < profile.deniedRate;
        const record: CloudTrailRecord = {
          eventVersion: '1.09',
          userIdentity: identity,
          eventTime: new Date(time).toISOString().replace('.000Z', 'Z'),
          eventSource: `${service}.amazonaws.com`,
          eventName,
          awsRegion: pick(random, profile.regions),
          sourceIPAddress: random.next() < 0.9 ? ip : pick(random, profile.ips),
          userAgent: pick(random, profile.userAgents),
          requestParameters: null,
          responseElements: null,
          requestID: uuid(random),
          eventID: uuid(random),
          readOnly: READ.test(eventName),
          eventType: 'AwsApiCall',
          managementEvent: true,
          recipientAccountId: settings.account,
          eventCategory: 'Management',
        };
        if (denied) {
          record.errorCode = 'AccessDenied';
          record.errorMessage = `User is not authorized to perform: ${service}:${eventName}`;
        } else if (failed) {
          record.errorCode = pick(random, [
            'ResourceNotFoundException',
            'ThrottlingException',
            'ValidationException',
          ]);
        }
        batch.push(record);
      }
    }
    batch.sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0));
    yield* batch;
  }
}

/** The principals the generator uses, by profile name, for re-attributing attacks. */
export function syntheticIdentity(
  name: string,
  day: number,
  options: SyntheticOptions = {},
): NonNullable<CloudTrailRecord['userIdentity']> {
  const settings = { ...SYNTHETIC_DEFAULTS, ...options };
  const profile = profiles(settings, createRandom(settings.seed)).find((p) => p.name === name);
  if (!profile) throw new Error(`no synthetic principal named ${name}`);
  return profile.identity(day);
}

export interface InjectOptions {
  /** When the attack starts; the records keep their relative timing. */
  readonly at: Date;
  /** Whose key is used: a synthetic principal's identity, or undefined to keep the records' own (a new principal). */
  readonly as?: NonNullable<CloudTrailRecord['userIdentity']>;
  readonly account?: string;
  /** Region the calls go to; default: each record's own if it looks real, else us-east-1. */
  readonly region?: string;
  /** Squeeze the attack into at most this many minutes (detonations can span days). Default 20. */
  readonly maxMinutes?: number;
}

const REAL_REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d$/;

/**
 * Copies of attack records re-attributed: new times from `at` on (relative offsets
 * kept, squeezed into `maxMinutes`), the chosen identity (the attacker's source IP
 * and user agent are kept: that is what a stolen key looks like), this account.
 */
export function injectAttack(
  records: readonly CloudTrailRecord[],
  options: InjectOptions,
): CloudTrailRecord[] {
  if (records.length === 0) return [];
  const times = records.map((r) => Date.parse(r.eventTime)).map((t) => (Number.isNaN(t) ? 0 : t));
  const first = Math.min(...times);
  const span = Math.max(...times) - first;
  const maxMs = (options.maxMinutes ?? 20) * 60_000;
  const scale = span > maxMs ? maxMs / span : 1;
  const account = options.account ?? SYNTHETIC_DEFAULTS.account;
  return records.map((record, i) => {
    const time = options.at.getTime() + Math.round((times[i]! - first) * scale);
    const identity = options.as ?? {
      ...record.userIdentity,
      ...(record.userIdentity?.accountId && { accountId: account }),
      ...(record.userIdentity?.arn && { arn: record.userIdentity.arn.replace(/::\d{12}:/, `::${account}:`) }),
    };
    return {
      ...record,
      userIdentity: identity,
      eventTime: new Date(time).toISOString().replace('.000Z', 'Z'),
      awsRegion: options.region ?? (REAL_REGION.test(record.awsRegion) ? record.awsRegion : 'us-east-1'),
      recipientAccountId: account,
    };
  });
}
