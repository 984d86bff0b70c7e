import { type KnownDecoy, keyIdsOf } from './rules';

/**
 * Lookups from the names a CloudTrail record uses to the decoy they designate,
 * built once per decoy list (the registry, or `replay --decoys`).
 */
export class DecoyIndex {
  readonly decoys: readonly KnownDecoy[];
  readonly parameters = new Map<string, KnownDecoy>();
  readonly parametersByArn = new Map<string, KnownDecoy>();
  readonly buckets = new Map<string, KnownDecoy>();
  /** `bucket/key` → object decoy. */
  readonly objects = new Map<string, KnownDecoy>();
  readonly usersByName = new Map<string, KnownDecoy>();
  /** The decoy a call signed by that user or key counts against (its access key when planned). */
  readonly keyByUserArn = new Map<string, KnownDecoy>();
  readonly keyById = new Map<string, KnownDecoy>();
  /** Alias name, alias ARN or key ARN → the parameters' key. */
  readonly keys = new Map<string, KnownDecoy>();

  constructor(decoys: readonly KnownDecoy[], options: { keyArn?: string } = {}) {
    this.decoys = decoys;
    for (const decoy of decoys) {
      switch (decoy.kind) {
        case 'ssm-parameter':
          this.parameters.set(decoy.name, decoy);
          this.parametersByArn.set(decoy.arn, decoy);
          break;
        case 's3-bucket':
          this.buckets.set(decoy.name, decoy);
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
          this.keys.set(decoy.name, decoy);
          this.keys.set(decoy.arn, decoy);
          if (options.keyArn) this.keys.set(options.keyArn, decoy);
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
