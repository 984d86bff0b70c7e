import type { TrafficMeasure } from './measure';

/**
 * The drill's measure the cost model scales by default: `measureTraffic` over
 * `measuredSample` of the shipped scenario (layers/drill/scenarios/leaked-developer-key.json),
 * played through the rules the default config synthesizes. test/cost/measured.test.ts
 * measures it again and fails when the rules or the scenario change it: update it then.
 */
export const MEASURED: TrafficMeasure & { source: string } = {
  source: 'the drill: leaked-developer-key, one day of benign activity through the default config’s rules',
  records: 6257,
  logged: 6257,
  dataEvents: 0,
  forwarded: 1017,
  touchInvocations: 1155,
  recordsRouted: 948,
  logFiles: 175,
  windowUpdates: 233,
};
