/**
 * Gradient accumulation (--accum) and the out-of-memory message, on tiny networks so the
 * suite runs in seconds on the same backend as test/train.test.ts.
 *
 * Adam is (nearly) invariant to the scale of the gradients — its first step is about
 * lr·sign(g) — so equal weights after a step would not catch a gradient summed but not
 * averaged. The tests therefore also compare the gradients handed to applyGradients.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import { useFastBatchNorm } from '../src/models/batchnorm.js';
import { GanStep, type Batch } from '../src/train/gan.js';
import { train } from '../src/train/train.js';
import { findLatestCheckpoint, loadCheckpoint } from '../src/train/checkpoint.js';
import { isOutOfMemory, outOfMemoryMessage, OutOfMemoryError } from '../src/train/oom.js';
import { loadModelFromDir, readMetadata } from '../src/models/io.js';
import { main } from '../src/cli/main.js';
import { mulberry32, gaussian } from '../src/util/rng.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const S = 16;
const Z = 8;
let tmp: string;

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-accum-'));
});

function batch(n: number, seed: number, diversity = false): Batch {
  const r = mulberry32(seed);
  const y = new Float32Array(n * S * S).map(() => r() * 2 - 1);
  const uv = new Float32Array(n * S * S * 2).map(() => r() - 0.5);
  return { n, y, uv, z: gaussian(r, n * Z), z2: diversity ? gaussian(r, n * Z) : undefined };
}

/** A G and a D of the shapes GanStep expects, without batch norm (so micro-batches normalize nothing). */
function netsWithoutBatchNorm(seed: number): { G: tf.LayersModel; D: tf.LayersModel } {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  const y = tf.input({ shape: [S, S, 1] });
  const z = tf.input({ shape: [Z] });
  const zMap = tf.layers.reshape({ targetShape: [S, S, 1] }).apply(tf.layers.dense({ units: S * S, kernelInitializer: init(1) }).apply(z)) as tf.SymbolicTensor;
  let h = tf.layers.concatenate().apply([y, zMap]) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }).apply(h) as tf.SymbolicTensor;
  const uvOut = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: init(3) }).apply(h) as tf.SymbolicTensor;
  const G = tf.model({ inputs: [y, z], outputs: uvOut });

  const dy = tf.input({ shape: [S, S, 1] });
  const duv = tf.input({ shape: [S, S, 2] });
  let d = tf.layers.concatenate().apply([dy, duv]) as tf.SymbolicTensor;
  d = tf.layers.conv2d({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(4) }).apply(d) as tf.SymbolicTensor;
  d = tf.layers.leakyReLU({ alpha: 0.2 }).apply(d) as tf.SymbolicTensor;
  d = tf.layers.flatten().apply(d) as tf.SymbolicTensor;
  const logit = tf.layers.dense({ units: 1, kernelInitializer: init(5) }).apply(d) as tf.SymbolicTensor;
  const D = tf.model({ inputs: [dy, duv], outputs: logit });
  return { G, D };
}

/** Record (copies of) every gradient list an optimizer applies. */
function recordGradients(opt: tf.Optimizer): Float32Array[][] {
  const log: Float32Array[][] = [];
  const apply = opt.applyGradients.bind(opt);
  opt.applyGradients = (g) => {
    log.push((g as { tensor: tf.Tensor }[]).map((t) => t.tensor.dataSync().slice() as Float32Array));
    apply(g);
  };
  return log;
}

function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i].length);
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j] - b[i][j]));
  });
  return m;
}

function maxAbs(a: ArrayLike<number>[]): number {
  let m = 0;
  for (const x of a) for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j]));
  return m;
}

const weights = (m: tf.LayersModel) => m.getWeights().map((t) => t.dataSync().slice() as Float32Array);

test('accum = 2 on batch b equals one step on batch 2b (networks without batch norm)', (t) => {
  const hp = { l1: 10, lr: 1e-3, beta1: 0.5, diversity: 0 };
  const a = netsWithoutBatchNorm(7);
  const b = netsWithoutBatchNorm(7);
  assert.equal(maxAbsDiff(weights(a.G), weights(b.G)), 0, 'same initial weights');
  const accum2 = new GanStep(a.G, a.D, S, Z, { ...hp, accum: 2 });
  const whole = new GanStep(b.G, b.D, S, Z, { ...hp, accum: 1 });
  const grads = { aG: recordGradients(accum2.gOpt), aD: recordGradients(accum2.dOpt), bG: recordGradients(whole.gOpt), bD: recordGradients(whole.dOpt) };
  // Two steps: the second also checks that Adam's state advanced once per step.
  for (const seed of [21, 22]) {
    const data = batch(8, seed); // 2 micro-batches of 4 vs one batch of 8
    const la = accum2.step(data);
    const lb = whole.step(data);
    for (const k of ['gAdv', 'l1', 'd'] as const) assert.ok(Math.abs(la[k] - lb[k]) <= 1e-5 * Math.max(1, Math.abs(lb[k])), `${k}: ${la[k]} vs ${lb[k]}`);
  }
  assert.equal(grads.aG.length, 2, 'one G update per step');
  assert.equal(grads.aD.length, 2, 'one D update per step');
  for (const [x, y, name] of [
    [grads.aG, grads.bG, 'G'],
    [grads.aD, grads.bD, 'D'],
  ] as const) {
    for (let s = 0; s < 2; s++) {
      const rel = maxAbsDiff(x[s], y[s]) / maxAbs(y[s]);
      assert.ok(rel <= 1e-5, `${name} gradients of step ${s + 1} differ by ${rel} (relative to the largest)`);
    }
  }
  const dG = maxAbsDiff(weights(a.G), weights(b.G));
  const dD = maxAbsDiff(weights(a.D), weights(b.D));
  t.diagnostic(`max |Δw| after 2 steps: G ${dG.toExponential(2)}, D ${dD.toExponential(2)}`);
  assert.ok(dG <= 1e-5 && dD <= 1e-5, `max |Δw|: G ${dG}, D ${dD}`);
  assert.ok(maxAbsDiff(weights(a.G), weights(netsWithoutBatchNorm(7).G)) > 1e-4, 'the step changed the weights');
  for (const x of [accum2, whole]) x.dispose();
  for (const m of [a.G, a.D, b.G, b.D]) m.dispose();
});

test('accum = 2 with batch norm equals a hand-written reference (variableGrads of each micro-batch, averaged, one Adam step)', (t) => {
  // With batch norm in training mode a micro-batch is normalized with its own statistics,
  // so accum = 2 cannot equal one step on the doubled batch. The reference below computes
  // what accumulation should do — with tf.variableGrads and its own Adam — on identical
  // copies of the real advanced networks, in the same order (so the moving statistics of
  // batch norm, updated on every training-mode forward pass, match too).
  const cfg = { arch: 'advanced' as const, size: S, ngf: 8, ndf: 8, zDim: Z, bnMomentum: 0.9 };
  const hp = { l1: 10, lr: 1e-3, beta1: 0.5, diversity: 0 };
  const G = buildGenerator(cfg, { seed: 5 });
  const D = buildDiscriminator(cfg, { seed: 5 });
  const Gr = buildGenerator(cfg, { seed: 5 });
  const Dr = buildDiscriminator(cfg, { seed: 5 });
  useFastBatchNorm(Gr);
  useFastBatchNorm(Dr);
  const step = new GanStep(G, D, S, Z, { ...hp, accum: 2 });
  const gotG = recordGradients(step.gOpt);
  const gotD = recordGradients(step.dOpt);
  const data = batch(6, 31);
  step.step(data);

  const gVars = Gr.trainableWeights.map((w) => w.read() as tf.Variable);
  const dVars = Dr.trainableWeights.map((w) => w.read() as tf.Variable);
  const gOpt = tf.train.adam(hp.lr, hp.beta1, 0.999);
  const dOpt = tf.train.adam(hp.lr, hp.beta1, 0.999);
  const bce = (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
  const refG: Float32Array[] = [];
  const refD: Float32Array[] = [];
  tf.tidy(() => {
    const m = 3;
    const micro = [0, 1].map((i) => ({
      y: tf.tensor4d(data.y.slice(i * m * S * S, (i + 1) * m * S * S), [m, S, S, 1]),
      uv: tf.tensor4d(data.uv.slice(i * m * S * S * 2, (i + 1) * m * S * S * 2), [m, S, S, 2]),
      z: tf.tensor2d(data.z.slice(i * m * Z, (i + 1) * m * Z), [m, Z]),
    }));
    const averageAndApply = (opt: tf.Optimizer, vars: tf.Variable[], perMicro: tf.NamedTensorMap[], out: Float32Array[]) => {
      const avg = vars.map((v) => tf.div(tf.add(perMicro[0][v.name], perMicro[1][v.name]), 2));
      avg.forEach((t) => out.push(t.dataSync().slice() as Float32Array));
      opt.applyGradients(vars.map((v, k) => ({ name: v.name, tensor: avg[k] })));
    };
    const fakes: tf.Tensor[] = [];
    const gGrads = micro.map(
      ({ y, uv, z }) =>
        tf.variableGrads(() => {
          const f = Gr.apply([y, z], { training: true }) as tf.Tensor;
          fakes.push(tf.keep(f));
          const logits = Dr.apply([y, f], { training: true }) as tf.Tensor;
          const adv = bce(tf.onesLike(logits), logits);
          return tf.add(adv, tf.mul(hp.l1, tf.mean(tf.abs(tf.sub(f, uv))))) as tf.Scalar;
        }, gVars).grads,
    );
    averageAndApply(gOpt, gVars, gGrads, refG);
    const dGrads = micro.map(
      ({ y, uv }, i) =>
        tf.variableGrads(() => {
          const real = Dr.apply([y, uv], { training: true }) as tf.Tensor;
          const fk = Dr.apply([y, fakes[i]], { training: true }) as tf.Tensor;
          return tf.mul(0.5, tf.add(bce(tf.onesLike(real), real), bce(tf.zerosLike(fk), fk))) as tf.Scalar;
        }, dVars).grads,
    );
    averageAndApply(dOpt, dVars, dGrads, refD);
    fakes.forEach((t) => t.dispose());
  });

  for (const [got, ref, name] of [
    [gotG[0], refG, 'G'],
    [gotD[0], refD, 'D'],
  ] as const) {
    const rel = maxAbsDiff(got, ref) / maxAbs(ref);
    assert.ok(rel <= 1e-5, `${name} gradients differ from the reference by ${rel} (relative to the largest)`);
  }
  // All weights, batch norm moving statistics included.
  const dG = maxAbsDiff(weights(G), weights(Gr));
  const dD = maxAbsDiff(weights(D), weights(Dr));
  t.diagnostic(`max |Δw| against the reference: G ${dG.toExponential(2)}, D ${dD.toExponential(2)}`);
  assert.ok(dG <= 1e-5 && dD <= 1e-5, `max |Δw| against the reference: G ${dG}, D ${dD}`);
  step.dispose();
  gOpt.dispose();
  dOpt.dispose();
  for (const m of [G, D, Gr, Dr]) m.dispose();
});

test('accum = 3: live tensors stay constant over steps (with and without the diversity term); bad splits are refused', () => {
  for (const [arch, diversity] of [
    ['advanced', 1],
    ['baseline', 0],
  ] as const) {
    const cfg = { arch, size: S, ngf: 8, ndf: 8, zDim: Z, bnMomentum: 0.9 };
    const G = buildGenerator(cfg, { seed: 3 });
    const D = buildDiscriminator(cfg, { seed: 3 });
    const step = new GanStep(G, D, S, Z, { l1: 100, lr: 2e-3, beta1: 0.5, diversity, accum: 3 });
    const first = step.step(batch(6, 40, diversity > 0));
    const afterOne = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 4; i++) last = step.step(batch(6, 41 + i, diversity > 0));
    assert.equal(tf.memory().numTensors, afterOne, `${arch}: live tensors after 5 steps equal those after 1`);
    for (const v of Object.values(last)) assert.ok(Number.isFinite(v));
    assert.equal(last.div !== undefined, diversity > 0);
    assert.throws(() => step.step(batch(4, 50)), /a batch of 4 cannot be split into 3 equal micro-batches/);
    assert.equal(tf.memory().numTensors, afterOne, `${arch}: a refused batch leaks nothing`);
    step.dispose();
    G.dispose();
    D.dispose();
  }
});

test('isOutOfMemory: emscripten aborts and allocation failures, nothing else', () => {
  const yes: unknown[] = [
    new WebAssembly.RuntimeError('Aborted(OOM)'),
    new WebAssembly.RuntimeError('Aborted(OOM). Build with -sASSERTIONS for more info.'),
    new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.'),
    new WebAssembly.RuntimeError('Aborted()'),
    new RangeError('Array buffer allocation failed'),
    new Error('Out of memory'),
    new Error('Cannot enlarge memory arrays to size 4294967296 bytes (OOM).'),
    new WebAssembly.RuntimeError('memory access out of bounds'),
    'Aborted(OOM)',
  ];
  for (const e of yes) assert.equal(isOutOfMemory(e), true, String(e));
  const no: unknown[] = [
    new Error('training diverged: l1 loss is NaN at epoch 2, step 3'),
    new TypeError("Cannot read properties of undefined (reading 'shape')"),
    new RangeError('Invalid array length'),
    new Error('Error when checking input: expected input_1 to have shape [null,16,16,1]'),
    new Error('ENOENT: no such file or directory'),
    new Error('zoom factor must be positive'),
    new Error('the process was aborted (Aborted by user)'),
    new WebAssembly.RuntimeError('unreachable'),
    new Error('memory access out of bounds'), // only a wasm trap says this about the heap
    undefined,
    null,
    42,
  ];
  for (const e of no) assert.equal(isOutOfMemory(e), false, String(e));
});

test('the out-of-memory message names the batch and suggests --batch with --accum for the same effective batch', () => {
  const m = outOfMemoryMessage({ batch: 64, accum: 1, model: 'advanced', backend: 'wasm' }, new WebAssembly.RuntimeError('Aborted(OOM)'));
  assert.equal(
    m,
    'out of memory in the wasm heap (4 GB limit) at batch 64 of the advanced generator: use a smaller --batch (e.g. 16) and --accum 4 for the same effective batch (64) [Aborted(OOM)]',
  );
  assert.ok(!m.includes('\n'));
  assert.match(
    outOfMemoryMessage({ batch: 16, accum: 4, model: 'baseline' }),
    /at batch 16 \(× accum 4\) of the baseline generator: use a smaller --batch \(e\.g\. 4\) and --accum 16 for the same effective batch \(64\)$/,
  );
  assert.match(outOfMemoryMessage({ batch: 7, accum: 1, model: 'advanced' }), /--batch \(e\.g\. 2\) and --accum 4 for about the same effective batch \(7\)/);
  assert.match(
    outOfMemoryMessage({ batch: 2, accum: 3, model: 'advanced' }),
    /at batch 2 \(× accum 3\) .*: batch 2 is the smallest; use a smaller --size or --ngf\/--ndf$/,
  );
  assert.match(outOfMemoryMessage({ batch: 32, accum: 1, model: 'advanced', backend: 'tensorflow' }), /^out of memory at batch 32 /);
});

const tiny = { size: 16, ngf: 8, ndf: 8, zDim: 8, sampleRows: 2 };

test('train with --accum: batch × accum photos per step, stored in checkpoints and used by --resume', async () => {
  const common = { data: FIXTURES, model: 'baseline' as const, ...tiny, batch: 2, accum: 2, seed: 4, l1: 50, cacheDir: path.join(tmp, 'cache') };
  const starts: number[][] = [];
  let stepsSeen = 0;
  const a = path.join(tmp, 'accum-uninterrupted');
  const res = await train({ ...common, out: a, epochs: 2 }, { epochStart: (...args) => starts.push(args), step: () => stepsSeen++ });
  // 10 fixture photos → 7 training photos; 4 per optimizer step → 1 step per epoch.
  assert.deepEqual(starts, [
    [1, 2, 1, 4],
    [2, 2, 1, 4],
  ]);
  assert.equal(stepsSeen, 2);
  assert.equal(res.history.length, 2);
  assert.equal((await readMetadata(path.join(a, 'generator'))).training?.accum, 2);

  const b = path.join(tmp, 'accum-interrupted');
  await train({ ...common, out: b, epochs: 1 });
  const { accum: _omit, ...withoutAccum } = common;
  await train({ ...withoutAccum, out: b, epochs: 2, resume: true }); // accum comes from the checkpoint
  const ck = await loadCheckpoint((await findLatestCheckpoint(b))!);
  assert.equal(ck.state.epoch, 2);
  assert.equal(ck.state.options.accum, 2);
  const [ga, gb] = [await loadModelFromDir(path.join(a, 'generator')), await loadModelFromDir(path.join(b, 'generator'))];
  const d = maxAbsDiff(weights(ga), weights(gb));
  assert.ok(d <= 1e-6, `resumed run differs from the uninterrupted one by ${d}`);
  ga.dispose();
  gb.dispose();

  await assert.rejects(train({ ...common, out: path.join(tmp, 'accum-zero'), epochs: 1, accum: 0 }), /accum must be a positive integer, got 0/);
  await assert.rejects(
    train({ ...common, out: path.join(tmp, 'accum-big'), epochs: 1, accum: 4 }),
    /7 training photos, fewer than one step of 2 × 4 \(batch × accum\)/,
  );
});

test('an out-of-memory step stops the run with the one-line message and keeps the last checkpoint', async () => {
  const out = path.join(tmp, 'oom');
  const common = { data: FIXTURES, model: 'baseline' as const, ...tiny, batch: 4, seed: 2, cacheDir: path.join(tmp, 'cache') };
  await train({ ...common, out, epochs: 1 });
  const kept = await findLatestCheckpoint(out);
  const real = GanStep.prototype.step;
  GanStep.prototype.step = () => {
    throw new WebAssembly.RuntimeError('Aborted(OOM). Build with -sASSERTIONS for more info.');
  };
  try {
    await assert.rejects(train({ ...common, out, epochs: 2, resume: true }), (err: unknown) => {
      assert.ok(err instanceof OutOfMemoryError);
      assert.match(
        (err as Error).message,
        /^out of memory .*at batch 4 of the baseline generator: use a smaller --batch \(e\.g\. 2\) and --accum 2 for the same effective batch \(4\) \[Aborted\(OOM\)\. Build with -sASSERTIONS for more info\.\]$/,
      );
      return true;
    });
    // The CLI prints it as one line, without a stack, and exits non-zero.
    const lines: string[] = [];
    const error = console.error;
    const cache = process.env.COLORGAN_CACHE;
    console.error = (...a: unknown[]) => lines.push(a.join(' '));
    process.env.COLORGAN_CACHE = path.join(tmp, 'cache');
    let code: number;
    try {
      code = await main([
        'train',
        '--data',
        FIXTURES,
        '--out',
        path.join(tmp, 'oom-cli'),
        '--model',
        'baseline',
        '--size',
        '16',
        '--ngf',
        '8',
        '--ndf',
        '8',
        '--batch',
        '4',
        '--epochs',
        '1',
      ]);
    } finally {
      console.error = error;
      if (cache === undefined) delete process.env.COLORGAN_CACHE;
      else process.env.COLORGAN_CACHE = cache;
    }
    assert.equal(code, 1);
    const last = lines.at(-1)!.split('\n');
    assert.equal(last.length, 1, 'one line');
    assert.match(last[0], /^colorgan train: out of memory .*at batch 4 of the baseline generator: use a smaller --batch \(e\.g\. 2\) and --accum 2 /);
    assert.ok(!lines.some((l) => /^\s+at /m.test(l)), 'no stack trace');
  } finally {
    GanStep.prototype.step = real;
  }
  assert.equal(await findLatestCheckpoint(out), kept);
  assert.equal((await loadCheckpoint(kept!)).state.epoch, 1);
});

test('the CLI rejects --accum 0 with a one-line usage error', async () => {
  const lines: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(' '));
  let code: number;
  try {
    code = await main(['train', '--data', FIXTURES, '--out', path.join(tmp, 'accum-cli'), '--accum', '0']);
  } finally {
    console.error = error;
  }
  assert.equal(code, 2);
  assert.deepEqual(lines, ['colorgan train: --accum must be an integer >= 1, got "0"']);
  await assert.rejects(fs.access(path.join(tmp, 'accum-cli')), 'nothing was written');
});
