/**
 * The Node colorization API with the bundled model. The bundled generator will be
 * replaced by better ones, so nothing here depends on how good its colors are: only
 * structural properties (sizes, orientation, agreement between input kinds, luma kept,
 * only luma used) are asserted; sample diversity is reported, not asserted.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadModel, colorize, colorizeSamples, bundledModelDir } from '../src/infer/node.js';
import { chromaDifference, colorizeImageSamples, type Colorizer } from '../src/infer/colorizer.js';
import { decodeImage } from '../src/data/decode.js';
import type { RgbImage } from '../src/color/yuv.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PHOTOS = path.join(here, 'fixtures', 'photos');
const NON_SQUARE = path.join(PHOTOS, 'a', 'shine2.jpg'); // 96×72
const ROTATED = path.join(PHOTOS, 'special', 'orient6.jpg'); // stored 96×64, EXIF 6 → upright 64×96
const COLOR = path.join(PHOTOS, 'b', 'c', 'sunrise2.jpg');

let model: Colorizer;
before(async () => {
  model = await loadModel();
});

const luma = (d: Uint8Array, i: number): number => d[i] * 0.299 + d[i + 1] * 0.587 + d[i + 2] * 0.114;

/** Largest |ΔY| over the pixels. */
function maxLumaDiff(a: RgbImage, b: RgbImage): { max: number } {
  let max = 0;
  for (let i = 0; i < a.data.length; i += 3) max = Math.max(max, Math.abs(luma(a.data, i) - luma(b.data, i)));
  return { max };
}

/** The photo made gray with the same ITU-R 601 luma the colorizer uses (R = G = B = round(Y)). */
function grayOf(img: RgbImage): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i += 3) data[i] = data[i + 1] = data[i + 2] = Math.round(luma(img.data, i));
  return { width: img.width, height: img.height, data };
}

describe('colorize (Node API, bundled model)', () => {
  test('the bundled model loads once and is cached', async () => {
    assert.equal(await loadModel(), model);
    assert.equal(await loadModel(bundledModelDir()), model);
    assert.equal(model.meta.format, 'colorgan-generator');
  });

  test('a bad model folder is a clear error', async () => {
    await assert.rejects(loadModel('/nonexistent/model'), /\/nonexistent\/model: no such model folder/);
  });

  test('output has the input size: non-square photo', async () => {
    const out = await colorize(NON_SQUARE, { model });
    assert.deepEqual([out.width, out.height], [96, 72]);
    assert.equal(out.data.length, 96 * 72 * 3);
  });

  test('output has the upright size of an EXIF-rotated photo', async () => {
    const meta = await sharp(ROTATED).metadata();
    assert.deepEqual([meta.width, meta.height, meta.orientation], [96, 64, 6]); // as stored
    const out = await colorize(ROTATED, { model });
    assert.deepEqual([out.width, out.height], [64, 96]);
    // Same luma layout as the upright decode (so it really is rotated, not just resized).
    const upright = await decodeImage(ROTATED);
    assert.ok(maxLumaDiff(upright, out).max <= 2);
  });

  test('path, Buffer and RGB pixels give the same result', async () => {
    const fromPath = await colorize(NON_SQUARE, { model });
    const fromBuffer = await colorize(await fs.readFile(NON_SQUARE), { model });
    const fromPixels = await colorize(await decodeImage(NON_SQUARE), { model });
    assert.deepEqual(fromBuffer, fromPath);
    assert.deepEqual(fromPixels, fromPath);
  });

  test('RGB input is not modified', async () => {
    const img = await decodeImage(COLOR);
    const copy = Uint8Array.from(img.data);
    await colorize(img, { model });
    assert.deepEqual(img.data, copy);
  });

  test('format png returns a PNG of the same pixels', async () => {
    const pixels = await colorize(NON_SQUARE, { model });
    const png = await colorize(NON_SQUARE, { model, format: 'png' });
    assert.ok(Buffer.isBuffer(png));
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    const back = await decodeImage(png);
    assert.deepEqual([back.width, back.height], [pixels.width, pixels.height]);
    assert.deepEqual(back.data, pixels.data);
  });

  test('format jpeg and webp return encoded images of the input size', async () => {
    for (const [format, fmt] of [
      ['jpeg', 'jpeg'],
      ['webp', 'webp'],
    ] as const) {
      const buf = await colorize(NON_SQUARE, { model, format });
      const meta = await sharp(buf).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], [fmt, 96, 72]);
    }
  });

  test('the output keeps the input luma (±2 levels) everywhere, near white and black too', async (t) => {
    for (const file of [NON_SQUARE, COLOR, ROTATED, path.join(PHOTOS, 'special', 'alpha.png')]) {
      const input = await decodeImage(file);
      const out = await colorize(input, { model });
      const { max } = maxLumaDiff(input, out);
      t.diagnostic(`${path.basename(file)}: max |ΔY| ${max.toFixed(2)}`);
      assert.ok(max <= 2, `${path.basename(file)}: |ΔY| = ${max.toFixed(2)} > 2`);
    }
  });

  test('raw: true gives the generator output on its grid (aspect kept, short side = render size)', async () => {
    const raw = await colorize(NON_SQUARE, { model, raw: true }); // 96×72
    assert.deepEqual([raw.width, raw.height, raw.data.length], [88, 64, 88 * 64 * 3]);
    const [r0, r1] = await colorizeSamples(ROTATED, 2, { model, raw: true }); // upright 64×96
    assert.deepEqual([r0.width, r0.height, r1.width, r1.height], [64, 96, 64, 96]);
    const big = await colorize(NON_SQUARE, { model, raw: true, renderSize: 128 });
    assert.deepEqual([big.width, big.height], [168, 128]); // 170.7 → 168
    const full = await colorize(NON_SQUARE, { model, renderSize: 128 });
    assert.deepEqual([full.width, full.height], [96, 72]);
    await assert.rejects(colorize(NON_SQUARE, { model, renderSize: 4 }), /renderSize must be an integer from 16/);
    // The paper's sky model runs at its training size only.
    const sky = await loadModel('sky');
    const s = await colorize(NON_SQUARE, { model: sky, raw: true });
    assert.deepEqual([s.width, s.height], [64, 64]);
    await assert.rejects(colorize(NON_SQUARE, { model: sky, renderSize: 128 }), /runs only at its training size 64/);
  });

  test('seed and sample: deterministic, batched samples equal single calls', async () => {
    const a = await colorize(COLOR, { model, seed: 3 });
    const b = await colorize(COLOR, { model, seed: 3 });
    assert.deepEqual(a, b);
    const [s0, s1] = await colorizeSamples(COLOR, 2, { model, seed: 3 });
    assert.deepEqual(s0, a);
    // Sample 1 alone matches the batch's second; allow ±1 for batched-vs-single float rounding.
    const single1 = await colorize(COLOR, { model, seed: 3, sample: 1 });
    let d = 0;
    for (let i = 0; i < s1.data.length; i++) d = Math.max(d, Math.abs(s1.data[i] - single1.data[i]));
    assert.ok(d <= 1, `sample 1 batched vs single differ by ${d}`);
  });

  test('different samples: chroma difference (reported, not asserted)', async (t) => {
    const img = await decodeImage(COLOR);
    const [a, b, c] = colorizeImageSamples(model, img, 3);
    const d01 = chromaDifference(a.uv, b.uv);
    const d02 = chromaDifference(a.uv, c.uv);
    t.diagnostic(
      `mean |ΔU,V| between samples 0/1: ${d01.toFixed(3)}, 0/2: ${d02.toFixed(3)} levels (model ${model.meta.config.arch}, ${model.meta.training?.epochs ?? '?'} epochs)`,
    );
    assert.ok(Number.isFinite(d01) && Number.isFinite(d02));
  });

  test('a gray photo and its color original give the same colorization (only luma is used)', async () => {
    const color = await decodeImage(COLOR);
    const gray = grayOf(color);
    const fromColor = await colorize(color, { model });
    const fromGray = await colorize(gray, { model });
    // The gray copy rounds Y to whole levels: the model input moves by < 0.5 level, the
    // kept luma too, so the outputs agree to within a couple of levels per channel.
    let max = 0;
    let sum = 0;
    for (let i = 0; i < fromColor.data.length; i++) {
      const d = Math.abs(fromColor.data[i] - fromGray.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    assert.ok(max <= 3, `max channel difference ${max}`);
    assert.ok(sum / fromColor.data.length < 0.75, `mean channel difference ${sum / fromColor.data.length}`);
    // And the gray output is not gray: the model adds chroma.
    assert.ok(chromaOf(fromGray) > 0.5, `output chroma ${chromaOf(fromGray)}`);
  });

  test('an oversized input is refused before decoding', async () => {
    await assert.rejects(colorize(NON_SQUARE, { model, maxPixels: 1000 }), /above the 1000 pixels limit/);
  });

  test('an RGB input of the wrong length is an error', async () => {
    await assert.rejects(
      colorize({ width: 4, height: 4, data: new Uint8Array(10) }, { model }),
      /^RangeError: input\.data must hold width × height × 3 = 48 bytes, got 10$/,
    );
  });
});

/** Mean |U - 128| + |V - 128| of an image, in 8-bit levels. */
function chromaOf(img: RgbImage): number {
  let s = 0;
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    const u = -0.168736 * d[i] - 0.331264 * d[i + 1] + 0.5 * d[i + 2];
    const v = 0.5 * d[i] - 0.418688 * d[i + 1] - 0.081312 * d[i + 2];
    s += Math.abs(u) + Math.abs(v);
  }
  return s / (d.length / 3);
}
