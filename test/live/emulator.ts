/**
 * The AWS-compatible emulator the live suite runs against, if any: set
 * HONEYTRAIL_EMULATOR=moto (CI does; test/live/setup/moto.ts starts one on
 * loopback unless AWS_ENDPOINT_URL points at a running one). Against a real
 * account the variable is unset and every assertion runs.
 *
 * An emulator lacks some behaviours. A test skips only the assertion that needs
 * one, and its name says which (`gapNote`), so a skip is never silent.
 */

export const EMULATOR_VARIABLE = 'HONEYTRAIL_EMULATOR';

export type Emulator = 'moto';

/** What moto 5 does not do that the live suite checks against a real account. */
export const MOTO_GAPS = {
  iamEnforcement:
    'moto does not enforce IAM policies: a key whose policy denies everything can still call SSM and S3',
  bucketPolicyConditions:
    "moto applies a bucket policy's Deny without evaluating its Condition, so the " +
    'aws:SecureTransport=false statement would deny every object write; the policy is withheld there',
  answeredTaskToken:
    'moto answers InvalidToken for the token of a task already answered, where Step Functions answers TaskTimedOut',
  taskFailureCause: "moto keeps a SendTaskFailure's error but drops its cause",
} as const;

export type EmulatorGap = keyof typeof MOTO_GAPS;

export function emulator(): Emulator | undefined {
  const value = process.env[EMULATOR_VARIABLE];
  if (!value) return undefined;
  if (value !== 'moto')
    throw new Error(`${EMULATOR_VARIABLE}=${value}: the live suite knows only "moto" (or unset for AWS)`);
  return value;
}

/** True when the emulator in use lacks `gap` (never against a real account). */
export function lacks(gap: EmulatorGap): boolean {
  return emulator() === 'moto' && gap in MOTO_GAPS;
}

/**
 * A test title that says, when the emulator lacks `gap`, that the test is
 * skipped and why; use with `it.skipIf(lacks(gap))(gapNote(title, gap), ...)`.
 */
export function gapNote(title: string, gap: EmulatorGap): string {
  return lacks(gap) ? `${title} [skipped on ${emulator()}: ${MOTO_GAPS[gap]}]` : title;
}
