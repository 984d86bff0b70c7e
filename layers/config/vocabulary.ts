/**
 * The small enumerations the deployed functions share with the configuration.
 *
 * They live here, apart from schema.ts, because whatever a function imports is
 * bundled into its package, and anyone with `lambda:GetFunction` (ReadOnlyAccess)
 * reads the package. schema.ts brings the whole configuration with it: its
 * defaults, its messages, the validators and the tell scanner's word list. This
 * module imports nothing, so a function that needs a severity or a finding kind
 * ships these lists and nothing more (test/infra/bundles.test.ts checks that no
 * function bundle includes schema.ts). schema.ts re-exports all of it.
 */

export const secretFormats = ['password', 'database-url', 'jwt-signing-key', 'api-token'] as const;
export type SecretFormat = (typeof secretFormats)[number];

/** What a Secrets Manager decoy's value claims to be (layers/decoys/secret-values.ts). */
export const secretsManagerFormats = ['database-credentials', 'api-key'] as const;
export type SecretsManagerFormat = (typeof secretsManagerFormats)[number];

export const baitObjectKinds = ['env-file', 'database-dump', 'terraform-state'] as const;
export type BaitObjectKind = (typeof baitObjectKinds)[number];

export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export const findingKinds = ['resource-access', 'anomaly', 'tamper', 'unlogged-use'] as const;
export type FindingKind = (typeof findingKinds)[number];

export const responseActions = ['notify', 'approve', 'auto'] as const;
export type ResponseAction = (typeof responseActions)[number];
