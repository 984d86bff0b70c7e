import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { issueLines } from '../runtime/issues';
import { readJsonFile } from '../runtime/json-file';

/**
 * A drill scenario: benign activity and an attack chain, as data. The drill plays
 * it through what deploys (the synthesized rules, the touch logic, the scorer, the
 * response state machine). SCENARIO_FORMAT below is the documentation users get.
 */
export const SCENARIO_FORMAT = `
### Scenario files (\`npm run drill -- --scenario FILE\`)

A scenario is one JSON file. Every field but \`name\` and \`attack.steps\` has a default; the
default scenario is \`layers/drill/scenarios/leaked-developer-key.json\`.

\`\`\`jsonc
{
  "version": 1,
  "name": "leaked-developer-key",
  "description": "what the scenario shows",
  "account": "111122223333",            // the account the drill pretends to be (12 digits)
  "benign": {
    "synthetic": {                      // generated benign activity: a CI role, developers (alice,
      "seed": 7,                        // bob, carol, ...), application roles, a nightly report
      "developers": 3,                  // function and AWS Config; null for none
      "applications": 1
    },
    "historyDays": 7,                   // days of benign history before the play: trains the scorer only
    "playStart": "2024-05-13T08:00:00Z",// when the played period starts (UTC)
    "playHours": 4,                     // how long it lasts; findings and timeline cover it
    "records": []                       // more benign CloudTrail records played as they are
  },
  "delivery": {                         // CloudTrail's delays, for timeToDetectMs (scenario time)
    "toEventBridge": "1m",              // a call to its event on the bus: touch findings
    "logFiles": "5m"                    // a call to its log file in S3: anomaly findings
  },
  "actors": {                           // who the attack steps run as
    "intruder": {
      "synthetic": "alice",             // a generated principal's identity (its long-term key), or
      // "plantedUser": true,           // the planted IAM user's key, or
      // "identity": { ... },           // any CloudTrail userIdentity
      "sourceIp": "185.220.101.47",
      "userAgent": "aws-cli/2.15.30 ..."
    }
  },
  "attack": {
    "start": "+2h15m",                  // an offset from playStart, or an ISO time
    "steps": [
      {
        "actor": "intruder",
        "after": "40s",                 // delay after the previous step (first step: after start)
        "call": "s3:GetObject",         // service:EventName
        "region": "us-east-1",          // default: the home region (IAM calls: always us-east-1)
        "request": { "bucketName": "{{bucket}}", "key": "{{object:env-file}}" },
        "error": "AccessDenied",        // the call failed with this error code (optional)
        "via": "ssm.amazonaws.com",     // a service calling for the actor (kms:Decrypt by Parameter Store)
        "touchesDecoy": true,           // the drill expects a finding from this call
        "note": "reads the .env file",  // shown in the timeline
        "record": { }                   // fields merged last into the generated CloudTrail record
      }
    ]
  }
}
\`\`\`

Placeholders in any string of \`request\`, \`record\`, \`identity\` and \`benign.records\` are
filled in from the plan of the drilled deployment: \`{{account}}\`, \`{{region}}\`,
\`{{bucket}}\`, \`{{bucketArn}}\`, \`{{object:KIND}}\` and \`{{objectArn:KIND}}\` (KIND: env-file,
database-dump, terraform-state), \`{{parameter:N}}\` and \`{{parameterArn:N}}\` (N from 0),
\`{{secret:N}}\` and \`{{secretArn:N}}\` (Secrets Manager; the ARN without the six-character suffix),
\`{{user}}\`, \`{{userArn}}\`, \`{{accessKeyId}}\` (the planted key), \`{{keyAlias}}\`,
\`{{keyArn}}\`, \`{{trail}}\`, \`{{trailArn}}\`, \`{{bus}}\`.

A step marked \`touchesDecoy\` that yields no finding is a missed touch, and the drill exits
non-zero; so does any response that plans to contain a principal that only appears in benign
activity. A call to the trail (\`cloudtrail:StopLogging\` on \`{{trailArn}}\`) counts as a touch.

#### Organization scenarios

With \`organization\`, the app is synthesized for the security account in organization mode
(every member a target with automation on, dry-run as configured), decoys are planted in each
member account, and each member's events reach the central bus through the member-side
forwarding rules (those of the StackSet's member template). Actors and steps name their member:

\`\`\`jsonc
{
  "organization": {
    "securityAccount": "222233334444",   // runs the control plane, holds no decoys
    "members": { "payments": "111111111111", "analytics": "333333333333" },
    "regions": ["us-east-1", "eu-west-1"] // member forwarding (default: the steps' regions)
  },
  "actors": { "intruder": { "synthetic": "alice", "account": "payments", "sourceIp": "..." } },
  "attack": { "steps": [ { "actor": "intruder", "account": "analytics", "call": "..." } ] }
}
\`\`\`

A step runs in its \`account\` (default: its actor's; default: the first member); placeholders
are filled from that member's decoys. Benign activity is generated in every member. A touch
whose finding names neither the member (as the caller's account) nor its decoy fails the
drill; the KPIs gain \`organization\`: per member its decoys, touches, the touches its own
rules forwarded, findings and planned responses.
`.trim();

export const SCENARIO_VERSION = 1;

const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** "1h30m", "2m", "40s", "250ms", "1m30s" → milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, h, m, s, ms] = match;
  return Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

const durationSchema = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: 'expected a duration such as "40s", "2m", "1h30m"',
});

const isoTimeSchema = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)), {
    message: 'expected an ISO 8601 time such as 2024-05-13T08:00:00Z',
  });

/** "+2h15m" (from playStart) or an ISO time. */
const startSchema = z
  .string()
  .refine(
    (text) =>
      (text.startsWith('+') && parseDuration(text.slice(1)) !== undefined) ||
      (/^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text))),
    { message: 'expected "+<duration>" from playStart (such as "+2h15m") or an ISO 8601 time' },
  );

const CALL = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

const jsonObject = z.record(z.string(), z.unknown());
const accountIdSchema = z.string().regex(/^\d{12}$/, { message: 'expected a 12-digit account id' });

export const actorSchema = z
  .object({
    /** A principal of the synthetic generator, by name (alice, bob, ci, orders-api...). */
    synthetic: z.string().min(1).optional(),
    /** The planted IAM user, signing with the planted key. */
    plantedUser: z.literal(true).optional(),
    /** A CloudTrail userIdentity, as is (placeholders allowed). */
    identity: jsonObject.optional(),
    sourceIp: z.string().min(1),
    userAgent: z.string().min(1).default('aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22'),
    /** Organization scenarios: the member account (by name) the actor's identity belongs to. */
    account: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (actor) =>
      [actor.synthetic, actor.plantedUser, actor.identity].filter((v) => v !== undefined).length === 1,
    { message: 'give exactly one of "synthetic", "plantedUser" or "identity"' },
  );
export type ScenarioActor = z.infer<typeof actorSchema>;

export const stepSchema = z
  .object({
    actor: z.string().min(1),
    after: durationSchema.default('0s'),
    call: z.string().regex(CALL, { message: 'expected service:EventName such as s3:GetObject' }).optional(),
    region: z.string().regex(REGION, { message: 'expected an AWS region such as us-east-1' }).optional(),
    request: jsonObject.nullable().optional(),
    error: z.string().min(1).optional(),
    /** The AWS service calling on the actor's behalf (kms:Decrypt by ssm.amazonaws.com). */
    via: z
      .string()
      .regex(/^[a-z0-9-]+\.amazonaws\.com$/, { message: 'expected a service host such as ssm.amazonaws.com' })
      .optional(),
    touchesDecoy: z.boolean().default(false),
    note: z.string().default(''),
    record: jsonObject.optional(),
    /** Organization scenarios: the member account (by name) the call is made in; default the actor's. */
    account: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (step) =>
      step.call !== undefined ||
      (typeof step.record?.eventSource === 'string' && typeof step.record?.eventName === 'string'),
    { message: 'give "call" (service:EventName), or "record" with eventSource and eventName' },
  );
export type ScenarioStep = z.infer<typeof stepSchema>;

const syntheticSchema = z
  .object({
    seed: z.number().int().default(7),
    developers: z.number().int().min(1).max(10).default(3),
    applications: z.number().int().min(0).max(5).default(1),
  })
  .strict();

export const scenarioSchema = z
  .object({
    version: z
      .literal(SCENARIO_VERSION, { message: `expected ${SCENARIO_VERSION}` })
      .default(SCENARIO_VERSION),
    name: z.string().min(1),
    description: z.string().default(''),
    account: z
      .string()
      .regex(/^\d{12}$/, { message: 'expected a 12-digit account id' })
      .default('111122223333'),
    /**
     * A security account and member accounts: the app is synthesized for the security
     * account in organization mode, decoys are planted in each member, member events
     * reach the central bus through the member-side forwarding rules.
     */
    organization: z
      .object({
        securityAccount: accountIdSchema,
        members: z
          .record(
            z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'member names: letters, digits, - and _' }),
            accountIdSchema,
          )
          .refine((members) => Object.keys(members).length > 0, {
            message: 'name at least one member account',
          }),
        /** Regions the member forwarding covers (default: those the steps use and the home region). */
        regions: z
          .array(z.string().regex(REGION, { message: 'expected an AWS region such as us-east-1' }))
          .optional(),
      })
      .strict()
      .optional(),
    /** CloudTrail's delivery delays, in scenario time: to EventBridge (touches) and log files to S3 (scoring). */
    delivery: z
      .object({
        toEventBridge: durationSchema.default('1m'),
        logFiles: durationSchema.default('5m'),
      })
      .strict()
      .default({ toEventBridge: '1m', logFiles: '5m' }),
    benign: z
      .object({
        synthetic: syntheticSchema.nullable().default({ seed: 7, developers: 3, applications: 1 }),
        historyDays: z.number().int().min(0).max(60).default(7),
        playStart: isoTimeSchema.default('2024-05-13T08:00:00Z'),
        playHours: z.number().min(0.25).max(72).default(4),
        records: z.array(jsonObject).default([]),
      })
      .strict()
      .default({
        synthetic: { seed: 7, developers: 3, applications: 1 },
        historyDays: 7,
        playStart: '2024-05-13T08:00:00Z',
        playHours: 4,
        records: [],
      }),
    actors: z.record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'actor names: letters, digits, - and _' }),
      actorSchema,
    ),
    attack: z
      .object({
        start: startSchema.default('+1h'),
        steps: z.array(stepSchema).min(1, { message: 'an attack needs at least one step' }),
      })
      .strict(),
  })
  .strict()
  .superRefine((scenario, ctx) => {
    scenario.attack.steps.forEach((step, i) => {
      if (!(step.actor in scenario.actors)) {
        ctx.addIssue({
          code: 'custom',
          path: ['attack', 'steps', i, 'actor'],
          message: `no actor "${step.actor}" in "actors" (known: ${Object.keys(scenario.actors).join(', ') || 'none'})`,
        });
      }
    });
    const members = scenario.organization?.members;
    const checkMember = (name: string | undefined, path: (string | number)[]) => {
      if (name === undefined) return;
      if (!members)
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'an account is named only in an organization scenario ("organization")',
        });
      else if (!(name in members))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no member account "${name}" in organization.members (known: ${Object.keys(members).join(', ')})`,
        });
    };
    scenario.attack.steps.forEach((step, i) => {
      checkMember(step.account, ['attack', 'steps', i, 'account']);
    });
    if (members && Object.values(members).includes(scenario.organization!.securityAccount)) {
      ctx.addIssue({
        code: 'custom',
        path: ['organization', 'securityAccount'],
        message: 'the security account holds no decoys: it cannot also be a member',
      });
    }
    for (const [name, actor] of Object.entries(scenario.actors)) {
      checkMember(actor.account, ['actors', name, 'account']);
      if (actor.synthetic && scenario.benign.synthetic === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['actors', name, 'synthetic'],
          message: 'a synthetic actor needs benign.synthetic',
        });
      }
      if (
        !IPV4.test(actor.sourceIp) &&
        !actor.sourceIp.includes(':') &&
        !actor.sourceIp.endsWith('.amazonaws.com')
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['actors', name, 'sourceIp'],
          message: 'expected an IP address (or a service host such as ssm.amazonaws.com)',
        });
      }
    }
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/**
 * Validates a parsed scenario; the error names the file, each wrong field by its
 * path, and what was there, e.g. `attack.steps.2.call: expected service:EventName (got "GetObject")`.
 */
export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = issueLines(result.error, { root: '(root)', input: raw });
  throw new ScenarioError(`${source} is not a valid scenario:\n  ${lines.join('\n  ')}`);
}

/** Reads and validates a scenario file. */
export function loadScenario(path: string): Scenario {
  const json = readJsonFile(path, 'scenario file', (message) => new ScenarioError(message));
  return parseScenario(json, path);
}

/** The scenario `npm run drill` plays when none is given. */
export const DEFAULT_SCENARIO_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  'scenarios',
  'leaked-developer-key.json',
);

export function defaultScenario(): Scenario {
  return loadScenario(DEFAULT_SCENARIO_PATH);
}

/** When the attack starts, in ms since the epoch. */
export function attackStartOf(scenario: Scenario): number {
  const { start } = scenario.attack;
  if (start.startsWith('+')) return Date.parse(scenario.benign.playStart) + parseDuration(start.slice(1))!;
  return Date.parse(start);
}
