import { Aspects, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { auditTrailName, centralBusName, memberRoleArn } from '../../layers/config/names';
import { allRegions, type HoneytrailConfig } from '../../layers/config/schema';
import { type DecoyPlan, explicitPlan, shapeOf } from '../../layers/decoys/catalogue';
import { RolePath, roleIamPath } from '../aspects/role-path';
import { ActivityAnalytics } from '../constructs/activity-analytics';
import { AuditTrail } from '../constructs/audit-trail';
import { DecoyFleet } from '../constructs/decoy-fleet';
import { EventRouting } from '../constructs/event-routing';
import { IncidentWorkflow } from '../constructs/incident-workflow';
import { MemberStackSets } from '../constructs/member-stack-sets';
import { Notifications } from '../constructs/notifications';
import { OrganizationAnalytics } from '../constructs/organization-analytics';
import { OrganizationId } from '../constructs/organization-id';
import { StateStore } from '../constructs/state-store';
import { acknowledge } from '../nag/acknowledge';
import type { MemberTemplates } from './member-stacks';

export interface MainStackProps extends StackProps {
  readonly config: HoneytrailConfig;
  /** Organization mode: the member templates the StackSets carry (member-stacks.ts). */
  readonly memberTemplates?: MemberTemplates;
}

/** Deployed resource names derived from the stack name live in layers/config/names.ts. */

/**
 * The home-region stack. It only composes: each concern is a construct with typed
 * props and outputs. Construct ids become logical ids that ReadOnlyAccess can list,
 * so they name what the resources look like (platform plumbing), not what they are.
 */
export class MainStack extends Stack {
  /** The decoys whose names the config sets explicitly (the rest are chosen at plant time). */
  readonly plan: DecoyPlan;
  readonly state: StateStore;
  readonly notifications: Notifications;
  readonly decoys: DecoyFleet;
  readonly trail: AuditTrail;
  readonly routing: EventRouting;
  readonly workflow: IncidentWorkflow;
  /** Anomaly scoring; undefined when config scoring.enabled is false. */
  readonly analytics: ActivityAnalytics | undefined;
  /** Organization mode only: the member accounts' StackSets. */
  readonly members: MemberStackSets | undefined;
  /**
   * Organization mode with a log archive and a configured organization ID: training
   * reads the organization trail through Athena (the trail's key prefix holds the ID,
   * so a looked-up one cannot shape the table).
   */
  readonly organizationAnalytics: OrganizationAnalytics | undefined;
  /** Organization mode only: the organization's ID (configured, or looked up at deploy). */
  readonly organizationId: string | undefined;

  constructor(scope: Construct, id: string, props: MainStackProps) {
    super(scope, id, props);
    const { config } = props;
    Aspects.of(this).add(new RolePath(roleIamPath(config)));
    // Decoy names are chosen at plant time (layers/decoys/naming.ts): the only ones
    // known here are those the user configured explicitly (none by default).
    this.plan = explicitPlan(config, {
      account: this.account,
      region: this.region,
      partition: this.partition,
    });

    const organization = config.organization;
    this.organizationId = organization
      ? (organization.organizationId ?? new OrganizationId(this, 'Organization').id)
      : undefined;

    this.state = new StateStore(this, 'State');
    this.notifications = new Notifications(this, 'Notifications', {
      alertEmail: config.alertEmail,
      busName: centralBusName(config),
      ...(this.organizationId ? { organizationId: this.organizationId } : {}),
    });
    this.trail = new AuditTrail(this, 'AuditTrail', {
      config,
      objectEvents: config.decoys.s3.enabled,
      trailName: auditTrailName(config),
    });
    this.decoys = new DecoyFleet(this, 'SecretRotation', {
      config,
      shape: shapeOf(config),
      trail: this.trail,
      state: this.state,
      existingTrailArn: config.trail.mode === 'existing' ? config.trail.existingTrailArn : undefined,
    });
    this.routing = new EventRouting(this, 'EventRouting', {
      config,
      plan: this.plan,
      state: this.state,
      notifications: this.notifications,
      trail: this.trail,
      decoys: this.decoys,
      // Organization mode: the security account holds no decoys; members forward their events.
      forwardLocalEvents: !organization,
    });
    this.workflow = new IncidentWorkflow(this, 'Workflow', {
      config,
      notifications: this.notifications,
      plantFunction: this.decoys.plantFunction,
      state: this.state,
    });
    this.analytics = config.scoring.enabled
      ? new ActivityAnalytics(this, 'Analytics', {
          config,
          state: this.state,
          notifications: this.notifications,
          trail: this.trail,
          ...(organization?.logArchive ? { logArchive: organization.logArchive } : {}),
        })
      : undefined;

    if (organization && this.organizationId) {
      if (!props.memberTemplates) throw new Error('MainStack: organization mode needs the member templates');
      this.members = new MemberStackSets(this, 'Members', {
        config: { ...config, organization },
        templates: props.memberTemplates,
      });
      // The control plane acts in members through their role: the planter (plant, refresh,
      // remove) and the response (the state machine's IAM calls, key rotation). Only that
      // role, only in this organization.
      const memberRole = memberRoleArn(config, this.partition);
      for (const role of [
        this.decoys.plantFunction.role,
        this.workflow.stateMachine.role,
        this.workflow.rotation.role,
      ]) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['sts:AssumeRole'],
            resources: [memberRole],
            conditions: { StringEquals: { 'aws:ResourceOrgID': this.organizationId } },
          }),
        );
        acknowledge(
          role,
          `AwsSolutions-IAM5[Resource::${memberRoleArn(config, '<AWS::Partition>')}]`,
          'The one role every member account of the organization gets (any account ID, this organization only by aws:ResourceOrgID).',
        );
      }
      const logArchive = organization.logArchive;
      if (logArchive && organization.organizationId && this.analytics) {
        this.organizationAnalytics = new OrganizationAnalytics(this, 'OrganizationActivity', {
          trailBucketName: logArchive.bucket,
          ...(logArchive.kmsKeyArn ? { trailKeyArn: logArchive.kmsKeyArn } : {}),
          organizationId: organization.organizationId,
          accounts: organization.targets.accounts.length > 0 ? organization.targets.accounts : '*',
          regions: allRegions(config),
        });
        const train = this.analytics.trainFunction;
        this.organizationAnalytics.grantQuery(train.role);
        for (const [name, value] of Object.entries(this.organizationAnalytics.queryEnvironment()))
          train.function.addEnvironment(name, value);
      } else {
        this.organizationAnalytics = undefined;
      }
      // Planting needs the members' role: the deploy-time run follows the access StackSet.
      this.decoys.resource.node.addDependency(this.members.access);
    } else {
      this.members = undefined;
      this.organizationAnalytics = undefined;
    }
  }
}
