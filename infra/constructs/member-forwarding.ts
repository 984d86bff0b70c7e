import type * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { buildDetectionRules, type DetectionRule } from '../../layers/detection/rules';
import { deadLetterQueue, detectionContext, forwardingRules } from './event-routing';

export interface MemberForwardingProps {
  readonly config: HoneytrailConfig;
  /** The central bus in the security account's home region. */
  readonly busName: string;
  readonly busArn: string;
  /** The trail the tamper rule watches (the organization trail, or the configured one). */
  readonly trailName: string;
  readonly trailArn: string;
}

/**
 * A member account's event forwarding in one region: the broad detection rules
 * (services and API names, never a decoy: the registry the touch function sorts
 * against lives in the security account) on the default bus, with the read-only
 * management events state, forwarding to the central bus through a role, with a
 * dead-letter queue. The same rules as the single-account regional stacks'.
 */
export class MemberForwarding extends Construct {
  readonly rules: DetectionRule[];
  readonly forwardingRules: events.CfnRule[];

  constructor(scope: Construct, id: string, props: MemberForwardingProps) {
    super(scope, id);
    // Broad, whatever detection.ruleStyle says: a named rule would list decoys in
    // every member account, where anyone with ReadOnlyAccess reads it.
    const config: HoneytrailConfig = {
      ...props.config,
      detection: { ...props.config.detection, ruleStyle: 'broad' },
    };
    const context = detectionContext(config, {
      busName: props.busName,
      trailName: props.trailName,
      trailArn: props.trailArn,
    });
    this.rules = buildDetectionRules([], context);
    this.forwardingRules = forwardingRules(this, this.rules, {
      busArn: props.busArn,
      deadLetters: deadLetterQueue(this, 'DeadLetters'),
    });
  }
}
