import type { Decoy } from '../decoys/catalogue';
import type { RegisteredDecoy } from '../decoys/registry';
import type { EventPattern } from '../event-pattern';
import {
  BUCKET_LISTINGS,
  BUCKET_READS,
  BUCKET_WRITES,
  CLOUDFORMATION_SERVICE,
  CLOUDTRAIL_DETAIL_TYPES,
  KEY_WRITES,
  OBJECT_CALLS,
  PARAMETER_PATH_READS,
  PARAMETER_READS,
  PARAMETER_WRITES,
  RULE_TAMPERING,
  TRAIL_TAMPERING,
} from './vocabulary';

/**
 * The one function that turns a decoy list into EventBridge rules. The detection
 * construct deploys exactly its output (a CDK test compares them), and `replay`,
 * the tests and the drill run the same output through the local matcher, so what
 * is tested is what deploys.
 *
 * Two styles (config detection.ruleStyle):
 * - `named`: the patterns list the decoys (parameter names and ARNs, the bucket, the
 *   user). Precise and cheap, but whoever can read rules (ReadOnlyAccess can) reads
 *   the decoy list out of them.
 * - `broad`: the patterns list services and API names only; the touch function sorts
 *   the matches against the registry, which ReadOnlyAccess cannot read. Costs one
 *   invocation per matching call in the account (every GetParameter, every call
 *   signed by any IAM user's key, ...).
 * Tampering patterns (trail, rules) name only the trail and the rules, which are
 * visible anyway, and are the same in both styles.
 */

export type RuleStyle = 'named' | 'broad';

/**
 * A decoy as the registry knows it (layers/decoys/registry.ts): the catalogue's decoy,
 * plus, for the access key, its live and retired key ids. The plan has no key ids.
 */
export type KnownDecoy = RegisteredDecoy;

/** Every key id of the decoy key, live or retired: a stale stolen copy is still a touch. */
export function keyIdsOf(decoy: KnownDecoy): string[] {
  return [...(decoy.accessKeyIds ?? []), ...(decoy.retiredAccessKeyIds ?? [])];
}

export interface DetectionContext {
  style: RuleStyle;
  /** Deployed rule names start with it (and the tampering pattern watches it). Neutral. */
  ruleNamePrefix: string;
  /** Name of the central bus; deleting it is tampering. */
  busName: string;
  /** The trail detection depends on. */
  trailName: string;
  trailArn: string;
  /** The planter's role: its create/refresh/delete calls on decoys are not touches. */
  planterRoleArn?: string;
  /** More roles whose calls on decoys are the platform's own (the response machinery, say). */
  trustedRoleArns?: readonly string[];
  /** The decoy parameters' KMS key ARN, when known (the catalogue knows only its alias). */
  keyArn?: string;
}

export type RuleConcern = 'identity' | 'parameters' | 'keys' | 'objects' | 'directory' | 'tampering';

export interface DetectionRule {
  name: string;
  description: string;
  pattern: EventPattern;
  /** What the rule watches (not deployed: names and descriptions stay neutral). */
  concern: RuleConcern;
}

/** EventBridge's default limit on an event pattern, in characters. */
export const PATTERN_SIZE_LIMIT = 2048;

/**
 * How many characters one unresolved CDK token (account, partition, a role ARN) may
 * take once CloudFormation resolves it: generous, so that a synthesized pattern
 * that fits here fits in the account.
 */
const TOKEN_ALLOWANCE = 100;
const TOKEN = /\$\{Token\[[^\]]+\]\}/g;

/** A pattern's size in characters, counting each unresolved token at its largest. */
export function patternSize(pattern: EventPattern): number {
  const text = JSON.stringify(pattern);
  let size = text.length;
  for (const match of text.matchAll(TOKEN)) size += TOKEN_ALLOWANCE - match[0].length;
  return size;
}

export class DetectionRuleError extends Error {
  override readonly name = 'DetectionRuleError';
}

/** Rule names are `<prefix><two digits>`; EventBridge allows 64 characters of [.-_A-Za-z0-9]. */
const RULE_NAME_PREFIX = /^[.\-_A-Za-z0-9]{1,62}$/;

/** Every rule detection needs for `decoys`, patterns each under PATTERN_SIZE_LIMIT. */
export function buildDetectionRules(
  decoys: readonly KnownDecoy[],
  context: DetectionContext,
): DetectionRule[] {
  if (!RULE_NAME_PREFIX.test(context.ruleNamePrefix)) {
    throw new DetectionRuleError(
      `ruleNamePrefix "${context.ruleNamePrefix}": expected 1-62 letters, digits, dots, dashes or underscores`,
    );
  }
  const trusted = trustedRoles(context);
  const rules: DetectionRule[] = [];
  const add = (concern: RuleConcern, number: number, pattern: EventPattern) => {
    const size = patternSize(pattern);
    if (size > PATTERN_SIZE_LIMIT) {
      throw new DetectionRuleError(
        `the ${concern} pattern needs ${size} characters, over EventBridge's ${PATTERN_SIZE_LIMIT}`,
      );
    }
    rules.push({
      name: `${context.ruleNamePrefix}${String(number).padStart(2, '0')}`,
      description: 'Routes platform audit events',
      pattern,
      concern,
    });
  };
  const of = (kind: Decoy['kind']) => decoys.filter((d) => d.kind === kind);
  const named = context.style === 'named';

  // 1. Any call signed by the decoy user, allowed or denied (a denied call may carry
  //    no request parameters, so the identity is the only thing to match on). By ARN
  //    as well as key id: sts:GetSessionToken cannot be denied, and calls signed with
  //    the session it returns carry the user's ARN under a new ASIA... key id.
  const users = of('iam-user');
  const keyIds = decoys.flatMap(keyIdsOf);
  if (!named) add('identity', 10, identityPattern({ type: ['IAMUser'] }));
  else if (users.length > 0 || keyIds.length > 0) {
    const arns = users.map((u) => u.arn);
    const byKey = keyIds.length > 0 ? { accessKeyId: keyIds } : undefined;
    const byArn = arns.length > 0 ? { arn: arns } : undefined;
    add('identity', 10, identityPattern(eitherOf(byArn, byKey)));
  }

  // 2. Parameters: by name (GetParameter...), by names (GetParameters), by an
  //    ancestor path (GetParametersByPath), by resource id (tags), and their KMS key.
  const parameters = of('ssm-parameter');
  if (!named) {
    add(
      'parameters',
      20,
      servicePattern(
        'ssm',
        { eventName: [...PARAMETER_READS, ...PARAMETER_PATH_READS, ...PARAMETER_WRITES] },
        trusted,
      ),
    );
  } else if (parameters.length > 0) {
    const chunks = chunk(parameters, (part) => servicePattern('ssm', namedParameterFields(part), trusted));
    for (const [i, pattern] of chunks.entries()) add('parameters', 20 + i, pattern);
  }

  const keys = of('kms-key');
  if (!named) {
    add(
      'keys',
      30,
      keysPattern(
        [
          {
            eventName: ['Decrypt'],
            requestParameters: { encryptionContext: { PARAMETER_ARN: [{ exists: true }] } },
          },
          { eventName: KEY_WRITES },
        ],
        trusted,
      ),
    );
  } else if (parameters.length > 0 || keys.length > 0) {
    const keyRefs = [...keys.flatMap((k) => [k.name, k.arn]), ...(context.keyArn ? [context.keyArn] : [])];
    const keyWrites =
      keyRefs.length > 0
        ? [
            {
              eventName: KEY_WRITES,
              requestParameters: {
                $or: [{ keyId: keyRefs }, { targetKeyId: keyRefs }, { aliasName: keys.map((k) => k.name) }],
              },
            },
          ]
        : [];
    const decrypts = (part: KnownDecoy[]) =>
      part.length > 0
        ? [
            {
              eventName: ['Decrypt'],
              requestParameters: { encryptionContext: { PARAMETER_ARN: part.map((p) => p.arn) } },
            },
          ]
        : [];
    if (parameters.length === 0) add('keys', 30, keysPattern(keyWrites, trusted));
    else {
      const chunks = chunk(parameters, (part, first) =>
        keysPattern([...decrypts(part), ...(first ? keyWrites : [])], trusted),
      );
      for (const [i, pattern] of chunks.entries()) add('keys', 30 + i, pattern);
    }
  }

  // 3. The bait bucket: every call naming it, object-level (data events) and bucket-level.
  const buckets = of('s3-bucket');
  if (!named) {
    add(
      'objects',
      40,
      servicePattern(
        's3',
        { eventName: [...OBJECT_CALLS, ...BUCKET_LISTINGS, ...BUCKET_READS, ...BUCKET_WRITES] },
        trusted,
      ),
    );
  } else if (buckets.length > 0) {
    const names = buckets.map((b) => b.name);
    const arns = buckets.flatMap((b) => [b.arn, { prefix: `${b.arn}/` }]);
    add(
      'objects',
      40,
      servicePattern(
        's3',
        { $or: [{ requestParameters: { bucketName: names } }, { resources: { ARN: arns } }] },
        trusted,
      ),
    );
  }

  // 4. The decoy user as the subject of IAM calls (IAM's events arrive in us-east-1 only).
  if (!named) {
    add(
      'directory',
      50,
      servicePattern('iam', { requestParameters: { userName: [{ exists: true }] } }, trusted),
    );
  } else if (users.length > 0 || keyIds.length > 0) {
    const byName = users.length > 0 ? { userName: users.map((u) => u.name) } : undefined;
    const byKey = keyIds.length > 0 ? { accessKeyId: keyIds } : undefined;
    add('directory', 50, servicePattern('iam', { requestParameters: eitherOf(byName, byKey) }, trusted));
  }

  // 5. Tampering with the trail or the rules. Twice, under two names: deleting one
  //    rule is still seen by the other (the two deliveries of one event dedupe).
  const tampering = tamperingPattern(context);
  add('tampering', 60, tampering);
  add('tampering', 61, tampering);
  return rules;
}

/** Whichever of two alternatives exists, or both in an `$or`. At least one must exist. */
function eitherOf(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return a && b ? { $or: [a, b] } : (a ?? b)!;
}

/** The roles whose calls are the platform's own: the planter and any others configured. */
export function trustedRoles(context: DetectionContext): string[] {
  return [...(context.planterRoleArn ? [context.planterRoleArn] : []), ...(context.trustedRoleArns ?? [])];
}

/**
 * Leaves out calls made by one of `roles` (matched on the session issuer, the role
 * behind an assumed-role session). anything-but matches only a field that is
 * present, so the `$or` keeps callers without a session issuer (IAM users, root).
 */
function userIdentityExcluding(
  roles: readonly string[],
  alsoExcludeDeployer = false,
): Record<string, unknown> {
  const identity: Record<string, unknown> = {};
  if (roles.length > 0) {
    identity.sessionContext = {
      sessionIssuer: { $or: [{ arn: [{ 'anything-but': [...roles] }] }, { arn: [{ exists: false }] }] },
    };
  }
  if (alsoExcludeDeployer) {
    identity.$or = [
      { invokedBy: [{ 'anything-but': [CLOUDFORMATION_SERVICE] }] },
      { invokedBy: [{ exists: false }] },
    ];
  }
  return identity;
}

function withIdentity(detail: Record<string, unknown>, roles: readonly string[]): Record<string, unknown> {
  return roles.length > 0 ? { ...detail, userIdentity: userIdentityExcluding(roles) } : detail;
}

function identityPattern(userIdentity: Record<string, unknown>): EventPattern {
  return { 'detail-type': CLOUDTRAIL_DETAIL_TYPES, detail: { userIdentity } };
}

/** A pattern on one service's CloudTrail events (`aws.<service>`), leaving out the trusted roles' calls. */
function servicePattern(
  service: 'ssm' | 'kms' | 's3' | 'iam',
  fields: Record<string, unknown>,
  trusted: readonly string[],
): EventPattern {
  return {
    source: [`aws.${service}`],
    'detail-type': CLOUDTRAIL_DETAIL_TYPES,
    detail: withIdentity({ eventSource: [`${service}.amazonaws.com`], ...fields }, trusted),
  };
}

/**
 * How a parameter can be named in a call: its name, its name with a version or
 * label (`/a/b:3`), or its ARN in any region. A plain prefix on the name would also
 * catch look-alikes (`/a/b-old`), hence the colon.
 */
function parameterNameValues(parameters: readonly KnownDecoy[]): unknown[] {
  return parameters.flatMap((p) => [p.name, { prefix: `${p.name}:` }, { suffix: `:parameter${p.name}` }]);
}

/** Every path whose GetParametersByPath can return one of `parameters`, with and without the trailing slash. */
export function ancestorPaths(names: readonly string[]): string[] {
  const paths = new Set<string>();
  for (const name of names) {
    if (!name.startsWith('/')) continue;
    paths.add('/');
    const parts = name.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const path = `/${parts.slice(0, i).join('/')}`;
      paths.add(path);
      paths.add(`${path}/`);
    }
  }
  return [...paths];
}

function namedParameterFields(parameters: readonly KnownDecoy[]): Record<string, unknown> {
  const values = parameterNameValues(parameters);
  // Tagging calls name the parameter plainly (resourceId), never by ARN or version.
  const alternatives: Record<string, unknown>[] = [
    { name: values },
    { names: values },
    { resourceId: parameters.map((p) => p.name) },
  ];
  const paths = ancestorPaths(parameters.map((p) => p.name));
  if (paths.length > 0) alternatives.push({ path: paths });
  return { requestParameters: { $or: alternatives } };
}

function keysPattern(alternatives: Record<string, unknown>[], trusted: readonly string[]): EventPattern {
  return servicePattern('kms', alternatives.length === 1 ? alternatives[0]! : { $or: alternatives }, trusted);
}

function tamperingPattern(context: DetectionContext): EventPattern {
  const trailRefs = [...new Set([context.trailName, context.trailArn])];
  const notDeployer = userIdentityExcluding([], true);
  return {
    'detail-type': CLOUDTRAIL_DETAIL_TYPES,
    $or: [
      {
        source: ['aws.cloudtrail'],
        detail: {
          eventSource: ['cloudtrail.amazonaws.com'],
          eventName: TRAIL_TAMPERING,
          requestParameters: { $or: [{ name: trailRefs }, { trailName: trailRefs }] },
          userIdentity: notDeployer,
        },
      },
      {
        source: ['aws.events'],
        detail: {
          eventSource: ['events.amazonaws.com'],
          eventName: RULE_TAMPERING,
          requestParameters: {
            $or: [
              { name: [{ prefix: context.ruleNamePrefix }, context.busName] },
              { rule: [{ prefix: context.ruleNamePrefix }] },
            ],
          },
          userIdentity: notDeployer,
        },
      },
    ],
  };
}

/**
 * Splits `items` into as few consecutive groups as keep each built pattern within the
 * size limit. One item too large on its own is an error naming it.
 */
function chunk(
  items: readonly KnownDecoy[],
  build: (part: KnownDecoy[], first: boolean) => EventPattern,
): EventPattern[] {
  const patterns: EventPattern[] = [];
  const fits = (part: KnownDecoy[]) => patternSize(build(part, patterns.length === 0)) <= PATTERN_SIZE_LIMIT;
  let current: KnownDecoy[] = [];
  for (const item of items) {
    const candidate = [...current, item];
    if (fits(candidate)) {
      current = candidate;
      continue;
    }
    if (current.length > 0) patterns.push(build(current, patterns.length === 0));
    current = [item];
    if (!fits(current)) {
      throw new DetectionRuleError(
        `decoy ${item.name} alone makes a pattern over EventBridge's ${PATTERN_SIZE_LIMIT} characters`,
      );
    }
  }
  if (current.length > 0) patterns.push(build(current, patterns.length === 0));
  return patterns;
}
