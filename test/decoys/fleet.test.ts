import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { decodeSpec } from '../../layers/decoys/spec';
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
    expect(Object.keys(variables).sort()).toEqual(
      ['NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'STATE_TABLE'].sort(),
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

describe('the planter role', () => {
  const statements = () => {
    const { ofType } = fleet();
    const [[, policy]] = ofType('AWS::IAM::Policy') as unknown as [
      [
        string,
        { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } },
      ],
    ];
    return policy.Properties.PolicyDocument.Statement;
  };
  const forAction = (action: string) => statements().filter((s) => [s.Action].flat().includes(action));

  it('acts on the planned parameters, bucket and user only', () => {
    const [ssm] = forAction('ssm:PutParameter');
    expect(ssm!.Action).toEqual([
      'ssm:GetParameter',
      'ssm:PutParameter',
      'ssm:DeleteParameter',
      'ssm:AddTagsToResource',
    ]);
    expect([ssm!.Resource].flat()).toHaveLength(4);
    for (const arn of [ssm!.Resource].flat())
      expect(arn).toMatch(new RegExp(`^arn:aws:ssm:us-east-1:${TEST_ACCOUNT}:parameter/prod/`));

    const [user] = forAction('iam:CreateAccessKey');
    expect(user!.Resource).toMatch(new RegExp(`^arn:aws:iam::${TEST_ACCOUNT}:user/[\\w-]+$`));
    expect(user!.Action).toEqual(
      expect.arrayContaining([
        'iam:CreateUser',
        'iam:TagUser',
        'iam:PutUserPolicy',
        'iam:DeleteUser',
        'iam:DetachUserPolicy',
      ]),
    );

    const [bucket] = forAction('s3:CreateBucket');
    expect(bucket!.Resource).toMatch(/^arn:aws:s3:::[a-z0-9-]+$/);
    const [objects] = forAction('s3:PutObject');
    expect(objects!.Resource).toBe(`${bucket!.Resource}/*`);
    expect(objects!.Action).not.toContain('s3:GetObject');
  });

  it('can encrypt with the parameters key but not decrypt', () => {
    const kms = statements().filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
    const actions = kms.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['kms:Encrypt', 'kms:GenerateDataKey']));
    // The state table's key (for the registry) is the only one it may decrypt with.
    const decrypt = kms.filter((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(JSON.stringify(decrypt.map((s) => s.Resource))).not.toContain('SecretRotationKey');
  });
});

describe('the custom resource', () => {
  it('carries the plan without breadcrumbs or the plan key names, and waits for the key alias', () => {
    const { ofType, built } = fleet();
    const [entry] = ofType('Custom::SecretRotation');
    const resource = entry?.[1];
    const plan = resource!.Properties!.Plan as string;
    expect(typeof plan).toBe('string');
    expect(plan).not.toMatch(/leadsTo|"decoys"/);
    const spec = decodeSpec(plan);
    expect(spec.plan.decoys.map((d) => d.name)).toEqual(built.main.plan.decoys.map((d) => d.name));
    expect(resource!.Properties!.ServiceToken).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^SecretRotationFunction/), 'Arn'],
    });
    // Bounded wait (instead of CloudFormation's hour) should the function not run at all.
    expect(Number(resource!.Properties!.ServiceTimeout)).toBe(1200);
    expect(resource!.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SecretRotationKeyAlias/)]),
    );
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

describe('the schedule', () => {
  it('invokes the planter with the refresh action and the event id (its idempotency key)', () => {
    const { template } = fleet();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [
        Match.objectLike({
          InputTransformer: {
            InputPathsMap: { id: '$.id', time: '$.time' },
            InputTemplate: '{"action":"refresh","id":<id>,"time":<time>}',
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
