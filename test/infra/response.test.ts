import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { HouseFunction } from '../../infra/constructs/house-function';
import { IncidentWorkflow, policyTooLarge } from '../../infra/constructs/incident-workflow';
import { Notifications } from '../../infra/constructs/notifications';
import { StateStore } from '../../infra/constructs/state-store';
import { parseConfig } from '../../layers/config/schema';
import { matchesPattern } from '../../layers/event-pattern';
import { FINDING_EVENT_SOURCE } from '../../layers/findings/finding';
import { RECORDS_LOGICAL_ID_PREFIX } from '../../layers/response/audit';
import { KPI } from '../../layers/response/kpi';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../layers/scoring/labels';
import { findTells } from '../../layers/stealth/tells';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';
import { eventOf, findingFrom, userRecord } from '../response/fixtures';

/** The response's infrastructure: intent, least privilege, append-only records, stealth, nag. */

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

const CONFIG = {
  dryRun: false,
  response: {
    protectedPrincipals: [
      'arn:aws:iam::111122223333:role/BreakGlass',
      'arn:aws:sts::111122223333:assumed-role/Ops/*',
    ],
    healthCheckAlarms: ['api-5xx'],
  },
};

let template: Template;
let resources: Resources;

beforeAll(() => {
  template = synthApp(CONFIG).template();
  resources = template.toJSON().Resources as Resources;
});

function statementsOf(policyPrefix: string): Statement[] {
  const entry = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith(policyPrefix),
  );
  if (!entry) throw new Error(`no policy ${policyPrefix}`);
  return (entry[1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const text = (value: unknown) => JSON.stringify(value);

describe('the state machine', () => {
  it('is a Standard workflow, encrypted with its own key, tracing, logging every event without data', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      StateMachineName: 'platform-shared-services-access-review',
      EncryptionConfiguration: Match.objectLike({ Type: 'CUSTOMER_MANAGED_KMS_KEY' }),
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  it('its role makes exactly the IAM calls the paths need, with no wildcard action', () => {
    const statements = statementsOf('WorkflowStateMachineRoleDefaultPolicy');
    const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap(actionsOf);
    for (const action of allowed) expect(action).not.toMatch(/\*/);
    expect(new Set(allowed.filter((a) => a.startsWith('iam:')))).toEqual(
      new Set([
        'iam:UpdateAccessKey',
        'iam:DeleteAccessKey',
        'iam:AttachUserPolicy',
        'iam:DetachUserPolicy',
        'iam:AttachRolePolicy',
        'iam:DetachRolePolicy',
        'iam:PutUserPolicy',
        'iam:PutRolePolicy',
        'iam:DeleteUserPolicy',
        'iam:DeleteRolePolicy',
      ]),
    );
    // IAM calls reach users and roles of this account only; nothing else.
    for (const s of statements.filter(
      (x) => x.Effect === 'Allow' && actionsOf(x).some((a) => a.startsWith('iam:')),
    )) {
      expect(text(s.Resource)).toMatch(new RegExp(`:iam::${TEST_ACCOUNT}:(user|role)/\\*"`));
    }
    expect(allowed).toContain('cloudwatch:DescribeAlarms');
    const describe = statements.find((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'));
    expect(text(describe?.Resource)).toContain(`:cloudwatch:us-east-1:${TEST_ACCOUNT}:alarm:api-5xx`);
  });

  it('its role is denied the protected principals and any policy but the quarantine one', () => {
    const statements = statementsOf('WorkflowStateMachineRoleDefaultPolicy');
    const protectedDeny = statements.find(
      (s) => s.Effect === 'Deny' && text(s.Resource).includes('role/cdk-*'),
    );
    expect(text(protectedDeny?.Resource)).toContain('role/platform-shared-services/*');
    expect(text(protectedDeny?.Resource)).toContain('arn:aws:iam::111122223333:role/BreakGlass');
    expect(text(protectedDeny?.Resource)).toContain('arn:aws:iam::111122223333:role/Ops');
    expect(actionsOf(protectedDeny as Statement)).toContain('iam:UpdateAccessKey');
    const onlyQuarantine = statements.find((s) => s.Effect === 'Deny' && s.Condition?.ArnNotEquals);
    expect(onlyQuarantine?.Condition).toEqual({
      ArnNotEquals: {
        'iam:PolicyARN': {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AWSCompromisedKeyQuarantineV3'],
          ],
        },
      },
    });
  });

  it('the functions hold only what their step needs', () => {
    const rotation = statementsOf('WorkflowKeyRotationRoleDefaultPolicy').flatMap(actionsOf);
    expect(rotation).toEqual(
      expect.arrayContaining(['iam:CreateAccessKey', 'iam:DeleteAccessKey', 'secretsmanager:CreateSecret']),
    );
    expect(rotation).not.toContain('iam:UpdateAccessKey');
    const inventory = statementsOf('WorkflowInventoryRoleDefaultPolicy').flatMap(actionsOf);
    expect(inventory.filter((a) => a.startsWith('iam:')).every((a) => /^iam:(Get|List)/.test(a))).toBe(true);
    const ledger = statementsOf('WorkflowLedgerRoleDefaultPolicy').flatMap(actionsOf);
    expect(ledger).not.toContain('s3:DeleteObject');
    for (const prefix of ['WorkflowKeyRotation', 'WorkflowInventory', 'WorkflowLedger', 'WorkflowIntake']) {
      for (const action of statementsOf(`${prefix}RoleDefaultPolicy`).flatMap(actionsOf))
        expect(action).not.toMatch(/\*/);
    }
  });
});

describe('records', () => {
  it('evidence and audit are append-only: object lock, versioned, KMS, kept on stack deletion', () => {
    const [id, bucket] =
      Object.entries(resources).find(
        ([k, r]) => r.Type === 'AWS::S3::Bucket' && k.startsWith(RECORDS_LOGICAL_ID_PREFIX),
      ) ?? [];
    expect(id, 'the CLI finds the bucket by this logical id prefix').toBeDefined();
    expect(bucket?.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    expect(text(bucket?.Properties.BucketEncryption)).toContain('aws:kms');
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ ObjectLockEnabled: true }),
    });
  });
});

describe('starting', () => {
  it('findings start a response, label events are counted, nothing else reaches the intake', () => {
    const rules = Object.entries(resources)
      .filter(([id, r]) => r.Type === 'AWS::Events::Rule' && id.startsWith('Workflow'))
      .map(([, r]) => r.Properties);
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.EventBusName).toBeDefined();
      expect(rule.Targets).toEqual([
        expect.objectContaining({ DeadLetterConfig: expect.anything(), RetryPolicy: expect.anything() }),
      ]);
    }
    const [findings, labels] = rules.map((r) => r.EventPattern as Record<string, unknown>);
    const finding = eventOf(findingFrom(userRecord));
    const label = {
      ...finding,
      'detail-type': FINDING_LABELLED_DETAIL_TYPE,
      detail: { findingId: finding.detail.id, label: 'false-positive' },
    };
    // The patterns, run by the project's EventBridge pattern engine.
    expect(matchesPattern(findings ?? {}, finding)).toBe(true);
    expect(matchesPattern(findings ?? {}, label)).toBe(false);
    expect(matchesPattern(labels ?? {}, label)).toBe(true);
    expect(matchesPattern(labels ?? {}, finding)).toBe(false);
    expect(matchesPattern(findings ?? {}, { ...finding, source: 'aws.iam' })).toBe(false);
    // The patterns name no finding kind (a detail-type such as the touch one would be a tell).
    expect(text(findings)).not.toContain('detail-type');
    expect(text(findings)).toContain(FINDING_EVENT_SOURCE);
  });

  it('the intake starts this state machine, and a failed start lands in the queue', () => {
    const intake = Object.entries(resources).find(
      ([k, r]) => r.Type === 'AWS::Lambda::Function' && k.startsWith('WorkflowIntake'),
    );
    expect(text(intake?.[1].Properties.Environment)).toContain(
      'stateMachine:platform-shared-services-access-review',
    );
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe('execution data', () => {
  const definition = () => {
    const machine = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    if (!machine) throw new Error('no state machine');
    // DefinitionString is Fn::Join of literal parts and tokens: the literal parts carry the states.
    const joined = machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
    const parts = joined['Fn::Join'][1];
    return parts.map((p) => (typeof p === 'string' ? p : 'token')).join('');
  };

  it('a response starts from the finding id and digest only; the ledger reads the finding from the records', () => {
    const states = JSON.parse(definition()).States as Record<string, { Parameters?: unknown }>;
    expect(states.Init?.Parameters).toEqual({
      mode: 'respond',
      'findingId.$': '$.findingId',
      'digest.$': '$.digest',
      'receivedAt.$': '$.receivedAt',
      done: {},
    });
    expect(definition()).not.toContain('$.finding"');
    const objects = (statement: Statement) => text(statement.Resource);
    const intakePuts = statementsOf('WorkflowIntakeRoleDefaultPolicy').filter((s) =>
      actionsOf(s).includes('s3:PutObject'),
    );
    expect(intakePuts.map(objects).join()).toContain('/refused/*');
    expect(intakePuts.map(objects).join()).toContain('/received/*');
    const ledgerReads = statementsOf('WorkflowLedgerRoleDefaultPolicy').filter((s) =>
      actionsOf(s).includes('s3:GetObject'),
    );
    expect(ledgerReads.map(objects).join()).toContain('/received/*');
    // The intake still writes nothing to the state table (a record there vouches for a finding).
    const intake = statementsOf('WorkflowIntakeRoleDefaultPolicy').flatMap(actionsOf);
    expect(intake.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
  });

  it('the planter is asked to refresh for this response, named after the execution', () => {
    const states = JSON.parse(definition()).States as Record<string, { Parameters?: unknown }>;
    // Invoked with the payload as the parameters (payloadResponseOnly).
    expect(states.RefreshCredentials?.Parameters).toEqual({
      action: 'refresh',
      reason: 'response',
      'id.$': '$$.Execution.Name',
    });
  });
});

describe('the policy in the environment', () => {
  const organization = (accounts: number, patterns: number) => ({
    securityAccount: '222233334444',
    targets: { organizationalUnitIds: ['ou-ab12-cdef3456'] },
    protectedPrincipals: Object.fromEntries(
      Array.from({ length: accounts }, (_, a) => {
        const account = String(444455556600 + a);
        return [
          account,
          Array.from({ length: patterns }, (_, p) => `arn:aws:iam::${account}:role/team-${p}-oncall`),
        ];
      }),
    ),
  });

  it("fits Lambda's 4 KB with the stack's roles listed, in single-account and a modest organization", () => {
    // The default stack has 12 roles (the template's AWS::IAM::Role resources).
    const roles = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Role').length;
    expect(policyTooLarge(parseConfig(CONFIG), roles)).toEqual([]);
    expect(policyTooLarge(parseConfig({ organization: organization(5, 2) }), roles)).toEqual([]);
  });

  it('a policy that cannot fit fails at synth, naming what to shorten', () => {
    expect(policyTooLarge(parseConfig({ organization: organization(40, 3) }), 12)).toEqual([
      expect.stringMatching(/more than the 3328 of Lambda's 4 KB .* organization\.protectedPrincipals/),
    ]);
    expect(() => synthApp({ organization: organization(40, 3) }).template()).toThrow(
      /the response policy takes up to \d+ bytes/,
    );
  });
});

describe('incidents and the automation budget', () => {
  it('the ledger may answer a waiting approval of this state machine only (an escalation), nothing else', () => {
    const escalate = statementsOf('WorkflowLedgerRoleDefaultPolicy').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('states:')),
    );
    expect(escalate.flatMap(actionsOf)).toEqual(['states:SendTaskSuccess']);
    expect(text(escalate[0]?.Resource)).toContain(':stateMachine:platform-shared-services-access-review');
    expect(statementsOf('WorkflowIntakeRoleDefaultPolicy').flatMap(actionsOf)).not.toContain(
      'states:SendTaskSuccess',
    );
  });

  it('the dashboard shows the budget against its limit (3 principals per 60 min by default)', () => {
    const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const body = text(dashboard?.Properties.DashboardBody);
    expect(body).toContain('Automation budget (3 principals per 60 min)');
    expect(body).toContain(KPI.automationHeld);
  });

  it('the key check needs no permission: the rotation role has no sts action', () => {
    const rotation = statementsOf('WorkflowKeyRotationRoleDefaultPolicy').flatMap(actionsOf);
    expect(rotation.filter((a) => a.startsWith('sts:'))).toEqual([]);
  });
});

describe('KPIs', () => {
  it('a dashboard with a neutral name charts every KPI', () => {
    const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboard?.Properties.DashboardName).toBe('platform-shared-services-access-review');
    const body = text(dashboard?.Properties.DashboardBody);
    for (const name of Object.values(KPI)) expect(body).toContain(name);
  });
});

describe('stealth', () => {
  it('nothing the response deploys names what is planted', () => {
    const mine = Object.fromEntries(Object.entries(resources).filter(([id]) => id.startsWith('Workflow')));
    expect(Object.keys(mine).length).toBeGreaterThan(10);
    expect(findTells({ ids: Object.keys(mine), resources: mine })).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('AwsSolutions reports nothing unacknowledged on the response construct', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Nag', { env: { account: TEST_ACCOUNT, region: 'us-east-1' } });
    const config = parseConfig(CONFIG);
    const notifications = new Notifications(stack, 'Notifications', { alertEmail: '', busName: 'bus' });
    const planter = new HouseFunction(stack, 'Planter', {
      handlerDir: 'plant',
      serviceName: 'x',
      description: 'x',
    });
    const state = new StateStore(stack, 'State');
    new IncidentWorkflow(stack, 'Workflow', { config, notifications, plantFunction: planter, state });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
  });
});
