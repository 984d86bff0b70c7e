import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import { describe, expect, it } from 'vitest';
import { trailRevision } from '../../infra/constructs/decoy-fleet';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys, planFromNames, shapeOf } from '../../layers/decoys/catalogue';
import { emptyInventory } from '../../layers/decoys/inventory';
import { chooseNames } from '../../layers/decoys/naming';
import { seededRandom } from '../../layers/decoys/random';
import { decodeShape } from '../../layers/decoys/spec';
import { findTells } from '../../layers/stealth/tells';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';

/** The planter's infrastructure (infra/constructs/decoy-fleet.ts), by concern. */

const existingTrail = {
  trail: {
    mode: 'existing' as const,
    existingTrailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/org-trail`,
  },
};

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;

/** Fn::Join with the partition filled in, so ARNs and the plan read as strings. */
function flatten(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(flatten);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      const flat = parts.map(flatten);
      if (flat.every((p) => typeof p === 'string')) return flat.join(sep);
      return { 'Fn::Join': [sep, flat] };
    }
    if (obj.Ref === 'AWS::Partition') return 'aws';
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, flatten(v)]));
  }
  return value;
}

const cache = new Map<string, ReturnType<typeof build>>();
/** Synthesized once per config; with nag on, so a finding fails the synth (and the test). */
function fleet(config = {}) {
  const key = JSON.stringify(config);
  if (!cache.has(key)) cache.set(key, build(config));
  return cache.get(key)!;
}

function build(config: object) {
  const built = synthApp(config, { nag: true });
  const template = built.template();
  const resources = flatten(template.toJSON().Resources) as Resources;
  const mine = Object.fromEntries(
    Object.entries(resources).filter(([id]) => id.startsWith('SecretRotation')),
  );
  const ofType = (type: string) => Object.entries(mine).filter(([, r]) => r.Type === type);
  return { built, template, resources, mine, ofType };
}

describe('the planter function', () => {
  it('gets the state table and nothing UUID-shaped in its environment', () => {
    const { ofType } = fleet();
    const [[, fn]] = ofType('AWS::Lambda::Function') as unknown as [
      [string, { Properties: { Environment: { Variables: Record<string, unknown> } } }],
    ];
    const variables = fn.Properties.Environment.Variables;
    // NODE_OPTIONS comes and goes with the build settings (house-function.ts).
    expect(
      Object.keys(variables)
        .filter((k) => k !== 'NODE_OPTIONS')
        .sort(),
    ).toEqual(
      [
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'STATE_TABLE',
        // The stack's trail: the planter sets its object-event selectors once the bucket is named.
        'TRAIL_ARN',
        'TRAIL_BUCKET',
      ].sort(),
    );
    expect(variables.STATE_TABLE).toEqual({ Ref: expect.stringMatching(/^StateTable/) });
  });

  it('with an existing trail, gets its ARN and may read only its selectors and status', () => {
    const arn = existingTrail.trail.existingTrailArn;
    const { template } = fleet(existingTrail);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EXISTING_TRAIL_ARN: arn }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['cloudtrail:GetEventSelectors', 'cloudtrail:GetTrailStatus'],
            Effect: 'Allow',
            Resource: arn,
          },
        ]),
      },
    });
  });
});

describe('the planter function in organization mode', () => {
  const OU = 'ou-ab12-cdef3456';
  const MEMBER = '444455556666';
  const orgConfig = (targets: Record<string, unknown>) => ({
    organization: { securityAccount: '222233334444', organizationId: 'o-a1b2c3d4e5', targets },
  });
  type Fn = { Properties: { Timeout: number; Environment: { Variables: Record<string, unknown> } } };
  const planterOf = (config: object) => {
    const { ofType } = fleet(config);
    return (ofType('AWS::Lambda::Function') as unknown as [string, Fn][])[0]![1];
  };
  const statementsOf = (config: object) =>
    (
      fleet(config).ofType('AWS::IAM::Policy') as unknown as [
        string,
        { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } },
      ][]
    ).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);

  it("plants into the members of the target OUs (the access StackSet's instances) through their role", () => {
    const config = orgConfig({ organizationalUnitIds: [OU] });
    const planter = planterOf(config);
    const variables = planter.Properties.Environment.Variables;
    expect(variables.MEMBER_ROLE_ARN).toBe(
      'arn:aws:iam::*:role/platform-shared-services/platform-operations-access',
    );
    expect(variables.MEMBER_UNITS).toBe(OU);
    expect(variables.MEMBER_STACK_SET).toBe('platform-shared-services-access');
    expect(variables.MEMBER_ACCOUNTS).toBeUndefined();
    // A few members at a time, each spreading its writes: the longest a function may run.
    expect(planter.Properties.Timeout).toBe(900);
    const listing = statementsOf(config).find((s) =>
      [s.Action].flat().includes('cloudformation:ListStackInstances'),
    );
    expect(listing?.Resource).toBe(
      'arn:aws:cloudformation:us-east-1:*:stackset/platform-shared-services-access:*',
    );
  });

  it('with listed accounts, plants exactly those and lists nothing', () => {
    const config = orgConfig({ organizationalUnitIds: [OU], accounts: [MEMBER] });
    const variables = planterOf(config).Properties.Environment.Variables;
    expect(variables.MEMBER_ACCOUNTS).toBe(MEMBER);
    expect(variables.MEMBER_STACK_SET).toBeUndefined();
    expect(
      statementsOf(config).some((s) => [s.Action].flat().includes('cloudformation:ListStackInstances')),
    ).toBe(false);
  });
});

describe('the planter role', () => {
  type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };
  const statements = (): Statement[] => {
    const { ofType } = fleet();
    const [[, policy]] = ofType('AWS::IAM::Policy') as unknown as [
      [string, { Properties: { PolicyDocument: { Statement: Statement[] } } }],
    ];
    return policy.Properties.PolicyDocument.Statement;
  };
  const forAction = (action: string) => statements().filter((s) => [s.Action].flat().includes(action));

  it('names no decoy: parameters and users by the ownership tag (ABAC), buckets of this account', () => {
    const [create, existing] = forAction('ssm:PutParameter');
    expect(create!.Resource).toBe(`arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/*`);
    expect(create!.Condition).toEqual({ StringEquals: { 'aws:RequestTag/managed-by': 'secret-rotation' } });
    expect(existing!.Condition).toEqual({
      StringEquals: { 'ssm:resourceTag/managed-by': 'secret-rotation' },
    });
    expect(forAction('ssm:GetParameter')).toEqual([]);

    const [user] = forAction('iam:CreateAccessKey');
    expect(user!.Resource).toBe(`arn:aws:iam::${TEST_ACCOUNT}:user/*`);
    expect(user!.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/managed-by': 'secret-rotation' } });
    const [createUser] = forAction('iam:CreateUser');
    expect(createUser!.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/managed-by': 'secret-rotation' },
    });

    const [bucket] = forAction('s3:CreateBucket');
    expect(bucket!.Resource).toBe('arn:aws:s3:::*');
    expect(bucket!.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': TEST_ACCOUNT } });
    const [objects] = forAction('s3:PutObject');
    expect(objects!.Resource).toBe('arn:aws:s3:::*/*');
    expect(objects!.Action).not.toContain('s3:GetObject');

    // Reads the account's names (never values) to name the decoys after them.
    const [listing] = forAction('ssm:DescribeParameters');
    expect(listing!.Action).toEqual(
      expect.arrayContaining(['s3:ListAllMyBuckets', 'iam:ListUsers', 'kms:ListAliases']),
    );
  });

  it('can encrypt with the parameters key and alias it, but not decrypt', () => {
    const kms = statements().filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
    const actions = kms.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateAlias', 'kms:DeleteAlias']),
    );
    // The state table's key (for the registry) is the only one it may decrypt with directly;
    // the parameters key only through Secrets Manager (writing a secret under a customer
    // key needs kms:Decrypt), and the role has no secretsmanager:GetSecretValue.
    const decrypt = kms.filter((s) => [s.Action].flat().includes('kms:Decrypt'));
    const direct = decrypt.filter((s) => !JSON.stringify(s.Condition ?? {}).includes('kms:ViaService'));
    expect(JSON.stringify(direct.map((s) => s.Resource))).not.toContain('SecretRotationKey');
    const viaSecrets = decrypt.filter((s) => JSON.stringify(s.Resource).includes('SecretRotationKey'));
    expect(viaSecrets.map((s) => JSON.stringify(s.Condition))).toEqual([
      expect.stringContaining('secretsmanager.'),
    ]);
    expect(statements().flatMap((s) => [s.Action].flat())).not.toContain('secretsmanager:GetSecretValue');
  });
});

describe('the custom resource', () => {
  it('carries the shape only: kinds, counts, formats, a revision and the key, no name', () => {
    const { ofType } = fleet();
    const [entry] = ofType('Custom::SecretRotation');
    const properties = entry![1].Properties!;
    expect(Object.keys(properties).sort()).toEqual(
      ['KeyArn', 'Revision', 'ServiceTimeout', 'ServiceToken', 'Shape', 'TrailRevision'].sort(),
    );
    expect(properties.TrailRevision).toMatch(/^[0-9a-f]{16}$/);
    const shape = decodeShape(properties.Shape);
    expect(shape).toEqual(shapeOf(parseConfig({})));
    expect(shape.parameters.every((p) => p.name === undefined)).toBe(true);
    expect(shape.service).toBe('');
    expect(properties.KeyArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SecretRotationKey/), 'Arn'] });
    expect(properties.ServiceToken).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^SecretRotationFunction/), 'Arn'],
    });
    // Bounded wait (instead of CloudFormation's hour) should the function not run at all.
    expect(Number(properties.ServiceTimeout)).toBe(1200);
    expect(entry![1].DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SecretRotationKey/)]),
    );
  });

  it('explicit names are in the shape (the user chose them)', () => {
    const { ofType } = fleet({ decoys: { iam: { userName: 'billing-etl' } } });
    const [entry] = ofType('Custom::SecretRotation');
    expect(decodeShape(entry![1].Properties!.Shape).user).toEqual({ name: 'billing-etl' });
  });
});

describe('no decoy name in any template', () => {
  it('no name the example plan or a fresh planter choice gives appears in any synthesized template', () => {
    const { built } = fleet();
    const templates = built.app
      .synth()
      .stacks.map((stack) => JSON.stringify(stack.template))
      .join('\n');
    const example = planDecoys(parseConfig({}), { account: TEST_ACCOUNT, region: 'us-east-1' }).resources;
    const shape = shapeOf(parseConfig({}));
    const chosen = planFromNames(
      shape,
      chooseNames(shape, emptyInventory(TEST_ACCOUNT, 'us-east-1'), seededRandom('any')),
      { account: TEST_ACCOUNT, region: 'us-east-1' },
    ).resources;
    const names = [...example, ...chosen].flatMap((d) => [
      d.name,
      ...(d.kind === 's3-object' ? [] : [d.arn]),
    ]);
    expect(names.filter((name) => templates.includes(name))).toEqual([]);
    // Nor the service word or the key alias.
    expect(templates).not.toMatch(/alias\/[\w-]/);
  });
});

describe('the parameters key', () => {
  it('goes with the stack (after the parameters it encrypts), with the shortest wait', () => {
    const { mine } = fleet();
    const [key] = Object.values(mine).filter((r) => r.Type === 'AWS::KMS::Key') as unknown as {
      DeletionPolicy: string;
      Properties: { PendingWindowInDays: number; EnableKeyRotation: boolean };
    }[];
    expect(key!.DeletionPolicy).toBe('Delete');
    expect(key!.Properties.PendingWindowInDays).toBe(7);
    expect(key!.Properties.EnableKeyRotation).toBe(true);
  });
});

describe('the trail selectors after a stack update', () => {
  const digestOf = (change?: (trail: cloudtrail.CfnTrail) => void) => {
    const stack = new Stack(new App(), 'S');
    const trail = new cloudtrail.CfnTrail(stack, 'Trail', {
      isLogging: true,
      s3BucketName: 'logs',
      advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] }],
    });
    change?.(trail);
    return stack.resolve(trailRevision(trail)) as string;
  };

  it("the custom resource follows the trail's properties: an update of the trail re-runs the planter", () => {
    expect(digestOf()).toBe(digestOf());
    expect(digestOf((t) => (t.isMultiRegionTrail = true))).not.toBe(digestOf());
    expect(digestOf((t) => (t.s3KeyPrefix = 'x'))).not.toBe(digestOf());
    expect(digestOf((t) => t.tags.setTag('team', 'platform'))).not.toBe(digestOf());
  });

  it('with an existing trail or all-buckets, no such property (nothing to put back)', () => {
    for (const config of [existingTrail, { trail: { dataEvents: 'all-buckets' as const } }]) {
      const [entry] = fleet(config).ofType('Custom::SecretRotation');
      expect(entry![1].Properties!.TrailRevision).toBeUndefined();
    }
  });
});

describe('the schedule', () => {
  it('invokes the planter with the refresh action and the event id (its idempotency key)', () => {
    const { template } = fleet();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [
        Match.objectLike({
          InputTransformer: {
            InputPathsMap: { id: '$.id', time: '$.time' },
            InputTemplate: '{"action":"refresh","reason":"schedule","id":<id>,"time":<time>}',
          },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        }),
      ],
    });
  });
});

describe('stealth', () => {
  it('nothing the planter construct deploys carries a tell', () => {
    for (const config of [
      {},
      {
        trail: {
          mode: 'existing',
          existingTrailArn: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT}:trail/org`,
        },
      },
    ]) {
      const { mine } = fleet(config);
      expect(Object.keys(mine).length).toBeGreaterThan(5);
      expect(findTells(mine)).toEqual([]);
    }
  });
});

describe('cdk-nag', () => {
  it('both trail modes synthesize with no unacknowledged finding', () => {
    // fleet() synthesizes with the AwsSolutions checks on; an unacknowledged finding throws there.
    expect(() => fleet()).not.toThrow();
    expect(() => fleet(existingTrail)).not.toThrow();
  });
});
