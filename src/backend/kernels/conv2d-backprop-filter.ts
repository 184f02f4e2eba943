/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none, so
 * training any conv net on wasm fails without it).
 *
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-top, ow*s+kw-left, ci] * dy[n,oh,ow,co]
 * is itself a convolution if the batch is treated as the channel axis: x transposed to
 * [Ci,H,W,N] convolved (stride 1, dilation s) with dy transposed to [OH,OW,N,Co] as the
 * filter gives [Ci,K,K,Co]. So the fast XNNPACK forward conv does the work.
 */
import * as tf from '../../util/tf.js';
import type { KernelConfig, KernelFunc, TensorInfo, KernelBackend } from '../../util/tf.js';
import { callKernel, release } from './util.js';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2dBackpropFilterViaConv(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, attrs: Attrs): TensorInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode,
  );
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const [n, h, w, ci] = x.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  let bottom = kh + (oh - 1) * sh - h - top;
  let right = kw + (ow - 1) * sw - w - left;

  const temps: TensorInfo[] = [];
  let xs = x;
  if (bottom < 0 || right < 0) {
    // The forward conv never read the last rows/cols: cut them off.
    const hh = h + Math.min(bottom, 0);
    const ww = w + Math.min(right, 0);
    xs = callKernel('Slice', backend, { x }, { begin: [0, 0, 0, 0], size: [n, hh, ww, ci] });
    temps.push(xs);
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const xT = callKernel('Transpose', backend, { x: xs }, { perm: [3, 1, 2, 0] }); // [Ci,H,W,N]
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH,OW,N,Co]
  temps.push(xT, dyT);
  const g = callKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    },
  ); // [Ci,K,K,Co]
  temps.push(g);
  const out = callKernel('Transpose', backend, { x: g }, { perm: [1, 2, 0, 3] }); // [K,K,Ci,Co]
  release(backend, ...temps);
  return out;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }) =>
    conv2dBackpropFilterViaConv(backend as KernelBackend, inputs.x!, inputs.dy!, attrs as unknown as Attrs)) as KernelFunc,
};
