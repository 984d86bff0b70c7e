import { type Severity, severities } from '../config/vocabulary';

/**
 * What a matched call amounts to, and the severity and finding kind of each. One
 * table, so the severity of a touch is decided in one place.
 */
export const touchCategories = {
  /** Any call signed by the decoy user's key: the key leaked and someone holds it. */
  'key-use': {
    severity: 'critical',
    kind: 'resource-access',
    label: 'call signed with a registered access key',
  },
  /** The trail stopped, deleted or narrowed. */
  'trail-tamper': { severity: 'critical', kind: 'tamper', label: 'change to the audit trail' },
  /** A routing rule or the central bus deleted, disabled or re-pointed. */
  'rule-tamper': { severity: 'critical', kind: 'tamper', label: 'change to the event routing' },
  /** A decoy changed or deleted by anyone but the planter. */
  'resource-change': { severity: 'high', kind: 'tamper', label: 'change to a registered resource' },
  'parameter-read': { severity: 'high', kind: 'resource-access', label: 'read of a registered parameter' },
  'parameter-decrypt': {
    severity: 'high',
    kind: 'resource-access',
    label: 'decryption of a registered parameter',
  },
  /** The decoy was in the answer to a path read, among whatever else lives there. */
  'parameter-path-read': {
    severity: 'medium',
    kind: 'resource-access',
    label: 'path read returning a registered parameter',
  },
  /**
   * A path read with decryption (`withDecryption: true`) whose path covers the decoy: its
   * value left SSM in clear, as with GetParameter. CloudTrail logs no response elements for
   * GetParametersByPath, so the match is on the requested path and recursion.
   */
  'parameter-path-decrypt': {
    severity: 'high',
    kind: 'resource-access',
    label: 'path read with decryption returning a registered parameter',
  },
  /**
   * DescribeParameters filtered on the decoy's name: metadata only (no value), but aimed at
   * this one parameter. A listing without that filter is not a touch.
   */
  'parameter-lookup': { severity: 'low', kind: 'resource-access', label: 'lookup of a registered parameter' },
  /** GetSecretValue, BatchGetSecretValue naming it: the value left Secrets Manager. */
  'secret-read': { severity: 'high', kind: 'resource-access', label: 'read of a registered secret' },
  /** KMS Decrypt with the secret's ARN in the encryption context. */
  'secret-decrypt': { severity: 'high', kind: 'resource-access', label: 'decryption of a registered secret' },
  /**
   * DescribeSecret and other metadata reads: no value, but someone looked at this one
   * secret (its key, rotation, tags). Medium, not low: listing every secret is ListSecrets
   * (not a touch); describing one is aimed. Service-linked inventory (AWS Config) is skipped.
   */
  'secret-describe': { severity: 'medium', kind: 'resource-access', label: 'lookup of a registered secret' },
  /** Object reads, writes and listings in the bait bucket. */
  'object-access': { severity: 'high', kind: 'resource-access', label: 'access to the registered bucket' },
  /** Bucket settings read: what inventory scanners do to every bucket. */
  'bucket-read': {
    severity: 'low',
    kind: 'resource-access',
    label: 'read of the registered bucket settings',
  },
  /** The planted user looked up (GetUser, ListAccessKeys...): inventory scanners again. */
  'user-read': { severity: 'low', kind: 'resource-access', label: 'lookup of the registered user' },
  /** Any other call naming a decoy. */
  other: { severity: 'medium', kind: 'resource-access', label: 'call naming a registered resource' },
} as const satisfies Record<
  string,
  { severity: Severity; kind: 'resource-access' | 'tamper'; label: string }
>;

export type TouchCategory = keyof typeof touchCategories;

/** Position in the config's `severities`, lowest first. */
export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}
