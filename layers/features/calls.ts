import type { CloudTrailRecord } from '../cloudtrail/record';

/**
 * What one call says about its caller: is it a write, was it denied, is it one of
 * the calls an intruder makes early (reading secrets, mapping IAM, blinding the
 * trail, minting credentials). Pure lookups, cached per API.
 */

export type SensitiveCategory =
  | 'secret-read'
  | 'iam-enumeration'
  | 'iam-change'
  | 'logging-change'
  | 'credential-creation';

export interface SensitiveCallRule {
  /** The service's eventSource without `.amazonaws.com`, e.g. `iam`. */
  readonly service: string;
  /** Event names; a trailing `*` matches a prefix. */
  readonly names: readonly string[];
  readonly category: SensitiveCategory;
  readonly why: string;
}

/**
 * The documented list of sensitive calls. Order matters: the first rule that
 * matches gives the category (so iam:CreateAccessKey is credential creation, not
 * a plain IAM change).
 */
export const SENSITIVE_CALLS: readonly SensitiveCallRule[] = [
  {
    service: 'iam',
    names: ['CreateAccessKey', 'CreateLoginProfile', 'UpdateLoginProfile', 'UploadSSHPublicKey'],
    category: 'credential-creation',
    why: 'new long-lived credentials are how access outlasts the rotation of a stolen key',
  },
  {
    service: 'sts',
    names: ['GetFederationToken', 'GetSessionToken'],
    category: 'credential-creation',
    why: 'federation and session tokens outlive the revocation of the key that minted them',
  },
  {
    service: 'ec2',
    names: ['CreateKeyPair', 'ImportKeyPair'],
    category: 'credential-creation',
    why: 'an SSH key pair of their own opens instances to whoever made it',
  },
  {
    service: 'ec2-instance-connect',
    names: ['SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'],
    category: 'credential-creation',
    why: 'pushes a key onto a running instance for interactive access',
  },
  {
    service: 'rolesanywhere',
    names: ['CreateTrustAnchor', 'CreateProfile'],
    category: 'credential-creation',
    why: 'a trust anchor lets certificates from outside the account assume roles',
  },
  {
    service: 'kms',
    names: ['CreateKey', 'ScheduleKeyDeletion', 'DisableKey', 'PutKeyPolicy'],
    category: 'credential-creation',
    why: 'key creation and key policy changes are rare outside provisioning pipelines',
  },
  {
    service: 'secretsmanager',
    names: ['GetSecretValue', 'BatchGetSecretValue'],
    category: 'secret-read',
    why: 'reading secret values is the first thing a credential thief does with a key',
  },
  {
    service: 'ssm',
    names: ['GetParameter', 'GetParameters', 'GetParametersByPath'],
    category: 'secret-read',
    why: 'parameters hold passwords and tokens; counted when decrypted (or when the request is not logged)',
  },
  {
    service: 'ec2',
    names: ['GetPasswordData'],
    category: 'secret-read',
    why: 'returns the encrypted Windows administrator password of an instance',
  },
  {
    service: 'lambda',
    names: ['GetFunction*'],
    category: 'secret-read',
    why: "a function's code and configuration often carry credentials in environment variables",
  },
  {
    service: 'iam',
    names: [
      'List*',
      'Get*',
      'GenerateCredentialReport',
      'GenerateServiceLastAccessedDetails',
      'SimulatePrincipalPolicy',
    ],
    category: 'iam-enumeration',
    why: 'mapping users, roles and policies is how the way to more privilege is found',
  },
  {
    service: 'iam',
    names: [
      'Create*',
      'Delete*',
      'Put*',
      'Attach*',
      'Detach*',
      'Update*',
      'Add*',
      'Remove*',
      'Set*',
      'Change*',
      'PassRole',
    ],
    category: 'iam-change',
    why: 'new users, roles and policies are how access is escalated and kept',
  },
  {
    service: 'cloudtrail',
    names: [
      'StopLogging',
      'DeleteTrail',
      'UpdateTrail',
      'PutEventSelectors',
      'PutInsightSelectors',
      'DeleteEventDataStore',
      'UpdateEventDataStore',
      'StopEventDataStoreIngestion',
    ],
    category: 'logging-change',
    why: 'turning the trail off or narrowing it blinds detection, this one included',
  },
  {
    service: 'guardduty',
    names: [
      'DeleteDetector',
      'UpdateDetector',
      'DisassociateFromMasterAccount',
      'CreateIPSet',
      'UpdateIPSet',
    ],
    category: 'logging-change',
    why: 'disabling or allow-listing in GuardDuty silences another detector',
  },
  {
    service: 'config',
    names: ['StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel'],
    category: 'logging-change',
    why: 'stopping AWS Config hides configuration changes',
  },
  {
    service: 'ec2',
    names: ['DeleteFlowLogs'],
    category: 'logging-change',
    why: 'removing VPC flow logs hides network activity',
  },
  {
    service: 'route53resolver',
    names: ['DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig'],
    category: 'logging-change',
    why: 'removing DNS query logging hides exfiltration over DNS',
  },
  {
    service: 'logs',
    names: ['DeleteLogGroup', 'DeleteLogStream', 'PutRetentionPolicy'],
    category: 'logging-change',
    why: 'deleting or expiring logs destroys evidence',
  },
  {
    service: 'organizations',
    names: ['LeaveOrganization'],
    category: 'logging-change',
    why: 'leaving the organization drops its trails and guardrails',
  },
];

interface CompiledRule {
  exact: Set<string>;
  prefixes: string[];
  category: SensitiveCategory;
}

const RULES_BY_SERVICE = new Map<string, CompiledRule[]>();
for (const rule of SENSITIVE_CALLS) {
  const compiled: CompiledRule = {
    exact: new Set(rule.names.filter((name) => !name.endsWith('*'))),
    prefixes: rule.names.filter((name) => name.endsWith('*')).map((name) => name.slice(0, -1)),
    category: rule.category,
  };
  const list = RULES_BY_SERVICE.get(rule.service) ?? [];
  list.push(compiled);
  RULES_BY_SERVICE.set(rule.service, list);
}

const categoryCache = new Map<string, SensitiveCategory | null>();

/** `iam.amazonaws.com` → `iam`. */
export function serviceOf(eventSource: string): string {
  const dot = eventSource.indexOf('.');
  return dot < 0 ? eventSource : eventSource.slice(0, dot);
}

/** The sensitive category of an API (service + event name), or undefined. */
export function apiCategory(service: string, eventName: string): SensitiveCategory | undefined {
  const cacheKey = `${service}:${eventName}`;
  const cached = categoryCache.get(cacheKey);
  if (cached !== undefined) return cached ?? undefined;
  let found: SensitiveCategory | null = null;
  for (const rule of RULES_BY_SERVICE.get(service) ?? []) {
    if (rule.exact.has(eventName) || rule.prefixes.some((prefix) => eventName.startsWith(prefix))) {
      found = rule.category;
      break;
    }
  }
  categoryCache.set(cacheKey, found);
  return found ?? undefined;
}

/** The sensitive category of a call, looking at its parameters where the API alone does not say. */
export function sensitiveCategory(record: CloudTrailRecord): SensitiveCategory | undefined {
  const service = serviceOf(record.eventSource);
  const category = apiCategory(service, record.eventName);
  // A parameter read without decryption returns no secret; a denied or redacted
  // request (no parameters logged) may have asked for it, so it still counts.
  if (category === 'secret-read' && service === 'ssm') {
    const params = record.requestParameters;
    if (params && params.withDecryption === false) return undefined;
  }
  return category;
}

/** The verbs of calls that read; also the Athena query's pattern (layers/athena). */
export const READ_PREFIX =
  /^(Get|List|Describe|Head|Lookup|Search|Query|Scan|BatchGet|Check|Select|Validate|Preview|Estimate|Test|View|Simulate|Generate(Credential|Service)|Decrypt|Verify)/;

/** A write changes something: CloudTrail's `readOnly` when it says, else the event name's verb. */
export function isWrite(record: CloudTrailRecord): boolean {
  if (typeof record.readOnly === 'boolean') return !record.readOnly;
  return !READ_PREFIX.test(record.eventName);
}

/** Error codes of calls refused authorization; also the Athena query's pattern (layers/athena). */
export const DENIED =
  /AccessDenied|Unauthorized|NotAuthorized|Forbidden|InvalidClientTokenId|SignatureDoesNotMatch/i;

/** The call failed authorization (or authentication): what a key that was never meant for this makes. */
export function isDenied(errorCode: string | undefined): boolean {
  return errorCode !== undefined && DENIED.test(errorCode);
}

/**
 * A user agent reduced to its product and major version ("aws-cli/2.15.1 Python/3.11
 * ..." → "aws-cli/2"), so a routine upgrade is not a new user agent but a different
 * tool is. Console and service callers ("console.amazonaws.com") stay as they are.
 */
export function userAgentFamily(userAgent: string | undefined): string {
  if (!userAgent) return '(none)';
  const first =
    userAgent
      .trim()
      .replace(/^\[/, '')
      .split(/[\s\]]/, 1)[0] ?? '';
  const slash = first.indexOf('/');
  if (slash < 0) return first.slice(0, 64) || '(none)';
  const product = first.slice(0, slash);
  const major = /^\d+/.exec(first.slice(slash + 1))?.[0];
  return (major === undefined ? product : `${product}/${major}`).slice(0, 64);
}
