/**
 * Labels suite: does refining the forest's verdict with a classifier trained on
 * `label` feedback (layers/supervised) lower false positives without losing
 * attackers?
 *
 * Data, each scored window with its ground truth:
 * - synthetic weeks: the benign generator (layers/scoring/synthetic.ts) with one
 *   seed per week, 7 days to train the forest on, then 7 days scored, with seven
 *   real attacks (Stratus Red Team detonations, test/data/cloudtrail) re-attributed
 *   to its principals (a developer's key at night, the CI role's session, an
 *   application role's stolen credentials, a brand-new principal...);
 * - the drill's single-account scenarios (layers/drill/scenarios/*.json; the
 *   organization one is left out) as
 *   written: the forest trained on each one's benign history, its played period
 *   scored, its actors' windows the attack.
 * Labels are simulated: a share of the flagged windows (labels come from
 * findings, so only flagged windows are ever labelled) is labelled by ground
 * truth. Held out: each group (a synthetic week; the drill scenarios, which share
 * one benign seed, as one group) is refined by a classifier trained only on the
 * other groups' labels. Three operating points: the model's threshold (the 0.995
 * quantile of training scores), and more sensitive ones (the 0.99 and 0.9
 * quantiles, floored at 0.5), where the forest alone flags more benign windows.
 *
 * Variants: every flagged window labelled or half of them (the mean of a few
 * draws); the default refinement or none of its margin (the classifier alone
 * decides); attacks of a kind the held-out group holds left out of training.
 * Takes about a minute on two cores (--quick: three shorter weeks and the
 * shipped scenario only, about 30 s; too few labels there for the classifier to act).
 *
 * Row: {"suite":"labels","threshold":"model","variant":"default","labelled":1,"windows":2192,"attackers":48,
 *       "benign_flagged":11,"benign_kept":2,...,"attackers_caught":47,"attackers_kept":47}
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordsFromText } from '../../layers/cloudtrail/reader';
import type { CloudTrailRecord } from '../../layers/cloudtrail/record';
import { parseConfig } from '../../layers/config/schema';
import { planDecoys } from '../../layers/decoys/catalogue';
import { type DrillWorld, playScenario } from '../../layers/drill/play';
import { loadScenario } from '../../layers/drill/scenario';
import { principalOf, windowKey, windowStartOf } from '../../layers/features';
import type { ActivityModel } from '../../layers/scoring/model';
import { scoreWindows } from '../../layers/scoring/score';
import { injectAttack, syntheticActivity, syntheticIdentity } from '../../layers/scoring/synthetic';
import { trainModel } from '../../layers/scoring/train';
import {
  type EvaluationOptions,
  type EvaluationResult,
  evaluateRefinement,
  type ScoredExample,
} from '../../layers/supervised';
import type { BenchOptions, BenchRow } from './types';

export const name = 'labels';

const STRATUS = fileURLToPath(new URL('../../test/data/cloudtrail/stratus-detonations/', import.meta.url));
const SCENARIOS = fileURLToPath(new URL('../../layers/drill/scenarios/', import.meta.url));
const WEEK_START = Date.parse('2024-05-06T00:00:00Z');
const CUT = Date.parse('2024-05-13T00:00:00Z');
const DAY_MS = 86_400_000;

/** Real attacks re-attributed to the synthetic principals: technique, whose credentials, when (day after CUT, hour). */
const ATTACKS: readonly { technique: string; as: string | undefined; day: number; at: string }[] = [
  { technique: 'aws.credential-access.secretsmanager-retrieve-secrets', as: 'alice', day: 0, at: '21:10' },
  { technique: 'aws.persistence.iam-create-admin-user', as: 'bob', day: 1, at: '23:40' },
  { technique: 'aws.defense-evasion.cloudtrail-stop', as: 'ci', day: 2, at: '03:15' },
  {
    technique: 'aws.credential-access.ssm-retrieve-securestring-parameters',
    as: 'nightly-report',
    day: 1,
    at: '14:05',
  },
  { technique: 'aws.persistence.iam-backdoor-user', as: undefined, day: 2, at: '10:20' },
  { technique: 'aws.discovery.ec2-download-user-data', as: 'carol', day: 0, at: '04:30' },
  {
    technique: 'aws.credential-access.ec2-steal-instance-credentials',
    as: 'orders-api',
    day: 2,
    at: '02:30',
  },
];

const OPERATING_POINTS = ['model', 'p99', 'p90'] as const;

/**
 * How labels are simulated and used: the default refinement with every flagged
 * window labelled, or half of them; with no margin (the classifier alone decides,
 * however far above the threshold the forest scores); and with each held-out
 * group's kinds of attack never seen in training.
 */
const VARIANTS: readonly { name: string; labelled: number; options: EvaluationOptions }[] = [
  { name: 'default', labelled: 1, options: {} },
  { name: 'default', labelled: 0.5, options: {} },
  { name: 'no-margin', labelled: 1, options: { refine: { keepMargin: Number.POSITIVE_INFINITY } } },
  { name: 'unseen-attacks', labelled: 1, options: { holdOutFamilies: true } },
  {
    name: 'unseen-no-margin',
    labelled: 1,
    options: { holdOutFamilies: true, refine: { keepMargin: Number.POSITIVE_INFINITY } },
  },
];
type OperatingPoint = (typeof OPERATING_POINTS)[number];

/** The last evaluation, for notes(). */
let summary: string[] = [];

export async function run({ json, quick }: BenchOptions): Promise<BenchRow[]> {
  const progress = (text: string) => {
    if (!json && process.stderr.isTTY) process.stderr.write(`  labels: ${text}\n`);
  };
  const seeds = quick ? [21, 22, 23] : [21, 22, 23, 24, 25, 26];
  const days = quick ? 3 : 7;
  const scored: { group: string; model: ActivityModel; examples: Omit<ScoredExample, 'threshold'>[] }[] = [];
  for (const seed of seeds) {
    progress(`synthetic week, seed ${seed} (${days} days scored)`);
    scored.push(syntheticWeek(seed, days));
  }
  const scenarioFiles = readdirSync(SCENARIOS)
    .filter((file) => file.endsWith('.json'))
    .sort();
  for (const file of quick ? ['leaked-developer-key.json'] : scenarioFiles) {
    progress(`drill scenario ${file}`);
    const played = drillScenario(file);
    if (played) scored.push(played);
  }

  const rows: BenchRow[] = [];
  summary = [];
  for (const point of OPERATING_POINTS) {
    const examples = scored.flatMap(({ model, examples: list }) =>
      list.map((example) => ({ ...example, threshold: thresholdOf(model, point) })),
    );
    for (const variant of VARIANTS) {
      // Labelled halves are drawn with a few seeds; the figure is their mean.
      const drawSeeds = variant.labelled === 1 ? [1] : quick ? [1, 2, 3] : [1, 2, 3, 4, 5];
      const results = drawSeeds.map((seed) =>
        evaluateRefinement(examples, { ...variant.options, labelledFraction: variant.labelled, seed }),
      );
      rows.push(rowOf(point, variant.name, variant.labelled, results));
      if (variant.labelled === 1) summary.push(sentenceOf(point, variant.name, results[0]!));
    }
  }
  return rows;
}

export function notes(): string[] {
  return summary;
}

function thresholdOf(model: ActivityModel, point: OperatingPoint): number {
  if (point === 'model') return model.threshold;
  return Math.max(0.5, model.training.scoreQuantiles[point] ?? model.threshold);
}

function rowOf(
  point: OperatingPoint,
  variant: string,
  labelled: number,
  results: readonly EvaluationResult[],
): BenchRow {
  const mean = (pick: (result: EvaluationResult) => number) =>
    Math.round((results.reduce((sum, result) => sum + pick(result), 0) / results.length) * 10) / 10;
  const first = results[0]!;
  return {
    suite: name,
    threshold: point,
    variant,
    labelled,
    windows: first.windows,
    attackers: first.attackers,
    benign_flagged: first.forest.falsePositives,
    benign_kept: mean((r) => r.refined.falsePositives),
    benign_principals_flagged: first.forest.falsePositivePrincipals,
    benign_principals_kept: mean((r) => r.refined.falsePositivePrincipals),
    attack_windows_flagged: first.forest.attackWindows,
    attack_windows_kept: mean((r) => r.refined.attackWindows),
    attackers_caught: first.forest.attackersCaught,
    attackers_kept: mean((r) => r.refined.attackersCaught),
  };
}

function sentenceOf(point: OperatingPoint, variant: string, result: EvaluationResult): string {
  const { forest, refined } = result;
  const lost = result.attackersLost.length > 0 ? ` (lost: ${result.attackersLost.join(', ')})` : '';
  const missed =
    result.attackersMissedByForest.length > 0
      ? `; missed by the forest at this threshold: ${result.attackersMissedByForest.join(', ')}`
      : '';
  return `${point} threshold, ${variant}, ${Math.round(result.folds.reduce((sum, f) => sum + f.attackLabels + f.benignLabels, 0) / result.folds.length)} labels per fold on average: false positives ${forest.falsePositives} -> ${refined.falsePositives} windows (${forest.falsePositivePrincipals} -> ${refined.falsePositivePrincipals} principal-groups); attackers met ${forest.attackersCaught} -> ${refined.attackersCaught} of ${result.attackers}${lost}; attack windows ${forest.attackWindows} -> ${refined.attackWindows}; outcomes ${JSON.stringify(result.outcomes)}${missed}`;
}

function stratus(technique: string): CloudTrailRecord[] {
  const file = `${technique}.json`;
  return recordsFromText(readFileSync(join(STRATUS, file), 'utf8'), file);
}

function syntheticWeek(seed: number, days: number) {
  const group = `week-${seed}`;
  const all = [...syntheticActivity({ days: 7 + days, seed })];
  const history = all.filter((record) => Date.parse(record.eventTime) < CUT);
  const benign = all.filter((record) => Date.parse(record.eventTime) >= CUT);
  const attackRecords = new Map<string, CloudTrailRecord[]>();
  for (const { technique, as, day, at } of ATTACKS) {
    if (day >= days) continue;
    const when = new Date(`${new Date(CUT + day * DAY_MS).toISOString().slice(0, 10)}T${at}:00Z`);
    const identityDay = Math.floor((when.getTime() - WEEK_START) / DAY_MS);
    attackRecords.set(
      `${group}/${technique}`,
      injectAttack(stratus(technique), {
        at: when,
        ...(as && { as: syntheticIdentity(as, identityDay, { seed }) }),
      }),
    );
  }
  return scoredGroup(group, history, [...benign, ...[...attackRecords.values()].flat()], attackRecords, {
    familyOf: (attacker) => attacker.split('/')[1]!,
  });
}

function drillScenario(file: string) {
  const scenario = loadScenario(join(SCENARIOS, file));
  if (scenario.organization) return undefined;
  const played = playScenario(scenario, drillWorld());
  const attackRecords = new Map<string, CloudTrailRecord[]>();
  for (const entry of played.played) {
    if (entry.phase !== 'attack') continue;
    const attacker = `drill/${scenario.name}/${principalOf(entry.record).key}`;
    attackRecords.set(attacker, [...(attackRecords.get(attacker) ?? []), entry.record]);
  }
  return scoredGroup(
    'drill',
    played.history,
    played.played.map((entry) => entry.record),
    attackRecords,
    { principalPrefix: scenario.name, familyOf: () => `drill/${scenario.name}` },
  );
}

/** Train on `history`, score `records`; a window is an attacker's when it holds that attacker's calls. */
function scoredGroup(
  group: string,
  history: readonly CloudTrailRecord[],
  records: readonly CloudTrailRecord[],
  attackRecords: ReadonlyMap<string, readonly CloudTrailRecord[]>,
  how: {
    /** Tells apart the benign principals of groups that share one benign seed (the drill scenarios). */
    principalPrefix?: string;
    /** The kind of attack an attacker is. */
    familyOf: (attacker: string) => string;
  },
) {
  const trained = trainModel(history);
  if (trained.status !== 'trained') throw new Error(`${group}: the forest did not train: ${trained.message}`);
  const model = trained.model;
  const attackerOf = new Map<string, string>();
  for (const [attacker, list] of attackRecords) {
    for (const record of list) {
      const start = windowStartOf(Date.parse(record.eventTime), model.windowMinutes);
      attackerOf.set(windowKey(principalOf(record).key, start), attacker);
    }
  }
  const examples = scoreWindows(model, records, { explainTop: 0 }).map((scoredWindow) => {
    const { window } = scoredWindow;
    const attacker = attackerOf.get(windowKey(window.principal.key, window.windowStart));
    return {
      group,
      principal: `${how.principalPrefix ?? ''}/${window.principal.key}`,
      vector: scoredWindow.features,
      score: scoredWindow.score,
      ...(attacker && { attacker, family: how.familyOf(attacker) }),
    };
  });
  return { group, model, examples };
}

let world: DrillWorld | undefined;

/** The world the drill scenarios are played in: the default config's decoy plan, made up offline. */
function drillWorld(): DrillWorld {
  if (world) return world;
  const account = '111122223333';
  const region = 'eu-west-1';
  const plantedKeyId = 'AKIAQXZ7KD3MPLANTED0';
  world = {
    account,
    homeRegion: region,
    partition: 'aws',
    decoys: planDecoys(parseConfig({}), { account, region }).resources.map((decoy) =>
      decoy.kind === 'iam-access-key' ? { ...decoy, accessKeyId: plantedKeyId } : decoy,
    ),
    plantedKeyId,
    trailName: 'management-events',
    trailArn: `arn:aws:cloudtrail:${region}:${account}:trail/management-events`,
    busName: 'platform-events',
    keyArn: `arn:aws:kms:${region}:${account}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
  };
  return world;
}
