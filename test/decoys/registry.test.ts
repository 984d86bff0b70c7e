import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoRegistry,
  documentClient,
  RegistryConflictError,
  type RegistryRecord,
  readRegistries,
  readRegistry,
  registryView,
} from '../../layers/decoys/registry';
import { specRecord } from '../../layers/decoys/spec';
import { makeSpec } from './fixtures';

const docMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => docMock.reset());

const spec = makeSpec();
const user = spec.plan.resources.find((d) => d.kind === 'iam-user')!;
const bucket = spec.plan.resources.find((d) => d.kind === 's3-bucket')!;
const parameter = spec.plan.resources.find((d) => d.kind === 'ssm-parameter')!;
const at = '2025-03-14T03:00:00.000Z';

const record: RegistryRecord = {
  version: 4,
  spec: specRecord(spec),
  owned: [
    { kind: 'iam-user', name: user.name, arn: user.arn, state: 'created', claimedAt: at, createdAt: at },
    { kind: 's3-bucket', name: bucket.name, arn: bucket.arn, state: 'created', claimedAt: at, createdAt: at },
    { kind: 'ssm-parameter', name: parameter.name, arn: parameter.arn, state: 'claimed', claimedAt: at },
  ],
  keys: [
    { accessKeyId: 'AKIAOLD', userName: user.name, status: 'deleted', createdAt: at, retiredAt: at },
    {
      accessKeyId: 'AKIANEW',
      userName: user.name,
      status: 'active',
      createdAt: at,
      secretAccessKey: 'secret',
    },
  ],
  createdAt: at,
  updatedAt: at,
};

const client = documentClient();
const registry = new DynamoRegistry(client, 'state-table');
/** DynamoDB models these two; AccessDeniedException is unmodelled, so the SDK throws its base class named so. */
const tableMissing = () =>
  new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} });
const accessDenied = () =>
  new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    message: 'not authorized to perform dynamodb:GetItem',
    $metadata: { httpStatusCode: 400 },
  });

describe('DynamoRegistry', () => {
  it('reads the one item, consistently', async () => {
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', ...record } });
    expect(await registry.load()).toEqual(record);
    expect(docMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({
      TableName: 'state-table',
      Key: { pk: 'inventory', sk: 'current' },
      ConsistentRead: true,
    });
  });

  it('reads the cadence fields (values, versions, write times), and records written before them', async () => {
    const withCadence: RegistryRecord = {
      ...record,
      owned: record.owned.map((o) =>
        o.kind === 'ssm-parameter'
          ? { ...o, state: 'created' as const, value: 'v', version: 3, writtenAt: at }
          : o,
      ),
      objects: [{ key: 'backups/x.sql.gz', writtenAt: at }],
      databasePassword: 'p',
    };
    docMock
      .on(GetCommand)
      .resolvesOnce({ Item: { pk: 'inventory', sk: 'current', ...withCadence } })
      // `record` has none of them (an older deployment's item): it still parses.
      .resolvesOnce({ Item: { pk: 'inventory', sk: 'current', ...record } });
    expect(await registry.load()).toEqual(withCadence);
    expect((await registry.load())?.objects).toBeUndefined();
    // Detection never sees the values.
    expect(JSON.stringify(registryView(withCadence))).not.toContain('"value"');
  });

  it("reads a record of an earlier version, whose state and times had other names, in today's names", async () => {
    // The names earlier versions wrote (deployed registries hold them); the package
    // recognizes them by hash only (registry.ts upgradeLegacyNames).
    const [state, at_] = ['planted', 'plantedAt'];
    const { createdAt: _current, ...rest } = record;
    const legacy = {
      ...rest,
      owned: record.owned.map(({ createdAt, ...o }) =>
        o.state === 'created' ? { ...o, state, [at_]: createdAt } : o,
      ),
      [at_]: at,
    };
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', ...legacy } });
    const loaded = await registry.load();
    expect(loaded).toEqual(record);
    // Written back in today's names only.
    docMock.on(PutCommand).resolves({});
    await registry.save(loaded!);
    expect(Object.keys(docMock.commandCalls(PutCommand)[0]!.args[0].input.Item!)).not.toContain(at_);
  });

  it("keeps today's name when a record has both", async () => {
    const both = { ...record, plantedAt: '2020-01-01T00:00:00.000Z' };
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', ...both } });
    expect((await registry.load())?.createdAt).toBe(at);
  });

  it('nothing stored, or no table (a late duplicate Delete): undefined', async () => {
    docMock.on(GetCommand).resolvesOnce({}).rejectsOnce(tableMissing());
    expect(await registry.load()).toBeUndefined();
    expect(await registry.load()).toBeUndefined();
  });

  it('names a malformed item', async () => {
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', version: 'x' } });
    await expect(registry.load()).rejects.toThrow(
      /registry item \(inventory\/current\) is malformed: version/,
    );
  });

  it('writes conditionally on the version read, and returns the next version', async () => {
    docMock.on(PutCommand).resolves({});
    expect((await registry.save(record)).version).toBe(5);
    expect(docMock.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'state-table',
      Item: { pk: 'inventory', sk: 'current', version: 5 },
      ConditionExpression: '#version = :expectedVersion',
      ExpressionAttributeValues: { ':expectedVersion': 4 },
    });
    await registry.save({ ...record, version: 0 });
    expect(docMock.commandCalls(PutCommand)[1]!.args[0].input.ConditionExpression).toBe(
      'attribute_not_exists(pk)',
    );
  });

  it('a concurrent writer is a conflict, not an overwrite', async () => {
    docMock
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    await expect(registry.save(record)).rejects.toThrow(RegistryConflictError);
  });

  it('a denied read names the table', async () => {
    docMock.on(GetCommand).rejects(accessDenied());
    await expect(registry.load()).rejects.toThrow(
      /dynamodb:GetItem on table state-table item inventory\/current was denied/,
    );
  });

  it('removes the item, tolerating a missing table', async () => {
    docMock.on(DeleteCommand).rejects(tableMissing());
    await expect(registry.remove()).resolves.toBeUndefined();
  });
});

describe('what detection reads', () => {
  it('lists the registered decoys with the key ids, never the secret', async () => {
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: 'current', ...record } });
    const view = (await readRegistry({ tableName: 'state-table', client }))!;
    expect(JSON.stringify(view)).not.toContain('secret"');
    expect(JSON.stringify(view)).not.toContain(':"secret');
    const key = view.resources.find((d) => d.kind === 'iam-access-key')!;
    expect(key.accessKeyIds).toEqual(['AKIANEW']);
    expect(key.retiredAccessKeyIds).toEqual(['AKIAOLD']);
    // A claimed name is watched too; objects follow their bucket.
    expect(view.resources.some((d) => d.name === parameter.name)).toBe(true);
    expect(view.resources.filter((d) => d.kind === 's3-object')).toHaveLength(3);
    expect(view.resources.some((d) => d.kind === 'kms-key')).toBe(true);
    // Parameters the registry does not list are not reported as planted.
    expect(view.resources.filter((d) => d.kind === 'ssm-parameter')).toHaveLength(1);
  });

  it('undefined when nothing is planted', async () => {
    docMock.on(GetCommand).resolves({});
    expect(await readRegistry({ tableName: 'state-table', client })).toBeUndefined();
  });

  it('registryView is pure', () => {
    expect(registryView(record).accessKeys.map((k) => Object.keys(k))).not.toContainEqual(
      expect.arrayContaining(['secretAccessKey']),
    );
  });
});

describe('organization mode: one registry item per member account', () => {
  const client = documentClient();
  const MEMBER = '444455556666';

  it("keys a member account's item by its account id, and refuses anything else", async () => {
    docMock.on(GetCommand).resolves({ Item: { pk: 'inventory', sk: MEMBER, ...record } });
    await new DynamoRegistry(client, 'state-table', MEMBER).load();
    expect(docMock.commandCalls(GetCommand)[0]!.args[0].input.Key).toEqual({ pk: 'inventory', sk: MEMBER });
    docMock.on(PutCommand).resolves({});
    await new DynamoRegistry(client, 'state-table', MEMBER).save({ ...record, version: 0 });
    expect(docMock.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({
      pk: 'inventory',
      sk: MEMBER,
    });
    expect(() => new DynamoRegistry(client, 'state-table', 'current')).toThrow(/not a 12-digit account id/);
    await readRegistry({ tableName: 'state-table', client, account: MEMBER });
    expect(docMock.commandCalls(GetCommand)[1]!.args[0].input.Key).toEqual({ pk: 'inventory', sk: MEMBER });
  });

  it("readRegistries returns every account's view (and the single-account one), every page", async () => {
    docMock
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ pk: 'inventory', sk: 'current', ...record }],
        LastEvaluatedKey: { pk: 'inventory', sk: 'current' },
      })
      .resolvesOnce({ Items: [{ pk: 'inventory', sk: MEMBER, ...record }] });
    const views = await readRegistries({ tableName: 'state-table', client });
    expect(views.map((v) => v.account)).toEqual([undefined, MEMBER]);
    expect(views[1]!.view).toEqual(registryView(record));
    const calls = docMock.commandCalls(QueryCommand);
    expect(calls[0]!.args[0].input).toMatchObject({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'inventory' },
      ConsistentRead: true,
    });
    expect(calls[1]!.args[0].input.ExclusiveStartKey).toEqual({ pk: 'inventory', sk: 'current' });
  });
});
