/**
 * us-east-1 list prices the cost model multiplies, each with the page it comes
 * from and the day it was read (2026-11-25, from the stored copies the project's
 * search tool holds). `confirmed: false` marks a price whose figure the stored page
 * text did not show (AWS renders many rates client-side): the figure is the list
 * price as published elsewhere (named in `note`), so check it before quoting it.
 * No free tier is applied: the model prices what one more account adds.
 */

export interface UnitPrice {
  /** US dollars for `per` units. */
  usd: number;
  per: number;
  unit: string;
  source: string;
  read: string;
  confirmed: boolean;
  note?: string;
}

const READ = '2026-11-25';

export const PRICES = {
  eventBusDelivery: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'events put on another event bus (same or another Region or account)',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    read: READ,
    confirmed: false,
    note:
      'the page: AWS management events are ingested free, delivery to another account is charged; ' +
      'events sent to another bus are billed as custom events (aws.amazon.com/about-aws/whats-new/2021/05/' +
      'amazon-eventbridge-supports-sharing-events-between-event-buses-same-account-region/); $1.00/M as in ' +
      'cloudburn.io/blog/amazon-eventbridge-pricing (2026-03)',
  },
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'Lambda invocations',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
    confirmed: false,
    note: 'rate rendered client-side on the page; $0.20/M as in its worked examples (api-evangelist transcript, 2026-09)',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-seconds of arm64 Lambda duration',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
    confirmed: false,
    note: 'rate rendered client-side on the page; arm64 list price as in artillery’s price table (1333340e-10)',
  },
  cloudTrailDataEvents: {
    usd: 0.1,
    per: 100_000,
    unit: 'CloudTrail data events delivered',
    source: 'https://aws.amazon.com/cloudtrail/pricing/',
    read: READ,
    confirmed: true,
  },
  cloudTrailExtraManagementCopy: {
    usd: 2.0,
    per: 100_000,
    unit: 'management events delivered to a second trail in the Region',
    source: 'https://aws.amazon.com/cloudtrail/pricing/',
    read: READ,
    confirmed: true,
    note: 'the first copy of management events in each Region is free',
  },
  secretMonth: {
    usd: 0.4,
    per: 1,
    unit: 'Secrets Manager secret-months',
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
    read: READ,
    confirmed: true,
  },
  secretsApiCalls: {
    usd: 0.05,
    per: 10_000,
    unit: 'Secrets Manager API calls',
    source: 'https://aws.amazon.com/secrets-manager/pricing/',
    read: READ,
    confirmed: true,
  },
  standardParameterMonth: {
    usd: 0,
    per: 1,
    unit: 'Standard-tier parameter-months (the planter puts Standard: layers/decoys/aws-ports.ts)',
    source: 'https://aws.amazon.com/systems-manager/pricing/',
    read: READ,
    confirmed: false,
    note: 'Standard parameters have no storage charge; Advanced are $0.05 a month each',
  },
  kmsKeyMonth: {
    usd: 1.0,
    per: 1,
    unit: 'KMS customer managed key-months',
    source: 'https://aws.amazon.com/kms/pricing/',
    read: READ,
    confirmed: false,
    note: 'list price, as in gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40',
  },
  kmsRequests: {
    usd: 0.03,
    per: 10_000,
    unit: 'KMS requests',
    source: 'https://aws.amazon.com/kms/pricing/',
    read: READ,
    confirmed: false,
    note: 'list price, as in gist.github.com/dasgoll/b88d5be05dcc0deb052ad40446c2fb40',
  },
  dynamoWriteUnits: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'DynamoDB on-demand write request units',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
    confirmed: false,
    note: 'rate rendered client-side; the on-demand list price since the November 2024 reduction',
  },
  dynamoReadUnits: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'DynamoDB on-demand read request units',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
    confirmed: false,
    note: 'rate rendered client-side; the on-demand list price since the November 2024 reduction',
  },
  s3StorageGbMonth: {
    usd: 0.023,
    per: 1,
    unit: 'S3 Standard GB-months',
    source: 'https://aws.amazon.com/s3/pricing/',
    read: READ,
    confirmed: false,
    note: 'first 50 TB tier, as in the third-party guides the search tool holds',
  },
  s3PutRequests: {
    usd: 0.005,
    per: 1_000,
    unit: 'S3 PUT/COPY/POST/LIST requests',
    source: 'https://aws.amazon.com/s3/pricing/',
    read: READ,
    confirmed: false,
  },
  s3GetRequests: {
    usd: 0.0004,
    per: 1_000,
    unit: 'S3 GET requests',
    source: 'https://aws.amazon.com/s3/pricing/',
    read: READ,
    confirmed: false,
  },
  sqsRequests: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'SQS standard queue requests',
    source: 'https://aws.amazon.com/sqs/pricing/',
    read: READ,
    confirmed: false,
  },
  snsPublishes: {
    usd: 0.5,
    per: 1_000_000,
    unit: 'SNS standard topic publishes',
    source: 'https://aws.amazon.com/sns/pricing/',
    read: READ,
    confirmed: false,
    note: 'as in factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols (2026-06)',
  },
  snsEmail: {
    usd: 2.0,
    per: 100_000,
    unit: 'SNS email deliveries',
    source: 'https://aws.amazon.com/sns/pricing/',
    read: READ,
    confirmed: false,
    note: 'as in factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols (2026-06)',
  },
  stateTransitions: {
    usd: 0.025,
    per: 1_000,
    unit: 'Step Functions standard state transitions',
    source: 'https://aws.amazon.com/step-functions/pricing/',
    read: READ,
    confirmed: true,
  },
  logsIngestedGb: {
    usd: 0.5,
    per: 1,
    unit: 'GB of CloudWatch Logs ingested (standard class)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    read: READ,
    confirmed: false,
  },
} as const satisfies Record<string, UnitPrice>;

export type PriceName = keyof typeof PRICES;
