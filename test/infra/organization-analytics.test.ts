import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  OrganizationAnalytics,
  type OrganizationAnalyticsProps,
} from '../../infra/constructs/organization-analytics';
import { CLOUDTRAIL_COLUMNS, hiveType } from '../../layers/athena/table';
import { findTells } from '../../layers/stealth/tells';

const PROPS: OrganizationAnalyticsProps = {
  trailBucketName: 'org-trail-logs-999988887777',
  trailKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  organizationId: 'o-a1b2c3d4e5',
  accounts: ['111122223333', '444455556666'],
  regions: ['eu-west-1', 'us-east-1'],
};

function build(props: Partial<OrganizationAnalyticsProps> = {}, options: { nag?: boolean } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Security', { env: { account: '222233334444', region: 'eu-west-1' } });
  const role = new iam.Role(stack, 'Trainer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  const analytics = new OrganizationAnalytics(stack, 'OrgAnalytics', { ...PROPS, ...props });
  analytics.grantQuery(role);
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, analytics, template: () => Template.fromStack(stack) };
}

function tableParameters(t: Template): Record<string, string> {
  const [table] = Object.values(t.findResources('AWS::Glue::Table'));
  return (table as { Properties: { TableInput: { Parameters: Record<string, string> } } }).Properties
    .TableInput.Parameters;
}

describe('the organization trail table', () => {
  const t = build().template();

  it("projects account, region and day from the trail's key layout (no crawler, no partitions to add)", () => {
    t.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'org_activity',
      TableInput: Match.objectLike({
        Name: 'events',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [
          { Name: 'account', Type: 'string' },
          { Name: 'region', Type: 'string' },
          { Name: 'day', Type: 'string' },
        ],
      }),
    });
    expect(tableParameters(t)).toMatchObject({
      'projection.enabled': 'true',
      'projection.account.type': 'enum',
      'projection.account.values': '111122223333,444455556666',
      'projection.region.type': 'enum',
      'projection.region.values': 'eu-west-1,us-east-1',
      'projection.day.type': 'date',
      'projection.day.format': 'yyyy/MM/dd',
      'projection.day.range': 'NOW-400DAYS,NOW',
      'projection.day.interval': '1',
      'projection.day.interval.unit': 'DAYS',
      // Athena's placeholders, not JavaScript's.
      'storage.location.template':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's ${...} placeholders
        's3://org-trail-logs-999988887777/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${day}',
    });
  });

  it("reads log files with CloudTrail's SerDe, with the columns the query (and its equality test) use", () => {
    t.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        StorageDescriptor: Match.objectLike({
          Location: 's3://org-trail-logs-999988887777/AWSLogs/o-a1b2c3d4e5/',
          InputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
          SerdeInfo: { SerializationLibrary: 'com.amazon.emr.hive.serde.CloudTrailSerde' },
          Columns: CLOUDTRAIL_COLUMNS.map((c) => ({ Name: c.name, Type: hiveType(c.type) })),
        }),
      }),
    });
    const useridentity = CLOUDTRAIL_COLUMNS.find((c) => c.name === 'useridentity')!;
    expect(hiveType(useridentity.type)).toMatch(
      /^struct<type:string,principalid:string,arn:string,.*sessionissuer:struct<type:string,principalid:string,arn:string/,
    );
  });

  it("every account of the organization ('*'): the account partition is injected by the query", () => {
    const p = tableParameters(build({ accounts: '*' }).template());
    expect(p['projection.account.type']).toBe('injected');
    expect(p['projection.account.values']).toBeUndefined();
  });
});

describe('the workgroup', () => {
  const t = build().template();

  it('enforces its configuration: results in its own bucket, SSE-KMS, a scan cutoff, engine v3', () => {
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    const [bucketId] = Object.keys(t.findResources('AWS::S3::Bucket'));
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'org-activity',
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 200 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [keyId, 'Arn'] } },
          ExpectedBucketOwner: '222233334444',
        },
      },
    });
  });

  it('results bucket: KMS-encrypted with the results key, private, TLS only, expiring', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true },
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })] },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});

describe('query access (grantQuery) and the function environment', () => {
  const { analytics, template } = build();
  const t = template();
  const statements = (
    Object.values(t.findResources('AWS::IAM::Policy'))[0] as {
      Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
    }
  ).Properties.PolicyDocument.Statement;

  it('runs queries in its workgroup only, reads the trail under the organization prefix only', () => {
    const athena = statements.find((s) => [s.Action].flat().includes('athena:StartQueryExecution'))!;
    expect(athena.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':athena:eu-west-1:222233334444:workgroup/org-activity'],
      ],
    });
    const trailRead = statements.find((s) => s.Action === 's3:GetObject')!;
    expect(trailRead.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':s3:::org-trail-logs-999988887777/AWSLogs/o-a1b2c3d4e5/*'],
      ],
    });
    expect(statements.find((s) => s.Action === 'kms:Decrypt')?.Resource).toBe(PROPS.trailKeyArn);
    expect(statements.every((s) => s.Resource !== '*')).toBe(true);
  });

  it('gives the training function what organization mode reads', () => {
    expect(analytics.queryEnvironment()).toEqual({
      QUERY_WORKGROUP: 'org-activity',
      QUERY_TABLE: 'org_activity.events',
      TRAIL_ACCOUNTS: '111122223333,444455556666',
      TRAIL_ORGANIZATION: 'o-a1b2c3d4e5',
      TRAIL_BUCKET: 'org-trail-logs-999988887777',
    });
  });

  it('says nothing a reader could take for a tell', () => {
    // The trail key's ARN is the user's own value (a KMS key id is UUID-shaped), not something this construct names.
    expect(findTells(t.toJSON()).filter((tell) => tell.value !== PROPS.trailKeyArn)).toEqual([]);
  });
});

describe('checks at synth', () => {
  it('cdk-nag finds nothing unacknowledged', () => {
    const { app } = build({}, { nag: true });
    expect(() => app.synth()).not.toThrow();
  });

  it('names each bad prop', () => {
    expect(() =>
      build({ organizationId: 'org-1', accounts: ['12345'], regions: ['mars-1'], tableName: 'Events' }),
    ).toThrow(
      'OrganizationAnalytics: organizationId "org-1" is not an organization id (o-xxxxxxxxxx); accounts: "12345" is not a 12-digit account id; regions: "mars-1" is not a region name; tableName "Events" must be lower-case letters, digits and _ (Athena reads it so)',
    );
    expect(() => build({ accounts: [] })).toThrow(/accounts is empty/);
    expect(() => build({ bytesScannedCutoffPerQuery: 1000 })).toThrow(/at least 10 MB/);
  });
});
