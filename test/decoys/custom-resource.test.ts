import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../layers/config/schema';
import { AwsCallError } from '../../layers/decoys/aws-errors';
import { shapeOf } from '../../layers/decoys/catalogue';
import {
  answerCustomResource,
  type CustomResourceEvent,
  customResourceWork,
  httpsSender,
  type PlanterLike,
  RESPONSE_LIMIT,
  responseBody,
} from '../../layers/decoys/custom-resource';
import { MemoryAccount } from '../../layers/decoys/memory';
import { Planter } from '../../layers/decoys/planter';
import type { TrailPort } from '../../layers/decoys/ports';
import { encodeShape, encodeSpec } from '../../layers/decoys/spec';
import { leftovers, makePlanter, makePlanterDeps, makeSpec, usabilityProblems } from './fixtures';

const spec = makeSpec();

function event(
  type: CustomResourceEvent['RequestType'],
  extra: Partial<CustomResourceEvent> = {},
): CustomResourceEvent {
  return {
    RequestType: type,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/platform-shared-services/abc',
    RequestId: `request-${type}`,
    LogicalResourceId: 'SecretRotationState2AA135AD',
    ResourceType: 'Custom::SecretRotation',
    PhysicalResourceId: type === 'Create' ? undefined : 'SecretRotationState2AA135AD',
    ResourceProperties: {
      ServiceToken: 'arn',
      Plan: encodeSpec(spec),
      StackRegion: 'eu-west-1',
      Naming: '1',
    },
    ...extra,
  };
}

class RecordingSender {
  readonly bodies: Record<string, unknown>[] = [];
  failures = 0;
  async send(_url: string, body: string): Promise<void> {
    if (this.failures-- > 0) throw new Error('connection reset');
    this.bodies.push(JSON.parse(body));
  }
}

const deps = (
  sender: RecordingSender,
  work: (e: CustomResourceEvent) => Promise<void>,
  remaining = 300_000,
) => ({
  work,
  sender,
  remainingMs: () => remaining,
  logHint: 'Details: log group g, stream s',
  sendBackoffMs: 0,
});

describe('answerCustomResource', () => {
  it('answers SUCCESS with a stable physical id', async () => {
    const sender = new RecordingSender();
    await answerCustomResource(
      event('Create'),
      deps(sender, async () => {}),
    );
    await answerCustomResource(
      event('Update'),
      deps(sender, async () => {}),
    );
    expect(sender.bodies.map((b) => [b.Status, b.PhysicalResourceId])).toEqual([
      ['SUCCESS', 'SecretRotationState2AA135AD'],
      ['SUCCESS', 'SecretRotationState2AA135AD'],
    ]);
    expect(sender.bodies[0]).toMatchObject({
      StackId: event('Create').StackId,
      RequestId: 'request-Create',
      LogicalResourceId: 'SecretRotationState2AA135AD',
    });
  });

  it('answers FAILED with a Reason naming what failed and where the logs are', async () => {
    const sender = new RecordingSender();
    const denied = new AwsCallError(
      'iam:CreateUser',
      'user/ledger-etl',
      'AccessDenied',
      'denied',
      'iam:CreateUser on user/ledger-etl was denied',
    );
    const outcome = await answerCustomResource(
      event('Create'),
      deps(sender, () => Promise.reject(denied)),
    );
    expect(outcome.status).toBe('FAILED');
    expect(sender.bodies[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'iam:CreateUser on user/ledger-etl was denied. Details: log group g, stream s',
      PhysicalResourceId: 'SecretRotationState2AA135AD',
    });
  });

  it('an unexpected error is answered too, with the step it happened at', async () => {
    const sender = new RecordingSender();
    await answerCustomResource(event('Delete'), {
      ...deps(sender, () => Promise.reject(new TypeError('x is undefined'))),
      step: () => 'deleting S3 bucket b',
    });
    expect(sender.bodies[0]!.Reason).toMatch(/^x is undefined \(while deleting S3 bucket b\)/);
  });

  it('answers FAILED before the function times out, naming the step', async () => {
    const sender = new RecordingSender();
    const started = Date.now();
    const outcome = await answerCustomResource(event('Create'), {
      ...deps(sender, () => new Promise(() => {}), 15_200),
      step: () => 'writing SSM parameter /prod/x',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome.reason).toMatch(/Create timed out after 0 s while writing SSM parameter \/prod\/x/);
    expect(sender.bodies).toHaveLength(1);
  });

  it('retries sending, and throws only when the answer cannot be delivered', async () => {
    const sender = new RecordingSender();
    sender.failures = 2;
    await answerCustomResource(
      event('Create'),
      deps(sender, async () => {}),
    );
    expect(sender.bodies).toHaveLength(1);
    sender.failures = 3;
    await expect(
      answerCustomResource(
        event('Create'),
        deps(sender, async () => {}),
      ),
    ).rejects.toThrow(/could not deliver the SUCCESS response/);
  });

  it('keeps the body within 4096 bytes', () => {
    const body = responseBody(event('Create'), {
      status: 'FAILED',
      physicalResourceId: 'p',
      reason: `problems: ${'é'.repeat(5000)}`,
    });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(RESPONSE_LIMIT);
    expect(JSON.parse(body).Reason).toMatch(/\.\.\.$/);
  });
});

describe('httpsSender', () => {
  let server: ReturnType<typeof createServer>;
  const received: { method?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body });
        res.statusCode = req.url?.includes('expired') ? 403 : 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=abc`;
  });
  afterAll(() => server.close());

  it('PUTs the body with an empty content type (the presigned URL is signed without one)', async () => {
    await httpsSender.send(url, '{"Status":"SUCCESS"}');
    expect(received[0]).toMatchObject({ method: 'PUT', body: '{"Status":"SUCCESS"}' });
    expect(received[0]!.headers['content-type']).toBe('');
    expect(received[0]!.headers['content-length']).toBe('20');
  });

  it('fails on a non-2xx answer', async () => {
    await expect(httpsSender.send(url.replace('response', 'expired'), '{}')).rejects.toThrow(/HTTP 403/);
  });
});

describe('customResourceWork', () => {
  const fakePlanter = (): PlanterLike & { calls: string[] } => {
    const calls: string[] = [];
    return {
      calls,
      step: '',
      plant: async () => calls.push('plant'),
      plantShape: async (shape, target) => {
        calls.push(
          `plantShape ${target.account} ${target.partition} ${target.stackName} ${target.keyId ?? '-'} ${shape.parameters.length}`,
        );
        return {};
      },
      remove: async () => calls.push('remove'),
    };
  };

  it('a Shape property plants by shape, in the StackId account, with the given key', async () => {
    const planter = fakePlanter();
    const properties = {
      ServiceToken: 'arn',
      Shape: encodeShape(shapeOf(parseConfig({}))),
      KeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/k',
    };
    await customResourceWork(event('Create', { ResourceProperties: properties }), { planter });
    expect(planter.calls).toEqual([
      'plantShape 123456789012 aws platform-shared-services arn:aws:kms:eu-west-1:123456789012:key/k 4',
    ]);
    await expect(
      customResourceWork(event('Update', { ResourceProperties: { Shape: '{"parameters":3}' } }), { planter }),
    ).rejects.toThrow(/invalid Shape/);
  });

  it('end to end by shape over the in-memory account: names chosen once, kept on update, removed on delete', async () => {
    const account = new MemoryAccount();
    const sender = new RecordingSender();
    const properties = {
      ServiceToken: 'arn',
      Shape: encodeShape(shapeOf(parseConfig({}))),
      KeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/k',
    };
    const answer = (e: CustomResourceEvent) =>
      answerCustomResource(
        e,
        deps(sender, (ev) =>
          customResourceWork(ev, {
            planter: new Planter({ ...makePlanterDeps(account, e.RequestId), kms: account.kms }),
          }),
        ),
      );
    await answer(event('Create', { ResourceProperties: properties }));
    const names = [...account.parameters.keys()].sort();
    expect(names).toHaveLength(4);
    expect(account.aliases.size).toBe(1);
    await answer(event('Update', { ResourceProperties: properties, RequestId: 'other' }));
    expect([...account.parameters.keys()].sort()).toEqual(names);
    await answer(event('Delete'));
    expect(sender.bodies.map((b) => b.Status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(leftovers(account)).toEqual([]);
    expect(account.aliases.size).toBe(0);
  });
  const trail = (ok: boolean): TrailPort => ({
    getEventSelectors: async () => ({
      AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }],
    }),
    getTrailStatus: async () => ({ isLogging: ok }),
  });

  it('Create and Update plant, Delete removes', async () => {
    const planter = fakePlanter();
    await customResourceWork(event('Create'), { planter });
    await customResourceWork(event('Update'), { planter });
    await customResourceWork(event('Delete'), { planter });
    expect(planter.calls).toEqual(['plant', 'plant', 'remove']);
  });

  it('a bad Plan property is named', async () => {
    const planter = fakePlanter();
    await expect(
      customResourceWork(event('Create', { ResourceProperties: { Plan: '{"items":' } }), { planter }),
    ).rejects.toThrow(/Plan is not valid JSON/);
    await expect(
      customResourceWork(
        event('Create', {
          ResourceProperties: {
            Plan: '{"service":"x","environment":"p","items":[{"kind":"ssm-parameter","name":"/a/b","arn":"a"}]}',
          },
        }),
        {
          planter,
        },
      ),
    ).rejects.toThrow(/Plan\.items\.0\.format: a parameter needs a format/);
    expect(planter.calls).toEqual([]);
  });

  it('an existing trail that misses the bait bucket fails the deployment before planting', async () => {
    const planter = fakePlanter();
    const arn = 'arn:aws:cloudtrail:us-east-1:123456789012:trail/org';
    await expect(
      customResourceWork(event('Create'), { planter, trail: { port: trail(false), arn } }),
    ).rejects.toThrow(
      /trail arn:aws:cloudtrail:us-east-1:123456789012:trail\/org does not log what detection needs: \(1\) S3 data events .*; \(2\) the trail is not logging/,
    );
    expect(planter.calls).toEqual([]);
    // Deleting never depends on the trail.
    await customResourceWork(event('Delete'), { planter, trail: { port: trail(false), arn } });
    expect(planter.calls).toEqual(['remove']);
  });

  it('end to end over the in-memory account: create, duplicate create, update, delete, duplicate delete', async () => {
    const account = new MemoryAccount();
    const sender = new RecordingSender();
    const answer = (e: CustomResourceEvent) =>
      answerCustomResource(
        e,
        deps(sender, (ev) => customResourceWork(ev, { planter: makePlanter(account, e.RequestId) })),
      );
    await answer(event('Create'));
    await answer(event('Create'));
    expect(usabilityProblems(account, spec)).toEqual([]);
    expect(account.users.values().next().value!.keys.size).toBe(1);
    await answer(event('Update'));
    await answer(event('Delete'));
    await answer(event('Delete'));
    expect(sender.bodies.map((b) => b.Status)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
    ]);
    expect(leftovers(account)).toEqual([]);
  });
});
