import { parseCidr } from '../event-pattern/ip';
import { tellsIn } from '../stealth/tells';
import { isAwsRegion } from './regions';

/**
 * Checks for config values that a schema regex alone would let through but a
 * deployment (or the deployed code) rejects. Each returns what is wrong as an
 * "expected ..." phrase, or undefined when the value is fine; the schema turns
 * that into `<source>.<key>: expected ... (got <value>)`.
 */
export type Problem = string | undefined;

/** Same parser as the touch function's allowlist (layers/detection/allowlist.ts), so synth and run time agree. */
export function cidrProblem(text: string): Problem {
  if (parseCidr(text)) return undefined;
  return 'expected a CIDR block: an IPv4 address with a prefix length 0-32 (octets 0-255, e.g. 203.0.113.0/24) or an IPv6 address with 0-128 (e.g. 2001:db8::/32)';
}

export function regionProblem(name: string): Problem {
  if (isAwsRegion(name)) return undefined;
  return 'expected an AWS region name such as eu-west-1 (see layers/config/regions.ts)';
}

const RATE_UNITS = ['minute', 'hour', 'day'];

/** Allowed characters per cron field (EventBridge: minutes hours day-of-month month day-of-week year). */
const CRON_FIELDS: [name: string, chars: RegExp][] = [
  ['minutes', /^[0-9,*/-]+$/],
  ['hours', /^[0-9,*/-]+$/],
  ['day-of-month', /^[0-9,*?/LW-]+$/],
  ['month', /^[0-9A-Za-z,*/-]+$/],
  ['day-of-week', /^[0-9A-Za-z,*?L#/-]+$/],
  ['year', /^[0-9,*/-]+$/],
];

/**
 * An EventBridge schedule expression: `rate(N unit)` with N ≥ 1 and the unit
 * singular for 1, plural otherwise (`rate(1 days)` is rejected); or `cron(...)`
 * with six fields, one of day-of-month and day-of-week being `?`.
 */
export function scheduleProblem(expression: string): Problem {
  const accepted =
    'expected rate(N unit) with N ≥ 1 and unit minute|hour|day (plural when N > 1, e.g. rate(1 day), rate(7 days)) or cron(minutes hours day-of-month month day-of-week year)';
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
    if (!RATE_UNITS.includes(singular)) return accepted;
    if (value < 1) return `${accepted}; N must be at least 1`;
    if (value === 1 && unit !== singular) return `${accepted}; write rate(1 ${singular})`;
    if (value > 1 && unit === singular) return `${accepted}; write rate(${value} ${singular}s)`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return accepted;
  const fields = (cron[1] as string).trim().split(/\s+/);
  if (fields.length !== 6) return `${accepted}; cron needs exactly 6 fields, not ${fields.length}`;
  for (const [index, [name, chars]] of CRON_FIELDS.entries()) {
    if (!chars.test(fields[index] as string)) return `${accepted}; the ${name} field is not valid`;
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    return `${accepted}; exactly one of day-of-month and day-of-week must be ? (e.g. cron(0 3 * * ? *))`;
  }
  return undefined;
}

const PARTITION = 'aws(-[a-z]+)*';

/**
 * An ARN as IAM writes them, `arn:partition:service:region:account:resource`.
 * With `wildcards`, `*` and `?` may stand in any part (protected-principal
 * patterns such as `arn:aws:iam::*:role/admin-*`).
 */
export function arnProblem(text: string, options: { wildcards?: boolean } = {}): Problem {
  const shape = options.wildcards
    ? new RegExp(`^arn:(${PARTITION}|\\*):[a-z0-9*?-]+:[a-z0-9*?-]*:([0-9*?]{1,12})?:\\S+$`)
    : new RegExp(`^arn:${PARTITION}:[a-z0-9-]+:[a-z0-9-]*:(\\d{12})?:\\S+$`);
  if (shape.test(text)) return undefined;
  return options.wildcards
    ? 'expected an ARN such as arn:aws:iam::111122223333:role/BreakGlass (* and ? allowed, e.g. arn:aws:iam::*:role/admin-*)'
    : 'expected an ARN such as arn:aws:iam::111122223333:role/Scanner';
}

/**
 * An allowlist entry: an exact principal ARN, or an ARN prefix ending in `*`
 * (the touch function treats only a trailing `*` as a wildcard, so one
 * elsewhere would match nothing).
 */
export function allowlistArnProblem(text: string): Problem {
  const accepted =
    'expected a principal ARN such as arn:aws:iam::111122223333:role/Scanner, or an ARN prefix ending in * such as arn:aws:sts::111122223333:assumed-role/Scanner/*';
  const prefix = text.endsWith('*') ? text.slice(0, -1) : text;
  if (/[*?]/.test(prefix)) return `${accepted}; only a trailing * is a wildcard`;
  if (prefix === text) return arnProblem(text) ? accepted : undefined;
  // The prefix must at least name the partition, service and account, or it allowlists far too much.
  if (!new RegExp(`^arn:${PARTITION}:[a-z0-9-]+:[a-z0-9-]*:\\d{12}:`).test(prefix)) return accepted;
  return undefined;
}

export const TRAIL_NAME_RULES =
  '3-128 letters, digits, ".", "_" or "-", starting and ending with a letter or digit, no two of ".", "_", "-" in a row, not an IP address';

/** CloudTrail trail names (CloudTrail User Guide, "Naming requirements for trails"). */
export function trailNameProblem(name: string): Problem {
  const shaped = /^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/.test(name) && !/[._-]{2}/.test(name);
  if (shaped && !/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return undefined;
  return `expected a trail name of ${TRAIL_NAME_RULES}`;
}

export function trailArnProblem(text: string): Problem {
  const accepted =
    'expected a CloudTrail trail ARN such as arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail';
  const match = new RegExp(`^arn:${PARTITION}:cloudtrail:([a-z0-9-]*):(\\d{12}):trail/(.+)$`).exec(text);
  if (!match) return accepted;
  const region = match[2] as string;
  const name = match[4] as string;
  if (!isAwsRegion(region)) return `${accepted}, in a real region (${region || 'none'} is not one)`;
  if (trailNameProblem(name)) return `${accepted}, the name being ${TRAIL_NAME_RULES}`;
  return undefined;
}

/**
 * SSM parameter names (PutParameter's naming constraints) beyond the schema's
 * character set: not prefixed with aws or ssm (case-insensitive), at most 15
 * levels, no empty level.
 */
export function parameterNameProblem(name: string): Problem {
  const accepted = 'expected a parameter path such as /prod/payments/db-password';
  const levels = name.slice(1).split('/');
  if (/^(aws|ssm)/i.test(levels[0] ?? '')) return `${accepted}, not starting with aws or ssm (reserved)`;
  if (levels.some((level) => level === ''))
    return `${accepted}, with no empty level ("//" or a trailing "/")`;
  if (levels.length > 15) return `${accepted}, at most 15 levels deep`;
  return undefined;
}

/**
 * Secrets Manager secret names (CreateSecret's `Name`): 1-512 of A-Za-z0-9/_+=.@-.
 * A name ending in a hyphen and six characters is refused too: Secrets Manager
 * appends exactly that to the ARN, and such a name makes partial ARNs ambiguous
 * (the service's own advice), which detection relies on.
 */
export function secretNameProblem(name: string): Problem {
  const accepted =
    'expected a secret name such as prod/payments/db-credentials: 1-512 letters, digits and /_+=.@-';
  if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) return accepted;
  if (/-[A-Za-z0-9]{6}$/.test(name))
    return `${accepted}, not ending in a hyphen and six characters (ARN suffix)`;
  return undefined;
}

const BUCKET_RULES =
  '3-63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit, no "..", not an IP address, not starting with xn--, sthree- or amzn-s3-demo-, not ending with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3';

/**
 * S3 general purpose bucket naming rules (Amazon S3 User Guide, "General purpose
 * bucket naming rules"). Returns the first rule broken.
 */
export function bucketNameProblem(name: string): Problem {
  const broken = bucketRuleBroken(name);
  return broken ? `expected an S3 bucket name: ${BUCKET_RULES}; ${broken}` : undefined;
}

function bucketRuleBroken(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `this one has ${name.length} characters`;
  if (!/^[a-z0-9.-]+$/.test(name)) return 'it has a character other than a-z, 0-9, "." and "-"';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'it must start and end with a letter or digit';
  if (name.includes('..')) return 'it has ".."';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'it is shaped like an IP address';
  const prefix = ['xn--', 'sthree-', 'amzn-s3-demo-'].find((p) => name.startsWith(p));
  if (prefix) return `the prefix ${prefix} is reserved`;
  const suffix = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'].find((s) => name.endsWith(s));
  if (suffix) return `the suffix ${suffix} is reserved`;
  return undefined;
}

/**
 * A name the stack deploys must not give it away (design.md, Stealth): the same
 * scanner as the stealth tests.
 */
export function tellProblem(value: string): Problem {
  const [tell] = tellsIn(value);
  if (!tell) return undefined;
  return `expected a name without marker words or UUIDs, which give the deployment away (${tell.reason})`;
}
