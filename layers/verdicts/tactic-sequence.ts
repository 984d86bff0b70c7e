import { isServiceAddress } from './networks';
import { type Tactic, tacticOf } from './tactics';
import type { CallTrace } from './trace';
import type { Verdict, VerdictInput, VerdictSettings } from './types';

/**
 * One actor moving through the stages of an intrusion within minutes: discovery
 * (who am I, what is here), then credential access (secrets, parameters), then a
 * foothold or cover (persistence, privilege escalation, defense evasion). Each
 * stage alone is routine for someone; the three in order within
 * `sequenceMinutes` are what an attacker with a fresh key does and a pipeline or a
 * developer rarely does. Calls an AWS service made on the actor's behalf
 * (CloudFormation creating roles during a deployment) and calls marked routine in
 * the tactic table do not count as stages.
 */
const LAST_STAGE: ReadonlySet<Tactic> = new Set(['persistence', 'privilege-escalation', 'defense-evasion']);

const WORDS: Record<string, string> = {
  discovery: 'discovery',
  'credential-access': 'credential access',
  persistence: 'persistence',
  'privilege-escalation': 'privilege escalation',
  'defense-evasion': 'defense evasion',
};

interface Staged {
  readonly call: CallTrace;
  readonly tactic: Tactic;
}

export function tacticSequence(input: VerdictInput, settings: VerdictSettings): Verdict | undefined {
  const staged: Staged[] = [];
  for (const call of input.calls) {
    if (isServiceAddress(call.sourceIp)) continue;
    const match = tacticOf(call.service, call.eventName);
    if (match && !match.routine) staged.push({ call, tactic: match.tactic });
  }
  const spanMs = settings.sequenceMinutes * 60_000;
  // For each discovery call (earliest first), the first credential access after it,
  // then the first last-stage call after that, all within the span.
  for (let i = 0; i < staged.length; i++) {
    const discovery = staged[i]!;
    if (discovery.tactic !== 'discovery') continue;
    const deadline = discovery.call.time + spanMs;
    const credential = staged.find(
      (s, k) => k > i && s.tactic === 'credential-access' && s.call.time <= deadline,
    );
    if (!credential) continue;
    const from = staged.indexOf(credential);
    const last = staged.find((s, k) => k > from && LAST_STAGE.has(s.tactic) && s.call.time <= deadline);
    if (!last) continue;
    const lastAllowed = !last.call.errorCode;
    const minutes = Math.max(1, Math.round((last.call.time - discovery.call.time) / 60_000));
    const names = [discovery, credential, last].map((s) => `${s.call.service}:${s.call.eventName}`);
    return {
      verdict: 'tactic-sequence',
      severity: lastAllowed ? 'critical' : 'high',
      reason: `discovery (${names[0]}), then credential access (${names[1]}), then ${WORDS[last.tactic]} (${names[2]}${lastAllowed ? '' : `, ${last.call.errorCode}`}) within ${minutes} minute${minutes === 1 ? '' : 's'}: the course of an intrusion, not of routine work`,
      evidence: [discovery.call.id, credential.call.id, last.call.id],
    };
  }
  return undefined;
}
