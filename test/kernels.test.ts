/**
 * Our wasm kernels against the pure-JS `cpu` backend on random inputs, and a leak check.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend } from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/node.js';
import { conv2dBackpropFilterConfig } from '../src/backend/kernels/conv2d-backprop-filter.js';
import {
  conv2dBackpropInputConfig,
  setBackpropInputMode,
  setBackpropInputFilterCache,
  backpropInputFilterCacheSize,
  type BackpropInputMode,
} from '../src/backend/kernels/conv2d-backprop-input.js';

type Pad = 'same' | 'valid' | number;
type Strides = number | [number, number];

before(async () => {
  const info = await initBackend({ threads: 1 });
  assert.equal(info.name, 'wasm');
});

/** Deterministic pseudo-random values in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function relL2(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'size mismatch');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: Strides;
  pad: Pad;
}

interface Results {
  dx: Float32Array;
  dw: Float32Array;
  tr: Float32Array; // conv2dTranspose(dy, W) with the forward conv's x shape
}

/** dx and dW of sum(conv2d(x, W) * dy), and conv2dTranspose(dy, W), on one backend. */
async function onBackend(name: 'cpu' | 'wasm', c: Case, seed: number): Promise<Results> {
  await tf.setBackend(name);
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(rand(c.n * c.h * c.w * c.ci, seed), [c.n, c.h, c.w, c.ci]);
    const wt = tf.tensor4d(rand(c.k * c.k * c.ci * c.co, seed + 1), [c.k, c.k, c.ci, c.co]);
    const yShape = tf.conv2d(x, wt, c.s, c.pad).shape;
    const dy = tf.tensor4d(rand(yShape.reduce((a, b) => a * b, 1), seed + 2), yShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dy)))([x, wt]);
    const tr = tf.conv2dTranspose(dy, wt, [c.n, c.h, c.w, c.ci], c.s, c.pad);
    return [g[0]!, g[1]!, tr];
  });
  const [dx, dw, tr] = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return { dx: dx!, dw: dw!, tr: tr! };
}

function cases(): Case[] {
  const out: Case[] = [];
  const chans: [number, number][] = [
    [1, 3],
    [3, 8],
    [8, 32],
    [32, 1],
  ];
  const batches = [1, 2, 5];
  let i = 0;
  for (const s of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const k of [1, 3, 4, 5])
        for (const [ci, co] of chans) {
          out.push({ n: batches[i % 3]!, h: 17, w: 13, ci, co, k, s, pad });
          i++;
        }
  // Unequal strides, explicit numeric padding, stride larger than the filter, even sizes.
  out.push({ n: 2, h: 17, w: 13, ci: 3, co: 8, k: 3, s: [2, 1], pad: 'same' });
  out.push({ n: 2, h: 17, w: 13, ci: 8, co: 3, k: 4, s: [1, 2], pad: 'valid' });
  out.push({ n: 2, h: 17, w: 13, ci: 3, co: 5, k: 3, s: 2, pad: 1 });
  out.push({ n: 1, h: 16, w: 16, ci: 8, co: 16, k: 4, s: 2, pad: 'same' });
  out.push({ n: 2, h: 17, w: 13, ci: 4, co: 4, k: 2, s: 3, pad: 'valid' });
  out.push({ n: 2, h: 17, w: 13, ci: 4, co: 4, k: 5, s: 3, pad: 'same' });
  return out;
}

const fmt = (c: Case) => `n${c.n} ${c.h}x${c.w} ci${c.ci} co${c.co} k${c.k} s${JSON.stringify(c.s)} ${c.pad}`;

test('our kernels are the registered wasm kernels', () => {
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, conv2dBackpropFilterConfig.kernelFunc);
  assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, conv2dBackpropInputConfig.kernelFunc);
});

for (const mode of ['auto', 'phases', 'single'] as BackpropInputMode[]) {
  test(`Conv2DBackpropFilter, Conv2DBackpropInput and conv2dTranspose match cpu (mode ${mode})`, async () => {
    setBackpropInputMode(mode);
    try {
      let worst = 0;
      const all = cases();
      for (let i = 0; i < all.length; i++) {
        const c = all[i]!;
        const ref = await onBackend('cpu', c, 11 * i + 1);
        const got = await onBackend('wasm', c, 11 * i + 1);
        for (const key of ['dx', 'dw', 'tr'] as const) {
          const e = relL2(got[key], ref[key]);
          worst = Math.max(worst, e);
          assert.ok(e < 1e-4, `${key} ${fmt(c)}: relative L2 error ${e}`);
        }
      }
      assert.ok(worst < 1e-4);
    } finally {
      setBackpropInputMode('auto');
      await tf.setBackend('wasm');
    }
  });
}

test('cached rearranged filters give the same result and are freed with the filter', async () => {
  await tf.setBackend('wasm');
  setBackpropInputFilterCache(true);
  const backend = tf.backend() as KernelBackend;
  const before = backend.numDataIds();
  const w = tf.tensor4d(rand(4 * 4 * 8 * 16, 5), [4, 4, 8, 16]);
  const dy = tf.tensor4d(rand(2 * 8 * 8 * 16, 6), [2, 8, 8, 16]);
  const a = tf.conv2dTranspose(dy, w, [2, 16, 16, 8], 2, 'same');
  assert.equal(backpropInputFilterCacheSize(), 1);
  const b = tf.conv2dTranspose(dy, w, [2, 16, 16, 8], 2, 'same'); // cache hit
  assert.equal(relL2(b.dataSync() as Float32Array, a.dataSync() as Float32Array), 0);
  tf.dispose([a, b, dy]);
  w.dispose();
  assert.equal(backpropInputFilterCacheSize(), 0);
  assert.equal(backend.numDataIds(), before);
});

test('no leaked tensors, data ids or wasm bytes over repeated gradient steps', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as KernelBackend & { wasm: { HEAPU8: Uint8Array; wasmMemory?: WebAssembly.Memory } };
  const heap = () => (backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer).byteLength;
  // A tiny encoder/decoder: conv (stride 2), conv2dTranspose (stride 2), with weights
  // replaced after every step like an optimizer does.
  const w1 = tf.variable(tf.tensor4d(rand(4 * 4 * 3 * 16, 1), [4, 4, 3, 16]).mul(0.1));
  const w2 = tf.variable(tf.tensor4d(rand(4 * 4 * 3 * 16, 2), [4, 4, 3, 16]).mul(0.1));
  const x = tf.tensor4d(rand(4 * 32 * 32 * 3, 3), [4, 32, 32, 3]);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
      const y = tf.conv2dTranspose(h, w2, [4, 32, 32, 3], 2, 'same');
      return tf.mean(tf.square(tf.sub(y, x))) as tf.Scalar;
    });
    tf.tidy(() => {
      w1.assign(w1.sub(grads[w1.name]!.mul(0.01)));
      w2.assign(w2.sub(grads[w2.name]!.mul(0.01)));
    });
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < 3; i++) step(); // warm up (heap growth, caches)
  const m0 = tf.memory();
  const ids0 = backend.numDataIds();
  const heap0 = heap();
  for (let i = 0; i < 20; i++) step();
  const m1 = tf.memory();
  assert.equal(m1.numTensors, m0.numTensors, 'live tensor count grew');
  assert.equal(m1.numBytes, m0.numBytes, 'tensor bytes grew');
  assert.equal(backend.numDataIds(), ids0, 'backend data ids grew (leaked kernel temporaries)');
  assert.equal(heap(), heap0, 'wasm heap grew');
  tf.dispose([x, w1, w2]);
});
