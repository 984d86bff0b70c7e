import { CfnStackSet } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { memberStackSetName } from '../../layers/config/names';
import type { OrganizationConfig } from '../../layers/config/organization';
import { isOptInRegion } from '../../layers/config/regions';
import { allRegions, type HoneytrailConfig } from '../../layers/config/schema';
import type { MemberTemplates } from '../stacks/member-stacks';

export interface MemberStackSetsProps {
  readonly config: HoneytrailConfig & { organization: OrganizationConfig };
  readonly templates: MemberTemplates;
}

/** CloudFormation's own limit on an inline TemplateBody. */
export const TEMPLATE_BODY_LIMIT = 51_200;

/**
 * The member accounts' part, as service-managed StackSets deployed from the security
 * account as a delegated administrator (CallAs DELEGATED_ADMIN), to the target OUs
 * with automatic deployment: an account that joins an OU gets its stacks without
 * anyone acting, one that leaves loses them.
 *
 * `CfnStackSet` with templates synthesized from CDK stacks (member-stacks.ts), not
 * cdklabs' cdk-stacksets: the member templates have no assets (no function code), so
 * they go inline as TemplateBody and need no asset bucket in each region, no extra
 * dependency, and the L1 exposes every property this needs (CallAs, AutoDeployment,
 * ManagedExecution, OperationPreferences).
 *
 * - access: the role the control plane assumes, in the home region only (IAM is global).
 * - routing: forwarding rules in every covered region enabled by default.
 * - routing in opt-in regions, separately: an instance in a region an account has not
 *   enabled fails ("region not enabled"); its own StackSet tolerates every such
 *   failure, so the default regions' deployment stays strict. Once the account opts
 *   in, an update of the StackSet (or of the instance) completes it.
 */
export class MemberStackSets extends Construct {
  readonly access: CfnStackSet;
  readonly routing: CfnStackSet[];

  constructor(scope: Construct, id: string, props: MemberStackSetsProps) {
    super(scope, id);
    const { config, templates } = props;
    const { organization } = config;
    const regions = allRegions(config);
    const defaultRegions = regions.filter((region) => !isOptInRegion(region));
    const optInRegions = regions.filter(isOptInRegion);

    this.access = this.stackSet('Access', {
      name: memberStackSetName(config, 'access'),
      description: 'Platform operations access',
      template: templates.access,
      regions: [config.homeRegion],
      failureTolerancePercentage: 0,
      organization,
    });
    this.routing = [
      this.stackSet('Routing', {
        name: memberStackSetName(config, 'routing'),
        description: 'Platform event routing',
        template: templates.routing,
        regions: defaultRegions,
        failureTolerancePercentage: 0,
        organization,
      }),
      ...(optInRegions.length > 0
        ? [
            this.stackSet('RoutingOptIn', {
              name: memberStackSetName(config, 'routing-opt-in'),
              description: 'Platform event routing',
              template: templates.routing,
              regions: optInRegions,
              failureTolerancePercentage: 100,
              organization,
            }),
          ]
        : []),
    ];
  }

  private stackSet(
    id: string,
    props: {
      name: string;
      description: string;
      template: object;
      regions: string[];
      failureTolerancePercentage: number;
      organization: OrganizationConfig;
    },
  ): CfnStackSet {
    const body = JSON.stringify(props.template);
    if (body.length > TEMPLATE_BODY_LIMIT) {
      throw new Error(
        `${props.name}: the member template is ${body.length} bytes, over CloudFormation's TemplateBody limit of ${TEMPLATE_BODY_LIMIT}`,
      );
    }
    const { targets } = props.organization;
    return new CfnStackSet(this, id, {
      stackSetName: props.name,
      description: props.description,
      permissionModel: 'SERVICE_MANAGED',
      callAs: 'DELEGATED_ADMIN',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      managedExecution: { Active: true },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      templateBody: body,
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        concurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        maxConcurrentPercentage: 100,
        failureTolerancePercentage: props.failureTolerancePercentage,
      },
      stackInstancesGroup: [
        {
          regions: props.regions,
          deploymentTargets: {
            organizationalUnitIds: targets.organizationalUnitIds,
            // Listed accounts narrow the OUs to those accounts (UNION is refused on create).
            ...(targets.accounts.length > 0
              ? { accounts: targets.accounts, accountFilterType: 'INTERSECTION' }
              : {}),
          },
        },
      ],
    });
  }
}
