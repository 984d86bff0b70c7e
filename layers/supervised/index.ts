/**
 * Labels that teach: a small supervised model over the forest's features, trained
 * on `label` feedback, and the hybrid verdict (the forest raises suspicion, the
 * classifier refines it). Pure computation, no AWS.
 */
export {
  CLASSIFIER_DEFAULTS,
  CLASSIFIER_FORMAT,
  CLASSIFIER_VERSION,
  ClassifierError,
  type ClassifierModel,
  classify,
  contributions,
  type LabelledExample,
  parseClassifier,
  type TrainClassifierOptions,
  trainClassifier,
} from './classifier';
export {
  type EvaluationOptions,
  type EvaluationResult,
  evaluateRefinement,
  type ScoredExample,
  type Tally,
} from './evaluate';
export { classifierFromLabels, type LabelledWindow, labelledExamplesOf } from './examples';
export {
  REFINE_DEFAULTS,
  type RefinedVerdict,
  type RefineOptions,
  type RefineOutcome,
  refineVerdict,
} from './refine';
