import { resolve } from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { centralBusName } from '../layers/config/names';
import { allRegions, ConfigError, type HoneytrailConfig, parseConfig } from '../layers/config/schema';
import { readJsonFile } from '../layers/runtime/json-file';
import { MainStack } from './stacks/main-stack';
import { memberTemplates } from './stacks/member-stacks';
import { RegionalStack } from './stacks/regional-stack';

export interface HoneytrailApp {
  app: App;
  config: HoneytrailConfig;
  main: MainStack;
  /** Event forwarding in every monitored region but home (single-account mode; none in organization mode). */
  regional: RegionalStack[];
}

/**
 * The config from the app's context: `honeytrailConfig` (a file) wins over `honeytrail`.
 * A file or a `-c` value that is not JSON fails naming the file or the context key.
 */
export function configFromContext(app: App): HoneytrailConfig {
  const file = app.node.tryGetContext('honeytrailConfig');
  if (typeof file === 'string') {
    return parseConfig(readJsonFile(resolve(file), 'config file', configError), file);
  }
  const raw = app.node.tryGetContext('honeytrail');
  // `-c honeytrail='{"...":...}'` on the command line arrives as a string.
  return parseConfig(typeof raw === 'string' ? parseContextJson(raw) : (raw ?? {}), 'context.honeytrail');
}

const configError = (message: string) => new ConfigError(`invalid configuration:\n  ${message}`);

function parseContextJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw configError(
      `context.honeytrail: expected a JSON object, but it is not valid JSON: ${(error as Error).message} (got ${JSON.stringify(text)})`,
    );
  }
}

/**
 * Builds the whole app; tests and the drill call this with their own context.
 * `account` pins the stacks' account (the plan and the template must agree on it);
 * by default it is the CLI's, from the credentials (CDK_DEFAULT_ACCOUNT).
 */
export function buildApp(
  props: AppProps = {},
  options: { nag?: boolean; account?: string } = {},
): HoneytrailApp {
  const app = new App(props);
  const config = configFromContext(app);
  const nag = options.nag ?? true;
  const organization = config.organization;
  // Organization mode deploys from the security account (a delegated administrator).
  const account = organization?.securityAccount ?? options.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const main = new MainStack(app, 'Main', {
    stackName: config.stackName,
    description: 'Shared platform services: credential rotation, audit pipeline and operational monitoring',
    env: { account, region: config.homeRegion },
    config,
    ...(organization ? { memberTemplates: memberTemplates({ ...config, organization }, { nag }) } : {}),
  });
  // Single account: a stack per other region, each after the home region's (the bus,
  // the trail and the roles its rules target exist first: IAM is eventually
  // consistent, and CloudFormation deploys dependants only once the main stack is
  // complete). Organization mode: the members' StackSets cover every region instead.
  const regional = organization
    ? []
    : allRegions(config)
        .filter((region) => region !== config.homeRegion)
        .map((region) => {
          const stack = new RegionalStack(app, `Regional-${region}`, {
            stackName: `${config.stackName.slice(0, 100)}-${region}`,
            description: 'Shared platform services: regional event routing',
            env: { account, region },
            config,
            busName: centralBusName(config),
            trailName: main.trail.trailName,
            trailArn: config.trail.mode === 'existing' ? config.trail.existingTrailArn : undefined,
          });
          stack.addStackDependency(main);
          return stack;
        });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, config, main, regional };
}
