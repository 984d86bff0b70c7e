import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { FINDINGS_ONLY_FROM_DETECTORS_SID } from '../../infra/constructs/notifications';
import { IntrinsicResolver, type StackTemplate } from '../../layers/drill/template';
import { FINDING_DETAIL_TYPES, FINDING_EVENT_SOURCE } from '../../layers/findings/finding';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../layers/scoring/labels';
import { tellsIn } from '../../layers/stealth/tells';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { type PolicyDocument, statementsOf } from './stack-templates';

/**
 * Only the stack's detectors can put a finding on the central bus: the bus policy
 * denies the findings' source to every other principal, whatever its identity
 * policy allows (an explicit Deny in the resource policy wins). Checked on the
 * synthesized template, then decided by an IAM policy simulator
 * (@cloud-copilot/iam-simulate) over the resolved bus policy and the roles'
 * own policies, the request carrying aws:PrincipalArn as AWS sets it (the role's
 * ARN, with its path) and events:source / events:detail-type one value per entry.
 */

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

let main: StackTemplate;
let regional: StackTemplate;
let busArn: string;
let busPolicy: PolicyDocument;
/** Role ARNs (resolved) and identity policies, by what the role belongs to. */
const roles = new Map<string, { arn: string; policies: PolicyDocument[] }>();

function stackTemplate(stack: Stack, template: unknown): StackTemplate {
  return {
    stackName: stack.stackName,
    id: stack.node.id,
    account: TEST_ACCOUNT,
    region: stack.region,
    template: template as StackTemplate['template'],
  };
}

/** A role's resolved ARN and every policy attached to it (inline or AWS::IAM::Policy). */
function roleOf(stack: Stack, template: StackTemplate, role: iam.IRole) {
  const resolver = new IntrinsicResolver(template);
  const logicalId = stack.getLogicalId(role.node.defaultChild as never);
  const resources = template.template.Resources ?? {};
  const policies = Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties?.Roles ?? []).includes(`{"Ref":"${logicalId}"}`),
    )
    .map(([id, r]) => resolver.resolve(r.Properties?.PolicyDocument, id) as PolicyDocument);
  return { arn: String(resolver.getAtt(logicalId, 'Arn')), policies };
}

beforeAll(() => {
  const built = synthApp({ monitoredRegions: ['eu-west-1'], scoring: { enabled: true } });
  const assembly = built.app.synth();
  const templateOf = (stack: Stack) =>
    stackTemplate(stack, assembly.getStackArtifact(stack.artifactId).template);
  main = templateOf(built.main);
  const regionalStack = built.regional[0]!;
  regional = templateOf(regionalStack);

  const resolver = new IntrinsicResolver(main);
  const [busId, bus] = Object.entries(main.template.Resources ?? {}).find(
    ([, r]) => r.Type === 'AWS::Events::EventBus',
  )!;
  busArn = String(resolver.getAtt(busId, 'Arn'));
  busPolicy = resolver.resolve(bus.Properties?.Policy, busId) as PolicyDocument;

  const { routing, analytics, workflow } = built.main;
  roles.set('touch', roleOf(built.main, main, routing.touchFunction.role));
  roles.set('unlogged-use', roleOf(built.main, main, routing.unloggedUseFunction.role));
  roles.set('score', roleOf(built.main, main, analytics!.scoreFunction.role));
  roles.set('intake', roleOf(built.main, main, workflow.intake.role));
  roles.set('ledger', roleOf(built.main, main, workflow.ledger.role));
  const forwarding = regionalStack.node.findChild('ForwardingRole') as iam.IRole;
  roles.set('regional forwarding', roleOf(regionalStack, regional, forwarding));
}, 180_000);

async function putEvents(
  principal: { arn: string; policies: PolicyDocument[] },
  entries: { source: string; detailType: string }[],
): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal: principal.arn,
      action: 'events:PutEvents',
      resource: { resource: busArn, accountId: TEST_ACCOUNT },
      contextVariables: {
        'aws:PrincipalArn': principal.arn,
        'aws:PrincipalAccount': TEST_ACCOUNT,
        'events:source': entries.map((e) => e.source),
        'events:detail-type': entries.map((e) => e.detailType),
      },
    },
    identityPolicies: principal.policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: busPolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`simulation failed: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

/** A same-account administrator: `events:*` on `*`, as AdministratorAccess or PowerUserAccess give. */
const admin = {
  arn: `arn:aws:iam::${TEST_ACCOUNT}:role/Admin`,
  policies: [
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: 'events:*', Resource: '*' }] },
  ],
};
const finding = (kind: keyof typeof FINDING_DETAIL_TYPES) => ({
  source: FINDING_EVENT_SOURCE,
  detailType: FINDING_DETAIL_TYPES[kind],
});

describe('central bus policy (template)', () => {
  it('denies PutEvents of the findings source to every principal but the detector roles, labels excepted', () => {
    const statements = statementsOf(busPolicy);
    expect(statements).toHaveLength(1);
    const [deny] = statements;
    expect(deny).toMatchObject({
      Sid: FINDINGS_ONLY_FROM_DETECTORS_SID,
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'events:PutEvents',
      Resource: busArn,
    });
    expect(deny?.Condition?.['ForAnyValue:StringEquals']).toEqual({
      'events:source': [FINDING_EVENT_SOURCE],
    });
    expect(deny?.Condition?.['ForAnyValue:StringNotEquals']).toEqual({
      'events:detail-type': [FINDING_LABELLED_DETAIL_TYPE],
    });
    const exempt = deny?.Condition?.StringNotEquals?.['aws:PrincipalArn'] as string[];
    expect([...exempt].sort()).toEqual(
      ['touch', 'unlogged-use', 'score'].map((name) => roles.get(name)!.arn).sort(),
    );
  });

  it('names no finding detail-type and no marker word (ReadOnlyAccess reads bus policies)', () => {
    const text = JSON.stringify(busPolicy);
    for (const detailType of Object.values(FINDING_DETAIL_TYPES)) expect(text).not.toContain(detailType);
    expect(tellsIn(text)).toEqual([]);
  });
});

describe('central bus policy (simulated)', () => {
  it('denies a same-account administrator a finding of any kind, under any detail-type', async () => {
    for (const kind of Object.keys(FINDING_DETAIL_TYPES) as (keyof typeof FINDING_DETAIL_TYPES)[])
      expect(await putEvents(admin, [finding(kind)]), kind).toBe('ExplicitlyDenied');
    expect(await putEvents(admin, [{ source: FINDING_EVENT_SOURCE, detailType: 'Anything Else' }])).toBe(
      'ExplicitlyDenied',
    );
  });

  it('denies a batch that hides one finding among other events', async () => {
    const batch = [{ source: 'com.example.orders', detailType: 'Order Placed' }, finding('resource-access')];
    expect(await putEvents(admin, batch)).toBe('ExplicitlyDenied');
  });

  it('lets the administrator put a label and the account’s other events', async () => {
    expect(
      await putEvents(admin, [{ source: FINDING_EVENT_SOURCE, detailType: FINDING_LABELLED_DETAIL_TYPE }]),
    ).toBe('Allowed');
    expect(await putEvents(admin, [{ source: 'com.example.orders', detailType: 'Order Placed' }])).toBe(
      'Allowed',
    );
  });

  it('lets each detector role publish findings, by its own identity policy', async () => {
    expect(await putEvents(roles.get('touch')!, [finding('resource-access')])).toBe('Allowed');
    expect(await putEvents(roles.get('touch')!, [finding('tamper')])).toBe('Allowed');
    expect(await putEvents(roles.get('unlogged-use')!, [finding('unlogged-use')])).toBe('Allowed');
    expect(await putEvents(roles.get('score')!, [finding('anomaly')])).toBe('Allowed');
  });

  it('gives no other role of the stack a way to publish a finding', async () => {
    for (const name of ['intake', 'ledger', 'regional forwarding'])
      expect(await putEvents(roles.get(name)!, [finding('resource-access')]), name).not.toBe('Allowed');
  });

  it('still lets the regional forwarding role deliver CloudTrail events (aws.* sources)', async () => {
    const cloudTrail = { source: 'aws.ssm', detailType: 'AWS API Call via CloudTrail' };
    expect(await putEvents(roles.get('regional forwarding')!, [cloudTrail])).toBe('Allowed');
  });
});
