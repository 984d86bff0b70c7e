import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { routeNamePrefix } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { type DecoyPlan, shapeOf } from '../../layers/decoys/catalogue';
import {
  buildDetectionRules,
  type DetectionContext,
  type DetectionRule,
  type UnnamedKind,
} from '../../layers/detection/rules';
import { acknowledge, nagResource } from '../nag/acknowledge';
import type { AuditTrail } from './audit-trail';
import type { DecoyFleet } from './decoy-fleet';
import { HouseFunction } from './house-function';
import type { Notifications } from './notifications';
import type { StateStore } from './state-store';

/**
 * Touch detection in the home region: the rules buildDetectionRules makes for the
 * configured decoys, twice over: on the default bus, forwarding to the central bus
 * (what the regional stacks do in every other region), and on the central bus,
 * invoking the touch function. Plus the unlogged-use check on a schedule.
 *
 * Every rule has the state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (read-only
 * calls, the first an attacker makes, reach no rule without it), and every target a
 * dead-letter queue and a retry policy. A failed touch invocation (malformed event,
 * throttled API) ends in the same queue through Lambda's on-failure destination.
 * Everything deployed is named like plumbing: ReadOnlyAccess can list it.
 */

/** Read-only management events included; the L2 Rule has no property for it. */
export const ROUTE_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/** EventBridge retries a failed delivery for up to 24 hours, then dead-letters it. */
export const ROUTE_RETRY = { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 };

/**
 * The planted kinds the rules watch by service and API name: all of them with broad
 * rules; with named rules, those the config leaves to the planter to name (the
 * default for all), which no synthesized pattern can list. A kind not planted is not
 * watched at all (no invocation for it).
 */
export function watchedBroadly(config: HoneytrailConfig): UnnamedKind[] {
  const shape = shapeOf(config);
  const broad = config.detection.ruleStyle === 'broad';
  return [
    ...(shape.parameters.length > 0 && (broad || shape.parameters.some((p) => !p.name))
      ? (['ssm-parameter'] as const)
      : []),
    ...(shape.bucket && (broad || !shape.bucket.name) ? (['s3-bucket'] as const) : []),
    ...(shape.user && (broad || !shape.user.name) ? (['iam-user'] as const) : []),
    ...((shape.secrets?.length ?? 0) > 0 && (broad || shape.secrets?.some((s) => !s.name))
      ? (['secretsmanager-secret'] as const)
      : []),
  ];
}

/** The detection context of a stack: what buildDetectionRules needs besides the decoys. */
export function detectionContext(
  config: HoneytrailConfig,
  parts: { busName: string; trailName: string; trailArn: string; planterRoleArn?: string; keyArn?: string },
): DetectionContext {
  return {
    style: config.detection.ruleStyle,
    watchedBroadly: watchedBroadly(config),
    ruleNamePrefix: routeNamePrefix(config),
    busName: parts.busName,
    trailName: parts.trailName,
    trailArn: parts.trailArn,
    ...(parts.planterRoleArn ? { planterRoleArn: parts.planterRoleArn } : {}),
    ...(parts.keyArn ? { keyArn: parts.keyArn } : {}),
  };
}

/** A queue for events a target could not take: encrypted, TLS only, kept 14 days. */
export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(queue, 'AwsSolutions-SQS3', 'This queue is the dead-letter queue of the routing targets.');
  return queue;
}

/**
 * Rules that forward matching CloudTrail events from this region's default bus to
 * the central bus (in the home region, or this one), through a role.
 */
export function forwardingRules(
  scope: Construct,
  rules: readonly DetectionRule[],
  central: { busArn: string; deadLetters: sqs.IQueue },
): events.CfnRule[] {
  const role = new iam.Role(scope, 'ForwardingRole', {
    assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
    description: 'Forwards platform events to the central bus',
  });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [central.busArn] }));
  return rules.map((rule) => {
    const cfn = new events.CfnRule(scope, `Forward${rule.name.slice(-2)}`, {
      name: rule.name,
      description: rule.description,
      eventPattern: rule.pattern,
      state: ROUTE_STATE,
      targets: [
        {
          id: 'Central',
          arn: central.busArn,
          roleArn: role.roleArn,
          deadLetterConfig: { arn: central.deadLetters.queueArn },
          retryPolicy: ROUTE_RETRY,
        },
      ],
    });
    allowDeadLetters(central.deadLetters, cfn);
    return cfn;
  });
}

function allowDeadLetters(queue: sqs.IQueue, rule: events.CfnRule): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rule.attrArn } },
    }),
  );
}

export interface EventRoutingProps {
  readonly config: HoneytrailConfig;
  readonly plan: DecoyPlan;
  readonly state: StateStore;
  readonly notifications: Notifications;
  readonly trail: AuditTrail;
  readonly decoys: DecoyFleet;
  /**
   * Forward this region's own events to the central bus (default true). False in
   * organization mode: the security account holds no decoys, members forward theirs.
   */
  readonly forwardLocalEvents?: boolean;
}

export class EventRouting extends Construct {
  /** Exactly what buildDetectionRules returned for the configured decoys. */
  readonly rules: DetectionRule[];
  readonly context: DetectionContext;
  readonly touchFunction: HouseFunction;
  readonly unloggedUseFunction: HouseFunction;
  readonly deadLetters: sqs.Queue;
  /** Rules on the central bus, invoking the touch function. */
  readonly centralRules: events.CfnRule[];
  /** Rules on this region's default bus, forwarding to the central bus. */
  readonly forwardingRules: events.CfnRule[];

  constructor(scope: Construct, id: string, props: EventRoutingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config, notifications, state } = props;
    const bus = notifications.bus;
    const busName = (bus.node.defaultChild as events.CfnEventBus).name;

    const named = config.detection.ruleStyle === 'named';
    this.context = detectionContext(config, {
      busName,
      trailName: props.trail.trailName,
      trailArn: props.trail.trailArn,
      planterRoleArn: props.decoys.plantFunction.role.roleArn,
      // Only named patterns list the key; broad ones and the touch function never name it.
      ...(named ? { keyArn: props.decoys.key.keyArn } : {}),
    });
    // Broad rules need no decoy: the touch function learns them from the registry.
    this.rules = buildDetectionRules(named ? props.plan.resources : [], this.context);
    this.deadLetters = deadLetterQueue(this, 'DeadLetters');

    const allowlist = config.detection.allowlist;
    const securityHubProduct = stack.formatArn({
      service: 'securityhub',
      resource: 'product',
      resourceName: `${stack.account}/default`,
    });
    const findingsEnvironment = {
      STATE_TABLE: state.table.tableName,
      TOPIC_ARN: notifications.topic.topicArn,
      BUS_NAME: busName,
      SECURITY_HUB: config.detection.securityHub ? 'on' : 'off',
    };
    this.touchFunction = new HouseFunction(this, 'Router', {
      handlerDir: 'touch',
      serviceName: 'event-router',
      description: 'Routes platform audit events',
      environment: {
        ...findingsEnvironment,
        ROUTE_PREFIX: routeNamePrefix(config),
        AUDIT_TRAIL_NAME: props.trail.trailName,
        AUDIT_TRAIL_ARN: props.trail.trailArn,
        TRUSTED_ROLE_ARNS: props.decoys.plantFunction.role.roleArn,
        // No decoy here (not even the key): environments are readable, the registry is not.
        WINDOW_MINUTES: String(config.detection.dedupeWindowMinutes),
        ALLOWED_PRINCIPALS: allowlist.principalArns.join(','),
        ALLOWED_CIDRS: allowlist.cidrs.join(','),
      },
    });
    this.unloggedUseFunction = new HouseFunction(this, 'CredentialReport', {
      handlerDir: 'unlogged-use',
      serviceName: 'credential-report',
      description: 'Reports credential usage',
      environment: findingsEnvironment,
    });

    for (const fn of [this.touchFunction, this.unloggedUseFunction]) {
      state.allowReadWrite(fn.role);
      notifications.topic.grantPublish(fn.role);
      acknowledge(
        fn.role,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        "Topic.grantPublish on the encrypted findings topic: the action set is CDK's, the resource is that one key.",
      );
      // Detectors: exempt from the bus policy's Deny on findings.
      notifications.allowPublishFindings(fn.role);
      if (config.detection.securityHub) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['securityhub:BatchImportFindings'],
            resources: [securityHubProduct],
          }),
        );
      }
      // A failed invocation (after Lambda's own two retries) lands with its event here.
      fn.function.configureAsyncInvoke({
        onFailure: new destinations.SqsDestination(this.deadLetters),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      });
    }
    if (config.decoys.iam.enabled) {
      // Every user of the account, like any credential report: scoping it to the planted
      // user would name that user in a readable policy. The registry says which keys to check.
      const everyUser = stack.formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' });
      this.unloggedUseFunction.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys'],
          resources: [everyUser],
        }),
      );
      acknowledge(
        this.unloggedUseFunction.role,
        `AwsSolutions-IAM5[Resource::${nagResource(this, everyUser)}]`,
        'Reads key last-use of every user, as credential reports do; a narrower resource would name the one that matters.',
      );
    }

    // Central bus → touch function.
    this.centralRules = this.rules.map((rule) => {
      const cfn = new events.CfnRule(this, `Route${rule.name.slice(-2)}`, {
        name: rule.name,
        description: rule.description,
        eventBusName: bus.eventBusName,
        eventPattern: rule.pattern,
        state: ROUTE_STATE,
        targets: [
          {
            id: 'Handler',
            arn: this.touchFunction.function.functionArn,
            deadLetterConfig: { arn: this.deadLetters.queueArn },
            retryPolicy: ROUTE_RETRY,
          },
        ],
      });
      this.touchFunction.function.addPermission(`Invoke${rule.name.slice(-2)}`, {
        principal: new iam.ServicePrincipal('events.amazonaws.com'),
        sourceArn: cfn.attrArn,
      });
      allowDeadLetters(this.deadLetters, cfn);
      return cfn;
    });

    // This region's default bus → central bus (other regions: the regional stacks).
    this.forwardingRules =
      (props.forwardLocalEvents ?? true)
        ? forwardingRules(new Construct(this, 'Forwarding'), this.rules, {
            busArn: bus.eventBusArn,
            deadLetters: this.deadLetters,
          })
        : [];

    const schedule = new events.Rule(this, 'ReportSchedule', {
      schedule: events.Schedule.expression(config.detection.unloggedUseSchedule),
      description: 'Scheduled credential report',
    });
    schedule.addTarget(
      new targets.LambdaFunction(this.unloggedUseFunction.function, {
        deadLetterQueue: this.deadLetters,
        retryAttempts: 2,
        maxEventAge: Duration.hours(2),
      }),
    );
  }
}
