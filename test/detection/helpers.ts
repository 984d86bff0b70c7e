import type { HoneytrailApp } from '../../infra/app-builder';
import { type CloudTrailRecord, toEnvelope } from '../../layers/cloudtrail/record';
import { type HoneytrailConfigInput, parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { compileAllowlist } from '../../layers/detection/allowlist';
import { DecoyIndex } from '../../layers/detection/decoy-index';
import { classifyContextOf } from '../../layers/detection/replay';
import type { DetectionContext, KnownDecoy } from '../../layers/detection/rules';
import { MemoryTouchStore } from '../../layers/detection/store';
import { processRecord, type TouchOutcome } from '../../layers/detection/touch';
import { compilePattern, type EventMatcher, type EventPattern } from '../../layers/event-pattern';
import { MemorySink } from '../../layers/findings/publish';
import { synthApp, TEST_ACCOUNT } from '../helpers/app';

/** Home is not us-east-1, so IAM's events (us-east-1 only) come from a forwarding region too. */
export const HOME = 'eu-west-1';
export const OTHER = 'eu-central-1';
export const DETECTION_CONFIG: HoneytrailConfigInput = {
  homeRegion: HOME,
  monitoredRegions: [OTHER],
  alertEmail: 'security@example.com',
};

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

export interface DeployedRule {
  logicalId: string;
  name: string;
  pattern: EventPattern;
  matcher: EventMatcher;
  /** The central bus (invokes the touch function) or the region's default bus (forwards). */
  bus: 'central' | 'default';
  targets: {
    Id: string;
    Arn: unknown;
    DeadLetterConfig?: unknown;
    RetryPolicy?: unknown;
    RoleArn?: unknown;
  }[];
  state: unknown;
}

export interface Deployment {
  built: HoneytrailApp;
  templates: Map<string, Template>;
  /** Rules by region, resolved as CloudFormation would for TEST_ACCOUNT. */
  rules: Map<string, DeployedRule[]>;
  /**
   * The decoys as the registry holds them after planting: the example plan's names
   * (the template knows none of them unless the config names them), the key by its
   * ARN. The detection context of the main stack, resolved the same way.
   */
  decoys: KnownDecoy[];
  context: DetectionContext;
}

const cache = new Map<string, Deployment>();

/**
 * Named rules list only the names the config sets: for them, the config names every
 * decoy explicitly, with the example plan's names (so both styles watch the same decoys).
 */
function withExplicitNames(config: HoneytrailConfigInput): HoneytrailConfigInput {
  const parsed = parseConfig(config);
  if (parsed.detection.ruleStyle !== 'named') return config;
  const example = planDecoys(parsed, { account: TEST_ACCOUNT, region: parsed.homeRegion }).resources;
  const parameters = example.flatMap((d) =>
    d.kind === 'ssm-parameter' && d.format ? [{ name: d.name, format: d.format }] : [],
  );
  const bucket = example.find((d) => d.kind === 's3-bucket')?.name;
  const user = example.find((d) => d.kind === 'iam-user')?.name;
  const secrets = example.flatMap((d) =>
    d.kind === 'secretsmanager-secret' && d.secretFormat ? [{ name: d.name, format: d.secretFormat }] : [],
  );
  return {
    ...config,
    decoys: {
      ...config.decoys,
      ssm: { ...config.decoys?.ssm, parameters },
      ...(bucket ? { s3: { ...config.decoys?.s3, bucketName: bucket } } : {}),
      ...(user ? { iam: { ...config.decoys?.iam, userName: user } } : {}),
      ...(secrets.length > 0 ? { secrets: { ...config.decoys?.secrets, secrets } } : {}),
    },
  };
}

/** Synthesizes the app once per config and resolves every rule's pattern to plain JSON. */
export function deployment(config: HoneytrailConfigInput = DETECTION_CONFIG): Deployment {
  const key = JSON.stringify(config);
  const cached = cache.get(key);
  if (cached) return cached;
  const built = synthApp(withExplicitNames(config));
  const assembly = built.app.synth();
  const templates = new Map<string, Template>();
  const rules = new Map<string, DeployedRule[]>();
  for (const stack of assembly.stacks) {
    const region = stack.environment.region;
    const template = stack.template as Template;
    templates.set(region, template);
    const resolve = resolver(template, region);
    rules.set(
      region,
      Object.entries(template.Resources)
        .filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties?.EventPattern)
        .map(([logicalId, r]) => {
          const props = r.Properties!;
          const pattern = resolve(props.EventPattern) as EventPattern;
          return {
            logicalId,
            name: String(props.Name),
            pattern,
            matcher: compilePattern(pattern),
            bus: props.EventBusName ? 'central' : 'default',
            targets: props.Targets as DeployedRule['targets'],
            state: props.State,
          };
        }),
    );
  }
  const main = built.main;
  const resolveMain = resolver(templates.get(HOME) ?? templates.get(main.region)!, main.region);
  const keyArn = resolveMain(main.resolve(main.decoys.key.keyArn)) as string;
  const decoys = planDecoys(built.config, { account: TEST_ACCOUNT, region: main.region }).resources.map(
    (d) => (d.kind === 'kms-key' ? { ...d, arn: keyArn } : d),
  );
  const context = resolveMain(main.resolve(main.routing.context)) as DetectionContext;
  const result = { built, templates, rules, decoys, context };
  cache.set(key, result);
  return result;
}

/**
 * Resolves the intrinsics CDK leaves in patterns: pseudo parameters, Fn::Join, and
 * Fn::GetAtt of a role or key (given a stable made-up ARN named after the resource).
 */
export function resolver(template: Template, region: string) {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    if ('Ref' in obj && Object.keys(obj).length === 1) {
      const ref = String(obj.Ref);
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::AccountId') return TEST_ACCOUNT;
      if (ref === 'AWS::Region') return region;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return ref;
    }
    if ('Fn::Join' in obj) {
      const [separator, parts] = obj['Fn::Join'] as [string, unknown[]];
      return (parts.map(resolve) as string[]).join(separator);
    }
    if ('Fn::GetAtt' in obj) {
      const [id] = obj['Fn::GetAtt'] as [string, string];
      return fakeArn(template, id, region);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

export function fakeArn(template: Template, logicalId: string, region: string): string {
  const type = template.Resources[logicalId]?.Type;
  if (type === 'AWS::IAM::Role') return `arn:aws:iam::${TEST_ACCOUNT}:role/${logicalId}`;
  if (type === 'AWS::KMS::Key') return `arn:aws:kms:${region}:${TEST_ACCOUNT}:key/${logicalId}`;
  return `arn:aws:cloudformation:${region}:${TEST_ACCOUNT}:resource/${logicalId}`;
}

/** The planter's role ARN as the resolved patterns see it. */
export function planterRoleArn(d: Deployment): string {
  return d.context.planterRoleArn!;
}

export interface Routed {
  /** Default-bus rules of the record's region that forward it to the central bus. */
  forwardedBy: string[];
  /** Central-bus rules that invoke the touch function with it. */
  invokedBy: string[];
}

/** Which deployed rules a record meets on its way: its region's default bus, then the central bus. */
export function route(d: Deployment, record: CloudTrailRecord): Routed {
  const event = toEnvelope(record);
  const regional = d.rules.get(record.awsRegion) ?? [];
  const central = (d.rules.get(HOME) ?? []).filter((r) => r.bus === 'central');
  return {
    forwardedBy: regional.filter((r) => r.bus === 'default' && r.matcher(event)).map((r) => r.name),
    invokedBy: central.filter((r) => r.matcher(event)).map((r) => r.name),
  };
}

export interface Detected {
  routed: Routed;
  outcomes: TouchOutcome[];
  sink: MemorySink;
  store: MemoryTouchStore;
}

/**
 * Sends records the way the deployment would: a record reaches the touch function
 * only if a default-bus rule of its region forwards it AND a central rule matches
 * it (each matching central rule is one delivery of the same event).
 */
export async function detect(
  d: Deployment,
  records: CloudTrailRecord[],
  options: {
    store?: MemoryTouchStore;
    windowMinutes?: number;
    allowlist?: { principalArns: string[]; cidrs: string[] };
  } = {},
): Promise<Detected> {
  const store = options.store ?? new MemoryTouchStore();
  const sink = new MemorySink();
  const index = new DecoyIndex(d.decoys);
  const settings = {
    context: classifyContextOf(d.context),
    windowMinutes: options.windowMinutes ?? 60,
    allowlist: compileAllowlist(options.allowlist ?? { principalArns: [], cidrs: [] }),
  };
  const outcomes: TouchOutcome[] = [];
  let routed: Routed = { forwardedBy: [], invokedBy: [] };
  for (const record of records) {
    routed = route(d, record);
    if (routed.forwardedBy.length === 0) continue;
    for (const _rule of routed.invokedBy) {
      const result = await processRecord(record, record.eventID ?? record.eventTime, index, settings, {
        store,
        sink,
        now: () => Date.parse(record.eventTime),
      });
      outcomes.push(...result.outcomes);
    }
  }
  return { routed, outcomes, sink, store };
}
