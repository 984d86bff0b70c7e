import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordsFromText } from '../../layers/cloudtrail/reader';
import { serviceOf } from '../../layers/features/calls';
import {
  isPublicAddress,
  isServiceAddress,
  networkOf,
  TACTIC_TABLE,
  TACTICS,
  tacticOf,
  tacticOfEventName,
} from '../../layers/verdicts';

const STRATUS = join(__dirname, '..', 'data', 'cloudtrail', 'stratus-detonations');

/**
 * Where this table follows ATT&CK rather than Stratus Red Team's filing (see the
 * rows' comments in layers/verdicts/tactics.ts), and the setup-only detonations.
 */
const DIFFERS: Record<string, string> = {
  'aws.exfiltration.ec2-security-group-open-port-22-ingress': 'defense-evasion',
  'aws.execution.ec2-launch-unusual-instances': 'impact',
  'aws.initial-access.console-login-without-mfa': 'initial-access',
  // The theft (reading the metadata service on the instance) is no API call: the record is the
  // ssm:SendCommand that runs it; the use of the credentials is compute-credentials-outside's.
  'aws.credential-access.ec2-steal-instance-credentials': 'execution',
};

describe('the tactic table', () => {
  it('every row names a known tactic and an ATT&CK technique id', () => {
    for (const rule of TACTIC_TABLE) {
      expect(TACTICS).toContain(rule.tactic);
      expect(rule.technique).toMatch(/^T\d{4}(\.\d{3})?$/);
      expect(rule.names.length).toBeGreaterThan(0);
    }
  });

  it.each<[string, string, string | undefined]>([
    ['sts', 'GetCallerIdentity', 'discovery'],
    ['iam', 'ListUsers', 'discovery'],
    ['iam', 'GetCredentialReport', 'credential-access'],
    ['iam', 'CreateAccessKey', 'persistence'],
    ['iam', 'AttachUserPolicy', 'privilege-escalation'],
    ['cloudtrail', 'StopLogging', 'defense-evasion'],
    ['cloudtrail', 'DescribeTrails', 'discovery'],
    ['secretsmanager', 'GetSecretValue', 'credential-access'],
    ['secretsmanager', 'ListSecrets', 'discovery'],
    ['lambda', 'AddPermission20150331v2', 'persistence'],
    ['ec2', 'RunInstances', 'impact'],
    ['dynamodb', 'GetItem', undefined],
    ['s3', 'GetObject', undefined],
  ])('%s:%s → %s', (service, eventName, tactic) => {
    expect(tacticOf(service, eventName)?.tactic).toBe(tactic);
  });

  it.each<[string, string | undefined]>([
    ['GetSecretValue', 'credential-access'],
    ['CreateAccessKey', 'persistence'],
    ['StopLogging', 'defense-evasion'],
    ['ListUsers', 'discovery'],
    ['DescribeInstances', 'discovery'],
    ['GetItem', undefined],
  ])('the bare event name %s → %s (findings list names without services)', (eventName, tactic) => {
    expect(tacticOfEventName(eventName)).toBe(tactic);
  });

  const files = readdirSync(STRATUS).filter((file) => file.endsWith('.json'));
  it.each(files.map((file) => [file.replace(/\.json$/, '')]))(
    'agrees with Stratus Red Team on %s',
    (technique) => {
      const expected = DIFFERS[technique] ?? technique.split('.')[1]!;
      const records = recordsFromText(readFileSync(join(STRATUS, `${technique}.json`), 'utf8'), technique);
      const tactics = new Set(
        records.map((record) => tacticOf(serviceOf(record.eventSource), record.eventName)?.tactic),
      );
      expect([...tactics]).toContain(expected);
    },
  );
});

describe('addresses', () => {
  it.each<[string, boolean, boolean, string | undefined]>([
    ['203.0.113.77', true, false, '203.0.0.0/16'],
    ['10.20.4.7', false, false, '10.20.0.0/16'],
    ['172.31.0.9', false, false, '172.31.0.0/16'],
    ['192.168.1.1', false, false, '192.168.0.0/16'],
    ['100.64.3.3', false, false, '100.64.0.0/16'],
    ['2600:1f18:abcd::7', true, false, '2600:1f18::/32'],
    ['fd00::1', false, false, 'fd00:0::/32'],
    ['ssm.amazonaws.com', false, true, undefined],
    ['AWS Internal', false, true, undefined],
    ['(none)', false, false, undefined],
  ])('%s: public %s, service %s, network %s', (address, isPublic, isService, network) => {
    expect(isPublicAddress(address)).toBe(isPublic);
    expect(isServiceAddress(address)).toBe(isService);
    expect(networkOf(address)).toBe(network);
  });
});
