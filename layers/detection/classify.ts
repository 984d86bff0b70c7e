import type { CloudTrailRecord } from '../cloudtrail/record';
import type { Severity } from '../config/vocabulary';
import type { Actor } from '../findings/finding';
import type { DecoyIndex } from './decoy-index';
import type { KnownDecoy } from './rules';
import { severityRank, type TouchCategory, touchCategories } from './severity';
import {
  BUCKET_LISTINGS,
  BUCKET_READS,
  BUCKET_WRITES,
  CLOUDFORMATION_SERVICE,
  KEY_WRITES,
  OBJECT_CALLS,
  PARAMETER_ENCRYPTIONS,
  PARAMETER_LOOKUPS,
  PARAMETER_PATH_READS,
  PARAMETER_READS,
  PARAMETER_WRITES,
  RULE_TAMPERING,
  SECRET_DESCRIBES,
  SECRET_READS,
  SECRET_WRITES,
  TRAIL_TAMPERING,
  USER_WRITE_PREFIXES,
} from './vocabulary';

/**
 * From one CloudTrail record to the touches it is: which decoy, who, from where,
 * which call, allowed or denied, how severe. Pure; the rules decide what reaches
 * the touch function, this decides what it is (and, in the `broad` rule style, whether
 * it is anything at all).
 */

export interface ClassifyContext {
  trailName: string;
  trailArn: string;
  ruleNamePrefix: string;
  busName: string;
  /** The planter and other platform roles: their calls on decoys are not touches. */
  trustedRoleArns: readonly string[];
}

export interface DecoyRef {
  kind: string;
  name: string;
  arn?: string;
}

export interface Touch {
  kind: 'resource-access' | 'tamper';
  category: TouchCategory;
  severity: Severity;
  resource: DecoyRef;
  actor: Actor;
  /** For a role session: the role (allowlists name roles, not sessions). */
  issuerArn?: string;
  sourceIp?: string;
  userAgent?: string;
  region: string;
  account?: string;
  eventName: string;
  eventSource: string;
  eventId?: string;
  eventTime: string;
  outcome: 'allowed' | 'denied';
  errorCode?: string;
  /** Other decoys the same call named (GetParameters of two, a path read returning four). */
  alsoMatched?: DecoyRef[];
  /** For a call signed by the registered key: what it tried to reach, as the request named it. */
  target?: string;
}

export type IgnoreReason = 'trusted-principal' | 'deployer' | 'aws-service' | 'unmatched';

export interface Classification {
  /**
   * At most one: one call is one touch, of its most severe decoy (the first named on
   * a tie); the other decoys it named ride along in `alsoMatched`.
   */
  matches: Touch[];
  /** Why a record yields nothing (undefined when it yields touches). */
  ignored?: IgnoreReason;
}

type Params = Record<string, unknown>;

export function actorOf(record: CloudTrailRecord): Actor {
  const identity = record.userIdentity;
  const arn = identity?.arn ?? identity?.invokedBy ?? identity?.principalId ?? 'unknown';
  const type = identity?.type ?? 'Unknown';
  let sessionName: string | undefined;
  if (type === 'AssumedRole' && arn.includes(':assumed-role/'))
    sessionName = arn.split('/').slice(2).join('/');
  else if (type === 'FederatedUser' && arn.includes(':federated-user/')) sessionName = arn.split('/').at(-1);
  return {
    arn,
    type,
    ...(identity?.accessKeyId ? { accessKeyId: identity.accessKeyId } : {}),
    ...(sessionName ? { sessionName } : {}),
    ...(identity?.accountId ? { account: identity.accountId } : {}),
  };
}

export function classifyRecord(
  record: CloudTrailRecord,
  index: DecoyIndex,
  context: ClassifyContext,
): Classification {
  const identity = record.userIdentity;
  const params: Params = record.requestParameters ?? {};

  // 1. Signed by the decoy user: always a touch, whatever the call and its outcome.
  //    By key id (the registry's, live or retired), by ARN, or by name in the user's account.
  //    The ARN also catches GetSessionToken sessions: their ASIA... key id is in no registry.
  const userByName = identity?.type === 'IAMUser' ? sameAccountUser(index, identity) : undefined;
  const signingKey =
    (identity?.accessKeyId ? index.keyById.get(identity.accessKeyId) : undefined) ??
    (identity?.arn ? index.keyByUserArn.get(identity.arn) : undefined) ??
    (userByName ? index.keyByUserArn.get(userByName.arn) : undefined);
  if (signingKey) {
    const target = callTargetOf(record);
    return { matches: [{ ...touchOf(record, 'key-use', refOf(signingKey)), ...(target ? { target } : {}) }] };
  }

  // 2. The platform's own calls and AWS services acting on their own.
  const issuer = identity?.sessionContext?.sessionIssuer?.arn;
  if (
    (issuer && context.trustedRoleArns.includes(issuer)) ||
    (identity?.arn && context.trustedRoleArns.includes(identity.arn))
  ) {
    return { matches: [], ignored: 'trusted-principal' };
  }
  if (identity?.type === 'AWSService') return { matches: [], ignored: 'aws-service' };

  const found = new Map<string, Touch>();
  const add = (category: TouchCategory, decoy: DecoyRef) => {
    if (!ownedByRecipient(decoy, record)) return;
    if (!found.has(`${decoy.kind}\u0000${decoy.name}`)) {
      found.set(`${decoy.kind}\u0000${decoy.name}`, touchOf(record, category, decoy));
    }
  };
  const name = record.eventName;
  const deployer = identity?.invokedBy === CLOUDFORMATION_SERVICE;

  switch (record.eventSource) {
    case 'cloudtrail.amazonaws.com': {
      if (!TRAIL_TAMPERING.includes(name)) break;
      const refs = [params.name, params.trailName];
      if (refs.some((r) => r === context.trailName || r === context.trailArn)) {
        if (deployer) return { matches: [], ignored: 'deployer' };
        add('trail-tamper', { kind: 'trail', name: context.trailName, arn: context.trailArn });
      }
      break;
    }
    case 'events.amazonaws.com': {
      if (!RULE_TAMPERING.includes(name)) break;
      const rule = [params.name, params.rule].find(
        (r): r is string => typeof r === 'string' && r.startsWith(context.ruleNamePrefix),
      );
      const bus = name === 'DeleteEventBus' && params.name === context.busName;
      if (rule || bus) {
        if (deployer) return { matches: [], ignored: 'deployer' };
        add('rule-tamper', { kind: bus ? 'event-bus' : 'rule', name: bus ? context.busName : rule! });
      }
      break;
    }
    case 'ssm.amazonaws.com': {
      const category: TouchCategory = PARAMETER_WRITES.includes(name)
        ? 'resource-change'
        : PARAMETER_READS.includes(name)
          ? 'parameter-read'
          : 'other';
      const named = [params.name, ...(Array.isArray(params.names) ? params.names : []), params.resourceId];
      for (const reference of named) {
        const decoy = index.parameter(reference);
        if (decoy) add(category, refOf(decoy));
      }
      if (PARAMETER_PATH_READS.includes(name)) {
        // The response is not logged: the requested path and recursion say what it returned.
        const pathCategory =
          params.withDecryption === true ? 'parameter-path-decrypt' : 'parameter-path-read';
        for (const decoy of index.parametersUnder(params.path, params.recursive === true)) {
          add(pathCategory, refOf(decoy));
        }
      }
      if (PARAMETER_LOOKUPS.includes(name)) {
        for (const value of nameFilterValues(params)) {
          const decoy = index.parameter(value);
          if (decoy) add('parameter-lookup', refOf(decoy));
        }
      }
      break;
    }
    case 'kms.amazonaws.com': {
      if (PARAMETER_ENCRYPTIONS.includes(name)) {
        // A new value encrypted for the parameter: someone other than the planter wrote it.
        const arn = (params.encryptionContext as Params | undefined)?.PARAMETER_ARN;
        const decoy = typeof arn === 'string' ? index.parametersByArn.get(arn) : undefined;
        if (decoy) add('resource-change', refOf(decoy));
      } else if (name === 'Decrypt') {
        const context = params.encryptionContext as Params | undefined;
        const arn = context?.PARAMETER_ARN;
        const decoy = typeof arn === 'string' ? index.parametersByArn.get(arn) : undefined;
        if (decoy) add('parameter-decrypt', refOf(decoy));
        const secret = index.secret(context?.SecretARN);
        if (secret) add('secret-decrypt', refOf(secret));
      } else if (KEY_WRITES.includes(name)) {
        // The key as the caller named it, or as CloudTrail resolved it (resources: the key ARN).
        const resolved = (record.resources ?? []).map((r) => r.ARN ?? (r as { arn?: unknown }).arn);
        for (const reference of [params.keyId, params.targetKeyId, params.aliasName, ...resolved]) {
          const decoy = typeof reference === 'string' ? index.keys.get(reference) : undefined;
          if (decoy) add('resource-change', refOf(decoy));
        }
      }
      break;
    }
    case 'secretsmanager.amazonaws.com': {
      // BatchGetSecretValue by filters names no secret: its per-secret GetSecretValue records do.
      const ids = [params.secretId, ...(Array.isArray(params.secretIdList) ? params.secretIdList : [])];
      for (const id of ids) {
        const decoy = index.secret(id);
        if (!decoy) continue;
        if (SECRET_READS.includes(name)) add('secret-read', refOf(decoy));
        else if (SECRET_WRITES.includes(name)) add('resource-change', refOf(decoy));
        else if (SECRET_DESCRIBES.includes(name) || /^(Describe|Get|List)/.test(name)) {
          if (!isServiceLinked(issuer)) add('secret-describe', refOf(decoy));
        } else add('other', refOf(decoy));
      }
      break;
    }
    case 's3.amazonaws.com': {
      for (const [bucket, keys] of s3Targets(record, params)) {
        const bucketDecoy = index.buckets.get(bucket);
        if (!bucketDecoy) continue;
        // The most specific decoy: the object when the call names a key, else the bucket.
        const decoys =
          keys.size > 0
            ? [...keys].map((key) => index.objects.get(`${bucket}/${key}`) ?? bucketDecoy)
            : [bucketDecoy];
        for (const decoy of decoys) {
          if (OBJECT_CALLS.includes(name) || BUCKET_LISTINGS.includes(name))
            add('object-access', refOf(decoy));
          else if (BUCKET_WRITES.includes(name)) add('resource-change', refOf(bucketDecoy));
          else if (BUCKET_READS.includes(name) || /^(Get|List|Head)/.test(name)) {
            if (!isServiceLinked(issuer)) add('bucket-read', refOf(bucketDecoy));
          } else add(/^(Put|Delete|Create|Restore)/.test(name) ? 'resource-change' : 'other', refOf(decoy));
        }
      }
      break;
    }
    case 'iam.amazonaws.com': {
      const user = typeof params.userName === 'string' ? index.usersByName.get(params.userName) : undefined;
      const key = typeof params.accessKeyId === 'string' ? index.keyById.get(params.accessKeyId) : undefined;
      const write = USER_WRITE_PREFIXES.some((prefix) => name.startsWith(prefix));
      if (user) {
        if (write) add('resource-change', refOf(user));
        else if (!isServiceLinked(issuer)) add('user-read', refOf(user));
      }
      if (key && write) add('resource-change', refOf(key));
      break;
    }
  }
  const all = [...found.values()];
  if (all.length === 0) return { matches: [], ignored: 'unmatched' };
  const primary = all.reduce((best, t) =>
    severityRank(t.severity) > severityRank(best.severity) ? t : best,
  );
  const others = all.filter((t) => t !== primary).map((t) => t.resource);
  return { matches: [others.length > 0 ? { ...primary, alsoMatched: others } : primary] };
}

/** The values of DescribeParameters' name filters (`parameterFilters`, or the older `filters`). */
function nameFilterValues(params: Params): unknown[] {
  const values: unknown[] = [];
  for (const filters of [params.parameterFilters, params.filters]) {
    if (!Array.isArray(filters)) continue;
    for (const filter of filters as unknown[]) {
      if (typeof filter !== 'object' || filter === null) continue;
      const { key, values: named } = filter as Params;
      if (key === 'Name' && Array.isArray(named)) values.push(...named);
    }
  }
  return values;
}

/**
 * Request fields that name what a call is aimed at, most specific first. Hand-picked,
 * not exhaustive: AWS has no common field for "the resource" across services, and a
 * call none of them fits falls back to the resources CloudTrail resolved.
 */
const TARGET_FIELDS = [
  'secretId',
  'name',
  'names',
  'path',
  'userName',
  'roleName',
  'groupName',
  'policyArn',
  'functionName',
  'keyId',
  'trailName',
  'tableName',
  'queueUrl',
  'topicArn',
  'stackName',
  'roleArn',
  'resourceArn',
  'instanceId',
  'bucketName',
] as const;
const MAX_TARGET_LENGTH = 200;

/** What a call is aimed at, in the request's own words: `bucket/key`, a name, an ARN, or undefined. */
export function callTargetOf(record: CloudTrailRecord): string | undefined {
  const params: Params = record.requestParameters ?? {};
  const text = (value: unknown): string | undefined => {
    if (typeof value === 'string' && value.length > 0) return value;
    if (Array.isArray(value)) {
      const strings = value.filter((v): v is string => typeof v === 'string' && v.length > 0);
      if (strings.length > 0)
        return strings.length > 1 ? `${strings[0]} and ${strings.length - 1} more` : strings[0];
    }
    return undefined;
  };
  let target: string | undefined;
  if (typeof params.bucketName === 'string' && typeof params.key === 'string') {
    target = `${params.bucketName}/${params.key}`;
  }
  for (const field of TARGET_FIELDS) {
    if (target) break;
    target = text(params[field]);
  }
  if (!target) {
    const resource = (record.resources ?? [])[0];
    target = text(resource?.ARN ?? (resource as { arn?: unknown } | undefined)?.arn);
  }
  return target && target.length > MAX_TARGET_LENGTH ? `${target.slice(0, MAX_TARGET_LENGTH - 1)}…` : target;
}

function sameAccountUser(
  index: DecoyIndex,
  identity: NonNullable<CloudTrailRecord['userIdentity']>,
): KnownDecoy | undefined {
  const user = identity.userName ? index.usersByName.get(identity.userName) : undefined;
  return user && identity.accountId && user.arn.includes(`::${identity.accountId}:user/`) ? user : undefined;
}

/** Roles AWS services assume for themselves (AWS Config, Access Analyzer...): inventory, not intent. */
function isServiceLinked(issuerArn: string | undefined): boolean {
  return issuerArn?.includes(':role/aws-service-role/') ?? false;
}

/** The buckets an S3 record names (request, copy source, resources), each with the keys named in it. */
function s3Targets(record: CloudTrailRecord, params: Params): Map<string, Set<string>> {
  const targets = new Map<string, Set<string>>();
  const add = (bucket: string, key: string | undefined) => {
    const keys = targets.get(bucket) ?? new Set<string>();
    if (key) keys.add(key);
    targets.set(bucket, keys);
  };
  if (typeof params.bucketName === 'string') {
    add(params.bucketName, typeof params.key === 'string' ? params.key : undefined);
  }
  const copySource = params['x-amz-copy-source'];
  if (typeof copySource === 'string') {
    let source = copySource.replace(/^\//, '').split('?')[0]!;
    try {
      source = decodeURIComponent(source);
    } catch {
      // Not percent-encoded after all: use it as it is.
    }
    const slash = source.indexOf('/');
    if (slash > 0) add(source.slice(0, slash), source.slice(slash + 1));
  }
  for (const resource of record.resources ?? []) {
    const arn = resource.ARN ?? (resource as { arn?: unknown }).arn;
    if (typeof arn !== 'string' || !arn.includes(':s3:::')) continue;
    const path = arn.slice(arn.indexOf(':s3:::') + ':s3:::'.length);
    const slash = path.indexOf('/');
    if (slash < 0) add(path, undefined);
    else add(path.slice(0, slash), path.slice(slash + 1));
  }
  return targets;
}

/**
 * A decoy lives in one account: a same-named parameter in another account is not
 * it. The deployed rules see one account's events only, but replay and the drill
 * may read several accounts' logs. Regions are not compared on purpose: a decoy's
 * name used against another region's endpoint is still someone following the bait.
 * An ARN without an account (S3) or a record without recipientAccountId passes.
 */
function ownedByRecipient(decoy: DecoyRef, record: CloudTrailRecord): boolean {
  const account = (decoy.arn ?? '').split(':')[4];
  return !account || !record.recipientAccountId || account === record.recipientAccountId;
}

function refOf(decoy: KnownDecoy): DecoyRef {
  return { kind: decoy.kind, name: decoy.name, arn: decoy.arn };
}

function touchOf(record: CloudTrailRecord, category: TouchCategory, decoy: DecoyRef): Touch {
  const { severity, kind } = touchCategories[category];
  return {
    kind,
    category,
    severity,
    resource: decoy,
    actor: actorOf(record),
    ...(record.userIdentity?.sessionContext?.sessionIssuer?.arn
      ? { issuerArn: record.userIdentity.sessionContext.sessionIssuer.arn }
      : {}),
    ...(record.sourceIPAddress ? { sourceIp: record.sourceIPAddress } : {}),
    ...(record.userAgent ? { userAgent: record.userAgent } : {}),
    region: record.awsRegion,
    ...(record.recipientAccountId ? { account: record.recipientAccountId } : {}),
    eventName: record.eventName,
    eventSource: record.eventSource,
    ...(record.eventID ? { eventId: record.eventID } : {}),
    eventTime: record.eventTime,
    outcome: record.errorCode ? 'denied' : 'allowed',
    ...(record.errorCode ? { errorCode: record.errorCode } : {}),
  };
}
