/**
 * The AWS Regions a deployment can name (homeRegion, monitoredRegions). A name
 * that merely looks like a region ("us-east-9") synthesizes and then fails at
 * deploy, so the config accepts only these.
 *
 * Source: the AWS General Reference page "Regions and Zones"
 * (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html),
 * cross-checked with `RegionInfo.regions` of aws-cdk-lib 2.276. The isolated
 * (ISO) partitions are left out: they are not reachable from a commercial
 * account, and their region names are not public in the same way.
 * A new Region needs a line here.
 */
export const AWS_REGIONS = {
  aws: [
    'af-south-1',
    'ap-east-1',
    'ap-east-2',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
    'ap-southeast-5',
    'ap-southeast-6',
    'ap-southeast-7',
    'ca-central-1',
    'ca-west-1',
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'il-central-1',
    'me-central-1',
    'me-south-1',
    'mx-central-1',
    'sa-east-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  /** AWS European Sovereign Cloud. */
  'aws-eusc': ['eusc-de-east-1'],
} as const;

export type Partition = keyof typeof AWS_REGIONS;

/**
 * The Regions every account of a partition can use without opting in: in the
 * commercial partition those launched before 20 March 2019 (AWS Account
 * Management Reference Guide, "Enable or disable AWS Regions in your account");
 * every other Region there is opt-in and must be enabled per account first. The
 * China, GovCloud and European Sovereign Cloud Regions need no opt-in.
 */
export const DEFAULT_ENABLED_REGIONS: Readonly<Record<Partition, readonly string[]>> = {
  aws: [
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-southeast-1',
    'ap-southeast-2',
    'ca-central-1',
    'eu-central-1',
    'eu-north-1',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'sa-east-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': AWS_REGIONS['aws-cn'],
  'aws-us-gov': AWS_REGIONS['aws-us-gov'],
  'aws-eusc': AWS_REGIONS['aws-eusc'],
};

/** Whether an account must enable (opt in to) a region before anything deploys there. */
export function isOptInRegion(region: string): boolean {
  const partition = partitionOf(region);
  return partition !== undefined && !DEFAULT_ENABLED_REGIONS[partition].includes(region);
}

const REGION_SET: ReadonlySet<string> = new Set(Object.values(AWS_REGIONS).flat());

export function isAwsRegion(name: string): boolean {
  return REGION_SET.has(name);
}

/** The partition a region belongs to (`aws`, `aws-cn`, ...), or undefined for an unknown name. */
export function partitionOf(region: string): Partition | undefined {
  for (const [partition, regions] of Object.entries(AWS_REGIONS)) {
    if ((regions as readonly string[]).includes(region)) return partition as Partition;
  }
  return undefined;
}
