/**
 * Reads a Lambda's environment once, at the boundary. A missing or malformed
 * variable is a deployment defect: throw at cold start with its name, rather than
 * fail later on an undefined.
 */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
}

/** The variables a function reads: each required unless `optional`, checked against `pattern`. */
export type EnvironmentSpec = Record<string, { optional?: boolean; pattern?: RegExp; description?: string }>;
/** What readEnvironment returns for a spec: a string per variable, `undefined` only for optional ones. */
export type EnvironmentOf<S extends EnvironmentSpec> = {
  [K in keyof S]: S[K]['optional'] extends true ? string | undefined : string;
};

export function readEnvironment<S extends EnvironmentSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): EnvironmentOf<S> {
  const problems: string[] = [];
  const values: Record<string, string | undefined> = {};
  for (const [name, rule] of Object.entries(spec)) {
    const value = env[name];
    if (value === undefined || value === '') {
      if (!rule.optional)
        problems.push(`${name} is not set${rule.description ? ` (${rule.description})` : ''}`);
      values[name] = undefined;
      continue;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      problems.push(`${name}="${value}" does not match ${rule.pattern}`);
    }
    values[name] = value;
  }
  if (problems.length > 0) throw new EnvironmentError(`environment: ${problems.join('; ')}`);
  return values as EnvironmentOf<S>;
}
