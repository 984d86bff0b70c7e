import * as z from 'zod';
import { decoyKinds } from '../decoys/catalogue';
import { issueLines } from '../runtime/issues';
import { readJsonFile } from '../runtime/json-file';
import type { KnownDecoy } from './rules';

/**
 * Reads a decoy list for `replay --decoys`: the `plan --json` format
 * (`{"decoys":[{kind,name,arn,...}]}`), optionally with the registry's key ids
 * (`accessKeyIds`, `retiredAccessKeyIds`) on the access key, so that old logs can
 * be matched on a key id too.
 */
const decoySchema = z
  .object({
    kind: z.enum(decoyKinds),
    name: z.string().min(1),
    arn: z.string().min(1),
    bucket: z.string().optional(),
    accessKeyIds: z.array(z.string()).optional(),
    retiredAccessKeyIds: z.array(z.string()).optional(),
  })
  .passthrough();

/** `resources` is what `plan --json` writes; `decoys`, the list's former key, is still read. */
const planSchema = z
  .object({ resources: z.array(decoySchema).optional(), decoys: z.array(decoySchema).optional() })
  .refine((plan) => plan.resources !== undefined || plan.decoys !== undefined, {
    message: 'expected a "resources" list',
    path: ['resources'],
  });

export function parseDecoyPlan(raw: unknown, source: string): KnownDecoy[] {
  const result = planSchema.safeParse(raw);
  if (!result.success) {
    const problems = issueLines(result.error, { prefix: ['decoys file'] });
    throw new Error(`${source} is not a decoy plan (the \`plan --json\` format): ${problems.join('; ')}`);
  }
  return (result.data.resources ?? result.data.decoys ?? []) as KnownDecoy[];
}

export function readDecoyPlan(path: string): KnownDecoy[] {
  return parseDecoyPlan(readJsonFile(path, '--decoys'), path);
}
