import { createHash } from 'node:crypto';
import * as z from 'zod';
import { baitObjectKinds, secretFormats, secretsManagerFormats } from '../config/vocabulary';
import { issueLines } from '../runtime/issues';
import { type Decoy, type DecoyPlan, type DecoyShape, decoyKinds } from './catalogue';

/**
 * What the planter plants: the plan (chosen names, naming.ts) plus the service
 * and environment the decoys pretend to belong to (tags, descriptions, file
 * contents). It lives in the registry only; the template carries the shape
 * (encodeShape), which names nothing the planter chose.
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
  secretFormat: z.enum(secretsManagerFormats).optional(),
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
      if (item.kind === 'secretsmanager-secret' && !item.secretFormat)
        ctx.addIssue({
          code: 'custom',
          path: ['items', i, 'secretFormat'],
          message: 'a secret needs a secretFormat',
        });
      if (item.kind === 's3-object' && (!item.objectKind || item.bucket !== bucket))
        ctx.addIssue({
          code: 'custom',
          path: ['items', i],
          message: `an object needs an objectKind and the planned bucket (${bucket ?? 'none planned'})`,
        });
    });
    const encrypted = spec.items.some(
      (d) => d.kind === 'ssm-parameter' || d.kind === 'secretsmanager-secret',
    );
    if (encrypted && !spec.items.some((d) => d.kind === 'kms-key'))
      ctx.addIssue({
        code: 'custom',
        path: ['items'],
        message: 'parameters need the kms-key item (its alias)',
      });
  });

export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/** The registry's form of a spec (and of a `Plan` property written by an older version). */
/** A custom-resource property (JSON text, or already parsed): a bad value names the property and what is wrong. */
function parseProperty<T>(text: unknown, property: string, schema: z.ZodType<T>): T {
  let raw: unknown = text;
  if (typeof text === 'string') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new SpecError(`${property} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = issueLines(result.error, { prefix: [property] });
    throw new SpecError(`invalid ${property}: ${problems.join('; ')}`);
  }
  return result.data;
}

export function encodeSpec(spec: PlantSpec): string {
  const items = spec.plan.resources.map(({ leadsTo: _leadsTo, ...rest }) => rest);
  return JSON.stringify({ service: spec.service, environment: spec.environment, items });
}

/** Parses the `Plan` property; a bad value names the property path and what is wrong. */
export function decodeSpec(text: unknown, property = 'Plan'): PlantSpec {
  const { service, environment, items } = parseProperty(text, property, encodedSpecSchema);
  return { service, environment, plan: { resources: items as Decoy[] } };
}

/** The spec as stored in the registry (same shape as the property, parsed). */
export function specRecord(spec: PlantSpec): { service: string; environment: string; items: Decoy[] } {
  return JSON.parse(encodeSpec(spec));
}

export interface SpecParts {
  parameters: Decoy[];
  /** Secrets Manager secrets. */
  secrets: Decoy[];
  bucket: Decoy | undefined;
  objects: Decoy[];
  user: Decoy | undefined;
  keyAlias: string | undefined;
  /** From the ARNs: the planter writes into its own account and region. */
  account: string | undefined;
  partition: string;
}

export function specParts(spec: PlantSpec): SpecParts {
  const decoys = spec.plan.resources;
  const withAccount = decoys.find((d) => /^arn:[^:]+:[^:]+:[^:]*:\d{12}:/.test(d.arn));
  return {
    parameters: decoys.filter((d) => d.kind === 'ssm-parameter'),
    secrets: decoys.filter((d) => d.kind === 'secretsmanager-secret'),
    bucket: decoys.find((d) => d.kind === 's3-bucket'),
    objects: decoys.filter((d) => d.kind === 's3-object'),
    user: decoys.find((d) => d.kind === 'iam-user'),
    keyAlias: decoys.find((d) => d.kind === 'kms-key')?.name,
    account: withAccount?.arn.split(':')[4],
    partition: decoys[0]?.arn.split(':')[1] ?? 'aws',
  };
}

// --- the shape: the custom resource's `Shape` property -----------------------------

const shapeSchema = z
  .object({
    environment: z.string().min(1),
    prefix: z.string().default(''),
    service: z.string().default(''),
    parameters: z.array(z.object({ format: z.enum(secretFormats), name: z.string().min(1).optional() })),
    bucket: z
      .object({ name: z.string().min(1).optional(), objects: z.array(z.enum(baitObjectKinds)) })
      .optional(),
    user: z.object({ name: z.string().min(1).optional() }).optional(),
    secrets: z
      .array(z.object({ format: z.enum(secretsManagerFormats), name: z.string().min(1).optional() }))
      .optional(),
  })
  .strict();

/**
 * The `Shape` property: kinds, counts, formats and bait object kinds, plus only
 * the names the user configured. Short neutral keys; no generated name, no
 * service word unless the user set one.
 */
export function encodeShape(shape: DecoyShape): string {
  return JSON.stringify({
    environment: shape.environment,
    ...(shape.prefix ? { prefix: shape.prefix } : {}),
    ...(shape.service ? { service: shape.service } : {}),
    parameters: shape.parameters.map((p) =>
      p.name ? { format: p.format, name: p.name } : { format: p.format },
    ),
    ...(shape.bucket
      ? {
          bucket: {
            ...(shape.bucket.name ? { name: shape.bucket.name } : {}),
            objects: shape.bucket.objects,
          },
        }
      : {}),
    ...(shape.user ? { user: shape.user.name ? { name: shape.user.name } : {} } : {}),
    ...(shape.secrets && shape.secrets.length > 0
      ? {
          secrets: shape.secrets.map((p) =>
            p.name ? { format: p.format, name: p.name } : { format: p.format },
          ),
        }
      : {}),
  });
}

export function decodeShape(text: unknown, property = 'Shape'): DecoyShape {
  return parseProperty(text, property, shapeSchema) as DecoyShape;
}

/** A short hash of the shape: the `Revision` property, so a changed shape is an Update. */
export function shapeRevision(shape: DecoyShape): string {
  return createHash('sha256').update(encodeShape(shape)).digest('hex').slice(0, 12);
}
