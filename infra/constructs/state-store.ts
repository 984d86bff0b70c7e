import { Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Data-plane reads that the resource policy keeps from everyone but the named roles.
 * Table actions only: a table's resource policy rejects stream actions (GetRecords,
 * GetShardIterator: "The following action names are invalid"), and the table has no
 * stream for them to read. test/infra/resource-policies.test.ts checks every action.
 */
export const STATE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PartiQLSelect',
  'dynamodb:ExportTableToPointInTime',
];

/**
 * Data-plane writes the resource policy keeps from everyone but the named roles: a
 * record in this table is what the intake trusts a finding by (layers/findings/records.ts),
 * so whoever could write one could make a forged finding pass.
 */
export const STATE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/**
 * The state of the deployment: the decoy registry, dedupe windows and idempotency
 * records, in one table (`pk`, `sk`, TTL on `expiresAt`).
 *
 * The registry lists every decoy, so whoever reads it knows what not to touch. The
 * AWS-managed ReadOnlyAccess policy grants dynamodb:GetItem/Query/Scan on every
 * table, so an identity policy cannot keep it out; the table's resource policy
 * denies those reads to every principal except the roles registered with
 * `allowReadWrite`/`allowRead` (an explicit Deny beats any Allow). Writes are denied
 * the same way to all but the roles registered with `allowReadWrite`: the intake
 * trusts a finding by its record here. The table is encrypted with a key of its own
 * whose policy gives no one but the account administrators and those roles use.
 */
export class StateStore extends Construct {
  readonly table: dynamodb.TableV2;
  readonly key: kms.Key;
  private readonly readers: string[] = [];
  private readonly writers: string[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'Platform state encryption',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const readers = Lazy.list({ produce: () => this.readers }, { omitEmpty: false });
    const writers = Lazy.list({ produce: () => this.writers }, { omitEmpty: false });
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
      resourcePolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'OnlyPlatformFunctionsRead',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: STATE_READ_ACTIONS,
            resources: ['*'],
            conditions: { StringNotEquals: { 'aws:PrincipalArn': readers } },
          }),
          new iam.PolicyStatement({
            sid: 'OnlyPlatformFunctionsWrite',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: STATE_WRITE_ACTIONS,
            resources: ['*'],
            conditions: { StringNotEquals: { 'aws:PrincipalArn': writers } },
          }),
        ],
      }),
    });
  }

  /** Lets a role read and write the state, and exempts it from the resource policy's Deny. */
  allowReadWrite(role: iam.IRole): void {
    this.readers.push(role.roleArn);
    this.writers.push(role.roleArn);
    // Explicit actions instead of grantReadWriteData, whose KMS grant carries wildcards.
    this.table.grant(
      role,
      ...STATE_READ_ACTIONS.slice(0, 4),
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
    );
    this.key.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
  }

  /** Lets a role read the state (no writes), and exempts it from the read Deny only. */
  allowRead(role: iam.IRole): void {
    this.readers.push(role.roleArn);
    this.table.grant(role, ...STATE_READ_ACTIONS.slice(0, 4), 'dynamodb:DescribeTable');
    this.key.grant(role, 'kms:Decrypt', 'kms:DescribeKey');
  }
}
