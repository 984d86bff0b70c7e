import type { CfnElement } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { detectionContext, ROUTE_STATE } from '../../infra/constructs/event-routing';
import { centralBusName } from '../../layers/config/names';
import { allRegions, type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { explicitPlan, planDecoys } from '../../layers/decoys/catalogue';
import { buildDetectionRules } from '../../layers/detection/rules';
import { findTells } from '../../layers/stealth/tells';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { sharedApp } from './shared-app';

const CONFIG: HoneytrailConfigInput = {
  homeRegion: 'eu-west-1',
  monitoredRegions: ['eu-central-1', 'ap-southeast-2'],
};

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Names set in the config: the only ones a synthesized (named) rule can know. */
const EXPLICIT: HoneytrailConfigInput['decoys'] = {
  ssm: { parameters: [{ name: '/prod/billing/db-password', format: 'password' }] },
  s3: { bucketName: 'billing-exports-{account}-{region}' },
  iam: { userName: 'billing-export' },
};

/** The routing's rules: all of a regional stack's, the EventRouting construct's in the main stack. */
function rulesOf(resources: Resources, main = false) {
  return Object.entries(resources).filter(
    ([id, r]) => r.Type === 'AWS::Events::Rule' && (!main || id.startsWith('EventRouting')),
  );
}

describe('the synthesized patterns are exactly buildDetectionRules for the configured decoys', () => {
  it.each(['named', 'broad'] as const)('%s rules, central bus and home forwarding', (ruleStyle) => {
    const shared = sharedApp({ ...CONFIG, decoys: EXPLICIT, detection: { ruleStyle } });
    const { main, config } = shared.built;
    // Independently of the construct: the catalogue's plan and the stack's own resources.
    // Broad rules are built from no decoy and without the key (they name neither).
    const named = ruleStyle === 'named';
    const decoys = named
      ? explicitPlan(config, { account: main.account, region: main.region, partition: main.partition })
          .resources
      : [];
    const context = detectionContext(config, {
      busName: centralBusName(config),
      trailName: main.trail.trailName,
      trailArn: main.trail.trailArn,
      planterRoleArn: main.decoys.plantFunction.role.roleArn,
      ...(named ? { keyArn: main.decoys.key.keyArn } : {}),
    });
    const expected = main.resolve(
      buildDetectionRules(decoys, context).map((r) => ({ Name: r.name, EventPattern: r.pattern })),
    );
    const resources = shared.template().toJSON().Resources as Resources;
    const central = rulesOf(resources, true).filter(([, r]) => r.Properties.EventBusName);
    const forwarding = rulesOf(resources, true).filter(
      ([, r]) => !r.Properties.EventBusName && r.Properties.EventPattern,
    );
    const shape = ([, r]: [string, { Properties: Record<string, unknown> }]) => ({
      Name: r.Properties.Name,
      EventPattern: r.Properties.EventPattern,
    });
    expect(central.map(shape)).toEqual(expected);
    expect(forwarding.map(shape)).toEqual(expected);
    // Named rules list what the config names; broad rules name nothing at all.
    const text = JSON.stringify(central.map(shape));
    for (const name of ['/prod/billing/db-password', 'billing-export', 'billing-exports-']) {
      if (named) expect(text).toContain(name);
      else expect(text).not.toContain(name);
    }
  });

  it('named rules without names in the config watch every kind broadly: the broad patterns, no name', () => {
    const patterns = (ruleStyle: 'named' | 'broad') =>
      sharedApp({ ...CONFIG, detection: { ruleStyle } }).built.regional[0]!.rules.map((r) => r.pattern);
    expect(patterns('named')).toEqual(patterns('broad'));
  });

  it.each(['named', 'broad'] as const)(
    '%s: the regional stacks deploy the same builder output (without the home-stack ARNs)',
    (ruleStyle) => {
      const shared = sharedApp({ ...CONFIG, decoys: EXPLICIT, detection: { ruleStyle } });
      const built = shared.built;
      const templates = new Map(shared.stacks().map((artifact) => [artifact.stackName, artifact.template]));
      for (const stack of built.regional) {
        const decoys =
          ruleStyle === 'named'
            ? explicitPlan(built.config, {
                account: stack.account,
                region: built.config.homeRegion,
                partition: stack.partition,
              }).resources
            : [];
        const expected = stack.resolve(buildDetectionRules(decoys, stack.context).map((r) => r.pattern));
        const patterns = rulesOf(templates.get(stack.stackName).Resources as Resources).map(
          ([, r]) => r.Properties.EventPattern,
        );
        expect(patterns).toEqual(expected);
        expect(stack.context.planterRoleArn).toBeUndefined();
      }
    },
  );
});

describe('routing', () => {
  const shared = sharedApp(CONFIG);
  const built = { template: shared.template, main: shared.built.main };
  const assembly = { stacks: shared.stacks() };
  const config = parseConfig(CONFIG);

  it('forwards from every monitored region (and us-east-1, for IAM) to the central bus in the home region', () => {
    const regions = assembly.stacks.map((s) => s.environment.region).sort();
    expect(regions).toEqual(allRegions(config));
    for (const stack of assembly.stacks.filter((s) => s.environment.region !== config.homeRegion)) {
      expect(stack.stackName).toBe(`platform-shared-services-${stack.environment.region}`);
      const rules = rulesOf(stack.template.Resources as Resources);
      expect(rules.length).toBeGreaterThanOrEqual(6);
      for (const [, rule] of rules) {
        const [target] = rule.Properties.Targets as { Arn: unknown; RoleArn?: unknown }[];
        expect(JSON.stringify(target!.Arn)).toContain(
          `:events:eu-west-1:${TEST_ACCOUNT}:event-bus/platform-shared-services-events`,
        );
        expect(target!.RoleArn).toBeDefined();
      }
    }
  });

  it('every rule, on both sides, receives read-only management events', () => {
    for (const stack of assembly.stacks) {
      const main = stack.environment.region === config.homeRegion;
      for (const [id, rule] of rulesOf(stack.template.Resources as Resources, main)) {
        if (rule.Properties.ScheduleExpression) continue; // a scheduled rule cannot take that state
        expect(rule.Properties.State, `${stack.stackName} ${id}`).toBe(ROUTE_STATE);
      }
    }
  });

  it('every target of every rule has a dead-letter queue and a retry policy', () => {
    for (const stack of assembly.stacks) {
      const main = stack.environment.region === config.homeRegion;
      for (const [id, rule] of rulesOf(stack.template.Resources as Resources, main)) {
        for (const target of rule.Properties.Targets as Record<string, unknown>[]) {
          expect(target.DeadLetterConfig, `${stack.stackName} ${id}`).toEqual({
            Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
          });
          expect(target.RetryPolicy, `${stack.stackName} ${id}`).toEqual({
            MaximumEventAgeInSeconds: expect.any(Number),
            MaximumRetryAttempts: expect.any(Number),
          });
        }
      }
    }
  });

  it('only the platform functions, not the rest of the account, answer the routing', () => {
    const template = built.template();
    // A failed invocation keeps its event in the dead-letter queue.
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventInvokeConfig',
      {
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventRoutingDeadLetters'), 'Arn'] },
          },
        },
      },
      2,
    );
    // The dead-letter queue takes messages from the routing rules only.
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const fromEvents = statements.filter((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com'));
    expect(fromEvents.length).toBeGreaterThanOrEqual(14);
    for (const statement of fromEvents)
      expect(JSON.stringify(statement.Condition)).toContain('aws:SourceArn');
  });

  it('the credential report reads last use of every user (naming none), on the configured schedule', () => {
    const template = built.template();
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys'] }),
          ]),
        },
      },
    });
    const [policy] = Object.values(policies) as {
      Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } };
    }[];
    const statement = policy!.Properties.PolicyDocument.Statement.find((s) =>
      JSON.stringify(s.Action).includes('GetAccessKeyLastUsed'),
    )!;
    expect(JSON.stringify(statement.Resource)).toMatch(/:iam::111122223333:user\/\*"\]\]\}$/);
  });

  it('the touch function environment names no decoy, not even the parameters key', () => {
    const template = built.template();
    const functions = template.findResources('AWS::Lambda::Function');
    const router = Object.entries(functions).find(([id]) => id.startsWith('EventRoutingRouter'));
    const variables = (router![1] as { Properties: { Environment: { Variables: Record<string, unknown> } } })
      .Properties.Environment.Variables;
    expect(Object.keys(variables)).not.toContain('KEY_ARN');
    const keyId = built.main.getLogicalId(built.main.decoys.key.node.defaultChild as CfnElement);
    expect(JSON.stringify(variables)).not.toContain(keyId);
  });

  it('Security Hub import is granted only when configured', () => {
    const has = (t: Template) => JSON.stringify(t.toJSON()).includes('securityhub:BatchImportFindings');
    expect(has(built.template())).toBe(false);
    expect(has(sharedApp({ ...CONFIG, detection: { securityHub: true } }).template())).toBe(true);
  });
});

describe('stealth and cdk-nag', () => {
  it('nothing the detection deploys carries a marker word or a UUID', () => {
    const assembly = { stacks: sharedApp({ ...CONFIG, alertEmail: 'soc@example.com' }).stacks() };
    for (const stack of assembly.stacks) {
      const resources = stack.template.Resources as Resources;
      const ours = Object.fromEntries(
        Object.entries(resources).filter(
          ([id]) => stack.environment.region !== 'eu-west-1' || id.startsWith('EventRouting'),
        ),
      );
      expect(Object.keys(ours).length).toBeGreaterThan(0);
      expect(findTells(ours), stack.stackName).toEqual([]);
      expect(findTells({ name: stack.stackName, description: stack.template.Description })).toEqual([]);
    }
  });

  it('cdk-nag reports nothing unacknowledged with regional stacks and Security Hub on', () => {
    const { app } = synthApp(
      { ...CONFIG, detection: { securityHub: true, ruleStyle: 'broad' } },
      { nag: true },
    );
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the trail names no bucket; the planter completes its selectors', () => {
  type TrailProps = { AdvancedEventSelectors: unknown; S3BucketName: { Ref: string } };
  const trailOf = (template: Template) =>
    (Object.values(template.findResources('AWS::CloudTrail::Trail')) as { Properties: TrailProps }[])[0]!
      .Properties;
  /** A role given what the planter gets, and the statements it ends up with. */
  const grantedTo = (built: ReturnType<typeof synthApp>) => {
    const probe = new iam.Role(built.main, 'SelectorProbe', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    built.main.trail.allowSelectorUpdates(probe);
    const policies = built.template().findResources('AWS::IAM::Policy');
    return Object.values(policies)
      .filter((p) =>
        JSON.stringify(p).includes(built.main.getLogicalId(probe.node.defaultChild as CfnElement)),
      )
      .flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } })
            .Properties.PolicyDocument.Statement,
      );
  };

  it('planted-bucket (default): management events only in the template, and no decoy name', () => {
    const { built, template } = sharedApp(CONFIG);
    const trail = trailOf(template());
    expect(trail.AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    ]);
    expect(built.main.trail.plantTimeSelectors).toBe(true);
    expect(built.main.trail.resource).toBeDefined();
    const text = JSON.stringify(trail);
    for (const decoy of planDecoys(built.config, { account: TEST_ACCOUNT, region: 'eu-west-1' }).resources) {
      expect(text).not.toContain(decoy.name);
    }
  });

  it('planted-bucket: the planter may get and put the selectors of this trail, and nothing else', () => {
    const built = synthApp(CONFIG);
    const statements = grantedTo(built);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toEqual(['cloudtrail:GetEventSelectors', 'cloudtrail:PutEventSelectors']);
    expect(built.main.resolve(statements[0]!.Resource)).toEqual(
      built.main.resolve(built.main.trail.trailArn),
    );
    expect(JSON.stringify(statements[0]!.Resource)).toContain(':trail/platform-shared-services');
  });

  it('all-buckets: every bucket but the trail own in the template, no selector left to the planter', () => {
    const built = synthApp({ ...CONFIG, trail: { dataEvents: 'all-buckets' } });
    const statements = grantedTo(built);
    const trail = trailOf(built.template());
    expect(trail.AdvancedEventSelectors).toEqual([
      { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: 'Object activity',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          {
            Field: 'resources.ARN',
            NotStartsWith: [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', trail.S3BucketName, '/']] },
            ],
          },
        ],
      },
    ]);
    expect(built.main.trail.plantTimeSelectors).toBe(false);
    expect(statements).toEqual([]);
  });

  it('without a bucket decoy, or with an existing trail, the planter never touches the selectors', () => {
    const withoutBucket = sharedApp({ ...CONFIG, decoys: { s3: { enabled: false } } });
    expect(withoutBucket.built.main.trail.plantTimeSelectors).toBe(false);
    expect(trailOf(withoutBucket.template()).AdvancedEventSelectors).toHaveLength(1);
    const existing = synthApp({
      ...CONFIG,
      trail: {
        mode: 'existing',
        existingTrailArn: `arn:aws:cloudtrail:eu-west-1:${TEST_ACCOUNT}:trail/org-audit`,
      },
    });
    expect(existing.main.trail.plantTimeSelectors).toBe(false);
    expect(existing.main.trail.resource).toBeUndefined();
  });
});
