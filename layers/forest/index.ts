/**
 * The isolation-forest engine: train, score, and read/write model files.
 * Pure computation, no AWS; see train.ts for the algorithm and serialize.ts for
 * the file format.
 */
export { ForestInputError, type ForestRows } from './matrix';
export { rocAuc } from './metrics';
export type { ForestModel, ModelMeta, TrainOptions } from './model';
export { averagePathLength } from './pathLength';
export { scoreForest, scoreOne } from './score';
export {
  type ForestModelFile,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelFileError,
  parseModel,
  serializeModel,
} from './serialize';
export { trainForest } from './train';
