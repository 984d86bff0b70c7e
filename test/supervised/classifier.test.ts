import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_INDEX, FEATURE_NAMES } from '../../layers/features';
import { createRandom } from '../../layers/forest/random';
import {
  ClassifierError,
  classify,
  contributions,
  type LabelledExample,
  parseClassifier,
  trainClassifier,
} from '../../layers/supervised';

/**
 * Labelled windows over the forest's features: benign ones (false positives: a
 * developer's late but ordinary work, new IP, nothing denied) and attacks (denied
 * calls, sensitive calls, many services), with noise.
 */
function examples(count: number, seed: number): LabelledExample[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const attack = i % 3 === 0;
    const vector = new Float64Array(FEATURE_COUNT);
    for (let f = 0; f < FEATURE_COUNT; f++) vector[f] = random.next();
    vector[FEATURE_INDEX.accessDeniedRatio] = attack ? 0.4 + 0.4 * random.next() : 0.1 * random.next();
    vector[FEATURE_INDEX.sensitiveCalls] = attack ? 1.5 + random.next() : 0.5 * random.next();
    vector[FEATURE_INDEX.distinctServices] = attack ? 5 + random.nextInt(5) : 1 + random.nextInt(4);
    return { vector, attack };
  });
}

describe('trainClassifier and classify', () => {
  const training = examples(90, 1);
  const model = trainClassifier(training);

  it('learns who is an attack on windows it has not seen', () => {
    const test = examples(60, 2);
    const right = test.filter((example) => classify(model, example.vector) >= 0.5 === example.attack);
    expect(right.length / test.length).toBeGreaterThanOrEqual(0.95);
  });

  it('records the labels it learned from and the features it reads', () => {
    expect(model.examples).toEqual({ attack: 30, benign: 60 });
    expect(model.features).toEqual([...FEATURE_NAMES]);
    expect(model.iterations).toBeLessThan(50);
  });

  it('says which features pushed towards attack', () => {
    const attack = training.find((example) => example.attack)!;
    const top = contributions(model, attack.vector)
      .slice(0, 3)
      .map((c) => c.feature);
    expect(top).toEqual(
      expect.arrayContaining([expect.stringMatching(/accessDeniedRatio|sensitiveCalls|distinctServices/)]),
    );
  });

  it('is deterministic: the same labels give the same model', () => {
    expect(trainClassifier(examples(90, 1))).toEqual(model);
  });

  it('stays modest on separable labels instead of answering 0 or 1 (regularised)', () => {
    const separable: LabelledExample[] = [0, 1, 2, 3, 4, 5].map((i) => {
      const vector = new Float64Array(FEATURE_COUNT);
      vector[FEATURE_INDEX.accessDeniedRatio] = i < 3 ? 0 : 1;
      return { vector, attack: i >= 3 };
    });
    const separated = trainClassifier(separable);
    const p = classify(separated, separable[5]!.vector);
    expect(p).toBeGreaterThan(0.5);
    expect(p).toBeLessThan(0.99);
  });

  it('round-trips through JSON with the same probabilities', () => {
    const read = parseClassifier(JSON.parse(JSON.stringify(model)), 'model.json');
    for (const example of training.slice(0, 10)) {
      expect(classify(read, example.vector)).toBe(classify(model, example.vector));
    }
  });

  it('learns from one class only without failing (refineVerdict then refuses to act on it)', () => {
    const benignOnly = training.filter((example) => !example.attack);
    const oneClass = trainClassifier(benignOnly);
    expect(oneClass.examples).toEqual({ attack: 0, benign: 60 });
    expect(classify(oneClass, benignOnly[0]!.vector)).toBeLessThan(0.5);
  });
});

describe('bad input names what is wrong', () => {
  it.each<[string, () => unknown, RegExp]>([
    ['no examples', () => trainClassifier([]), /no labelled examples/],
    [
      'a short vector',
      () => trainClassifier([{ vector: [1, 2], attack: true }]),
      /example 0 has 2 features, expected 15/,
    ],
    [
      'a NaN feature',
      () => trainClassifier([{ vector: new Float64Array(FEATURE_COUNT).fill(Number.NaN), attack: true }]),
      /example 0: feature calls is NaN/,
    ],
    ['a zero penalty', () => trainClassifier(examples(9, 1), { l2: 0 }), /l2 must be a positive number/],
    [
      'a vector of the wrong width to classify',
      () => classify(trainClassifier(examples(9, 1)), [1]),
      /the vector has 1 features, the classifier 15/,
    ],
  ])('%s', (_, action, message) => {
    expect(action).toThrow(ClassifierError);
    expect(action).toThrow(message);
  });

  it('a file of another format, a wrong field, or other features', () => {
    const model = trainClassifier(examples(30, 3));
    expect(() => parseClassifier({ format: 'isolation-forest' }, 'm.json')).toThrow(
      /m.json is not a classifier file: .*format must be "window-classifier"/,
    );
    expect(() => parseClassifier({ ...model, weights: [1] }, 'm.json')).toThrow(
      /weights: has 1 values for 15 features/,
    );
    expect(() => parseClassifier({ ...model, featureVersion: 0 }, 'm.json')).toThrow(
      /trained on other features .*retrain it from the labels/,
    );
  });
});
