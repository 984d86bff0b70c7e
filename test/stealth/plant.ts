import type { AdvancedEventSelector } from '@aws-sdk/client-cloudtrail';
import {
  answerCustomResource,
  type CustomResourceEvent,
  customResourceWork,
} from '../../layers/decoys/custom-resource';
import { MemoryAccount } from '../../layers/decoys/memory';
import { Planter } from '../../layers/decoys/planter';
import type { PlanterLog } from '../../layers/decoys/ports';
import { decodeSpec } from '../../layers/decoys/spec';
import { loggedBucketSelectors } from '../../layers/detection/trail-selectors';
import { collectStrings } from '../../layers/stealth/tells';
import { makePlanterDeps } from '../decoys/fixtures';
import { namesOfPlan } from './audit';
import type { Item, Surface } from './collect';

/**
 * Everything the planter writes, read back as an attacker would. The planter runs
 * the deployed code path: the custom resource's Create, with the properties the
 * synthesized template gives it, into an in-memory account (layers/decoys/memory.ts,
 * which logs every call) that already holds a small, ordinary inventory (names are
 * shaped after the account's own, and the trail lists real buckets beside the
 * planted one); then the scheduled refresh runs a few times. Each call's arguments
 * become items: a bucket or user policy is "policy", tags are "tag", the trail's
 * selectors are "trail", every other value (names, descriptions, parameter values,
 * object keys and bodies) is "bait"; the answer to CloudFormation (its Reason is
 * in the stack's events) is "custom resource"; the planter's log lines (CloudWatch
 * Logs, readable with `logs:FilterLogEvents`) are "log line"; the registry's
 * writes are kept apart ("registry": ReadOnlyAccess cannot read it).
 */

export interface PlantTarget {
  account: string;
  region: string;
  stackName: string;
  /** The planter custom resource's properties in the template (ServiceToken and tokens included). */
  properties: Record<string, unknown>;
}

export interface PlantedContents {
  items: Item[];
  /** What the registry knows after the plant: every decoy name and access key id. */
  registryNames: string[];
}

/** A file format that carries a UUID of its own (allowances, audit.ts). */
const STATE_FILE = /^\{\n {2}"version": 4,\n {2}"terraform_version": /;

/**
 * A trail's selectors may name the planted bucket only among at least this many
 * other buckets of the account: then the list says "these buckets have object
 * logging", not which one is bait (layers/detection/trail-selectors.ts).
 */
export const TRAIL_COVER_MINIMUM = 3;

/** An ordinary account: what the inventory read finds before anything is planted. */
const INVENTORY = {
  parameters: [
    '/prod/checkout/api-base-url',
    '/prod/checkout/redis-url',
    '/prod/orders/queue-url',
    '/staging/checkout/api-base-url',
  ],
  buckets: ['acme-web-assets-prod', 'acme-build-cache', 'acme-cur-reports', 'acme-checkout-uploads-prod'],
  users: ['ci-deploy', 'grafana-cloudwatch', 'backup-runner'],
};

export async function plantInMemory(target: PlantTarget, refreshes = 3): Promise<PlantedContents> {
  const account = new MemoryAccount();
  await seedInventory(account, target.region);
  const seeded = account.calls.length;

  const logLines: { level: string; message: string; extra: unknown[] }[] = [];
  const log: PlanterLog = {
    info: (message, ...extra) => void logLines.push({ level: 'info', message, extra }),
    warn: (message, ...extra) => void logLines.push({ level: 'warn', message, extra }),
  };
  const trailWrites: AdvancedEventSelector[][] = [];
  const trailArn = `arn:aws:cloudtrail:${target.region}:${target.account}:trail/${target.stackName}-trail`;
  let runs = 0;
  // The decoy tests' deps (every port of the in-memory account, a clock that puts
  // each run after every cadence's period, no-op waits), as the plant function
  // wires them: the stack's region, the account's inventory and KMS, the trail.
  const planter = () =>
    new Planter({
      ...makePlanterDeps(account, `run-${runs++}`),
      inventory: account.inventory,
      kms: account.kms,
      newSeed: () => 'a3f09c1d5e7b2468a3f09c1d5e7b2468',
      region: target.region,
      log,
      trailSelectors: {
        port: {
          getEventSelectors: async () => ({}),
          getTrailStatus: async () => ({ isLogging: true }),
          putEventSelectors: async (_arn, selectors) => {
            trailWrites.push(structuredClone(selectors));
          },
        },
        arn: trailArn,
        trailBucket: `${target.stackName}-trail-logs-${target.account}`,
        selectors: (input) => loggedBucketSelectors(input),
      },
    });

  const { ServiceToken: _token, ...properties } = target.properties;
  // The key's ARN is a token at synth; KMS makes ids like this one (multi-Region
  // keys), and an id AWS generates is no name of ours.
  if ('KeyArn' in properties)
    properties.KeyArn = `arn:aws:kms:${target.region}:${target.account}:key/mrk-1f2e3d4c5b6a79881f2e3d4c5b6a7988`;
  const event: CustomResourceEvent = {
    RequestType: 'Create',
    ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x',
    StackId: `arn:aws:cloudformation:${target.region}:${target.account}:stack/${target.stackName}/x`,
    RequestId: 'request-1',
    LogicalResourceId: 'Resource',
    ResourceProperties: properties,
  };
  // The whole custom resource answer: its Reason shows in the stack's events
  // (cloudformation:DescribeStackEvents), so the response body is read too.
  const responses: string[] = [];
  const outcome = await answerCustomResource(event, {
    work: (e) => customResourceWork(e, { planter: planter(), log }),
    sender: { send: async (_url, body) => void responses.push(body) },
    remainingMs: () => 900_000,
    log,
    sendBackoffMs: 0,
  });
  if (outcome.status !== 'SUCCESS') throw new Error(`the in-memory plant failed: ${outcome.reason}`);
  for (let i = 0; i < refreshes; i++) await planter().refresh();

  const items: Item[] = [];
  /** Multi-megabyte dumps share most lines between refreshes: each distinct line once. */
  const seen = new Set<string>();
  for (const call of account.calls.slice(seeded)) {
    const registry = call.action.startsWith('registry:');
    for (const { path, value } of collectStrings(call.args, call.action)) {
      const surface: Surface = registry ? 'registry' : surfaceOfWrite(call.action, path);
      const format = STATE_FILE.test(value) ? 'terraform-state' : undefined;
      for (const [i, line] of value.split('\n').entries()) {
        const key = `${surface}\u0000${line}`;
        if (seen.has(key)) continue;
        seen.add(key);
        items.push({
          surface,
          where: value.includes('\n') ? `planter ${path}:${i + 1}` : `planter ${path}`,
          text: line,
          format,
          // The planted resources name themselves and each other (breadcrumbs) by design.
          namesAllowed: true,
        });
      }
    }
  }
  const names = registryNames(account);
  items.push(...trailSelectorItems(trailWrites, names));
  for (const [i, body] of responses.entries()) {
    for (const { path, value } of collectStrings(JSON.parse(body), `custom resource response ${i}`)) {
      items.push({ surface: 'custom resource', where: path, text: value });
    }
  }
  for (const [i, line] of logLines.entries()) {
    items.push({ surface: 'log line', where: `planter log ${i} (${line.level})`, text: line.message });
    for (const { path, value } of collectStrings(line.extra, `planter log ${i}`)) {
      items.push({ surface: 'log line', where: path, text: value });
    }
  }
  return { items, registryNames: names };
}

async function seedInventory(account: MemoryAccount, region: string): Promise<void> {
  for (const name of INVENTORY.parameters) {
    await account.ssm.createSecureString({
      name,
      value: 'x',
      keyId: 'alias/aws/ssm',
      description: '',
      tags: [],
    });
  }
  for (const name of INVENTORY.buckets) await account.s3.createBucket(name, region);
  for (const userName of INVENTORY.users) await account.iam.createUser({ userName, tags: [] });
}

function surfaceOfWrite(action: string, path: string): Surface {
  if (/\btags?\b|Tag/i.test(path)) return 'tag';
  // s3:PutBucketPolicy [bucket, policy]; iam:PutUserPolicy [user, name, document]
  if (action === 's3:PutBucketPolicy' && path.endsWith('[1]')) return 'policy';
  if (action === 'iam:PutUserPolicy' && path.endsWith('[2]')) return 'policy';
  return 'bait';
}

/**
 * The trail's selectors as the planter wrote them (`cloudtrail:GetEventSelectors`
 * reads them back). They may name a planted bucket only among enough others.
 */
export function trailSelectorItems(writes: AdvancedEventSelector[][], decoyNames: readonly string[]): Item[] {
  return writes.flatMap((selectors, i) => {
    const buckets = bucketsSelected(selectors);
    const cover = buckets.filter((bucket) => !decoyNames.includes(bucket)).length;
    return collectStrings(selectors, `cloudtrail:PutEventSelectors[${i}]`).map(
      ({ path, value }): Item => ({
        surface: 'trail',
        where: `planter ${path} (${cover} other buckets)`,
        text: value,
        namesAllowed: cover >= TRAIL_COVER_MINIMUM,
      }),
    );
  });
}

/** The bucket names in the selectors' `resources.ARN` conditions. */
function bucketsSelected(selectors: AdvancedEventSelector[]): string[] {
  const arns = selectors.flatMap((selector) =>
    (selector.FieldSelectors ?? [])
      .filter((field) => field.Field === 'resources.ARN')
      .flatMap((field) => [...(field.StartsWith ?? []), ...(field.Equals ?? [])]),
  );
  return [...new Set(arns.map((arn) => arn.replace(/^arn:[^:]+:s3:::/, '').split('/')[0]!))];
}

function registryNames(account: MemoryAccount): string[] {
  const record = account.registryItem;
  if (!record) return [];
  const spec = decodeSpec(record.spec, 'registry spec');
  return [
    ...new Set([
      ...namesOfPlan(spec.plan.resources),
      ...record.owned.map((owned) => owned.name),
      ...record.keys.map((key) => key.accessKeyId),
    ]),
  ];
}
