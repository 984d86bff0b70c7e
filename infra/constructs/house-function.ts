import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaNodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag/acknowledge';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * How every function is bundled. Anyone with `lambda:GetFunction` (ReadOnlyAccess
 * has it) downloads the package, so the package carries the code and nothing else:
 * - no source map: a map ships the TypeScript source, comments and clear names
 *   included (and `--enable-source-maps` is left out with it). Stack traces in
 *   the logs name minified frames; `npx vitest` and the drill run the source.
 * - minified: local identifiers are renamed (keepNames stays off, so no
 *   `__name(fn, "…")` calls keep them); what remains readable are string
 *   literals and property names, which the source keeps neutral where deployed.
 * - no legal comments: the licence banners of bundled dependencies add nothing at
 *   run time and name the libraries.
 * - not an option but a rule of the source: deployed code imports zod as a
 *   namespace (`import * as z from 'zod'`). `import { z } from 'zod'` binds zod's
 *   namespace object as a value, and esbuild then keeps all of it, its message
 *   tables in sixty languages included (~370 KB a package, "bait" among them);
 *   through the namespace import only what is used is kept, English messages only.
 * test/infra/bundles.test.ts bundles every handler with exactly these options.
 */
export const HOUSE_BUNDLING = {
  format: lambdaNodejs.OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: false,
  keepNames: false,
  // ESM bundles of CommonJS dependencies still call require(): give them one.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  externalModules: ['@aws-sdk/*'],
  esbuildArgs: { '--legal-comments': 'none' as const },
  forceDockerBundling: false,
} satisfies lambdaNodejs.BundlingOptions;

export interface HouseFunctionProps {
  /** Folder name under functions/ whose handler.ts is the entry point. */
  readonly handlerDir: string;
  /** Deployed description: visible to ReadOnlyAccess, so neutral. */
  readonly description: string;
  /** Logger/metrics service name, deployed as an environment variable: neutral. */
  readonly serviceName: string;
  readonly environment?: Record<string, string>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The one way this project makes a Lambda function: Node.js 22 on arm64, bundled
 * by a local esbuild as ESM, X-Ray tracing, a log group with a set retention, and
 * a role of its own that can write only to that log group (no managed policy).
 */
export class HouseFunction extends Construct {
  readonly function: lambdaNodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** Why the role holds `Resource: *` grants: X-Ray's, then one per allowOnAnyResource call. */
  private readonly anyResourceReasons = [
    'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (resource must be *).',
  ];

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    this.function = new lambdaNodejs.NodejsFunction(this, 'Function', {
      entry: join(ROOT, 'functions', props.handlerDir, 'handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      projectRoot: ROOT,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'PlatformServices',
        ...props.environment,
      },
      bundling: HOUSE_BUNDLING,
    });

    // cdk-nag reports every `*` grant of the role as one finding: one acknowledgement,
    // its reason completed at synthesis with the grants allowOnAnyResource added.
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      Lazy.string({ produce: () => this.anyResourceReasons.join(' ') }),
    );
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'The runtime is pinned to Node.js 22 on purpose (design.md): upgrades are a reviewed change, not a default.',
    );
  }

  /**
   * Allows `actions` on any resource (`Resource: *`), for actions that support no
   * resource-level permissions; `reason` says so in the role's acknowledgement of
   * AwsSolutions-IAM5[Resource::*].
   */
  allowOnAnyResource(actions: string[], reason: string): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: ['*'] }));
    this.anyResourceReasons.push(reason);
  }
}
