/**
 * A LAPGAN refinement stage (Denton et al. 2015; the paper "considered" it): the chroma of
 * the scale below, upsampled ×{@link REFINE_FACTOR}, is refined at the finer scale.
 *
 *   y [H,W,1] (luma at this scale) ⊕ uv↑ [H,W,2] (the stage below, upsampled) ⊕ noise [H,W,zDim]
 *   → c1 (3×3) ─────────────────────────────┐
 *   → c2 (4×4, stride 2) → c3 (3×3) → up (4×4 transposed) ⊕ c1 → c4 (3×3) → 3×3 tanh = r
 *   out = uv↑ + r          (r is the Laplacian band of the chroma at this scale)
 *
 * Small and fully convolutional (any H, W that are even), no batch norm (training and
 * inference compute the same function), He-initialized ReLU convs and a near-zero last
 * layer, so an untrained stage returns uv↑ almost unchanged. Stock tfjs layers only.
 */
import * as tf from '../util/tf.js';
import type { ModelConfig } from './config.js';
import { checkModelConfig } from './config.js';
import { chromaHead, type InitOptions } from './blocks.js';

/** Each stage doubles the resolution of the chroma below it. */
export const REFINE_FACTOR = 2;

/** Model input names, in the order the network takes them. */
export const REFINE_INPUTS = ['y', 'uv_coarse', 'z'] as const;

export function buildRefineGenerator(cfg: ModelConfig, init: InitOptions = {}): tf.LayersModel {
  checkModelConfig(cfg);
  if (cfg.arch !== 'refine') throw new Error(`buildRefineGenerator: config.arch must be "refine", got "${cfg.arch}"`);
  const g = cfg.ngf;
  const s = (k: number) => (init.seed === undefined ? undefined : init.seed * 1000 + 300 + k);
  const conv = (x: tf.SymbolicTensor, name: string, filters: number, kernel: number, strides: number, k: number, transpose = false) =>
    (transpose ? tf.layers.conv2dTranspose : tf.layers.conv2d)({
      filters,
      kernelSize: kernel,
      strides,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed: s(k) }),
      name,
    }).apply(x) as tf.SymbolicTensor;

  const y = tf.input({ shape: [null, null, 1], name: REFINE_INPUTS[0] });
  const uv = tf.input({ shape: [null, null, 2], name: REFINE_INPUTS[1] });
  const z = tf.input({ shape: [null, null, cfg.zDim], name: REFINE_INPUTS[2] });
  const x = tf.layers.concatenate({ axis: -1, name: 'r_input' }).apply([y, uv, z]) as tf.SymbolicTensor;
  const c1 = conv(x, 'r_c1', g, 3, 1, 1);
  let h = conv(c1, 'r_c2', g * 2, 4, 2, 2); // H/2
  h = conv(h, 'r_c3', g * 2, 3, 1, 3);
  h = conv(h, 'r_up', g, 4, 2, 4, true); // H
  h = tf.layers.concatenate({ axis: -1, name: 'r_skip' }).apply([h, c1]) as tf.SymbolicTensor;
  h = conv(h, 'r_c4', g, 3, 1, 5);
  const r = chromaHead(h, 'r_band', 0.002, s(6));
  const out = tf.layers.add({ name: 'uv' }).apply([uv, r]) as tf.SymbolicTensor;
  return tf.model({ inputs: [y, uv, z], outputs: out, name: 'refine' });
}
