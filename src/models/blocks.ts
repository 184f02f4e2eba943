/** Layer blocks shared by the networks. */
import * as tf from '../util/tf.js';

export interface InitOptions {
  /** Seed for the weight initializers (reproducible runs). */
  seed?: number;
}

export function seeded(seed: number | undefined, k: number) {
  return seed === undefined ? undefined : seed * 1000 + k;
}

/**
 * The last layer of a network that outputs chroma: a 3×3 convolution to (u, v) with tanh,
 * so the output is in the network scale's [-1, 1]; `stddev` of its initial weights.
 */
export function chromaHead(x: tf.SymbolicTensor, name: string, stddev: number, seed: number | undefined): tf.SymbolicTensor {
  return tf.layers
    .conv2d({
      filters: 2,
      kernelSize: 3,
      padding: 'same',
      activation: 'tanh',
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev, seed }),
      name,
    })
    .apply(x) as tf.SymbolicTensor;
}

/** conv (no bias: batch norm follows) → batch norm → ReLU / LeakyReLU. */
export function convBlock(
  x: tf.SymbolicTensor,
  name: string,
  o: { filters: number; kernel: number; strides: number; transpose?: boolean; bn?: boolean; act: 'relu' | 'lrelu'; seed?: number; momentum: number },
): tf.SymbolicTensor {
  const init = tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: o.seed }); // DCGAN init
  const args = {
    filters: o.filters,
    kernelSize: o.kernel,
    strides: o.strides,
    padding: 'same' as const,
    useBias: o.bn === false,
    kernelInitializer: init,
    name: `${name}_conv`,
  };
  let y = (o.transpose ? tf.layers.conv2dTranspose(args) : tf.layers.conv2d(args)).apply(x) as tf.SymbolicTensor;
  if (o.bn !== false) {
    y = tf.layers
      .batchNormalization({
        axis: -1,
        momentum: o.momentum,
        epsilon: 1e-5,
        name: `${name}_bn`,
        gammaInitializer: tf.initializers.randomNormal({ mean: 1, stddev: 0.02, seed: o.seed === undefined ? undefined : o.seed + 500 }),
      })
      .apply(y) as tf.SymbolicTensor;
  }
  y = (o.act === 'relu' ? tf.layers.reLU({ name: `${name}_relu` }) : tf.layers.leakyReLU({ alpha: 0.2, name: `${name}_lrelu` })).apply(y) as tf.SymbolicTensor;
  return y;
}
