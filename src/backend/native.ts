/**
 * Optional native convolutions (Node only): the oneDNN addon built by
 * `native/build.mjs` (`native/build/colorgan_dnnl.node`, loaded by src/native/addons.ts).
 * When it is present the wasm backend keeps every tensor and every other kernel, and
 * Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter and single matrix
 * products (BatchMatMul, _FusedMatMul of batch 1) run in oneDNN, in
 * place on the wasm heap (no copies); Concat, SplitV and inference batch norm run as
 * threaded loops there, and training batch norm, leaky ReLU and Adam as the native loops
 * of native-train.ts (COLORGAN_NATIVE_TRAIN=0: those stay on wasm). Without the addon —
 * or with COLORGAN_NATIVE=0 — our wasm kernels are used.
 * (The same addon's pixel loops are the colorizer's business: infer/native-pixels.ts.)
 */
import * as tf from '../util/tf.js';
import type { KernelConfig, KernelFunc, TensorInfo } from '../util/tf.js';
import { loadAddon } from '../native/addons.js';
import { wasmHeapBuffer, type WasmBackendLike } from './kernels/util.js';
import { leakyReluGradConfig, trainingKernelConfigs, type TrainAddon } from './native-train.js';

/** The compute side of colorgan_dnnl (its pixel loops: infer/native-pixels.ts). */
interface DnnlAddon extends TrainAddon {
  conv(heap: Uint8Array, params: Int32Array): void;
  copyParts(heap: Uint8Array, params: Int32Array): void;
  batchNorm(heap: Uint8Array, params: Int32Array): void;
  /** Threads of the addon's OpenMP pool (its pixel loops use them too). */
  setThreads(n: number): number;
  version(): string;
}

// Keep in step with enum P in native/colorgan_dnnl.cc.
const enum P {
  KIND,
  N,
  H,
  W,
  CI,
  OH,
  OW,
  CO,
  KH,
  KW,
  SH,
  SW,
  DH,
  DW,
  PT,
  PL,
  PB,
  PR,
  OFF_A,
  OFF_B,
  OFF_C,
  OFF_BIAS,
  ACT,
  ALPHA_BITS,
  /** A number naming the filter tensor while it lives (weightId): the addon reorders a filter it already holds once. */
  W_ID,
  NPARAMS,
}
const enum Kind {
  FWD = 0,
  BWD_DATA = 1,
  BWD_WEIGHTS = 2,
}
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2, tanh: 3, sigmoid: 4 };

/** The oneDNN addon, or null (the reason: nativeUnavailableReason('colorgan_dnnl')). */
export function loadNativeAddon(): DnnlAddon | null {
  return loadAddon<DnnlAddon>('colorgan_dnnl');
}

const params = new Int32Array(P.NPARAMS);
/** Tensors never change, so a tensor's data id names its contents for as long as it lives. */
const weightIds = new WeakMap<object, number>();
let lastWeightId = 0;
function weightId(t: TensorInfo): number {
  let id = weightIds.get(t.dataId);
  if (id === undefined) {
    lastWeightId = lastWeightId === 0x7fffffff ? 1 : lastWeightId + 1;
    id = lastWeightId;
    weightIds.set(t.dataId, id);
  }
  return id;
}
const f32 = new Float32Array(1);
const f32bits = new Int32Array(f32.buffer);
let heapCache: { buffer: ArrayBufferLike; view: Uint8Array } | null = null;

function heap(backend: WasmBackendLike): Uint8Array {
  const buffer = wasmHeapBuffer(backend);
  if (heapCache?.buffer !== buffer) heapCache = { buffer, view: new Uint8Array(buffer) };
  return heapCache.view;
}

function offsetOf(backend: WasmBackendLike, t: TensorInfo): number {
  const info = backend.dataIdMap.get(t.dataId);
  if (!info) throw new Error('native conv: tensor is not in the wasm backend');
  // tfjs does not check malloc: a failed allocation leaves offset 0, which we must not
  // write to (the wasm kernels would trap; native code would silently overwrite memory).
  if (info.memoryOffset === 0 && tf.util.sizeFromShape(t.shape) > 0) throw new Error('out of memory in the wasm heap (an allocation failed)');
  return info.memoryOffset;
}

/** Fill the shared params for one call; returns false if oneDNN cannot take it (falls back). */
function describe(
  kind: Kind,
  xShape: number[],
  filterShape: [number, number, number, number],
  attrs: { strides: unknown; pad: unknown; dilations?: unknown; dimRoundingMode?: unknown; dataFormat?: unknown },
): tf.backend_util.Conv2DInfo | null {
  if (attrs.dataFormat === 'NCHW') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape,
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const eh = (info.filterHeight - 1) * info.dilationHeight + 1;
  const ew = (info.filterWidth - 1) * info.dilationWidth + 1;
  // oneDNN wants dst = (src + pl + pr - extent)/stride + 1 exactly; trailing rows the
  // conv never reads make pr negative, which it accepts.
  const pb = (info.outHeight - 1) * info.strideHeight + eh - info.inHeight - info.padInfo.top;
  const pr = (info.outWidth - 1) * info.strideWidth + ew - info.inWidth - info.padInfo.left;
  if (info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  // In enum P's order: KIND … PR.
  params.set([
    kind,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    pb,
    pr,
  ]);
  params[P.OFF_BIAS] = -1;
  params[P.ACT] = 0;
  params[P.ALPHA_BITS] = 0;
  return info;
}

function stockOf(stock: Map<string, KernelConfig>, name: string): KernelFunc {
  const k = stock.get(name);
  if (!k) throw new Error(`native conv: no fallback kernel for ${name}`);
  return k.kernelFunc;
}

function makeConfigs(a: DnnlAddon, stock: Map<string, KernelConfig>): KernelConfig[] {
  /** Run the described conv on three tensors (their roles depend on the kind, see P). */
  const conv = (backend: WasmBackendLike, t1: TensorInfo, t2: TensorInfo, out: TensorInfo): TensorInfo => {
    params[P.OFF_A] = offsetOf(backend, t1);
    params[P.OFF_B] = offsetOf(backend, t2);
    params[P.OFF_C] = offsetOf(backend, out);
    params[P.W_ID] = params[P.KIND] === Kind.BWD_WEIGHTS ? 0 : weightId(t2); // fwd, bwd-data: t2 is the filter
    a.conv(heap(backend), params);
    return out;
  };
  /** A forward conv's bias and activation (fused post-ops); leaky ReLU's slope defaults to tfjs' 0.2. */
  const epilogue = (backend: WasmBackendLike, bias: TensorInfo | undefined, act: number, alpha: number | undefined): void => {
    if (bias) params[P.OFF_BIAS] = offsetOf(backend, bias);
    params[P.ACT] = act;
    f32[0] = alpha ?? 0.2;
    params[P.ALPHA_BITS] = f32bits[0]!;
  };
  const forward =
    (name: 'Conv2D' | 'FusedConv2D'): KernelFunc =>
    (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as WasmBackendLike;
      const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
      const activation = (attrs as { activation?: string }).activation ?? 'linear';
      const act = ACTIVATIONS[activation];
      const info =
        x && filter && !preluActivationWeights && act !== undefined && x.dtype === 'float32' && (!bias || bias.shape.length === 1)
          ? describe(Kind.FWD, x.shape, filter.shape as [number, number, number, number], attrs as never)
          : null;
      if (!info) return stockOf(stock, name)(args);
      const out = backend.makeOutput(info.outShape, 'float32');
      if (tf.util.sizeFromShape(info.outShape) === 0) return out;
      epilogue(backend, bias, act!, (attrs as { leakyreluAlpha?: number }).leakyreluAlpha);
      return conv(backend, x!, filter!, out);
    };

  const backpropInput: KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as WasmBackendLike;
    const { dy, filter } = inputs as Record<string, TensorInfo>;
    const inputShape = (attrs as { inputShape: number[] }).inputShape;
    const info = describe(Kind.BWD_DATA, inputShape, filter!.shape as [number, number, number, number], attrs as never);
    if (!info) return stockOf(stock, 'Conv2DBackpropInput')(args);
    const out = backend.makeOutput(inputShape, 'float32');
    if (tf.util.sizeFromShape(inputShape) === 0) return out;
    return conv(backend, dy!, filter!, out);
  };

  const backpropFilter: KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as WasmBackendLike;
    const { x, dy } = inputs as Record<string, TensorInfo>;
    const filterShape = (attrs as { filterShape: [number, number, number, number] }).filterShape;
    const info = describe(Kind.BWD_WEIGHTS, x!.shape, filterShape, attrs as never);
    if (!info) return stockOf(stock, 'Conv2DBackpropFilter')(args);
    const out = backend.makeOutput(filterShape, 'float32');
    return conv(backend, x!, dy!, out);
  };

  /**
   * A single matrix product (batch 1, what dense layers run) as a 1×1 convolution over M
   * "photos" of one pixel: A·B is the forward conv of A [M,1,1,K] with the filter B
   * [1,1,K,N]; A·Bᵀ its input gradient (dy = A, filter B [N,K] read as [1,1,N,K]); Aᵀ·B its
   * filter gradient (x = A [K,M] read as [K,1,1,M], dy = B). The stock wasm kernel spends
   * ~10 ms on the advanced G's z-projection gradient [64,16]·[16,4096]; oneDNN < 1.
   */
  const matMul =
    (name: 'BatchMatMul' | '_FusedMatMul'): KernelFunc =>
    (args) => {
      const { inputs, attrs } = args;
      const backend = args.backend as WasmBackendLike;
      const { a, b, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
      const {
        transposeA,
        transposeB,
        activation = 'linear',
        leakyreluAlpha,
      } = attrs as {
        transposeA: boolean;
        transposeB: boolean;
        activation?: string;
        leakyreluAlpha?: number;
      };
      const act = ACTIVATIONS[activation];
      const plain = (t?: TensorInfo) => t && t.dtype === 'float32' && t.shape.length === 3 && t.shape[0] === 1;
      const fused = !!bias || act !== 0;
      if (!plain(a) || !plain(b) || preluActivationWeights || act === undefined || (transposeA && transposeB) || (fused && (transposeA || transposeB)))
        return stockOf(stock, name)(args);
      const [M, K] = transposeA ? [a!.shape[2]!, a!.shape[1]!] : [a!.shape[1]!, a!.shape[2]!];
      const N = transposeB ? b!.shape[1]! : b!.shape[2]!;
      if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== N)) return stockOf(stock, name)(args);
      const out = backend.makeOutput([1, M, N], 'float32');
      if (M * N === 0) return out;
      const one = { strides: 1, pad: 'valid' };
      if (transposeB) {
        describe(Kind.BWD_DATA, [M, 1, 1, N], [1, 1, N, K], one);
        return conv(backend, a!, b!, out);
      }
      if (transposeA) {
        describe(Kind.BWD_WEIGHTS, [K, 1, 1, M], [1, 1, M, N], one);
        return conv(backend, a!, b!, out);
      }
      describe(Kind.FWD, [M, 1, 1, K], [1, 1, K, N], one);
      epilogue(backend, bias, act, leakyreluAlpha);
      return conv(backend, a!, b!, out);
    };

  // Concat along any axis as row copies: `outer` rows, each input contributing its width.
  const concat: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const list = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as TensorInfo[];
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, list[0]!.shape)[0]!;
    const parts = list.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
    if (parts.length < 2 || parts.some((t) => t.dtype !== 'float32')) return stockOf(stock, 'Concat')(args);
    const outShape = tf.backend_util.computeOutShape(
      list.map((t) => t.shape),
      axis,
    );
    const out = backend.makeOutput(outShape, 'float32');
    const outer = tf.util.sizeFromShape(outShape.slice(0, axis));
    const rowWidth = tf.util.sizeFromShape(outShape.slice(axis));
    const p = new Int32Array(2 + 5 * parts.length);
    p[0] = outer;
    p[1] = parts.length;
    let col = 0;
    parts.forEach((t, k) => {
      const w = tf.util.sizeFromShape(t.shape.slice(axis));
      p.set([offsetOf(backend, t), w, offsetOf(backend, out) + col * 4, rowWidth, w], 2 + 5 * k);
      col += w;
    });
    a.copyParts(heap(backend), p);
    return out;
  };

  // SplitV (the gradient of Concat): the same row copies the other way.
  const splitV: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (x.dtype !== 'float32') return stockOf(stock, 'SplitV')(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, ax));
    const inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
    const rowWidth = x.shape[ax]! * inner;
    const outs = sizes.map((s) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === ax ? s : d)),
        'float32',
      ),
    );
    const live = outs.filter((o) => tf.util.sizeFromShape(o.shape) > 0);
    const p = new Int32Array(2 + 5 * live.length);
    p[0] = outer;
    p[1] = live.length;
    let col = 0;
    let k = 0;
    outs.forEach((o, i) => {
      const w = sizes[i]! * inner;
      if (w > 0 && outer > 0) p.set([offsetOf(backend, x) + col * 4, rowWidth, offsetOf(backend, o), w, w], 2 + 5 * k++);
      col += w;
    });
    p[1] = k;
    if (k > 0) a.copyParts(heap(backend), p);
    return outs;
  };

  // Inference batch norm over the last axis (what tfjs' BatchNormalization layer runs at predict time).
  const batchNorm: KernelFunc = (args) => {
    const backend = args.backend as WasmBackendLike;
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const C = x!.shape[x!.shape.length - 1] ?? 0;
    const fits = (t: TensorInfo | undefined) => !t || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === C);
    if (x!.dtype !== 'float32' || C === 0 || !fits(mean) || !fits(variance) || !mean || !variance || !fits(offset) || !fits(scale))
      return stockOf(stock, 'FusedBatchNorm')(args);
    const out = backend.makeOutput(x!.shape, 'float32');
    const rows = tf.util.sizeFromShape(x!.shape) / C;
    if (rows === 0) return out;
    f32[0] = (args.attrs as { varianceEpsilon: number }).varianceEpsilon;
    a.batchNorm(
      heap(backend),
      Int32Array.from([
        rows,
        C,
        offsetOf(backend, x!),
        offsetOf(backend, out),
        offsetOf(backend, mean),
        offsetOf(backend, variance),
        offset ? offsetOf(backend, offset) : -1,
        scale ? offsetOf(backend, scale) : -1,
        f32bits[0]!,
      ]),
    );
    return out;
  };

  return [
    { kernelName: 'Concat', backendName: 'wasm', kernelFunc: concat },
    { kernelName: 'SplitV', backendName: 'wasm', kernelFunc: splitV },
    { kernelName: 'FusedBatchNorm', backendName: 'wasm', kernelFunc: batchNorm },
    { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: forward('Conv2D') },
    { kernelName: 'FusedConv2D', backendName: 'wasm', kernelFunc: forward('FusedConv2D') },
    { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: backpropInput },
    { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: backpropFilter },
    { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: matMul('BatchMatMul') },
    { kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: matMul('_FusedMatMul') },
  ];
}

let active = false;
let training = false;
const replaced = new Map<string, KernelConfig>();
/** Kernels registered under names of ours (nothing to put back: unregistered). */
const added = new Set<string>();
let stockLeakyReluGrad: tf.GradConfig | undefined;

function register(cfg: KernelConfig): void {
  const old = tf.getKernel(cfg.kernelName, 'wasm');
  if (old) {
    if (!replaced.has(cfg.kernelName)) replaced.set(cfg.kernelName, { ...old } as KernelConfig);
    tf.unregisterKernel(cfg.kernelName, 'wasm');
  } else if (!replaced.has(cfg.kernelName)) added.add(cfg.kernelName);
  tf.registerKernel(cfg);
}

function restore(name: string): void {
  const cfg = replaced.get(name);
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  if (cfg) tf.registerKernel(cfg);
  replaced.delete(name);
  added.delete(name);
}

/**
 * Route the wasm backend's convolutions to oneDNN, on `threads` threads, and (unless
 * COLORGAN_NATIVE_TRAIN=0) the training kernels of native-train.ts. Call after our wasm
 * kernels are registered (they stay as the fallback for cases oneDNN is not given, e.g.
 * NCHW or PReLU). Returns the oneDNN version, or null if the addon is not available.
 */
export function enableNativeConvolutions(threads?: number): string | null {
  const a = loadNativeAddon();
  if (!a) return null;
  if (threads && threads > 0) a.setThreads(threads);
  if (!active) {
    active = true;
    for (const cfg of makeConfigs(a, replaced)) register(cfg);
    if (process.env.COLORGAN_NATIVE_TRAIN !== '0') setNativeTrainingKernels(true);
  }
  return a.version();
}

/**
 * Turn the native training kernels (batch norm in training mode and its gradient, leaky
 * ReLU and its gradient) on or off while the native convolutions stay (to compare both
 * in one process). Returns whether they are on; never on without the convolutions.
 */
export function setNativeTrainingKernels(on: boolean): boolean {
  const a = loadNativeAddon();
  if (on && active && a && !training) {
    training = true;
    for (const cfg of trainingKernelConfigs(a, { heap, offsetOf }, replaced)) register(cfg);
    stockLeakyReluGrad = tf.getGradient('LeakyRelu');
    tf.registerGradient(leakyReluGradConfig);
  } else if (!on && training) {
    training = false;
    for (const cfg of trainingKernelConfigs(a!, { heap, offsetOf }, replaced)) restore(cfg.kernelName);
    tf.unregisterGradient('LeakyRelu');
    if (stockLeakyReluGrad) tf.registerGradient(stockLeakyReluGrad);
  }
  return training;
}

/** Put the wasm kernels back (tests compare both paths in one process). */
export function disableNativeConvolutions(): void {
  if (!active) return;
  setNativeTrainingKernels(false);
  active = false;
  for (const name of [...replaced.keys(), ...added]) restore(name);
}

export function nativeConvolutionsActive(): boolean {
  return active;
}

export function nativeTrainingKernelsActive(): boolean {
  return training;
}
