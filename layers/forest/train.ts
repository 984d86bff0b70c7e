import { ForestInputError, type ForestRows, type Matrix, toMatrix } from './matrix';
import { computeLeafPathLengths, type ForestModel, heightLimit, type TrainOptions } from './model';
import { createRandom, type Random } from './random';

const DEFAULT_TREES = 100;
const DEFAULT_SAMPLE_SIZE = 256;
const DEFAULT_SEED = 1;
const LEAF = -1;

/**
 * Train an isolation forest (Liu, Ting & Zhou 2008): each tree is grown on ψ
 * rows drawn without replacement, splitting on a feature chosen uniformly among
 * those not constant in the node, at a value uniform in (min, max), down to
 * depth ceil(log2 ψ).
 *
 * Throws ForestInputError for no rows, fewer than 2 rows, rows of different
 * lengths, non-finite values and invalid options.
 */
export function trainForest(rows: ForestRows, options: TrainOptions = {}): ForestModel {
  const trees = positiveInteger(options.trees ?? DEFAULT_TREES, 'trees');
  const requestedSampleSize = positiveInteger(options.sampleSize ?? DEFAULT_SAMPLE_SIZE, 'sampleSize');
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ForestInputError(`trainForest: seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const matrix = toMatrix(rows, {
    caller: 'trainForest',
    nFeatures: options.nFeatures ?? (rows instanceof Float64Array ? options.featureNames?.length : undefined),
    featureNames: options.featureNames,
  });
  const featureNames = resolveFeatureNames(options.featureNames, matrix.nFeatures);
  if (matrix.nRows < 2) throw new ForestInputError('trainForest: needs at least 2 rows');
  if (requestedSampleSize < 2) throw new ForestInputError('trainForest: sampleSize must be at least 2');
  // ψ larger than the data set: use every row, as scikit-learn does.
  const sampleSize = Math.min(requestedSampleSize, matrix.nRows);

  const nodes = growForest(matrix, trees, sampleSize, createRandom(seed));
  return {
    featureNames,
    nFeatures: matrix.nFeatures,
    sampleSize,
    trees,
    seed,
    ...nodes,
    leafPathLength: computeLeafPathLengths(nodes),
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ForestInputError(`trainForest: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function resolveFeatureNames(names: readonly string[] | undefined, nFeatures: number): readonly string[] {
  if (names === undefined) return Array.from({ length: nFeatures }, (_, f) => `x${f}`);
  if (names.length !== nFeatures) {
    throw new ForestInputError(
      `trainForest: featureNames has ${names.length} names but rows have ${nFeatures} values`,
    );
  }
  return [...names];
}

/** Growable node storage shared by all trees; every tree is appended in pre-order. */
interface NodeBuffers {
  splitFeature: Int32Array;
  splitValue: Float64Array;
  rightChild: Int32Array;
  leafSize: Float64Array;
  count: number;
}

function growForest(matrix: Matrix, trees: number, sampleSize: number, random: Random) {
  // A tree has at most 2ψ - 1 nodes (every leaf holds at least one row).
  const maxNodesPerTree = 2 * sampleSize - 1;
  const buffers = allocateNodes(Math.min(trees * maxNodesPerTree, trees * sampleSize + maxNodesPerTree));
  const treeRoots = new Int32Array(trees);
  const rowOrder = Int32Array.from({ length: matrix.nRows }, (_, r) => r);
  const sample = new Int32Array(sampleSize);
  const featureOrder = Int32Array.from({ length: matrix.nFeatures }, (_, f) => f);
  const grower: TreeGrower = {
    matrix,
    sample,
    featureOrder,
    random,
    buffers,
    heightLimit: heightLimit(sampleSize),
  };

  for (let t = 0; t < trees; t++) {
    ensureCapacity(grower, maxNodesPerTree);
    drawSample(rowOrder, sample, random);
    treeRoots[t] = growNode(grower, 0, sampleSize, 0);
  }
  const { splitFeature, splitValue, rightChild, leafSize, count } = grower.buffers;
  return {
    treeRoots,
    splitFeature: splitFeature.slice(0, count),
    splitValue: splitValue.slice(0, count),
    rightChild: rightChild.slice(0, count),
    leafSize: leafSize.slice(0, count),
  };
}

function allocateNodes(capacity: number): NodeBuffers {
  return {
    splitFeature: new Int32Array(capacity),
    splitValue: new Float64Array(capacity),
    rightChild: new Int32Array(capacity),
    leafSize: new Float64Array(capacity),
    count: 0,
  };
}

function ensureCapacity(grower: TreeGrower, extra: number): void {
  const old = grower.buffers;
  if (old.count + extra <= old.splitFeature.length) return;
  const grown = allocateNodes(Math.max(2 * old.splitFeature.length, old.count + extra));
  grown.splitFeature.set(old.splitFeature.subarray(0, old.count));
  grown.splitValue.set(old.splitValue.subarray(0, old.count));
  grown.rightChild.set(old.rightChild.subarray(0, old.count));
  grown.leafSize.set(old.leafSize.subarray(0, old.count));
  grown.count = old.count;
  grower.buffers = grown;
}

/**
 * ψ rows without replacement: a partial Fisher-Yates shuffle of `rowOrder`.
 * `rowOrder` stays a permutation between trees, so each draw is uniform
 * whatever the previous trees left behind.
 */
function drawSample(rowOrder: Int32Array, sample: Int32Array, random: Random): void {
  const n = rowOrder.length;
  for (let i = 0; i < sample.length; i++) {
    const j = i + random.nextInt(n - i);
    const picked = rowOrder[j]!;
    rowOrder[j] = rowOrder[i]!;
    rowOrder[i] = picked;
    sample[i] = picked;
  }
}

interface TreeGrower {
  readonly matrix: Matrix;
  /** Row indices of the tree's sample; each node owns a contiguous range of it. */
  readonly sample: Int32Array;
  readonly featureOrder: Int32Array;
  readonly random: Random;
  buffers: NodeBuffers;
  readonly heightLimit: number;
}

/** Grow the node for sample[lo, hi) at `depth`; returns its index. */
function growNode(grower: TreeGrower, lo: number, hi: number, depth: number): number {
  const buffers = grower.buffers;
  const node = buffers.count++;
  const split = depth < grower.heightLimit && hi - lo > 1 ? chooseSplit(grower, lo, hi) : undefined;
  if (split === undefined) {
    buffers.splitFeature[node] = LEAF;
    buffers.splitValue[node] = 0;
    buffers.rightChild[node] = LEAF;
    buffers.leafSize[node] = hi - lo;
    return node;
  }
  const middle = partition(grower, lo, hi, split.feature, split.value);
  buffers.splitFeature[node] = split.feature;
  buffers.splitValue[node] = split.value;
  buffers.leafSize[node] = 0;
  growNode(grower, lo, middle, depth + 1); // lands at node + 1: pre-order
  buffers.rightChild[node] = growNode(grower, middle, hi, depth + 1);
  return node;
}

interface Split {
  readonly feature: number;
  readonly value: number;
}

/**
 * A feature uniform among those not constant on sample[lo, hi), by drawing
 * without replacement until one varies; undefined when all are constant
 * (duplicate rows), which makes the node a leaf.
 */
function chooseSplit(grower: TreeGrower, lo: number, hi: number): Split | undefined {
  const { featureOrder, random, sample } = grower;
  const { data, nFeatures } = grower.matrix;
  for (let remaining = nFeatures; remaining > 0; remaining--) {
    const pick = random.nextInt(remaining);
    const feature = featureOrder[pick]!;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let k = lo; k < hi; k++) {
      const value = data[sample[k]! * nFeatures + feature]!;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    if (max > min) {
      let value = min + random.nextOpen() * (max - min);
      // Rounding can land on min (empty left side) or past max; max still splits.
      if (!(value > min && value <= max)) value = max;
      return { feature, value };
    }
    // Constant here: park it past the remaining candidates.
    featureOrder[pick] = featureOrder[remaining - 1]!;
    featureOrder[remaining - 1] = feature;
  }
  return undefined;
}

/** Reorder sample[lo, hi) so rows with value < splitValue come first; returns where the right side starts. */
function partition(grower: TreeGrower, lo: number, hi: number, feature: number, splitValue: number): number {
  const { sample } = grower;
  const { data, nFeatures } = grower.matrix;
  let left = lo;
  let right = hi - 1;
  while (left <= right) {
    if (data[sample[left]! * nFeatures + feature]! < splitValue) {
      left++;
    } else {
      const row = sample[left]!;
      sample[left] = sample[right]!;
      sample[right] = row;
      right--;
    }
  }
  return left;
}
