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
} from './vocabulary';

/**
 * The one function that turns a decoy list into EventBridge rules. The detection
 * construct deploys exactly its output (a CDK test compares them), and `replay`,
 * the tests and the drill run the same output through the local matcher, so what
 * is tested is what deploys.
 *
 * Two styles (config detection.ruleStyle):
 * - `broad` (the default): the patterns name services, API names and the request
 *   fields a decoy can be named by, never a decoy; the touch function sorts the
 *   matches against the registry, which ReadOnlyAccess cannot read. Decoy names are
 *   chosen at plant time, so a synthesized rule could not know them anyway. Costs one
 *   invocation per matching call in the account (every call naming a parameter,
 *   every SecureString Decrypt, every S3 call naming a bucket, every call signed by
 *   any IAM user's key, ...).
 * - `named`: the patterns list the decoys the plan knows at synth time (parameter
 *   names and ARNs, the bucket, the user). Fewer invocations, but whoever can read
 *   rules (ReadOnlyAccess can) reads the decoy list out of them.
 * Tampering patterns (trail, rules) name only the trail and the rules, which are
 * visible anyway, and are the same in both styles. No broad pattern may name a decoy:
 * test/infra/stealth.test.ts checks every deployed pattern against the plan.
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
  /**
   * The kinds watched by service and API name rather than by name. Broad style: every
   * planted kind. Named style: the kinds whose names are chosen at plant time (not in
   * the config), which no synthesized pattern can list. Default: every kind in broad
   * style, none in named style.
   */
  watchedBroadly?: readonly UnnamedKind[];
}

/** The kinds whose names the config may leave to the planter. */
export const UNNAMEABLE_KINDS = ['ssm-parameter', 's3-bucket', 'iam-user', 'secretsmanager-secret'] as const;
export type UnnamedKind = (typeof UNNAMEABLE_KINDS)[number];

export type RuleConcern =
  | 'identity'
  | 'parameters'
  | 'keys'
  | 'objects'
  | 'directory'
  | 'secrets'
  | 'tampering';

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
  // Named style lists a kind only when its names are known at synth; a kind planted
  // under names chosen at plant time is watched broadly, as in the broad style.
  const broadly = new Set<UnnamedKind>(
    context.watchedBroadly ?? (context.style === 'broad' ? UNNAMEABLE_KINDS : []),
  );
  const broadFor = (kind: UnnamedKind) => broadly.has(kind);

  // 1. Any call signed by the decoy user, allowed or denied (a denied call may carry
  //    no request parameters, so the identity is the only thing to match on). By ARN
  //    as well as key id: sts:GetSessionToken cannot be denied, and calls signed with
  //    the session it returns carry the user's ARN under a new ASIA... key id.
  const users = of('iam-user');
  const keyIds = decoys.flatMap(keyIdsOf);
  if (broadFor('iam-user')) add('identity', 10, identityPattern({ type: ['IAMUser'] }));
  else if (users.length > 0 || keyIds.length > 0) {
    const arns = users.map((u) => u.arn);
    const byKey = keyIds.length > 0 ? { accessKeyId: keyIds } : undefined;
    const byArn = arns.length > 0 ? { arn: arns } : undefined;
    add('identity', 10, identityPattern(eitherOf(byArn, byKey)));
  }

  // 2. Parameters: by name (GetParameter...), by names (GetParameters), by an
  //    ancestor path (GetParametersByPath), by resource id (tags), and their KMS key.
  //    Broad: every SSM call that carries one of those fields, whatever its name (the
  //    named patterns do not filter on the call either), plus the listed calls.
  const parameters = of('ssm-parameter');
  if (broadFor('ssm-parameter')) {
    add(
      'parameters',
      20,
      servicePattern(
        'ssm',
        {
          $or: [
            { eventName: [...PARAMETER_READS, ...PARAMETER_PATH_READS, ...PARAMETER_WRITES] },
            ...anyFieldPresent(PARAMETER_FIELDS),
            // A lookup filtered by name; an unfiltered listing is inventory and stays out.
            {
              eventName: PARAMETER_LOOKUPS,
              requestParameters: {
                $or: [{ parameterFilters: { key: ['Name'] } }, { filters: { key: ['Name'] } }],
              },
            },
          ],
        },
        trusted,
      ),
    );
  } else if (parameters.length > 0) {
    const chunks = chunk(parameters, (part) => servicePattern('ssm', namedParameterFields(part), trusted));
    for (const [i, pattern] of chunks.entries()) add('parameters', 20 + i, pattern);
  }

  const keys = of('kms-key');
  if (broadFor('ssm-parameter')) {
    add(
      'keys',
      30,
      keysPattern(
        [
          {
            eventName: ['Decrypt', ...PARAMETER_ENCRYPTIONS],
            requestParameters: { encryptionContext: { PARAMETER_ARN: [{ exists: true }] } },
          },
          { eventName: KEY_WRITES },
        ],
        trusted,
      ),
    );
  } else if (parameters.length > 0 || keys.length > 0) {
    const keyRefs = [...keys.flatMap((k) => [k.name, k.arn]), ...(context.keyArn ? [context.keyArn] : [])];
    const aliases = keys.map((k) => k.name).filter((name) => name.startsWith('alias/'));
    // CloudTrail resolves the key in `resources` whatever the caller named it by (bare id, alias).
    const keyArns = [
      ...keys.map((k) => k.arn).filter((arn) => arn.includes(':key/')),
      ...(context.keyArn ? [context.keyArn] : []),
    ];
    const keyWrites =
      keyRefs.length > 0
        ? [
            {
              eventName: KEY_WRITES,
              $or: [
                { requestParameters: { keyId: keyRefs } },
                { requestParameters: { targetKeyId: keyRefs } },
                ...(aliases.length > 0 ? [{ requestParameters: { aliasName: aliases } }] : []),
                ...(keyArns.length > 0 ? [{ resources: { ARN: keyArns } }] : []),
              ],
            },
          ]
        : [];
    const decrypts = (part: KnownDecoy[]) =>
      part.length > 0
        ? [
            {
              eventName: ['Decrypt', ...PARAMETER_ENCRYPTIONS],
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
  //    Broad: every S3 call that names a bucket (request or resources), whatever its
  //    name, plus the listed calls. Data events reach EventBridge only for the buckets
  //    the trail selects, so object calls on other buckets never get here.
  const buckets = of('s3-bucket');
  if (broadFor('s3-bucket')) {
    add(
      'objects',
      40,
      servicePattern(
        's3',
        {
          $or: [
            { eventName: [...OBJECT_CALLS, ...BUCKET_LISTINGS, ...BUCKET_READS, ...BUCKET_WRITES] },
            { requestParameters: { bucketName: [{ exists: true }] } },
            { resources: { type: ['AWS::S3::Bucket', 'AWS::S3::Object'] } },
          ],
        },
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

  // 4. The decoy user as the subject of IAM calls (IAM's events arrive in us-east-1 only),
  //    by user name or by access key id (UpdateAccessKey and DeleteAccessKey may name
  //    only the key).
  if (broadFor('iam-user')) {
    add(
      'directory',
      50,
      servicePattern('iam', { $or: anyFieldPresent(['userName', 'accessKeyId']) }, trusted),
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

  // 6. Secrets Manager secrets: every call naming one (secretId; BatchGetSecretValue's
  //     secretIdList), and KMS Decrypt with the secret's ARN in the encryption context
  //     (Secrets Manager decrypts on the caller's behalf, so the caller's identity shows).
  //     Broad: every Secrets Manager call carrying those fields, plus the listed calls
  //     (BatchGetSecretValue by filters names no secret; its per-secret GetSecretValue
  //     records do), and every Decrypt of any secret.
  const secrets = of('secretsmanager-secret');
  if (broadFor('secretsmanager-secret')) {
    add(
      'secrets',
      70,
      servicePattern(
        'secretsmanager',
        {
          $or: [
            { eventName: [...SECRET_READS, ...SECRET_DESCRIBES, ...SECRET_WRITES] },
            ...anyFieldPresent(SECRET_FIELDS),
          ],
        },
        trusted,
      ),
    );
    add(
      'keys',
      80,
      keysPattern(
        [
          {
            eventName: ['Decrypt'],
            requestParameters: { encryptionContext: { SecretARN: [{ exists: true }] } },
          },
        ],
        trusted,
      ),
    );
  } else if (secrets.length > 0) {
    const chunks = chunk(secrets, (part) =>
      servicePattern(
        'secretsmanager',
        { requestParameters: { $or: SECRET_FIELDS.map((field) => ({ [field]: secretIdValues(part) })) } },
        trusted,
      ),
    );
    for (const [i, pattern] of chunks.entries()) add('secrets', 70 + i, pattern);
    const decrypts = chunk(secrets, (part) =>
      keysPattern(
        [
          {
            eventName: ['Decrypt'],
            requestParameters: { encryptionContext: { SecretARN: secretArnValues(part) } },
          },
        ],
        trusted,
      ),
    );
    for (const [i, pattern] of decrypts.entries()) add('keys', 80 + i, pattern);
  }
  return rules;
}

/** The request fields a Secrets Manager call names a secret by. */
const SECRET_FIELDS = ['secretId', 'secretIdList'];

/**
 * The full ARNs of `secrets` in any region: Secrets Manager appends `-` and six
 * characters to the name, unknown until the secret exists (and different in each
 * replica region). A look-alike (`name-old-abc123`) may match; the touch function
 * compares exactly (decoy-index.ts).
 */
function secretArnValues(secrets: readonly KnownDecoy[]): unknown[] {
  return secrets.map((s) => {
    const account = s.arn.split(':')[4] ?? '*';
    return { wildcard: `arn:*:secretsmanager:*:${account}:secret:${s.name}-*` };
  });
}

/** How a call may name a secret: its name, a partial ARN (no suffix), or its full ARN. */
function secretIdValues(secrets: readonly KnownDecoy[]): unknown[] {
  return [...secrets.flatMap((s) => [s.name, { suffix: `:secret:${s.name}` }]), ...secretArnValues(secrets)];
}

/** The request fields an SSM call names a parameter by (tagging calls: `resourceId`). */
const PARAMETER_FIELDS = ['name', 'names', 'resourceId', 'path'];

/** `$or` alternatives, one per field: the request parameters carry `field`. Flat, not nested. */
function anyFieldPresent(fields: readonly string[]): Record<string, unknown>[] {
  return fields.map((field) => ({ requestParameters: { [field]: [{ exists: true }] } }));
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
  service: 'ssm' | 'kms' | 's3' | 'iam' | 'secretsmanager',
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
  const plainNames = parameters.map((p) => p.name);
  const alternatives: Record<string, unknown>[] = [
    { name: values },
    { names: values },
    { resourceId: plainNames },
    // DescribeParameters filtered by name (the classifier checks the filter's key).
    { parameterFilters: { values: plainNames } },
    { filters: { values: plainNames } },
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
