import { Aspects, Stack, type StackProps } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { explicitPlan } from '../../layers/decoys/catalogue';
import { buildDetectionRules, type DetectionContext, type DetectionRule } from '../../layers/detection/rules';
import { RolePath, roleIamPath } from '../aspects/role-path';
import { deadLetterQueue, detectionContext, forwardingRules } from '../constructs/event-routing';

export interface RegionalStackProps extends StackProps {
  readonly config: HoneytrailConfig;
  /** Name of the central bus in the home region. */
  readonly busName: string;
  /** The trail detection depends on (created by the main stack, or the configured one). */
  readonly trailName: string;
  readonly trailArn?: string;
}

/**
 * One per covered region other than home (every region enabled by default, plus the
 * opt-in ones listed; single-account mode only): the detection rules on this region's
 * default bus, forwarding to the central bus in the home region (a stolen key works
 * against every region's endpoints, and IAM's events arrive in us-east-1 only).
 *
 * The patterns are buildDetectionRules' output for the same decoys as the home
 * region's (none with broad rules, the default; the explicitly named ones with named), with one difference: CloudFormation cannot reference the main
 * stack's resources from another region, so the planter's role and the key ARN are
 * left out here. The
 * central rules in the home region apply the planter exclusion to everything
 * forwarded, and the touch function checks it again.
 */
export class RegionalStack extends Stack {
  readonly rules: DetectionRule[];
  readonly context: DetectionContext;
  readonly forwardingRules: events.CfnRule[];

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, props);
    const { config } = props;
    Aspects.of(this).add(new RolePath(roleIamPath(config)));
    // Named rules list the decoys named in the config, as the main stack does (they live
    // in the home region; only the account and partition come from here). Broad rules
    // name none: the touch function sorts against the registry.
    const decoys =
      config.detection.ruleStyle === 'named'
        ? explicitPlan(config, {
            account: this.account,
            region: config.homeRegion,
            partition: this.partition,
          }).resources
        : [];
    const trailArn =
      props.trailArn ??
      this.formatArn({
        service: 'cloudtrail',
        region: config.homeRegion,
        resource: 'trail',
        resourceName: props.trailName,
      });
    this.context = detectionContext(config, { busName: props.busName, trailName: props.trailName, trailArn });
    this.rules = buildDetectionRules(decoys, this.context);
    const centralBusArn = this.formatArn({
      service: 'events',
      region: config.homeRegion,
      resource: 'event-bus',
      resourceName: props.busName,
    });
    this.forwardingRules = forwardingRules(this, this.rules, {
      busArn: centralBusArn,
      deadLetters: deadLetterQueue(this, 'DeadLetters'),
    });
  }
}
