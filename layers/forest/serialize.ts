import * as z from 'zod';
import {
  computeLeafPathLengths,
  type ForestModel,
  type ForestNodes,
  heightLimit,
  type ModelMeta,
} from './model';

/**
 * The model file: JSON with a small header and the trees as base64 typed arrays.
 *
 * Trees are written in pre-order, one tree after another, as three arrays:
 * - nodes.splitFeature: per node, 0 for a leaf or 1 + the split feature
 *   (unsigned, 1, 2 or 4 bytes each: the narrowest that holds features.length);
 * - nodes.splitValue: per internal node, the split value (float64);
 * - nodes.leafSize: per leaf, its training row count minus 1 (unsigned, the
 *   narrowest width that holds sampleSize - 1: 1 byte for ψ = 256).
 * All little-endian. The right-child links are implied by the pre-order and
 * rebuilt on reading, which is also where the structure is checked.
 */
export const MODEL_FORMAT = 'isolation-forest';
export const MODEL_VERSION = 1;

const base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'expected base64 text' });

const headerSchema = z.object({
  format: z.literal(MODEL_FORMAT, { error: `not a forest model file: format must be "${MODEL_FORMAT}"` }),
  version: z.literal(MODEL_VERSION, {
    error: (issue) =>
      `unsupported model file version ${String(issue.input)}; this build reads ${MODEL_VERSION}`,
  }),
});

const modelFileSchema = headerSchema.extend({
  features: z.array(z.string().min(1)).min(1),
  sampleSize: z.number().int().min(2),
  trees: z.number().int().min(1),
  seed: z.number().int().min(0).max(0xffffffff),
  trainingWindow: z.object({ start: z.string(), end: z.string() }).optional(),
  threshold: z.number().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  nodes: z.object({ splitFeature: base64Schema, splitValue: base64Schema, leafSize: base64Schema }),
});

/** The JSON-safe model file as written by serializeModel and read by parseModel. */
export type ForestModelFile = z.infer<typeof modelFileSchema>;

/** Thrown by parseModel; the message says which field is wrong and how. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** Write a model as a JSON-safe object. `meta` defaults to what a parsed model carried. */
export function serializeModel(model: ForestModel, meta: ModelMeta = model.meta ?? {}): ForestModelFile {
  const leafCount = countLeaves(model.splitFeature);
  const featureCodes = new Uint32Array(model.splitFeature.length);
  const splitValues = new Float64Array(model.splitFeature.length - leafCount);
  const leafSizes = new Uint32Array(leafCount);
  // Walk trees in stored order: each is already pre-order and contiguous.
  for (let node = 0, internal = 0, leaf = 0; node < model.splitFeature.length; node++) {
    const feature = model.splitFeature[node]!;
    if (feature < 0) {
      leafSizes[leaf++] = model.leafSize[node]! - 1;
    } else {
      featureCodes[node] = feature + 1;
      splitValues[internal++] = model.splitValue[node]!;
    }
  }
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    features: [...model.featureNames],
    sampleSize: model.sampleSize,
    trees: model.trees,
    seed: model.seed,
    ...(meta.trainingWindow && { trainingWindow: { ...meta.trainingWindow } }),
    ...(meta.threshold !== undefined && { threshold: meta.threshold }),
    ...(meta.meta && { meta: { ...meta.meta } }),
    nodes: {
      splitFeature: encodeUnsigned(featureCodes, byteWidthFor(model.featureNames.length)),
      splitValue: encodeFloat64(splitValues),
      leafSize: encodeUnsigned(leafSizes, byteWidthFor(model.sampleSize - 1)),
    },
  };
}

/** Read and check a model file (already JSON.parse'd). Throws ModelFileError naming what is wrong. */
export function parseModel(json: unknown): ForestModel {
  const header = headerSchema.safeParse(json);
  if (!header.success) throw new ModelFileError(`invalid model file: ${describeIssues(header.error, json)}`);
  const parsed = modelFileSchema.safeParse(json);
  if (!parsed.success) throw new ModelFileError(`invalid model file: ${describeIssues(parsed.error, json)}`);
  const file = parsed.data;

  const nFeatures = file.features.length;
  const featureCodes = decodeUnsigned(file.nodes.splitFeature, byteWidthFor(nFeatures), 'nodes.splitFeature');
  const splitValues = decodeFloat64(file.nodes.splitValue, 'nodes.splitValue');
  const leafSizes = decodeUnsigned(file.nodes.leafSize, byteWidthFor(file.sampleSize - 1), 'nodes.leafSize');
  const nodes = rebuildNodes(file, featureCodes, splitValues, leafSizes);
  const meta: ModelMeta = {
    ...(file.trainingWindow && { trainingWindow: file.trainingWindow }),
    ...(file.threshold !== undefined && { threshold: file.threshold }),
    ...(file.meta && { meta: file.meta }),
  };
  return {
    featureNames: file.features,
    nFeatures,
    sampleSize: file.sampleSize,
    trees: file.trees,
    seed: file.seed,
    ...nodes,
    leafPathLength: computeLeafPathLengths(nodes),
    ...(Object.keys(meta).length > 0 && { meta }),
  };
}

function describeIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined)
        return `${path} is missing`;
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function countLeaves(splitFeature: Int32Array): number {
  let leaves = 0;
  for (let i = 0; i < splitFeature.length; i++) if (splitFeature[i]! < 0) leaves++;
  return leaves;
}

/**
 * Turn the pre-order arrays back into the in-memory layout, checking as it goes:
 * array lengths agree with the node kinds, feature indices are in range, every
 * tree ends within the arrays and within the height limit, and each tree's
 * leaves hold exactly ψ rows.
 */
function rebuildNodes(
  file: ForestModelFile,
  featureCodes: Uint32Array,
  splitValues: Float64Array,
  leafSizes: Uint32Array,
): ForestNodes {
  const total = featureCodes.length;
  const nFeatures = file.features.length;
  let internalCount = 0;
  for (let node = 0; node < total; node++) {
    const code = featureCodes[node]!;
    if (code > nFeatures) {
      throw new ModelFileError(
        `invalid model file: node ${node} splits on feature index ${code - 1}, but there are ${nFeatures} features`,
      );
    }
    if (code > 0) internalCount++;
  }
  if (splitValues.length !== internalCount) {
    throw new ModelFileError(
      `invalid model file: nodes.splitValue has ${splitValues.length} values for ${internalCount} internal nodes`,
    );
  }
  if (leafSizes.length !== total - internalCount) {
    throw new ModelFileError(
      `invalid model file: nodes.leafSize has ${leafSizes.length} values for ${total - internalCount} leaves`,
    );
  }
  for (let i = 0; i < splitValues.length; i++) {
    if (!Number.isFinite(splitValues[i])) {
      throw new ModelFileError(`invalid model file: nodes.splitValue[${i}] is ${splitValues[i]}`);
    }
  }

  const nodes = {
    treeRoots: new Int32Array(file.trees),
    splitFeature: new Int32Array(total),
    splitValue: new Float64Array(total),
    rightChild: new Int32Array(total),
    leafSize: new Float64Array(total),
  };
  const cursor = { node: 0, internal: 0, leaf: 0 };
  const maxDepth = heightLimit(file.sampleSize);
  for (let t = 0; t < file.trees; t++) {
    nodes.treeRoots[t] = cursor.node;
    const rows = readSubtree(nodes, cursor, featureCodes, splitValues, leafSizes, {
      tree: t,
      depth: 0,
      maxDepth,
    });
    if (rows !== file.sampleSize) {
      throw new ModelFileError(
        `invalid model file: tree ${t} leaves hold ${rows} rows, expected sampleSize ${file.sampleSize}`,
      );
    }
  }
  if (cursor.node !== total) {
    throw new ModelFileError(
      `invalid model file: ${total - cursor.node} nodes left over after ${file.trees} trees`,
    );
  }
  return nodes;
}

interface Position {
  readonly tree: number;
  readonly depth: number;
  readonly maxDepth: number;
}

/** Read one pre-order subtree at the cursor; returns the rows its leaves hold. */
function readSubtree(
  nodes: ForestNodes,
  cursor: { node: number; internal: number; leaf: number },
  featureCodes: Uint32Array,
  splitValues: Float64Array,
  leafSizes: Uint32Array,
  at: Position,
): number {
  if (cursor.node >= featureCodes.length) {
    throw new ModelFileError(`invalid model file: nodes end inside tree ${at.tree}`);
  }
  if (at.depth > at.maxDepth) {
    throw new ModelFileError(
      `invalid model file: tree ${at.tree} is deeper than the height limit ${at.maxDepth}`,
    );
  }
  const node = cursor.node++;
  const code = featureCodes[node]!;
  if (code === 0) {
    const size = leafSizes[cursor.leaf++]! + 1;
    nodes.splitFeature[node] = -1;
    nodes.rightChild[node] = -1;
    nodes.leafSize[node] = size;
    return size;
  }
  nodes.splitFeature[node] = code - 1;
  nodes.splitValue[node] = splitValues[cursor.internal++]!;
  const child = { ...at, depth: at.depth + 1 };
  const leftRows = readSubtree(nodes, cursor, featureCodes, splitValues, leafSizes, child);
  nodes.rightChild[node] = cursor.node;
  return leftRows + readSubtree(nodes, cursor, featureCodes, splitValues, leafSizes, child);
}

type ByteWidth = 1 | 2 | 4;

/** The narrowest unsigned width holding values up to `max`. */
function byteWidthFor(max: number): ByteWidth {
  if (max <= 0xff) return 1;
  if (max <= 0xffff) return 2;
  return 4;
}

function encodeUnsigned(values: Uint32Array, width: ByteWidth): string {
  const view = new DataView(new ArrayBuffer(values.length * width));
  for (let i = 0; i < values.length; i++) {
    if (width === 1) view.setUint8(i, values[i]!);
    else if (width === 2) view.setUint16(i * 2, values[i]!, true);
    else view.setUint32(i * 4, values[i]!, true);
  }
  return Buffer.from(view.buffer).toString('base64');
}

function decodeUnsigned(text: string, width: ByteWidth, field: string): Uint32Array {
  const view = bytesOf(text, width, field);
  const values = new Uint32Array(view.byteLength / width);
  for (let i = 0; i < values.length; i++) {
    if (width === 1) values[i] = view.getUint8(i);
    else if (width === 2) values[i] = view.getUint16(i * 2, true);
    else values[i] = view.getUint32(i * 4, true);
  }
  return values;
}

function encodeFloat64(values: Float64Array): string {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return Buffer.from(view.buffer).toString('base64');
}

function decodeFloat64(text: string, field: string): Float64Array {
  const view = bytesOf(text, 8, field);
  const values = new Float64Array(view.byteLength / 8);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(i * 8, true);
  return values;
}

function bytesOf(text: string, width: number, field: string): DataView {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % width !== 0) {
    throw new ModelFileError(
      `invalid model file: ${field} has ${bytes.length} bytes, not a whole number of ${width}-byte values`,
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
