import type { TrafficMeasure } from './measure';
import { MEASURED } from './measured';
import { PRICES, type PriceName, type UnitPrice } from './prices';

/**
 * What honeytrail costs an account per month, as a function of its CloudTrail
 * volume: each line a count times a unit price, the counts scaled from what the
 * drill measures (MEASURED: the shipped scenario's records through the deployed
 * rules), the rest from the deployment's shape and stated assumptions. Pure.
 */

export interface CostInput {
  /** CloudTrail events the account records per day (management and data, every Region). */
  eventsPerDay: number;
  /** Regions with activity: CloudTrail writes a log file per Region about every 5 minutes. Default 17. */
  regions?: number;
  /**
   * `single-account`: everything in one account, control plane included.
   * `member`: one member account of an organization deployment; the shared control
   * plane (the security account) is listed apart and not in the member's total.
   */
  mode?: 'single-account' | 'member';
  /** Decoys planted in the account (defaults: the config's). */
  parameters?: number;
  secrets?: number;
  /** The account already has a trail logging management events: honeytrail's trail is a paid second copy. */
  secondManagementCopy?: boolean;
  /** Findings per day that reach the response workflow and a notification (default 1). */
  findingsPerDay?: number;
  /** Average billed duration of one touch-function invocation, ms (default 15: assumed). */
  touchMsPerInvocation?: number;
  /** Measured traffic per million records (default MEASURED: the drill's). */
  measured?: TrafficMeasure;
}

export type CostArea = 'member' | 'control-plane';

export interface CostLine {
  service: string;
  item: string;
  /** Units per month. */
  quantity: number;
  price: UnitPrice;
  usdPerMonth: number;
  area: CostArea;
  /** Where the count comes from: measured by the drill, the deployment's shape, or an assumption. */
  basis: string;
}

export interface CostReport {
  input: Required<Omit<CostInput, 'measured'>>;
  measured: TrafficMeasure & { source: string };
  lines: CostLine[];
  /** What the account costs per month (member mode: its share, without the shared control plane). */
  totalUsdPerMonth: number;
  /** The shared control plane's fixed cost per month (member mode; 0 in single-account mode: in the total). */
  sharedControlPlaneUsdPerMonth: number;
  perMillionEventsUsd: number;
  assumptions: string[];
}

export class CostInputError extends Error {
  override readonly name = 'CostInputError';
}

const DAYS_PER_MONTH = 30;
const LOG_FILES_PER_REGION_PER_DAY = 288;
/** The bench's scoring throughput (README: CloudTrail scoring, one core of the project's machine). */
const SCORING_RECORDS_PER_CORE_SECOND = 71_827;
/** Lambda gives a function one vCPU's worth of CPU at 1,769 MB, proportionally less below. */
const FULL_VCPU_MB = 1769;
/** From the synthesized template: the touch (router) and scoring (usage) functions, arm64. */
const TOUCH_MEMORY_MB = 512;
const SCORE_MEMORY_MB = 1024;
/** Assumed: a gzipped CloudTrail record in the log bucket; window state item size. */
const GZIPPED_BYTES_PER_RECORD = 200;
const WINDOW_ITEM_WRITE_UNITS = 2;
const LOG_BYTES_PER_TOUCH_INVOCATION = 300;
const LOG_BYTES_PER_SCORE_INVOCATION = 1000;
const STATE_TRANSITIONS_PER_RESPONSE = 30;
const SECRET_CALLS_PER_DAY = 4;
const KMS_KEYS_PER_ACCOUNT = 2;
/** The main stack's own keys: state table, notifications, workflow, analytics. */
const KMS_KEYS_IN_CONTROL_PLANE = 4;

export function costModel(input: CostInput): CostReport {
  const resolved = resolveInput(input);
  const measured = input.measured ? { ...input.measured, source: 'given' } : MEASURED;
  if (!(measured.records > 0)) throw new CostInputError('measured.records must be positive');
  const {
    eventsPerDay,
    regions,
    mode,
    parameters,
    secrets,
    secondManagementCopy,
    findingsPerDay,
    touchMsPerInvocation,
  } = resolved;
  const monthEvents = eventsPerDay * DAYS_PER_MONTH;
  const rate = (count: number) => (count / measured.records) * monthEvents;
  const logFiles = Math.min(regions * LOG_FILES_PER_REGION_PER_DAY * DAYS_PER_MONTH, monthEvents);
  const touchInvocations = rate(measured.touchInvocations);
  const windowUpdates = rate(measured.windowUpdates);
  const scoreSeconds = monthEvents / (SCORING_RECORDS_PER_CORE_SECOND * (SCORE_MEMORY_MB / FULL_VCPU_MB));
  const responses = findingsPerDay * DAYS_PER_MONTH;

  const lines: CostLine[] = [];
  const line = (
    service: string,
    item: string,
    quantity: number,
    price: PriceName,
    area: CostArea,
    basis: string,
  ) => {
    const unit = PRICES[price];
    lines.push({
      service,
      item,
      quantity,
      price: unit,
      usdPerMonth: (quantity / unit.per) * unit.usd,
      area,
      basis,
    });
  };
  const share = `${((measured.forwarded / measured.records) * 100).toFixed(2)}%`;
  line(
    'EventBridge',
    mode === 'member'
      ? 'member forwarding rules → central bus (cross-account, cross-Region)'
      : 'forwarding rules → central bus (same and other Regions)',
    rate(measured.forwarded),
    'eventBusDelivery',
    'member',
    `measured: ${share} of records forwarded (${measured.source}); CloudTrail's own delivery to the default bus is free`,
  );
  line(
    'Lambda',
    'touch function invocations',
    touchInvocations,
    'lambdaRequests',
    'member',
    `measured: ${measured.touchInvocations} invocations per ${measured.records} records`,
  );
  line(
    'Lambda',
    `touch function duration (${TOUCH_MEMORY_MB} MB arm64)`,
    touchInvocations * (touchMsPerInvocation / 1000) * (TOUCH_MEMORY_MB / 1024),
    'lambdaArmGbSecond',
    'member',
    `assumed ${touchMsPerInvocation} ms billed per invocation (own processing is 30 µs p50: bench)`,
  );
  line(
    'Lambda',
    'scoring function invocations',
    logFiles,
    'lambdaRequests',
    'member',
    `one per log file (upper bound: SQS batches up to 10): ${regions} Regions × ${LOG_FILES_PER_REGION_PER_DAY} a day`,
  );
  line(
    'Lambda',
    `scoring function duration (${SCORE_MEMORY_MB} MB arm64)`,
    scoreSeconds * (SCORE_MEMORY_MB / 1024),
    'lambdaArmGbSecond',
    'member',
    `bench: ${SCORING_RECORDS_PER_CORE_SECOND} records/s a core, × ${SCORE_MEMORY_MB}/${FULL_VCPU_MB} of a vCPU at this memory`,
  );
  line(
    'SQS',
    'log-file notifications (send, receive, delete)',
    logFiles * 3,
    'sqsRequests',
    'member',
    'three requests per log file',
  );
  line(
    'CloudTrail',
    'data events for the planted bucket',
    rate(measured.dataEvents),
    'cloudTrailDataEvents',
    'member',
    `measured: ${measured.dataEvents} data events selected per ${measured.records} records (only the planted bucket is selected)`,
  );
  line(
    'CloudTrail',
    secondManagementCopy ? 'management events, second copy' : 'management events, first copy (free)',
    secondManagementCopy ? monthEvents : 0,
    'cloudTrailExtraManagementCopy',
    'member',
    secondManagementCopy
      ? 'the account already has a trail: honeytrail’s is a second copy (or configure the existing trail)'
      : 'honeytrail’s trail is the only one logging management events',
  );
  line(
    'Secrets Manager',
    'planted secrets',
    secrets,
    'secretMonth',
    'member',
    'config: decoys.secrets.count',
  );
  line(
    'Secrets Manager',
    'API calls (daily refresh)',
    secrets * SECRET_CALLS_PER_DAY * DAYS_PER_MONTH,
    'secretsApiCalls',
    'member',
    `assumed ${SECRET_CALLS_PER_DAY} calls per secret a day`,
  );
  line(
    'SSM Parameter Store',
    'planted parameters (Standard tier)',
    parameters,
    'standardParameterMonth',
    'member',
    'config: decoys.ssm.count; the planter puts Standard-tier SecureStrings',
  );
  line(
    'KMS',
    'keys of the planted parameters and secrets',
    KMS_KEYS_PER_ACCOUNT,
    'kmsKeyMonth',
    'member',
    'the main stack: the parameters’ key (planted) and the secrets’ key',
  );
  line(
    'KMS',
    'requests (refresh, rotation)',
    (parameters + secrets) * 2 * DAYS_PER_MONTH,
    'kmsRequests',
    'member',
    'assumed two a day per parameter or secret',
  );
  line(
    'DynamoDB',
    'scoring window state writes',
    windowUpdates * WINDOW_ITEM_WRITE_UNITS,
    'dynamoWriteUnits',
    'member',
    `measured: ${measured.windowUpdates} principal-window updates per ${measured.records} records (one per principal per log file); ${WINDOW_ITEM_WRITE_UNITS} KB items assumed`,
  );
  line(
    'DynamoDB',
    'scoring window state reads',
    windowUpdates * 0.5,
    'dynamoReadUnits',
    'member',
    'eventually consistent reads, one per update',
  );
  line(
    'S3',
    'trail log files written',
    logFiles,
    's3PutRequests',
    'member',
    'CloudTrail puts one object per log file',
  );
  line(
    'S3',
    'trail log files read by the scorer',
    logFiles,
    's3GetRequests',
    'member',
    'one GET per log file',
  );
  line(
    'S3',
    'trail log storage (one month kept)',
    (monthEvents * GZIPPED_BYTES_PER_RECORD) / 1e9,
    's3StorageGbMonth',
    'member',
    `assumed ${GZIPPED_BYTES_PER_RECORD} bytes per gzipped record`,
  );
  line(
    'CloudWatch Logs',
    'function logs',
    (touchInvocations * LOG_BYTES_PER_TOUCH_INVOCATION + logFiles * LOG_BYTES_PER_SCORE_INVOCATION) / 1e9,
    'logsIngestedGb',
    'member',
    `assumed ${LOG_BYTES_PER_TOUCH_INVOCATION} B per touch invocation, ${LOG_BYTES_PER_SCORE_INVOCATION} B per scoring run`,
  );
  line(
    'Step Functions',
    'response executions',
    responses * STATE_TRANSITIONS_PER_RESPONSE,
    'stateTransitions',
    'member',
    `${findingsPerDay} finding(s) a day × ${STATE_TRANSITIONS_PER_RESPONSE} transitions (assumed)`,
  );
  line('SNS', 'notifications published', responses, 'snsPublishes', 'member', 'one per finding');
  line('SNS', 'email deliveries', responses, 'snsEmail', 'member', 'one email subscriber');
  line(
    'KMS',
    'control-plane keys (state, notifications, workflow, analytics)',
    KMS_KEYS_IN_CONTROL_PLANE,
    'kmsKeyMonth',
    'control-plane',
    'the synthesized main stack’s AWS::KMS::Key resources',
  );

  const round = (usd: number) => Math.round(usd * 100) / 100;
  for (const l of lines) l.usdPerMonth = Math.round(l.usdPerMonth * 10_000) / 10_000;
  const memberTotal = lines.filter((l) => l.area === 'member').reduce((sum, l) => sum + l.usdPerMonth, 0);
  const shared = lines.filter((l) => l.area === 'control-plane').reduce((sum, l) => sum + l.usdPerMonth, 0);
  const total = mode === 'member' ? memberTotal : memberTotal + shared;
  return {
    input: resolved,
    measured,
    lines,
    totalUsdPerMonth: round(total),
    sharedControlPlaneUsdPerMonth: mode === 'member' ? round(shared) : 0,
    perMillionEventsUsd: monthEvents === 0 ? 0 : round((total / monthEvents) * 1_000_000),
    assumptions: [
      'us-east-1 list prices, no free tier; prices marked * were not visible in the stored page text (see layers/cost/prices.ts)',
      `counts scale linearly with events from the drill's measure (${measured.source})`,
      `${LOG_FILES_PER_REGION_PER_DAY} log files a day per active Region (CloudTrail delivers about every 5 minutes)`,
      'the scoring function reads every record of every log file; the touch function only what the rules match',
    ],
  };
}

function resolveInput(input: CostInput): Required<Omit<CostInput, 'measured'>> {
  const resolved = {
    eventsPerDay: input.eventsPerDay,
    regions: input.regions ?? 17,
    mode: input.mode ?? 'single-account',
    parameters: input.parameters ?? 4,
    secrets: input.secrets ?? 2,
    secondManagementCopy: input.secondManagementCopy ?? false,
    findingsPerDay: input.findingsPerDay ?? 1,
    touchMsPerInvocation: input.touchMsPerInvocation ?? 15,
  } as const;
  const nonNegative = (name: string, value: number, integer = false) => {
    if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value)))
      throw new CostInputError(
        `${name} must be a non-negative ${integer ? 'integer' : 'number'} (got ${String(value)})`,
      );
  };
  nonNegative('eventsPerDay', resolved.eventsPerDay);
  nonNegative('parameters', resolved.parameters, true);
  nonNegative('secrets', resolved.secrets, true);
  nonNegative('findingsPerDay', resolved.findingsPerDay);
  nonNegative('touchMsPerInvocation', resolved.touchMsPerInvocation);
  if (!Number.isInteger(resolved.regions) || resolved.regions < 1)
    throw new CostInputError(`regions must be a positive integer (got ${String(resolved.regions)})`);
  if (resolved.mode !== 'single-account' && resolved.mode !== 'member')
    throw new CostInputError(`mode must be "single-account" or "member" (got ${String(resolved.mode)})`);
  return { ...resolved };
}
