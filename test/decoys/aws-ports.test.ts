import { Readable } from 'node:stream';
import {
  CloudTrailClient,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  AccessDeniedException as TrailAccessDenied,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteConflictException,
  DeleteUserCommand,
  EntityAlreadyExistsException,
  GetUserCommand,
  IAMClient,
  IAMServiceException,
  LimitExceededException,
  ListAccessKeysCommand,
  ListUsersCommand,
  NoSuchEntityException,
  PutUserPolicyCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import {
  AlreadyExistsException,
  CreateAliasCommand,
  DeleteAliasCommand,
  KMSClient,
  NotFoundException as KmsNotFound,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import {
  BucketAlreadyExists,
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  NoSuchBucket,
  NotFound,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  AccessDeniedException as SsmAccessDenied,
  ThrottlingException as SsmThrottling,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsCallError, SDK_RETRY } from '../../layers/decoys/aws-errors';
import {
  AwsIam,
  AwsInventory,
  AwsKms,
  AwsS3,
  AwsSsm,
  AwsTrail,
  awsPorts,
} from '../../layers/decoys/aws-ports';
import { NONCURRENT_VERSIONS_RULE } from '../../layers/decoys/content';

/** What an error carries after the SDK gave up retrying (SDK_RETRY: 8 attempts). */
const after8 = (httpStatusCode: number) => ({ httpStatusCode, attempts: 8 });

/**
 * The SDK throws its own class for a modelled error (ParameterNotFound,
 * NoSuchEntityException...) and the client's ServiceException base, named after
 * the error code, for an unmodelled one: IAM models no AccessDenied, and a
 * HeadBucket 403 has no body, so S3 names it 'Unknown'. The mocks throw the same.
 */
const iamAccessDenied = () =>
  new IAMServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: 'User is not authorized to perform this action',
    $metadata: after8(403),
  });

const ssmMock = mockClient(SSMClient);
const s3Mock = mockClient(S3Client);
const iamMock = mockClient(IAMClient);
const trailMock = mockClient(CloudTrailClient);
const kmsMock = mockClient(KMSClient);
const secretsMock = mockClient(SecretsManagerClient);

beforeEach(() => {
  kmsMock.reset();
  secretsMock.reset();
  ssmMock.reset();
  s3Mock.reset();
  iamMock.reset();
  trailMock.reset();
});

const ssm = new AwsSsm(new SSMClient({ region: 'eu-west-1' }));
const s3 = new AwsS3(new S3Client({ region: 'eu-west-1' }));
const iam = new AwsIam(new IAMClient({ region: 'eu-west-1' }));
const input = {
  name: '/prod/ledger/db-password',
  value: 'v',
  keyId: 'alias/ledger-prod-secrets',
  description: 'd',
};

describe('SSM port', () => {
  it('creates a SecureString with the key, tags and no overwrite', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    expect(await ssm.createSecureString({ ...input, tags: [{ key: 'service', value: 'ledger' }] })).toBe(
      'created',
    );
    expect(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({
      Name: input.name,
      Value: 'v',
      Type: 'SecureString',
      KeyId: 'alias/ledger-prod-secrets',
      Description: 'd',
      Tier: 'Standard',
      Tags: [{ Key: 'service', Value: 'ledger' }],
      Overwrite: false,
    });
  });

  it('reports an existing name as a result', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(
        new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: after8(400) }),
      );
    expect(await ssm.createSecureString({ ...input, tags: [] })).toBe('exists');
  });

  it('overwrites without tags (SSM refuses both together)', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 2, Tier: 'Standard' });
    // The new version: the bait state file quotes it.
    expect(await ssm.overwriteSecureString(input)).toBe(2);
    const sent = ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ Overwrite: true, Type: 'SecureString', KeyId: input.keyId });
    expect(sent.Tags).toBeUndefined();
  });

  it('re-tags an existing parameter by name', async () => {
    ssmMock.on(AddTagsToResourceCommand).resolves({});
    await ssm.addTags(input.name, [{ key: 'managed-by', value: 'secret-rotation' }]);
    expect(ssmMock.commandCalls(AddTagsToResourceCommand)[0]!.args[0].input).toEqual({
      ResourceType: 'Parameter',
      ResourceId: input.name,
      Tags: [{ Key: 'managed-by', Value: 'secret-rotation' }],
    });
  });

  it('checks a name by its metadata, never reading the parameter', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [] })
      .resolvesOnce({ Parameters: [{ Name: input.name }] });
    expect(await ssm.parameterExists(input.name)).toBe(false);
    expect(await ssm.parameterExists(input.name)).toBe(true);
    expect(ssmMock.commandCalls(DescribeParametersCommand)[0]!.args[0].input).toEqual({
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [input.name] }],
    });
  });

  it('treats a missing parameter as deleted', async () => {
    ssmMock
      .on(DeleteParameterCommand)
      .rejects(new ParameterNotFound({ message: 'not found', $metadata: after8(400) }));
    await expect(ssm.deleteParameter(input.name)).resolves.toBeUndefined();
    expect(ssmMock.commandCalls(DeleteParameterCommand)[0]!.args[0].input).toEqual({ Name: input.name });
  });

  it('names the action and the parameter when access is denied', async () => {
    ssmMock.on(PutParameterCommand).rejects(
      new SsmAccessDenied({
        message: 'not authorized to perform ssm:PutParameter',
        Message: 'not authorized to perform ssm:PutParameter',
        $metadata: after8(400),
      }),
    );
    const error = await ssm.overwriteSecureString(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).kind).toBe('denied');
    expect((error as Error).message).toMatch(
      /^ssm:PutParameter on \/prod\/ledger\/db-password was denied \(AccessDeniedException\): the function's role needs ssm:PutParameter/,
    );
  });

  it('says when throttling outlasted the SDK retries, and that retrying is safe', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejects(
        new SsmThrottling({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: after8(400) }),
      );
    await expect(ssm.overwriteSecureString(input)).rejects.toThrow(
      /ssm:PutParameter on \/prod\/ledger\/db-password was throttled \(ThrottlingException\) on all 8 attempts; nothing was lost/,
    );
  });
});

describe('S3 port', () => {
  const bucket = 'ledger-prod-exports-123456789012-eu-west-1';

  it('tells missing, owned and foreign buckets apart', async () => {
    s3Mock
      .on(HeadBucketCommand)
      .rejectsOnce(new NotFound({ message: 'UnknownError', $metadata: after8(404) }))
      .resolvesOnce({})
      .rejectsOnce(
        new S3ServiceException({
          name: 'Unknown',
          $fault: 'client',
          message: 'UnknownError',
          $metadata: after8(403),
        }),
      );
    expect(await s3.headBucket(bucket)).toBe('missing');
    expect(await s3.headBucket(bucket)).toBe('owned');
    expect(await s3.headBucket(bucket)).toBe('foreign');
  });

  it('creates the bucket in the region with owner-enforced ownership (no constraint in us-east-1)', async () => {
    s3Mock.on(CreateBucketCommand).resolves({});
    await s3.createBucket(bucket, 'eu-west-1');
    await s3.createBucket(bucket, 'us-east-1');
    const [eu, us] = s3Mock.commandCalls(CreateBucketCommand).map((c) => c.args[0].input);
    expect(eu).toEqual({
      Bucket: bucket,
      ObjectOwnership: 'BucketOwnerEnforced',
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    });
    expect(us!.CreateBucketConfiguration).toBeUndefined();
    s3Mock
      .on(CreateBucketCommand)
      .rejects(new BucketAlreadyOwnedByYou({ message: 'owned by you', $metadata: after8(409) }));
    expect(await s3.createBucket(bucket, 'eu-west-1')).toBe('exists');
    s3Mock
      .on(CreateBucketCommand)
      .rejects(new BucketAlreadyExists({ message: 'taken', $metadata: after8(409) }));
    await expect(s3.createBucket(bucket, 'eu-west-1')).rejects.toThrow(
      /s3:CreateBucket on .* BucketAlreadyExists/,
    );
  });

  it('configures encryption, versioning, public access block, ownership, tags and policy', async () => {
    s3Mock.onAnyCommand().resolves({});
    await s3.putPublicAccessBlock(bucket);
    await s3.putOwnershipControls(bucket);
    await s3.putEncryption(bucket);
    await s3.putVersioning(bucket);
    const retention = {
      ID: 'ledger-db-retention',
      Status: 'Enabled' as const,
      Filter: { Prefix: 'db/ledger-prod/' },
      Expiration: { Days: 30 },
    };
    await s3.putLifecycle(bucket, [NONCURRENT_VERSIONS_RULE, retention]);
    await s3.putTagging(bucket, [{ key: 'service', value: 'ledger' }]);
    await s3.putPolicy(bucket, '{"Version":"2012-10-17"}');
    expect(
      s3Mock.commandCalls(PutPublicAccessBlockCommand)[0]!.args[0].input.PublicAccessBlockConfiguration,
    ).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(
      s3Mock.commandCalls(PutBucketOwnershipControlsCommand)[0]!.args[0].input.OwnershipControls,
    ).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
    expect(
      s3Mock.commandCalls(PutBucketEncryptionCommand)[0]!.args[0].input.ServerSideEncryptionConfiguration,
    ).toEqual({ Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(s3Mock.commandCalls(PutBucketVersioningCommand)[0]!.args[0].input.VersioningConfiguration).toEqual(
      {
        Status: 'Enabled',
      },
    );
    const lifecycle = s3Mock.commandCalls(PutBucketLifecycleConfigurationCommand)[0]!.args[0].input;
    expect(lifecycle.LifecycleConfiguration?.Rules).toEqual([
      expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
      retention,
    ]);
    expect(s3Mock.commandCalls(PutBucketTaggingCommand)[0]!.args[0].input.Tagging).toEqual({
      TagSet: [{ Key: 'service', Value: 'ledger' }],
    });
    expect(s3Mock.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy).toBe(
      '{"Version":"2012-10-17"}',
    );
  });

  it('writes objects with their content type, encrypted', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    await s3.putObject({ bucket, key: 'config/ledger/.env.prod', body: 'A=1', contentType: 'text/plain' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: bucket,
      Key: 'config/ledger/.env.prod',
      Body: 'A=1',
      ContentType: 'text/plain',
      ServerSideEncryption: 'AES256',
    });
  });

  it('lists every version and delete marker across pages, and deletes them in batches of 1000', async () => {
    s3Mock
      .on(ListObjectVersionsCommand)
      .resolvesOnce({
        IsTruncated: true,
        NextKeyMarker: 'k',
        NextVersionIdMarker: 'v',
        Versions: Array.from({ length: 1200 }, (_, i) => ({ Key: `k${i}`, VersionId: `v${i}` })),
      })
      .resolvesOnce({ IsTruncated: false, DeleteMarkers: [{ Key: 'k0', VersionId: 'marker' }] });
    const versions = await s3.listObjectVersions(bucket);
    expect(versions).toHaveLength(1201);
    expect(s3Mock.commandCalls(ListObjectVersionsCommand)[1]!.args[0].input).toMatchObject({
      KeyMarker: 'k',
      VersionIdMarker: 'v',
    });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    await s3.deleteObjectVersions(bucket, versions);
    const batches = s3Mock
      .commandCalls(DeleteObjectsCommand)
      .map((c) => c.args[0].input.Delete!.Objects!.length);
    expect(batches).toEqual([1000, 201]);
  });

  it('fails a batch delete that left versions behind, naming the first', async () => {
    s3Mock
      .on(DeleteObjectsCommand)
      .resolves({ Errors: [{ Key: 'a', VersionId: '1', Code: 'AccessDenied', Message: 'no' }] });
    await expect(s3.deleteObjectVersions(bucket, [{ key: 'a', versionId: '1' }])).rejects.toThrow(
      /s3:DeleteObjectVersion failed for 1 of 1 versions .* first a \(1\): AccessDenied/,
    );
  });

  it('treats a missing bucket as empty and deleted', async () => {
    s3Mock
      .on(ListObjectVersionsCommand)
      .rejects(new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: after8(404) }));
    s3Mock
      .on(DeleteBucketCommand)
      .rejects(new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: after8(404) }));
    expect(await s3.listObjectVersions(bucket)).toEqual([]);
    await expect(s3.deleteBucket(bucket)).resolves.toBeUndefined();
  });
});

describe('IAM port', () => {
  it('checks whether a user name is taken', async () => {
    iamMock
      .on(GetUserCommand)
      .rejectsOnce(new NoSuchEntityException({ message: 'cannot be found', $metadata: after8(404) }))
      .resolvesOnce({
        User: { UserName: 'jenkins', UserId: 'AIDA', Arn: 'a', Path: '/', CreateDate: new Date() },
      });
    expect(await iam.userExists('jenkins')).toBe(false);
    expect(await iam.userExists('jenkins')).toBe(true);
    iamMock.on(GetUserCommand).rejects(iamAccessDenied());
    await expect(iam.userExists('jenkins')).rejects.toThrow(/iam:GetUser on user\/jenkins was denied/);
  });

  it('creates the user at path / with tags and returns its unique id', async () => {
    iamMock.on(CreateUserCommand).resolves({
      User: { UserName: 'ledger-etl', UserId: 'AIDAEXAMPLE', Arn: 'a', Path: '/', CreateDate: new Date() },
    });
    expect(await iam.createUser({ userName: 'ledger-etl', tags: [{ key: 'team', value: 'data' }] })).toEqual({
      result: 'created',
      userId: 'AIDAEXAMPLE',
    });
    expect(iamMock.commandCalls(CreateUserCommand)[0]!.args[0].input).toEqual({
      UserName: 'ledger-etl',
      Path: '/',
      Tags: [{ Key: 'team', Value: 'data' }],
    });
    iamMock
      .on(CreateUserCommand)
      .rejects(new EntityAlreadyExistsException({ message: 'already exists', $metadata: after8(409) }));
    expect(await iam.createUser({ userName: 'ledger-etl', tags: [] })).toEqual({ result: 'exists' });
  });

  it('re-tags a user', async () => {
    iamMock.on(TagUserCommand).resolves({});
    await iam.tagUser('u', [{ key: 'managed-by', value: 'secret-rotation' }]);
    expect(iamMock.commandCalls(TagUserCommand)[0]!.args[0].input).toEqual({
      UserName: 'u',
      Tags: [{ Key: 'managed-by', Value: 'secret-rotation' }],
    });
  });

  it('puts the policy, creates and lists keys', async () => {
    iamMock.on(PutUserPolicyCommand).resolves({});
    iamMock.on(CreateAccessKeyCommand).resolves({
      AccessKey: { UserName: 'u', AccessKeyId: 'AKIA1', SecretAccessKey: 's', Status: 'Active' },
    });
    iamMock
      .on(ListAccessKeysCommand)
      .resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIA1', Status: 'Active' }] });
    await iam.putUserPolicy('u', 'ledger-backup-read', '{}');
    expect(iamMock.commandCalls(PutUserPolicyCommand)[0]!.args[0].input).toEqual({
      UserName: 'u',
      PolicyName: 'ledger-backup-read',
      PolicyDocument: '{}',
    });
    expect(await iam.createAccessKey('u')).toEqual({ accessKeyId: 'AKIA1', secretAccessKey: 's' });
    expect(await iam.listAccessKeys('u')).toEqual([{ accessKeyId: 'AKIA1', status: 'Active' }]);
  });

  it('names the user when creating a key is denied', async () => {
    iamMock.on(CreateAccessKeyCommand).rejects(iamAccessDenied());
    await expect(iam.createAccessKey('ledger-etl')).rejects.toThrow(
      /^iam:CreateAccessKey on user\/ledger-etl was denied \(AccessDenied\)/,
    );
  });

  it('passes on the key limit as a clear error', async () => {
    iamMock.on(CreateAccessKeyCommand).rejects(
      new LimitExceededException({
        message: 'Cannot exceed quota for AccessKeysPerUser: 2',
        $metadata: after8(409),
      }),
    );
    await expect(iam.createAccessKey('u')).rejects.toThrow(
      /iam:CreateAccessKey on user\/u failed: LimitExceededException: Cannot exceed quota/,
    );
  });

  it('removal tolerates everything already gone', async () => {
    iamMock
      .onAnyCommand()
      .rejects(new NoSuchEntityException({ message: 'cannot be found', $metadata: after8(404) }));
    expect(await iam.listAccessKeys('u')).toEqual([]);
    await iam.deleteAccessKey('u', 'AKIA1');
    expect(await iam.listUserPolicies('u')).toEqual([]);
    await iam.deleteUserPolicy('u', 'p');
    expect(await iam.listAttachedUserPolicies('u')).toEqual([]);
    await iam.detachUserPolicy('u', 'arn:aws:iam::aws:policy/X');
    await iam.deleteLoginProfile('u');
    await iam.deleteUser('u');
    expect(iamMock.calls()).toHaveLength(8);
  });

  it('reads an IAM error by its class, though the SDK also copies the wire Code onto it', async () => {
    // What the SDK throws for IAM (awsQuery): the class, plus the body's Code, Type and Message.
    const asDeserialized = <E extends Error>(error: E, Code: string) =>
      Object.assign(error, { Code, Type: 'Sender', Message: error.message });
    iamMock
      .on(GetUserCommand)
      .rejects(
        asDeserialized(
          new NoSuchEntityException({ message: 'cannot be found', $metadata: after8(404) }),
          'NoSuchEntity',
        ),
      );
    expect(await iam.userExists('jenkins')).toBe(false);
    iamMock
      .on(CreateAccessKeyCommand)
      .rejects(
        asDeserialized(
          new LimitExceededException({ message: 'quota', $metadata: after8(409) }),
          'LimitExceeded',
        ),
      );
    await expect(iam.createAccessKey('u')).rejects.toThrow(/failed: LimitExceededException: quota/);
  });

  it('a DeleteConflict names the user', async () => {
    iamMock.on(DeleteUserCommand).rejects(
      new DeleteConflictException({
        message: 'Cannot delete entity, must remove users from group first.',
        $metadata: after8(409),
      }),
    );
    await expect(iam.deleteUser('u')).rejects.toThrow(
      /iam:DeleteUser on user\/u failed: DeleteConflictException: Cannot delete entity/,
    );
  });
});

describe('CloudTrail port', () => {
  it('asks the trail home region, by ARN', async () => {
    const regions: string[] = [];
    const trail = new AwsTrail((region) => {
      regions.push(region);
      return new CloudTrailClient({ region });
    });
    trailMock.on(GetEventSelectorsCommand).resolves({ AdvancedEventSelectors: [] });
    trailMock.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    const arn = 'arn:aws:cloudtrail:us-east-2:123456789012:trail/org-trail';
    expect(await trail.getEventSelectors(arn)).toMatchObject({ AdvancedEventSelectors: [] });
    expect(await trail.getTrailStatus(arn)).toEqual({ isLogging: true });
    expect(regions).toEqual(['us-east-2']);
    expect(trailMock.commandCalls(GetEventSelectorsCommand)[0]!.args[0].input).toEqual({ TrailName: arn });
    expect(trailMock.commandCalls(GetTrailStatusCommand)[0]!.args[0].input).toEqual({ Name: arn });
  });

  it('names the trail when its selectors cannot be read', async () => {
    trailMock
      .on(GetEventSelectorsCommand)
      .rejects(new TrailAccessDenied({ message: 'not authorized', $metadata: after8(400) }));
    await expect(
      new AwsTrail().getEventSelectors('arn:aws:cloudtrail:us-east-1:123456789012:trail/t'),
    ).rejects.toThrow(
      /cloudtrail:GetEventSelectors on arn:aws:cloudtrail:us-east-1:123456789012:trail\/t was denied/,
    );
  });
});

describe('retries', () => {
  it('every client retries with backoff (standard mode, 8 attempts)', async () => {
    const ports = awsPorts('eu-west-1');
    for (const port of [ports.ssm, ports.s3, ports.iam]) {
      type Setting<T> = T | (() => Promise<T>);
      const { config } = (
        port as unknown as {
          client: { config: { maxAttempts: Setting<number>; retryMode: Setting<string> } };
        }
      ).client;
      const read = async <T>(setting: Setting<T>) =>
        typeof setting === 'function' ? (setting as () => Promise<T>)() : setting;
      expect(await read(config.maxAttempts)).toBe(SDK_RETRY.maxAttempts);
      expect(await read(config.retryMode)).toBe('standard');
    }
  });

  it('the SDK retries a throttled call by itself', async () => {
    iamMock.restore();
    let attempts = 0;
    const client = new IAMClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      ...SDK_RETRY,
      requestHandler: {
        handle: async () => {
          attempts++;
          const throttled = attempts <= 2;
          const body = throttled
            ? '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>'
            : '<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>';
          // An HttpResponse's shape (the class lives in a transitive dependency).
          return {
            response: {
              statusCode: throttled ? 400 : 200,
              headers: { 'content-type': 'text/xml' },
              body: Readable.from([Buffer.from(body)]),
            },
          };
        },
      },
    });
    const keys = await new AwsIam(client).listAccessKeys('u');
    expect(keys).toEqual([{ accessKeyId: 'AKIA1', status: 'Active' }]);
    expect(attempts).toBe(3);
    iamMock.reset();
  });
});

describe('inventory port', () => {
  const inventory = new AwsInventory({
    ssm: new SSMClient({ region: 'eu-west-1' }),
    s3: new S3Client({ region: 'eu-west-1' }),
    iam: new IAMClient({ region: 'eu-west-1' }),
    secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
    kms: new KMSClient({ region: 'eu-west-1' }),
  });

  it('reads parameter names page by page, up to the cap', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [{ Name: '/a' }, { Name: '/b' }], NextToken: 't' })
      .resolvesOnce({ Parameters: [{ Name: '/c' }] });
    expect(await inventory.listParameterNames(10)).toEqual(['/a', '/b', '/c']);
    expect(ssmMock.commandCalls(DescribeParametersCommand)[1]!.args[0].input.NextToken).toBe('t');
    ssmMock
      .on(DescribeParametersCommand)
      .resolves({ Parameters: [{ Name: '/a' }, { Name: '/b' }], NextToken: 't' });
    expect(await inventory.listParameterNames(3)).toHaveLength(3);
  });

  it('reads bucket, user, secret and alias names', async () => {
    s3Mock.on(ListBucketsCommand).resolves({ Buckets: [{ Name: 'acme-prod-exports' }] });
    iamMock.on(ListUsersCommand).resolves({
      Users: [{ UserName: 'svc-a', Path: '/', UserId: 'AIDA1', Arn: 'a', CreateDate: new Date() }],
    });
    secretsMock.on(ListSecretsCommand).resolves({ SecretList: [{ Name: 'prod/db' }] });
    kmsMock.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/aws/ssm' }] });
    expect(await inventory.listBucketNames()).toEqual(['acme-prod-exports']);
    expect(await inventory.listUserNames(10)).toEqual(['svc-a']);
    expect(await inventory.listSecretNames(10)).toEqual(['prod/db']);
    expect(await inventory.listAliasNames(10)).toEqual(['alias/aws/ssm']);
  });

  it('a denied listing names the call', async () => {
    ssmMock
      .on(DescribeParametersCommand)
      .rejects(
        new SsmAccessDenied({ Message: 'not authorized', message: 'not authorized', $metadata: after8(400) }),
      );
    await expect(inventory.listParameterNames(10)).rejects.toThrow(/ssm:DescribeParameters/);
  });
});

describe('KMS port', () => {
  const kms = new AwsKms(new KMSClient({ region: 'eu-west-1' }));

  it('creates an alias, reports one taken, finds its target and deletes it (missing is success)', async () => {
    kmsMock
      .on(CreateAliasCommand)
      .resolvesOnce({})
      .rejectsOnce(new AlreadyExistsException({ message: 'exists', $metadata: after8(400) }));
    expect(await kms.createAlias('alias/x', 'arn:aws:kms:eu-west-1:123456789012:key/k')).toBe('created');
    expect(await kms.createAlias('alias/x', 'k')).toBe('exists');
    kmsMock
      .on(ListAliasesCommand)
      .resolvesOnce({ Aliases: [{ AliasName: 'alias/y' }], NextMarker: 'm' })
      .resolvesOnce({ Aliases: [{ AliasName: 'alias/x', TargetKeyId: 'k' }] });
    expect(await kms.aliasTarget('alias/x')).toBe('k');
    kmsMock.on(DeleteAliasCommand).rejects(new KmsNotFound({ message: 'gone', $metadata: after8(400) }));
    await expect(kms.deleteAlias('alias/x')).resolves.toBeUndefined();
  });
});
