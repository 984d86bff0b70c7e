import { createHash } from 'node:crypto';
import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Decoy } from '../decoys/catalogue';
import type { KnownDecoy } from '../detection/rules';
import { type SyntheticOptions, syntheticActivity, syntheticIdentity } from '../scoring/synthetic';
import { attackStartOf, parseDuration, type Scenario, type ScenarioActor, ScenarioError } from './scenario';

/**
 * From a scenario to CloudTrail records: the benign history (training only), the
 * played period (benign and attack, in time order), each attack record tagged with
 * its step. Pure and deterministic: the same scenario and world give the same records.
 */

/** What the scenario's placeholders are filled from: the plan of the drilled deployment. */
export interface DrillWorld {
  account: string;
  homeRegion: string;
  partition: string;
  /** The planted decoys, the access key with the id the registry would hold. */
  decoys: KnownDecoy[];
  plantedKeyId: string;
  trailName: string;
  trailArn: string;
  busName: string;
  /** The ARN the planted parameters' KMS key has (made up offline: keys get a random id). */
  keyArn: string;
}

export type Phase = 'benign' | 'attack';

export interface PlayedRecord {
  record: CloudTrailRecord;
  phase: Phase;
  /** Attack records: the step (index in attack.steps) it comes from. */
  step?: number;
}

export interface PlayedScenario {
  /** Benign records before the played period: what the scorer is trained on. */
  history: CloudTrailRecord[];
  /** The played period, benign and attack records, in time order. */
  played: PlayedRecord[];
  playStart: number;
  playEnd: number;
  attackStart: number;
  /** The ARN each actor acted as (a step's principal). */
  actorArns: Record<string, string>;
}

const DAY_MS = 86_400_000;

/** A made-up but well-formed access key id, stable for a given seed. */
export function madeUpKeyId(prefix: 'AKIA' | 'ASIA' | 'AIDA', seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(seed).digest();
  let id = prefix;
  for (let i = 0; id.length < 20; i++) id += alphabet[digest[i]! % alphabet.length];
  return id;
}

/** A UUID-shaped id from a seed: CloudTrail event and request ids. */
export function madeUpUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function syntheticOptionsOf(scenario: Scenario, world: DrillWorld): SyntheticOptions | undefined {
  const synthetic = scenario.benign.synthetic;
  if (!synthetic) return undefined;
  const playStart = Date.parse(scenario.benign.playStart);
  const start = playStart - scenario.benign.historyDays * DAY_MS;
  return {
    start: new Date(start),
    days: Math.ceil((scenario.benign.historyDays * 24 + scenario.benign.playHours) / 24),
    seed: synthetic.seed,
    account: world.account,
    region: world.homeRegion,
    developers: synthetic.developers,
    applications: synthetic.applications,
  };
}

/**
 * Organization scenarios: each member account's world (its decoys, planted key),
 * by member name. The benign activity is generated in every member (each its own
 * seed), and each step runs in its account's world.
 */
export type MemberWorlds = Record<string, DrillWorld>;

export function playScenario(scenario: Scenario, world: DrillWorld, members?: MemberWorlds): PlayedScenario {
  const playStart = Date.parse(scenario.benign.playStart);
  const playEnd = playStart + scenario.benign.playHours * 3_600_000;
  const attackStart = attackStartOf(scenario);
  const history: CloudTrailRecord[] = [];
  const played: PlayedRecord[] = [];
  const memberNames = members ? Object.keys(members) : [];
  const worldOf = (name: string | undefined): DrillWorld =>
    members ? members[name ?? memberNames[0]!]! : world;

  const benignWorlds = members ? memberNames.map((name) => members[name]!) : [world];
  benignWorlds.forEach((benignWorld, i) => {
    const synthetic = syntheticOptionsOf(scenario, benignWorld);
    if (!synthetic) return;
    for (const record of syntheticActivity({ ...synthetic, seed: (synthetic.seed ?? 7) + i })) {
      const time = Date.parse(record.eventTime);
      if (time < playStart) history.push(record);
      else if (time < playEnd) played.push({ record, phase: 'benign' });
      else break;
    }
  });
  if (benignWorlds.length > 1) history.sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
  scenario.benign.records.forEach((raw, i) => {
    const record = fillPlaceholders(raw, worldOf(undefined), `benign.records.${i}`) as CloudTrailRecord;
    if (typeof record.eventTime !== 'string' || typeof record.eventName !== 'string') {
      throw new ScenarioError(
        `benign.records.${i}: a CloudTrail record needs eventTime, eventSource, eventName, awsRegion`,
      );
    }
    played.push({ record, phase: 'benign' });
  });

  const actorArns: Record<string, string> = {};
  let time = attackStart;
  scenario.attack.steps.forEach((step, i) => {
    time += parseDuration(step.after) ?? 0;
    const actor = scenario.actors[step.actor]!;
    const home = worldOf(actor.account);
    const memberIndex = members ? Math.max(0, memberNames.indexOf(actor.account ?? memberNames[0]!)) : 0;
    const synthetic = syntheticOptionsOf(scenario, home);
    const identity = identityOf(
      actor,
      step.actor,
      time,
      synthetic && { ...synthetic, seed: (synthetic.seed ?? 7) + memberIndex },
      home,
      i,
    );
    actorArns[step.actor] = String(identity.arn ?? step.actor);
    const record = stepRecord(scenario, i, identity, actor, time, worldOf(step.account ?? actor.account));
    played.push({ record, phase: 'attack', step: i });
  });

  // Stable sort: records of the same second keep benign-then-attack and step order.
  played.sort((a, b) => Date.parse(a.record.eventTime) - Date.parse(b.record.eventTime));
  return { history, played, playStart, playEnd, attackStart, actorArns };
}

type Identity = NonNullable<CloudTrailRecord['userIdentity']>;

function identityOf(
  actor: ScenarioActor,
  name: string,
  time: number,
  synthetic: SyntheticOptions | undefined,
  world: DrillWorld,
  step: number,
): Identity {
  if (actor.synthetic) {
    const day = Math.floor((time - synthetic!.start!.getTime()) / DAY_MS);
    try {
      return syntheticIdentity(actor.synthetic, day, synthetic);
    } catch (error) {
      throw new ScenarioError(`actors.${name}.synthetic: ${(error as Error).message}`);
    }
  }
  if (actor.plantedUser) {
    const user = world.decoys.find((d) => d.kind === 'iam-user');
    if (!user) {
      throw new ScenarioError(
        `attack.steps.${step}: actor "${name}" is the planted user, but the config plants no IAM user (decoys.iam.enabled)`,
      );
    }
    return {
      type: 'IAMUser',
      principalId: madeUpKeyId('AIDA', `${world.account}:${user.name}`),
      arn: user.arn,
      accountId: world.account,
      accessKeyId: world.plantedKeyId,
      userName: user.name,
    };
  }
  return fillPlaceholders(actor.identity, world, `actors.${name}.identity`) as Identity;
}

/** S3 calls CloudTrail logs as data events (object level), not management events. */
const S3_DATA_EVENTS = new Set([
  'GetObject',
  'HeadObject',
  'PutObject',
  'DeleteObject',
  'DeleteObjects',
  'CopyObject',
  'GetObjectAcl',
  'GetObjectTagging',
  'GetObjectAttributes',
  'ListObjects',
  'ListObjectsV2',
  'ListObjectVersions',
  'RestoreObject',
  'SelectObjectContent',
]);
const READ = /^(Get|List|Describe|Head|Lookup|Query|Scan|BatchGet|Filter|Generate|Decrypt|Select)/;

function stepRecord(
  scenario: Scenario,
  index: number,
  identity: Identity,
  actor: ScenarioActor,
  time: number,
  world: DrillWorld,
): CloudTrailRecord {
  const step = scenario.attack.steps[index]!;
  const where = `attack.steps.${index}`;
  const [service, eventName] = step.call ? (step.call.split(':') as [string, string]) : ['', ''];
  // IAM is global: its calls are logged (and reach EventBridge) in us-east-1 only.
  const region = service === 'iam' ? 'us-east-1' : (step.region ?? world.homeRegion);
  const seed = `${scenario.name}:${index}`;
  const request =
    step.request === undefined
      ? null
      : (fillPlaceholders(step.request, world, `${where}.request`) as Record<string, unknown> | null);
  const record: CloudTrailRecord = {
    eventVersion: '1.09',
    userIdentity: identity,
    eventTime: new Date(time).toISOString().replace('.000Z', 'Z'),
    eventSource: `${service}.amazonaws.com`,
    eventName,
    awsRegion: region,
    sourceIPAddress: step.via ?? actor.sourceIp,
    userAgent: step.via ?? actor.userAgent,
    requestParameters: request,
    responseElements: null,
    requestID: madeUpUuid(`${seed}:request`),
    eventID: madeUpUuid(`${seed}:event`),
    readOnly: READ.test(eventName),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: world.account,
    eventCategory: 'Management',
  };
  if (step.error) {
    record.errorCode = step.error;
    record.errorMessage =
      step.error === 'AccessDenied'
        ? `User: ${identity.arn} is not authorized to perform: ${service}:${eventName} because no identity-based policy allows the ${service}:${eventName} action`
        : step.error;
  }
  if (service === 's3' && S3_DATA_EVENTS.has(eventName) && typeof request?.bucketName === 'string') {
    const bucketArn = `arn:${world.partition}:s3:::${request.bucketName}`;
    record.managementEvent = false;
    record.eventCategory = 'Data';
    // Object calls name the object; listings name the prefix listed (ARNPrefix).
    const object =
      typeof request.key === 'string'
        ? { type: 'AWS::S3::Object', ARN: `${bucketArn}/${request.key}` }
        : {
            type: 'AWS::S3::Object',
            ARNPrefix: `${bucketArn}/${typeof request.prefix === 'string' ? request.prefix : ''}`,
          };
    record.resources = [object, { accountId: world.account, type: 'AWS::S3::Bucket', ARN: bucketArn }];
    record.additionalEventData = {
      SignatureVersion: 'SigV4',
      CipherSuite: 'TLS_AES_128_GCM_SHA256',
      bytesTransferredIn: 0,
      AuthenticationMethod: 'AuthHeader',
      bytesTransferredOut: step.error ? 0 : 1432,
    };
    request.Host ??= `${request.bucketName}.s3.${region}.amazonaws.com`;
  }
  if (step.record)
    return deepMerge(record, fillPlaceholders(step.record, world, `${where}.record`)) as CloudTrailRecord;
  return record;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(base[key], value);
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of each placeholder, from the world. */
export function placeholderValues(world: DrillWorld): Map<string, string> {
  const values = new Map<string, string>([
    ['account', world.account],
    ['region', world.homeRegion],
    ['trail', world.trailName],
    ['trailArn', world.trailArn],
    ['bus', world.busName],
    ['accessKeyId', world.plantedKeyId],
    ['keyArn', world.keyArn],
  ]);
  const first = (kind: Decoy['kind']) => world.decoys.find((d) => d.kind === kind);
  const bucket = first('s3-bucket');
  if (bucket) {
    values.set('bucket', bucket.name);
    values.set('bucketArn', bucket.arn);
  }
  for (const object of world.decoys.filter((d) => d.kind === 's3-object')) {
    if (!object.objectKind) continue;
    values.set(`object:${object.objectKind}`, object.name);
    values.set(`objectArn:${object.objectKind}`, object.arn);
  }
  world.decoys
    .filter((d) => d.kind === 'ssm-parameter')
    .forEach((parameter, i) => {
      values.set(`parameter:${i}`, parameter.name);
      values.set(`parameterArn:${i}`, parameter.arn);
    });
  // Secrets: the name, and the plan's ARN (a full ARN adds `-` and six characters: write `{{secretArn:0}}-AbCdEf`).
  world.decoys
    .filter((d) => d.kind === 'secretsmanager-secret')
    .forEach((secret, i) => {
      values.set(`secret:${i}`, secret.name);
      values.set(`secretArn:${i}`, secret.arn);
    });
  const user = first('iam-user');
  if (user) {
    values.set('user', user.name);
    values.set('userArn', user.arn);
  }
  const key = first('kms-key');
  if (key) values.set('keyAlias', key.name);
  return values;
}

const PLACEHOLDER = /\{\{([A-Za-z]+(?::[A-Za-z0-9-]+)?)\}\}/g;

/** A copy of `value` with every `{{name}}` in its strings replaced; an unknown name is an error naming where. */
export function fillPlaceholders(value: unknown, world: DrillWorld, path: string): unknown {
  const values = placeholderValues(world);
  const fill = (node: unknown, at: string): unknown => {
    if (typeof node === 'string') {
      return node.replace(PLACEHOLDER, (_, name: string) => {
        const found = values.get(name);
        if (found === undefined) {
          throw new ScenarioError(
            `${at}: unknown placeholder {{${name}}} (known here: ${[...values.keys()].map((k) => `{{${k}}}`).join(', ')})`,
          );
        }
        return found;
      });
    }
    if (Array.isArray(node)) return node.map((item, i) => fill(item, `${at}.${i}`));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, fill(item, `${at}.${key}`)]));
    }
    return node;
  };
  return fill(value, path);
}
