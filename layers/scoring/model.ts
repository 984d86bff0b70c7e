import * as z from 'zod';
import {
  type Baselines,
  baselinesFromJson,
  baselinesSchema,
  baselinesToJson,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_VERSION,
} from '../features';
import {
  type ForestModel,
  type ForestModelFile,
  ModelFileError,
  parseModel,
  serializeModel,
} from '../forest';
import { issueLines } from '../runtime/issues';
import { ClassifierError, type ClassifierModel, parseClassifier } from '../supervised/classifier';

/**
 * The activity model: an isolation forest over principal-window features, plus
 * what scoring needs besides the trees: the feature schema, the window length,
 * the training window, the per-principal baselines and the threshold.
 *
 * On disk it is the forest's own model file (layers/forest/serialize.ts) with all
 * of that under `meta.activity`, so one format and one reader serve both.
 */
export const ACTIVITY_MODEL_KIND = 'cloudtrail-activity';

export interface ThresholdRule {
  /** The quantile of the training scores (of principals with history) the threshold was taken at. */
  readonly quantile: number;
  /** The training score at that quantile. */
  readonly quantileScore: number;
  /** The floor the threshold may not go below. */
  readonly minThreshold: number;
}

export interface TrainingSummary {
  readonly records: number;
  /** Principal-windows built from the records. */
  readonly windows: number;
  /** Windows used as training rows (all but the excluded ones). */
  readonly rows: number;
  /** Rows of principals never seen before (first windows): in the forest, not in the threshold. */
  readonly coldStartRows: number;
  /** Windows left out because a finding about them was labelled a true positive. */
  readonly excludedWindows: number;
  readonly principals: number;
  readonly skippedRecords: number;
  readonly thresholdRule: ThresholdRule;
  /** Training-score quantiles, for judging a threshold later. */
  readonly scoreQuantiles: Readonly<Record<string, number>>;
  readonly trainedAt?: string;
}

export interface ActivityModel {
  readonly forest: ForestModel;
  readonly threshold: number;
  readonly trainingWindow: { readonly start: string; readonly end: string };
  readonly windowMinutes: number;
  readonly featureVersion: number;
  readonly baselines: Baselines;
  readonly training: TrainingSummary;
  /**
   * The classifier `label` feedback taught (layers/supervised), kept in the same
   * object so scoring needs nothing more than the model: absent when no label
   * named a window of the training history.
   */
  readonly classifier?: ClassifierModel;
}

const trainingSchema = z.object({
  records: z.number().int().min(0),
  windows: z.number().int().min(0),
  rows: z.number().int().min(0),
  coldStartRows: z.number().int().min(0),
  excludedWindows: z.number().int().min(0),
  principals: z.number().int().min(0),
  skippedRecords: z.number().int().min(0),
  thresholdRule: z.object({ quantile: z.number(), quantileScore: z.number(), minThreshold: z.number() }),
  scoreQuantiles: z.record(z.string(), z.number()),
  trainedAt: z.string().optional(),
});

const activityMetaSchema = z.object({
  kind: z.literal(ACTIVITY_MODEL_KIND, {
    error: `not an activity model: meta.activity.kind must be "${ACTIVITY_MODEL_KIND}"`,
  }),
  featureVersion: z.number().int(),
  windowMinutes: z.number().int().min(1),
  baselines: baselinesSchema,
  training: trainingSchema,
  // Checked by parseClassifier, which names the field that is wrong.
  classifier: z.unknown().optional(),
});

/** The JSON written to model.json / the model bucket. */
export function serializeActivityModel(model: ActivityModel): ForestModelFile {
  return serializeModel(model.forest, {
    trainingWindow: model.trainingWindow,
    threshold: model.threshold,
    meta: {
      activity: {
        kind: ACTIVITY_MODEL_KIND,
        featureVersion: model.featureVersion,
        windowMinutes: model.windowMinutes,
        baselines: baselinesToJson(model.baselines),
        training: model.training,
        ...(model.classifier && { classifier: model.classifier }),
      },
    },
  });
}

/**
 * Reads a model file (parsed JSON). Throws ModelFileError naming what is wrong:
 * not a forest file, not an activity model, or a model trained on other features
 * than this build computes (it must be retrained, not guessed at).
 */
export function parseActivityModel(json: unknown): ActivityModel {
  const forest = parseModel(json);
  const parsed = activityMetaSchema.safeParse(forest.meta?.meta?.activity);
  if (!parsed.success) {
    const reasons = issueLines(parsed.error, { prefix: ['meta', 'activity'] });
    throw new ModelFileError(`invalid activity model: ${reasons.join('; ')}`);
  }
  const meta = parsed.data;
  if (meta.featureVersion !== FEATURE_VERSION || forest.featureNames.join(',') !== FEATURE_NAMES.join(',')) {
    throw new ModelFileError(
      `the model was trained on features v${meta.featureVersion} [${forest.featureNames.join(', ')}]; this build computes v${FEATURE_VERSION} [${FEATURE_NAMES.join(', ')}]: train a new model`,
    );
  }
  if (meta.baselines.featureCount !== FEATURE_COUNT) {
    throw new ModelFileError(
      `invalid activity model: baselines have ${meta.baselines.featureCount} features, expected ${FEATURE_COUNT}`,
    );
  }
  const threshold = forest.meta?.threshold;
  const trainingWindow = forest.meta?.trainingWindow;
  if (threshold === undefined || !(threshold > 0 && threshold < 1)) {
    throw new ModelFileError(`invalid activity model: threshold must be in (0, 1) (got ${threshold})`);
  }
  if (!trainingWindow) throw new ModelFileError('invalid activity model: trainingWindow is missing');
  let baselines: Baselines;
  try {
    baselines = baselinesFromJson(meta.baselines);
  } catch (error) {
    throw new ModelFileError(`invalid activity model: ${(error as Error).message}`);
  }
  let classifier: ClassifierModel | undefined;
  if (meta.classifier !== undefined) {
    try {
      classifier = parseClassifier(meta.classifier, 'meta.activity.classifier');
    } catch (error) {
      if (!(error instanceof ClassifierError)) throw error;
      throw new ModelFileError(`invalid activity model: ${error.message}`);
    }
  }
  return {
    forest,
    threshold,
    trainingWindow,
    windowMinutes: meta.windowMinutes,
    featureVersion: meta.featureVersion,
    baselines,
    training: meta.training,
    ...(classifier && { classifier }),
  };
}

/** Reads model text (a file's or an S3 object's content); bad JSON is a ModelFileError too. */
export function parseActivityModelText(text: string, source: string): ActivityModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(`${source} is not JSON: ${(error as Error).message}`);
  }
  try {
    return parseActivityModel(json);
  } catch (error) {
    if (error instanceof ModelFileError) throw new ModelFileError(`${source}: ${error.message}`);
    throw error;
  }
}
