import { isDenied } from '../features/calls';
import { isServiceAddress } from './networks';
import type { Verdict, VerdictInput, VerdictSettings } from './types';

/**
 * A burst of denied calls across many services in a short span: someone trying
 * what a credential can do. A workload or a person meets a denial now and then,
 * in the service they work with; `deniedCalls` denials over `deniedServices`
 * services within `deniedMinutes` is a probe of the credential's reach.
 * Severity: medium; high when the burst spans twice the services and calls.
 */
export function deniedBurst(input: VerdictInput, settings: VerdictSettings): Verdict | undefined {
  const denied = input.calls.filter((call) => isDenied(call.errorCode) && !isServiceAddress(call.sourceIp));
  if (denied.length < settings.deniedCalls) return undefined;
  const spanMs = settings.deniedMinutes * 60_000;
  let best: { from: number; to: number; services: number } | undefined;
  let from = 0;
  for (let to = 0; to < denied.length; to++) {
    while (denied[to]!.time - denied[from]!.time > spanMs) from++;
    const calls = to - from + 1;
    if (calls < settings.deniedCalls) continue;
    const services = new Set(denied.slice(from, to + 1).map((call) => call.service)).size;
    if (services < settings.deniedServices) continue;
    if (
      !best ||
      services > best.services ||
      (services === best.services && calls > best.to - best.from + 1)
    ) {
      best = { from, to, services };
    }
  }
  if (!best) return undefined;
  const burst = denied.slice(best.from, best.to + 1);
  const services = [...new Set(burst.map((call) => call.service))];
  const minutes = Math.max(1, Math.round((burst.at(-1)!.time - burst[0]!.time) / 60_000));
  const wide = services.length >= settings.deniedServices * 2 && burst.length >= settings.deniedCalls * 2;
  return {
    verdict: 'denied-burst',
    severity: wide ? 'high' : 'medium',
    reason: `${burst.length} denied calls across ${services.length} services (${services.slice(0, 6).join(', ')}) within ${minutes} minute${minutes === 1 ? '' : 's'}: someone probing what this credential may do`,
    evidence: burst.map((call) => call.id),
  };
}
