/**
 * Conv2DBackpropInput for the wasm backend via the fast XNNPACK forward conv.
 * (The stock kernel is a naive loop, ~10× slower.) It is also the forward pass of
 * tf.conv2dTranspose.
 *
 * Forward conv (stride s, pads top/left, filter W [K,K,Ci,Co]):
 *   dx[h] = sum over (oh, kh) with h + top = oh*s + kh of dy[oh] * W[kh]      (per axis)
 * Split output rows by phase: h + top = q*s + r (0 <= r < s). Then kh = r + m*s and
 * oh = q - m, so phase r of dx is a stride-1 correlation of dy with the sub-filter
 * W[r + m*s] (m = 0..M-1, M = ceil(K/s), the filter zero-padded to M*s), reversed in m.
 * All s_h*s_w phases read the same dy window, so they are ONE stride-1 conv whose
 * output channels are (r_h, r_w, ci): filter B[j_h, j_w, co, (r_h, r_w, ci)] =
 * W[r_h + (M_h-1-j_h)*s_h, r_w + (M_w-1-j_w)*s_w, ci, co]. Depth-to-space then
 * interleaves the phases, and a slice drops the `top mod s` leading rows (and the tail).
 * No FLOP is wasted on the zero taps of a stride-s transposed conv.
 *
 * B is built from one transpose, contiguous slices and a concat (the wasm StridedSlice,
 * Reverse and Gather kernels are slow per-element loops). Every temporary is freed:
 * XNNPACK caches a packed operator per filter tensor until that tensor is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo, KernelBackend } from '@tensorflow/tfjs';
import { callKernel, release } from './util.js';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

function reshape(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return callKernel('Reshape', backend, { x }, { shape });
}

/** Per-axis plan of the phase decomposition. */
interface AxisPlan {
  s: number; // stride
  m: number; // taps per phase, ceil(K/s)
  kp: number; // padded filter size m*s
  padLo: number; // conv padding before dy (>= 0)
  padHi: number; // conv padding after dy (>= 0)
  cutLo: number; // dy rows dropped at the start
  cutHi: number; // dy rows dropped at the end
  q: number; // conv output size (phase rows)
  begin: number; // first full-resolution row to keep
}

function planAxis(k: number, s: number, pad: number, outSize: number, dySize: number): AxisPlan {
  const m = Math.ceil(k / s);
  const qa = Math.floor(pad / s);
  const qb = Math.floor((pad + outSize - 1) / s);
  const pt = m - 1 - qa;
  const pb = qb + 1 - dySize;
  return {
    s,
    m,
    kp: m * s,
    padLo: Math.max(pt, 0),
    padHi: Math.max(pb, 0),
    cutLo: Math.max(-pt, 0),
    cutHi: Math.max(-pb, 0),
    q: qb - qa + 1,
    begin: pad - qa * s,
  };
}

/**
 * The phase filter B [Mh, Mw, Co, sh*sw*Ci] from W [K_h, K_w, Ci, Co].
 * Exported for tests and for reuse.
 */
export function phaseFilter(backend: KernelBackend, filter: TensorInfo, ph: AxisPlan, pw: AxisPlan): TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const temps: TensorInfo[] = [];
  let w = filter;
  if (ph.kp > kh || pw.kp > kw) {
    w = callKernel('PadV2', backend, { x: filter }, {
      paddings: [
        [0, ph.kp - kh],
        [0, pw.kp - kw],
        [0, 0],
        [0, 0],
      ],
      constantValue: 0,
    });
    temps.push(w);
  }
  // [Mh, sh, Mw, sw*Ci, Co] -> [Mh, Mw, Co, sh, sw*Ci]   (axes: mh, rh, mw, (rw, ci), co)
  const w5 = reshape(backend, w, [ph.m, ph.s, pw.m, pw.s * ci, co]);
  temps.push(w5);
  const t = callKernel('Transpose', backend, { x: w5 }, { perm: [0, 2, 4, 1, 3] });
  temps.push(t);
  const taps = ph.m * pw.m;
  const inner = co * ph.s * pw.s * ci;
  let out: TensorInfo;
  if (taps === 1) {
    out = reshape(backend, t, [1, 1, co, ph.s * pw.s * ci]); // shares t's buffer (refcounted)
  } else {
    // Reverse the flattened (mh, mw) axis: (Mh-1-mh)*Mw + (Mw-1-mw) = taps-1 - (mh*Mw + mw).
    const t2 = reshape(backend, t, [taps, inner]);
    temps.push(t2);
    const parts: TensorInfo[] = [];
    for (let i = taps - 1; i >= 0; i--) parts.push(callKernel('Slice', backend, { x: t2 }, { begin: [i, 0], size: [1, inner] }));
    const cat = callKernel('Concat', backend, parts as unknown as Record<string, TensorInfo>, { axis: 0 });
    release(backend, ...parts);
    out = reshape(backend, cat, [ph.m, pw.m, co, ph.s * pw.s * ci]); // shares cat's buffer (refcounted)
    temps.push(cat);
  }
  release(backend, ...temps);
  return out;
}

export function conv2dBackpropInputViaConv(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo, attrs: Attrs): TensorInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput (wasm): only NHWC is supported');
  const inputShape = attrs.inputShape;
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode);
  const [n, h, w, ci] = inputShape;
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const ph = planAxis(info.filterHeight, info.strideHeight, info.padInfo.top, h, oh);
  const pw = planAxis(info.filterWidth, info.strideWidth, info.padInfo.left, w, ow);

  const temps: TensorInfo[] = [];
  let dys = dy;
  if (ph.cutLo || ph.cutHi || pw.cutLo || pw.cutHi) {
    const hh = oh - ph.cutLo - ph.cutHi;
    const ww = ow - pw.cutLo - pw.cutHi;
    if (hh <= 0 || ww <= 0) {
      // dx does not depend on dy at all (output entirely in the padding).
      return callKernel('Fill', backend, {}, { shape: [n, h, w, ci], value: 0, dtype: 'float32' });
    }
    dys = callKernel('Slice', backend, { x: dy }, { begin: [0, ph.cutLo, pw.cutLo, 0], size: [n, hh, ww, dy.shape[3]] });
    temps.push(dys);
  }
  const b = phaseFilter(backend, filter, ph, pw);
  temps.push(b);
  const y = callKernel(
    'Conv2D',
    backend,
    { x: dys, filter: b },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [ph.padLo, ph.padHi],
        [pw.padLo, pw.padHi],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  ); // [N, Qh, Qw, sh*sw*Ci]
  if (ph.s === 1 && pw.s === 1 && ph.q === h && pw.q === w && ph.begin === 0 && pw.begin === 0) {
    release(backend, ...temps);
    return y;
  }
  temps.push(y);
  const fullH = ph.q * ph.s;
  const fullW = pw.q * pw.s;
  let full: TensorInfo;
  if (ph.s === 1 && pw.s === 1) {
    full = y;
  } else {
    // Depth-to-space as a transpose: [N*Qh, Qw, sh, sw*Ci] -> [N*Qh, sh, Qw, sw*Ci].
    const y4 = reshape(backend, y, [n * ph.q, pw.q, ph.s, pw.s * ci]);
    temps.push(y4);
    full = callKernel('Transpose', backend, { x: y4 }, { perm: [0, 2, 1, 3] });
    temps.push(full);
  }
  let out: TensorInfo;
  if (ph.begin === 0 && pw.begin === 0 && fullH === h && fullW === w) {
    out = reshape(backend, full, [n, h, w, ci]); // shares `full`'s buffer (refcounted)
  } else {
    // Each (n, row) of the kept window is contiguous over (width, channels): a 3-D slice
    // copies one run per row instead of one per pixel.
    const f3 = reshape(backend, full, [n, fullH, fullW * ci]);
    temps.push(f3);
    const s3 = callKernel('Slice', backend, { x: f3 }, { begin: [0, ph.begin, pw.begin * ci], size: [n, h, w * ci] });
    out = reshape(backend, s3, [n, h, w, ci]);
    temps.push(s3);
  }
  release(backend, ...temps);
  return out;
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }) =>
    conv2dBackpropInputViaConv(backend as KernelBackend, inputs.dy!, inputs.filter!, attrs as unknown as Attrs)) as KernelFunc,
};
