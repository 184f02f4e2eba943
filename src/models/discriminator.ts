/**
 * Discriminator (paper section V): 4 strided conv layers with batch norm (none on the
 * first, as in DCGAN) and LeakyReLU over the concatenation of the gray channel Y and a
 * real or generated color image (U,V), then one real/fake logit. The paper's two-way
 * softmax is the same as a sigmoid on one logit, which we use with a cross-entropy
 * on logits for numerical stability.
 * Its hidden activations also serve as the feature space of the feature-matching loss
 * (the paper's proposed "loss in a feature space", made self-contained: no pretrained net).
 */
import * as tf from '../util/tf.js';
import type { ModelConfig } from './config.js';
import { checkModelConfig } from './config.js';
import { convBlock, type InitOptions } from './blocks.js';

export function buildDiscriminator(cfg: ModelConfig, init: InitOptions = {}): tf.LayersModel {
  checkModelConfig(cfg);
  const S = cfg.size;
  const d = cfg.ndf;
  const m = cfg.bnMomentum;
  const s = (k: number) => (init.seed === undefined ? undefined : init.seed * 1000 + 100 + k);

  const y = tf.input({ shape: [S, S, 1], name: 'y' });
  const uv = tf.input({ shape: [S, S, 2], name: 'uv' });
  const x = tf.layers.concatenate({ axis: -1, name: 'yuv' }).apply([y, uv]) as tf.SymbolicTensor;
  let h = convBlock(x, 'd1', { filters: d, kernel: 4, strides: 2, bn: false, act: 'lrelu', seed: s(1), momentum: m });
  h = convBlock(h, 'd2', { filters: d * 2, kernel: 4, strides: 2, act: 'lrelu', seed: s(2), momentum: m });
  h = convBlock(h, 'd3', { filters: d * 4, kernel: 4, strides: 2, act: 'lrelu', seed: s(3), momentum: m });
  h = convBlock(h, 'd4', { filters: d * 8, kernel: 4, strides: 2, act: 'lrelu', seed: s(4), momentum: m });
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const logit = tf.layers
    .dense({ units: 1, name: 'logit', kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: s(5) }) })
    .apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: [y, uv], outputs: logit, name: 'discriminator' });
}

/** The activations the feature-matching loss compares (D's hidden layers, coarse to fine order). */
export const FEATURE_LAYERS = ['d1_lrelu', 'd2_lrelu', 'd3_lrelu', 'd4_lrelu'] as const;

/**
 * The same discriminator (shared layers and weights) with its hidden activations as extra
 * outputs: [logit, ...FEATURE_LAYERS], for the feature-matching loss (pix2pixHD).
 */
export function withFeatures(D: tf.LayersModel): tf.LayersModel {
  const feats = FEATURE_LAYERS.map((n) => D.getLayer(n).output as tf.SymbolicTensor);
  return tf.model({ inputs: D.inputs, outputs: [D.outputs[0], ...feats], name: 'discriminator_features' });
}
