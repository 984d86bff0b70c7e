import type { HistoryPair } from '../features/baseline';
import { isPublicAddress, isServiceAddress, networkOf } from './networks';
import type { CallTrace } from './trace';
import { shortName, type Verdict, type VerdictInput } from './types';

/**
 * Credentials of a compute role (an EC2 instance profile, an ECS task role, a
 * Lambda function's role) used from an address outside the role's network history.
 *
 * How the session is recognised, from CloudTrail's own records:
 * - EC2: the metadata service hands out credentials whose session context carries
 *   `ec2RoleDelivery` ("1.0"/"2.0" for IMDSv1/v2), and the session is named after
 *   the instance (`i-0abc...`); see the Stratus Red Team detonation
 *   aws.credential-access.ec2-steal-instance-credentials in test/data.
 * - ECS: a task role's session is named after the task id (32 hex digits), and the
 *   SDKs in a task add `exec-env/AWS_ECS_FARGATE` or `AWS_ECS_EC2` to the user agent.
 * - Lambda: the runtime's SDKs add `exec-env/AWS_Lambda_<runtime>` to the user agent
 *   (the session is named after the function, which says nothing on its own), so a
 *   Lambda session is recognised when its window also holds the function's own calls.
 *
 * Outside: a public address whose /16 network the role (or this session) has never
 * been seen from. Offline there is no list of AWS's address ranges, so "outside AWS"
 * is "a public address in none of the role's networks": a workload behind a NAT
 * gateway or a VPC endpoint keeps its few addresses; a stolen credential used from
 * a laptop or a VPS does not. Calls whose user agent carries the runtime's own
 * marker are the workload itself and are never outside. Without any history of the
 * role there is nothing to compare with, and no verdict.
 */
export type ComputeKind = 'ec2-instance' | 'ecs-task' | 'lambda-function';

const INSTANCE_ID = /^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$/i;
const TASK_ID = /^[0-9a-f]{32}$/;
const ECS_RUNTIME = /exec-env\/AWS_ECS_/;
const LAMBDA_RUNTIME = /exec-env\/AWS_Lambda_/;

const KIND_WORDS: Record<ComputeKind, { what: string; runtime?: RegExp }> = {
  'ec2-instance': { what: 'EC2 instance profile' },
  'ecs-task': { what: 'ECS task role', runtime: ECS_RUNTIME },
  'lambda-function': { what: 'Lambda function role', runtime: LAMBDA_RUNTIME },
};

/** Which kind of compute a role session's credentials belong to, from its calls; undefined when none says. */
export function computeKindOf(
  sessionName: string | undefined,
  calls: readonly CallTrace[],
): ComputeKind | undefined {
  if (calls.some((call) => call.ec2RoleDelivery) || (sessionName && INSTANCE_ID.test(sessionName))) {
    return 'ec2-instance';
  }
  if ((sessionName && TASK_ID.test(sessionName)) || calls.some((c) => ECS_RUNTIME.test(c.userAgent ?? ''))) {
    return 'ecs-task';
  }
  if (calls.some((call) => LAMBDA_RUNTIME.test(call.userAgent ?? ''))) return 'lambda-function';
  return undefined;
}

/** The addresses and networks a principal and its role were seen from (from the model's history). */
export function knownNetworks(history: HistoryPair | undefined): {
  windows: number;
  addresses: Set<string>;
  networks: Set<string>;
} {
  const addresses = new Set<string>();
  let windows = 0;
  for (const h of [history?.own, history?.identity]) {
    if (!h) continue;
    windows += h.windows;
    for (const ip of h.sourceIps.keys()) addresses.add(ip);
  }
  const networks = new Set<string>();
  for (const ip of addresses) {
    const network = networkOf(ip);
    if (network) networks.add(network);
  }
  return { windows, addresses, networks };
}

export function computeCredentialsOutside(input: VerdictInput): Verdict | undefined {
  const { principal, calls, history } = input;
  if (principal.type !== 'AssumedRole') return undefined;
  const kind = computeKindOf(principal.sessionName, calls);
  if (!kind) return undefined;
  const known = knownNetworks(history);
  if (known.windows === 0) return undefined;
  const { what, runtime } = KIND_WORDS[kind];
  const outside = calls.filter(
    (call) =>
      !isServiceAddress(call.sourceIp) &&
      isPublicAddress(call.sourceIp) &&
      !known.addresses.has(call.sourceIp) &&
      !known.networks.has(networkOf(call.sourceIp)!) &&
      !runtime?.test(call.userAgent ?? ''),
  );
  if (outside.length === 0) return undefined;
  const addresses = [...new Set(outside.map((call) => call.sourceIp))];
  const seen = [...known.networks].slice(0, 3);
  const seenText =
    seen.length > 0
      ? `it has only been seen from ${seen.join(', ')}${known.networks.size > 3 ? ' and others' : ''}`
      : 'it has only been seen from private addresses and AWS services';
  return {
    verdict: 'compute-credentials-outside',
    severity: 'high',
    reason: `credentials of the ${what} ${shortName(principal.identity)} (session ${principal.sessionName ?? '?'}) made ${outside.length} call${outside.length === 1 ? '' : 's'} from ${addresses.slice(0, 3).join(', ')}, outside the role's networks: ${seenText}; these credentials are meant to be used only by the workload they were issued to`,
    evidence: outside.map((call) => call.id),
  };
}
