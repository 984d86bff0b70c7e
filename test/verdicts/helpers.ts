import type { History, HistoryPair } from '../../layers/features/baseline';
import type { Principal } from '../../layers/features/principal';
import type { CallTrace } from '../../layers/verdicts';

export const T0 = Date.parse('2024-05-13T10:00:00Z');
const MINUTE = 60_000;

let sequence = 0;
/** A call `minutes` after T0; `call` is service:EventName. */
export function call(
  minutes: number,
  api: string,
  fields: Partial<Omit<CallTrace, 'time' | 'service' | 'eventName'>> = {},
): CallTrace {
  const [service, eventName] = api.split(':') as [string, string];
  return {
    id: fields.id ?? `ev-${++sequence}`,
    time: T0 + minutes * MINUTE,
    service,
    eventName,
    sourceIp: '198.51.100.23',
    ...fields,
  };
}

export const ROLE = 'arn:aws:iam::111122223333:role/orders-api-task';

export function session(sessionName: string, roleArn = ROLE): Principal {
  const role = roleArn.split('/').pop()!;
  const arn = `arn:aws:sts::111122223333:assumed-role/${role}/${sessionName}`;
  return { key: arn, identity: roleArn, arn, type: 'AssumedRole', sessionName, account: '111122223333' };
}

export const USER: Principal = {
  key: 'AKIAEXAMPLEKEY000001',
  identity: 'arn:aws:iam::111122223333:user/alice',
  arn: 'arn:aws:iam::111122223333:user/alice',
  type: 'IAMUser',
  accessKeyId: 'AKIAEXAMPLEKEY000001',
  account: '111122223333',
};

/** A history seen from these addresses over `windows` windows. */
export function history(addresses: readonly string[], windows = 24): History {
  return {
    windows,
    sourceIps: new Map(addresses.map((ip) => [ip, windows])),
    userAgents: new Map(),
    apis: new Map(),
    regions: new Map(),
    hours: new Array(24).fill(0),
    featureSum: [0],
    featureSumSq: [0],
  };
}

export function roleHistory(addresses: readonly string[]): HistoryPair {
  return { own: undefined, identity: history(addresses) };
}
