import * as z from 'zod';
import { FEATURE_NAMES, FEATURE_VERSION } from '../features';
import { issueLines } from '../runtime/issues';

/**
 * A small supervised model of "was this flagged window an attack?", trained on
 * `label` feedback (true-positive / false-positive) over the forest's own feature
 * vector (layers/features/vector.ts). The forest raises suspicion; this refines it
 * (see refine.ts).
 *
 * The model is an L2-regularised logistic regression on standardised features,
 * fitted by Newton's method (iteratively reweighted least squares), with classes
 * weighted to count equally. Why our own rather than ml-logistic-regression (the
 * npm package of the field): that package fits by a fixed number of plain
 * gradient steps (50 000 by default), has no intercept, no regularisation and no
 * class weights, and ships no types. With a few dozen labels, often separable,
 * an unregularised fit runs its weights to infinity and answers 0 or 1 for
 * everything, which is exactly the overconfidence that must not suppress a real
 * finding. Fifteen features make Newton's method a 16x16 solve per step:
 * converged in a handful of steps, exact, and deterministic (nothing random, so
 * the same labels always give the same model).
 */

export const CLASSIFIER_FORMAT = 'window-classifier';
export const CLASSIFIER_VERSION = 1;

/** A labelled window: its feature vector and what a person said it was. */
export interface LabelledExample {
  readonly vector: ArrayLike<number>;
  /** true: an attack (a true-positive label); false: benign (false-positive). */
  readonly attack: boolean;
}

export interface TrainClassifierOptions {
  /** L2 penalty on the (standardised) weights, not the intercept. Default 1. */
  readonly l2?: number;
  /** Newton steps at most (default 50); training stops earlier when weights move less than 1e-9. */
  readonly maxIterations?: number;
  /** Weight each class so both count equally (default true): labels come mostly from one side. */
  readonly balanced?: boolean;
  /** Feature names, one per column (default: FEATURE_NAMES, the forest's). */
  readonly featureNames?: readonly string[];
  /** When trained, for the record (the function is pure: no clock). */
  readonly trainedAt?: Date;
}

export const CLASSIFIER_DEFAULTS = { l2: 1, maxIterations: 50, balanced: true } as const;

/** The trained model; JSON-safe as it is (write it with JSON.stringify, read it with parseClassifier). */
export interface ClassifierModel {
  readonly format: typeof CLASSIFIER_FORMAT;
  readonly version: typeof CLASSIFIER_VERSION;
  readonly kind: 'logistic-regression';
  readonly features: readonly string[];
  /** FEATURE_VERSION of the vectors it was trained on: other vectors are refused. */
  readonly featureVersion: number;
  /** Standardisation: a feature enters as (value - mean) / scale. */
  readonly mean: readonly number[];
  readonly scale: readonly number[];
  readonly weights: readonly number[];
  readonly intercept: number;
  readonly l2: number;
  /** How many labels of each class it learned from: refineVerdict will not act on too few. */
  readonly examples: { readonly attack: number; readonly benign: number };
  readonly iterations: number;
  readonly trainedAt?: string;
}

export class ClassifierError extends Error {
  override name = 'ClassifierError';
}

/** Trains the classifier. Pure and deterministic. Throws ClassifierError on unusable examples. */
export function trainClassifier(
  examples: readonly LabelledExample[],
  options: TrainClassifierOptions = {},
): ClassifierModel {
  const l2 = options.l2 ?? CLASSIFIER_DEFAULTS.l2;
  const maxIterations = options.maxIterations ?? CLASSIFIER_DEFAULTS.maxIterations;
  const balanced = options.balanced ?? CLASSIFIER_DEFAULTS.balanced;
  const features = [...(options.featureNames ?? FEATURE_NAMES)];
  const width = features.length;
  if (!(l2 > 0) || !Number.isFinite(l2))
    throw new ClassifierError(`l2 must be a positive number (got ${l2})`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new ClassifierError(`maxIterations must be a positive integer (got ${maxIterations})`);
  }
  if (examples.length === 0) throw new ClassifierError('no labelled examples to train on');
  examples.forEach((example, i) => {
    if (example.vector.length !== width) {
      throw new ClassifierError(`example ${i} has ${example.vector.length} features, expected ${width}`);
    }
    for (let f = 0; f < width; f++) {
      if (!Number.isFinite(example.vector[f])) {
        throw new ClassifierError(`example ${i}: feature ${features[f]} is ${example.vector[f]}`);
      }
    }
  });
  const attacks = examples.filter((example) => example.attack).length;
  const benign = examples.length - attacks;

  const { mean, scale } = standardisation(examples, width);
  const rows = examples.map((example) => standardised(example.vector, mean, scale));
  const targets = examples.map((example) => (example.attack ? 1 : 0));
  // Balanced: each class weighs n / 2 in total. A class with no example weighs nothing it could use.
  const classWeight = (attack: boolean): number => {
    if (!balanced) return 1;
    const count = attack ? attacks : benign;
    return count === 0 ? 1 : examples.length / (2 * count);
  };
  const sampleWeights = examples.map((example) => classWeight(example.attack));

  // Parameters: [intercept, w_0 .. w_{width-1}]. Newton on the penalised log-likelihood.
  const size = width + 1;
  let theta = new Float64Array(size);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const gradient = new Float64Array(size);
    const hessian = new Float64Array(size * size);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const p = sigmoid(linear(theta, row));
      const weight = sampleWeights[i]!;
      const residual = weight * (p - targets[i]!);
      const curvature = weight * Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a < size; a++) {
        const xa = a === 0 ? 1 : row[a - 1]!;
        gradient[a]! += residual * xa;
        for (let b = a; b < size; b++) {
          const xb = b === 0 ? 1 : row[b - 1]!;
          hessian[a * size + b]! += curvature * xa * xb;
        }
      }
    }
    for (let a = 1; a < size; a++) {
      gradient[a]! += l2 * theta[a]!;
      hessian[a * size + a]! += l2;
    }
    // A tiny ridge on the intercept too, so one-class examples still give a solvable system.
    hessian[0]! += 1e-9;
    for (let a = 0; a < size; a++) for (let b = 0; b < a; b++) hessian[a * size + b] = hessian[b * size + a]!;
    const step = solveSymmetric(hessian, gradient, size);
    const next = theta.map((value, a) => value - step[a]!);
    const moved = Math.max(...step.map(Math.abs));
    theta = next;
    if (moved < 1e-9) {
      iterations++;
      break;
    }
  }

  return {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    kind: 'logistic-regression',
    features,
    featureVersion: FEATURE_VERSION,
    mean,
    scale,
    weights: [...theta.slice(1)].map(clean),
    intercept: clean(theta[0]!),
    l2,
    examples: { attack: attacks, benign },
    iterations,
    ...(options.trainedAt && { trainedAt: options.trainedAt.toISOString() }),
  };
}

/** The probability, by the classifier, that a window with this feature vector is an attack. */
export function classify(model: ClassifierModel, vector: ArrayLike<number>): number {
  if (vector.length !== model.features.length) {
    throw new ClassifierError(
      `the vector has ${vector.length} features, the classifier ${model.features.length}`,
    );
  }
  const row = standardised(vector, model.mean, model.scale);
  let z = model.intercept;
  for (let f = 0; f < row.length; f++) z += model.weights[f]! * row[f]!;
  return sigmoid(z);
}

/** Which features pushed a window towards "attack" (positive) or "benign" (negative), largest first. */
export function contributions(
  model: ClassifierModel,
  vector: ArrayLike<number>,
): { feature: string; contribution: number }[] {
  const row = standardised(vector, model.mean, model.scale);
  return model.features
    .map((feature, f) => ({ feature, contribution: model.weights[f]! * row[f]! }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
}

const numberList = z.array(z.number().refine(Number.isFinite, { message: 'expected a finite number' }));

const classifierSchema = z
  .object({
    format: z.literal(CLASSIFIER_FORMAT, {
      error: `not a classifier file: format must be "${CLASSIFIER_FORMAT}"`,
    }),
    version: z.literal(CLASSIFIER_VERSION, {
      error: (issue) =>
        `unsupported classifier version ${String(issue.input)}; this build reads ${CLASSIFIER_VERSION}`,
    }),
    kind: z.literal('logistic-regression'),
    features: z.array(z.string().min(1)).min(1),
    featureVersion: z.number().int(),
    mean: numberList,
    scale: numberList,
    weights: numberList,
    intercept: z.number().refine(Number.isFinite, { message: 'expected a finite number' }),
    l2: z.number().positive(),
    examples: z.object({ attack: z.number().int().min(0), benign: z.number().int().min(0) }),
    iterations: z.number().int().min(0),
    trainedAt: z.string().optional(),
  })
  .superRefine((file, context) => {
    for (const field of ['mean', 'scale', 'weights'] as const) {
      if (file[field].length !== file.features.length) {
        context.addIssue({
          code: 'custom',
          path: [field],
          message: `has ${file[field].length} values for ${file.features.length} features`,
        });
      }
    }
    if (file.scale.some((value) => value <= 0)) {
      context.addIssue({ code: 'custom', path: ['scale'], message: 'every scale must be positive' });
    }
  });

/**
 * Reads a classifier (parsed JSON) and checks it was trained on the features this
 * build computes; the error names the source and the field.
 */
export function parseClassifier(json: unknown, source = 'classifier'): ClassifierModel {
  const result = classifierSchema.safeParse(json);
  if (!result.success) {
    throw new ClassifierError(
      `${source} is not a classifier file: ${issueLines(result.error, { root: '(root)' }).join('; ')}`,
    );
  }
  const model = result.data;
  const expected = FEATURE_NAMES.join(',');
  if (model.featureVersion !== FEATURE_VERSION || model.features.join(',') !== expected) {
    throw new ClassifierError(
      `${source} was trained on other features (version ${model.featureVersion}: ${model.features.join(', ')}); this build computes version ${FEATURE_VERSION}: retrain it from the labels`,
    );
  }
  return model as ClassifierModel;
}

function standardisation(
  examples: readonly LabelledExample[],
  width: number,
): { mean: number[]; scale: number[] } {
  const mean: number[] = [];
  const scale: number[] = [];
  for (let f = 0; f < width; f++) {
    let sum = 0;
    for (const example of examples) sum += example.vector[f]!;
    const m = sum / examples.length;
    let squares = 0;
    for (const example of examples) squares += (example.vector[f]! - m) ** 2;
    const std = Math.sqrt(squares / examples.length);
    mean.push(clean(m));
    // A feature constant in the labels carries nothing: scale 1 keeps it at 0 after centring.
    scale.push(std > 1e-9 ? clean(std) : 1);
  }
  return { mean, scale };
}

function standardised(
  vector: ArrayLike<number>,
  mean: readonly number[],
  scale: readonly number[],
): number[] {
  const row: number[] = [];
  for (let f = 0; f < mean.length; f++) row.push((vector[f]! - mean[f]!) / scale[f]!);
  return row;
}

function linear(theta: Float64Array, row: readonly number[]): number {
  let z = theta[0]!;
  for (let f = 0; f < row.length; f++) z += theta[f + 1]! * row[f]!;
  return z;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Solves A x = b for a symmetric positive definite A (Cholesky). */
function solveSymmetric(matrix: Float64Array, vector: Float64Array, size: number): Float64Array {
  const lower = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * size + j]!;
      for (let k = 0; k < j; k++) sum -= lower[i * size + k]! * lower[j * size + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new ClassifierError('the training system is singular (check the examples)');
        lower[i * size + i] = Math.sqrt(sum);
      } else lower[i * size + j] = sum / lower[j * size + j]!;
    }
  }
  const y = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let sum = vector[i]!;
    for (let k = 0; k < i; k++) sum -= lower[i * size + k]! * y[k]!;
    y[i] = sum / lower[i * size + i]!;
  }
  const x = new Float64Array(size);
  for (let i = size - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < size; k++) sum -= lower[k * size + i]! * x[k]!;
    x[i] = sum / lower[i * size + i]!;
  }
  return x;
}

/** Rounds away float noise so a model written twice is byte-identical and readable. */
function clean(value: number): number {
  return Number(value.toPrecision(12));
}
