import { z } from 'zod';
import { baitObjectKinds, secretFormats } from '../config/schema';
import { issueLines } from '../runtime/issues';
import { type Decoy, type DecoyPlan, decoyKinds } from './catalogue';

/**
 * What the planter is asked to plant: the catalogue's plan plus the service and
 * environment the decoys pretend to belong to (tags, descriptions, file contents).
 *
 * The custom resource carries it as its `Plan` property, which anyone allowed
 * cloudformation:GetTemplate can read. So the encoded form drops what only
 * deception needs (`leadsTo`) and does not use the plan's own top-level key
 * (`decoys`, a marker word): `{"service":..,"environment":..,"items":[..]}`.
 */
export interface PlantSpec {
  service: string;
  environment: string;
  plan: DecoyPlan;
}

/** One plan item; the registry stores the same items (registry.ts). */
export const decoySchema = z.object({
  kind: z.enum(decoyKinds),
  name: z.string().min(1),
  arn: z.string().min(1),
  format: z.enum(secretFormats).optional(),
  objectKind: z.enum(baitObjectKinds).optional(),
  bucket: z.string().min(1).optional(),
  leadsTo: z.array(z.string()).optional(),
});

const encodedSpecSchema = z
  .object({
    service: z.string().min(1),
    environment: z.string().min(1),
    items: z.array(decoySchema),
  })
  .superRefine((spec, ctx) => {
    for (const kind of ['s3-bucket', 'iam-user', 'kms-key'] as const) {
      if (spec.items.filter((d) => d.kind === kind).length > 1)
        ctx.addIssue({ code: 'custom', path: ['items'], message: `more than one ${kind}` });
    }
    const bucket = spec.items.find((d) => d.kind === 's3-bucket')?.name;
    spec.items.forEach((item, i) => {
      if (item.kind === 'ssm-parameter' && !item.format)
        ctx.addIssue({ code: 'custom', path: ['items', i, 'format'], message: 'a parameter needs a format' });
      if (item.kind === 's3-object' && (!item.objectKind || item.bucket !== bucket))
        ctx.addIssue({
          code: 'custom',
          path: ['items', i],
          message: `an object needs an objectKind and the planned bucket (${bucket ?? 'none planned'})`,
        });
    });
    if (spec.items.some((d) => d.kind === 'ssm-parameter') && !spec.items.some((d) => d.kind === 'kms-key'))
      ctx.addIssue({
        code: 'custom',
        path: ['items'],
        message: 'parameters need the kms-key item (its alias)',
      });
  });

export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/** The custom resource's `Plan` property. */
export function encodeSpec(spec: PlantSpec): string {
  const items = spec.plan.decoys.map(({ leadsTo: _leadsTo, ...rest }) => rest);
  return JSON.stringify({ service: spec.service, environment: spec.environment, items });
}

/** Parses the `Plan` property; a bad value names the property path and what is wrong. */
export function decodeSpec(text: unknown, property = 'Plan'): PlantSpec {
  let raw: unknown = text;
  if (typeof text === 'string') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new SpecError(`${property} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = encodedSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = issueLines(result.error, { prefix: [property] });
    throw new SpecError(`invalid ${property}: ${problems.join('; ')}`);
  }
  const { service, environment, items } = result.data;
  return { service, environment, plan: { decoys: items as Decoy[] } };
}

/** The spec as stored in the registry (same shape as the property, parsed). */
export function specRecord(spec: PlantSpec): { service: string; environment: string; items: Decoy[] } {
  return JSON.parse(encodeSpec(spec));
}

export interface SpecParts {
  parameters: Decoy[];
  bucket: Decoy | undefined;
  objects: Decoy[];
  user: Decoy | undefined;
  keyAlias: string | undefined;
  /** From the ARNs: the planter writes into its own account and region. */
  account: string | undefined;
  partition: string;
}

export function specParts(spec: PlantSpec): SpecParts {
  const decoys = spec.plan.decoys;
  const withAccount = decoys.find((d) => /^arn:[^:]+:[^:]+:[^:]*:\d{12}:/.test(d.arn));
  return {
    parameters: decoys.filter((d) => d.kind === 'ssm-parameter'),
    bucket: decoys.find((d) => d.kind === 's3-bucket'),
    objects: decoys.filter((d) => d.kind === 's3-object'),
    user: decoys.find((d) => d.kind === 'iam-user'),
    keyAlias: decoys.find((d) => d.kind === 'kms-key')?.name,
    account: withAccount?.arn.split(':')[4],
    partition: decoys[0]?.arn.split(':')[1] ?? 'aws',
  };
}
