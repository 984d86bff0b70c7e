import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudTrailRecordSchema } from '../../layers/cloudtrail/record';
import type { FindingKind, Severity } from '../../layers/config/schema';
import {
  FINDING_DETAIL_TYPES,
  FINDING_EVENT_SOURCE,
  FINDING_SCHEMA_VERSION,
  type Finding,
  findingId,
  findingSchema,
} from '../../layers/findings/finding';
import { MemoryBudgetStore } from '../../layers/response/budget';
import { MemoryIncidentStore } from '../../layers/response/incidents';
import type { Approval } from '../../layers/response/state';
import { TEST_ACCOUNT } from '../helpers/app';

/**
 * Findings for the response tests, built from real CloudTrail records (Stratus
 * Red Team detonations, test/data/cloudtrail/README.md) replayed into the test
 * account: the actor is the record's userIdentity with its account replaced.
 */

const DATA = join(import.meta.dirname, '..', 'data', 'cloudtrail', 'stratus-detonations');

function record(file: string, eventName: string) {
  const records = JSON.parse(readFileSync(join(DATA, file), 'utf8')) as unknown[];
  const found = records.map((r) => cloudTrailRecordSchema.parse(r)).find((r) => r.eventName === eventName);
  if (!found) throw new Error(`${file} has no ${eventName}`);
  return found;
}

function intoTestAccount(value: string | undefined, account: string | undefined): string {
  return (value ?? '').replaceAll(account ?? '-', TEST_ACCOUNT);
}

/** An IAM user's long-term key (AKIA) reading SecureString parameters. */
export const userRecord = record(
  'aws.credential-access.ssm-retrieve-securestring-parameters.json',
  'DescribeParameters',
);
/** A role session (ASIA) asking for an instance's password data. */
export const roleRecord = record('aws.credential-access.ec2-get-password-data.json', 'GetPasswordData');

export function findingFrom(
  source: typeof userRecord,
  options: { kind?: FindingKind; severity?: Severity; window?: string; decoy?: Finding['resource'] } = {},
): Finding {
  const identity = source.userIdentity ?? {};
  const account = identity.accountId;
  const kind = options.kind ?? 'resource-access';
  const actorArn = intoTestAccount(identity.arn, account);
  return findingSchema.parse({
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: findingId([kind, actorArn, options.window ?? 'w1']),
    kind,
    severity: options.severity ?? 'high',
    title: `${source.eventName} by ${actorArn}`,
    actor: {
      arn: actorArn,
      type: identity.type ?? 'Unknown',
      accessKeyId: identity.accessKeyId,
      account: TEST_ACCOUNT,
    },
    sourceIp: source.sourceIPAddress,
    userAgent: source.userAgent,
    region: source.awsRegion,
    account: TEST_ACCOUNT,
    eventNames: [source.eventName],
    eventIds: source.eventID ? [source.eventID] : [],
    outcome: source.errorCode ? 'denied' : 'allowed',
    resource: options.decoy ?? { kind: 'ssm-parameter', name: '/prod/payments/db-password' },
    firstSeen: source.eventTime,
    lastSeen: source.eventTime,
    count: 1,
  });
}

export const USER_NAME = userRecord.userIdentity?.userName ?? 'christophe';
export const USER_KEY = userRecord.userIdentity?.accessKeyId ?? '';
export const ROLE_NAME = (roleRecord.userIdentity?.arn ?? '').split('/')[1] ?? '';

export function eventOf(finding: Finding) {
  return {
    version: '0',
    id: `evt-${finding.id}`,
    source: FINDING_EVENT_SOURCE,
    'detail-type': FINDING_DETAIL_TYPES[finding.kind],
    account: TEST_ACCOUNT,
    time: finding.lastSeen,
    region: 'us-east-1',
    resources: [],
    detail: finding,
  };
}

/** The ledger's incident ports in memory; escalations are collected. */
export function incidentPorts() {
  const escalated: { token: string; approval: Approval }[] = [];
  return {
    incidents: new MemoryIncidentStore(),
    budget: new MemoryBudgetStore(),
    escalation: {
      approve: async (token: string, approval: Approval) => {
        escalated.push({ token, approval });
        return 'sent' as const;
      },
    },
    escalated,
  };
}
