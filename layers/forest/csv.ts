/**
 * A numeric CSV: a header line of column names (optionally double-quoted), then
 * rows of numbers separated by commas. This is the shape of the outlier data
 * sets under bench/data/outliers; it is not a general CSV parser (no quoted
 * commas, no text cells).
 */
export interface NumericCsv {
  readonly columns: readonly string[];
  readonly rows: number[][];
}

export function parseNumericCsv(text: string): NumericCsv {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines[0];
  if (header === undefined) throw new Error('parseNumericCsv: empty text');
  const columns = header.split(',').map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== columns.length) {
      throw new Error(`parseNumericCsv: line ${i + 2} has ${cells.length} cells, expected ${columns.length}`);
    }
    return cells.map((cell, c) => {
      const value = Number(cell);
      if (cell.trim() === '' || Number.isNaN(value)) {
        throw new Error(`parseNumericCsv: line ${i + 2} column ${columns[c]} is not a number: ${cell}`);
      }
      return value;
    });
  });
  return { columns, rows };
}

/** A labelled outlier set: the feature columns, and the `label` column (1 = anomaly) split off. */
export interface LabelledSet {
  readonly featureNames: readonly string[];
  readonly features: number[][];
  readonly labels: number[];
}

export function splitLabelColumn(csv: NumericCsv, labelColumn = 'label'): LabelledSet {
  const labelIndex = csv.columns.indexOf(labelColumn);
  if (labelIndex < 0) throw new Error(`splitLabelColumn: no column named ${labelColumn}`);
  return {
    featureNames: csv.columns.filter((_, c) => c !== labelIndex),
    features: csv.rows.map((row) => row.filter((_, c) => c !== labelIndex)),
    labels: csv.rows.map((row) => row[labelIndex]!),
  };
}
