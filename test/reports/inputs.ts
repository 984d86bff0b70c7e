import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DrillResult } from '../../layers/drill/runner';
import { anomalyFindings } from '../../layers/scoring/findings';
import { readWindows } from '../../layers/scoring/read-input';
import type { ReportInput } from '../../layers/scoring/report';
import { scoreAggregates } from '../../layers/scoring/score';
import { trainModelFromWindows } from '../../layers/scoring/train';

/** A drill result kept by fixtures/make.ts: one-morning (the default scenario) or two-days. */
export function drillFixture(name: 'one-morning' | 'two-days'): DrillResult {
  const text = gunzipSync(
    readFileSync(join(import.meta.dirname, 'fixtures', `drill-${name}.json.gz`)),
  ).toString('utf8');
  // The JSON of a DrillResult the drill produced (fixtures/make.ts); its shape is the type's.
  return JSON.parse(text) as DrillResult;
}

const DATA = join(import.meta.dirname, '..', 'data', 'cloudtrail');

/**
 * The score report's input for the README's example: a model trained on
 * test/data/cloudtrail, scoring its Stratus Red Team detonations (which it was
 * trained on, so the top windows are flagged for lacking novelty).
 */
export async function scoreReportInput(): Promise<ReportInput> {
  const training = await readWindows([DATA], 60, { progress: false });
  const trained = trainModelFromWindows(training.builder, { trainedAt: new Date('2026-01-12T00:00:00Z') });
  if (trained.status !== 'trained') throw new Error(`score fixture: ${trained.message}`);
  const { model } = trained;
  const scoring = await readWindows([join(DATA, 'stratus-detonations')], model.windowMinutes, {
    progress: false,
  });
  const top = 12;
  const scored = scoreAggregates(model, scoring.builder.windows(), { explainTop: top });
  return {
    generatedAt: '2026-01-12T00:00:00.000Z',
    inputs: ['test/data/cloudtrail/stratus-detonations'],
    model,
    threshold: model.threshold,
    scored,
    findings: anomalyFindings(scored, model),
    records: scoring.builder.records,
    problems: scoring.problems.length,
    skippedRecords: scoring.builder.skipped.count,
    top,
  };
}
