import { type Cidr, parseCidr, stringInCidr } from '../event-pattern/ip';
import type { Touch } from './classify';

/**
 * The config's allowlist (detection.allowlist): principals and networks whose
 * touches are expected, such as an inventory scanner that reads every parameter.
 * A principal entry is an ARN, matched against the caller's ARN and, for a role
 * session, the role's ARN; a trailing `*` makes it a prefix. A call signed with the
 * planted key itself is never allowlisted: nobody has a reason to hold that key.
 */
export interface AllowlistConfig {
  principalArns: readonly string[];
  cidrs: readonly string[];
}

export type Allowlist = (touch: Touch) => boolean;

export function compileAllowlist(config: AllowlistConfig): Allowlist {
  const exact = new Set(config.principalArns.filter((a) => !a.endsWith('*')));
  const prefixes = config.principalArns.filter((a) => a.endsWith('*')).map((a) => a.slice(0, -1));
  const networks: Cidr[] = config.cidrs.map((text) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`detection.allowlist.cidrs: "${text}" is not a CIDR`);
    return cidr;
  });
  const principalAllowed = (arn: string | undefined) =>
    arn !== undefined && (exact.has(arn) || prefixes.some((p) => arn.startsWith(p)));
  return (touch) => {
    if (touch.category === 'key-use') return false;
    if (principalAllowed(touch.actor.arn) || principalAllowed(touch.issuerArn)) return true;
    const ip = touch.sourceIp;
    return ip !== undefined && networks.some((cidr) => stringInCidr(ip, cidr));
  };
}
