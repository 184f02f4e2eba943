/**
 * Training system on tiny data (16×16 fixtures, narrow networks) so it runs in CI in seconds:
 * the L1 loss falls, tensors don't leak, a resumed run equals an uninterrupted one, and a
 * diverging run stops with a clear error while keeping the last good checkpoint.
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
import { GanStep } from '../src/train/gan.js';
import { train, TrainingDivergedError } from '../src/train/train.js';
import { findLatestCheckpoint, loadCheckpoint } from '../src/train/checkpoint.js';
import { loadModelFromDir, readMetadata } from '../src/models/io.js';
import { mulberry32, gaussian } from '../src/util/rng.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const tiny = { size: 16, ngf: 8, ndf: 8, zDim: 8, batch: 2, sampleRows: 2 };
let tmp: string;

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-train-'));
});

function batch(n: number, S: number, zDim: number, seed: number) {
  const r = mulberry32(seed);
  // Smooth, learnable chroma: u and v are fixed functions of y.
  const y = new Float32Array(n * S * S).map(() => r() * 2 - 1);
  const uv = new Float32Array(n * S * S * 2);
  for (let i = 0; i < y.length; i++) {
    uv[2 * i] = 0.5 * y[i];
    uv[2 * i + 1] = -0.3;
  }
  return { n, y, uv, z: gaussian(r, n * zDim) };
}

test('a few GAN steps on a fixed batch make the L1 loss fall; tensors do not leak', () => {
  for (const arch of ['baseline', 'advanced'] as const) {
    const cfg = { arch, size: 16, ngf: 8, ndf: 8, zDim: 8, bnMomentum: 0.9 };
    const G = buildGenerator(cfg, { seed: 3 });
    const D = buildDiscriminator(cfg, { seed: 3 });
    const step = new GanStep(G, D, 16, 8, { l1: 100, lr: 2e-3, beta1: 0.5, diversity: 0 });
    const b = batch(4, 16, 8, 5);
    const first = step.step(b);
    const afterOne = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 25; i++) last = step.step(b);
    assert.equal(tf.memory().numTensors, afterOne, `${arch}: live tensors after 26 steps equal those after 1`);
    assert.ok(last.l1 < first.l1 * 0.7, `${arch}: L1 fell from ${first.l1} to ${last.l1}`);
    for (const v of Object.values(last)) assert.ok(Number.isFinite(v));
    step.dispose();
    G.dispose();
    D.dispose();
  }
});

test('the diversity term runs and reports the distance between two samples', () => {
  const cfg = { arch: 'advanced' as const, size: 16, ngf: 8, ndf: 8, zDim: 8, bnMomentum: 0.9 };
  const G = buildGenerator(cfg, { seed: 4 });
  const D = buildDiscriminator(cfg, { seed: 4 });
  const step = new GanStep(G, D, 16, 8, { l1: 10, lr: 2e-4, beta1: 0.5, diversity: 1 });
  const b = { ...batch(2, 16, 8, 6), z2: gaussian(mulberry32(9), 16) };
  const l = step.step(b);
  assert.ok(l.div !== undefined && l.div > 0 && Number.isFinite(l.div));
  step.dispose();
  G.dispose();
  D.dispose();
});

async function generatorWeights(dir: string): Promise<Float32Array[]> {
  const G = await loadModelFromDir(dir);
  const w = G.getWeights().map((t) => t.dataSync().slice() as Float32Array);
  G.dispose();
  return w;
}

test('train writes checkpoints, grids, losses; resume after epoch 1 equals an uninterrupted run', async () => {
  const common = { data: FIXTURES, model: 'advanced' as const, ...tiny, seed: 11, l1: 50, cacheDir: path.join(tmp, 'cache') };
  const a = path.join(tmp, 'uninterrupted');
  const resA = await train({ ...common, out: a, epochs: 2 });
  assert.equal(resA.history.length, 2);
  for (const f of [
    'losses.jsonl',
    'loss-curve.png',
    'loss-curve.svg',
    'samples/epoch-0001.png',
    'samples/epoch-0002.png',
    'generator/model.json',
    'generator-best/colorgan.json',
    'checkpoints/latest.json',
  ]) {
    await fs.access(path.join(a, f));
  }
  const lines = (await fs.readFile(path.join(a, 'losses.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.epoch),
    [1, 2],
  );
  for (const k of ['gAdv', 'l1', 'd', 'valL1']) assert.ok(Number.isFinite(lines[1][k]), k);
  const meta = await readMetadata(path.join(a, 'generator'));
  assert.equal(meta.config.arch, 'advanced');
  assert.equal(meta.training?.epochs, 2);
  const best = await readMetadata(path.join(a, 'generator-best'));
  assert.equal(best.metrics?.valL1, Math.min(...lines.map((l) => l.valL1)));
  // The exported generator carries the epoch's validation MSE and PSNR, not only its L1.
  const last = lines[1];
  assert.deepEqual(meta.metrics, { valL1: last.valL1, valMse: last.valMse, valPsnr: last.valPsnr });

  const b = path.join(tmp, 'interrupted');
  await train({ ...common, out: b, epochs: 1 });
  // Without --resume an existing run is refused (no silent overwrite).
  await assert.rejects(train({ ...common, out: b, epochs: 2 }), /already holds a training run/);
  const resB = await train({ ...common, out: b, epochs: 2, resume: true });
  assert.equal(resB.history.length, 2);

  const wa = await generatorWeights(path.join(a, 'generator'));
  const wb = await generatorWeights(path.join(b, 'generator'));
  assert.equal(wa.length, wb.length);
  let maxDiff = 0;
  wa.forEach((x, i) => x.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - wb[i][j])))));
  assert.equal(maxDiff, 0, `resumed weights differ from uninterrupted by ${maxDiff} (Adam's β products are restored exactly)`);
  // Optimizer state was restored too (Adam's step counter continues).
  const ck = await loadCheckpoint((await findLatestCheckpoint(b))!);
  assert.equal(ck.state.epoch, 2);
  const iter = ck.optG.find((t) => t.name === 'iter')!;
  assert.ok(iter.tensor.dataSync()[0] > 1);
});

test('a diverging run stops with a clear error and keeps the last good checkpoint', async () => {
  const out = path.join(tmp, 'diverge');
  const common = { data: FIXTURES, model: 'baseline' as const, ...tiny, seed: 2, cacheDir: path.join(tmp, 'cache') };
  await train({ ...common, out, epochs: 1 });
  const before = await findLatestCheckpoint(out);
  await assert.rejects(train({ ...common, out, epochs: 4, resume: true, lr: 1e38 }), (err: unknown) => {
    assert.ok(err instanceof TrainingDivergedError);
    assert.match((err as Error).message, /loss is (NaN|Infinity|-Infinity) at epoch \d+, step \d+; the last good checkpoint is kept at .*epoch-0001/);
    return true;
  });
  assert.equal(await findLatestCheckpoint(out), before);
  const ck = await loadCheckpoint(before!);
  assert.equal(ck.state.epoch, 1);
});

test('--init starts the generator from a saved one (and refuses a different architecture)', async () => {
  const common = { data: FIXTURES, ...tiny, seed: 5, l1: 50, cacheDir: path.join(tmp, 'cache') };
  const first = path.join(tmp, 'init-src');
  await train({ ...common, model: 'advanced', out: first, epochs: 1 });
  const out = path.join(tmp, 'init-dst');
  const res = await train({ ...common, model: 'advanced', out, epochs: 1, init: path.join(first, 'generator') });
  assert.equal(res.history.length, 1);
  assert.equal((await readMetadata(path.join(out, 'generator'))).training?.initFrom, path.join(first, 'generator'));
  await assert.rejects(
    train({ ...common, model: 'baseline', out: path.join(tmp, 'init-bad'), epochs: 1, init: path.join(first, 'generator') }),
    /generator has arch = advanced, the run wants baseline/,
  );
});
