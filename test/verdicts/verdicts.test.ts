import { describe, expect, it } from 'vitest';
import { MARKER_WORDS } from '../../layers/stealth/tells';
import {
  type CallTrace,
  computeCredentialsOutside,
  computeKindOf,
  DEFAULT_VERDICT_SETTINGS,
  deniedBurst,
  keyTwoNetworks,
  tacticSequence,
  type VerdictInput,
} from '../../layers/verdicts';
import { call, roleHistory, session, USER } from './helpers';

const settings = DEFAULT_VERDICT_SETTINGS;
const TASK = session('5e4d6c2a8b9f4c1d9e0fa1b2c3d4e5f6');
const INSTANCE = session('i-0abcdef1234567890', 'arn:aws:iam::111122223333:role/web-instance');
const FUNCTION = session('cost-report', 'arn:aws:iam::111122223333:role/cost-report-function');
const LAMBDA_UA =
  'aws-sdk-js/3.540.0 ua/2.0 os/linux lang/js md/nodejs#20.12.0 exec-env/AWS_Lambda_nodejs20.x';
const ECS_UA = 'Boto3/1.26.2 Python/3.10.8 Linux/4.14 exec-env/AWS_ECS_FARGATE Botocore/1.29.2';
const CLI = 'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0';

function expectWords(reason: string) {
  for (const word of MARKER_WORDS) expect(reason.toLowerCase()).not.toContain(word);
}

describe('computeKindOf: which compute a role session belongs to', () => {
  it.each<[string, string | undefined, CallTrace[], ReturnType<typeof computeKindOf>]>([
    [
      'EC2: metadata-service delivery',
      'web',
      [call(0, 'ec2:DescribeInstances', { ec2RoleDelivery: '2.0' })],
      'ec2-instance',
    ],
    [
      'EC2: session named after the instance',
      'i-0abcdef1234567890',
      [call(0, 'sts:GetCallerIdentity')],
      'ec2-instance',
    ],
    ['EC2: the short, older instance id', 'i-0abc1234', [], 'ec2-instance'],
    ['ECS: session named after the task id', '5e4d6c2a8b9f4c1d9e0fa1b2c3d4e5f6', [], 'ecs-task'],
    [
      'ECS: the runtime in the user agent',
      'anything',
      [call(0, 's3:GetObject', { userAgent: ECS_UA })],
      'ecs-task',
    ],
    [
      'Lambda: the runtime in the user agent',
      'cost-report',
      [call(0, 'ce:GetCostAndUsage', { userAgent: LAMBDA_UA })],
      'lambda-function',
    ],
    ['a person assuming a role', 'alice', [call(0, 'sts:GetCallerIdentity', { userAgent: CLI })], undefined],
    ['CI', 'GitHubActions', [call(0, 'cloudformation:DescribeStacks')], undefined],
  ])('%s', (_, name, calls, kind) => {
    expect(computeKindOf(name, calls)).toBe(kind);
  });
});

describe('compute-credentials-outside', () => {
  const inVpc = roleHistory(['10.20.4.7', '10.20.9.12']);
  const natted = roleHistory(['34.245.18.220']);
  it.each<[string, VerdictInput, boolean]>([
    [
      'an ECS task session used from a public address its role never used: caught',
      { principal: TASK, calls: [call(0, 'sts:GetCallerIdentity', { userAgent: CLI })], history: inVpc },
      true,
    ],
    [
      'the same session from its VPC: nothing',
      { principal: TASK, calls: [call(0, 'dynamodb:GetItem', { sourceIp: '10.20.4.99' })], history: inVpc },
      false,
    ],
    [
      'an EC2 instance profile from outside: caught',
      {
        principal: INSTANCE,
        calls: [call(0, 'ec2:DescribeInstances', { ec2RoleDelivery: '1.0', sourceIp: '18.236.253.47' })],
        history: roleHistory(['10.0.3.4']),
      },
      true,
    ],
    [
      'a Lambda role from a new address in the network it always uses (a new container): nothing',
      {
        principal: FUNCTION,
        calls: [call(0, 'ce:GetCostAndUsage', { sourceIp: '34.245.77.1', userAgent: LAMBDA_UA })],
        history: natted,
      },
      false,
    ],
    [
      'a Lambda role: its runtime from anywhere is itself, a CLI from elsewhere is not',
      {
        principal: FUNCTION,
        calls: [
          call(0, 'ce:GetCostAndUsage', { sourceIp: '52.1.2.3', userAgent: LAMBDA_UA }),
          call(5, 'iam:ListUsers', { sourceIp: '203.0.113.77', userAgent: CLI }),
        ],
        history: natted,
      },
      true,
    ],
    [
      'calls AWS services make for the role (service host as address): nothing',
      { principal: TASK, calls: [call(0, 'kms:Decrypt', { sourceIp: 'ssm.amazonaws.com' })], history: inVpc },
      false,
    ],
    [
      'no history of the role at all: nothing to compare with',
      { principal: TASK, calls: [call(0, 'sts:GetCallerIdentity')] },
      false,
    ],
    [
      'a user key, not a compute role: not this verdict',
      { principal: USER, calls: [call(0, 'sts:GetCallerIdentity')], history: inVpc },
      false,
    ],
  ])('%s', (_, input, caught) => {
    const verdict = computeCredentialsOutside(input);
    expect(Boolean(verdict)).toBe(caught);
    if (verdict) {
      expect(verdict).toMatchObject({ verdict: 'compute-credentials-outside', severity: 'high' });
      expect(verdict.evidence.length).toBeGreaterThan(0);
      expect(verdict.reason).toMatch(/outside the role's networks/);
      expectWords(verdict.reason);
    }
  });

  it('names the kind, the role, the addresses and the networks it knows', () => {
    const verdict = computeCredentialsOutside({
      principal: TASK,
      calls: [call(0, 'iam:ListRoles', { id: 'e1', sourceIp: '203.0.113.77' })],
      history: roleHistory(['10.20.4.7']),
    })!;
    expect(verdict.reason).toContain('ECS task role orders-api-task');
    expect(verdict.reason).toContain('203.0.113.77');
    expect(verdict.reason).toContain('10.20.0.0/16');
    expect(verdict.evidence).toEqual(['e1']);
  });
});

describe('tactic-sequence', () => {
  it.each<[string, CallTrace[], string | undefined]>([
    [
      'discovery, credential access, persistence in minutes (allowed): critical',
      [
        call(0, 'sts:GetCallerIdentity'),
        call(2, 'secretsmanager:GetSecretValue'),
        call(6, 'iam:CreateAccessKey'),
      ],
      'critical',
    ],
    [
      'the last stage denied: high',
      [
        call(0, 'iam:ListUsers'),
        call(1, 'ssm:GetParametersByPath'),
        call(3, 'cloudtrail:StopLogging', { errorCode: 'AccessDenied' }),
      ],
      'high',
    ],
    [
      'privilege escalation as the last stage',
      [call(0, 'ec2:DescribeInstances'), call(1, 'ec2:GetPasswordData'), call(2, 'iam:AttachUserPolicy')],
      'critical',
    ],
    [
      'out of order (persistence first): nothing',
      [
        call(0, 'iam:CreateAccessKey'),
        call(1, 'sts:GetCallerIdentity'),
        call(2, 'secretsmanager:GetSecretValue'),
      ],
      undefined,
    ],
    [
      'spread over more than the span: nothing',
      [
        call(0, 'sts:GetCallerIdentity'),
        call(20, 'secretsmanager:GetSecretValue'),
        call(45, 'iam:CreateUser'),
      ],
      undefined,
    ],
    [
      'a pipeline: discovery, a parameter, a function update (routine): nothing',
      [
        call(0, 'sts:GetCallerIdentity'),
        call(1, 'ssm:GetParameter'),
        call(2, 'lambda:UpdateFunctionCode20150331v2'),
        call(3, 'ec2:RunInstances'),
      ],
      undefined,
    ],
    [
      'CloudFormation creating a role for the caller (a service address): nothing',
      [
        call(0, 'sts:GetCallerIdentity'),
        call(1, 'ssm:GetParameter'),
        call(2, 'iam:CreateRole', { sourceIp: 'cloudformation.amazonaws.com' }),
      ],
      undefined,
    ],
  ])('%s', (_, calls, severity) => {
    const verdict = tacticSequence({ principal: USER, calls }, settings);
    expect(verdict?.severity).toBe(severity);
    if (verdict) {
      expect(verdict.evidence).toHaveLength(3);
      expect(verdict.reason).toMatch(/^discovery \(.*\), then credential access \(.*\), then /);
      expectWords(verdict.reason);
    }
  });
});

describe('denied-burst', () => {
  const denied = (minutes: number, api: string, errorCode = 'AccessDenied') =>
    call(minutes, api, { errorCode });
  it.each<[string, CallTrace[], string | undefined]>([
    [
      'five denials over three services in minutes: medium',
      [
        denied(0, 'iam:ListUsers'),
        denied(1, 'iam:ListRoles'),
        denied(1, 's3:ListBuckets'),
        denied(2, 'ec2:DescribeInstances', 'Client.UnauthorizedOperation'),
        denied(3, 'ec2:RunInstances', 'UnauthorizedOperation'),
      ],
      'medium',
    ],
    [
      'ten denials over six services: high',
      [
        'iam:ListUsers',
        'iam:CreateUser',
        's3:ListBuckets',
        'ec2:DescribeInstances',
        'ec2:RunInstances',
        'lambda:ListFunctions20150331',
        'rds:DescribeDBInstances',
        'secretsmanager:ListSecrets',
        'ssm:DescribeParameters',
        'kms:ListKeys',
      ].map((api, i) => denied(i * 0.5, api)),
      'high',
    ],
    [
      'many denials in one service (a misconfigured job): nothing',
      Array.from({ length: 12 }, (_, i) => denied(i * 0.2, 's3:GetObject')),
      undefined,
    ],
    [
      'denials spread over the hour: nothing',
      [
        denied(0, 'iam:ListUsers'),
        denied(15, 's3:ListBuckets'),
        denied(30, 'ec2:DescribeInstances'),
        denied(45, 'kms:ListKeys'),
        denied(59, 'rds:DescribeDBInstances'),
      ],
      undefined,
    ],
    [
      'errors that are not denials (throttling, not found): nothing',
      [
        call(0, 'iam:GetUser', { errorCode: 'NoSuchEntity' }),
        call(0, 's3:GetObject', { errorCode: 'NoSuchKey' }),
        call(1, 'ec2:DescribeInstances', { errorCode: 'RequestLimitExceeded' }),
        call(1, 'kms:Decrypt', { errorCode: 'ThrottlingException' }),
        call(2, 'ssm:GetParameter', { errorCode: 'ParameterNotFound' }),
      ],
      undefined,
    ],
  ])('%s', (_, calls, severity) => {
    const verdict = deniedBurst({ principal: USER, calls }, settings);
    expect(verdict?.severity).toBe(severity);
    if (verdict) {
      expect(verdict.reason).toMatch(/denied calls across \d+ services/);
      expectWords(verdict.reason);
    }
  });
});

describe('key-two-networks', () => {
  const home = { own: undefined, identity: undefined };
  it.each<[string, CallTrace[], VerdictInput['history'], boolean]>([
    [
      'one key from two /16 networks two minutes apart: caught',
      [
        call(0, 's3:ListBuckets', { sourceIp: '81.10.4.5' }),
        call(2, 's3:ListBuckets', { sourceIp: '185.220.101.47' }),
      ],
      home,
      true,
    ],
    [
      'two addresses in one /16 (an ISP pool): nothing',
      [
        call(0, 's3:ListBuckets', { sourceIp: '81.10.4.5' }),
        call(2, 's3:ListBuckets', { sourceIp: '81.10.200.9' }),
      ],
      home,
      false,
    ],
    [
      'two networks hours apart (a laptop that moved): nothing',
      [
        call(0, 's3:ListBuckets', { sourceIp: '81.10.4.5' }),
        call(50, 's3:ListBuckets', { sourceIp: '185.220.101.47' }),
      ],
      home,
      false,
    ],
    [
      'two networks both in the history (office and runner sharing a key): nothing',
      [
        call(0, 's3:ListBuckets', { sourceIp: '81.10.4.5' }),
        call(1, 's3:ListBuckets', { sourceIp: '20.171.3.3' }),
      ],
      roleHistory(['81.10.9.9', '20.171.1.1']),
      false,
    ],
    [
      'different keys of one role, each from its own network: nothing',
      [
        call(0, 's3:ListBuckets', { sourceIp: '81.10.4.5', accessKeyId: 'ASIAONE' }),
        call(1, 's3:ListBuckets', { sourceIp: '185.220.101.47', accessKeyId: 'ASIATWO' }),
      ],
      home,
      false,
    ],
    [
      'a private address and a public one (a VPC endpoint and a NAT): nothing',
      [
        call(0, 's3:ListBuckets', { sourceIp: '10.0.0.5' }),
        call(1, 's3:ListBuckets', { sourceIp: '185.220.101.47' }),
      ],
      home,
      false,
    ],
    [
      'IPv6 in two /32s at once: caught',
      [
        call(0, 's3:ListBuckets', { sourceIp: '2a01:4f8:c17:1::1' }),
        call(1, 's3:ListBuckets', { sourceIp: '2600:1f18::7' }),
      ],
      home,
      true,
    ],
  ])('%s', (_, calls, historyPair, caught) => {
    const verdict = keyTwoNetworks({ principal: USER, calls, history: historyPair }, settings);
    expect(Boolean(verdict)).toBe(caught);
    if (verdict) {
      expect(verdict.severity).toBe('high');
      expect(verdict.evidence).toHaveLength(2);
      expectWords(verdict.reason);
    }
  });
});
