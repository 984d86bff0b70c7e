import type { CloudTrailRecord } from '../cloudtrail/record';

/** Who made a call, as scoring groups calls: one principal, one row per time window. */
export interface Principal {
  /**
   * What calls are grouped by: a long-term access key (AKIA...), else the role
   * session (assumed-role ARN), else the ARN. Temporary keys (ASIA...) are not
   * used as the key: they change every session, so no history would ever build up.
   * An anonymous caller (no credentials: an unsigned request to a public S3 bucket)
   * has no identity at all, so it is keyed by its source address (`anonymous:<ip>`).
   */
  readonly key: string;
  /**
   * The stable identity behind the key: the IAM user or role ARN. A principal
   * without history of its own (a new role session) is judged against it.
   */
  readonly identity: string;
  readonly arn: string;
  /** CloudTrail userIdentity.type: IAMUser, AssumedRole, Root, AWSService, ... */
  readonly type: string;
  readonly accessKeyId?: string;
  readonly sessionName?: string;
  readonly account?: string;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/;

/** The grouping key of a caller: its long-term access key (AKIA...), else its ARN (see Principal.key). */
export function principalKeyOf(accessKeyId: string | undefined, arn: string): string {
  return accessKeyId?.startsWith('AKIA') ? accessKeyId : arn;
}

/** What CloudTrail writes as the account of an unsigned request (userIdentity type AWSAccount, principalId ""). */
export const ANONYMOUS_ACCOUNT = 'ANONYMOUS_PRINCIPAL';
/** The identity every anonymous caller is judged against: they share one history. */
export const ANONYMOUS_IDENTITY = 'anonymous';

/**
 * Whether a record's caller is anonymous: CloudTrail's ANONYMOUS_PRINCIPAL account,
 * or an identity with an empty principalId and nothing else to tell callers apart
 * (no ARN, key or invoking service).
 */
export function isAnonymousCaller(record: CloudTrailRecord): boolean {
  const identity = record.userIdentity;
  if (!identity) return false;
  if (identity.accountId === ANONYMOUS_ACCOUNT) return true;
  return identity.principalId === '' && !identity.arn && !identity.accessKeyId && !identity.invokedBy;
}

/** The principal of a record. Missing fields fall back, never throw. */
export function principalOf(record: CloudTrailRecord): Principal {
  const identity = record.userIdentity ?? {};
  const type = identity.type ?? 'Unknown';
  // Anonymous callers would all collapse into one principal (`AWSAccount:`): keyed by
  // address instead, each scanner is a principal of its own.
  if (isAnonymousCaller(record)) {
    const key = `${ANONYMOUS_IDENTITY}:${record.sourceIPAddress || 'unknown'}`;
    return { key, identity: ANONYMOUS_IDENTITY, arn: key, type };
  }
  const account = identity.accountId ?? record.recipientAccountId;
  const accessKeyId = identity.accessKeyId || undefined;
  const arn =
    identity.arn ||
    (identity.invokedBy ? `service:${identity.invokedBy}` : `${type}:${identity.principalId ?? 'unknown'}`);

  // A role session is judged against its role: the session issuer, else the role named in the session ARN.
  const assumed = ASSUMED_ROLE.exec(arn);
  const isSession = type === 'AssumedRole' || assumed !== null;
  const roleArn =
    identity.sessionContext?.sessionIssuer?.arn ??
    (assumed ? `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` : arn);
  return {
    key: principalKeyOf(accessKeyId, arn),
    identity: isSession ? roleArn : arn,
    arn,
    type,
    ...(accessKeyId && { accessKeyId }),
    ...(assumed && { sessionName: assumed[4] }),
    ...(account && { account }),
  };
}
