/**
 * Training-mode batch norm with a closed-form gradient.
 *
 * The stock tfjs gradient broadcasts per-channel vectors to the full activation with
 * `Tile` (13% of a wasm training step). With x̂ the normalized input, m the count per
 * channel and σ⁻¹ = rsqrt(var + ε):
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·σ⁻¹·(dy − dβ/m − x̂·dγ/m)      (sums over N,H,W)
 * We install it by overriding `call` on the BatchNormalization layer instances of a
 * model used for training. The saved model is a stock tfjs BatchNormalization, so any
 * TF.js loader (and the browser) reads it without custom classes.
 */
import * as tf from '../util/tf.js';

interface BnLayer extends tf.layers.Layer {
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * The native kernels (src/backend/native-train.ts: one thread, on the wasm heap) when they
 * are registered for the current backend. Looked up by name so that this module, which
 * the browser uses too, does not import the Node-only addon code.
 */
const BN_TRAIN = 'ColorganBatchNormTrain';
const BN_TRAIN_GRAD = 'ColorganBatchNormTrainGrad';
const nativeKernel = (name: string, t: tf.Tensor) => t.dtype === 'float32' && tf.getKernel(name, tf.getBackend()) !== undefined;

/** y = γ·(x − μ)/σ + β over axes [0,1,2] of an NHWC tensor, with our gradient. */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  const f = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const x4 = xIn as tf.Tensor4D;
    let value: tf.Tensor4D, mean: tf.Tensor, variance: tf.Tensor, invStd: tf.Tensor;
    if (nativeKernel(BN_TRAIN, x4) && x4.size > 0) {
      [value, mean, variance, invStd] = tf.engine().runKernel(BN_TRAIN, { x: x4, gamma: g, beta: b }, { epsilon }) as [
        tf.Tensor4D,
        tf.Tensor,
        tf.Tensor,
        tf.Tensor,
      ];
    } else {
      ({ mean, variance } = tf.moments(x4, [0, 1, 2]));
      invStd = tf.rsqrt(tf.add(variance, epsilon));
      value = tf.batchNorm(x4, mean as tf.Tensor1D, variance as tf.Tensor1D, b as tf.Tensor1D, g as tf.Tensor1D, epsilon);
    }
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([x4, mean, invStd, g]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor4D;
        const [xs, mu, inv, gm] = saved;
        if (nativeKernel(BN_TRAIN_GRAD, d) && d.size > 0)
          return tf.engine().runKernel(BN_TRAIN_GRAD, { dy: d, x: xs!, mean: mu!, invStd: inv!, gamma: gm! }) as tf.Tensor[];
        const m = d.shape[0] * d.shape[1] * d.shape[2];
        const xhat = tf.mul(tf.sub(xs!, mu!), inv!);
        const dBeta = tf.sum(d, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(d, xhat), [0, 1, 2]);
        const dx = tf.mul(tf.sub(tf.sub(d, tf.div(dBeta, m)), tf.mul(xhat, tf.div(dGamma, m))), tf.mul(gm!, inv!));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, gamma, beta) as tf.Tensor4D;
}

function isBatchNorm(l: tf.layers.Layer): l is BnLayer {
  return l.getClassName() === 'BatchNormalization';
}

/**
 * Make every BatchNormalization layer of `model` use batchNormTrain when called with
 * {training: true} (moving statistics updated as tfjs does); inference is unchanged.
 */
export function useFastBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (!isBatchNorm(layer)) continue;
    const stock = layer.call.bind(layer);
    layer.call = (inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }) => {
      if (!kwargs?.training) return stock(inputs, kwargs);
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const decay = 1 - layer.momentum;
      return batchNormTrain(x, layer.gamma.read() as tf.Tensor1D, layer.beta.read() as tf.Tensor1D, layer.epsilon, (mean, variance) => {
        tf.tidy(() => {
          const mm = layer.movingMean.read();
          const mv = layer.movingVariance.read();
          layer.movingMean.write(tf.sub(mm, tf.mul(tf.sub(mm, mean), decay)));
          layer.movingVariance.write(tf.sub(mv, tf.mul(tf.sub(mv, variance), decay)));
        });
      });
    };
  }
}
