import type { Actor } from '../findings/finding';

/**
 * What the response can act on, read from a finding's actor. CloudTrail's
 * userIdentity is flattened into the finding's actor (ARN, type, access key id);
 * everything the policy needs is derived from those.
 */
export type Principal =
  | { kind: 'root'; arn: string; account: string | undefined }
  | { kind: 'service'; arn: string }
  | { kind: 'user'; arn: string; account: string | undefined; userName: string; accessKeyId?: string }
  | {
      kind: 'role';
      arn: string;
      account: string | undefined;
      roleName: string;
      /** The role's ARN as IAM prints it, without the path (an assumed-role ARN does not carry it). */
      roleArn: string;
      sessionName?: string;
      accessKeyId?: string;
    }
  | { kind: 'other'; arn: string; type: string };

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/;

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  account: string | undefined;
  resource: string;
}

export function parseArn(arn: string): ParsedArn | undefined {
  const match = ARN.exec(arn);
  if (!match) return undefined;
  return {
    partition: match[1] as string,
    service: match[2] as string,
    region: match[3] as string,
    account: match[4] || undefined,
    resource: match[5] as string,
  };
}

/** The last segment of an IAM resource path: `user/ops/alice` → `alice`. */
function lastSegment(path: string): string {
  return path.split('/').filter(Boolean).pop() ?? path;
}

/** A role, from an assumed-role or a role ARN; its ARN rebuilt as IAM prints it, without the path. */
function rolePrincipal(
  actor: Actor,
  parsed: ParsedArn,
  account: string | undefined,
  roleName: string,
): Extract<Principal, { kind: 'role' }> {
  return {
    kind: 'role',
    arn: actor.arn,
    account,
    roleName,
    roleArn: `arn:${parsed.partition}:iam::${parsed.account ?? ''}:role/${roleName}`,
    accessKeyId: actor.accessKeyId,
  };
}

export function principalOf(actor: Actor): Principal {
  const arn = actor.arn;
  const parsed = parseArn(arn);
  const account = actor.account ?? parsed?.account;
  const type = actor.type;
  if (type === 'Root' || (parsed?.service === 'iam' && parsed.resource === 'root')) {
    return { kind: 'root', arn, account };
  }
  if (type === 'AWSService' || arn.endsWith('.amazonaws.com') || type === 'AWSAccount') {
    return { kind: 'service', arn };
  }
  if (parsed?.service === 'iam' && parsed.resource.startsWith('user/')) {
    return {
      kind: 'user',
      arn,
      account,
      userName: lastSegment(parsed.resource.slice('user/'.length)),
      accessKeyId: actor.accessKeyId,
    };
  }
  if (parsed?.service === 'sts' && parsed.resource.startsWith('assumed-role/')) {
    const [, roleName = '', ...session] = parsed.resource.split('/');
    return {
      ...rolePrincipal(actor, parsed, account, roleName),
      sessionName: actor.sessionName ?? (session.join('/') || undefined),
    };
  }
  if (parsed?.service === 'iam' && parsed.resource.startsWith('role/')) {
    return rolePrincipal(actor, parsed, account, lastSegment(parsed.resource.slice('role/'.length)));
  }
  return { kind: 'other', arn, type };
}

/** `*` any run of characters, `?` one; everything else literal. Case-sensitive, like IAM ARNs. */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(value);
}

/**
 * Does a protected-principal entry cover this principal? An entry is an ARN
 * (wildcards allowed), a role/user ARN with a path (compared by account and name,
 * because an assumed-role ARN drops the path), or a bare user or role name.
 */
export function isCoveredBy(entry: string, principal: Principal): boolean {
  const candidates = [principal.arn];
  if (principal.kind === 'role') candidates.push(principal.roleArn);
  if (candidates.some((candidate) => globMatch(entry, candidate))) return true;
  const name =
    principal.kind === 'role' ? principal.roleName : principal.kind === 'user' ? principal.userName : '';
  if (!entry.startsWith('arn:')) return name !== '' && globMatch(entry, name);
  const parsed = parseArn(entry);
  if (parsed?.service !== 'iam') return false;
  if (entry.includes('*') || entry.includes('?')) return false;
  const [type] = parsed.resource.split('/');
  const sameKind =
    (type === 'role' && principal.kind === 'role') || (type === 'user' && principal.kind === 'user');
  const account = principal.kind === 'role' || principal.kind === 'user' ? principal.account : undefined;
  return sameKind && lastSegment(parsed.resource) === name && (!parsed.account || parsed.account === account);
}
