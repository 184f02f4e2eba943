/**
 * Generators (paper section V). Input: the gray channel y [S,S,1] and a noise vector
 * z [zDim], which a dense layer projects to one S×S channel ("we transform z to a
 * two-dimensional channel to match the size of the gray-scale input").
 *
 * baseline — a 7-layer conv net, each layer conv + batch norm + ReLU: three strided
 *   convs down (S → S/8), one conv at the bottleneck, three transposed convs back up;
 *   the last one outputs U,V through tanh. (Strided convs replace max-pooling, as the
 *   paper does in some layers and DCGAN recommends; wasm's MaxPoolGrad is also wrong.)
 * advanced — the same CNN, but its last layer outputs features; a copy of the input
 *   (y, z-channel) is concatenated with them and one more conv mixes them into U,V
 *   (paper Fig. 4). The copy carries the full-resolution gray edges to the output.
 */
import * as tf from '../util/tf.js';
import type { ModelConfig } from './config.js';
import { checkModelConfig } from './config.js';
import { chromaHead, convBlock, seeded, type InitOptions } from './blocks.js';
import { buildUnetGenerator } from './unet.js';
import { buildRefineGenerator } from './refine.js';

export type { InitOptions } from './blocks.js';

export function buildGenerator(cfg: ModelConfig, init: InitOptions = {}): tf.LayersModel {
  checkModelConfig(cfg);
  if (cfg.arch === 'unet') return buildUnetGenerator(cfg, init);
  if (cfg.arch === 'refine') return buildRefineGenerator(cfg, init);
  const S = cfg.size;
  const g = cfg.ngf;
  const m = cfg.bnMomentum;
  const s = (k: number) => seeded(init.seed, k);

  const y = tf.input({ shape: [S, S, 1], name: 'y' });
  const z = tf.input({ shape: [cfg.zDim], name: 'z' });
  const zDense = tf.layers
    .dense({ units: S * S, name: 'z_project', kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: s(1) }) })
    .apply(z) as tf.SymbolicTensor;
  const zMap = tf.layers.reshape({ targetShape: [S, S, 1], name: 'z_map' }).apply(zDense) as tf.SymbolicTensor;
  const input = tf.layers.concatenate({ axis: -1, name: 'input' }).apply([y, zMap]) as tf.SymbolicTensor;

  // The CNN shared by both generators: layers 1-6.
  let h = convBlock(input, 'g1', { filters: g, kernel: 4, strides: 2, act: 'relu', seed: s(2), momentum: m }); // S/2
  h = convBlock(h, 'g2', { filters: g * 2, kernel: 4, strides: 2, act: 'relu', seed: s(3), momentum: m }); // S/4
  h = convBlock(h, 'g3', { filters: g * 4, kernel: 4, strides: 2, act: 'relu', seed: s(4), momentum: m }); // S/8
  h = convBlock(h, 'g4', { filters: g * 4, kernel: 3, strides: 1, act: 'relu', seed: s(5), momentum: m }); // S/8
  h = convBlock(h, 'g5', { filters: g * 2, kernel: 4, strides: 2, transpose: true, act: 'relu', seed: s(6), momentum: m }); // S/4
  h = convBlock(h, 'g6', { filters: g, kernel: 4, strides: 2, transpose: true, act: 'relu', seed: s(7), momentum: m }); // S/2

  const outInit = tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: s(8) });
  let uv: tf.SymbolicTensor;
  if (cfg.arch === 'baseline') {
    uv = tf.layers
      .conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: outInit, name: 'g7_uv' })
      .apply(h) as tf.SymbolicTensor;
  } else {
    const feat = convBlock(h, 'g7', { filters: Math.max(8, g / 2), kernel: 4, strides: 2, transpose: true, act: 'relu', seed: s(8), momentum: m }); // S
    const mixed = tf.layers.concatenate({ axis: -1, name: 'input_copy' }).apply([feat, input]) as tf.SymbolicTensor;
    uv = chromaHead(mixed, 'g8_uv', 0.02, s(9));
  }
  return tf.model({ inputs: [y, z], outputs: uv, name: `generator_${cfg.arch}` });
}
