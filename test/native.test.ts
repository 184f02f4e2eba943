/**
 * The optional native addons (native/): oneDNN convolutions and pixel loops against the
 * `cpu` backend and the JS loops; the streaming JPEG paths against the general path.
 *
 * CI builds the addons and sets COLORGAN_REQUIRE_NATIVE=1, so there the first test fails
 * if one is missing; elsewhere the addon tests are skipped with the reason it is absent.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import type { KernelBackend } from '../src/util/tf.js';
import sharp from 'sharp';
import { initBackend } from '../src/backend/node.js';
import { loadNativeAddon, enableNativeConvolutions, disableNativeConvolutions, nativeConvolutionsActive } from '../src/backend/native.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { sharpenToFullRes, setPixelKernels, lumaForModel } from '../src/infer/sharpen.js';
import { loadJpegAddon, loadStreamingAddon, nativePixelKernels } from '../src/infer/native-pixels.js';
import { colorizeEncodedStreaming } from '../src/infer/streaming.js';
import { loadModel, colorize } from '../src/infer/node.js';
import { modelGrid } from '../src/infer/grid.js';
import { encodeImage } from '../src/data/decode.js';
import { toColorizer, type Colorizer } from '../src/infer/colorizer.js';
import { choosePlan } from '../src/infer/plan.js';
import { buildRefineGenerator } from '../src/models/refine.js';
import { generatorMetadata } from '../src/models/metadata.js';
import { encoderDecoder, rand, relL2, worstErrorVsCpu } from './conv-cases.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const PHOTO = path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg');
const dnnl = loadNativeAddon();
const jpeg = loadJpegAddon();
const vips = loadStreamingAddon();
const why = (name: string) => `${name} not built: ${nativeUnavailableReason(name)}`;

let model: Colorizer;
before(async () => {
  const info = await initBackend();
  assert.equal(info.name, 'wasm');
  // Bilinear unless a test asks for guided (the bundled model's default).
  const m = await loadModel();
  model = { ...m, meta: { ...m.meta, inference: { ...m.meta.inference, upsample: 'bilinear' } } };
});

test('the native addons load (required in CI)', () => {
  const addons = { colorgan_dnnl: dnnl, colorgan_jpeg: jpeg, colorgan_vips: vips };
  for (const [name, addon] of Object.entries(addons)) {
    if (process.env.COLORGAN_REQUIRE_NATIVE === '1') assert.ok(addon, why(name));
    else assert.ok(addon || nativeUnavailableReason(name).length > 0, `${name}: absent without a reason`);
  }
  if (dnnl) assert.ok(nativeConvolutionsActive(), 'initBackend routes the convolutions to oneDNN');
});

test('oneDNN Conv2D, FusedConv2D, Conv2DBackpropInput/Filter and conv2dTranspose match cpu', { skip: !dnnl && why('colorgan_dnnl') }, async () => {
  enableNativeConvolutions();
  const worst = await worstErrorVsCpu(['y', 'fused', 'dx', 'dw', 'tr'], (i) => 13 * i + 5);
  await tf.setBackend('wasm');
  assert.ok(worst < 1e-4);
});

test('oneDNN and the wasm kernels give the same training-style gradients, without leaks', { skip: !dnnl && why('colorgan_dnnl') }, async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as KernelBackend;
  const { w1, w2, x } = encoderDecoder();
  const grads = () => {
    const { value, grads: g } = tf.variableGrads(() => {
      const h = tf.leakyRelu(tf.conv2d(x, w1, 2, 'same'), 0.2);
      const y = tf.conv2dTranspose(h, w2, [4, 32, 32, 3], 2, 'same');
      return tf.mean(tf.square(tf.sub(y, x))) as tf.Scalar;
    });
    const out = [value, g[w1.name]!, g[w2.name]!].map((t) => t.dataSync().slice() as Float32Array);
    tf.dispose([value, ...Object.values(g)]);
    return out;
  };
  disableNativeConvolutions();
  const ref = grads();
  enableNativeConvolutions();
  const got = grads();
  for (let k = 0; k < ref.length; k++) assert.ok(relL2(got[k]!, ref[k]!) < 1e-4, `output ${k}: ${relL2(got[k]!, ref[k]!)}`);
  for (let i = 0; i < 3; i++) grads();
  const m0 = tf.memory().numTensors;
  const ids0 = backend.numDataIds();
  for (let i = 0; i < 10; i++) grads();
  assert.equal(tf.memory().numTensors, m0, 'live tensor count grew');
  assert.equal(backend.numDataIds(), ids0, 'backend data ids grew');
  tf.dispose([x, w1, w2]);
});

/** The tensors `make` builds, on cpu and on wasm (with the native kernels): the same shapes, each within `tol` (relative L2). */
async function assertMatchesCpu(make: () => tf.Tensor[], tol: number): Promise<void> {
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const outs = tf.tidy(make);
    const data = outs.map((t) => ({ shape: t.shape, data: t.dataSync().slice() as Float32Array }));
    tf.dispose(outs);
    return data;
  };
  const ref = await run('cpu');
  const got = await run('wasm');
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    assert.deepEqual(got[i]!.shape, ref[i]!.shape, `output ${i} shape`);
    assert.ok(relL2(got[i]!.data, ref[i]!.data) < tol, `output ${i}: ${relL2(got[i]!.data, ref[i]!.data)}`);
  }
}

test('native Concat, SplitV and inference batch norm match cpu', { skip: !dnnl && why('colorgan_dnnl') }, async () => {
  enableNativeConvolutions();
  await assertMatchesCpu(() => {
    const a = tf.tensor4d(rand(3 * 5 * 7 * 4, 1), [3, 5, 7, 4]);
    const b = tf.tensor4d(rand(3 * 5 * 7 * 2, 2), [3, 5, 7, 2]);
    const r: tf.Tensor[] = [];
    for (let axis = 0; axis < 4; axis++) r.push(tf.concat([a, tf.mul(a, 2), tf.add(a, 1)], axis));
    r.push(tf.concat([a, b], -1), tf.concat([a, tf.zeros([3, 5, 7, 0])], 3));
    r.push(...tf.split(a, [1, -1, 2], 1), ...tf.split(b, 2, 3), ...tf.split(a, [0, 4], 3));
    // the gradient of a concat is a SplitV
    r.push(...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.concat([p, q], 3))))([a, b]));
    const C = 4;
    const [m, v, off, sc] = [3, 4, 5, 6].map((k) => tf.tensor1d(rand(C, k).map((x, i) => (k === 4 ? 0.5 + Math.abs(x) : x + i))));
    r.push(tf.batchNorm(a, m!, v!, off!, sc!, 1e-3), tf.batchNorm(a, m!, v!, undefined, undefined, 1e-3));
    return r;
  }, 1e-6);
});

test("native matrix products (plain, either side transposed, fused bias and activation) and a dense layer's gradients match cpu", {
  skip: !dnnl && why('colorgan_dnnl'),
}, async () => {
  enableNativeConvolutions();
  await assertMatchesCpu(() => {
    const a = tf.tensor2d(rand(16 * 64, 1), [16, 64]);
    const b = tf.tensor2d(rand(64 * 40, 2), [64, 40]);
    const bias = tf.tensor1d(rand(40, 3));
    const r: tf.Tensor[] = [
      tf.matMul(a, b),
      tf.matMul(b, tf.tensor2d(rand(40 * 64, 4), [64, 40]), false, true),
      tf.matMul(tf.tensor2d(rand(16 * 40, 5), [16, 40]), b, false, true),
      tf.matMul(a, tf.tensor2d(rand(16 * 40, 6), [16, 40]), true, false),
      tf.matMul(a, tf.tensor2d(rand(40 * 16, 9), [40, 16]), true, true), // both transposed: the stock kernel
      tf.matMul(tf.tensor3d(rand(2 * 3 * 4, 7), [2, 3, 4]), tf.tensor3d(rand(2 * 4 * 5, 8), [2, 4, 5])), // batch 2: stock
      tf.fused.matMul({ a, b, bias, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
      tf.fused.matMul({ a, b, bias, activation: 'relu' }),
    ];
    // A dense layer's gradients: dx = dy·Wᵀ and dW = xᵀ·dy.
    r.push(...tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.tanh(tf.matMul(x, w)))))([a, b]));
    return r;
  }, 1e-5);
});

/** RGB bytes with smooth structure plus noise, and some saturated areas. */
function photoLike(w: number, h: number, seed: number): Uint8Array {
  const noise = rand(w * h * 3, seed);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 3 + c;
        const v = 128 + 140 * Math.sin(x / 37 + c) * Math.cos(y / 23) + 30 * noise[i]!;
        out[i] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return out;
}

test('native luma shrink and sharpening agree with the JS loops', { skip: !dnnl && why('colorgan_dnnl') }, () => {
  const W = 517,
    H = 389,
    S = 64;
  const rgb = photoLike(W, H, 9);
  const uv = rand(S * S * 2, 4).map((v) => v * 0.6); // strong chroma: many out-of-gamut pixels
  const sharpenBoth = (upsample: 'bilinear' | 'guided') => sharpenToFullRes(rgb, W, H, uv, S, undefined, { upsample });
  setPixelKernels(nativePixelKernels());
  const nativeLuma = lumaForModel(rgb, W, H, S);
  const nativeRgb = { bilinear: sharpenBoth('bilinear'), guided: sharpenBoth('guided') };
  setPixelKernels(null);
  try {
    const jsLuma = lumaForModel(rgb, W, H, S);
    let maxL = 0;
    for (let i = 0; i < jsLuma.length; i++) maxL = Math.max(maxL, Math.abs(jsLuma[i]! - nativeLuma[i]!));
    assert.ok(maxL < 1e-5, `luma (network scale) differs by ${maxL}`);
    for (const upsample of ['bilinear', 'guided'] as const) {
      const jsRgb = sharpenBoth(upsample);
      let max = 0,
        differ = 0,
        clipped = 0;
      for (let i = 0; i < jsRgb.length; i++) {
        const d = Math.abs(jsRgb[i]! - nativeRgb[upsample][i]!);
        max = Math.max(max, d);
        if (d) differ++;
        if (jsRgb[i] === 0 || jsRgb[i] === 255) clipped++;
      }
      // (The guided fit smooths this random chroma, so it rarely leaves the gamut.)
      if (upsample === 'bilinear') assert.ok(clipped > jsRgb.length * 0.01, 'the case exercises the gamut limit');
      assert.ok(max <= 1, `${upsample}: sharpened pixels differ by up to ${max} levels`);
      assert.ok(differ / jsRgb.length < 0.01, `${upsample}: ${differ} of ${jsRgb.length} bytes differ`);
    }
    assert.ok(!Buffer.from(nativeRgb.guided).equals(Buffer.from(nativeRgb.bilinear)), 'guided differs from bilinear');
  } finally {
    setPixelKernels(nativePixelKernels());
  }
});

// ---- streaming JPEG paths ------------------------------------------------------------

const Y = (p: Uint8Array, i: number) => 0.299 * p[i]! + 0.587 * p[i + 1]! + 0.114 * p[i + 2]!;
const U = (p: Uint8Array, i: number) => -0.168736 * p[i]! - 0.331264 * p[i + 1]! + 0.5 * p[i + 2]!;
const V = (p: Uint8Array, i: number) => 0.5 * p[i]! - 0.418688 * p[i + 1]! - 0.081312 * p[i + 2]!;

async function rgbOf(img: Buffer): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(img).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { data, width: info.width, height: info.height };
}

/** Mean |ΔY| against the input, mean |ΔU|+|ΔV| against a reference, mean chroma. */
function compare(out: Uint8Array, input: Uint8Array, ref: Uint8Array) {
  let dy = 0,
    dc = 0,
    chroma = 0;
  const n = out.length / 3;
  for (let k = 0; k < n; k++) {
    const i = 3 * k;
    dy += Math.abs(Y(out, i) - Y(input, i));
    dc += Math.abs(U(out, i) - U(ref, i)) + Math.abs(V(out, i) - V(ref, i));
    chroma += Math.abs(U(out, i)) + Math.abs(V(out, i));
  }
  return { dy: dy / n, dc: dc / n, chroma: chroma / n };
}

/** Test JPEGs just above the streaming size: gray with an odd number of 8-row blocks, color 4:2:0. */
async function testJpegs(): Promise<Record<string, Buffer>> {
  return {
    gray: await sharp(PHOTO).resize(1600, 1544, { fit: 'fill' }).greyscale().jpeg({ quality: 92 }).toBuffer(),
    color: await sharp(PHOTO).resize(1608, 1536, { fit: 'fill' }).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer(),
  };
}

test("JPEG → JPEG: the Huffman tables from our symbol counts give the bytes of libjpeg's own two-pass optimization", {
  skip: !jpeg && why('colorgan_jpeg'),
}, async () => {
  const photos: Record<string, Buffer> = {
    ...(await testJpegs()),
    // partial MCUs on both edges (dummy blocks), 4:4:4 and an odd number of block rows (4:2:2 out), progressive
    'odd 4:2:0': await sharp(PHOTO).resize(1001, 777, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer(),
    '4:4:4 odd rows': await sharp(PHOTO).resize(640, 328, { fit: 'fill' }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(),
    progressive: await sharp(PHOTO).resize(720, 540, { fit: 'fill' }).jpeg({ quality: 80, progressive: true }).toBuffer(),
  };
  const gw = 8;
  const gh = 6;
  for (const [name, bytes] of Object.entries(photos))
    for (const planes of [2, 4]) {
      const uv = Float32Array.from(rand(gw * gh * planes, planes), (v) => (planes === 2 ? 0.4 * v : 20 * v));
      const one = await jpeg!.finish((await jpeg!.open(bytes)).handle, uv, gw, 127.5, 90, gh);
      const two = await jpeg!.finish((await jpeg!.open(bytes)).handle, uv, gw, 127.5, 90, gh, true);
      assert.ok(one.equals(two), `${name}, ${planes} planes: ${one.length} vs ${two.length} bytes`);
    }
});

test('JPEG → JPEG in the DCT domain keeps the luma coefficients and matches the general path, bilinear and guided', {
  skip: !jpeg && why('colorgan_jpeg'),
}, async () => {
  for (const [photo, bytes] of Object.entries(await testJpegs()))
    for (const upsample of ['bilinear', 'guided'] as const) {
      const name = `${photo}, ${upsample}`;
      const out = await colorizeEncodedStreaming(bytes, model, { format: 'jpeg', quality: 90, seed: 2, upsample });
      assert.ok(out, `${name}: took the DCT path`);
      const meta = await sharp(out).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.equal(meta.channels, 3);
      // Same luma coefficients: identical 8×8 block means, read back from the file.
      const a = (await jpeg!.open(bytes)).means;
      const b = (await jpeg!.open(out)).means;
      assert.deepEqual(b, a, `${name}: luma DC coefficients changed`);
      // Pixels: luma as the input's, chroma close to the general path's (same seed).
      const input = await rgbOf(bytes);
      const general = await colorize(input, { model, seed: 2, upsample });
      const got = await rgbOf(out);
      assert.equal(got.width, input.width);
      assert.equal(got.height, input.height);
      const c = compare(got.data, input.data, general.data);
      assert.ok(c.dy < 1, `${name}: mean |ΔY| vs the input ${c.dy}`);
      console.log(`# → JPEG, ${name}: mean chroma difference vs the general path ${c.dc.toFixed(3)} levels`);
      assert.ok(c.dc < 1.5, `${name}: mean chroma difference vs the general path ${c.dc}`);
      assert.ok(c.chroma > 5, `${name}: has color (${c.chroma})`);
    }
});

test('large JPEG → PNG through the libvips pipeline matches the general path, bilinear and guided', { skip: !vips && why('colorgan_vips') }, async () => {
  const bytes = (await testJpegs()).gray;
  const input = await rgbOf(bytes);
  for (const upsample of ['bilinear', 'guided'] as const) {
    const out = await colorizeEncodedStreaming(bytes, model, { format: 'png', seed: 1, upsample });
    assert.ok(out, `${upsample}: took the libvips path`);
    assert.equal((await sharp(out).metadata()).format, 'png');
    const general = await colorize(input, { model, seed: 1, upsample });
    const got = await rgbOf(out);
    const c = compare(got.data, input.data, general.data);
    assert.ok(c.dy < 0.3, `${upsample}: mean |ΔY| vs the input ${c.dy} (the luma is kept)`);
    console.log(`# → PNG, ${upsample}: mean chroma difference vs the general path ${c.dc.toFixed(3)} levels`);
    assert.ok(c.dc < 1.5, `${upsample}: mean chroma difference vs the general path ${c.dc}`);
    assert.ok(c.chroma > 5, `${upsample}: has color (${c.chroma})`);
  }
});

test('large non-square JPEGs take the streaming paths on the model grid (aspect kept) and match the general path', {
  skip: !(jpeg && vips) && why(jpeg ? 'colorgan_vips' : 'colorgan_jpeg'),
}, async () => {
  assert.equal(model.meta.config.arch, 'unet', 'the bundled default model keeps the aspect');
  const dir = await fs.mkdtemp(path.join(ROOT, 'test-output-'));
  try {
    // Textured photo content, landscape in color (4:2:0) and portrait in gray.
    const photos = {
      landscape: await sharp(PHOTO).resize(2000, 1600, { fit: 'fill' }).jpeg({ quality: 90, chromaSubsampling: '4:2:0' }).toBuffer(),
      portrait: await sharp(PHOTO).resize(1600, 2400, { fit: 'fill' }).greyscale().jpeg({ quality: 92 }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(photos)) {
      const file = path.join(dir, `${name}.jpg`);
      await fs.writeFile(file, bytes);
      const input = await rgbOf(bytes);
      const grid = modelGrid(model.meta.config, input.width, input.height);
      assert.notEqual(grid.width, grid.height, `${name}: a non-square grid (${grid.width}×${grid.height})`);
      const general = await colorize(input, { model, seed: 3 });
      for (const format of ['jpeg', 'png'] as const) {
        const out = await colorize(file, { model, format, seed: 3 });
        const meta = await sharp(out).metadata();
        assert.equal(meta.format, format);
        if (format === 'jpeg') {
          // The DCT path: the photo's luma coefficients (their 8×8 block means) unchanged.
          assert.deepEqual((await jpeg!.open(out)).means, (await jpeg!.open(bytes)).means, `${name}: luma DC coefficients kept`);
        } else {
          // The libvips path: what colorizeEncodedStreaming writes, not the general path's PNG.
          const streamed = await colorizeEncodedStreaming(bytes, model, { format, seed: 3 });
          assert.ok(streamed, `${name}: eligible for the libvips path`);
          assert.ok(out.equals(streamed), `${name}: colorize took the libvips path`);
          assert.ok(!out.equals(await encodeImage(general, 'png')), `${name}: not the general path's PNG`);
        }
        const got = await rgbOf(out);
        assert.deepEqual([got.width, got.height], [input.width, input.height], `${name} → ${format}: the input's size`);
        const c = compare(got.data, input.data, general.data);
        assert.ok(c.dy < (format === 'jpeg' ? 1 : 0.3), `${name} → ${format}: mean |ΔY| vs the input ${c.dy}`);
        assert.ok(c.dc < 1.5, `${name} → ${format}: mean chroma difference vs the general path ${c.dc}`);
        assert.ok(c.chroma > 5, `${name} → ${format}: has color (${c.chroma})`);
      }
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

/**
 * The bundled model with `count` refinement stages (×2, ×4) whose last layer is scaled up,
 * so each clearly changes the colors (an untrained stage is near the identity by design).
 */
async function withStages(count: number): Promise<Colorizer> {
  const stages = [];
  for (let k = 1; k <= count; k++) {
    const cfg = { arch: 'refine' as const, size: model.meta.config.size * 2 ** k, ngf: 16, ndf: 16, zDim: 1, bnMomentum: 0.9 };
    const R = buildRefineGenerator(cfg, { seed: 10 + k });
    const band = R.getLayer('r_band');
    band.setWeights(band.getWeights().map((w, i) => (i === 0 ? tf.mul(w, 5) : w.clone())));
    stages.push({ model: R, meta: generatorMetadata(cfg), source: `test stage ${k}` });
  }
  return toColorizer({ ...model, refine: stages });
}

test('models with refinement stages take the streaming ways too and agree with the general path within 1.5 levels of chroma', {
  skip: !(jpeg && vips) && why(jpeg ? 'colorgan_vips' : 'colorgan_jpeg'),
}, async () => {
  const staged = await withStages(2);
  // The ×4 grid's luma comes from 8×8-block means: the photo is 8× the finest grid (80×64 → 320×256).
  const bytes = await sharp(PHOTO).resize(2560, 2048, { fit: 'fill' }).jpeg({ quality: 92, chromaSubsampling: '4:2:0' }).toBuffer();
  const input = await rgbOf(bytes);
  const header = await sharp(bytes).metadata();
  const plan = choosePlan(header, staged, { format: 'png', count: 1 });
  assert.equal(plan.kind, 'vips', JSON.stringify(plan.declined));
  assert.deepEqual(plan.kind === 'vips' && plan.stages, [
    { width: 160, height: 128 },
    { width: 320, height: 256 },
  ]);
  const general = await colorize(input, { model: staged, seed: 3 });
  const unrefined = await colorize(input, { model: staged, seed: 3, refine: false });
  for (const format of ['jpeg', 'png'] as const) {
    const out = await colorizeEncodedStreaming(bytes, staged, { format, seed: 3 });
    assert.ok(out, `${format}: took a streaming way`);
    const got = await rgbOf(out);
    const c = compare(got.data, input.data, general.data);
    const off = compare(got.data, input.data, unrefined.data);
    console.log(`# staged ×4, ${format}: mean chroma difference vs the general path ${c.dc.toFixed(3)} levels, vs the base model alone ${off.dc.toFixed(2)}`);
    assert.ok(c.dc < 1.5, `${format}: mean chroma difference vs the general path ${c.dc}`);
    assert.ok(off.dc > 3, `${format}: the stages change the colors (${off.dc} levels from the base model alone)`);
  }
  // Smaller than 8× the ×4 grid (but 24× the base grid): the general path, and the reason.
  const small = await sharp(PHOTO).resize(2000, 1600, { fit: 'fill' }).jpeg().toBuffer();
  const p = choosePlan(await sharp(small).metadata(), staged, { format: 'png', count: 1 });
  assert.equal(p.kind, 'general');
  assert.match(p.declined.vips ?? '', /finest refinement grid/);
  assert.notEqual(choosePlan(await sharp(small).metadata(), staged, { format: 'png', count: 1, refine: false }).kind, 'general', 'refine: false streams');
  for (const st of staged.refine ?? []) st.model.dispose();
});

test('photos the streaming paths do not take go the general way, damaged ones get its error', { skip: !(jpeg || vips) && why('colorgan_jpeg') }, async () => {
  const small = await sharp(PHOTO).resize(1200, 1600).jpeg().toBuffer(); // < 24× the model size
  const png = await sharp(PHOTO).resize(1600, 1544).png({ compressionLevel: 1 }).toBuffer();
  const rotated = await sharp(PHOTO).resize(1600, 1544).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  for (const [name, bytes] of Object.entries({ small, png, rotated })) {
    assert.equal(await colorizeEncodedStreaming(bytes, model, { format: 'jpeg' }), null, `${name}: no streaming`);
    const out = await colorize(bytes, { model, format: 'jpeg' }); // the general path still works
    assert.equal((await sharp(out).metadata()).format, 'jpeg');
  }
  const rot = await sharp(await colorize(rotated, { model, format: 'png' })).metadata();
  assert.deepEqual([rot.width, rot.height], [1544, 1600], 'EXIF rotation applied by the general path');
  // A JPEG cut short: the streaming path declines and the general path names the cause.
  const big = (await testJpegs()).gray;
  const cut = big.subarray(0, Math.floor(big.length * 0.6));
  const file = path.join(await fs.mkdtemp(path.join(ROOT, 'test-output-')), 'cut.jpg');
  try {
    await fs.writeFile(file, cut);
    assert.equal(await colorizeEncodedStreaming(cut, model, { format: 'jpeg' }), null);
    await assert.rejects(
      colorize(file, { model, format: 'jpeg' }),
      (err: Error) => err.message.startsWith(`${file}: `) && /truncated|corrupt/.test(err.message),
    );
  } finally {
    await fs.rm(path.dirname(file), { recursive: true, force: true });
  }
});

test('heap offsets above 2 GB (a wasm heap reaches 4 GB) reach the native kernels intact', { skip: !dnnl && why('colorgan_dnnl') }, async () => {
  enableNativeConvolutions();
  await tf.setBackend('wasm');
  const backend = tf.backend() as KernelBackend & { dataIdMap: { get(id: object): { memoryOffset: number } } };
  const ballast: tf.Tensor[] = [tf.zeros([600_000_000])]; // 2.4 GB
  const above = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset >>> 0 >= 2 ** 31;
  // Fill the holes earlier tests left below 2 GB, so that the next tensors land above.
  for (let i = 0; i < 600 && !above(ballast[ballast.length - 1]!); i++) ballast.push(tf.zeros([1 << 20]));
  try {
    // Small tensors go to small free chunks first: keep allocating until they land above.
    let x = tf.tensor4d(rand(2 * 9 * 9 * 3, 7), [2, 9, 9, 3]);
    let w = tf.tensor4d(rand(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
    for (let i = 0; i < 20000 && !(above(x) && above(w)); i++) {
      ballast.push(x, w);
      x = tf.tensor4d(rand(2 * 9 * 9 * 3, 7), [2, 9, 9, 3]);
      w = tf.tensor4d(rand(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
    }
    assert.ok(above(x) && above(w), 'the test tensors lie above 2 GB');
    const y = tf.conv2d(x, w, 1, 'same');
    const c = tf.concat([x, x], 3);
    const b = tf.batchNorm(x, tf.tensor1d([0, 1, 2]), tf.tensor1d([1, 2, 3]));
    const got = [y, c, b].map((t) => t.dataSync().slice() as Float32Array);
    const xs = x.dataSync().slice(),
      ws = w.dataSync().slice();
    await tf.setBackend('cpu');
    const [x2, w2] = [tf.tensor4d(xs, [2, 9, 9, 3]), tf.tensor4d(ws, [3, 3, 3, 4])];
    const ref = [tf.conv2d(x2, w2, 1, 'same'), tf.concat([x2, x2], 3), tf.batchNorm(x2, tf.tensor1d([0, 1, 2]), tf.tensor1d([1, 2, 3]))];
    ref.forEach((t, i) => assert.ok(relL2(got[i]!, t.dataSync() as Float32Array) < 1e-5, `output ${i}`));
    await tf.setBackend('wasm');
  } finally {
    await tf.setBackend('wasm');
    tf.dispose(ballast);
  }
});
