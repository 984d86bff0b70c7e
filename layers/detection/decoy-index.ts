import { type KnownDecoy, keyIdsOf } from './rules';

/**
 * Lookups from the names a CloudTrail record uses to the decoy they designate,
 * built once per decoy list (the registry, or `replay --decoys`).
 */
export class DecoyIndex {
  readonly resources: readonly KnownDecoy[];
  readonly parameters = new Map<string, KnownDecoy>();
  readonly parametersByArn = new Map<string, KnownDecoy>();
  readonly buckets = new Map<string, KnownDecoy>();
  /** `bucket/key` → object decoy. */
  readonly objects = new Map<string, KnownDecoy>();
  readonly usersByName = new Map<string, KnownDecoy>();
  /** The decoy a call signed by that user or key counts against (its access key when planned). */
  readonly keyByUserArn = new Map<string, KnownDecoy>();
  readonly keyById = new Map<string, KnownDecoy>();
  /**
   * Alias name, alias ARN, key ARN or key id → the parameters' key. The registry's
   * entry is the only source: no template or environment names the key.
   */
  readonly keys = new Map<string, KnownDecoy>();
  /** Secrets Manager secrets by name. */
  readonly secrets = new Map<string, KnownDecoy>();

  /**
   * `options.keyArn`: the key's ARN when the decoy list knows the key by its alias
   * only (replay of an older registry, the tests); the registry's own entry is preferred.
   */
  constructor(decoys: readonly KnownDecoy[], options: { keyArn?: string } = {}) {
    this.resources = decoys;
    for (const decoy of decoys) {
      switch (decoy.kind) {
        case 'ssm-parameter':
          this.parameters.set(decoy.name, decoy);
          this.parametersByArn.set(decoy.arn, decoy);
          break;
        case 's3-bucket':
          this.buckets.set(decoy.name, decoy);
          break;
        case 'secretsmanager-secret':
          this.secrets.set(decoy.name, decoy);
          break;
        case 's3-object':
          if (decoy.bucket) this.objects.set(`${decoy.bucket}/${decoy.name}`, decoy);
          break;
        case 'iam-user':
          this.usersByName.set(decoy.name, decoy);
          if (!this.keyByUserArn.has(decoy.arn)) this.keyByUserArn.set(decoy.arn, decoy);
          break;
        case 'iam-access-key':
          // The plan names the key by its user (arn = the user's ARN); the registry adds its id.
          this.keyByUserArn.set(decoy.arn, decoy);
          for (const id of keyIdsOf(decoy)) this.keyById.set(id, decoy);
          break;
        case 'kms-key':
          // An AWS managed key (alias/aws/ssm: member accounts' parameters) is used by
          // everything in the account: never a decoy of its own.
          if (decoy.name.startsWith('alias/aws/')) break;
          for (const reference of [decoy.name, decoy.arn, options.keyArn]) {
            if (!reference) continue;
            this.keys.set(reference, decoy);
            const keyArn = /^(arn:[^:]+:kms:[^:]*:[^:]*):key\/([^/]+)$/.exec(reference);
            if (!keyArn) continue;
            // A key ARN also stands for its bare key id (DisableKey, ScheduleKeyDeletion take
            // either), and an alias name for the alias ARN in the key's account and region.
            this.keys.set(keyArn[2]!, decoy);
            if (decoy.name.startsWith('alias/')) this.keys.set(`${keyArn[1]}:${decoy.name}`, decoy);
          }
          break;
      }
    }
  }

  /** The parameter a name designates: `/a/b`, `/a/b:3`, `/a/b:label` or its ARN in any region. */
  parameter(reference: unknown): KnownDecoy | undefined {
    if (typeof reference !== 'string') return undefined;
    let name = reference;
    if (name.startsWith('arn:')) {
      const at = name.indexOf(':parameter');
      if (at < 0) return undefined;
      name = name.slice(at + ':parameter'.length);
      if (!name.startsWith('/')) name = `/${name}`;
    }
    // Parameter names cannot hold a colon: what follows one is a version or a label.
    const colon = name.indexOf(':');
    if (colon >= 0) name = name.slice(0, colon);
    return this.parameters.get(name) ?? (name.startsWith('/') ? undefined : this.parameters.get(`/${name}`));
  }

  /**
   * The secret a secret id designates: its name, a partial ARN (`...:secret:name`)
   * or the full ARN (`...:secret:name-AbCdEf`, the six characters Secrets Manager
   * appends), in any region. Exact: `name-old` is not `name`.
   */
  secret(reference: unknown): KnownDecoy | undefined {
    if (typeof reference !== 'string') return undefined;
    if (!reference.startsWith('arn:')) return this.secrets.get(reference);
    const at = reference.indexOf(':secret:');
    if (at < 0 || reference.split(':')[2] !== 'secretsmanager') return undefined;
    const name = reference.slice(at + ':secret:'.length);
    const full = /^(.+)-[A-Za-z0-9]{6}$/.exec(name);
    const decoy = this.secrets.get(name) ?? (full ? this.secrets.get(full[1]!) : undefined);
    // Another account's secret of the same name is not ours (a cross-account read by ARN).
    const account = reference.split(':')[4];
    return decoy && account && account !== decoy.arn.split(':')[4] ? undefined : decoy;
  }

  /** The parameters GetParametersByPath(`path`, `recursive`) returns. */
  parametersUnder(path: unknown, recursive: boolean): KnownDecoy[] {
    if (typeof path !== 'string' || !path.startsWith('/')) return [];
    const base = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const found: KnownDecoy[] = [];
    for (const [name, decoy] of this.parameters) {
      const parent = name.slice(0, name.lastIndexOf('/')) || '/';
      const below = base === '/' ? name.startsWith('/') : name.startsWith(`${base}/`);
      if (parent === base || (recursive && below)) found.push(decoy);
    }
    return found;
  }
}
