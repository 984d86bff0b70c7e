// ml-isolation-forest 0.1.0 ships no types; this declares the part we call.
// It is the reference engine in the forest benchmark and tests.
declare module 'ml-isolation-forest' {
  export class IsolationForest {
    constructor(options?: { nEstimators?: number });
    /** Builds every tree on all rows (no subsampling), with Math.random. */
    train(trainingSet: number[][]): void;
    /** Scores in [0, 1], higher is more anomalous. */
    predict(data: number[][]): number[];
  }
}
