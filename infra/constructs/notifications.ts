import { Lazy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FINDING_EVENT_SOURCE } from '../../layers/findings/finding';
import { FINDING_LABELLED_DETAIL_TYPE } from '../../layers/scoring/labels';

export interface NotificationsProps {
  /** Empty: the topic exists with no subscription. */
  readonly alertEmail: string;
  /** Name of the central bus in the home region; other regions forward to it. */
  readonly busName: string;
  /**
   * Organization mode: the organization whose accounts may put events on the bus
   * (their forwarding rules' roles), by aws:PrincipalOrgID. The Deny on findings
   * holds for them as for everyone.
   */
  readonly organizationId?: string;
}

/** The Sid of the bus policy statement that lets the organization's accounts forward events. */
export const ORGANIZATION_FORWARDING_SID = 'OrganizationAccountsForward';

/** The Sid of the bus policy statement that keeps findings to the detectors (tests find it by this). */
export const FINDINGS_ONLY_FROM_DETECTORS_SID = 'FindingsOnlyFromPlatformDetectors';

/**
 * Where findings go: an SNS topic (mail) and the central EventBridge bus.
 *
 * Whoever can put a finding on the bus can start a response against any principal
 * it names, and an identity policy granting events:PutEvents on `*` (an
 * administrator's, a pipeline's) reaches this bus too. The bus policy denies
 * events with the findings' source to every principal but the detector roles
 * registered with `allowPublishFindings`: an explicit Deny in a resource policy
 * beats any same-account Allow. The one exception is the "Finding Labelled"
 * detail-type, which people put with `aws events put-events` (`honeytrail label`):
 * a label counts a false positive and feeds training, it never starts a response.
 * CloudTrail events forwarded from the regions need no exception: their sources
 * are `aws.*`, which PutEvents refuses to anyone but AWS.
 *
 * The condition names the source and the label's detail-type only: the findings'
 * detail-types would say what the detectors look for to anyone who can read the
 * bus policy (ReadOnlyAccess can).
 */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly bus: events.EventBus;
  readonly key: kms.Key;
  private readonly findingPublishers: string[] = [];

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'Platform notifications encryption',
    });
    this.topic = new sns.Topic(this, 'Topic', { masterKey: this.key, enforceSSL: true });
    if (props.alertEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
    this.key.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: props.busName });

    // The bus's own Policy property: in place from the bus's creation, one document.
    // Its ARN from the name: the bus cannot reference its own attributes.
    const busArn = Stack.of(this).formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: props.busName,
    });
    const publishers = Lazy.list({ produce: () => this.findingPublishers }, { omitEmpty: false });
    (this.bus.node.defaultChild as events.CfnEventBus).policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: FINDINGS_ONLY_FROM_DETECTORS_SID,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [busArn],
          conditions: {
            // Both keys are multivalued (one value per entry of the call): any entry decides.
            'ForAnyValue:StringEquals': { 'events:source': [FINDING_EVENT_SOURCE] },
            'ForAnyValue:StringNotEquals': { 'events:detail-type': [FINDING_LABELLED_DETAIL_TYPE] },
            StringNotEquals: { 'aws:PrincipalArn': publishers },
          },
        }),
        ...(props.organizationId
          ? [
              new iam.PolicyStatement({
                sid: ORGANIZATION_FORWARDING_SID,
                principals: [new iam.AnyPrincipal()],
                actions: ['events:PutEvents'],
                resources: [busArn],
                conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
              }),
            ]
          : []),
      ],
    });
  }

  /**
   * Lets a detector's role publish findings: PutEvents on the bus, and an
   * exemption from the bus policy's Deny. Only the roles of functions that raise
   * findings belong here.
   */
  allowPublishFindings(role: iam.IRole): void {
    this.findingPublishers.push(role.roleArn);
    this.bus.grantPutEventsTo(role);
  }
}
