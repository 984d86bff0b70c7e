/**
 * MITRE ATT&CK tactics of CloudTrail API calls: `eventSource` + `eventName` →
 * tactic and technique, as data.
 *
 * Sources: MITRE ATT&CK for Enterprise, IaaS matrix (https://attack.mitre.org/matrices/enterprise/cloud/iaas/),
 * one technique id per row (https://attack.mitre.org/techniques/<id>/); the tactic of each
 * Stratus Red Team AWS technique (https://stratus-red-team.cloud/attack-techniques/AWS/,
 * DataDog/stratus-red-team, Apache-2.0), whose detonation logs ship in
 * test/data/cloudtrail/stratus-detonations and check this table (test/verdicts/tactics.test.ts).
 * Where the two differ the row says which it follows.
 *
 * Small on purpose: the calls an attacker makes early and that a detector sees in
 * public write-ups, not the whole API surface. Names ending in `*` match a prefix;
 * the first matching row wins, so specific rows come before broad ones.
 */
export const TACTICS = [
  'initial-access',
  'execution',
  'persistence',
  'privilege-escalation',
  'defense-evasion',
  'credential-access',
  'discovery',
  'lateral-movement',
  'exfiltration',
  'impact',
] as const;
export type Tactic = (typeof TACTICS)[number];

export interface TacticRule {
  /** The service's eventSource without `.amazonaws.com`. */
  readonly service: string;
  readonly names: readonly string[];
  readonly tactic: Tactic;
  /** ATT&CK technique id. */
  readonly technique: string;
  /**
   * Calls deployment pipelines make every day (code and configuration updates,
   * new instances): a tactic for a timeline, but not a stage of the attack
   * sequence on their own.
   */
  readonly routine?: true;
}

export const TACTIC_TABLE: readonly TacticRule[] = [
  // ---- credential access (before the broad discovery rows of the same services)
  {
    service: 'secretsmanager',
    names: ['GetSecretValue', 'BatchGetSecretValue'],
    tactic: 'credential-access',
    technique: 'T1555.006',
  },
  {
    service: 'ssm',
    names: ['GetParameter', 'GetParameters', 'GetParametersByPath'],
    tactic: 'credential-access',
    technique: 'T1555.006',
  },
  { service: 'ec2', names: ['GetPasswordData'], tactic: 'credential-access', technique: 'T1552' },
  { service: 'iam', names: ['GetCredentialReport'], tactic: 'credential-access', technique: 'T1552' },
  // ---- persistence
  {
    service: 'iam',
    names: [
      'CreateAccessKey',
      'CreateLoginProfile',
      'UploadSSHPublicKey',
      'CreateServiceSpecificCredential',
      'UploadSigningCertificate',
    ],
    tactic: 'persistence',
    technique: 'T1098.001',
  },
  { service: 'iam', names: ['CreateUser', 'CreateRole'], tactic: 'persistence', technique: 'T1136.003' },
  // Stratus: iam-backdoor-role (persistence).
  { service: 'iam', names: ['UpdateAssumeRolePolicy'], tactic: 'persistence', technique: 'T1098.003' },
  // Stratus: sts-federation-token (persistence).
  { service: 'sts', names: ['GetFederationToken'], tactic: 'persistence', technique: 'T1078.004' },
  { service: 'ec2', names: ['CreateKeyPair', 'ImportKeyPair'], tactic: 'persistence', technique: 'T1098' },
  {
    service: 'rolesanywhere',
    names: ['CreateTrustAnchor', 'CreateProfile'],
    tactic: 'persistence',
    technique: 'T1098',
  },
  // Stratus: lambda-backdoor-function (persistence): a function opened to another account.
  { service: 'lambda', names: ['AddPermission*'], tactic: 'persistence', technique: 'T1546' },
  // Stratus: lambda-overwrite-code, lambda-layer-extension (persistence); pipelines do these daily.
  {
    service: 'lambda',
    names: ['UpdateFunctionCode*', 'UpdateFunctionConfiguration*', 'PublishLayerVersion*', 'CreateFunction*'],
    tactic: 'persistence',
    technique: 'T1546',
    routine: true,
  },
  // ---- privilege escalation
  {
    service: 'iam',
    names: [
      'AttachUserPolicy',
      'AttachRolePolicy',
      'AttachGroupPolicy',
      'PutUserPolicy',
      'PutRolePolicy',
      'PutGroupPolicy',
      'CreatePolicyVersion',
      'SetDefaultPolicyVersion',
      'AddUserToGroup',
      // Stratus: iam-update-user-login-profile (privilege escalation).
      'UpdateLoginProfile',
    ],
    tactic: 'privilege-escalation',
    technique: 'T1098.003',
  },
  // ---- defense evasion
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
    tactic: 'defense-evasion',
    technique: 'T1562.008',
  },
  {
    service: 'guardduty',
    names: [
      'DeleteDetector',
      'UpdateDetector',
      'DisassociateFromMasterAccount',
      'DisassociateFromAdministratorAccount',
      'CreateIPSet',
      'UpdateIPSet',
      'CreateFilter',
      'UpdateFilter',
    ],
    tactic: 'defense-evasion',
    technique: 'T1562.001',
  },
  {
    service: 'config',
    names: ['StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel'],
    tactic: 'defense-evasion',
    technique: 'T1562.008',
  },
  { service: 'ec2', names: ['DeleteFlowLogs'], tactic: 'defense-evasion', technique: 'T1562.008' },
  {
    service: 'route53resolver',
    names: ['DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig'],
    tactic: 'defense-evasion',
    technique: 'T1562.008',
  },
  {
    service: 'logs',
    names: ['DeleteLogGroup', 'DeleteLogStream'],
    tactic: 'defense-evasion',
    technique: 'T1562.008',
  },
  // Stratus: organizations-leave (defense evasion).
  { service: 'organizations', names: ['LeaveOrganization'], tactic: 'defense-evasion', technique: 'T1666' },
  // ATT&CK T1562.007 (defense evasion); Stratus files ec2-security-group-open-port-22-ingress under exfiltration.
  {
    service: 'ec2',
    names: ['AuthorizeSecurityGroupIngress'],
    tactic: 'defense-evasion',
    technique: 'T1562.007',
    routine: true,
  },
  // ---- exfiltration: sharing snapshots and images with another account
  {
    service: 'ec2',
    names: ['ModifySnapshotAttribute', 'ModifyImageAttribute'],
    tactic: 'exfiltration',
    technique: 'T1537',
  },
  {
    service: 'rds',
    names: ['ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute'],
    tactic: 'exfiltration',
    technique: 'T1537',
  },
  // ---- lateral movement (Stratus: ec2-instance-connect, ec2-serial-console-send-ssh-public-key)
  {
    service: 'ec2-instance-connect',
    names: ['SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey'],
    tactic: 'lateral-movement',
    technique: 'T1021',
  },
  // ---- execution (Stratus: ssm-send-command, ssm-start-session, ec2-user-data)
  {
    service: 'ssm',
    names: ['SendCommand', 'StartSession'],
    tactic: 'execution',
    technique: 'T1651',
  },
  {
    service: 'ec2',
    names: ['ModifyInstanceAttribute'],
    tactic: 'execution',
    technique: 'T1059',
    routine: true,
  },
  // ---- impact: ATT&CK T1496 resource hijacking (Stratus files ec2-launch-unusual-instances under execution)
  { service: 'ec2', names: ['RunInstances'], tactic: 'impact', technique: 'T1496', routine: true },
  { service: 'bedrock', names: ['InvokeModel*', 'Converse*'], tactic: 'impact', technique: 'T1496' },
  {
    service: 'kms',
    names: ['ScheduleKeyDeletion', 'DisableKey'],
    tactic: 'impact',
    technique: 'T1485',
  },
  { service: 's3', names: ['DeleteBucket'], tactic: 'impact', technique: 'T1485' },
  // ---- initial access
  { service: 'signin', names: ['ConsoleLogin'], tactic: 'initial-access', technique: 'T1078.004' },
  // ---- discovery (broad rows last)
  { service: 'sts', names: ['GetCallerIdentity'], tactic: 'discovery', technique: 'T1033' },
  {
    service: 'iam',
    names: [
      'List*',
      'Get*',
      'SimulatePrincipalPolicy',
      'GenerateCredentialReport',
      'GenerateServiceLastAccessedDetails',
    ],
    tactic: 'discovery',
    technique: 'T1087.004',
  },
  { service: 'organizations', names: ['List*', 'Describe*'], tactic: 'discovery', technique: 'T1087.004' },
  {
    service: 's3',
    names: ['ListBuckets', 'ListAllMyBuckets', 'GetBucketPolicy', 'GetBucketAcl'],
    tactic: 'discovery',
    technique: 'T1619',
  },
  {
    service: 'secretsmanager',
    names: ['ListSecrets', 'DescribeSecret'],
    tactic: 'discovery',
    technique: 'T1526',
  },
  { service: 'ssm', names: ['DescribeParameters'], tactic: 'discovery', technique: 'T1526' },
  { service: 'ssm', names: ['DescribeInstanceInformation'], tactic: 'discovery', technique: 'T1580' },
  { service: 'ec2', names: ['Describe*'], tactic: 'discovery', technique: 'T1580' },
  { service: 'rds', names: ['Describe*'], tactic: 'discovery', technique: 'T1580' },
  { service: 'lambda', names: ['ListFunctions*'], tactic: 'discovery', technique: 'T1526' },
  { service: 'kms', names: ['ListKeys', 'ListAliases'], tactic: 'discovery', technique: 'T1526' },
  { service: 'dynamodb', names: ['ListTables'], tactic: 'discovery', technique: 'T1526' },
  {
    service: 'cloudtrail',
    names: ['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'ListTrails'],
    tactic: 'discovery',
    technique: 'T1518.001',
  },
  {
    service: 'guardduty',
    names: ['ListDetectors', 'GetDetector'],
    tactic: 'discovery',
    technique: 'T1518.001',
  },
];

export interface TacticMatch {
  readonly tactic: Tactic;
  readonly technique: string;
  readonly routine: boolean;
}

const BY_SERVICE = new Map<string, TacticRule[]>();
for (const rule of TACTIC_TABLE) {
  const rules = BY_SERVICE.get(rule.service) ?? [];
  rules.push(rule);
  BY_SERVICE.set(rule.service, rules);
}
const cache = new Map<string, TacticMatch | null>();

function matches(names: readonly string[], eventName: string): boolean {
  return names.some((name) =>
    name.endsWith('*') ? eventName.startsWith(name.slice(0, -1)) : name === eventName,
  );
}

/** The tactic of a call (service as in `serviceOf`, e.g. `iam`), or undefined when the table has none. */
export function tacticOf(service: string, eventName: string): TacticMatch | undefined {
  const key = `${service}:${eventName}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const rule = BY_SERVICE.get(service)?.find((r) => matches(r.names, eventName));
  const match = rule
    ? { tactic: rule.tactic, technique: rule.technique, routine: rule.routine === true }
    : null;
  cache.set(key, match);
  return match ?? undefined;
}

/**
 * The tactic of a bare event name (findings list event names without their
 * service): the rows naming it exactly, else the rows whose prefix names a noun too
 * (`AddPermission*`, not `Get*`), when they agree; else discovery for a List or
 * Describe call; else undefined. A bare `Get*` is left alone: `GetItem` reads
 * data, `GetUser` maps IAM.
 */
export function tacticOfEventName(eventName: string): Tactic | undefined {
  const exact = new Set<Tactic>();
  const prefixed = new Set<Tactic>();
  for (const rule of TACTIC_TABLE) {
    for (const name of rule.names) {
      if (name === eventName) exact.add(rule.tactic);
      else if (/^[A-Z][a-z]+[A-Z]\w*\*$/.test(name) && eventName.startsWith(name.slice(0, -1))) {
        prefixed.add(rule.tactic);
      }
    }
  }
  const found = exact.size > 0 ? exact : prefixed;
  if (found.size === 1) return [...found][0];
  if (found.size === 0 && /^(List|Describe)[A-Z]/.test(eventName)) return 'discovery';
  return undefined;
}
