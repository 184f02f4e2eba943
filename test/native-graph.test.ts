/**
 * The generator's inference as one native oneDNN graph (native/dnnl_graph.cc,
 * src/backend/native-graph.ts) against the tfjs path (wasm + the oneDNN kernels): the
 * general model (unet) on square and non-square grids, the paper's advanced and baseline
 * generators with non-trivial batch-norm statistics, batch 1 and more; weights that change
 * are read again; models it does not know, COLORGAN_NATIVE=0 and COLORGAN_NATIVE_GRAPH=0
 * take the tfjs path.
 *
 * Needs the oneDNN addon (node native/build.mjs), like test/native.test.ts: CI sets
 * COLORGAN_REQUIRE_NATIVE=1, so there a missing addon fails; elsewhere these tests are skipped with the reason.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { loadNativeAddon } from '../src/backend/native.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { compileGraph, generatorGraphSupport, runGeneratorGraph } from '../src/backend/native-graph.js';
import { predictUv } from '../src/infer/generate.js';
import { setGeneratorRunner, type GeneratorRunner } from '../src/backend/generator-runner.js';
import { loadModel } from '../src/infer/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { DEFAULT_MODEL_CONFIG } from '../src/models/config.js';
import { gaussian, mulberry32 } from '../src/util/rng.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TOLERANCE = 1e-4; // max abs, network scale
const REQUIRED = process.env.COLORGAN_REQUIRE_NATIVE === '1';
const absent = loadNativeAddon() ? false : `colorgan_dnnl not built: ${nativeUnavailableReason('colorgan_dnnl')}`;
const skip = REQUIRED ? false : absent;
let general: tf.LayersModel;
let installed: GeneratorRunner | null;

before(async () => {
  await initBackend();
  general = (await loadModel()).model;
  installed = setGeneratorRunner(null);
  setGeneratorRunner(installed);
});

/** Gray images in [-1, 1] with structure, and z, for a batch. */
function batch(n: number, w: number, h: number, zDim: number, seed: number): { ys: Float32Array[]; zs: Float32Array[] } {
  const rand = mulberry32(seed);
  const ys = Array.from({ length: n }, (_, k) =>
    Float32Array.from({ length: w * h }, (_, i) => Math.max(-1, Math.min(1, Math.sin((i % w) / (5 + k)) * Math.cos(i / w / 7) + 0.3 * (rand() - 0.5)))),
  );
  const zs = Array.from({ length: n }, (_, k) => gaussian(mulberry32(seed * 31 + k), zDim));
  return { ys, zs };
}

/** predictUv through the native graph and through tfjs; the worst difference. */
function compare(model: tf.LayersModel, w: number, h: number, n: number, seed: number): number {
  const { ys, zs } = batch(n, w, h, model.inputs[1]!.shape[1]!, seed);
  let nativeRuns = 0;
  setGeneratorRunner((...args) => {
    const out = runGeneratorGraph(...args);
    if (out) nativeRuns++;
    return out;
  });
  const got = predictUv(model, { width: w, height: h }, ys, zs);
  setGeneratorRunner(null);
  const ref = predictUv(model, { width: w, height: h }, ys, zs);
  setGeneratorRunner(installed);
  assert.equal(nativeRuns, 1, 'the native graph ran');
  assert.equal(got.length, n);
  let worst = 0;
  for (let k = 0; k < n; k++) {
    assert.equal(got[k]!.length, w * h * 2);
    for (let i = 0; i < ref[k]!.length; i++) worst = Math.max(worst, Math.abs(got[k]![i]! - ref[k]![i]!));
  }
  return worst;
}

/** Batch-norm statistics and affine terms far from a fresh layer's (μ 0, σ² 1, β 0), so folding them is tested. */
function perturbBatchNorm(model: tf.LayersModel, seed: number): void {
  const rand = mulberry32(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const made = layer.weights.map((v) => {
      const r = Float32Array.from({ length: v.shape[0]! }, () => rand() - 0.5);
      const name = v.originalName.split('/').pop();
      if (name === 'gamma') return tf.tensor1d(r.map((x) => 1 + 0.6 * x));
      if (name === 'beta') return tf.tensor1d(r.map((x) => 0.4 * x));
      if (name === 'moving_mean') return tf.tensor1d(r.map((x) => 0.2 * x));
      return tf.tensor1d(r.map((x) => 0.3 + x * x * 4)); // moving_variance
    });
    layer.setWeights(made);
    tf.dispose(made);
  }
}

test('the oneDNN addon is there and initBackend installs the native graph for predictUv', { skip }, () => {
  assert.ok(!absent, String(absent));
  assert.equal(installed, runGeneratorGraph);
  assert.equal(generatorGraphSupport(general), '');
});

test('general model (unet): native graph equals tfjs at 64×64 and on a non-square grid, batch 1 and more', { skip }, () => {
  // With 2 threads, batches 1 and 3 run one plan on both threads, 2 and 4 are split between them.
  for (const [w, h, n] of [
    [64, 64, 1],
    [64, 64, 3],
    [80, 64, 1],
    [80, 64, 2],
    [64, 88, 2],
  ] as const) {
    const worst = compare(general, w, h, n, w + h + n);
    console.log(`# unet ${w}×${h} batch ${n}: max abs ${worst.toExponential(1)}`);
    assert.ok(worst < TOLERANCE, `${w}×${h} batch ${n}: max abs ${worst}`);
  }
});

test('advanced and baseline (built with a seed, batch norms perturbed): native graph equals tfjs, batch 1 and 4', { skip }, () => {
  for (const arch of ['advanced', 'baseline'] as const) {
    const G = buildGenerator({ ...DEFAULT_MODEL_CONFIG, arch }, { seed: 7 });
    perturbBatchNorm(G, 11);
    assert.equal(generatorGraphSupport(G), '', arch);
    for (const n of [1, 4]) {
      const worst = compare(G, 64, 64, n, n + 3);
      console.log(`# ${arch} 64×64 batch ${n}: max abs ${worst.toExponential(1)}`);
      assert.ok(worst < TOLERANCE, `${arch} batch ${n}: max abs ${worst}`);
    }
    G.dispose();
  }
});

test('new weights (a training step, setWeights) are read again; more shapes than plans kept stay right', { skip }, () => {
  const G = buildGenerator({ ...DEFAULT_MODEL_CONFIG, arch: 'unet', ngf: 16, zDim: 8 }, { seed: 3 });
  const { ys, zs } = batch(2, 32, 32, 8, 5);
  const y = new Float32Array(2 * 32 * 32);
  ys.forEach((v, i) => y.set(v, i * 32 * 32));
  const z = new Float32Array(16);
  zs.forEach((v, i) => z.set(v, i * 8));
  const before = runGeneratorGraph(G, 2, 32, 32, [y, z])!;
  perturbBatchNorm(G, 2);
  const after = runGeneratorGraph(G, 2, 32, 32, [y, z])!;
  assert.ok(
    before.some((v, i) => Math.abs(v - after[i]!) > 1e-3),
    'the output follows the new weights',
  );
  assert.ok(compare(G, 32, 32, 2, 5) < TOLERANCE);
  const yT = tf.tensor4d(y, [2, 32, 32, 1]);
  const zT = tf.tensor2d(z, [2, 8]);
  tf.train.sgd(0.5).minimize(() => tf.mean(tf.square(G.apply([yT, zT], { training: true }) as tf.Tensor)) as tf.Scalar);
  tf.dispose([yT, zT]);
  const stepped = runGeneratorGraph(G, 2, 32, 32, [y, z])!;
  assert.ok(
    stepped.some((v, i) => Math.abs(v - after[i]!) > 1e-4),
    'the output follows a training step',
  );
  assert.ok(compare(G, 32, 32, 2, 5) < TOLERANCE);
  // Six shapes cycled twice: plans are evicted and rebuilt (four are kept).
  for (let round = 0; round < 2; round++)
    for (const [w, h, n] of [
      [16, 16, 1],
      [24, 16, 1],
      [16, 24, 2],
      [32, 16, 1],
      [40, 24, 1],
      [32, 32, 2],
    ] as const)
      assert.ok(compare(G, w, h, n, w * h + n) < TOLERANCE, `${w}×${h} batch ${n}`);
  G.dispose();
});

test('a model with a layer the graph does not take runs on tfjs unchanged', { skip }, () => {
  const y = tf.input({ shape: [16, 16, 1] });
  const z = tf.input({ shape: [4] });
  const zMap = tf.layers.reshape({ targetShape: [16, 16, 1] }).apply(tf.layers.dense({ units: 256 }).apply(z)) as tf.SymbolicTensor;
  const normed = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor; // not after a conv: nothing to fold it into
  const x = tf.layers.concatenate().apply([normed, zMap]) as tf.SymbolicTensor;
  const out = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: [y, z], outputs: out });
  assert.match(generatorGraphSupport(m), /BatchNormalization .*: not right after a conv/);
  const { ys, zs } = batch(2, 16, 16, 4, 1);
  const viaRunner = predictUv(m, 16, ys, zs);
  setGeneratorRunner(null);
  const ref = predictUv(m, 16, ys, zs);
  setGeneratorRunner(installed);
  assert.deepEqual(viaRunner, ref);
  // A fixed-size model given another size goes to tfjs, which names the problem.
  const adv = buildGenerator({ ...DEFAULT_MODEL_CONFIG, arch: 'advanced', ngf: 8, zDim: 4 }, { seed: 1 });
  assert.equal(runGeneratorGraph(adv, 1, 32, 32, [new Float32Array(32 * 32), new Float32Array(4)]), null);
  m.dispose();
  adv.dispose();
});

test('the addon checks the graph and its inputs at the boundary', { skip }, () => {
  const a = loadNativeAddon() as unknown as {
    graphCreate(spec: Int32Array, weights: Float32Array): object;
    graphRun(g: object, n: number, h: number, w: number, inputs: Float32Array[]): Float32Array;
    graphFree(g: object): void;
  };
  const { spec, weights } = compileGraph(general);
  const g = a.graphCreate(spec, weights);
  assert.throws(() => a.graphCreate(spec.slice(0, spec.length - 1), weights), /graphCreate: spec: truncated/);
  assert.throws(() => a.graphCreate(spec, weights.subarray(0, weights.length - 1)), /outside the weights/);
  assert.throws(() => a.graphCreate(Int32Array.from([9, 1, 0]), weights), /expected version 1/);
  // node 1 reading node 5: not an earlier node
  assert.throws(() => a.graphCreate(Int32Array.from([1, 2, 1, 0, 0, 0, 4, 1, 6, 1, 5]), weights), /input 5 is not an earlier node/);
  assert.throws(() => a.graphCreate(spec, new Float64Array(4) as unknown as Float32Array), /expected an Int32Array and a Float32Array/);
  assert.throws(() => a.graphRun({}, 1, 64, 64, []), /not a graph from graphCreate/);
  assert.throws(() => a.graphRun(g, 0, 64, 64, []), /n, h and w must be integers/);
  assert.throws(() => a.graphRun(g, 1, 64, 64, [new Float32Array(64 * 64)]), /array of 2 Float32Arrays/);
  assert.throws(() => a.graphRun(g, 1, 64, 64, [new Float32Array(64 * 63), new Float32Array(64)]), /input 0 has 4032 values, expected 4096/);
  // 60 is no multiple of 8: the U-Net's skips do not meet
  assert.throws(() => a.graphRun(g, 1, 60, 64, [new Float32Array(60 * 64), new Float32Array(64)]), /graphRun: node \d+ \(concat\): inputs differ in size/);
  assert.equal(a.graphRun(g, 1, 64, 64, [new Float32Array(64 * 64), new Float32Array(64)]).length, 64 * 64 * 2);
  a.graphFree(g);
  assert.throws(() => a.graphRun(g, 1, 64, 64, [new Float32Array(64 * 64), new Float32Array(64)]), /not a graph from graphCreate \(or it was freed\)/);
  assert.throws(() => a.graphFree(g), /graphFree: .*it was freed/);
  assert.throws(() => a.graphFree({}), /graphFree: the first argument is not a graph/);
});

test('COLORGAN_NATIVE=0: no native graph; COLORGAN_NATIVE_GRAPH=0: the native kernels without it; predictUv on tfjs', { skip }, async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-graph-'));
  const script = path.join(dir, 'off.mts');
  const src = (f: string) => JSON.stringify(path.join(ROOT, 'src', f));
  await fs.writeFile(
    script,
    [
      `import { initBackend } from ${src('backend/node.ts')};`,
      `import { generatorGraphSupport } from ${src('backend/native-graph.ts')};`,
      `import { predictUv } from ${src('infer/generate.ts')};`,
      `import { setGeneratorRunner } from ${src('backend/generator-runner.ts')};`,
      `import { loadModel } from ${src('infer/node.ts')};`,
      'const info = await initBackend();',
      'const m = await loadModel();',
      'const uv = predictUv(m.model, 64, [new Float32Array(4096)], [new Float32Array(64)]);',
      'console.log(JSON.stringify({ native: info.native != null, runner: setGeneratorRunner(null) !== null, why: generatorGraphSupport(m.model), n: uv[0].length }));',
    ].join('\n'),
  );
  const run = (env: Record<string, string>) =>
    new Promise<unknown>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
      ),
    );
  assert.deepEqual(await run({ COLORGAN_NATIVE: '0' }), { native: false, runner: false, why: 'the oneDNN addon is not in use', n: 8192 });
  assert.deepEqual(await run({ COLORGAN_NATIVE_GRAPH: '0' }), { native: true, runner: false, why: '', n: 8192 });
  await fs.rm(dir, { recursive: true, force: true });
});
