/**
 * Running the generator: the only tensor code of inference (shared with the browser).
 * Noise z comes from a seeded PRNG, so a (photo, seed, sample) triple gives the same
 * colorization in Node and in the page.
 */
import * as tf from '../util/tf.js';
import { gaussian, mulberry32 } from '../util/rng.js';
import { gridDims, type GridSize } from './sharpen.js';
import { generatorRunner } from '../backend/generator-runner.js';

/** The z vector for a seed and sample index (sample 0 is the default colorization). */
export function noiseFor(seed: number, sample: number, zDim: number): Float32Array {
  return gaussian(mulberry32((seed * 7919 + sample * 104729 + 1) >>> 0), zDim);
}

/**
 * Predict U,V for a batch of gray images on one grid.
 * @param grid  the side of a square grid, or { width, height } (see grid.ts)
 * @param ys    each gw×gh luma at network scale
 * @param zs    one z per image
 * @returns     each gw×gh×2 interleaved (u, v) at network scale
 */
export function predictUv(model: tf.LayersModel, grid: GridSize, ys: Float32Array[], zs: Float32Array[]): Float32Array[] {
  const n = ys.length;
  if (n === 0) return [];
  const { gw, gh } = gridDims(grid);
  const zDim = zs[0].length;
  const yBuf = new Float32Array(n * gw * gh);
  const zBuf = new Float32Array(n * zDim);
  ys.forEach((y, i) => yBuf.set(y, i * gw * gh));
  zs.forEach((z, i) => zBuf.set(z, i * zDim));
  const per = gw * gh * 2;
  // The native graph where it is installed (backend/generator-runner.ts), else tfjs.
  let flat = generatorRunner()?.(model, n, gh, gw, [yBuf, zBuf]) ?? null;
  if (flat && flat.length !== n * per) throw new Error(`the generator gave ${flat.length / n} values per image, expected ${per} (${gw}×${gh}×2)`);
  if (!flat) {
    const out = tf.tidy(() => {
      const yT = tf.tensor4d(yBuf, [n, gh, gw, 1]);
      const zT = tf.tensor2d(zBuf, [n, zDim]);
      return model.predict([yT, zT]) as tf.Tensor;
    });
    flat = out.dataSync() as Float32Array;
    out.dispose();
  }
  return Array.from({ length: n }, (_, i) => flat.slice(i * per, (i + 1) * per));
}
