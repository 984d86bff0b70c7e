import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects, BootstraplessSynthesizer, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { auditTrailName, centralBusName } from '../../layers/config/names';
import type { OrganizationConfig } from '../../layers/config/organization';
import type { HoneytrailConfig } from '../../layers/config/schema';
import { RolePath, roleIamPath } from '../aspects/role-path';
import { MemberAccess } from '../constructs/member-access';
import { MemberForwarding } from '../constructs/member-forwarding';

/**
 * What a member account gets, as two CDK stacks synthesized to templates that the
 * security account's StackSets carry (TemplateBody). They are never deployed as
 * stacks of the app: StackSets deploy them into every target account. Neither has
 * assets (no function code), so no bootstrap is needed in the members and the
 * templates go inline; and neither names a decoy.
 */

interface MemberStackProps extends StackProps {
  readonly config: HoneytrailConfig & { organization: OrganizationConfig };
}

/** The role the control plane assumes. IAM is global: deployed to one region per account. */
export class MemberAccessStack extends Stack {
  readonly access: MemberAccess;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, { ...props, synthesizer: new BootstraplessSynthesizer() });
    Aspects.of(this).add(new RolePath(roleIamPath(props.config)));
    this.access = new MemberAccess(this, 'Operations', {
      stackName: props.config.stackName,
      organization: props.config.organization,
    });
  }
}

/** Event forwarding to the central bus, in every covered region of every member account. */
export class MemberRoutingStack extends Stack {
  readonly forwarding: MemberForwarding;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, { ...props, synthesizer: new BootstraplessSynthesizer() });
    const { config } = props;
    Aspects.of(this).add(new RolePath(roleIamPath(config)));
    const busName = centralBusName(config);
    const trailArn =
      config.trail.mode === 'existing'
        ? config.trail.existingTrailArn
        : `arn:${this.partition}:cloudtrail:${config.homeRegion}:${config.organization.securityAccount}:trail/${auditTrailName(config)}`;
    this.forwarding = new MemberForwarding(this, 'Routing', {
      config,
      busName,
      busArn: `arn:${this.partition}:events:${config.homeRegion}:${config.organization.securityAccount}:event-bus/${busName}`,
      trailName: trailArn.split(':trail/')[1] ?? auditTrailName(config),
      trailArn,
    });
  }
}

export type CfnTemplateJson = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
} & Record<string, unknown>;

export interface MemberTemplates {
  access: CfnTemplateJson;
  routing: CfnTemplateJson;
}

/**
 * Synthesizes the member stacks in an app of their own (so `cdk deploy --all` never
 * deploys them to the security account) and returns their templates. With `nag`,
 * cdk-nag checks them as it checks the app's stacks, and a finding fails synth.
 * No path metadata and no version reporting: member templates are readable by
 * anyone with ReadOnlyAccess in every member account.
 */
export function memberTemplates(
  config: HoneytrailConfig & { organization: OrganizationConfig },
  options: { nag: boolean },
): MemberTemplates {
  const outdir = mkdtempSync(join(tmpdir(), 'member-templates-'));
  try {
    const app = new App({
      outdir,
      analyticsReporting: false,
      postCliContext: { 'aws:cdk:enable-path-metadata': false, 'aws:cdk:version-reporting': false },
    });
    const access = new MemberAccessStack(app, 'Access', {
      config,
      description: 'Platform operations access',
    });
    const routing = new MemberRoutingStack(app, 'Routing', { config, description: 'Platform event routing' });
    if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    const assembly = app.synth();
    return {
      access: assembly.getStackArtifact(access.artifactId).template as CfnTemplateJson,
      routing: assembly.getStackArtifact(routing.artifactId).template as CfnTemplateJson,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
