import { describe, expect, it } from 'vitest';
import {
  type ForestModelFile,
  ModelFileError,
  parseModel,
  scoreForest,
  serializeModel,
  trainForest,
} from '../../layers/forest';
import { loadOutlierSet } from './outliers';

const satellite = loadOutlierSet('satellite');
const model = trainForest(satellite.features, { seed: 5, featureNames: satellite.featureNames });
const meta = {
  trainingWindow: { start: '2024-05-01T00:00:00Z', end: '2024-05-31T00:00:00Z' },
  threshold: 0.62,
  meta: { account: '123456789012', rows: satellite.features.length },
};

/** What a model file looks like after a trip through disk. */
function throughJson(file: ForestModelFile): Record<string, unknown> {
  return JSON.parse(JSON.stringify(file));
}

describe('model file', () => {
  it('round-trips through JSON to identical scores', () => {
    const parsed = parseModel(throughJson(serializeModel(model, meta)));
    expect(scoreForest(parsed, satellite.features)).toEqual(scoreForest(model, satellite.features));
    expect(parsed.featureNames).toEqual(satellite.featureNames);
    expect(parsed.meta).toEqual(meta);
  });

  it('writes the header fields and keeps meta on a second write', () => {
    const file = serializeModel(parseModel(throughJson(serializeModel(model, meta))));
    expect(file).toMatchObject({
      format: 'isolation-forest',
      version: 1,
      features: satellite.featureNames,
      sampleSize: 256,
      trees: 100,
      seed: 5,
      ...meta,
    });
    expect(file).toEqual(serializeModel(model, meta));
  });

  it('is small: under 200 KB for 100 trees of ψ = 256 on 36 features', () => {
    const bytes = Buffer.byteLength(JSON.stringify(serializeModel(model, meta)));
    expect(bytes).toBeLessThan(200_000);
  });

  const good = throughJson(serializeModel(model, meta));
  const nodes = good.nodes as Record<string, string>;
  it.each<[string, unknown, RegExp]>([
    ['not an object', 'hello', /expected object/],
    ['another format', { ...good, format: 'onnx' }, /format must be "isolation-forest"/],
    ['another version', { ...good, version: 2 }, /unsupported model file version 2/],
    ['a missing field', { ...good, trees: undefined }, /trees is missing/],
    ['a missing array', { ...good, nodes: { ...nodes, leafSize: undefined } }, /nodes.leafSize is missing/],
    ['a field of the wrong type', { ...good, sampleSize: '256' }, /sampleSize: .*expected number/],
    [
      'text that is not base64',
      { ...good, nodes: { ...nodes, splitValue: 'not base64!' } },
      /expected base64/,
    ],
    [
      'a split-value array of the wrong length',
      {
        ...good,
        nodes: { ...nodes, splitValue: Buffer.from(new Float64Array(3).buffer).toString('base64') },
      },
      /nodes.splitValue has 3 values for \d+ internal nodes/,
    ],
    [
      'a truncated byte array',
      { ...good, nodes: { ...nodes, splitValue: 'AAAA' } },
      /not a whole number of 8-byte/,
    ],
    ['fewer trees than stored', { ...good, trees: 99 }, /left over after 99 trees/],
    ['more trees than stored', { ...good, trees: 101 }, /nodes end inside tree 100/],
    [
      'a feature list too short',
      { ...good, features: ['only'] },
      /feature index \d+, but there are 1 features/,
    ],
    ['a different ψ', { ...good, sampleSize: 200 }, /expected sampleSize 200/],
  ])('rejects %s with a clear error', (_, json, message) => {
    expect(() => parseModel(json)).toThrow(ModelFileError);
    expect(() => parseModel(json)).toThrow(message);
  });
});
