/**
 * Our wasm kernels against the pure-JS `cpu` backend on random inputs, and a leak check
 * (and Identity, which shares instead of copying).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../src/util/tf.js';
import type { KernelBackend } from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { disableNativeConvolutions } from '../src/backend/native.js';
import { encoderDecoder, rand, relL2, worstErrorVsCpu } from './conv-cases.js';
import { conv2dBackpropFilterConfig } from '../src/backend/kernels/conv2d-backprop-filter.js';
import { identityConfig } from '../src/backend/kernels/identity.js';
import {
  conv2dBackpropInputConfig,
  setBackpropInputMode,
  setBackpropInputFilterCache,
  backpropInputFilterCacheSize,
  type BackpropInputMode,
} from '../src/backend/kernels/conv2d-backprop-input.js';

before(async () => {
  const info = await initBackend({ threads: 1 });
  assert.equal(info.name, 'wasm');
  // These are the wasm kernels; the oneDNN ones (if built) have their own suite.
  disableNativeConvolutions();
});

test('our kernels are the registered wasm kernels', () => {
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, conv2dBackpropFilterConfig.kernelFunc);
  assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, conv2dBackpropInputConfig.kernelFunc);
  assert.equal(tf.getKernel('Identity', 'wasm')?.kernelFunc, identityConfig.kernelFunc);
});

test('Identity shares the buffer (no copy), each tensor outlives the other, gradients through saved tensors as on cpu', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as KernelBackend;
  const x = tf.tensor2d(rand(64, 3), [8, 8]);
  const before = backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), before, 'no new buffer');
  const want = Array.from(x.dataSync());
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), want, 'the clone keeps its values when the original is gone');
  y.dispose();
  assert.equal(backend.numDataIds(), before - 1, 'the buffer goes with the last of them');
  // The engine clones what it saves for the backward pass: a gradient that reads saved
  // inputs and outputs (sigmoid, mul, square) equals the cpu backend's.
  const grad = () => {
    const a = tf.tensor2d(rand(48, 7), [6, 8]);
    const b = tf.tensor2d(rand(48, 8), [6, 8]);
    const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.mul(tf.sigmoid(p), q))))([a, b]);
    const out = g.map((t) => Array.from(t.dataSync()));
    tf.dispose([a, b, ...g]);
    return out;
  };
  const n0 = tf.memory().numTensors;
  const onWasm = grad();
  assert.equal(tf.memory().numTensors, n0, 'no tensor leaked');
  await tf.setBackend('cpu');
  const onCpu = grad();
  await tf.setBackend('wasm');
  for (let i = 0; i < 2; i++) onWasm[i]!.forEach((v, j) => assert.ok(Math.abs(v - onCpu[i]![j]!) < 1e-5));
});

for (const mode of ['auto', 'phases', 'single'] as BackpropInputMode[]) {
  test(`Conv2DBackpropFilter, Conv2DBackpropInput and conv2dTranspose match cpu (mode ${mode})`, async () => {
    setBackpropInputMode(mode);
    try {
      const worst = await worstErrorVsCpu(['dx', 'dw', 'tr'], (i) => 11 * i + 1);
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
  const { w1, w2, x } = encoderDecoder();
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
      const y = tf.conv2dTranspose(h, w2, [4, 32, 32, 3], 2, 'same');
      return tf.mean(tf.square(tf.sub(y, x))) as tf.Scalar;
    });
    tf.tidy(() => {
      w1.assign(tf.sub(w1, tf.mul(grads[w1.name]!, 0.01)));
      w2.assign(tf.sub(w2, tf.mul(grads[w2.name]!, 0.01)));
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
