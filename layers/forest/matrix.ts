/**
 * Rows as callers give them (arrays of numbers, or one row-major Float64Array)
 * turned into the one flat layout the trainer and scorer loop over.
 */

/** Either one array per row, or all rows back to back in a row-major Float64Array. */
export type ForestRows = readonly ArrayLike<number>[] | Float64Array;

export interface Matrix {
  /** Row-major: value of row r, feature f is data[r * nFeatures + f]. */
  readonly data: Float64Array;
  readonly nRows: number;
  readonly nFeatures: number;
}

/** Thrown for input the forest cannot use; the message names the row and feature. */
export class ForestInputError extends Error {
  override name = 'ForestInputError';
}

export interface MatrixRequest {
  /** Who is asking, for error messages: "trainForest", "scoreForest". */
  readonly caller: string;
  /** Expected width; when absent the first row decides (arrays) or it is an error (Float64Array). */
  readonly nFeatures?: number;
  readonly featureNames?: readonly string[];
}

export function toMatrix(rows: ForestRows, request: MatrixRequest): Matrix {
  const matrix = rows instanceof Float64Array ? fromFlat(rows, request) : fromRowArrays(rows, request);
  assertFinite(matrix, request);
  return matrix;
}

function fromFlat(flat: Float64Array, { caller, nFeatures }: MatrixRequest): Matrix {
  if (nFeatures === undefined) {
    throw new ForestInputError(
      `${caller}: a flat Float64Array needs nFeatures (or featureNames) to be given`,
    );
  }
  if (flat.length === 0) throw new ForestInputError(`${caller}: no rows`);
  if (flat.length % nFeatures !== 0) {
    throw new ForestInputError(
      `${caller}: flat Float64Array of length ${flat.length} is not a whole number of rows of ${nFeatures} features`,
    );
  }
  // No copy: the caller's buffer is only read.
  return { data: flat, nRows: flat.length / nFeatures, nFeatures };
}

function fromRowArrays(rows: readonly ArrayLike<number>[], { caller, nFeatures }: MatrixRequest): Matrix {
  const first = rows[0];
  if (first === undefined) throw new ForestInputError(`${caller}: no rows`);
  const width = nFeatures ?? first.length;
  const data = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== width) {
      throw new ForestInputError(`${caller}: row ${r} has ${row.length} values, expected ${width}`);
    }
    const offset = r * width;
    for (let f = 0; f < width; f++) data[offset + f] = row[f]!;
  }
  return { data, nRows: rows.length, nFeatures: width };
}

function assertFinite({ data, nFeatures }: Matrix, { caller, featureNames }: MatrixRequest): void {
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    // Cheap test first: finite values pass `value - value === 0`, NaN and ±Infinity do not.
    if (value - value !== 0) {
      const row = Math.floor(i / nFeatures);
      const feature = i % nFeatures;
      const name = featureNames?.[feature];
      const label = name === undefined ? `feature ${feature}` : `feature ${feature} (${name})`;
      throw new ForestInputError(
        `${caller}: row ${row} ${label} is ${value}; the forest needs finite numbers`,
      );
    }
  }
}
