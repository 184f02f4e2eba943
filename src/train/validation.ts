/** Per-epoch validation of the generator: L1 and squared error of its U,V on the validation photos, per source. */
import type * as tf from '../util/tf.js';
import type { Dataset } from '../data/dataset.js';
import { predictUv, noiseFor } from '../infer/generate.js';

/** Validation errors per source and their means (each source counts once); `sources` made once per run (RunData.valSets). */
export function validationBySource(
  G: tf.LayersModel,
  sources: Map<string, Dataset>,
  zDim: number,
): { mean: number; mse: number; bySource: Record<string, number>; mseBySource: Record<string, number> } {
  const bySource: Record<string, number> = {};
  const mseBySource: Record<string, number> = {};
  for (const [name, ds] of sources) {
    const e = validationErrors(G, ds, zDim);
    bySource[name] = e.l1;
    mseBySource[name] = e.mse;
  }
  const meanOf = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0) / Math.max(1, sources.size);
  return { mean: meanOf(bySource), mse: meanOf(mseBySource), bySource, mseBySource };
}

/** Mean |G(y, z) − uv| on a dataset in inference mode (network scale). */
export function validationL1(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): number {
  return validationErrors(G, ds, zDim, batch).l1;
}

/** One photo's mean absolute and mean squared error of predicted against true chroma. */
export function photoErrors(pred: ArrayLike<number>, ref: ArrayLike<number>): { l1: number; mse: number } {
  let a = 0;
  let q = 0;
  for (let t = 0; t < pred.length; t++) {
    const e = pred[t] - ref[t];
    a += Math.abs(e);
    q += e * e;
  }
  return { l1: a / pred.length, mse: q / pred.length };
}

/** Mean absolute and mean squared error of G(y, z) against uv, per photo then over photos (network scale). */
function validationErrors(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): { l1: number; mse: number } {
  const S = ds.size;
  const n = ds.files.length;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const ys = Array.from({ length: m }, (_, k) => ds.y.subarray((i + k) * S * S, (i + k + 1) * S * S));
    const zs = Array.from({ length: m }, (_, k) => noiseFor(12345, i + k, zDim));
    const uvs = predictUv(G, S, ys, zs);
    uvs.forEach((uv, k) => {
      const e = photoErrors(uv, ds.uv.subarray((i + k) * S * S * 2, (i + k + 1) * S * S * 2));
      sum += e.l1;
      sq += e.mse;
    });
  }
  return { l1: sum / Math.max(1, n), mse: sq / Math.max(1, n) };
}
