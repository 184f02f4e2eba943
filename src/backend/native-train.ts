/**
 * Native training kernels beyond the convolutions (native/train_kernels.cc), for the wasm
 * backend with the oneDNN addon: what a training step otherwise runs on the single wasm
 * thread. In place on the wasm heap, like the convolutions (src/backend/native.ts, which
 * registers them with the convolutions and takes them away with them).
 *
 * - `ColorganBatchNormTrain` / `ColorganBatchNormTrainGrad`: batch norm in training mode
 *   and its closed-form gradient, used by src/models/batchnorm.ts when registered for the
 *   current backend (else it runs the same formulas as tfjs ops).
 * - `LeakyRelu` (re-registered: threaded) and `ColorganLeakyReluGrad`, which LeakyRelu's
 *   gradient (re-registered while these kernels are on) runs instead of tfjs'
 *   where(x > 0, dy, dy·alpha) — Greater, Multiply and Select, three passes on one thread.
 * - `Sum` (re-registered) over every axis but the last — a bias's gradient — as one pass
 *   summing rows (the wasm kernel transposes the channels to the front first); other sums
 *   go to the stock kernel.
 * - `ColorganAdam`: Adam's update of all of an optimizer's variables in one call, bit for
 *   bit what tfjs' AdamOptimizer computes (used by src/train/adam.ts when registered).
 */
import * as tf from '../util/tf.js';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '../util/tf.js';
import type { WasmBackendLike } from './kernels/util.js';

export const BN_TRAIN = 'ColorganBatchNormTrain';
export const BN_TRAIN_GRAD = 'ColorganBatchNormTrainGrad';
export const LEAKY_RELU_GRAD = 'ColorganLeakyReluGrad';
export const ADAM = 'ColorganAdam';

/** The training part of the colorgan_dnnl addon. */
export interface TrainAddon {
  bnTrain(heap: Uint8Array, params: Int32Array): void;
  bnTrainGrad(heap: Uint8Array, params: Int32Array): void;
  leakyRelu(heap: Uint8Array, params: Int32Array): void;
  adam(heap: Uint8Array, params: Int32Array): void;
  channelSum(heap: Uint8Array, params: Int32Array): void;
}

/** ColorganAdam's attributes: the step's float32 constants (see src/train/adam.ts). */
export interface AdamAttrs {
  count: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLr: number;
}
/** In the order of enum AdamP (train_kernels.cc), after the count. */
const ADAM_CONSTANTS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'oneMinusAccBeta1', 'oneMinusAccBeta2', 'epsilon', 'negLr'] as const;

/** What native.ts lends these kernels: the heap view and a tensor's heap offset. */
export interface HeapAccess {
  heap(backend: WasmBackendLike): Uint8Array;
  offsetOf(backend: WasmBackendLike, t: TensorInfo): number;
}

const f32 = new Float32Array(1);
const f32bits = new Int32Array(f32.buffer);
function floatBits(v: number): number {
  f32[0] = v;
  return f32bits[0]!;
}

/** The kernel configs (wasm), given the stock kernels they fall back to. */
export function trainingKernelConfigs(a: TrainAddon, h: HeapAccess, stock: Map<string, KernelConfig>): KernelConfig[] {
  const { heap, offsetOf } = h;

  /** rows × C of an NHWC activation and its per-channel parameters, checked. */
  const bnShape = (x: TensorInfo, perChannel: TensorInfo[]): { rows: number; C: number } => {
    const C = x.shape[x.shape.length - 1] ?? 0;
    const size = tf.util.sizeFromShape(x.shape);
    if (x.shape.length < 2 || C === 0 || size === 0) throw new Error(`${BN_TRAIN}: expected a non-empty channels-last tensor, got shape [${x.shape}]`);
    for (const t of [x, ...perChannel]) if (t.dtype !== 'float32') throw new Error(`${BN_TRAIN}: float32 tensors only, got ${t.dtype}`);
    for (const t of perChannel)
      if (t.shape.length !== 1 || t.shape[0] !== C) throw new Error(`${BN_TRAIN}: expected per-channel vectors of ${C}, got shape [${t.shape}]`);
    return { rows: size / C, C };
  };

  const bnTrain: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
    const { rows, C } = bnShape(x!, [gamma!, beta!]);
    const y = backend.makeOutput(x!.shape, 'float32');
    const [mean, variance, invStd] = [0, 1, 2].map(() => backend.makeOutput([C], 'float32'));
    const eps = (args.attrs as { epsilon: number }).epsilon;
    // In enum BnFwd's order (train_kernels.cc).
    const p = Int32Array.from([
      rows,
      C,
      offsetOf(backend, x!),
      offsetOf(backend, gamma!),
      offsetOf(backend, beta!),
      offsetOf(backend, y),
      offsetOf(backend, mean!),
      offsetOf(backend, variance!),
      offsetOf(backend, invStd!),
      floatBits(eps),
    ]);
    a.bnTrain(heap(backend), p);
    return [y, mean!, variance!, invStd!];
  };

  const bnTrainGrad: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const { dy, x, mean, invStd, gamma } = args.inputs as Record<string, TensorInfo>;
    const { rows, C } = bnShape(x!, [mean!, invStd!, gamma!]);
    if (!tf.util.arraysEqual(dy!.shape, x!.shape) || dy!.dtype !== 'float32')
      throw new Error(`${BN_TRAIN_GRAD}: dy [${dy!.shape}] does not match x [${x!.shape}]`);
    const dx = backend.makeOutput(x!.shape, 'float32');
    const dGamma = backend.makeOutput([C], 'float32');
    const dBeta = backend.makeOutput([C], 'float32');
    // In enum BnBwd's order.
    const p = Int32Array.from([
      rows,
      C,
      offsetOf(backend, dy!),
      offsetOf(backend, x!),
      offsetOf(backend, mean!),
      offsetOf(backend, invStd!),
      offsetOf(backend, gamma!),
      offsetOf(backend, dx),
      offsetOf(backend, dGamma),
      offsetOf(backend, dBeta),
    ]);
    a.bnTrainGrad(heap(backend), p);
    return [dx, dGamma, dBeta];
  };

  const leaky = (op: 0 | 1, backend: WasmBackendLike, first: TensorInfo, x: TensorInfo, alpha: number): TensorInfo => {
    const out = backend.makeOutput(x.shape, 'float32');
    const n = tf.util.sizeFromShape(x.shape);
    if (n === 0) return out;
    // In enum Leaky's order: op, count, a, b, out, alpha.
    const p = Int32Array.from([op, n, offsetOf(backend, first), offsetOf(backend, x), offsetOf(backend, out), floatBits(alpha)]);
    a.leakyRelu(heap(backend), p);
    return out;
  };

  const leakyRelu: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') {
      const k = stock.get('LeakyRelu');
      if (!k) throw new Error('native LeakyRelu: no fallback kernel');
      return k.kernelFunc(args);
    }
    return leaky(0, args.backend as WasmBackendLike, x, x, (args.attrs as { alpha: number }).alpha);
  };

  const leakyReluGrad: KernelFunc = (args) => {
    const { dy, x } = args.inputs as Record<string, TensorInfo>;
    if (dy!.dtype !== 'float32' || x!.dtype !== 'float32' || !tf.util.arraysEqual(dy!.shape, x!.shape))
      throw new Error(`${LEAKY_RELU_GRAD}: expected float32 dy and x of one shape, got [${dy!.shape}] and [${x!.shape}]`);
    return leaky(1, args.backend as WasmBackendLike, dy!, x!, (args.attrs as { alpha: number }).alpha);
  };

  // Inputs x<i>, m<i>, v<i>, g<i> for i < count (value, moments, gradient); outputs
  // [x0', m0', v0', x1', …], new tensors (the variables are then assigned them, as tfjs does).
  const adam: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const attrs = args.attrs as unknown as AdamAttrs;
    const inputs = args.inputs as Record<string, TensorInfo | undefined>;
    const count = attrs.count;
    if (!Number.isInteger(count) || count < 0) throw new Error(`${ADAM}: bad variable count ${count}`);
    const p = new Int32Array(1 + ADAM_CONSTANTS.length + 8 * count);
    p[0] = count;
    ADAM_CONSTANTS.forEach((k, i) => {
      if (typeof attrs[k] !== 'number') throw new Error(`${ADAM}: attribute ${k} missing`);
      p[1 + i] = floatBits(attrs[k]);
    });
    const outs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      const [x, m, v, g] = ['x', 'm', 'v', 'g'].map((k) => inputs[`${k}${i}`]);
      if (!x || !m || !v || !g) throw new Error(`${ADAM}: variable ${i}: inputs x${i}, m${i}, v${i} and g${i} are needed`);
      for (const t of [m, v, g])
        if (t.dtype !== 'float32' || x.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, x.shape))
          throw new Error(`${ADAM}: variable ${i}: float32 value, moments and gradient of one shape expected`);
      const n = tf.util.sizeFromShape(x.shape);
      if (n === 0) throw new Error(`${ADAM}: variable ${i} is empty`);
      const o = [0, 1, 2].map(() => backend.makeOutput(x.shape, 'float32'));
      // In enum AdamVar's order: size, x, m, v, g, x', m', v'.
      p.set([n, ...[x, m, v, g, ...o].map((t) => offsetOf(backend, t))], 1 + ADAM_CONSTANTS.length + 8 * i);
      outs.push(...o);
    }
    if (count > 0) a.adam(heap(backend), p);
    return outs;
  };

  const sum: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || rank < 2 || size === 0 || axes.length !== rank - 1 || axes.some((ax, i) => ax !== i)) {
      const k = stock.get('Sum');
      if (!k) throw new Error('native Sum: no fallback kernel');
      return k.kernelFunc(args);
    }
    const C = x.shape[rank - 1]!;
    const out = backend.makeOutput(keepDims ? [...new Array<number>(rank - 1).fill(1), C] : [C], 'float32');
    // In enum ChannelSumP's order: rows, C, x, out.
    a.channelSum(heap(backend), Int32Array.from([size / C, C, offsetOf(backend, x), offsetOf(backend, out)]));
    return out;
  };

  return [
    { kernelName: 'Sum', backendName: 'wasm', kernelFunc: sum },
    { kernelName: ADAM, backendName: 'wasm', kernelFunc: adam },
    { kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: bnTrain },
    { kernelName: BN_TRAIN_GRAD, backendName: 'wasm', kernelFunc: bnTrainGrad },
    { kernelName: 'LeakyRelu', backendName: 'wasm', kernelFunc: leakyRelu },
    { kernelName: LEAKY_RELU_GRAD, backendName: 'wasm', kernelFunc: leakyReluGrad },
  ];
}

/** LeakyRelu's gradient: the native kernel where it is registered, else tfjs' own formula. */
export const leakyReluGradConfig: GradConfig = {
  kernelName: 'LeakyRelu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const d = dy as Tensor;
    const [x] = saved;
    const alpha = (attrs as { alpha: number }).alpha;
    if (tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend()) && d.dtype === 'float32')
      return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: d, x: x! }, { alpha }) as Tensor };
    return { x: () => tf.where(tf.greater(x!, 0), d, tf.mul(d, alpha)) };
  },
};
