/**
 * Per-epoch validation of the generator on the validation photos, per source: L1 and
 * squared error of its U,V, and the PSNR of the RGB photo they make with the true Y (at
 * model size, unclamped: what `colorgan eval` measures, up to the rounding to 8 bits).
 */
import type * as tf from '../util/tf.js';
import { RGB_ERROR_OF_CHROMA } from '../color/yuv.js';
import type { Dataset } from '../data/dataset.js';
import { predictUv, noiseFor } from '../infer/generate.js';

/** A squared RGB error of a tenth of a level², at network scale: the PSNR of an exact photo stays finite (68 dB). */
export const PSNR_FLOOR = 0.01 / (127.5 * 127.5);

/** Validation errors per source and their means (each source counts once); `sources` made once per run (RunData.valSets). */
export function validationBySource(
  G: tf.LayersModel,
  sources: Map<string, Dataset>,
  zDim: number,
): {
  mean: number;
  mse: number;
  psnr: number;
  bySource: Record<string, number>;
  mseBySource: Record<string, number>;
  psnrBySource: Record<string, number>;
} {
  const bySource: Record<string, number> = {};
  const mseBySource: Record<string, number> = {};
  const psnrBySource: Record<string, number> = {};
  for (const [name, ds] of sources) {
    const e = validationErrors(G, ds, zDim);
    bySource[name] = e.l1;
    mseBySource[name] = e.mse;
    psnrBySource[name] = e.psnr;
  }
  const meanOf = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0) / Math.max(1, sources.size);
  return { mean: meanOf(bySource), mse: meanOf(mseBySource), psnr: meanOf(psnrBySource), bySource, mseBySource, psnrBySource };
}

/** Mean |G(y, z) − uv| on a dataset in inference mode (network scale). */
export function validationL1(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): number {
  return validationErrors(G, ds, zDim, batch).l1;
}

/** PSNR (dB, 8-bit RGB) of a mean squared RGB error at network scale (a level is 1/127.5): 255² / (127.5²·e) = 4 / e. */
export const psnrOfNetworkMse = (e: number): number => 10 * Math.log10(4 / e);

/**
 * One photo's mean absolute and mean squared error of predicted against true chroma
 * (interleaved u, v), and the mean squared RGB error they cause (network scale).
 */
export function photoErrors(pred: ArrayLike<number>, ref: ArrayLike<number>): { l1: number; mse: number; rgbMse: number } {
  const { uu, vv, uv } = RGB_ERROR_OF_CHROMA;
  let a = 0;
  let q = 0;
  let rgb = 0;
  for (let t = 0; t + 1 < pred.length; t += 2) {
    const du = pred[t] - ref[t];
    const dv = pred[t + 1] - ref[t + 1];
    a += Math.abs(du) + Math.abs(dv);
    q += du * du + dv * dv;
    rgb += uu * du * du + vv * dv * dv + uv * du * dv;
  }
  return { l1: a / pred.length, mse: q / pred.length, rgbMse: rgb / (pred.length / 2) };
}

/** Mean absolute and squared error of G(y, z) against uv and the RGB PSNR, per photo then over photos (network scale). */
function validationErrors(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): { l1: number; mse: number; psnr: number } {
  const S = ds.size;
  const n = ds.files.length;
  let sum = 0;
  let sq = 0;
  let db = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const ys = Array.from({ length: m }, (_, k) => ds.y.subarray((i + k) * S * S, (i + k + 1) * S * S));
    const zs = Array.from({ length: m }, (_, k) => noiseFor(12345, i + k, zDim));
    const uvs = predictUv(G, S, ys, zs);
    uvs.forEach((uv, k) => {
      const e = photoErrors(uv, ds.uv.subarray((i + k) * S * S * 2, (i + k + 1) * S * S * 2));
      sum += e.l1;
      sq += e.mse;
      db += psnrOfNetworkMse(Math.max(e.rgbMse, PSNR_FLOOR));
    });
  }
  return { l1: sum / Math.max(1, n), mse: sq / Math.max(1, n), psnr: db / Math.max(1, n) };
}
