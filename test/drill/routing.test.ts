import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { toEnvelope } from '../../layers/cloudtrail/record';
import { percentile, summarizeLatencies } from '../../layers/drill/kpi';
import {
  DeployedRouting,
  type DeployedTrail,
  type EventEnvelope,
  seesEvent,
  trailLogs,
} from '../../layers/drill/routing';
import {
  type DeployedRule,
  deployedRules,
  IntrinsicResolver,
  type StackTemplate,
} from '../../layers/drill/template';

const ACCOUNT = '111122223333';

function stack(region: string, resources: StackTemplate['template']['Resources']): StackTemplate {
  return {
    stackName: `app-${region}`,
    id: region,
    account: ACCOUNT,
    region,
    template: { Resources: resources },
  };
}

const record = (fields: Partial<CloudTrailRecord>): CloudTrailRecord => ({
  eventTime: '2024-05-13T10:00:00Z',
  eventSource: 'ssm.amazonaws.com',
  eventName: 'GetParameter',
  awsRegion: 'eu-west-1',
  readOnly: true,
  managementEvent: true,
  eventCategory: 'Management',
  eventID: 'e1',
  userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  requestParameters: { name: '/prod/app/db-password' },
  ...fields,
});

describe('intrinsic functions, resolved as CloudFormation would', () => {
  const home = stack('us-east-1', {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'central' } },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Role: { Type: 'AWS::IAM::Role', Properties: { Path: '/service/' } },
    Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
  });
  const resolver = new IntrinsicResolver(home);

  it('pseudo parameters, Ref and GetAtt by resource type', () => {
    expect(
      resolver.resolve({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::x-', { Ref: 'AWS::AccountId' }]],
      }),
    ).toBe(`arn:aws:s3:::x-${ACCOUNT}`);
    expect(resolver.resolve({ Ref: 'Bus' })).toBe('central');
    expect(resolver.resolve({ 'Fn::GetAtt': ['Bus', 'Arn'] })).toBe(
      `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/central`,
    );
    expect(resolver.resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe(
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app-us-east-1-Fn`,
    );
    expect(resolver.resolve({ 'Fn::GetAtt': ['Role', 'Arn'] })).toBe(
      `arn:aws:iam::${ACCOUNT}:role/service/app-us-east-1-Role`,
    );
    expect(
      resolver.resolve({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a template literal
        'Fn::Sub': ['q=${Queue.Arn} r=${AWS::Region} v=${v} ${!Literal}', { v: { Ref: 'Bus' } }],
      }),
    ).toBe(`q=arn:aws:sqs:us-east-1:${ACCOUNT}:app-us-east-1-Queue r=us-east-1 v=central \${Literal}`);
    expect(resolver.resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    expect(resolver.resolve({ a: { Ref: 'AWS::NoValue' }, b: 1 })).toEqual({ b: 1 });
  });

  it('a reference to a resource that is not there is an error naming it', () => {
    expect(() => resolver.resolve({ Ref: 'Nope' }, 'Rule.Targets')).toThrow(
      /app-us-east-1 Rule.Targets: no resource Nope/,
    );
  });
});

describe('EventBridge as deployed', () => {
  const pattern = { source: ['aws.ssm'], detail: { requestParameters: { name: ['/prod/app/db-password'] } } };
  const home = stack('us-east-1', {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'central' } },
    Handler: { Type: 'AWS::Lambda::Function', Properties: {} },
    Route: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: 'route-20',
        EventBusName: { Ref: 'Bus' },
        State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        EventPattern: pattern,
        Targets: [{ Id: 'H', Arn: { 'Fn::GetAtt': ['Handler', 'Arn'] } }],
      },
    },
  });
  const regional = (state: string) =>
    stack('eu-west-1', {
      Forward: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: 'route-20',
          State: state,
          EventPattern: pattern,
          Targets: [
            {
              Id: 'C',
              Arn: {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, `:events:us-east-1:${ACCOUNT}:event-bus/central`],
                ],
              },
            },
          ],
        },
      },
    });
  const handlerArn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app-us-east-1-Handler`;

  it('follows a regional rule to the central bus and its rule to the function', () => {
    const rules: DeployedRule[] = deployedRules([
      home,
      regional('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'),
    ]);
    const routing = new DeployedRouting(rules);
    const deliveries = routing.deliver(toEnvelope(record({})) as EventEnvelope, 'eu-west-1');
    expect(deliveries.map((d) => [d.targetArn, d.path.map((r) => `${r.region}/${r.bus}/${r.name}`)])).toEqual(
      [[handlerArn, ['eu-west-1/default/route-20', 'us-east-1/central/route-20']]],
    );
    // Another region has no rules: nothing reaches detection from there.
    expect(
      routing.deliver(toEnvelope(record({ awsRegion: 'ap-south-1' })) as EventEnvelope, 'ap-south-1'),
    ).toEqual([]);
  });

  it('a rule in state ENABLED misses read-only management events', () => {
    const routing = new DeployedRouting(deployedRules([home, regional('ENABLED')]));
    expect(routing.deliver(toEnvelope(record({})) as EventEnvelope, 'eu-west-1')).toEqual([]);
    const write = toEnvelope(record({ eventName: 'PutParameter', readOnly: false })) as EventEnvelope;
    expect(routing.deliver(write, 'eu-west-1')).toHaveLength(1);
    expect(seesEvent('DISABLED', write)).toBe(false);
  });
});

describe('trail selectors', () => {
  const trail = (advanced: DeployedTrail['advanced']): DeployedTrail[] => [
    { stackName: 's', region: 'us-east-1', name: 't', multiRegion: true, logging: true, advanced },
  ];
  const selectors: DeployedTrail['advanced'] = [
    { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
    {
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::bait/'] },
      ],
    },
  ];
  const objectRead = (bucket: string) =>
    record({
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      eventCategory: 'Data',
      managementEvent: false,
      resources: [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/k` }],
    });

  it('logs management events, and object events only for the selected bucket', () => {
    expect(trailLogs(trail(selectors), record({}))).toBe(true);
    expect(trailLogs(trail(selectors), objectRead('bait'))).toBe(true);
    expect(trailLogs(trail(selectors), objectRead('other'))).toBe(false);
    expect(trailLogs(trail(selectors.slice(0, 1)), objectRead('bait'))).toBe(false);
  });

  it('a trail that is not logging, or of another region, logs nothing there', () => {
    expect(trailLogs([{ ...trail(selectors)[0]!, logging: false }], record({}))).toBe(false);
    expect(trailLogs([{ ...trail(selectors)[0]!, multiRegion: false }], record({}))).toBe(false);
  });
});

describe('latency summaries', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([5, 1, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 0.99)).toBe(100);
    expect(summarizeLatencies([2, 1])).toEqual({ p50: 1, p99: 2, max: 2, count: 2 });
  });
});
