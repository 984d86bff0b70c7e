import type { CloudTrailRecord } from '../cloudtrail/record';
import {
  type EvidenceWriter,
  noPrincipal,
  type PrincipalEvidence,
  type PrincipalReader,
  type RecentCall,
} from '../response/evidence';
import type { Notifier } from '../response/ledger';
import type { Message } from '../response/messages';

/**
 * The response's ports, offline: IAM as the scenario's records show it (every
 * user and role that made a call exists, with the keys it signed with, active),
 * CloudTrail lookups answered from the records played so far, evidence and
 * notifications kept in memory, and every direct AWS call recorded, answered
 * with an empty success and never sent anywhere.
 */

export class ScenarioPrincipalReader implements PrincipalReader {
  private readonly records: CloudTrailRecord[] = [];

  /** Records become visible to lookups as they are played. */
  observe(record: CloudTrailRecord): void {
    this.records.push(record);
  }

  async userFacts(userName: string): Promise<PrincipalEvidence> {
    const keys = new Set<string>();
    let exists = false;
    for (const record of this.records) {
      const identity = record.userIdentity;
      if (identity?.type !== 'IAMUser' || identity.userName !== userName) continue;
      exists = true;
      if (identity.accessKeyId?.startsWith('AKIA')) keys.add(identity.accessKeyId);
    }
    return {
      ...noPrincipal(),
      exists,
      accessKeys: [...keys].map((accessKeyId) => ({ accessKeyId, status: 'Active' })),
    };
  }

  async roleFacts(roleName: string): Promise<PrincipalEvidence> {
    const exists = this.records.some((record) =>
      record.userIdentity?.sessionContext?.sessionIssuer?.arn?.endsWith(`:role/${roleName}`),
    );
    return { ...noPrincipal(), exists };
  }

  async recentCalls(lookup: { accessKeyId?: string; userName?: string }, since: Date): Promise<RecentCall[]> {
    const from = since.getTime();
    return this.records
      .filter((record) => Date.parse(record.eventTime) >= from)
      .filter((record) =>
        lookup.accessKeyId
          ? record.userIdentity?.accessKeyId === lookup.accessKeyId
          : record.userIdentity?.userName === lookup.userName,
      )
      .slice(-50)
      .reverse()
      .map((record) => ({
        eventTime: record.eventTime,
        eventName: record.eventName,
        eventSource: record.eventSource,
        region: record.awsRegion,
        ...(record.sourceIPAddress ? { sourceIp: record.sourceIPAddress } : {}),
        ...(record.errorCode ? { errorCode: record.errorCode } : {}),
        ...(record.eventID ? { eventId: record.eventID } : {}),
      }));
  }
}

export class MemoryEvidence implements EvidenceWriter {
  readonly objects = new Map<string, string>();
  async put(key: string, body: string): Promise<void> {
    if (!this.objects.has(key)) this.objects.set(key, body);
  }
}

export class MemoryNotifier implements Notifier {
  readonly messages: Message[] = [];
  async publish(message: Message): Promise<void> {
    this.messages.push(message);
  }
}

/** A direct AWS call a state machine made (IAM containment, stopping an execution...). */
export interface RecordedCall {
  service: string;
  action: string;
  parameters: unknown;
}

export class RecordingServices {
  readonly calls: RecordedCall[] = [];

  async call(service: string, action: string, parameters: unknown): Promise<unknown> {
    this.calls.push({ service, action, parameters });
    if (service === 'cloudwatch' && action === 'describeAlarms') return { MetricAlarms: [] };
    return {};
  }

  /** Calls that change something (reads excluded). */
  changes(): RecordedCall[] {
    return this.calls.filter((call) => !/^(get|list|describe)/i.test(call.action));
  }
}
