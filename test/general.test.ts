/**
 * The general-scene model's pieces: several data folders split and sampled by source,
 * the fully convolutional U-Net with its global branch, aspect-preserving grids, guided
 * (edge-aware) chroma upsampling, the feature-matching loss, and per-source evaluation.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator, withFeatures, FEATURE_LAYERS } from '../src/models/discriminator.js';
import type { ModelConfig } from '../src/models/config.js';
import { GanStep, chromaSpreadError, logRgbError } from '../src/train/gan.js';
import { photoErrors, psnrOfNetworkMse } from '../src/train/validation.js';
import { train } from '../src/train/train.js';
import { isBest, selectionOf } from '../src/train/outputs.js';
import { cropRows } from '../src/train/data.js';
import { readMetadata, loadModelFromDir } from '../src/models/io.js';
import { balancedOrder, splitBySource, sourceOf, groupBySource, loadDatasets, resolveFile } from '../src/data/sources.js';
import { modelGrid } from '../src/infer/grid.js';
import { sharpenToFullRes } from '../src/infer/sharpen.js';
import { colorizeImage } from '../src/infer/colorizer.js';
import { evaluate } from '../src/eval/evaluate.js';
import { formatSourceTable } from '../src/eval/report.js';
import { generatorMetadata } from '../src/models/metadata.js';
import { rgbBufferToYuv, redOffset, greenOffset, blueOffset } from '../src/color/yuv.js';
import { mulberry32, gaussian } from '../src/util/rng.js';

const PHOTOS = path.join(import.meta.dirname, 'fixtures', 'photos');
const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');
const unetCfg: ModelConfig = { arch: 'unet', size: 16, ngf: 8, ndf: 8, zDim: 8, bnMomentum: 0.9 };
let tmp: string;

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-general-'));
});

test('sources: "label/sub" for files in a sub-folder, the label for top-level files', () => {
  assert.equal(sourceOf('scenes/urban/x.jpg'), 'scenes/urban');
  assert.equal(sourceOf('scenes/objects/fish/x.jpg'), 'scenes/objects');
  assert.equal(sourceOf('photos/x.jpg'), 'photos');
  assert.deepEqual([...groupBySource(['b/x/1', 'a/2', 'b/x/3', 'b/y/4']).keys()], ['a', 'b/x', 'b/y']);
});

test('splitBySource: 70/30 inside every source, and a source’s split ignores the others', () => {
  const a = Array.from({ length: 20 }, (_, i) => `d/a/${i}.jpg`);
  const b = Array.from({ length: 10 }, (_, i) => `d/b/${i}.jpg`);
  const both = splitBySource([...a, ...b], 3, 0.3);
  assert.equal(both.val.filter((f) => f.startsWith('d/a/')).length, 6);
  assert.equal(both.val.filter((f) => f.startsWith('d/b/')).length, 3);
  const alone = splitBySource(a, 3, 0.3);
  assert.deepEqual(
    both.val.filter((f) => f.startsWith('d/a/')),
    alone.val,
  );
  assert.deepEqual(splitBySource([...b, ...a], 3, 0.3), both, 'input order does not matter');
});

test('balancedOrder: every source equally often whatever its size, each photo before any repeats', () => {
  const groups = [Array.from({ length: 100 }, (_, i) => i), [100, 101], Array.from({ length: 10 }, (_, i) => 200 + i)];
  const order = balancedOrder(groups, 300, mulberry32(9));
  assert.equal(order.length, 300);
  const count = (g: number[]) => order.filter((i) => g.includes(i)).length;
  assert.deepEqual(groups.map(count), [100, 100, 100]);
  // The big source is drawn 100 times: all of its photos once each.
  assert.equal(new Set(order.filter((i) => i < 100)).size, 100);
  // The small source repeats evenly: 10 photos × 10.
  for (let i = 200; i < 210; i++) assert.equal(order.filter((x) => x === i).length, 10);
  assert.deepEqual(balancedOrder(groups, 300, mulberry32(9)), order, 'deterministic');
  assert.notDeepEqual(balancedOrder(groups, 300, mulberry32(10)), order);
});

test('balancedOrder with a power: sources drawn in proportion to size^p, summing to the total', () => {
  const groups = [Array.from({ length: 100 }, (_, i) => i), [100, 101, 102, 103], Array.from({ length: 25 }, (_, i) => 200 + i)];
  const count = (order: number[], g: number[]) => order.filter((i) => g.includes(i)).length;
  // p = 1/2: weights 10 : 2 : 5 of 17; 340 slots → 200, 40, 100 exactly.
  const half = balancedOrder(groups, 340, mulberry32(3), 0.5);
  assert.deepEqual(
    groups.map((g) => count(half, g)),
    [200, 40, 100],
  );
  // p = 1: every photo equally often (129 photos, 258 slots: each twice).
  const prop = balancedOrder(groups, 258, mulberry32(3), 1);
  for (const i of [0, 57, 100, 103, 200, 224]) assert.equal(prop.filter((x) => x === i).length, 2, `photo ${i}`);
  // Rounding: 7 slots over weights 10 : 2 : 5 (exact 4.12, 0.82, 2.06) → 4, 1, 2.
  assert.deepEqual(
    groups.map((g) => count(balancedOrder(groups, 7, mulberry32(3), 0.5), g)),
    [4, 1, 2],
  );
});

test('loadDatasets: several folders as one set, names prefixed by the folder, files resolvable', async () => {
  const ds = await loadDatasets([PHOTOS, EXAMPLES], { size: 16, cacheDir: path.join(tmp, 'cache') });
  assert.ok(ds.files.includes('photos/a/cloudy2.jpg'));
  assert.ok(ds.files.includes('examples/shine1-original.jpg'));
  assert.equal(ds.y.length, ds.files.length * 256);
  assert.equal(resolveFile(ds, 'examples/shine1-gray.jpg'), path.join(EXAMPLES, 'shine1-gray.jpg'));
  assert.deepEqual([...groupBySource(ds.files).keys()], ['examples', 'photos', 'photos/a', 'photos/b', 'photos/special']);
});

test('unet: fully convolutional (any multiple-of-8 grid), z changes the colors, only stock layers', async () => {
  const G = buildGenerator(unetCfg, { seed: 4 });
  assert.ok(!G.layers.some((l) => l.getClassName() === 'Dense' && (l.getConfig().units as number) === 16 * 16), 'no dense layer to a fixed map');
  for (const [h, w] of [
    [16, 16],
    [16, 40],
    [56, 24],
  ]) {
    const out = G.predict([tf.randomNormal([2, h, w, 1], 0, 1, 'float32', 1), tf.randomNormal([2, 8], 0, 1, 'float32', 2)]) as tf.Tensor;
    assert.deepEqual(out.shape, [2, h, w, 2]);
    out.dispose();
  }
  const y = tf.randomNormal([1, 16, 24, 1], 0, 1, 'float32', 3);
  const a = G.predict([y, tf.tensor2d(gaussian(mulberry32(1), 8), [1, 8])]) as tf.Tensor;
  const b = G.predict([y, tf.tensor2d(gaussian(mulberry32(2), 8), [1, 8])]) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] > 0, 'different z, different output');
  // Saved and loaded with stock TF.js classes, the same function.
  const dir = path.join(tmp, 'unet-model');
  const { saveModel } = await import('../src/models/io.js');
  await saveModel(G, dir, generatorMetadata(unetCfg));
  const G2 = await loadModelFromDir(dir);
  const z = tf.tensor2d(gaussian(mulberry32(1), 8), [1, 8]);
  const c = G2.predict([y, z]) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0] < 1e-5);
});

test('modelGrid: the paper models run at S×S; unet keeps the aspect with the short side = render size', () => {
  const adv: ModelConfig = { ...unetCfg, arch: 'advanced', size: 64 };
  assert.deepEqual(modelGrid(adv, 4000, 3000), { width: 64, height: 64 });
  assert.throws(() => modelGrid(adv, 4000, 3000, 128), /runs only at its training size 64/);
  const u: ModelConfig = { ...unetCfg, size: 64 };
  assert.deepEqual(modelGrid(u, 4000, 3000), { width: 88, height: 64 }); // 85.3 → 88
  assert.deepEqual(modelGrid(u, 3000, 4000), { width: 64, height: 88 });
  assert.deepEqual(modelGrid(u, 1000, 1000, 128), { width: 128, height: 128 });
  assert.deepEqual(modelGrid(u, 1920, 1080, 100), { width: 176, height: 104 });
  assert.throws(() => modelGrid(u, 100, 100, 8), RangeError);
  assert.throws(() => modelGrid(u, 100, 100, 2.5), RangeError);
});

/** A 256×64 photo: dark left half, bright right half; chroma follows the luma edge. */
function edgePhoto() {
  const W = 256,
    H = 64;
  const rgb = new Uint8Array(W * H * 3);
  const truthU = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const left = x < 131; // the edge does not fall on a grid cell border
      rgb.fill(left ? 60 : 190, 3 * (y * W + x), 3 * (y * W + x) + 3);
      truthU[y * W + x] = left ? 100 : 156;
    }
  }
  return { W, H, rgb, truthU };
}

test('guided upsampling: chroma stops at the luma edge (bilinear bleeds); constant chroma stays constant', () => {
  const { W, H, rgb, truthU } = edgePhoto();
  const gw = 32,
    gh = 8;
  // Grid chroma: the true U averaged over each cell (what a perfect model predicts).
  const uv = new Float32Array(gw * gh * 2);
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      let s = 0;
      for (let x = gx * 8; x < gx * 8 + 8; x++) s += truthU[x];
      uv[2 * (gy * gw + gx)] = (s / 8 - 128) / 127.5;
    }
  }
  const err = (out: Uint8Array) => {
    const p = rgbBufferToYuv(out, W, H);
    let e = 0;
    for (let i = 0; i < W * H; i++) e += Math.abs(p.u[i] - truthU[i]);
    return e / (W * H);
  };
  const bil = err(sharpenToFullRes(rgb, W, H, uv, { width: gw, height: gh }));
  const gui = err(sharpenToFullRes(rgb, W, H, uv, { width: gw, height: gh }, undefined, { upsample: 'guided' }));
  assert.ok(gui < bil * 0.5, `mean |ΔU| guided ${gui.toFixed(3)} vs bilinear ${bil.toFixed(3)}`);
  // Constant chroma is kept by both (up to rounding), and the luma is the photo's.
  const flat = new Float32Array(gw * gh * 2).fill(0.1);
  const out = sharpenToFullRes(rgb, W, H, flat, { width: gw, height: gh }, undefined, { upsample: 'guided' });
  const p = rgbBufferToYuv(out, W, H);
  for (let i = 0; i < W * H; i += 97) {
    assert.ok(Math.abs(p.u[i] - (128 + 0.1 * 127.5)) < 1.2, `U at ${i}: ${p.u[i]}`);
    assert.ok(Math.abs(p.y[i] - rgb[3 * i]) < 0.8, `Y at ${i}`);
  }
});

test('feature matching: D exposes its hidden layers; the G step reports a finite FM loss that training lowers', () => {
  const cfg: ModelConfig = { ...unetCfg, arch: 'unet' };
  const G = buildGenerator(cfg, { seed: 5 });
  const D = buildDiscriminator(cfg, { seed: 5 });
  const DF = withFeatures(D);
  assert.equal(DF.outputs.length, 1 + FEATURE_LAYERS.length);
  const r = mulberry32(3);
  const n = 4,
    S = 16;
  const y = new Float32Array(n * S * S).map(() => r() * 2 - 1);
  const uv = new Float32Array(n * S * S * 2).map((_, i) => (i % 2 ? -0.3 : 0.5 * y[i >> 1]));
  const b = { n, y, uv, z: gaussian(r, n * 8) };
  const step = new GanStep(G, D, S, 8, { l1: 10, lr: 2e-3, beta1: 0.5, diversity: 0, featureMatch: 10 });
  const first = step.step(b);
  assert.ok(first.fm !== undefined && Number.isFinite(first.fm) && first.fm > 0);
  const live = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 15; i++) last = step.step(b);
  assert.equal(tf.memory().numTensors, live, 'no leaked tensors');
  assert.ok(last.l1 < first.l1, `L1 ${first.l1} → ${last.l1}`);
  const off = new GanStep(buildGenerator(cfg, { seed: 5 }), buildDiscriminator(cfg, { seed: 5 }), S, 8, { l1: 10, lr: 2e-3, beta1: 0.5, diversity: 0 });
  assert.equal(off.step(b).fm, undefined, 'off by default');
});

test("adversarial 0: regression alone — D untouched, its loss and G's adversarial loss 0, the L2 error falls", () => {
  const cfg: ModelConfig = { ...unetCfg, arch: 'unet' };
  const D = buildDiscriminator(cfg, { seed: 6 });
  const step = new GanStep(buildGenerator(cfg, { seed: 6 }), D, 16, 8, { l1: 0, l2: 100, adversarial: 0, lr: 2e-3, beta1: 0.9, diversity: 0 });
  assert.equal(step.usesD, false);
  const r = mulberry32(4);
  const n = 4,
    S = 16;
  const y = new Float32Array(n * S * S).map(() => r() * 2 - 1);
  const uv = new Float32Array(n * S * S * 2).map((_, i) => (i % 2 ? -0.3 : 0.5 * y[i >> 1]));
  const b = { n, y, uv, z: gaussian(r, n * 8) };
  const dBefore = D.getWeights().map((w) => w.dataSync().slice());
  const first = step.step(b);
  let last = first;
  for (let i = 0; i < 15; i++) last = step.step(b);
  assert.equal(first.gAdv, 0);
  assert.equal(last.d, 0);
  assert.ok(last.l1 < first.l1, `L1 ${first.l1} → ${last.l1}`);
  D.getWeights().forEach((w, k) => assert.deepEqual(w.dataSync(), dBefore[k], `D weight ${k} changed`));
  // Any adversarial or feature-matching weight brings D back into the step.
  const withD = new GanStep(buildGenerator(cfg, { seed: 6 }), buildDiscriminator(cfg, { seed: 6 }), 16, 8, {
    l1: 0,
    l2: 100,
    adversarial: 0,
    featureMatch: 1,
    lr: 2e-3,
    beta1: 0.9,
    diversity: 0,
  });
  assert.equal(withD.usesD, true);
  assert.ok(withD.step(b).d > 0);
});

test('log RGB error: the squared RGB error of a chroma error, as PSNR counts it; training on it lowers it', () => {
  const r = mulberry32(9);
  // RGB_ERROR_OF_CHROMA against the RGB offsets themselves, and the validation PSNR against a direct RGB PSNR.
  const n = 64;
  const pred = new Float32Array(2 * n).map(() => r() - 0.5);
  const ref = new Float32Array(2 * n).map(() => r() - 0.5);
  let direct = 0;
  for (let i = 0; i < n; i++) {
    const du = (pred[2 * i] - ref[2 * i]) * 127.5;
    const dv = (pred[2 * i + 1] - ref[2 * i + 1]) * 127.5;
    direct += (redOffset(dv) ** 2 + greenOffset(du, dv) ** 2 + blueOffset(du) ** 2) / 3;
  }
  direct /= n;
  const e = photoErrors(pred, ref);
  assert.ok(Math.abs(e.rgbMse * 127.5 * 127.5 - direct) < 1e-6 * direct, `${e.rgbMse * 127.5 ** 2} vs ${direct}`);
  assert.ok(Math.abs(psnrOfNetworkMse(e.rgbMse) - 10 * Math.log10((255 * 255) / direct)) < 1e-9);

  const S = 16,
    m = 3;
  const f = new Float32Array(m * S * S * 2).map(() => r() - 0.5);
  const t = new Float32Array(m * S * S * 2).map(() => r() - 0.5);
  let want = 0;
  for (let i = 0; i < m; i++) {
    const per = S * S * 2;
    want += Math.log(photoErrors(f.subarray(i * per, (i + 1) * per), t.subarray(i * per, (i + 1) * per)).rgbMse + 1 / 127.5 ** 2) / m;
  }
  const got = tf.tidy(() => logRgbError(tf.tensor4d(f, [m, S, S, 2]), tf.tensor4d(t, [m, S, S, 2])).dataSync()[0]);
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);

  const cfg: ModelConfig = { ...unetCfg, arch: 'unet' };
  const G = buildGenerator(cfg, { seed: 8 });
  const step = new GanStep(G, buildDiscriminator(cfg, { seed: 8 }), S, 8, { l1: 0, psnr: 1, adversarial: 0, lr: 2e-3, beta1: 0.9, diversity: 0 });
  const y = new Float32Array(4 * S * S).map(() => r() * 2 - 1);
  const uv = new Float32Array(4 * S * S * 2).map((_, i) => (i % 2 ? -0.3 : 0.5 * y[i >> 1]));
  const b = { n: 4, y, uv, z: gaussian(r, 4 * 8) };
  const logErr = () =>
    tf.tidy(() => logRgbError(G.predict([tf.tensor4d(y, [4, S, S, 1]), tf.tensor2d(b.z, [4, 8])]) as tf.Tensor4D, tf.tensor4d(uv, [4, S, S, 2])).dataSync()[0]);
  const before = logErr();
  for (let i = 0; i < 15; i++) step.step(b);
  assert.ok(logErr() < before, `log RGB error ${before} → ${logErr()}`);
});

test('the chroma-spread term: by hand per photo, 0 for the truth, and its step makes a washed-out prediction more colorful', () => {
  const S = 8;
  const m = 3;
  const r = mulberry32(21);
  const per = S * S * 2;
  const t = new Float32Array(m * per).map(() => r() - 0.5);
  const f = t.map((x, i) => 0.4 * x + 0.01 * (i % 3)); // the same pattern, less spread
  const spread = (a: Float32Array, i: number) => {
    const p = a.subarray(i * per, (i + 1) * per);
    const mean = [0, 1].map((c) => p.filter((_, k) => k % 2 === c).reduce((x, y) => x + y, 0) / (S * S));
    return Math.sqrt(p.reduce((acc, x, k) => acc + (x - mean[k % 2]) ** 2, 0) / per + 1e-6);
  };
  let want = 0;
  for (let i = 0; i < m; i++) want += (spread(t, i) - spread(f, i)) ** 2 / m;
  const term = (a: Float32Array) => tf.tidy(() => chromaSpreadError(tf.tensor4d(a, [m, S, S, 2]), tf.tensor4d(t, [m, S, S, 2])).dataSync()[0]);
  assert.ok(Math.abs(term(f) - want) < 1e-6, `${term(f)} vs ${want}`);
  assert.ok(want > 0.01, `the case has a spread deficit (${want})`);
  assert.equal(term(t), 0);
  // Its gradient points toward more spread: one step along −∇ raises the prediction's spread.
  const g = tf.tidy(() =>
    tf
      .grad((x: tf.Tensor) => chromaSpreadError(x as tf.Tensor4D, tf.tensor4d(t, [m, S, S, 2])))(tf.tensor4d(f, [m, S, S, 2]))
      .dataSync(),
  );
  const stepped = f.map((x, i) => x - 0.5 * (g[i] as number));
  for (let i = 0; i < m; i++) assert.ok(spread(stepped, i) > spread(f, i), `photo ${i}: spread ${spread(f, i)} → ${spread(stepped, i)}`);
  assert.ok(term(stepped) < term(f), 'the step lowers the term');
});

test('zoom augmentation: y and uv cut by the same window and resized back; side S is the identity', () => {
  const S = 16;
  const n = 3;
  const f = (i: number, x: number, yy: number) => i * 100 + x + 0.5 * yy; // linear: bilinear resizing keeps it linear
  const y = new Float32Array(n * S * S);
  const uv = new Float32Array(n * S * S * 2);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < S; r++)
      for (let x = 0; x < S; x++) {
        y[(i * S + r) * S + x] = f(i, x, r);
        uv[((i * S + r) * S + x) * 2] = f(i, x, r);
        uv[((i * S + r) * S + x) * 2 + 1] = -f(i, x, r);
      }
  const before = y.slice();
  assert.equal(cropRows(y, uv, S, S, [null, null, null]).y, y, 'no crop: the batch itself');
  const out = cropRows(y, uv, S, S, [null, { side: S, x: 0, y: 0 }, { side: 8, x: 4, y: 2 }]);
  assert.deepEqual(y, before, 'the input is left alone');
  assert.deepEqual(out.y.subarray(0, 2 * S * S), before.subarray(0, 2 * S * S), 'rows 0 and 1 unchanged');
  for (let k = 0; k < S * S; k++) {
    const j = 2 * S * S + k;
    assert.equal(out.uv[2 * j], out.y[j], `u at ${k}`);
    assert.equal(out.uv[2 * j + 1], -out.y[j], `v at ${k}`);
  }
  // Inside, the window's x range 4..11 and row range 2..9 spread over 0..15 (half-pixel centres).
  const at = (x: number, r: number) => out.y[2 * S * S + r * S + x];
  assert.ok(Math.abs(at(8, 8) - f(2, 4 + (8.5 * 8) / 16 - 0.5, 2 + (8.5 * 8) / 16 - 0.5)) < 1e-4, `${at(8, 8)}`);
  assert.ok(at(15, 0) > at(0, 0) && at(15, 0) - at(0, 0) < 8, 'spans about 8 columns of the original');
});

test('--crop-from: crops of N×N photos come out S×S; a window of side S is copied, the whole photo is shrunk by area', () => {
  const N = 24;
  const S = 16;
  const y = new Float32Array(2 * N * N);
  const uv = new Float32Array(2 * N * N * 2);
  for (let i = 0; i < 2 * N * N; i++) {
    y[i] = (i % N) + Math.floor(i / N) * 0.25; // x + row/4 (row counts across both photos)
    uv[2 * i] = y[i];
    uv[2 * i + 1] = 1;
  }
  const out = cropRows(y, uv, N, S, [{ side: S, x: 5, y: 3 }, null]);
  assert.equal(out.y.length, 2 * S * S);
  assert.equal(out.uv.length, 2 * S * S * 2);
  for (let r = 0; r < S; r++) for (let x = 0; x < S; x++) assert.equal(out.y[r * S + x], y[(3 + r) * N + 5 + x], `window pixel ${x},${r}`);
  // Photo 1 whole, 24 → 16: the mean is kept (area weights) and the ramp still rises left to right.
  const mean = (a: Float32Array) => a.reduce((p, q) => p + q, 0) / a.length;
  assert.ok(Math.abs(mean(out.y.subarray(S * S)) - mean(y.subarray(N * N))) < 1e-3);
  assert.ok(out.y[S * S + S - 1] > out.y[S * S] + 20);
  assert.ok(
    out.uv.every((v, i) => i % 2 === 0 || Math.abs(v - 1) < 1e-6),
    'v stays 1',
  );
});

test('generator-best: an L2-only run is chosen by validation MSE, any other by validation L1', () => {
  const h = (epoch: number, valL1: number, valMse: number) => ({ epoch, gAdv: 0, l1: 0, d: 0, valL1, valMse, seconds: 1, imagesPerSecond: 1 });
  const history = [h(1, 0.1, 0.03), h(2, 0.11, 0.02)];
  assert.equal(selectionOf({ l1: 0, l2: 5000 }), 'mse');
  assert.equal(selectionOf({ l1: 100, l2: 5000 }), 'l1');
  assert.equal(selectionOf({ l1: 100, l2: 0 }), 'l1');
  assert.equal(isBest(history, history[1], 'mse'), true);
  assert.equal(isBest(history, history[1], 'l1'), false);
  // With the log RGB error term: the highest validation PSNR; an epoch without one never wins.
  assert.equal(selectionOf({ l1: 0, l2: 5000, psnr: 1 }), 'psnr');
  const withPsnr = [{ ...h(1, 0.1, 0.03) }, { ...h(2, 0.1, 0.03), valPsnr: 24 }, { ...h(3, 0.1, 0.03), valPsnr: 23.5 }];
  assert.equal(isBest(withPsnr.slice(0, 2), withPsnr[1], 'psnr'), true);
  assert.equal(isBest(withPsnr, withPsnr[2], 'psnr'), false);
});

test('train: two data folders, one source excluded, balanced by source; eval reports every source', async () => {
  const out = path.join(tmp, 'run');
  const res = await train({
    data: [PHOTOS, EXAMPLES],
    out,
    model: 'unet',
    size: 16,
    ngf: 8,
    ndf: 8,
    zDim: 8,
    batch: 2,
    epochs: 2,
    sampleRows: 2,
    l1: 50,
    featureMatch: 5,
    exclude: ['photos/special'],
    epochImages: 8,
    cropFrom: 24,
    zoom: 1.5,
    cacheDir: path.join(tmp, 'cache'),
  });
  assert.equal(res.history.length, 2);
  const meta = await readMetadata(path.join(out, 'generator'));
  assert.equal(meta.config.arch, 'unet');
  assert.equal(meta.training?.cropFrom, 24);
  assert.deepEqual(meta.training?.excluded, ['photos/special']);
  assert.ok(!Object.keys(meta.training?.sources ?? {}).includes('photos/special'));
  assert.ok(Object.keys(meta.training?.sources ?? {}).includes('examples'));
  assert.ok(res.history[0].valL1BySource && !('photos/special' in res.history[0].valL1BySource));
  // Per-source MSE for the same sources, their mean the epoch's valMse.
  const mse = res.history[0].valMseBySource ?? {};
  assert.deepEqual(Object.keys(mse).sort(), Object.keys(res.history[0].valL1BySource).sort());
  const meanMse = Object.values(mse).reduce((a, b) => a + b, 0) / Object.keys(mse).length;
  assert.ok(Math.abs(meanMse - (res.history[0].valMse ?? Number.NaN)) < 1e-9, `${meanMse} vs ${res.history[0].valMse}`);
  const psnr = res.history[0].valPsnrBySource ?? {};
  assert.deepEqual(Object.keys(psnr).sort(), Object.keys(mse).sort());
  assert.ok(
    Object.values(psnr).every((x) => x > 5 && x < 68),
    JSON.stringify(psnr),
  );
  await assert.rejects(
    train({ data: [PHOTOS], out: path.join(tmp, 'run2'), size: 16, exclude: ['nope'], cacheDir: path.join(tmp, 'cache') }),
    /--exclude nope: no such source/,
  );
  await assert.rejects(
    train({ data: [PHOTOS], out: path.join(tmp, 'run3'), size: 16, cropFrom: 8, cacheDir: path.join(tmp, 'cache') }),
    /--crop-from 8: smaller than the model size 16/,
  );

  const G = await loadModelFromDir(path.join(out, 'generator'));
  const model = { model: G, meta, source: 'test' };
  const ev = await evaluate({ data: [PHOTOS, EXAMPLES], model, cacheDir: path.join(tmp, 'cache'), size: 16, gridSamples: 4, gridExtremes: 1 });
  assert.deepEqual(Object.keys(ev.folders), ['examples', 'photos', 'photos/a', 'photos/b', 'photos/special']);
  const mean = ev.sourceMean.gray.full.psnr;
  const expect = Object.values(ev.folders).reduce((a, f) => a + f.gray.full.psnr, 0) / 5;
  assert.ok(Math.abs(mean - expect) < 1e-9, 'each source counts once');
  assert.match(formatSourceTable(ev), /\| mean over sources \|/);
  // Guided upsampling is selectable in the evaluation and changes the model's numbers only.
  const evG = await evaluate({
    data: [PHOTOS, EXAMPLES],
    model,
    cacheDir: path.join(tmp, 'cache'),
    size: 16,
    upsample: 'guided',
    gridSamples: 1,
    gridExtremes: 0,
  });
  assert.equal(evG.upsample, 'guided');
  assert.equal(evG.overall.gray.full.psnr, ev.overall.gray.full.psnr);
  assert.notEqual(evG.overall.model.full.psnr, ev.overall.model.full.psnr);

  // Aspect-preserving colorization: a 40×16 photo runs on a 40×16 grid and keeps its size.
  const img = { width: 40, height: 16, data: new Uint8Array(40 * 16 * 3).fill(120) };
  const c = colorizeImage(model, img);
  assert.deepEqual(c.grid, { width: 40, height: 16 });
  assert.deepEqual([c.rgb.width, c.rgb.height], [40, 16]);
  assert.throws(() => colorizeImage(model, img, { upsample: 'nearest' as 'guided' }), /upsample must be/);
});
