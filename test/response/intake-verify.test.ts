import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { FINDING_DETAIL_TYPES, type Finding, findingId } from '../../layers/findings/finding';
import { findingDigest, RecordedFindingSink } from '../../layers/findings/records';
import { KPI } from '../../layers/response/kpi';
import {
  type FindingRefusal,
  refusalKey,
  refusalMessage,
  S3RefusalLog,
} from '../../layers/response/refusals';
import { type ExecutionStarter, startResponse } from '../../layers/response/start';
import type { RespondInput } from '../../layers/response/state';
import { tellsIn } from '../../layers/stealth/tells';
import { eventOf, findingFrom, roleRecord, userRecord } from './fixtures';
import { issued } from './intake-fixtures';

/**
 * The intake acts only on findings its own detectors wrote: a finding event is
 * checked against the record the detector made (id and content digest) before
 * anything starts. A forged or altered finding is refused: nothing started, the
 * refusal kept, counted and mailed.
 */

class RecordingStarter implements ExecutionStarter {
  readonly started: { name: string; input: RespondInput }[] = [];
  async start(name: string, input: RespondInput) {
    if (this.started.some((s) => s.name === name)) return { duplicate: true };
    this.started.push({ name, input });
    return { executionArn: `arn:aws:states:us-east-1:111122223333:execution:m:${name}`, duplicate: false };
  }
}

const genuine = findingFrom(userRecord, { window: 'verify' });
const now = () => new Date(Date.parse(genuine.lastSeen) + 2000);

describe('intake verification', () => {
  it('starts a response for a finding its detector recorded', async () => {
    const starter = new RecordingStarter();
    const ports = issued(genuine);
    const result = await startResponse(eventOf(genuine), { ...ports, starter, now });
    expect(result.refused).toBeUndefined();
    expect(starter.started.map((s) => s.input.findingId)).toEqual([genuine.id]);
    expect(ports.refusals.refusals).toEqual([]);
    expect(ports.sent).toEqual([]);
  });

  it('refuses a forged finding (an id no detector recorded): nothing started, kept, counted, mailed', async () => {
    const starter = new RecordingStarter();
    const ports = issued(genuine);
    const victim = 'arn:aws:iam::111122223333:role/BreakGlass';
    const forged: Finding = {
      ...genuine,
      id: findingId(['forged', victim]),
      actor: { arn: victim, type: 'AssumedRole' },
    };
    const event = { ...eventOf(forged), id: 'e7c1d2a4-forged' };
    const result = await startResponse(event, { ...ports, starter, now });

    expect(starter.started).toEqual([]);
    expect(result.executionArn).toBeUndefined();
    expect(result.refused).toMatchObject({
      reason: 'not-issued',
      findingId: forged.id,
      principal: victim,
      eventId: 'e7c1d2a4-forged',
      digest: findingDigest(forged),
    });
    expect(ports.refusals.refusals).toEqual([result.refused]);
    expect(result.kpis).toEqual([
      {
        name: KPI.rejectedFindings,
        unit: 'Count',
        value: 1,
        dimension: { name: 'Reason', value: 'not-issued' },
      },
    ]);
    expect(ports.sent).toHaveLength(1);
    expect(ports.sent[0]?.subject).toBe('Rejected finding event: not issued by the platform');
    expect(ports.sent[0]?.body).toContain(victim);
    // The wording is the code's (deployed in the package): neutral. Only what the event claims varies.
    const anomaly = { ...result.refused!, kind: 'anomaly', detailType: FINDING_DETAIL_TYPES.anomaly };
    const message = refusalMessage(anomaly);
    expect(tellsIn(`${message.subject}\n${message.body}`)).toEqual([]);
  });

  it('refuses a genuine finding altered on the way (same id, another principal)', async () => {
    const starter = new RecordingStarter();
    const ports = issued(genuine);
    const altered: Finding = {
      ...genuine,
      actor: { ...genuine.actor, arn: 'arn:aws:iam::111122223333:user/ops' },
    };
    const result = await startResponse(eventOf(altered), { ...ports, starter, now });
    expect(result.refused?.reason).toBe('not-issued');
    expect(result.refused?.findingId).toBe(genuine.id);
    expect(starter.started).toEqual([]);
  });

  it('refuses a finding under another kind’s detail-type, even when recorded', async () => {
    const starter = new RecordingStarter();
    const ports = issued(genuine);
    const event = { ...eventOf(genuine), 'detail-type': FINDING_DETAIL_TYPES.anomaly };
    const result = await startResponse(event, { ...ports, starter, now });
    expect(result.refused?.reason).toBe('detail-type');
    expect(starter.started).toEqual([]);
  });

  it('accepts a republished finding (higher count, new digest) its detector recorded: one response, a duplicate', async () => {
    const starter = new RecordingStarter();
    const ports = issued();
    const sink = new RecordedFindingSink(ports.records, { publish: async () => {} });
    const republished: Finding = { ...genuine, count: genuine.count + 4, lastSeen: now().toISOString() };
    await sink.publish(genuine);
    await sink.publish(republished);
    const first = await startResponse(eventOf(genuine), { ...ports, starter, now });
    const second = await startResponse(eventOf(republished), { ...ports, starter, now });
    expect(first.refused).toBeUndefined();
    expect(second.refused).toBeUndefined();
    expect(second.duplicate).toBe(true);
    expect(starter.started).toHaveLength(1);
  });

  it('refuses a republished version its detector never wrote (the count raised by hand)', async () => {
    const starter = new RecordingStarter();
    const ports = issued(genuine);
    const result = await startResponse(eventOf({ ...genuine, count: 99 }), { ...ports, starter, now });
    expect(result.refused?.reason).toBe('not-issued');
  });

  it('keeps each refused event once, however often it is delivered', async () => {
    const ports = issued();
    const other = findingFrom(roleRecord, { window: 'verify' });
    const event = { ...eventOf(other), id: 'evt-1' };
    for (let i = 0; i < 3; i++)
      await startResponse(event, { ...ports, starter: new RecordingStarter(), now });
    expect(ports.refusals.refusals).toHaveLength(1);
  });
});

describe('S3RefusalLog', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const refusal: FindingRefusal = {
    at: '2024-05-13T10:00:00.000Z',
    eventId: 'e7c1d2a4-0000',
    findingId: 'abc/def',
    digest: 'f'.repeat(64),
    detailType: 'Anomalous Activity',
    kind: 'anomaly',
    principal: 'arn:aws:iam::111122223333:role/BreakGlass',
    reason: 'not-issued',
  };

  it('writes refused/<finding>/<event>.json once, conditionally, with a checksum (object lock)', async () => {
    s3.on(PutObjectCommand).resolves({});
    await new S3RefusalLog(new S3Client({}), 'records').append(refusal);
    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'records',
      Key: 'refused/abc_def/e7c1d2a4-0000.json',
      IfNoneMatch: '*',
      ChecksumAlgorithm: 'SHA256',
    });
    expect(JSON.parse(String(input?.Body))).toEqual(refusal);
    expect(refusalKey(refusal)).toBe(input?.Key);
  });

  it('treats an existing object (a retried delivery) as written; raises other errors', async () => {
    s3.on(PutObjectCommand)
      .rejectsOnce(
        new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          message: 'At least one of the pre-conditions you specified did not hold',
          $metadata: { httpStatusCode: 412 },
        }),
      )
      .rejects(
        new S3ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          message: 'denied',
          $metadata: { httpStatusCode: 403 },
        }),
      );
    const log = new S3RefusalLog(new S3Client({}), 'records');
    await expect(log.append(refusal)).resolves.toBeUndefined();
    await expect(log.append(refusal)).rejects.toThrow(/denied/);
  });
});
