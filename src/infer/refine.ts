/**
 * Running LAPGAN refinement stages (src/models/refine.ts) at inference, shared with
 * training so both feed a stage the same inputs: the chroma of the scale below upsampled
 * ×2 (bilinear, `upsampleChroma`), the luma at the finer scale, per-pixel noise from the
 * seed. Tensor code lives in generate.ts's style: one call per batch of samples.
 */
import * as tf from '../util/tf.js';
import { gaussian, mulberry32 } from '../util/rng.js';
import { REFINE_FACTOR } from '../models/refine.js';
import type { ModelMetadata } from '../models/metadata.js';
import { resizePlane } from './resample.js';
import type { Grid } from './grid.js';

/** A loaded refinement stage. */
export interface RefineStage {
  model: tf.LayersModel;
  meta: ModelMetadata;
  /** Its folder. */
  source: string;
}

/** The grid of the stage above `g`. */
export function refinedGrid(g: Grid): Grid {
  return { width: g.width * REFINE_FACTOR, height: g.height * REFINE_FACTOR };
}

/** Interleaved (u, v) on grid `g` upsampled ×2 (bilinear): a stage's coarse input. */
export function upsampleChroma(uv: Float32Array, g: Grid): Float32Array {
  const f = refinedGrid(g);
  return resizePlane(uv, g.width, g.height, f.width, f.height, 2);
}

/** Per-pixel noise of stage `stage` (1, 2) for a seed and sample: n values (its own stream, not the base's z). */
export function refineNoise(seed: number, sample: number, stage: number, n: number): Float32Array {
  return gaussian(mulberry32((seed * 7919 + sample * 104729 + stage * 15485863 + 2) >>> 0), n);
}

/**
 * One stage on a batch: the luma on the fine grid (one shared by every row, or one per
 * row), each row's chroma on the coarse grid and its noise; returns each row's chroma on
 * the fine grid.
 */
export function runRefineStage(
  stage: RefineStage,
  fine: Grid,
  y: Float32Array | Float32Array[],
  coarseUvs: Float32Array[],
  noises: Float32Array[],
): Float32Array[] {
  const n = coarseUvs.length;
  if (n === 0) return [];
  const { width: w, height: h } = fine;
  const zc = stage.meta.config.zDim;
  const coarse: Grid = { width: w / REFINE_FACTOR, height: h / REFINE_FACTOR };
  const yBuf = new Float32Array(n * w * h);
  const uvBuf = new Float32Array(n * w * h * 2);
  const zBuf = new Float32Array(n * w * h * zc);
  for (let i = 0; i < n; i++) {
    yBuf.set(Array.isArray(y) ? y[i] : y, i * w * h);
    uvBuf.set(upsampleChroma(coarseUvs[i], coarse), i * w * h * 2);
    zBuf.set(noises[i], i * w * h * zc);
  }
  const out = tf.tidy(
    () => stage.model.predict([tf.tensor4d(yBuf, [n, h, w, 1]), tf.tensor4d(uvBuf, [n, h, w, 2]), tf.tensor4d(zBuf, [n, h, w, zc])]) as tf.Tensor,
  );
  const flat = out.dataSync() as Float32Array;
  out.dispose();
  const per = w * h * 2;
  return Array.from({ length: n }, (_, i) => flat.slice(i * per, (i + 1) * per));
}
