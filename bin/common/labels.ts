import { readJsonFile } from '../../layers/runtime/json-file';
import { type LabelsFile, parseLabels } from '../../layers/scoring/labels';

/** Reads and validates a labels file (`honeytrail label` writes it; train and score read it). */
export function readLabels(path: string): LabelsFile {
  return parseLabels(readJsonFile(path, 'labels file'), path);
}
