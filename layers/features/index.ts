/**
 * Features of CloudTrail activity per principal per time window, and the
 * per-principal baselines they are judged against. Pure: no AWS, no clock.
 * See FEATURE_DOCS for what each feature is and why it matters.
 */
export {
  type Baselines,
  type BaselinesJson,
  baselinesFromJson,
  baselinesSchema,
  baselinesToJson,
  emptyBaselines,
  type History,
  learnWindow,
  MIN_HABIT_WINDOWS,
} from './baseline';
export {
  apiCategory,
  isDenied,
  isWrite,
  SENSITIVE_CALLS,
  type SensitiveCallRule,
  type SensitiveCategory,
  sensitiveCategory,
  serviceOf,
  userAgentFamily,
} from './calls';
export { type Principal, principalKeyOf, principalOf } from './principal';
export {
  deviationFrom,
  FEATURE_COUNT,
  FEATURE_DOCS,
  FEATURE_INDEX,
  FEATURE_NAMES,
  FEATURE_VERSION,
  type FeatureDoc,
  type FeatureName,
  type FeatureNorm,
  featureNorms,
  featuresOf,
  type WindowFeatures,
} from './vector';
export {
  addRecord,
  compareWindows,
  emptyWindow,
  MAX_DISTINCT,
  mergeWindows,
  mostFrequent,
  OTHER,
  type SkippedRecords,
  type WindowAggregate,
  WindowBuilder,
  type WindowJson,
  windowFromJson,
  windowKey,
  windowStartOf,
  windowsOf,
  windowToJson,
} from './window';
