import * as z from 'zod';
import { issueLines } from '../runtime/issues';
import { crossFieldIssues } from './cross-checks';
import { organizationSchema } from './organization';
import { DEFAULT_ENABLED_REGIONS, partitionOf } from './regions';
import {
  allowlistArnProblem,
  arnProblem,
  bucketNameProblem,
  cidrProblem,
  type Problem,
  parameterNameProblem,
  regionProblem,
  scheduleProblem,
  secretNameProblem,
  tellProblem,
  trailArnProblem,
} from './validators';
import {
  baitObjectKinds,
  type FindingKind,
  findingKinds,
  responseActions,
  secretFormats,
  secretsManagerFormats,
  severities,
} from './vocabulary';

// The enumerations live in vocabulary.ts, which imports nothing, so the functions
// that need them do not bundle this module (its defaults, messages and validators).
export {
  type BaitObjectKind,
  baitObjectKinds,
  type FindingKind,
  findingKinds,
  type ResponseAction,
  responseActions,
  type SecretFormat,
  type SecretsManagerFormat,
  type Severity,
  secretFormats,
  secretsManagerFormats,
  severities,
} from './vocabulary';

/**
 * The one configuration of a deployment. It lives in cdk.json under
 * `context.honeytrail` (or in the file named by the `honeytrailConfig` context key)
 * and every field has a default, so an empty object synthesizes.
 */

/**
 * A string that must also pass `checks` (validators.ts), each saying what it
 * expects; the first that fails is reported, next to any of the schema's own.
 */
function checked<T extends z.ZodString>(schema: T, ...checks: ((value: string) => Problem)[]): T {
  return schema.superRefine((value, ctx) => {
    for (const check of checks) {
      const problem = check(value);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem });
        return;
      }
    }
  });
}

const regionSchema = checked(z.string(), regionProblem);

/** A schedule expression as EventBridge rules accept it (validators.ts, scheduleProblem). */
const scheduleSchema = checked(z.string(), scheduleProblem);

/** Names that look like a real service's own: lower case words joined by dashes. Deployed, so no tells. */
const wordSchema = checked(
  z.string().regex(/^[a-z][a-z0-9-]{1,30}$/, { message: 'expected lower-case letters, digits and dashes' }),
  tellProblem,
);

const ssmParameterNameSchema = checked(
  z.string().regex(/^\/[A-Za-z0-9_.\-/]{3,1000}$/, {
    message: 'expected a parameter path such as /prod/payments/db-password',
  }),
  parameterNameProblem,
  tellProblem,
);

export const ssmDecoySchema = z.object({
  name: ssmParameterNameSchema,
  format: z.enum(secretFormats),
});

export const secretsManagerDecoySchema = z.object({
  name: checked(z.string(), secretNameProblem, tellProblem),
  format: z.enum(secretsManagerFormats),
});

/** Parsed by the touch function at run time: a CIDR it cannot read would fail every event. */
const cidrSchema = checked(z.string(), cidrProblem);

/** `{account}`, `{region}`, `{service}` and `{env}` are filled in; the result is checked in generated-names.ts. */
const bucketTemplateSchema = checked(z.string(), tellProblem);

/**
 * Former names of finding kinds, still read where a person writes a kind
 * (response.rules[].kind) and taken as the current one, so a rename of a deployed
 * value never breaks an existing config. Kept here, not in vocabulary.ts: this
 * module is never bundled into a function, so the former names are not deployed.
 */
export const formerFindingKinds: Readonly<Record<string, FindingKind>> = { 'decoy-touch': 'resource-access' };

/** The current name of a kind written by a person: a former name is translated, anything else kept. */
export function currentFindingKind(kind: string): string {
  return Object.hasOwn(formerFindingKinds, kind) ? formerFindingKinds[kind]! : kind;
}

export const configSchema = z
  .object({
    /** CloudFormation stack name: visible to anyone who can list stacks, so neutral. */
    stackName: checked(
      z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, {
        message: 'expected a CloudFormation stack name: a letter, then up to 127 letters, digits and dashes',
      }),
      tellProblem,
    ).default('platform-shared-services'),
    /** Where the central bus, the registry and every function live. */
    homeRegion: regionSchema.default('us-east-1'),
    /**
     * Opt-in regions (enabled in the account) whose CloudTrail events are forwarded too. Every
     * region enabled by default in the home region's partition is always covered: this list only adds.
     */
    monitoredRegions: z.array(regionSchema).default([]),
    /** Organization mode: control plane in a security account, members through a StackSet. Absent: single account. */
    organization: organizationSchema.optional(),
    naming: z
      .object({
        /** The company-ish prefix that real resources in the account carry, e.g. "acme". Empty: none. */
        prefix: z.union([wordSchema, z.literal('')]).default(''),
        environment: wordSchema.default('prod'),
        /** The service the decoys pretend to belong to. Empty: picked from a vocabulary by `seed`. */
        service: z.union([wordSchema, z.literal('')]).default(''),
        /** Picks default names from the vocabulary; change it to get a different, stable set. */
        seed: checked(z.string().min(1), tellProblem).default('1'),
      })
      .strict()
      .default({ prefix: '', environment: 'prod', service: '', seed: '1' }),
    decoys: z
      .object({
        ssm: z
          .object({
            enabled: z.boolean().default(true),
            /** How many generated parameters when `parameters` is empty. */
            count: z.number().int().min(1).max(20).default(4),
            /** Explicit parameters instead of generated ones. */
            parameters: z.array(ssmDecoySchema).default([]),
          })
          .strict()
          .default({ enabled: true, count: 4, parameters: [] }),
        s3: z
          .object({
            enabled: z.boolean().default(true),
            /** Bucket name; `{account}` and `{region}` are filled in at deploy. Empty: generated. */
            bucketName: bucketTemplateSchema.default(''),
            objects: z
              .array(z.enum(baitObjectKinds))
              .min(1)
              .default([...baitObjectKinds]),
          })
          .strict()
          .default({ enabled: true, bucketName: '', objects: [...baitObjectKinds] }),
        iam: z
          .object({
            enabled: z.boolean().default(true),
            /** User name. Empty: generated. */
            userName: z
              .union([
                checked(
                  z.string().regex(/^[\w+=,.@-]{1,64}$/, {
                    message: 'expected an IAM user name: 1-64 letters, digits and +=,.@_-',
                  }),
                  tellProblem,
                ),
                z.literal(''),
              ])
              .default(''),
          })
          .strict()
          .default({ enabled: true, userName: '' }),
        /** Secrets Manager secrets (database credentials JSON, API keys). */
        secrets: z
          .object({
            enabled: z.boolean().default(true),
            /** How many generated secrets when `secrets` is empty. */
            count: z.number().int().min(1).max(10).default(2),
            /** Explicit secrets instead of generated ones. */
            secrets: z.array(secretsManagerDecoySchema).default([]),
          })
          .strict()
          .default({ enabled: true, count: 2, secrets: [] }),
      })
      .strict()
      .default({
        ssm: { enabled: true, count: 4, parameters: [] },
        s3: { enabled: true, bucketName: '', objects: [...baitObjectKinds] },
        iam: { enabled: true, userName: '' },
        secrets: { enabled: true, count: 2, secrets: [] },
      }),
    /** How often decoy values and the decoy access key are rotated. */
    refreshSchedule: scheduleSchema.default('rate(1 day)'),
    /** Where findings are mailed. Empty: no subscription (the topic still exists). */
    alertEmail: z
      .union([
        z
          .email({ message: 'expected an email address' })
          // The address is the subscription's endpoint, readable by anyone who can list subscriptions.
          .superRefine((value, ctx) => {
            const problem = tellProblem(value);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          }),
        z.literal(''),
      ])
      .default(''),
    /** New deployments plan every response action and execute none. */
    dryRun: z.boolean().default(true),
    trail: z
      .object({
        /** `create`: the stack creates the trail it needs. `existing`: use `existingTrailArn`. */
        mode: z.enum(['create', 'existing']).default('create'),
        existingTrailArn: z.union([checked(z.string(), trailArnProblem), z.literal('')]).default(''),
        /** The bucket the existing trail writes log files to (for scoring). */
        existingTrailBucket: z.union([checked(z.string(), bucketNameProblem), z.literal('')]).default(''),
        /**
         * S3 object events: `planted-bucket` logs them for the one bucket (its name is
         * then readable in the trail's selectors); `all-buckets` logs every bucket but
         * the trail's own, so none stands out, at the price of data events for all.
         */
        dataEvents: z.enum(['planted-bucket', 'all-buckets']).default('planted-bucket'),
      })
      .strict()
      .default({
        mode: 'create',
        existingTrailArn: '',
        existingTrailBucket: '',
        dataEvents: 'planted-bucket',
      }),
    detection: z
      .object({
        /**
         * `broad` (default): rules match services and API names, never a decoy; the touch
         * function sorts the matches against the registry, which ReadOnlyAccess cannot read
         * (one invocation per matching call in the account).
         * `named`: rules list decoy names and ARNs: fewer invocations, but whoever can read
         * rules (ReadOnlyAccess can) reads the decoy list out of them.
         */
        ruleStyle: z.enum(['named', 'broad']).default('broad'),
        dedupeWindowMinutes: z.number().int().min(1).max(10080).default(60),
        allowlist: z
          .object({
            principalArns: z.array(checked(z.string(), allowlistArnProblem)).default([]),
            cidrs: z.array(cidrSchema).default([]),
          })
          .strict()
          .default({ principalArns: [], cidrs: [] }),
        securityHub: z.boolean().default(false),
        /** How often decoy keys' last use is compared with the touches seen. */
        unloggedUseSchedule: scheduleSchema.default('rate(1 hour)'),
      })
      .strict()
      .default({
        ruleStyle: 'broad',
        dedupeWindowMinutes: 60,
        allowlist: { principalArns: [], cidrs: [] },
        securityHub: false,
        unloggedUseSchedule: 'rate(1 hour)',
      }),
    scoring: z
      .object({
        enabled: z.boolean().default(true),
        windowMinutes: z.number().int().min(5).max(1440).default(60),
        trainSchedule: scheduleSchema.default('rate(7 days)'),
        trainingDays: z.number().int().min(1).max(90).default(14),
        /** Score above which a principal-window is a finding, in [0,1]. */
        threshold: z.number().gt(0).lt(1).default(0.62),
      })
      .strict()
      .default({
        enabled: true,
        windowMinutes: 60,
        trainSchedule: 'rate(7 days)',
        trainingDays: 14,
        threshold: 0.62,
      }),
    response: z
      .object({
        /** Principals never acted on automatically, besides the deployer and the stack's own roles. */
        /**
         * ARNs, `*` and `?` allowed. Bare names are not accepted: only an ARN also goes into
         * the IAM deny statement that keeps the response's own roles off these principals.
         */
        protectedPrincipals: z
          .array(checked(z.string(), (v) => arnProblem(v, { wildcards: true })))
          .default([]),
        /** Per finding kind: what the state machine may do. */
        rules: z
          .array(
            z
              .object({
                /** A former kind name (formerFindingKinds) is read as the current one. */
                kind: z.string().transform(currentFindingKind).pipe(z.enum(findingKinds)),
                minSeverity: z.enum(severities).default('low'),
                action: z.enum(responseActions),
              })
              .strict(),
          )
          .default([
            { kind: 'resource-access', minSeverity: 'high', action: 'auto' },
            { kind: 'tamper', minSeverity: 'high', action: 'approve' },
            { kind: 'anomaly', minSeverity: 'high', action: 'approve' },
            { kind: 'unlogged-use', minSeverity: 'low', action: 'notify' },
          ]),
        rotateKeys: z.boolean().default(true),
        attachQuarantinePolicy: z.boolean().default(true),
        approvalTimeoutMinutes: z.number().int().min(1).max(10080).default(60),
        oldKeyGraceMinutes: z.number().int().min(0).max(10080).default(60),
        /** Where a rotated user's new access key is stored, under `keyStorePath/<user name>`. */
        keyStore: z.enum(['secrets-manager', 'ssm-parameter']).default('secrets-manager'),
        keyStorePath: checked(
          z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, {
            message: 'expected a path such as credentials/iam-users',
          }),
          tellProblem,
        ).default('credentials/iam-users'),
        /** CloudWatch alarms checked after acting: any in ALARM reverts the response. Empty: no check. */
        healthCheckAlarms: z.array(z.string().min(1).max(255)).default([]),
        healthCheckMinutes: z.number().int().min(1).max(1440).default(10),
        /** Object-lock retention of response evidence and audit records. */
        auditRetentionDays: z.number().int().min(1).max(3650).default(365),
        /**
         * The automation error budget: at most `principals` principals contained automatically
         * within `minutes`, account-wide; beyond it automatic actions wait for approval.
         */
        errorBudget: z
          .object({
            principals: z.number().int().min(1).max(1000).default(3),
            minutes: z.number().int().min(1).max(10080).default(60),
          })
          .strict()
          .default({ principals: 3, minutes: 60 }),
        /** A finding joins an actor's incident within this many minutes of the incident's last finding. */
        incidentSpanMinutes: z.number().int().min(1).max(10080).default(720),
      })
      .strict()
      .default({
        protectedPrincipals: [],
        rules: [
          { kind: 'resource-access', minSeverity: 'high', action: 'auto' },
          { kind: 'tamper', minSeverity: 'high', action: 'approve' },
          { kind: 'anomaly', minSeverity: 'high', action: 'approve' },
          { kind: 'unlogged-use', minSeverity: 'low', action: 'notify' },
        ],
        rotateKeys: true,
        attachQuarantinePolicy: true,
        approvalTimeoutMinutes: 60,
        oldKeyGraceMinutes: 60,
        keyStore: 'secrets-manager',
        keyStorePath: 'credentials/iam-users',
        healthCheckAlarms: [],
        healthCheckMinutes: 10,
        auditRetentionDays: 365,
        errorBudget: { principals: 3, minutes: 60 },
        incidentSpanMinutes: 720,
      }),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.trail.mode === 'existing' && !config.trail.existingTrailArn) {
      ctx.addIssue({
        code: 'custom',
        path: ['trail', 'existingTrailArn'],
        message: 'trail.mode is "existing" but no trail ARN is given',
      });
    }
    const names = config.decoys.ssm.parameters.map((p) => p.name);
    const dupe = names.find((n, i) => names.indexOf(n) !== i);
    if (dupe) {
      ctx.addIssue({
        code: 'custom',
        path: ['decoys', 'ssm', 'parameters'],
        message: `parameter ${dupe} is listed twice`,
      });
    }
    const secretNames = config.decoys.secrets.secrets.map((p) => p.name);
    const secretDupe = secretNames.find((n, i) => secretNames.indexOf(n) !== i);
    if (secretDupe) {
      ctx.addIssue({
        code: 'custom',
        path: ['decoys', 'secrets', 'secrets'],
        message: `secret ${secretDupe} is listed twice`,
      });
    }
  });

export type HoneytrailConfig = z.infer<typeof configSchema>;
export type HoneytrailConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates a raw config and names every wrong key with what it accepts, e.g.
 * `honeytrail.scoring.windowMinutes: expected number to be >=5 (got 1)`.
 */
export function parseConfig(raw: unknown, source = 'honeytrail'): HoneytrailConfig {
  const result = configSchema.safeParse(raw ?? {});
  // What depends on several values is checked once every value is known to be well formed.
  const error = result.success ? crossFieldError(result.data) : result.error;
  if (!error) return result.data as HoneytrailConfig;
  const lines = issueLines(error, { prefix: [source], input: raw, showObjects: true });
  throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
}

function crossFieldError(config: HoneytrailConfig): z.ZodError | undefined {
  const issues = crossFieldIssues(config);
  if (issues.length === 0) return undefined;
  return new z.ZodError(issues.map((issue) => ({ code: 'custom' as const, input: undefined, ...issue })));
}

/**
 * Every region whose CloudTrail events are forwarded to the home region: a stolen
 * key works against every region's endpoint. By default every region enabled by
 * default in the home region's partition, plus the opt-in ones listed in
 * monitoredRegions; in organization mode with a list of regions, that list. Always
 * home and, in the commercial partition, us-east-1 (where IAM's events arrive).
 * Never a region of another partition: a China or GovCloud account cannot deploy there.
 */
export function allRegions(config: HoneytrailConfig): string[] {
  const partition = partitionOf(config.homeRegion);
  const iamEvents = partition === 'aws' ? ['us-east-1'] : [];
  const listed = config.organization?.regions;
  const covered = Array.isArray(listed)
    ? listed
    : [...(partition ? DEFAULT_ENABLED_REGIONS[partition] : []), ...config.monitoredRegions];
  return [...new Set([config.homeRegion, ...iamEvents, ...covered])].sort();
}
