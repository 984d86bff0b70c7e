import type { Finding } from '../../layers/findings/finding';
import { findingDigest, MemoryFindingRecords } from '../../layers/findings/records';
import type { Message } from '../../layers/response/messages';
import { MemoryReceivedFindings } from '../../layers/response/received';
import { MemoryRefusalLog } from '../../layers/response/refusals';

/** The intake's verification ports, in memory, with `findings` recorded as their detector would. */
export function issued(...findings: Finding[]) {
  const records = new MemoryFindingRecords();
  for (const finding of findings) void records.record(finding.id, findingDigest(finding));
  const alerts: Message[] = [];
  return {
    records,
    refusals: new MemoryRefusalLog(),
    received: new MemoryReceivedFindings(),
    alerts: { publish: async (message: Message) => void alerts.push(message) },
    sent: alerts,
  };
}
