/**
 * Reads what deploys out of synthesized CloudFormation templates: the EventBridge
 * rules (patterns, buses, targets) per region, the Lambda functions' environments
 * and the state machine definitions, with CloudFormation's intrinsic functions
 * resolved the way CloudFormation would resolve them at deploy time (physical names
 * made up where CloudFormation would generate them). The drill plays records
 * through these, so what is drilled is what deploys.
 */

export type CfnTemplate = {
  Resources?: Record<string, CfnResource>;
  Conditions?: Record<string, unknown>;
};
export type CfnResource = { Type: string; Properties?: Record<string, unknown> };

export interface StackTemplate {
  stackName: string;
  /** The stack's id in the app (construct id). */
  id: string;
  account: string;
  region: string;
  partition?: string;
  template: CfnTemplate;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const PSEUDO_URL_SUFFIX = 'amazonaws.com';

/** The properties that hold a resource's name (which one depends on its type); the first one set is its physical name. */
const NAME_PROPERTIES = [
  'Name',
  'RoleName',
  'FunctionName',
  'QueueName',
  'TopicName',
  'TableName',
  'BucketName',
  'TrailName',
  'StateMachineName',
  'LogGroupName',
  'UserName',
] as const;

/** Resolves intrinsics of one stack's template. */
export class IntrinsicResolver {
  private readonly resources: Record<string, CfnResource>;
  private readonly partition: string;
  private readonly resolving = new Set<string>();

  constructor(readonly stack: StackTemplate) {
    this.resources = stack.template.Resources ?? {};
    this.partition = stack.partition ?? 'aws';
  }

  /** A deep copy of `value` with every intrinsic function replaced by its value. */
  resolve(value: unknown, where = ''): unknown {
    if (Array.isArray(value)) {
      return value.map((item, i) => this.resolve(item, `${where}[${i}]`)).filter((item) => item !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    if (keys.length === 1) {
      const key = keys[0]!;
      const argument = object[key];
      switch (key) {
        case 'Ref':
          return this.ref(String(argument), where);
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument)
            ? (argument as string[])
            : String(argument).split(/\.(.+)/);
          return this.getAtt(String(logicalId), String(attribute), where);
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown[]];
          const resolved = this.resolve(parts, where) as unknown[];
          return resolved.map((part) => this.asString(part, where)).join(separator);
        }
        case 'Fn::Sub':
          return this.sub(argument, where);
        case 'Fn::Select': {
          const [index, list] = argument as [unknown, unknown];
          const items = this.resolve(list, where) as unknown[];
          return items[Number(this.resolve(index, where))];
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, unknown];
          return this.asString(this.resolve(text, where), where).split(separator);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown];
          return this.resolve(this.condition(condition, where) ? whenTrue : whenFalse, where);
        }
        case 'Fn::ImportValue':
          throw new TemplateError(
            `${this.stack.stackName} ${where}: Fn::ImportValue cannot be resolved offline`,
          );
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((zone) => `${this.stack.region}${zone}`);
        case 'Fn::Base64':
          return Buffer.from(this.asString(this.resolve(argument, where), where)).toString('base64');
        default:
          break;
      }
    }
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object)) {
      const resolved = this.resolve(item, where ? `${where}.${key}` : key);
      if (resolved !== NO_VALUE) copy[key] = resolved;
    }
    return copy;
  }

  private asString(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new TemplateError(
      `${this.stack.stackName} ${where}: expected a string, got ${JSON.stringify(value)}`,
    );
  }

  private condition(name: string, where: string): boolean {
    const definition = this.stack.template.Conditions?.[name];
    if (definition === undefined)
      throw new TemplateError(`${this.stack.stackName} ${where}: no condition ${name}`);
    return this.evaluateCondition(definition, where);
  }

  private evaluateCondition(node: unknown, where: string): boolean {
    if (typeof node === 'boolean') return node;
    const object = node as Record<string, unknown>;
    const [key] = Object.keys(object);
    const args = object[key!] as unknown[];
    switch (key) {
      case 'Fn::Equals':
        return JSON.stringify(this.resolve(args[0], where)) === JSON.stringify(this.resolve(args[1], where));
      case 'Fn::Not':
        return !this.evaluateCondition(args[0], where);
      case 'Fn::And':
        return args.every((arg) => this.evaluateCondition(arg, where));
      case 'Fn::Or':
        return args.some((arg) => this.evaluateCondition(arg, where));
      case 'Condition':
        return this.condition(String(object.Condition), where);
      default:
        throw new TemplateError(`${this.stack.stackName} ${where}: unsupported condition ${key}`);
    }
  }

  private sub(argument: unknown, where: string): string {
    const [text, variables] = Array.isArray(argument)
      ? (argument as [string, Record<string, unknown>])
      : [String(argument), {} as Record<string, unknown>];
    const filled = text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      if (name in variables) return this.asString(this.resolve(variables[name], where), where);
      const [logicalId, attribute] = name.split(/\.(.+)/);
      return this.asString(
        attribute ? this.getAtt(logicalId!, attribute, where) : this.ref(logicalId!, where),
        where,
      );
    });
    // ${!Literal} stands for the literal ${Literal}.
    return filled.replace(/\$\{!/g, '${');
  }

  ref(name: string, where = ''): unknown {
    switch (name) {
      case 'AWS::AccountId':
        return this.stack.account;
      case 'AWS::Region':
        return this.stack.region;
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::URLSuffix':
        return PSEUDO_URL_SUFFIX;
      case 'AWS::StackName':
        return this.stack.stackName;
      case 'AWS::StackId':
        return `arn:${this.partition}:cloudformation:${this.stack.region}:${this.stack.account}:stack/${this.stack.stackName}/drill`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const resource = this.resource(name, where);
    switch (resource.Type) {
      case 'AWS::SNS::Topic':
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(name, 'Arn', where);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.stack.region}.${PSEUDO_URL_SUFFIX}/${this.stack.account}/${this.physicalName(name)}`;
      case 'AWS::KMS::Key':
        return this.keyId(name);
      default:
        return this.physicalName(name);
    }
  }

  getAtt(logicalId: string, attribute: string, where = ''): unknown {
    const resource = this.resource(logicalId, where);
    const { account, region } = this.stack;
    const p = this.partition;
    const name = this.physicalName(logicalId);
    if (attribute !== 'Arn') {
      if (
        ['Name', 'RoleName', 'FunctionName', 'QueueName', 'TopicName', 'TableName', 'BucketName'].includes(
          attribute,
        )
      ) {
        return name;
      }
      if (attribute === 'KeyId') return this.keyId(logicalId);
      if (attribute === 'RoleId')
        return `AROA${logicalId
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .slice(0, 16)}`;
      if (attribute === 'TopicArn' || attribute === 'QueueArn' || attribute === 'StreamArn') {
        return this.getAtt(logicalId, 'Arn', where);
      }
      return `${name}-${attribute}`;
    }
    switch (resource.Type) {
      case 'AWS::IAM::Role': {
        const path = (this.properties(logicalId).Path as string | undefined) ?? '/';
        return `arn:${p}:iam::${account}:role${path}${name}`;
      }
      case 'AWS::IAM::User': {
        const path = (this.properties(logicalId).Path as string | undefined) ?? '/';
        return `arn:${p}:iam::${account}:user${path}${name}`;
      }
      case 'AWS::Lambda::Function':
        return `arn:${p}:lambda:${region}:${account}:function:${name}`;
      case 'AWS::Events::EventBus':
        return `arn:${p}:events:${region}:${account}:event-bus/${name}`;
      case 'AWS::Events::Rule': {
        const bus = this.properties(logicalId).EventBusName;
        const busName = typeof bus === 'string' && bus !== 'default' ? `${bus.split('/').pop()}/` : '';
        return `arn:${p}:events:${region}:${account}:rule/${busName}${name}`;
      }
      case 'AWS::SQS::Queue':
        return `arn:${p}:sqs:${region}:${account}:${name}`;
      case 'AWS::SNS::Topic':
        return `arn:${p}:sns:${region}:${account}:${name}`;
      case 'AWS::S3::Bucket':
        return `arn:${p}:s3:::${name}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `arn:${p}:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::KMS::Key':
        return `arn:${p}:kms:${region}:${account}:key/${this.keyId(logicalId)}`;
      case 'AWS::CloudTrail::Trail':
        return `arn:${p}:cloudtrail:${region}:${account}:trail/${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${p}:states:${region}:${account}:stateMachine:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${p}:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::Scheduler::Schedule':
        return `arn:${p}:scheduler:${region}:${account}:schedule/default/${name}`;
      default:
        return `arn:${p}:${resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown'}:${region}:${account}:${name}`;
    }
  }

  /** The name CloudFormation gives the resource: its name property, else one it generates. */
  physicalName(logicalId: string): string {
    const props = this.properties(logicalId);
    for (const key of NAME_PROPERTIES) {
      const value = props[key];
      if (typeof value === 'string') return value;
    }
    // CloudFormation generates <stack>-<logical id>-<random>; the drill's is stable.
    return `${this.stack.stackName}-${logicalId}`.slice(0, 64);
  }

  private keyId(logicalId: string): string {
    let hash = 0;
    for (const char of `${this.stack.stackName}/${logicalId}`)
      hash = (Math.imul(hash, 31) + char.charCodeAt(0)) >>> 0;
    const hex = hash.toString(16).padStart(8, '0');
    return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
  }

  private resource(logicalId: string, where: string): CfnResource {
    const resource = this.resources[logicalId];
    if (!resource)
      throw new TemplateError(`${this.stack.stackName} ${where}: no resource ${logicalId} in the template`);
    return resource;
  }

  /** A resource's properties with name-bearing intrinsics resolved (guarding against cycles). */
  private properties(logicalId: string): Record<string, unknown> {
    const raw = this.resources[logicalId]?.Properties ?? {};
    if (this.resolving.has(logicalId)) return {};
    this.resolving.add(logicalId);
    try {
      const resolved: Record<string, unknown> = {};
      for (const key of [...NAME_PROPERTIES, 'Path', 'EventBusName']) {
        if (raw[key] !== undefined) resolved[key] = this.resolve(raw[key], `${logicalId}.${key}`);
      }
      return resolved;
    } finally {
      this.resolving.delete(logicalId);
    }
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/** An EventBridge rule as deployed: where it listens, what it matches, where it sends. */
export interface DeployedRule {
  stackName: string;
  /** The account the rule is deployed in; absent: any (a rule written by hand in a test). */
  account?: string;
  region: string;
  logicalId: string;
  name: string;
  /** `default` or the bus name. */
  bus: string;
  state: string;
  pattern: Record<string, unknown>;
  targets: { id: string; arn: string }[];
}

/** Every resource of `type` in the stack, with its properties resolved (one resolver for the stack). */
export function resolvedResources<P = Record<string, unknown>>(
  stack: StackTemplate,
  type: string,
): { logicalId: string; props: P; resolver: IntrinsicResolver }[] {
  const resolver = new IntrinsicResolver(stack);
  return Object.entries(stack.template.Resources ?? {})
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({
      logicalId,
      props: resolver.resolve(resource.Properties ?? {}, logicalId) as P,
      resolver,
    }));
}

/** Every rule with an event pattern in the stacks, resolved. */
export function deployedRules(stacks: readonly StackTemplate[]): DeployedRule[] {
  return stacks.flatMap((stack) =>
    resolvedResources(stack, 'AWS::Events::Rule').flatMap(({ logicalId, props, resolver }) => {
      if (!props.EventPattern) return [];
      const pattern =
        typeof props.EventPattern === 'string'
          ? (JSON.parse(props.EventPattern) as Record<string, unknown>)
          : (props.EventPattern as Record<string, unknown>);
      const bus =
        typeof props.EventBusName === 'string'
          ? (props.EventBusName.split('/').pop() ?? 'default')
          : 'default';
      return [
        {
          stackName: stack.stackName,
          account: stack.account,
          region: stack.region,
          logicalId,
          name: typeof props.Name === 'string' ? props.Name : resolver.physicalName(logicalId),
          bus,
          state: typeof props.State === 'string' ? props.State : 'ENABLED',
          pattern,
          targets: ((props.Targets as { Id: string; Arn: string }[] | undefined) ?? []).map((t) => ({
            id: t.Id,
            arn: t.Arn,
          })),
        },
      ];
    }),
  );
}

/** One resource of `type` by logical id: its deployed ARN and its properties, resolved. */
function resolvedResource<P>(
  stack: StackTemplate,
  logicalId: string,
  type: string,
  what: string,
): { arn: string; props: P } {
  const resource = stack.template.Resources?.[logicalId];
  if (resource?.Type !== type) {
    throw new TemplateError(`${stack.stackName}: no ${what} ${logicalId} in the template`);
  }
  const resolver = new IntrinsicResolver(stack);
  const props = resolver.resolve(resource.Properties ?? {}, logicalId) as P;
  return { arn: String(resolver.getAtt(logicalId, 'Arn')), props };
}

/** The part of a Lambda function's properties the drill reads. */
export type LambdaProperties = { Environment?: { Variables?: Record<string, string> } };

/** A Lambda function's deployed ARN and environment, resolved. */
export function functionOf(
  stack: StackTemplate,
  logicalId: string,
): { arn: string; environment: Record<string, string> } {
  const { arn, props } = resolvedResource<LambdaProperties>(
    stack,
    logicalId,
    'AWS::Lambda::Function',
    'Lambda function',
  );
  return { arn, environment: props.Environment?.Variables ?? {} };
}

/** A state machine's deployed ASL definition (parsed) and ARN, resolved. */
export function stateMachineOf(
  stack: StackTemplate,
  logicalId: string,
): { arn: string; definition: Record<string, unknown> } {
  const { arn, props } = resolvedResource<{
    DefinitionString?: string;
    Definition?: Record<string, unknown>;
    DefinitionSubstitutions?: Record<string, string>;
  }>(stack, logicalId, 'AWS::StepFunctions::StateMachine', 'state machine');
  let definition: Record<string, unknown>;
  if (props.Definition) definition = props.Definition;
  else if (typeof props.DefinitionString === 'string') {
    let text = props.DefinitionString;
    for (const [name, value] of Object.entries(props.DefinitionSubstitutions ?? {})) {
      text = text.split(`\${${name}}`).join(value);
    }
    definition = JSON.parse(text) as Record<string, unknown>;
  } else throw new TemplateError(`${stack.stackName}: state machine ${logicalId} has no definition`);
  return { arn, definition };
}
