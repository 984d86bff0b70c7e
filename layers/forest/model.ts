import { averagePathLength } from './pathLength';

/** What a model file may carry besides the trees; none of it changes scores. */
export interface ModelMeta {
  /** The time span of the events the model was trained on (ISO 8601 strings). */
  readonly trainingWindow?: { readonly start: string; readonly end: string };
  /** A score at or above which a row is reported as anomalous. */
  readonly threshold?: number;
  /** Free-form, JSON-safe details (who trained it, counts, ...). */
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface TrainOptions {
  /** Number of trees (default 100). */
  readonly trees?: number;
  /** ψ, rows drawn without replacement for each tree (default 256; capped at the row count). */
  readonly sampleSize?: number;
  /** Seed of the generator that picks rows, features and split values (default 1). */
  readonly seed?: number;
  /** One name per feature column; defaults to x0, x1, ... */
  readonly featureNames?: readonly string[];
  /** Width of a row; needed only when rows come as one flat Float64Array without featureNames. */
  readonly nFeatures?: number;
}

/**
 * A trained isolation forest: all trees in flat typed arrays, one slot per node.
 *
 * Nodes of a tree are laid out in pre-order from `treeRoots[t]`, so the left
 * child of internal node i is always i + 1 and only the right child is stored.
 */
export interface ForestModel {
  readonly featureNames: readonly string[];
  readonly nFeatures: number;
  /** ψ actually used: the requested sample size, capped at the training row count. */
  readonly sampleSize: number;
  readonly trees: number;
  readonly seed: number;
  /** Index of each tree's root node (length `trees`). */
  readonly treeRoots: Int32Array;
  /** Feature a node splits on, or -1 for a leaf. */
  readonly splitFeature: Int32Array;
  /** Internal nodes: a row goes left when row[splitFeature] < splitValue. 0 for leaves. */
  readonly splitValue: Float64Array;
  /** Internal nodes: index of the right child. -1 for leaves. */
  readonly rightChild: Int32Array;
  /** Leaves: number of training rows that reached the leaf. 0 for internal nodes. */
  readonly leafSize: Float64Array;
  /** Leaves: depth + c(leafSize), the path length a row ending here adds. Derived, not stored in files. */
  readonly leafPathLength: Float64Array;
  /** Present on models read from a file, so they can be written back unchanged. */
  readonly meta?: ModelMeta;
}

/** The stored node arrays of a model; `leafPathLength` is derived from them. */
export type ForestNodes = Pick<
  ForestModel,
  'treeRoots' | 'splitFeature' | 'splitValue' | 'rightChild' | 'leafSize'
>;

/** Height limit of Liu et al.: ceil(log2 ψ), the mean depth of a balanced tree of ψ points. */
export function heightLimit(sampleSize: number): number {
  return Math.ceil(Math.log2(sampleSize));
}

/**
 * Leaf path lengths (depth + c(size)), precomputed once so scoring only adds
 * numbers. Walks each pre-order tree with an explicit stack of depths.
 */
export function computeLeafPathLengths(nodes: ForestNodes): Float64Array {
  const { treeRoots, splitFeature, rightChild, leafSize } = nodes;
  const result = new Float64Array(splitFeature.length);
  const depthOf = new Int32Array(splitFeature.length);
  for (let t = 0; t < treeRoots.length; t++) {
    const end = t + 1 < treeRoots.length ? treeRoots[t + 1]! : splitFeature.length;
    depthOf[treeRoots[t]!] = 0;
    // Pre-order: every node's parent comes before it, so one forward pass sets depths.
    for (let node = treeRoots[t]!; node < end; node++) {
      const depth = depthOf[node]!;
      if (splitFeature[node]! < 0) {
        result[node] = depth + averagePathLength(leafSize[node]!);
      } else {
        depthOf[node + 1] = depth + 1;
        depthOf[rightChild[node]!] = depth + 1;
      }
    }
  }
  return result;
}
