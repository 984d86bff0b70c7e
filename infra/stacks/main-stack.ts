import { Aspects, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { auditTrailName, centralBusName } from '../../layers/config/names';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { type DecoyPlan, explicitPlan, shapeOf } from '../../layers/decoys/catalogue';
import { RolePath, roleIamPath } from '../aspects/role-path';
import { ActivityAnalytics } from '../constructs/activity-analytics';
import { AuditTrail } from '../constructs/audit-trail';
import { DecoyFleet } from '../constructs/decoy-fleet';
import { EventRouting } from '../constructs/event-routing';
import { IncidentWorkflow } from '../constructs/incident-workflow';
import { Notifications } from '../constructs/notifications';
import { StateStore } from '../constructs/state-store';

export interface MainStackProps extends StackProps {
  readonly config: HoneytrailConfig;
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

    this.state = new StateStore(this, 'State');
    this.notifications = new Notifications(this, 'Notifications', {
      alertEmail: config.alertEmail,
      busName: centralBusName(config),
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
        })
      : undefined;
  }
}
