/**
 * A faster way to run a generator's inference pass, installed at start-up where available
 * (Node: the oneDNN addon's one-call graph, backend/native-graph.ts, installed by
 * initBackend). infer/generate.ts' predictUv asks it first. No Node imports here: the
 * browser shares predictUv and simply never installs one.
 */
import type * as tf from '../util/tf.js';

/**
 * Given the batch as NHWC arrays (one per model input), the model's output, or null for a
 * model it does not run (then tfjs does). It must give what model.predict gives (the
 * tests compare them).
 */
export type GeneratorRunner = (model: tf.LayersModel, n: number, h: number, w: number, inputs: Float32Array[]) => Float32Array | null;

let runner: GeneratorRunner | null = null;

/** Install (or with null remove) the runner; returns the one it replaces. */
export function setGeneratorRunner(r: GeneratorRunner | null): GeneratorRunner | null {
  const old = runner;
  runner = r;
  return old;
}

/** The installed runner, or null. */
export function generatorRunner(): GeneratorRunner | null {
  return runner;
}
