import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../bin/commands/replay';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { toEnvelope } from '../../layers/cloudtrail/record';
import { type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { classifyRecord } from '../../layers/detection/classify';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { buildDetectionRules, type KnownDecoy } from '../../layers/detection/rules';
import { compilePattern } from '../../layers/event-pattern';
import { findingSchema } from '../../layers/findings/finding';
import { TEST_ACCOUNT } from '../helpers/app';
import {
  DETECTION_CONFIG,
  type Deployment,
  deployment,
  detect,
  HOME,
  OTHER,
  planterRoleArn,
} from './helpers';
import { attackerRole, attackerUser, call, DATA, roleSession } from './records';

/**
 * Secrets Manager decoys: every call the issue lists × allowed and denied × the home
 * region and another, through the synthesized rules (named and broad) and the touch
 * function; the planter's own calls and other secrets yield nothing. Records start
 * from the real Stratus Red Team detonations of secret retrieval.
 */

type Json = Record<string, unknown>;
const stratus = (file: string, eventName: string): Json => {
  const records = JSON.parse(readFileSync(join(DATA, 'stratus-detonations', file), 'utf8')) as Json[];
  return structuredClone(records.find((r) => r.eventName === eventName)!);
};
const GET = () => stratus('aws.credential-access.secretsmanager-retrieve-secrets.json', 'GetSecretValue');
const BATCH = () =>
  stratus('aws.credential-access.secretsmanager-batch-retrieve-secrets.json', 'BatchGetSecretValue');

let counter = 0;
function secretCall(input: {
  eventName: string;
  region: string;
  userIdentity: Json;
  requestParameters: Json | null;
  denied?: boolean;
}): CloudTrailRecord {
  const record = input.eventName === 'BatchGetSecretValue' ? BATCH() : GET();
  counter += 1;
  record.eventName = input.eventName;
  record.awsRegion = input.region;
  record.recipientAccountId = TEST_ACCOUNT;
  record.userIdentity = input.userIdentity;
  record.requestParameters = input.requestParameters;
  record.eventID = `5e1c2b7a-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  record.eventTime = '2024-08-01T15:26:57Z';
  record.readOnly = /^(Get|BatchGet|Describe|List)/.test(input.eventName);
  (record.tlsDetails as Json).clientProvidedHostHeader = `secretsmanager.${input.region}.amazonaws.com`;
  if (input.denied) {
    record.errorCode = 'AccessDenied';
    record.errorMessage = `User: ${String(input.userIdentity.arn)} is not authorized to perform: secretsmanager:${input.eventName}`;
  }
  return record as unknown as CloudTrailRecord;
}

const SUFFIX = 'Qx7fLm';
const secretOf = (d: Deployment, i = 0) => d.decoys.filter((x) => x.kind === 'secretsmanager-secret')[i]!;
const fullArn = (d: Deployment, region: string, i = 0) =>
  `arn:aws:secretsmanager:${region}:${TEST_ACCOUNT}:secret:${secretOf(d, i).name}-${SUFFIX}`;
const partialArn = (d: Deployment, region: string) =>
  `arn:aws:secretsmanager:${region}:${TEST_ACCOUNT}:secret:${secretOf(d).name}`;

interface Case {
  label: string;
  eventName: string;
  params: (d: Deployment, region: string) => Json;
  severity: 'medium' | 'high';
  kind: 'resource-access' | 'tamper';
  kms?: boolean;
}

const cases: Case[] = [
  {
    label: 'GetSecretValue by name',
    eventName: 'GetSecretValue',
    params: (d) => ({ secretId: secretOf(d).name }),
    severity: 'high',
    kind: 'resource-access',
  },
  {
    label: 'GetSecretValue by partial ARN',
    eventName: 'GetSecretValue',
    params: (d, r) => ({ secretId: partialArn(d, r) }),
    severity: 'high',
    kind: 'resource-access',
  },
  {
    label: 'GetSecretValue by full ARN',
    eventName: 'GetSecretValue',
    params: (d, r) => ({ secretId: fullArn(d, r), versionStage: 'AWSCURRENT' }),
    severity: 'high',
    kind: 'resource-access',
  },
  {
    label: 'BatchGetSecretValue by secretIdList',
    eventName: 'BatchGetSecretValue',
    params: (d, r) => ({
      secretIdList: [
        `arn:aws:secretsmanager:${r}:${TEST_ACCOUNT}:secret:prod/shared/other-Ab12Cd`,
        fullArn(d, r),
      ],
    }),
    severity: 'high',
    kind: 'resource-access',
  },
  {
    label: 'DescribeSecret',
    eventName: 'DescribeSecret',
    params: (d) => ({ secretId: secretOf(d).name }),
    severity: 'medium',
    kind: 'resource-access',
  },
  ...[
    'PutSecretValue',
    'UpdateSecret',
    'DeleteSecret',
    'RestoreSecret',
    'PutResourcePolicy',
    'RotateSecret',
  ].map(
    (eventName): Case => ({
      label: eventName,
      eventName,
      params: (d, r) => ({ secretId: eventName === 'DeleteSecret' ? fullArn(d, r) : secretOf(d).name }),
      severity: 'high',
      kind: 'tamper',
    }),
  ),
  {
    label: 'KMS Decrypt with the secret ARN in the encryption context',
    eventName: 'Decrypt',
    params: (d, r) => ({
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: {
        SecretARN: fullArn(d, r),
        SecretVersionId: '3c1f9a4e-6b2d-4c8e-9f10-2a7b5c3d1e0f',
      },
    }),
    severity: 'high',
    kind: 'resource-access',
    kms: true,
  },
];

function kmsDecrypt(
  region: string,
  userIdentity: Json,
  requestParameters: Json,
  denied: boolean,
): CloudTrailRecord {
  return call({
    template: 'kms',
    eventName: 'Decrypt',
    region,
    userIdentity: { ...userIdentity, invokedBy: 'secretsmanager.amazonaws.com' },
    requestParameters,
    denied,
  });
}

/** Named rules list only configured names: name the example plan's secrets explicitly. */
function namedConfig(): HoneytrailConfigInput {
  const example = planDecoys(parseConfig(DETECTION_CONFIG), {
    account: TEST_ACCOUNT,
    region: HOME,
  }).resources;
  const secrets = example.flatMap((x) =>
    x.kind === 'secretsmanager-secret' && x.secretFormat ? [{ name: x.name, format: x.secretFormat }] : [],
  );
  return { ...DETECTION_CONFIG, detection: { ruleStyle: 'named' }, decoys: { secrets: { secrets } } };
}

const runs = cases.flatMap((spec) =>
  [HOME, OTHER].flatMap((region) =>
    [false, true].flatMap((denied) =>
      (['user', 'role'] as const).map((actor) => ({
        name: `${spec.label} in ${region}, ${denied ? 'denied' : 'allowed'}, by an ${actor === 'user' ? 'IAM user' : 'SSO role'}`,
        spec,
        region,
        denied,
        actor,
      })),
    ),
  ),
);

describe.each(['named', 'broad'] as const)(
  'every touch of a secret becomes one finding (%s rules)',
  (style) => {
    let d: Deployment;
    beforeAll(() => {
      d = deployment(
        style === 'named' ? namedConfig() : { ...DETECTION_CONFIG, detection: { ruleStyle: 'broad' } },
      );
    }, 240_000);

    it('names no secret in a broad pattern, and lists configured ones in a named pattern', () => {
      const patterns = JSON.stringify([...d.rules.values()].flat().map((r) => r.pattern));
      expect(patterns.includes(secretOf(d).name)).toBe(style === 'named');
      expect(patterns).toContain('aws.secretsmanager');
    });

    it.each(runs)('$name', async (run) => {
      const identity = run.actor === 'user' ? attackerUser() : attackerRole();
      const params = run.spec.params(d, run.region);
      const record = run.spec.kms
        ? kmsDecrypt(run.region, identity, params, run.denied)
        : secretCall({
            eventName: run.spec.eventName,
            region: run.region,
            userIdentity: identity,
            requestParameters: params,
            denied: run.denied,
          });
      const { routed, outcomes, sink } = await detect(d, [record]);
      expect(routed.forwardedBy, 'a forwarding rule of the record region matches').not.toHaveLength(0);
      expect(routed.invokedBy, 'a central rule matches').not.toHaveLength(0);
      expect(outcomes.filter((o) => o.result === 'alerted')).toHaveLength(1);
      const finding = findingSchema.parse(sink.findings[0]);
      expect(finding.resource?.name).toBe(secretOf(d).name);
      expect(finding.resource?.kind).toBe('secretsmanager-secret');
      expect(finding.kind).toBe(run.spec.kind);
      expect(finding.severity).toBe(run.spec.severity);
      expect(finding.region).toBe(run.region);
      expect(finding.outcome).toBe(run.denied ? 'denied' : 'allowed');
      expect(finding.actor.arn).toBe(record.userIdentity?.arn);
    });

    describe('negatives', () => {
      const quiet = async (record: CloudTrailRecord) => {
        const { outcomes, sink } = await detect(d, [record]);
        expect(outcomes.filter((o) => o.result === 'alerted')).toHaveLength(0);
        expect(sink.findings).toHaveLength(0);
      };

      it("the planter's own writes are no touch (and no rule forwards them)", async () => {
        for (const eventName of ['CreateSecret', 'PutSecretValue', 'DeleteSecret', 'DescribeSecret']) {
          const record = secretCall({
            eventName,
            region: HOME,
            userIdentity: roleSession(planterRoleArn(d)),
            requestParameters:
              eventName === 'CreateSecret' ? { name: secretOf(d).name } : { secretId: secretOf(d).name },
          });
          await quiet(record);
        }
        await quiet(
          kmsDecrypt(
            HOME,
            roleSession(planterRoleArn(d)),
            { encryptionContext: { SecretARN: fullArn(d, HOME) } },
            false,
          ),
        );
      });

      it('other secrets, look-alikes and filter-only batch reads are no touch', async () => {
        const name = secretOf(d).name;
        for (const secretId of [
          'prod/shared/feature-flags',
          `${name}-old`,
          `${name}-old-Ab12Cd`,
          `arn:aws:secretsmanager:${HOME}:${TEST_ACCOUNT}:secret:${name}x-Ab12Cd`,
          `arn:aws:secretsmanager:${HOME}:999988887777:secret:${name}-Ab12Cd`,
        ]) {
          await quiet(
            secretCall({
              eventName: 'GetSecretValue',
              region: HOME,
              userIdentity: attackerUser(),
              requestParameters: { secretId },
            }),
          );
        }
        // The real Stratus record: a filter names no secret (its per-secret GetSecretValue records do).
        await quiet(
          secretCall({
            eventName: 'BatchGetSecretValue',
            region: HOME,
            userIdentity: attackerUser(),
            requestParameters: BATCH().requestParameters as Json,
          }),
        );
        await quiet(
          kmsDecrypt(
            HOME,
            attackerRole(),
            {
              encryptionContext: {
                SecretARN: `arn:aws:secretsmanager:${HOME}:${TEST_ACCOUNT}:secret:prod/shared/x-Ab12Cd`,
              },
            },
            false,
          ),
        );
      });
    });
  },
);

describe('the real Stratus detonation', () => {
  it('each retrieved secret, when it is a decoy, is one high finding per record', () => {
    const records = JSON.parse(
      readFileSync(
        join(DATA, 'stratus-detonations', 'aws.credential-access.secretsmanager-retrieve-secrets.json'),
        'utf8',
      ),
    ) as CloudTrailRecord[];
    const target = records.find((r) => r.eventName === 'GetSecretValue')!;
    const arn = String(target.requestParameters?.secretId);
    const name = arn.split(':secret:')[1]!.replace(/-[A-Za-z0-9]{6}$/, '');
    const account = target.recipientAccountId!;
    const decoy: KnownDecoy = {
      kind: 'secretsmanager-secret',
      name,
      secretFormat: 'api-key',
      arn: `arn:aws:secretsmanager:${target.awsRegion}:${account}:secret:${name}`,
    };
    const index = new DecoyIndex([decoy]);
    const context = {
      trailName: 't',
      trailArn: 'arn:aws:cloudtrail:us-east-1:1:trail/t',
      ruleNamePrefix: 'r',
      busName: 'b',
      trustedRoleArns: [],
    };
    const touches = records.flatMap((r) => classifyRecord(r, index, context).matches);
    expect(touches).toHaveLength(1);
    expect(touches[0]).toMatchObject({ category: 'secret-read', severity: 'high', resource: { name } });
    // And the broad rule the stack deploys matches every one of those records.
    const rules = buildDetectionRules([], {
      style: 'broad',
      ruleNamePrefix: 'r',
      busName: 'b',
      trailName: 't',
      trailArn: 'arn:aws:cloudtrail:us-east-1:1:trail/t',
    });
    const secretsRule = compilePattern(rules.find((r) => r.concern === 'secrets')!.pattern);
    expect(
      records.filter((r) => r.eventName !== 'ListSecrets').every((r) => secretsRule(toEnvelope(r))),
    ).toBe(true);
  });
});

describe('honeytrail replay', () => {
  it('finds the touches of the secrets a plan lists, and nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'secrets-replay-'));
    try {
      const decoys = planDecoys(parseConfig({}), { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;
      const secret = decoys.find((x) => x.kind === 'secretsmanager-secret')!;
      writeFileSync(join(root, 'plan.json'), JSON.stringify({ decoys }));
      const records = [
        secretCall({
          eventName: 'GetSecretValue',
          region: 'us-east-1',
          userIdentity: attackerUser(),
          requestParameters: { secretId: `${secret.arn}-Qx7fLm` },
        }),
        kmsDecrypt(
          'us-east-1',
          attackerUser(),
          { encryptionContext: { SecretARN: `${secret.arn}-Qx7fLm` } },
          false,
        ),
        secretCall({
          eventName: 'DescribeSecret',
          region: 'eu-west-1',
          userIdentity: attackerRole(),
          requestParameters: { secretId: secret.name },
        }),
        secretCall({
          eventName: 'GetSecretValue',
          region: 'us-east-1',
          userIdentity: attackerUser(),
          requestParameters: { secretId: 'prod/shared/other' },
        }),
      ];
      writeFileSync(join(root, 'trail.json'), JSON.stringify({ Records: records }));
      const out: string[] = [];
      await replay(
        [join(root, 'trail.json')],
        { decoys: join(root, 'plan.json'), json: true, account: TEST_ACCOUNT, trustedRole: [] },
        { out: (t) => void out.push(t), err: () => {} },
      );
      const findings = out
        .join('')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(findings.map((f) => [f.resource.kind, f.resource.name, f.severity])).toEqual(
        expect.arrayContaining([
          ['secretsmanager-secret', secret.name, 'high'],
          ['secretsmanager-secret', secret.name, 'medium'],
        ]),
      );
      expect(findings.every((f) => f.resource.name === secret.name)).toBe(true);
      const calls = findings.flatMap((f) => f.eventNames);
      expect(calls).toEqual(expect.arrayContaining(['GetSecretValue', 'Decrypt', 'DescribeSecret']));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
