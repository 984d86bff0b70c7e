import { knownNetworks } from './compute-credentials';
import { isPublicAddress, networkOf } from './networks';
import type { CallTrace } from './trace';
import type { Verdict, VerdictInput, VerdictSettings } from './types';

/**
 * One access key (or one role session) used from two distant networks at once:
 * the credential has been copied. Offline there is no ASN or geolocation data, so
 * "distant" is two public addresses in different /16 networks within
 * `twoNetworksMinutes` (see networks.ts). A key is used from one place at a time:
 * a laptop moves between networks over hours, not minutes. Two networks both in
 * the principal's history (an office and a build runner sharing a key) are a habit,
 * not a copy, so at least one must be new.
 */
export function keyTwoNetworks(input: VerdictInput, settings: VerdictSettings): Verdict | undefined {
  const known = knownNetworks(input.history);
  const spanMs = settings.twoNetworksMinutes * 60_000;
  const byCredential = new Map<string, CallTrace[]>();
  for (const call of input.calls) {
    if (!isPublicAddress(call.sourceIp)) continue;
    const credential = call.accessKeyId ?? input.principal.key;
    const list = byCredential.get(credential) ?? [];
    list.push(call);
    byCredential.set(credential, list);
  }
  for (const [credential, calls] of byCredential) {
    // The latest call seen from each network so far.
    const lastByNetwork = new Map<string, CallTrace>();
    for (const call of calls) {
      const network = networkOf(call.sourceIp)!;
      for (const [other, previous] of lastByNetwork) {
        if (other === network || call.time - previous.time > spanMs) continue;
        if (known.networks.has(network) && known.networks.has(other)) continue;
        const minutes = Math.max(1, Math.round((call.time - previous.time) / 60_000));
        return {
          verdict: 'key-two-networks',
          severity: 'high',
          reason: `${/^A[KS]IA/.test(credential) ? 'access key' : 'session'} ${credential} was used from ${previous.sourceIp} (${other}) and ${call.sourceIp} (${network}) within ${minutes} minute${minutes === 1 ? '' : 's'}: one credential in two places at once has been copied`,
          evidence: [previous.id, call.id],
        };
      }
      lastByNetwork.set(network, call);
    }
  }
  return undefined;
}
