import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_STATE } from '../../infra/constructs/event-routing';
import { ORGANIZATION_FORWARDING_SID } from '../../infra/constructs/notifications';
import { type MemberTemplates, memberTemplates } from '../../infra/stacks/member-stacks';
import { memberRoleArn } from '../../layers/config/names';
import { DEFAULT_ENABLED_REGIONS } from '../../layers/config/regions';
import { type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { findTells } from '../../layers/stealth/tells';
import { synthApp } from '../helpers/app';
import { listOf, type PolicyDocument, statementsOf } from './stack-templates';

const SECURITY = '222233334444';
const OU = 'ou-ab12-cdef3456';
const ORG_ID = 'o-a1b2c3d4e5';
const organization = (extra: Record<string, unknown> = {}): HoneytrailConfigInput => ({
  organization: { securityAccount: SECURITY, targets: { organizationalUnitIds: [OU] }, ...extra },
});

type Resource = { Type: string; Properties: Record<string, unknown> };
const resourcesOf = (template: { Resources: Record<string, unknown> }, type: string) =>
  Object.values(template.Resources as Record<string, Resource>).filter((r) => r.Type === type);

const stackSets = (template: Template) =>
  Object.values(template.findResources('AWS::CloudFormation::StackSet') as Record<string, Resource>).map(
    (r) => ({
      ...r.Properties,
      body: JSON.parse(r.Properties.TemplateBody as string) as { Resources: Record<string, unknown> },
    }),
  ) as (Record<string, unknown> & { body: { Resources: Record<string, unknown> }; StackSetName: string })[];

describe('single account: every region enabled by default', () => {
  const built = synthApp({});
  const regions = [built.main.region, ...built.regional.map((stack) => stack.region)].sort();

  it('forwards from the 17 default regions: home plus one regional stack per other region', () => {
    expect(regions).toEqual([...DEFAULT_ENABLED_REGIONS.aws].sort());
    expect(built.regional).toHaveLength(16);
  });

  it('every regional stack deploys after the home region’s (IAM eventual consistency)', () => {
    for (const stack of built.regional) expect(stack.dependencies).toContain(built.main);
  });

  it('every region’s forwarding rules see read-only management events', () => {
    const regional = built.regional[0]!;
    const states = regional.forwardingRules.map((rule) => rule.state);
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set([ROUTE_STATE]));
  });
});

describe('organization mode', () => {
  let built: ReturnType<typeof synthApp>;
  let template: Template;
  let sets: ReturnType<typeof stackSets>;

  beforeAll(() => {
    built = synthApp(
      organization({
        organizationId: ORG_ID,
        logArchive: {
          bucket: 'org-trail-logs-555566667777',
          kmsKeyArn: 'arn:aws:kms:us-east-1:555566667777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          notificationTopicArn: 'arn:aws:sns:us-east-1:555566667777:log-archive-objects',
        },
      }),
    );
    template = built.template();
    sets = stackSets(template);
  });

  it('deploys one stack, the control plane, in the security account’s home region', () => {
    expect(built.regional).toEqual([]);
    expect(built.main.account).toBe(SECURITY);
    expect(built.main.region).toBe('us-east-1');
  });

  it('members get service-managed StackSets with automatic deployment, as delegated administrator, to the OUs', () => {
    expect(sets.map((s) => s.StackSetName).sort()).toEqual([
      'platform-shared-services-access',
      'platform-shared-services-routing',
    ]);
    for (const set of sets) {
      expect(set.PermissionModel).toBe('SERVICE_MANAGED');
      expect(set.CallAs).toBe('DELEGATED_ADMIN');
      expect(set.AutoDeployment).toEqual({ Enabled: true, RetainStacksOnAccountRemoval: false });
      expect(set.StackInstancesGroup).toEqual([
        { DeploymentTargets: { OrganizationalUnitIds: [OU] }, Regions: expect.any(Array) },
      ]);
    }
  });

  it('routing covers every default region; the role, global, one region', () => {
    const regionsOf = (name: string) =>
      (sets.find((s) => s.StackSetName === name)!.StackInstancesGroup as { Regions: string[] }[])[0]!.Regions;
    expect(regionsOf('platform-shared-services-routing')).toEqual([...DEFAULT_ENABLED_REGIONS.aws].sort());
    expect(regionsOf('platform-shared-services-access')).toEqual(['us-east-1']);
  });

  it('the member role trusts the security account’s control-plane roles only', () => {
    const access = sets.find((s) => s.StackSetName.endsWith('-access'))!.body;
    const [role] = resourcesOf(access, 'AWS::IAM::Role');
    expect(role!.Properties.RoleName).toBe('platform-operations-access');
    expect(role!.Properties.Path).toBe('/platform-shared-services/');
    const [trust] = statementsOf(role!.Properties.AssumeRolePolicyDocument as PolicyDocument);
    expect(JSON.stringify(trust!.Principal)).toContain(`:iam::${SECURITY}:root`);
    expect(JSON.stringify(trust!.Condition?.ArnLike?.['aws:PrincipalArn'])).toContain(
      `:iam::${SECURITY}:role/platform-shared-services/*`,
    );
  });

  it('the member role never changes the organization’s own roles or the stack’s', () => {
    const access = sets.find((s) => s.StackSetName.endsWith('-access'))!.body;
    const [policy] = resourcesOf(access, 'AWS::IAM::Policy');
    const deny = statementsOf(policy!.Properties.PolicyDocument as PolicyDocument).find(
      (s) => s.Effect === 'Deny',
    )!;
    const resources = JSON.stringify(deny.Resource);
    for (const name of [
      'OrganizationAccountAccessRole',
      'AWSControlTower*',
      'stacksets-exec-*',
      'platform-shared-services/*',
    ])
      expect(resources).toContain(`role/${name}`);
    expect(listOf(deny.Action)).toEqual(
      expect.arrayContaining(['iam:AttachRolePolicy', 'iam:DeleteAccessKey']),
    );
  });

  it('member rules forward read-only management events to the central bus in the security account', () => {
    const routing = sets.find((s) => s.StackSetName.endsWith('-routing'))!.body;
    const rules = resourcesOf(routing, 'AWS::Events::Rule');
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.Properties.State).toBe(ROUTE_STATE);
      const [target] = rule.Properties.Targets as {
        Arn: unknown;
        RoleArn: unknown;
        DeadLetterConfig: unknown;
      }[];
      expect(JSON.stringify(target!.Arn)).toContain(
        `:events:us-east-1:${SECURITY}:event-bus/platform-shared-services-events`,
      );
      expect(target!.RoleArn).toBeDefined();
      expect(target!.DeadLetterConfig).toBeDefined();
    }
  });

  it('the central bus lets the organization forward, and still only the detectors publish findings', () => {
    const [bus] = Object.values(template.findResources('AWS::Events::EventBus')) as Resource[];
    const statements = statementsOf(bus!.Properties.Policy as PolicyDocument);
    const allow = statements.find((s) => s.Sid === ORGANIZATION_FORWARDING_SID)!;
    expect(allow.Effect).toBe('Allow');
    expect(allow.Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': ORG_ID } });
    expect(statements.find((s) => s.Effect === 'Deny')).toBeDefined();
  });

  it('the security account forwards none of its own events (it holds no decoys)', () => {
    expect(built.main.routing.forwardingRules).toEqual([]);
  });

  it('the planter and the response may assume the member role, in this organization only; planting follows the role', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
    const assume = policies
      .flatMap((p) => statementsOf(p.Properties.PolicyDocument as PolicyDocument))
      .filter((s) => listOf(s.Action).includes('sts:AssumeRole'));
    // The planter's, the state machine's and the key rotation's: every one scoped the same way.
    expect(assume.length).toBeGreaterThanOrEqual(3);
    for (const statement of assume) {
      expect(JSON.stringify(statement.Resource)).toContain(
        ':iam::*:role/platform-shared-services/platform-operations-access',
      );
      expect(statement.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': ORG_ID } });
    }
    const plant = Object.entries(template.findResources('Custom::SecretRotation'))[0]![1] as {
      DependsOn?: string[];
    };
    const accessId = Object.entries(template.findResources('AWS::CloudFormation::StackSet')).find(
      ([, r]) => (r as Resource).Properties.StackSetName === 'platform-shared-services-access',
    )![0];
    expect(plant.DependsOn).toContain(accessId);
  });

  it('scoring reads the organization trail’s log archive: its topic, bucket and key', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: 'arn:aws:sns:us-east-1:555566667777:log-archive-objects',
      RawMessageDelivery: true,
    });
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]).flatMap(
      (p) => statementsOf(p.Properties.PolicyDocument as PolicyDocument),
    );
    const text = JSON.stringify(statements);
    expect(text).toContain('org-trail-logs-555566667777/AWSLogs/*');
    expect(
      statements.some(
        (s) =>
          listOf(s.Action).includes('kms:Decrypt') &&
          listOf(s.Resource).includes(
            'arn:aws:kms:us-east-1:555566667777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          ),
      ),
    ).toBe(true);
  });

  it('training reads the organization trail through Athena (the configured organization ID)', () => {
    expect(built.main.organizationAnalytics).toBeDefined();
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
    const train = functions.find((f) => JSON.stringify(f.Properties).includes('QUERY_WORKGROUP'));
    expect(train).toBeDefined();
    const variables = (train!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      TRAIL_ORGANIZATION: ORG_ID,
      TRAIL_BUCKET: 'org-trail-logs-555566667777',
    });
  });

  it('without an organization ID, looks it up at deploy time', () => {
    const looked = synthApp(organization()).template();
    const [bus] = Object.values(looked.findResources('AWS::Events::EventBus')) as Resource[];
    const allow = statementsOf(bus!.Properties.Policy as PolicyDocument).find(
      (s) => s.Sid === ORGANIZATION_FORWARDING_SID,
    )!;
    expect(JSON.stringify(allow.Condition)).toContain('Organization.Id');
  });
});

describe('organization mode: member templates', () => {
  const named: HoneytrailConfigInput = {
    ...organization({
      regions: ['us-east-1', 'eu-west-1', 'af-south-1'],
      targets: { organizationalUnitIds: [OU], accounts: ['333344445555'] },
    }),
    detection: { ruleStyle: 'named' },
    decoys: {
      ssm: { parameters: [{ name: '/prod/payments/db-password', format: 'password' }] },
      iam: { userName: 'svc-payments-ci' },
    },
  };
  const config = parseConfig(named) as ReturnType<typeof parseConfig> & {
    organization: NonNullable<ReturnType<typeof parseConfig>['organization']>;
  };
  let templates: MemberTemplates;
  beforeAll(() => {
    templates = memberTemplates(config, { nag: true });
  });

  it('are cdk-nag clean (synthesized with the checks on)', () => {
    expect(Object.keys(templates.access.Resources).length).toBeGreaterThan(0);
  });

  it('name no decoy and carry no marker word, even with named rules and explicit decoy names', () => {
    for (const template of [templates.access, templates.routing]) {
      const text = JSON.stringify(template);
      expect(text).not.toContain('/prod/payments/db-password');
      expect(text).not.toContain('svc-payments-ci');
      expect(findTells(template)).toEqual([]);
    }
  });

  it('carry no path metadata, version reporting or bootstrap parameter', () => {
    for (const template of [templates.access, templates.routing]) {
      const text = JSON.stringify(template);
      expect(text).not.toContain('aws:cdk:path');
      expect(text).not.toContain('CDKMetadata');
      expect(text).not.toContain('BootstrapVersion');
    }
  });

  it('opt-in regions get their own StackSet that tolerates accounts not opted in; listed accounts narrow the OUs', () => {
    const sets = stackSets(synthApp(named).template());
    const optIn = sets.find((s) => s.StackSetName.endsWith('-routing-opt-in'))!;
    const strict = sets.find((s) => s.StackSetName.endsWith('-routing'))!;
    expect((optIn.StackInstancesGroup as { Regions: string[] }[])[0]!.Regions).toEqual(['af-south-1']);
    expect((strict.StackInstancesGroup as { Regions: string[] }[])[0]!.Regions).toEqual([
      'eu-west-1',
      'us-east-1',
    ]);
    expect(optIn.OperationPreferences).toMatchObject({ FailureTolerancePercentage: 100 });
    expect(strict.OperationPreferences).toMatchObject({ FailureTolerancePercentage: 0 });
    expect((strict.StackInstancesGroup as { DeploymentTargets: unknown }[])[0]!.DeploymentTargets).toEqual({
      OrganizationalUnitIds: [OU],
      Accounts: ['333344445555'],
      AccountFilterType: 'INTERSECTION',
    });
  });

  it('the role pattern the control plane assumes matches the member role', () => {
    expect(memberRoleArn(config, 'aws')).toBe(
      'arn:aws:iam::*:role/platform-shared-services/platform-operations-access',
    );
  });
});
