import type { EventSelectorsResponse, FieldSelector, TrailPort } from './ports';

/**
 * Whether an existing trail logs what detection needs: management events, read
 * and write, from the services the decoys live in, and S3 object reads
 * (GetObject) of every bait object. The selectors are evaluated against probe
 * events, one per thing needed, so basic and advanced selectors, their filters
 * and exclusions are handled alike:
 * - basic: ReadWriteType, IncludeManagementEvents, ExcludeManagementEventSources,
 *   DataResources (AWS::S3::Object values are ARN prefixes);
 * - advanced: a selector logs an event when every field selector holds (Equals,
 *   StartsWith, EndsWith: one value matches; NotEquals, NotStartsWith,
 *   NotEndsWith: none does); the trail logs it when any selector does.
 * Fields the probes cannot know (userIdentity.arn, errorCode...) count as not
 * holding when they require a value, and as holding when they exclude one: a
 * filter that keeps only some callers may miss the attacker.
 */

type Probe = Record<string, string>;

interface Need {
  probe: Probe;
  /** What is missing when no selector logs the probe. */
  missing: string;
}

const MANAGEMENT_READS: [string, string][] = [
  ['ssm.amazonaws.com', 'GetParameter'],
  ['kms.amazonaws.com', 'Decrypt'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
  ['iam.amazonaws.com', 'ListAccessKeys'],
];

const MANAGEMENT_WRITES: [string, string][] = [
  ['ssm.amazonaws.com', 'PutParameter'],
  ['iam.amazonaws.com', 'CreateAccessKey'],
  ['cloudtrail.amazonaws.com', 'StopLogging'],
  ['events.amazonaws.com', 'DeleteRule'],
];

function managementProbe(source: string, name: string, readOnly: boolean): Probe {
  return {
    eventCategory: 'Management',
    eventSource: source,
    eventName: name,
    readOnly: String(readOnly),
    eventType: 'AwsApiCall',
  };
}

function fieldHolds(selector: FieldSelector, probe: Probe): boolean {
  const value = selector.Field ? probe[selector.Field] : undefined;
  const positive = [selector.Equals, selector.StartsWith, selector.EndsWith].some((list) => list?.length);
  if (value === undefined) return !positive;
  if (selector.Equals?.length && !selector.Equals.includes(value)) return false;
  if (selector.StartsWith?.length && !selector.StartsWith.some((v) => value.startsWith(v))) return false;
  if (selector.EndsWith?.length && !selector.EndsWith.some((v) => value.endsWith(v))) return false;
  if (selector.NotEquals?.includes(value)) return false;
  if (selector.NotStartsWith?.some((v) => value.startsWith(v))) return false;
  if (selector.NotEndsWith?.some((v) => value.endsWith(v))) return false;
  return true;
}

function basicLogs(selectors: NonNullable<EventSelectorsResponse['EventSelectors']>, probe: Probe): boolean {
  const readOnly = probe.readOnly === 'true';
  return selectors.some((s) => {
    const type = s.ReadWriteType ?? 'All';
    if (type !== 'All' && type !== (readOnly ? 'ReadOnly' : 'WriteOnly')) return false;
    if (probe.eventCategory === 'Management') {
      return (
        s.IncludeManagementEvents !== false &&
        !s.ExcludeManagementEventSources?.includes(probe.eventSource ?? '')
      );
    }
    return (s.DataResources ?? []).some(
      (r) =>
        r.Type === probe['resources.type'] &&
        (r.Values ?? []).some((prefix) => (probe['resources.ARN'] ?? '').startsWith(prefix)),
    );
  });
}

function advancedLogs(
  selectors: NonNullable<EventSelectorsResponse['AdvancedEventSelectors']>,
  probe: Probe,
): boolean {
  return selectors.some((s) => (s.FieldSelectors ?? []).every((field) => fieldHolds(field, probe)));
}

function logsEvent(response: EventSelectorsResponse, probe: Probe): boolean {
  if (response.AdvancedEventSelectors?.length) return advancedLogs(response.AdvancedEventSelectors, probe);
  if (response.EventSelectors?.length) return basicLogs(response.EventSelectors, probe);
  return false;
}

export interface TrailCoverageOptions {
  /** The bait object keys; each must be covered. Default: any key in the bucket. */
  objectKeys?: string[];
  partition?: string;
}

/**
 * The problems, in words a deployer can act on; empty when the trail covers
 * everything. Pure: `response` is cloudtrail:GetEventSelectors' answer.
 */
export function checkTrailCoverage(
  response: EventSelectorsResponse,
  bucketName: string | undefined,
  options: TrailCoverageOptions = {},
): string[] {
  if (!response.AdvancedEventSelectors?.length && !response.EventSelectors?.length)
    return ['the trail has no event selectors: it logs nothing'];
  const problems: string[] = [];
  for (const [readOnly, probes, label] of [
    [true, MANAGEMENT_READS, 'read'],
    [false, MANAGEMENT_WRITES, 'write'],
  ] as const) {
    const needs: Need[] = probes.map(([source, name]) => ({
      probe: managementProbe(source, name, readOnly),
      missing: `${source.split('.')[0]}:${name}`,
    }));
    const missing = needs.filter((need) => !logsEvent(response, need.probe)).map((need) => need.missing);
    if (missing.length === needs.length) {
      problems.push(`management ${label} events are not logged (e.g. ${missing.slice(0, 3).join(', ')})`);
    } else if (missing.length > 0) {
      problems.push(
        `management ${label} events ${missing.join(', ')} are not logged (a source is excluded or filtered)`,
      );
    }
  }
  if (bucketName) {
    const partition = options.partition ?? 'aws';
    const keys = options.objectKeys?.length ? options.objectKeys : [''];
    const uncovered = keys.filter(
      (key) =>
        !logsEvent(response, {
          eventCategory: 'Data',
          eventSource: 's3.amazonaws.com',
          eventName: 'GetObject',
          readOnly: 'true',
          eventType: 'AwsApiCall',
          'resources.type': 'AWS::S3::Object',
          'resources.ARN': `arn:${partition}:s3:::${bucketName}/${key}`,
        }),
    );
    if (uncovered.length > 0) {
      const what = uncovered.some((k) => k === '')
        ? `objects of s3://${bucketName}`
        : uncovered.map((k) => `s3://${bucketName}/${k}`).join(', ');
      problems.push(
        `S3 data events (GetObject) are not logged for ${what}: add an advanced event selector ` +
          `eventCategory=Data, resources.type=AWS::S3::Object, resources.ARN StartsWith ` +
          `arn:${partition}:s3:::${bucketName}/`,
      );
    }
  }
  return problems;
}

export class TrailCoverageError extends Error {
  override readonly name = 'TrailCoverageError';
  constructor(
    readonly trailArn: string,
    readonly problems: string[],
  ) {
    super(
      `trail ${trailArn} does not log what detection needs: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}`,
    );
  }
}

/** Reads the trail's selectors and status and lists every problem. */
export async function checkTrail(
  port: TrailPort,
  trailArn: string,
  bucketName: string | undefined,
  options: TrailCoverageOptions = {},
): Promise<string[]> {
  const selectors = await port.getEventSelectors(trailArn);
  const status = await port.getTrailStatus(trailArn);
  const problems = checkTrailCoverage(selectors, bucketName, options);
  if (!status.isLogging) problems.push('the trail is not logging: start it (cloudtrail:StartLogging)');
  return problems;
}
