import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordsFromText } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { principalOf, windowStartOf } from '../../layers/features';
import { injectAttack, syntheticActivity, syntheticIdentity } from '../../layers/scoring/synthetic';
import { trainModel } from '../../layers/scoring/train';

export const STRATUS = join(__dirname, '..', 'data', 'cloudtrail', 'stratus-detonations');
const START = Date.parse('2024-05-06T00:00:00Z');
/** Seven days to learn from, three to score. */
export const CUT = Date.parse('2024-05-13T00:00:00Z');

export function stratus(technique: string): CloudTrailRecord[] {
  const file = `${technique}.json`;
  return recordsFromText(readFileSync(join(STRATUS, file), 'utf8'), file);
}

/**
 * Real attack records (Stratus Red Team detonations) re-attributed to the
 * synthetic account's principals at times an intruder would plausibly act: a
 * developer's key used in the evening and at night, the CI role's credentials
 * outside CI hours, the nightly job's role at midday, an application role's
 * credentials (stolen from the instance) used from outside while the application
 * keeps working, and a brand-new principal.
 */
export const ATTACKS: readonly { technique: string; as: string | undefined; at: string }[] = [
  {
    technique: 'aws.credential-access.secretsmanager-retrieve-secrets',
    as: 'alice',
    at: '2024-05-13T21:10:00Z',
  },
  { technique: 'aws.persistence.iam-create-admin-user', as: 'bob', at: '2024-05-14T23:40:00Z' },
  { technique: 'aws.defense-evasion.cloudtrail-stop', as: 'ci', at: '2024-05-15T03:15:00Z' },
  {
    technique: 'aws.credential-access.ssm-retrieve-securestring-parameters',
    as: 'nightly-report',
    at: '2024-05-14T14:05:00Z',
  },
  { technique: 'aws.persistence.iam-backdoor-user', as: undefined, at: '2024-05-15T10:20:00Z' },
  { technique: 'aws.discovery.ec2-download-user-data', as: 'carol', at: '2024-05-13T04:30:00Z' },
  {
    technique: 'aws.credential-access.ec2-steal-instance-credentials',
    as: 'orders-api',
    at: '2024-05-15T02:30:00Z',
  },
];

export function windowId(record: CloudTrailRecord, windowMinutes = 60): string {
  return `${principalOf(record).key}|${windowStartOf(Date.parse(record.eventTime), windowMinutes)}`;
}

let cached: ReturnType<typeof build> | undefined;

function build() {
  const all = [...syntheticActivity({ days: 10 })];
  const history = all.filter((r) => Date.parse(r.eventTime) < CUT);
  const benign = all.filter((r) => Date.parse(r.eventTime) >= CUT);
  const attacks = ATTACKS.map(({ technique, as, at }) => {
    const day = Math.floor((Date.parse(at) - START) / 86_400_000);
    return {
      technique,
      as,
      records: injectAttack(stratus(technique), {
        at: new Date(at),
        ...(as && { as: syntheticIdentity(as, day) }),
      }),
    };
  });
  const result = trainModel(history);
  if (result.status !== 'trained') throw new Error(`scenario did not train: ${result.message}`);
  return { history, benign, attacks, model: result.model };
}

/** The scenario, trained once per test file. */
export function scenario() {
  cached ??= build();
  return cached;
}
