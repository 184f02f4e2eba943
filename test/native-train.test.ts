/**
 * The native training kernels (native/train_kernels.cc, src/backend/native-train.ts):
 * batch norm in training mode and its gradient, leaky ReLU and its gradient, against the
 * pure-JS `cpu` backend (forward and gradients, odd shapes), without leaks; Adam in one
 * call, bit for bit tfjs' own (wasm and cpu); a GAN step
 * with them against the wasm ops and run twice (identical weights); the checks at the
 * JS/C++ boundary; and the switches that turn them off.
 *
 * Skipped when the oneDNN addon is absent (required in CI: COLORGAN_REQUIRE_NATIVE=1,
 * checked by test/native.test.ts).
 */
import { test, before } from 'node:test';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '../src/util/tf.js';
import type { KernelBackend } from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import {
  loadNativeAddon,
  enableNativeConvolutions,
  disableNativeConvolutions,
  setNativeTrainingKernels,
  nativeTrainingKernelsActive,
} from '../src/backend/native.js';
import { ADAM, BN_TRAIN, BN_TRAIN_GRAD, LEAKY_RELU_GRAD } from '../src/backend/native-train.js';
import { useFastAdam } from '../src/train/adam.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { wasmHeapBuffer, type WasmBackendLike } from '../src/backend/kernels/util.js';
import { batchNormTrain } from '../src/models/batchnorm.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import type { ModelConfig } from '../src/models/config.js';
import { GanStep } from '../src/train/gan.js';
import { gaussian, mulberry32 } from '../src/util/rng.js';
import { rand, relL2 } from './conv-cases.js';

const dnnl = loadNativeAddon();
const skip = !dnnl && `colorgan_dnnl not built: ${nativeUnavailableReason('colorgan_dnnl')}`;

before(async () => {
  const info = await initBackend();
  assert.equal(info.name, 'wasm');
});

// Odd shapes, one row per channel, more channels than rows, a deep narrow layer.
const SHAPES: [number, number, number, number][] = [
  [3, 5, 7, 4],
  [2, 9, 11, 13],
  [1, 1, 1, 3],
  [1, 2, 1, 67],
  [4, 8, 8, 64],
];

/** y = leaky(batchNormTrain(x)), its loss Σ y·w and the gradients for x, γ, β; plus mean and variance. */
function bnLeakyCase(shape: [number, number, number, number], seed: number): Float32Array[] {
  const C = shape[3];
  const size = shape.reduce((a, b) => a * b);
  return tf.tidy(() => {
    // an offset and a scale per tensor so the statistics are not trivially 0 and 1
    const x = tf.add(tf.mul(tf.tensor4d(rand(size, seed), shape), 3), 0.7) as tf.Tensor4D;
    const g = tf.tensor1d(rand(C, seed + 1).map((v) => 1 + 0.5 * v));
    const b = tf.tensor1d(rand(C, seed + 2));
    const w = tf.tensor4d(rand(size, seed + 3), shape);
    let stats: tf.Tensor[] = [];
    const f = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) => {
      const y = batchNormTrain(xs as tf.Tensor4D, gs as tf.Tensor1D, bs as tf.Tensor1D, 1e-3, (m, v) => {
        stats = [tf.keep(m.clone()), tf.keep(v.clone())];
      });
      return tf.sum(tf.mul(tf.leakyRelu(y, 0.2), w));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, g, b]);
    const y = tf.leakyRelu(batchNormTrain(x, g, b, 1e-3), 0.2);
    const out = [y, value, ...grads, ...stats].map((t) => t.dataSync().slice() as Float32Array);
    tf.dispose(stats);
    return out;
  });
}

const NAMES = ['y', 'loss', 'dx', 'dGamma', 'dBeta', 'mean', 'variance'];

test('native batch norm (training) and leaky ReLU match cpu, forward and gradients, on odd shapes', { skip }, async () => {
  enableNativeConvolutions();
  assert.ok(setNativeTrainingKernels(true));
  for (const [k, shape] of SHAPES.entries()) {
    await tf.setBackend('cpu');
    const ref = bnLeakyCase(shape, 10 * k + 1);
    await tf.setBackend('wasm');
    const prof = await tf.profile(() => void bnLeakyCase(shape, 10 * k + 1));
    const used = new Set(prof.kernels.map((e) => e.name));
    for (const name of [BN_TRAIN, BN_TRAIN_GRAD, LEAKY_RELU_GRAD]) assert.ok(used.has(name), `[${shape}]: ${name} ran`);
    for (const name of ['Mean', 'Greater', 'Select']) assert.ok(!used.has(name), `[${shape}]: no wasm ${name}`);
    const got = bnLeakyCase(shape, 10 * k + 1);
    for (let i = 0; i < ref.length; i++) {
      // A single-row channel has variance 0: its dx is rounding noise at both ends.
      if (NAMES[i] === 'dx' && shape[0] * shape[1] * shape[2] === 1) continue;
      // (the loss is a sum with cancellation: the conv kernels' tolerance)
      const e = relL2(got[i]!, ref[i]!);
      assert.ok(e < (NAMES[i] === 'loss' ? 1e-4 : 1e-5), `[${shape}] ${NAMES[i]}: relative L2 error ${e}`);
    }
  }
});

test('native Sum over every axis but the last (bias gradients) matches cpu; other sums take the stock kernel', { skip }, async () => {
  enableNativeConvolutions();
  assert.ok(setNativeTrainingKernels(true));
  const cases: [number[], number | number[], boolean][] = [
    [[4, 9, 7, 5], [0, 1, 2], false],
    [[4, 9, 7, 5], [2, 0, 1], true],
    [[3, 11], 0, false],
    [[2, 3, 4, 6], [-4, -3, -2], false],
    [[4, 9, 7, 5], [1, 2], false], // not the leading axes: stock
    [[4, 9, 7, 5], 3, false], // the last axis: stock
  ];
  for (const [k, [shape, axis, keep]] of cases.entries()) {
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(rand(tf.util.sizeFromShape(shape), 40 + k), shape);
        const y = tf.sum(x, axis, keep);
        return { shape: y.shape, data: y.dataSync().slice() as Float32Array };
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    assert.deepEqual(got.shape, ref.shape, `case ${k}: shape`);
    assert.ok(relL2(got.data, ref.data) < 1e-6, `case ${k}: relative L2 error ${relL2(got.data, ref.data)}`);
  }
  await tf.setBackend('wasm');
});

test('native leaky ReLU: forward as cpu (to rounding), gradient exactly (x = 0, negative zero, other slopes)', { skip }, async () => {
  enableNativeConvolutions();
  setNativeTrainingKernels(true);
  const xs = [-2, -0.5, -0, 0, 1e-30, 0.25, 3, -1e-30, 7, -7, 0.5];
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(xs.map((_, i) => 1 + i));
      const out: Float32Array[] = [];
      for (const alpha of [0.2, 0.01, -0.3]) {
        const [y, dx] = [tf.leakyRelu(x, alpha), tf.grad((t: tf.Tensor) => tf.leakyRelu(t, alpha))(x, dy)];
        out.push(y!.dataSync() as Float32Array, dx!.dataSync() as Float32Array);
      }
      return out.map((a) => Array.from(a));
    });
  };
  const ref = await run('cpu');
  const got = await run('wasm');
  for (let i = 0; i < ref.length; i += 2) {
    // cpu multiplies by the slope as a double; wasm (stock and native) as a float
    const e = relL2(Float32Array.from(got[i]!), Float32Array.from(ref[i]!));
    assert.ok(e < 1e-7, `forward ${i / 2}: relative L2 error ${e}`);
    assert.ok(Object.is(got[i]![2], -0) && Object.is(got[i]![3], 0), 'signed zeros pass through');
    assert.deepEqual(got[i + 1], ref[i + 1], `gradient ${i / 2}`);
  }
});

test('native training kernels leak no tensors, data ids or wasm bytes over repeated steps', { skip }, async () => {
  enableNativeConvolutions();
  setNativeTrainingKernels(true);
  await tf.setBackend('wasm');
  const backend = tf.backend() as KernelBackend & WasmBackendLike;
  const x = tf.tensor4d(rand(4 * 8 * 8 * 16, 3), [4, 8, 8, 16]);
  const g = tf.variable(tf.ones([16]));
  const b = tf.variable(tf.zeros([16]));
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(tf.leakyRelu(batchNormTrain(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), 0.2))) as tf.Scalar,
    );
    tf.tidy(() => {
      g.assign(tf.sub(g, tf.mul(grads[g.name]!, 0.1)));
      b.assign(tf.sub(b, tf.mul(grads[b.name]!, 0.1)));
    });
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < 3; i++) step();
  const m0 = tf.memory();
  const ids0 = backend.numDataIds();
  const heap0 = wasmHeapBuffer(backend).byteLength;
  for (let i = 0; i < 20; i++) step();
  assert.equal(tf.memory().numTensors, m0.numTensors, 'live tensor count grew');
  assert.equal(tf.memory().numBytes, m0.numBytes, 'tensor bytes grew');
  assert.equal(backend.numDataIds(), ids0, 'backend data ids grew');
  assert.equal(wasmHeapBuffer(backend).byteLength, heap0, 'wasm heap grew');
  tf.dispose([x, g, b]);
});

/**
 * Five Adam steps (useFastAdam) on variables of odd shapes, one of them without a gradient
 * in some steps: the values, moments and state afterwards.
 */
async function adamSteps(backend: string): Promise<number[][]> {
  await tf.setBackend(backend);
  const shapes = [[3, 3, 5, 7], [13], [1], [2, 67]];
  const vars = shapes.map((s, k) =>
    tf.variable(
      tf.tensor(
        rand(
          s.reduce((a, b) => a * b),
          40 + k,
        ),
        s,
      ),
      true,
      `adam_test_${backend}_${k}`,
    ),
  );
  const opt = tf.train.adam(2e-3, 0.5, 0.999) as tf.AdamOptimizer;
  useFastAdam(opt);
  for (let step = 0; step < 5; step++) {
    tf.tidy(() => {
      const grads = vars.map((v, k) => ({
        name: v.name,
        tensor:
          k === 1 && step % 2
            ? (null as unknown as tf.Tensor)
            : tf.tensor(
                rand(v.size, 100 * step + k).map((x) => x * 10 ** (k - 2)),
                v.shape,
              ),
      }));
      opt.applyGradients(grads);
    });
  }
  const o = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable; iterations: number };
  const w = await opt.getWeights();
  const out = [...vars, ...w.slice(1).map((t) => t.tensor), o.accBeta1, o.accBeta2].map((t) => Array.from(t.dataSync()));
  out.push([o.iterations]);
  opt.dispose();
  tf.dispose(vars);
  return out;
}

test("Adam in one native call gives bit for bit the weights, moments and state of tfjs' Adam", { skip }, async () => {
  enableNativeConvolutions();
  setNativeTrainingKernels(true);
  await tf.setBackend('wasm');
  const prof = await tf.profile(async () => void (await adamSteps('wasm')));
  assert.equal(prof.kernels.filter((k) => k.name === ADAM).length, 4, 'steps 2-5 ran natively (the first creates the moments)');
  const native = await adamSteps('wasm');
  setNativeTrainingKernels(false);
  let stock: number[][];
  try {
    stock = await adamSteps('wasm');
  } finally {
    setNativeTrainingKernels(true);
  }
  const cpu = await adamSteps('cpu');
  await tf.setBackend('wasm');
  assert.equal(native.length, stock.length);
  for (let i = 0; i < native.length; i++) {
    assert.deepEqual(native[i], stock[i], `tensor ${i}: native vs the wasm ops`);
    assert.deepEqual(native[i], cpu[i], `tensor ${i}: native vs cpu`);
  }
});

const CFG: ModelConfig = { arch: 'unet', size: 16, ngf: 8, ndf: 8, zDim: 8, bnMomentum: 0.9 };

/** Three GAN steps of a small unet from seeded weights: the weights of G and D after them. */
function train3(): Float32Array[] {
  const G = buildGenerator(CFG, { seed: 4 });
  const D = buildDiscriminator(CFG, { seed: 4 });
  const step = new GanStep(G, D, 16, 8, { l1: 10, lr: 2e-3, beta1: 0.5, diversity: 0, featureMatch: 10 });
  const r = mulberry32(9);
  const n = 4;
  const y = new Float32Array(n * 256).map(() => r() * 2 - 1);
  const batch = { n, y, uv: new Float32Array(n * 512).map(() => r() - 0.5), z: gaussian(r, n * 8) };
  for (let i = 0; i < 3; i++) step.step(batch);
  const w = [...G.getWeights(), ...D.getWeights()].map((t) => t.dataSync().slice() as Float32Array);
  G.dispose();
  D.dispose();
  return w;
}

test('training with the native kernels is deterministic and agrees with the wasm ops', { skip }, async () => {
  enableNativeConvolutions();
  await tf.setBackend('wasm');
  setNativeTrainingKernels(true);
  let a: Float32Array[] = [];
  const prof = await tf.profile(() => void (a = train3()));
  for (const name of [BN_TRAIN, BN_TRAIN_GRAD, LEAKY_RELU_GRAD, ADAM])
    assert.ok(
      prof.kernels.some((k) => k.name === name),
      `the GAN step ran ${name}`,
    );
  const b = train3();
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `weight ${i} differs between two identical runs`);
  setNativeTrainingKernels(false);
  try {
    const w = train3();
    // Three Adam steps from the same start: rounding differences stay small.
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, relL2(a[i]!, w[i]!));
    assert.ok(worst < 1e-3, `weights after 3 steps differ from the wasm ops' by ${worst} (relative L2)`);
  } finally {
    setNativeTrainingKernels(true);
  }
});

test('the native training kernels check their arguments at the boundary', { skip }, async () => {
  await tf.setBackend('wasm');
  const heap = new Uint8Array(wasmHeapBuffer(tf.backend() as WasmBackendLike));
  const a = dnnl as unknown as Record<'bnTrain' | 'bnTrainGrad' | 'leakyRelu' | 'adam', (h: unknown, p: unknown) => void>;
  const end = heap.byteLength - 16; // 4 floats before the end of the heap
  // Valid offsets point into a scratch tensor: a check that failed to throw could only write there.
  const scratch = tf.zeros([256]);
  const o = (tf.backend() as WasmBackendLike).dataIdMap.get(scratch.dataId)!.memoryOffset;
  const bn = (rows: number, C: number, x = o) => Int32Array.from([rows, C, x, o, o, o, o, o, o, 0]);
  assert.throws(() => a.bnTrain(heap, new Float32Array(10)), /bnTrain: expected a typed array over the wasm heap and an Int32Array/);
  assert.throws(() => a.bnTrain({}, bn(1, 1)), /bnTrain: expected a typed array/);
  assert.throws(() => a.bnTrain(heap, new Int32Array(9)), /bnTrain: expected at least 10 params/);
  assert.throws(() => a.bnTrain(heap, bn(0, 4)), /bnTrain: rows and channels must be positive/);
  assert.throws(() => a.bnTrain(heap, bn(2, 4, end)), /bnTrain: tensor outside the wasm heap: x/);
  assert.throws(() => a.bnTrain(heap, bn(1, 4, o + 2)), /tensor outside the wasm heap: x/, 'misaligned');
  assert.throws(() => a.bnTrainGrad(heap, Int32Array.from([2, 2, -1, 0, 0, 0, 0, 0, 0, 0])), /bnTrainGrad: tensor outside the wasm heap: dy/);
  assert.throws(() => a.leakyRelu(heap, Int32Array.from([2, 4, o, o, o, 0])), /leakyRelu: op must be 0 \(forward\) or 1 \(gradient\), got 2/);
  assert.throws(() => a.leakyRelu(heap, Int32Array.from([1, 8, o, end, o, 0])), /leakyRelu: tensor outside the wasm heap: x/);
  assert.throws(() => a.leakyRelu(heap, Int32Array.from([0, -1, o, o, o, 0])), /leakyRelu: negative count/);
  const adamVar = (n: number, x = o) => [n, x, o, o, o, o + 512, o + 512, o + 512];
  assert.throws(() => a.adam(heap, Int32Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, ...adamVar(4)])), /adam: expected 9 \+ 8 params per variable for 2 variables/);
  assert.throws(() => a.adam(heap, Int32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, ...adamVar(0)])), /adam: variable 0: size must be positive/);
  assert.throws(
    () => a.adam(heap, Int32Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, ...adamVar(4), ...adamVar(8, end)])),
    /adam: tensor outside the wasm heap: variable 1 x/,
  );
  assert.ok(
    (scratch.dataSync() as Float32Array).every((v) => v === 0),
    'nothing was written',
  );
  scratch.dispose();
  // The registered kernels refuse what they were not written for, with the reason.
  assert.throws(
    () => tf.engine().runKernel(BN_TRAIN, { x: tf.zeros([2, 3]), gamma: tf.ones([4]), beta: tf.zeros([3]) }, { epsilon: 1e-5 }),
    /expected per-channel vectors of 3, got shape \[4\]/,
  );
});

test('setNativeTrainingKernels(false) and disableNativeConvolutions put the wasm ops back', { skip }, async () => {
  enableNativeConvolutions();
  setNativeTrainingKernels(true);
  const leaky = tf.getKernel('LeakyRelu', 'wasm')!.kernelFunc;
  setNativeTrainingKernels(false);
  assert.ok(!nativeTrainingKernelsActive());
  assert.equal(tf.getKernel(BN_TRAIN, 'wasm'), undefined);
  assert.equal(tf.getKernel(LEAKY_RELU_GRAD, 'wasm'), undefined);
  assert.notEqual(tf.getKernel('LeakyRelu', 'wasm')!.kernelFunc, leaky, 'the stock LeakyRelu is back');
  await tf.setBackend('wasm');
  const prof = await tf.profile(() => void tf.tidy(() => tf.grad((t: tf.Tensor) => tf.leakyRelu(t, 0.2))(tf.ones([3]))));
  assert.ok(
    prof.kernels.some((k) => k.name === 'Select'),
    "tfjs' own LeakyRelu gradient",
  );
  setNativeTrainingKernels(true);
  assert.ok(nativeTrainingKernelsActive());
  disableNativeConvolutions();
  assert.ok(!nativeTrainingKernelsActive());
  assert.equal(tf.getKernel(BN_TRAIN_GRAD, 'wasm'), undefined);
  enableNativeConvolutions();
  assert.ok(nativeTrainingKernelsActive(), 'on again with the convolutions');
});

test('COLORGAN_NATIVE_TRAIN=0 keeps the native convolutions and leaves the training ops on wasm', { skip }, () => {
  const script = [
    "import * as tf from './src/util/tf.js';",
    "import { initBackend } from './src/backend/node.js';",
    "import { nativeConvolutionsActive, nativeTrainingKernelsActive } from './src/backend/native.js';",
    'await initBackend();',
    `console.log(JSON.stringify([nativeConvolutionsActive(), nativeTrainingKernelsActive(), tf.getKernel('${BN_TRAIN}', 'wasm') !== undefined]));`,
  ].join('\n');
  const run = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as boolean[];
  };
  assert.deepEqual(run({ COLORGAN_NATIVE_TRAIN: '0' }), [true, false, false]);
  assert.deepEqual(run({ COLORGAN_NATIVE_TRAIN: '1' }), [true, true, true]);
});
