import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { TEST_ACCOUNT } from '../helpers/app';

/**
 * Real-shaped CloudTrail records for the detection tests: each one starts as a real
 * record from test/data/cloudtrail (Stratus Red Team detonations, Panther's rule
 * fixtures, Cloud Custodian's envelopes) and only the call, the target and the
 * caller are changed, so every other field is what CloudTrail writes.
 */
export const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'cloudtrail');

type Json = Record<string, unknown>;

function stripPanther(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !key.startsWith('p_')));
}

let stratus: Map<string, Json[]> | undefined;
function stratusRecords(): Map<string, Json[]> {
  if (!stratus) {
    stratus = new Map();
    const dir = join(DATA, 'stratus-detonations');
    for (const file of readdirSync(dir))
      stratus.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json[]);
  }
  return stratus;
}

let panther: { rule: string; test: string; event: Json }[] | undefined;
function pantherRecords() {
  if (!panther) {
    panther = readFileSync(join(DATA, 'panther-tests', 'extracted_cloudtrail_test_events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const o = JSON.parse(line) as { rule_id: string; test_name: string; event: Json };
        return { rule: o.rule_id, test: o.test_name, event: stripPanther(o.event) };
      });
  }
  return panther;
}

const clone = <T>(value: T): T => structuredClone(value);

function fromStratus(file: string, eventName: string): Json {
  const found = stratusRecords()
    .get(file)
    ?.find((r) => r.eventName === eventName);
  if (!found) throw new Error(`no ${eventName} in stratus-detonations/${file}`);
  return clone(found);
}

function fromPanther(rule: string, test: string): Json {
  const found = pantherRecords().find((r) => r.rule === rule && r.test === test);
  if (!found) throw new Error(`no Panther fixture ${rule} / ${test}`);
  return clone(found.event);
}

/** The real records each service's calls are modelled on. */
export const TEMPLATES = {
  /** ssm:GetParameters by an IAM user (Stratus: ssm-retrieve-securestring-parameters). */
  ssm: () => fromStratus('aws.credential-access.ssm-retrieve-securestring-parameters.json', 'GetParameters'),
  /** ssm:GetParameter by an SSO role session (Panther: AWS.SSM.DecryptSSMParams). */
  ssmRole: () => fromPanther('AWS.SSM.DecryptSSMParams', 'Single Secret Accessed in Single Event'),
  /** ssm:DescribeParameters with a name filter (Panther: AWS.SSM.DecryptSSMParams, unrelated event). */
  ssmDescribe: () => fromPanther('AWS.SSM.DecryptSSMParams', 'Unrelated Event'),
  /** ssm:DescribeParameters paging through every parameter (Stratus: ssm-retrieve-securestring-parameters). */
  ssmList: () =>
    fromStratus('aws.credential-access.ssm-retrieve-securestring-parameters.json', 'DescribeParameters'),
  /** kms:Decrypt by a role session (Panther: AWS.KMS.CustomerManagedKeyLoss). */
  kms: () => fromPanther('AWS.KMS.CustomerManagedKeyLoss', 'KMS Key Non Deletion Event'),
  /** s3:PutObject data event with bucket and object resources (Panther: ransomware note). */
  s3: () => fromPanther('AWS.S3.RansomwareNoteUpload', 'Normal File Upload - quarterly_report.pdf'),
  /** s3:CopyObject naming a copy source (Panther: CopyObject to external account). */
  s3Copy: () => fromPanther('AWS.S3.CopyObjectToExternalAccountBucket', 'S3 CopyObject Same Account'),
  /** cloudtrail:StopLogging (Stratus: cloudtrail-stop). */
  trail: () => fromStratus('aws.defense-evasion.cloudtrail-stop.json', 'StopLogging'),
  /** events:DeleteRule (Panther: AWS.CloudTrail.SecurityConfigurationChange). */
  events: () =>
    fromPanther(
      'AWS.CloudTrail.SecurityConfigurationChange',
      'Security Configuration Changed - Allowlisted User',
    ),
  /** iam:CreateAccessKey on a user (Stratus: iam-backdoor-user). */
  iam: () => fromStratus('aws.persistence.iam-backdoor-user.json', 'CreateAccessKey'),
  /** sts:GetCallerIdentity (Stratus: sts-federation-token). */
  sts: () => fromStratus('aws.persistence.sts-federation-token.json', 'GetCallerIdentity'),
} as const;

export type TemplateName = keyof typeof TEMPLATES;

/** An IAM user from another team's pipeline, with a long-term key (from the Stratus record). */
export function attackerUser(): Json {
  return clone(TEMPLATES.ssm().userIdentity as Json);
}

/** An SSO role session (from the Panther record). */
export function attackerRole(): Json {
  return clone(TEMPLATES.ssmRole().userIdentity as Json);
}

/** The planted user signing with its planted key. */
export function decoyUser(userArn: string, accessKeyId = 'AKIAQ3EGWSXRJQ7M2XOB'): Json {
  const identity = attackerUser();
  const userName = userArn.split(':user/')[1]!;
  return {
    ...identity,
    arn: userArn,
    accountId: TEST_ACCOUNT,
    accessKeyId,
    userName,
    principalId: 'AIDAQ3EGWSXRN4EXAMPLE',
  };
}

/** A Lambda session of the given role (the planter), as CloudTrail writes it. */
export function roleSession(roleArn: string, sessionName = 'platform-shared-services-Rotation'): Json {
  const roleName = roleArn.split(':role/')[1]!;
  return {
    type: 'AssumedRole',
    principalId: `AROAQ3EGWSXRPLANTER1:${sessionName}`,
    arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${roleName}/${sessionName}`,
    accountId: TEST_ACCOUNT,
    accessKeyId: 'ASIAQ3EGWSXRSESSION1',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAQ3EGWSXRPLANTER1',
        arn: roleArn,
        accountId: TEST_ACCOUNT,
        userName: roleName,
      },
      attributes: { creationDate: '2024-08-01T15:00:00Z', mfaAuthenticated: 'false' },
    },
  };
}

let counter = 0;

export interface CallSpec {
  template: TemplateName;
  eventSource?: string;
  eventName: string;
  region: string;
  userIdentity: Json;
  requestParameters?: Json | null;
  resources?: Json[];
  denied?: boolean;
  eventTime?: string;
  sourceIPAddress?: string;
  /** The account the call was made in (default TEST_ACCOUNT). */
  recipientAccountId?: string;
}

/** A real record turned into the call described, with a fresh event id. */
export function call(spec: CallSpec): CloudTrailRecord {
  const record = TEMPLATES[spec.template]();
  counter += 1;
  record.eventName = spec.eventName;
  if (spec.eventSource) record.eventSource = spec.eventSource;
  record.awsRegion = spec.region;
  record.userIdentity = spec.userIdentity;
  record.recipientAccountId = spec.recipientAccountId ?? TEST_ACCOUNT;
  record.eventID = `7f3c9a4e-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  record.requestID = `REQ${counter}`;
  if (spec.eventTime) record.eventTime = spec.eventTime;
  else record.eventTime = '2024-08-01T15:26:57Z';
  if (spec.sourceIPAddress) record.sourceIPAddress = spec.sourceIPAddress;
  if (spec.requestParameters !== undefined) record.requestParameters = spec.requestParameters;
  if (spec.resources !== undefined) record.resources = spec.resources;
  else delete record.resources;
  delete record.errorCode;
  delete record.errorMessage;
  if (spec.denied) {
    record.errorCode = 'AccessDenied';
    record.errorMessage = `User: ${String(spec.userIdentity.arn)} is not authorized to perform: ${spec.eventName}`;
    record.responseElements = null;
  }
  if (record.tlsDetails && typeof record.tlsDetails === 'object') {
    const service = String(record.eventSource).split('.')[0];
    (record.tlsDetails as Json).clientProvidedHostHeader = `${service}.${spec.region}.amazonaws.com`;
  }
  return record as unknown as CloudTrailRecord;
}
