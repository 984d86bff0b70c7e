import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /** Empty: the topic exists with no subscription. */
  readonly alertEmail: string;
  /** Name of the central bus in the home region; other regions forward to it. */
  readonly busName: string;
}

/** Where findings go: an SNS topic (mail) and the central EventBridge bus. */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly bus: events.EventBus;
  readonly key: kms.Key;

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
  }
}
