/**
 * The general-scene generator (`unet`, ours; the paper's baseline/advanced stay as they are).
 *
 *   y [H,W,1] ─ e0 (S) ─ e1 (S/2) ─ e2 (S/4) ─ e3 (S/8) ─ e4 (S/8) ─┐
 *                 │        │         │         │                    fuse = ReLU(1×1(e4) + g)
 *                 │        │         │         └ g3 (S/16) → mean over all positions
 *                 │        │         │             ⊕ z → dense → dense = g (one vector per photo)
 *                 │        │         └──────── d3 (S/4) ← up(fuse)
 *                 │        └────────────────── d2 (S/2) ← up(d3)
 *                 └─────────────────────────── d1 (S)   ← up(d2) ⊕ y → 3×3 conv → tanh U,V
 *
 * - U-Net skips (pix2pix) carry edges and local texture to every decoder level.
 * - The global branch (Iizuka et al. 2016) pools the deepest features over the whole photo
 *   and adds the result at every position, so "overcast sky", "sunset" or "forest" is
 *   decided once per photo instead of averaged pixel by pixel.
 * - The noise z enters only there, as a vector: no dense layer to a fixed S×S map, so the
 *   network is fully convolutional. It runs on any H×W that is a multiple of
 *   {@link UNET_MULTIPLE} (aspect-preserving inference); training uses S×S crops.
 * Every layer is a stock tfjs layer (the broadcast add is a standard Add of [1,1,C] and
 * [h,w,C]), so the saved model loads in any TF.js without custom classes.
 */
import * as tf from '../util/tf.js';
import type { ModelConfig } from './config.js';
import { chromaHead, convBlock, type InitOptions } from './blocks.js';

export { UNET_MULTIPLE } from './config.js';

export function buildUnetGenerator(cfg: ModelConfig, init: InitOptions = {}): tf.LayersModel {
  const g = cfg.ngf;
  const m = cfg.bnMomentum;
  const s = (k: number) => (init.seed === undefined ? undefined : init.seed * 1000 + 200 + k);
  const normal = (k: number) => tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: s(k) });
  const block = (x: tf.SymbolicTensor, name: string, filters: number, kernel: number, strides: number, k: number, transpose = false) =>
    convBlock(x, name, { filters, kernel, strides, transpose, act: 'relu', seed: s(k), momentum: m });
  const concat = (name: string, xs: tf.SymbolicTensor[]) => tf.layers.concatenate({ axis: -1, name }).apply(xs) as tf.SymbolicTensor;

  const y = tf.input({ shape: [null, null, 1], name: 'y' });
  const z = tf.input({ shape: [cfg.zDim], name: 'z' });

  // Encoder.
  const e0 = block(y, 'e0', g / 2, 3, 1, 1); // S
  const e1 = block(e0, 'e1', g, 4, 2, 2); // S/2
  const e2 = block(e1, 'e2', g * 2, 4, 2, 3); // S/4
  const e3 = block(e2, 'e3', g * 4, 4, 2, 4); // S/8
  const e4 = block(e3, 'e4', g * 4, 3, 1, 5); // S/8

  // Global context: one vector per photo (with z), added at every position of e4.
  // (globalContext false, an ablation: the vector comes from z alone.)
  let gz = z;
  if (cfg.globalContext !== false) {
    const g3 = block(e3, 'g3', g * 4, 3, 2, 6); // S/16
    const pooled = tf.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(g3) as tf.SymbolicTensor;
    gz = concat('global_z', [pooled, z]);
  }
  const g1 = tf.layers.dense({ units: g * 4, activation: 'relu', name: 'global_fc1', kernelInitializer: normal(7) }).apply(gz) as tf.SymbolicTensor;
  const g2 = tf.layers.dense({ units: g * 4, name: 'global_fc2', kernelInitializer: normal(8) }).apply(g1) as tf.SymbolicTensor;
  const gMap = tf.layers.reshape({ targetShape: [1, 1, g * 4], name: 'global_map' }).apply(g2) as tf.SymbolicTensor;
  const local = tf.layers.conv2d({ filters: g * 4, kernelSize: 1, name: 'fuse_local', kernelInitializer: normal(9) }).apply(e4) as tf.SymbolicTensor;
  const fusedSum = tf.layers.add({ name: 'fuse_add' }).apply([local, gMap]) as tf.SymbolicTensor;
  const fused = tf.layers.reLU({ name: 'fuse_relu' }).apply(fusedSum) as tf.SymbolicTensor;

  // Decoder with skips.
  let h = block(fused, 'd3_up', g * 2, 4, 2, 10, true); // S/4
  h = block(concat('d3_skip', [h, e2]), 'd3', g * 2, 3, 1, 11);
  h = block(h, 'd2_up', g, 4, 2, 12, true); // S/2
  h = block(concat('d2_skip', [h, e1]), 'd2', g, 3, 1, 13);
  h = block(h, 'd1_up', g / 2, 4, 2, 14, true); // S
  const uv = chromaHead(concat('d1_skip', [h, e0, y]), 'uv', 0.02, s(15));
  return tf.model({ inputs: [y, z], outputs: uv, name: 'generator_unet' });
}
