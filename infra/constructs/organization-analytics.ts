import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CLOUDTRAIL_COLUMNS, hiveType, PARTITION_COLUMNS } from '../../layers/athena/table';
import { acknowledge, nagResource } from '../nag/acknowledge';
import { privateKmsBucketProps } from './private-bucket';

export interface OrganizationAnalyticsProps {
  /** The organization trail's bucket (often in the log archive account). */
  readonly trailBucketName: string;
  /** The KMS key the trail encrypts its log files with, if it does (SSE-KMS). */
  readonly trailKeyArn?: string;
  /** o-xxxxxxxxxx: the trail writes to AWSLogs/<organization id>/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/. */
  readonly organizationId: string;
  /**
   * The accounts whose logs are read; '*' for every account of the organization
   * (the account partition is then injected: the query names the accounts, which
   * the training function lists from the bucket's folders at run time).
   */
  readonly accounts: readonly string[] | '*';
  /** The regions the trail logs (the region partition's values). */
  readonly regions: readonly string[];
  /** How far back the date partition reaches, in days (queries read at most this). Default 400. */
  readonly retentionDays?: number;
  /** Athena refuses a query that would scan more than this. Default 200 GB. */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Encrypts query results; default: a key of its own. */
  readonly resultsKey?: kms.IKey;
  /** Default `org_activity`, `events`, `org-activity`. */
  readonly databaseName?: string;
  readonly tableName?: string;
  readonly workGroupName?: string;
}

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;

/**
 * Organization-scale reading of the organization trail (layers/athena): a Glue
 * table over its bucket with partition projection on account, region and day (no
 * crawler, no partitions to add as accounts and days appear), and an Athena
 * workgroup whose configuration is enforced: results go to this construct's
 * bucket, encrypted with SSE-KMS, and a query that would scan more than the cutoff
 * is refused. The training function queries it (`grantQuery`, `queryEnvironment`).
 */
export class OrganizationAnalytics extends Construct {
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly workGroup: athena.CfnWorkGroup;
  readonly resultsBucket: s3.Bucket;
  readonly resultsKey: kms.IKey;
  /** `database.table`, as the query names it. */
  readonly qualifiedTableName: string;
  readonly workGroupName: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: OrganizationAnalyticsProps,
  ) {
    super(scope, id);
    validate(props);
    const stack = Stack.of(this);
    const databaseName = props.databaseName ?? 'org_activity';
    const tableName = props.tableName ?? 'events';
    this.workGroupName = props.workGroupName ?? 'org-activity';
    this.qualifiedTableName = `${databaseName}.${tableName}`;
    const logs = `s3://${props.trailBucketName}/AWSLogs/${props.organizationId}`;

    this.resultsKey =
      props.resultsKey ??
      new kms.Key(this, 'ResultsKey', {
        description: 'Query results',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.resultsBucket = new s3.Bucket(this, 'Results', {
      ...privateKmsBucketProps(this.resultsKey),
      removalPolicy: RemovalPolicy.DESTROY,
      // Results are read once, by the function that started the query.
      lifecycleRules: [{ expiration: Duration.days(7), noncurrentVersionExpiration: Duration.days(1) }],
    });
    acknowledge(
      this.resultsBucket,
      'AwsSolutions-S1',
      "Holds only Athena's transient query results (expired after 7 days), written and read by the training function's queries; access logs would record nothing the workgroup's query history does not.",
    );

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: databaseName, description: 'Organization activity' },
    });

    const injected = props.accounts === '*';
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: tableName,
        description: 'Organization trail records',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: PARTITION_COLUMNS.map((name) => ({ name, type: 'string' })),
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'cloudtrail',
          'projection.enabled': 'true',
          ...(injected
            ? { 'projection.account.type': 'injected' }
            : {
                'projection.account.type': 'enum',
                'projection.account.values': [...props.accounts].join(','),
              }),
          'projection.region.type': 'enum',
          'projection.region.values': [...props.regions].join(','),
          'projection.day.type': 'date',
          'projection.day.format': 'yyyy/MM/dd',
          'projection.day.range': `NOW-${props.retentionDays ?? 400}DAYS,NOW`,
          'projection.day.interval': '1',
          'projection.day.interval.unit': 'DAYS',
          'storage.location.template': `${logs}/\${account}/CloudTrail/\${region}/\${day}`,
        },
        storageDescriptor: {
          columns: CLOUDTRAIL_COLUMNS.map((column) => ({ name: column.name, type: hiveType(column.type) })),
          location: `${logs}/`,
          inputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'com.amazon.emr.hive.serde.CloudTrailSerde' },
        },
      },
    });
    this.table.addDependency(this.database);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Organization activity analytics',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 200 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.resultsKey.keyArn },
          expectedBucketOwner: stack.account,
        },
      },
    });
  }

  /**
   * What `role` needs to run the features query: the workgroup, the table, the
   * trail's log files (read), the results (read and write) and the keys. In a
   * policy of this construct's, so its acknowledgements sit next to what they
   * acknowledge. The trail bucket (and key) in another account must also grant the
   * role (their policies are out of this stack's reach).
   */
  grantQuery(role: iam.IRole): iam.Policy {
    const stack = Stack.of(this);
    const { trailBucketName: bucket, organizationId } = this.props;
    const arn = (service: string, resource: string) =>
      `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}`;
    const trailObjects = `arn:${stack.partition}:s3:::${bucket}/AWSLogs/${organizationId}/*`;
    const policy = new iam.Policy(this, 'QueryAccess', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'athena:StartQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:StopQueryExecution',
            'athena:GetWorkGroup',
          ],
          resources: [arn('athena', `workgroup/${this.workGroupName}`)],
        }),
        new iam.PolicyStatement({
          actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
          resources: [
            arn('glue', 'catalog'),
            arn('glue', `database/${this.qualifiedTableName.split('.')[0]}`),
            arn('glue', `table/${this.qualifiedTableName.replace('.', '/')}`),
          ],
        }),
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [trailObjects],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket', 's3:GetBucketLocation'],
          resources: [`arn:${stack.partition}:s3:::${bucket}`],
        }),
        ...(this.props.trailKeyArn
          ? [new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.props.trailKeyArn] })]
          : []),
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [this.resultsBucket.arnForObjects('results/*')],
        }),
        new iam.PolicyStatement({
          actions: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
          resources: [this.resultsBucket.bucketArn],
        }),
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [this.resultsKey.keyArn],
        }),
      ],
    });
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${nagResource(this, trailObjects)}]`,
      "Reads the organization trail's log files: one object per account, region and delivery, named by CloudTrail.",
    );
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${nagResource(this, this.resultsBucket.arnForObjects('results/*'))}]`,
      'Athena names each query result object by its query id, under the workgroup result prefix.',
    );
    return policy;
  }

  /** The training function's environment in organization mode (functions/train/handler.ts). */
  queryEnvironment(): Record<string, string> {
    return {
      QUERY_WORKGROUP: this.workGroupName,
      QUERY_TABLE: this.qualifiedTableName,
      TRAIL_ACCOUNTS: this.props.accounts === '*' ? '*' : [...this.props.accounts].join(','),
      TRAIL_ORGANIZATION: this.props.organizationId,
      TRAIL_BUCKET: this.props.trailBucketName,
    };
  }
}

/** Props a deployment would reject (or a table that would read nothing) fail at synth. */
function validate(props: OrganizationAnalyticsProps): void {
  const problems: string[] = [];
  if (!ORGANIZATION_ID.test(props.organizationId)) {
    problems.push(`organizationId "${props.organizationId}" is not an organization id (o-xxxxxxxxxx)`);
  }
  if (props.accounts !== '*') {
    if (props.accounts.length === 0) problems.push("accounts is empty (list account ids, or '*' for all)");
    for (const account of props.accounts) {
      if (!ACCOUNT.test(account)) problems.push(`accounts: "${account}" is not a 12-digit account id`);
    }
  }
  if (props.regions.length === 0) problems.push('regions is empty');
  for (const region of props.regions) {
    if (!REGION.test(region)) problems.push(`regions: "${region}" is not a region name`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(props.trailBucketName)) {
    problems.push(`trailBucketName "${props.trailBucketName}" is not a bucket name`);
  }
  for (const [name, value] of [
    ['databaseName', props.databaseName],
    ['tableName', props.tableName],
  ] as const) {
    if (value !== undefined && !GLUE_NAME.test(value)) {
      problems.push(`${name} "${value}" must be lower-case letters, digits and _ (Athena reads it so)`);
    }
  }
  if (
    props.retentionDays !== undefined &&
    !(Number.isInteger(props.retentionDays) && props.retentionDays > 0)
  ) {
    problems.push(`retentionDays must be a positive whole number (got ${props.retentionDays})`);
  }
  if (
    props.bytesScannedCutoffPerQuery !== undefined &&
    !(
      Number.isInteger(props.bytesScannedCutoffPerQuery) && props.bytesScannedCutoffPerQuery >= 10 * 1024 ** 2
    )
  ) {
    problems.push('bytesScannedCutoffPerQuery must be at least 10 MB (Athena minimum)');
  }
  if (problems.length > 0) throw new Error(`OrganizationAnalytics: ${problems.join('; ')}`);
}
