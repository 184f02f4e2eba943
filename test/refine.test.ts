/**
 * LAPGAN refinement stages (issue 16) on tiny data: a 16×16 base unet, a stage at 32×32.
 * The trainer lowers its training L1 and resumes bit-exactly; the stages load from a model
 * folder and are used by colorize; `refine: false` gives exactly the base model's output;
 * the streaming ways run the stages too (test/native.test.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildRefineGenerator } from '../src/models/refine.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import { generatorMetadata, parseMetadata } from '../src/models/metadata.js';
import { loadModelFromDir, readMetadata, saveModel } from '../src/models/io.js';
import { GanStep } from '../src/train/gan.js';
import { trainRefine, lowerStageRun, MODEL_DIR } from '../src/train/refine.js';
import { TrainingInterruptedError } from '../src/train/train.js';
import { loadModel, colorize } from '../src/infer/node.js';
import { loadStreamingAddon } from '../src/infer/native-pixels.js';
import { upsampleChroma } from '../src/infer/refine.js';
import { mulberry32, gaussian } from '../src/util/rng.js';
import { execFile } from 'node:child_process';
import sharp from 'sharp';
import { ensureDistBuilt, runCli, ROOT } from './helpers.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const PHOTO = path.join(FIXTURES, 'sunrise3.jpg');
let tmp: string;
let baseDir: string;

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-refine-'));
  // A tiny base model (untrained: the stage learns what it misses).
  const cfg = { arch: 'unet' as const, size: 16, ngf: 8, ndf: 8, zDim: 4, bnMomentum: 0.9 };
  baseDir = path.join(tmp, 'base');
  const G = buildGenerator(cfg, { seed: 5 });
  await saveModel(G, baseDir, generatorMetadata(cfg, { inference: { upsample: 'guided', saturation: 0.8 } }));
  G.dispose();
});

test('the refinement network: fully convolutional, starts near the identity on the coarse chroma', () => {
  const cfg = { arch: 'refine' as const, size: 32, ngf: 8, ndf: 8, zDim: 1, bnMomentum: 0.9 };
  const G = buildRefineGenerator(cfg, { seed: 1 });
  const r = mulberry32(3);
  const [h, w] = [24, 40];
  const uv = new Float32Array(h * w * 2).map(() => r() - 0.5);
  const out = tf.tidy(() =>
    (
      G.predict([tf.tensor4d(gaussian(r, h * w), [1, h, w, 1]), tf.tensor4d(uv, [1, h, w, 2]), tf.tensor4d(gaussian(r, h * w), [1, h, w, 1])]) as tf.Tensor
    ).dataSync(),
  );
  assert.equal(out.length, h * w * 2);
  let maxDiff = 0;
  out.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - uv[i]))));
  assert.ok(maxDiff > 0 && maxDiff < 0.1, `untrained residual is small but not zero (${maxDiff})`);
  G.dispose();
});

test('GanStep with a coarse-chroma input and per-pixel noise lowers the L1 on a fixed batch', () => {
  const S = 32;
  const cfg = { arch: 'refine' as const, size: S, ngf: 8, ndf: 8, zDim: 1, bnMomentum: 0.9 };
  const G = buildRefineGenerator(cfg, { seed: 2 });
  const D = buildDiscriminator(cfg, { seed: 2 });
  const step = new GanStep(G, D, S, 1, { l1: 100, lr: 2e-3, beta1: 0.5, diversity: 0 }, [S, S, 1]);
  const r = mulberry32(7);
  const n = 4;
  const y = new Float32Array(n * S * S).map(() => r() * 2 - 1);
  // The truth has a fine band (a function of y) the blurred coarse chroma lacks.
  const uv = new Float32Array(n * S * S * 2);
  for (let i = 0; i < y.length; i++) {
    uv[2 * i] = 0.4 * y[i];
    uv[2 * i + 1] = -0.2;
  }
  const cond = new Float32Array(uv.length);
  for (let i = 0; i < y.length; i++) cond[2 * i + 1] = -0.2;
  const b = { n, y, uv, cond, z: gaussian(r, n * S * S) };
  const first = step.step(b);
  const live = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 20; i++) last = step.step(b);
  assert.equal(tf.memory().numTensors, live, 'no tensors leak');
  assert.ok(last.l1 < first.l1 * 0.7, `L1 fell from ${first.l1} to ${last.l1}`);
  step.dispose();
});

async function weights(dir: string): Promise<Float32Array[]> {
  const G = await loadModelFromDir(dir);
  const w = G.getWeights().map((t) => t.dataSync().slice() as Float32Array);
  G.dispose();
  return w;
}

test('train-refine: a tiny run lowers its training L1, writes the run and a model folder; resume is bit-exact', async () => {
  const common = { data: FIXTURES, base: baseDir, ngf: 8, ndf: 8, batch: 2, sampleRows: 2, seed: 3, lr: 1e-3, l1: 100, cacheDir: path.join(tmp, 'cache') };
  const a = path.join(tmp, 'run-a');
  const res = await trainRefine({ ...common, out: a, epochs: 3 });
  assert.equal(res.history.length, 3);
  const l1s = res.history.map((h) => h.l1);
  assert.ok(l1s[2] < l1s[0], `training L1 fell: ${l1s.join(' → ')}`);
  for (const f of [
    'losses.jsonl',
    'loss-curve.png',
    'samples/epoch-0003.png',
    'generator/model.json',
    'generator-best/colorgan.json',
    `${MODEL_DIR}/refine-1/weights.bin`,
  ]) {
    await fs.access(path.join(a, f));
  }
  const stage = await readMetadata(path.join(a, 'generator'));
  assert.equal(stage.config.arch, 'refine');
  assert.equal(stage.config.size, 32);
  assert.equal(stage.training?.base, baseDir);
  assert.ok(typeof stage.metrics?.baseValL1 === 'number');
  const model = await readMetadata(path.join(a, MODEL_DIR));
  assert.deepEqual(model.refine, ['refine-1']);
  assert.equal(model.config.arch, 'unet');

  // A run stopped by a signal in epoch 2 already has model/ from its best epoch so far.
  const c = path.join(tmp, 'run-c');
  let stopNow = false;
  await assert.rejects(
    trainRefine({ ...common, out: c, epochs: 2 }, { epochEnd: () => (stopNow = true), shouldStop: () => (stopNow ? 'SIGTERM' : null) }),
    TrainingInterruptedError,
  );
  assert.deepEqual((await readMetadata(path.join(c, MODEL_DIR))).refine, ['refine-1']);
  await fs.access(path.join(c, MODEL_DIR, 'refine-1', 'weights.bin'));

  const b = path.join(tmp, 'run-b');
  await trainRefine({ ...common, out: b, epochs: 1 });
  await assert.rejects(trainRefine({ ...common, out: b, epochs: 3 }), /already holds a training run/);
  await trainRefine({ ...common, out: b, epochs: 3, resume: true });
  const wa = await weights(path.join(a, 'generator'));
  const wb = await weights(path.join(b, 'generator'));
  let maxDiff = 0;
  wa.forEach((x, i) => x.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - wb[i][j])))));
  assert.equal(maxDiff, 0, 'resumed stage equals the uninterrupted one');

  // The trained model folder colorizes with its stage, and refine: false is the base model exactly.
  const withStage = await loadModel(path.join(a, MODEL_DIR));
  assert.equal(withStage.refine?.length, 1);
  const base = await loadModel(baseDir);
  const refined = await colorize(PHOTO, { model: withStage });
  const skipped = await colorize(PHOTO, { model: withStage, refine: false });
  const plain = await colorize(PHOTO, { model: base });
  assert.deepEqual(Buffer.from(skipped.data), Buffer.from(plain.data), 'refine: false gives exactly the base model');
  assert.notDeepEqual(Buffer.from(refined.data), Buffer.from(plain.data), 'the stage changes the colors');
  // The raw output is on the stage's grid (twice the base's).
  const rawBase = await colorize(PHOTO, { model: withStage, raw: true, refine: false });
  const rawRefined = await colorize(PHOTO, { model: withStage, raw: true });
  assert.equal(rawRefined.width, rawBase.width * 2);
  assert.equal(rawRefined.height, rawBase.height * 2);
});

test('train-refine --scales 4: from a base without stages, the ×2 stage is trained first (RUN/scale-2), then the ×4 stage on it', async () => {
  const common = { data: FIXTURES, base: baseDir, ngf: 8, ndf: 8, batch: 2, sampleRows: 1, seed: 4, lr: 1e-3, l1: 100, cacheDir: path.join(tmp, 'cache') };
  const d = path.join(tmp, 'run-x4');
  const res = await trainRefine({ ...common, out: d, epochs: 2, scales: 4 });
  assert.equal(res.history.length, 2);
  const lower = await readMetadata(path.join(lowerStageRun(d), MODEL_DIR));
  assert.deepEqual(lower.refine, ['refine-1']);
  const stage2 = await readMetadata(path.join(d, 'generator'));
  assert.equal(stage2.config.size, 64, 'the ×4 stage runs at 4 × the base size');
  assert.equal(stage2.training?.base, path.join(lowerStageRun(d), MODEL_DIR));
  const model = await readMetadata(path.join(d, MODEL_DIR));
  assert.deepEqual(model.refine, ['refine-1', 'refine-2']);
  // The ×2 stage in the final folder is the lower run's best one, byte for byte.
  assert.deepEqual(
    await fs.readFile(path.join(d, MODEL_DIR, 'refine-1', 'weights.bin')),
    await fs.readFile(path.join(lowerStageRun(d), 'generator-best', 'weights.bin')),
  );
  const two = await loadModel(path.join(d, MODEL_DIR));
  assert.equal(two.refine?.length, 2);
  const raw = await colorize(PHOTO, { model: two, raw: true });
  const rawBase = await colorize(PHOTO, { model: two, raw: true, refine: false });
  assert.equal(raw.width, rawBase.width * 4, 'raw output on the finest stage grid');
  // A base that already has the stage asked for is refused with the scale to use.
  await assert.rejects(
    trainRefine({ ...common, base: path.join(d, MODEL_DIR), out: path.join(tmp, 'run-x8'), epochs: 1, scales: 4 }),
    /already has 2 refinement stage/,
  );
  await assert.rejects(
    trainRefine({ ...common, base: path.join(lowerStageRun(d), MODEL_DIR), out: path.join(tmp, 'run-x2b'), epochs: 1, scales: 2 }),
    /already has 1 refinement stage.*use --scales 4/,
  );
});

test('stages load from a model folder; bad listings and a stage used as a model fail with one line', async () => {
  const dir = path.join(tmp, 'with-stage');
  const cfgBase = { arch: 'unet' as const, size: 16, ngf: 8, ndf: 8, zDim: 4, bnMomentum: 0.9 };
  const cfgStage = { arch: 'refine' as const, size: 32, ngf: 8, ndf: 8, zDim: 1, bnMomentum: 0.9 };
  const G = buildGenerator(cfgBase, { seed: 5 });
  await saveModel(G, dir, generatorMetadata(cfgBase, { refine: ['refine-1'] }));
  const R = buildRefineGenerator(cfgStage, { seed: 9 });
  await saveModel(R, path.join(dir, 'refine-1'), generatorMetadata(cfgStage));
  const c = await loadModel(dir);
  assert.equal(c.refine?.length, 1);
  assert.equal(c.refine?.[0].meta.config.arch, 'refine');
  assert.equal(c.refine?.[0].source, path.join(dir, 'refine-1'));
  // A stage is not a colorizer of its own.
  await assert.rejects(loadModel(path.join(dir, 'refine-1')), /a refinement stage, not a colorizer/);
  // A listed folder that is not a stage.
  const wrong = path.join(tmp, 'wrong-stage');
  await saveModel(G, wrong, generatorMetadata(cfgBase, { refine: ['refine-1'] }));
  await saveModel(G, path.join(wrong, 'refine-1'), generatorMetadata(cfgBase));
  await assert.rejects(loadModel(wrong), /listed as a refinement stage .* config\.arch is "unet"/);
  // Listings other than refine-1[, refine-2].
  for (const bad of [['../x'], ['refine-2'], [], ['refine-1', 'refine-2', 'refine-3']]) {
    assert.throws(() => parseMetadata({ ...generatorMetadata(cfgBase), refine: bad }), /^Error: refine must be/);
  }
  G.dispose();
  R.dispose();
});

test('upsampleChroma doubles a grid bilinearly and keeps a constant plane', () => {
  const uv = new Float32Array(6 * 4 * 2).map((_, i) => (i % 2 ? -0.25 : 0.5));
  const up = upsampleChroma(uv, { width: 6, height: 4 });
  assert.equal(up.length, 12 * 8 * 2);
  for (let i = 0; i < up.length; i++) assert.ok(Math.abs(up[i] - (i % 2 ? -0.25 : 0.5)) < 1e-6);
});

test("colorgan colorize --no-refine writes exactly the base model's output; without it the stage is used", async () => {
  await ensureDistBuilt();
  const dir = path.join(tmp, 'cli-model');
  const cfgStage = { arch: 'refine' as const, size: 32, ngf: 8, ndf: 8, zDim: 1, bnMomentum: 0.9 };
  const G = await loadModelFromDir(baseDir);
  await saveModel(G, dir, { ...(await readMetadata(baseDir)), refine: ['refine-1'] });
  const R = buildRefineGenerator(cfgStage, { seed: 4 });
  await saveModel(R, path.join(dir, 'refine-1'), generatorMetadata(cfgStage));
  G.dispose();
  R.dispose();
  const outs: Record<string, Buffer> = {};
  for (const [name, args] of [
    ['base', ['--model', baseDir]],
    ['skipped', ['--model', dir, '--no-refine']],
    ['refined', ['--model', dir]],
  ] as const) {
    const out = path.join(tmp, `cli-${name}`);
    const r = await runCli(['colorize', PHOTO, '--out', out, ...args]);
    assert.equal(r.code, 0, r.stderr);
    outs[name] = await fs.readFile(path.join(out, 'sunrise3.png'));
  }
  assert.ok(outs.base.equals(outs.skipped), '--no-refine: the same bytes as the base model');
  assert.ok(!outs.base.equals(outs.refined), 'the stage changes the output');
});

test('a 12 MP photo through the general model with refinement stages at 128 and 256 pixels (×4) stays under 1.5 GB peak memory', async () => {
  await ensureDistBuilt();
  const dir = path.join(tmp, 'general-with-stage');
  const general = path.join(ROOT, 'models', 'general');
  await fs.mkdir(dir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) await fs.copyFile(path.join(general, f), path.join(dir, f));
  await fs.writeFile(path.join(dir, 'colorgan.json'), JSON.stringify({ ...(await readMetadata(general)), refine: ['refine-1', 'refine-2'] }));
  for (const k of [1, 2]) {
    const cfg = { arch: 'refine' as const, size: 64 * 2 ** k, ngf: 32, ndf: 32, zDim: 1, bnMomentum: 0.9 };
    const R = buildRefineGenerator(cfg, { seed: k });
    await saveModel(R, path.join(dir, `refine-${k}`), generatorMetadata(cfg));
    R.dispose();
  }
  const photo = path.join(tmp, 'twelve.jpg');
  await sharp(path.join(ROOT, 'examples', 'shine1-original.jpg'))
    .resize(4000, 3000, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toFile(photo);
  const probe = path.join(tmp, 'maxrss.mjs');
  await fs.writeFile(probe, `process.on('exit', () => process.stderr.write('maxrss-kb ' + process.resourceUsage().maxRSS + '\\n'));\n`);
  // The way the CLI takes (the libvips pipeline where it is built), and the general path
  // (decode, stages, sharpen, encode in JS memory: the heavier one) with the addons off.
  const ways = [
    { plan: loadStreamingAddon() ? 'vips' : 'general', env: {} },
    { plan: 'general', env: { COLORGAN_NATIVE: '0' } },
  ];
  for (const way of ways) {
    const out = path.join(tmp, `twelve-out-${way.plan}`);
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', probe, path.join(ROOT, 'bin', 'colorgan.js'), 'colorize', photo, '--model', dir, '--out', out, '--json'],
        { cwd: ROOT, env: { ...process.env, ...way.env } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.split('\n')[0]).plan, way.plan);
    const m = await sharp(path.join(out, 'twelve.png')).metadata();
    assert.deepEqual([m.width, m.height], [4000, 3000]);
    const rssMb = Number(/maxrss-kb (\d+)/.exec(r.stderr)![1]) / 1024;
    assert.ok(rssMb < 1536, `${way.plan}: peak memory ${rssMb.toFixed(0)} MB`);
    console.log(`# 12 MP with refine-1 and refine-2, ${way.plan} path: peak RSS ${rssMb.toFixed(0)} MB`);
  }
});
