/**
 * Plan, then colorize (src/infer/plan.ts, node.ts, colorizer.ts): a photo's header is
 * read once, the way is chosen up front with the reasons the others were declined, the
 * Colorizer's predict is the model step, results are computed only when read, and
 * samples come one at a time.
 */
import { test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { loadModel, colorize, colorizeSamples, planColorize } from '../src/infer/node.js';
import { colorizeImage, modelLuma, type Colorizer } from '../src/infer/colorizer.js';
import { loadJpegAddon, loadStreamingAddon, nativePixelKernels } from '../src/infer/native-pixels.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { setPixelKernels } from '../src/infer/sharpen.js';
import { decodeImage } from '../src/data/decode.js';
import { modelGrid } from '../src/infer/grid.js';
import type { ColorizePlan } from '../src/infer/plan.js';

const PHOTOS = path.join(import.meta.dirname, 'fixtures', 'photos');
const SMALL = path.join(PHOTOS, 'a', 'shine2.jpg'); // 96×72
let model: Colorizer;
/** The bundled model with bilinear upsampling, which the streaming ways need. */
let bilinear: Colorizer;
let big: Buffer;
let tmp: string;

before(async () => {
  model = await loadModel();
  bilinear = { ...model, meta: { ...model.meta, inference: { ...model.meta.inference, upsample: 'bilinear' } } };
  big = await sharp(path.join(PHOTOS, 'sunrise3.jpg')).resize(1600, 1544, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  tmp = await fs.mkdtemp(path.join(import.meta.dirname, '..', 'test-output-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Run `call` and count the image headers read meanwhile (sharp's metadata()). */
async function headerReads(call: () => Promise<unknown>): Promise<number> {
  const spy = mock.method(sharp.prototype, 'metadata');
  try {
    await call();
    return spy.mock.callCount();
  } finally {
    spy.mock.restore();
  }
}

test('the header of a photo is read once, whatever way it takes', async () => {
  const bigFile = path.join(tmp, 'big.jpg');
  await fs.writeFile(bigFile, big);
  const small = await fs.readFile(SMALL);
  const calls: [string, () => Promise<unknown>][] = [];
  for (const [name, input] of [
    ['small file', SMALL],
    ['small Buffer', small],
    ['large file', bigFile],
    ['large Buffer', big],
  ] as const) {
    for (const format of ['png', 'jpeg'] as const) {
      calls.push([`${name} → ${format}`, () => colorize(input, { model: bilinear, format })]);
      calls.push([`${name} → ${format}, guided`, () => colorize(input, { model, format })]);
    }
    calls.push([`${name} → pixels`, () => colorize(input, { model: bilinear })]);
    calls.push([`${name} → raw`, () => colorize(input, { model: bilinear, raw: true, format: 'png' })]);
    calls.push([`${name} → 2 samples`, () => colorizeSamples(input, 2, { model: bilinear })]);
  }
  for (const [what, call] of calls) assert.equal(await headerReads(call), 1, what);
});

test('the plan is chosen up front, with why each faster way was declined', async () => {
  // Reasons that do not depend on the photo or the machine.
  const img = await decodeImage(SMALL);
  const asked: [{ plan: ColorizePlan }, RegExp][] = [
    [await planColorize(SMALL, 1, { model: bilinear }), /^pixels asked for/],
    [await planColorize(SMALL, 1, { model: bilinear, format: 'jpeg', raw: true }), /^raw output/],
    [await planColorize(SMALL, 3, { model: bilinear, format: 'jpeg' }), /^3 samples/],
    [await planColorize(img, 1, { model: bilinear, format: 'jpeg' }), /^pixels given/],
  ];
  for (const [{ plan }, why] of asked) {
    assert.equal(plan.kind, 'general');
    assert.match(plan.declined.dct ?? '', why);
    assert.match(plan.declined.vips ?? '', why);
  }
  const missing = (name: 'colorgan_jpeg' | 'colorgan_vips') => {
    const why = nativeUnavailableReason(name);
    assert.ok(why.length > 0, `${name}: a reason for its absence`);
    return why;
  };
  // A small JPEG: too small for the block-mean input (where an addon is built).
  const small = (await planColorize(SMALL, 1, { model: bilinear, format: 'png' })).plan;
  assert.equal(small.kind, 'general');
  assert.equal(small.declined.vips, loadStreamingAddon() ? 'smaller than 24× the model grid' : missing('colorgan_vips'));
  // A large JPEG: the DCT way to JPEG, the libvips way to PNG, each where it is built.
  const toJpeg = (await planColorize(big, 1, { model: bilinear, format: 'jpeg' })).plan;
  assert.equal(toJpeg.kind, loadJpegAddon() ? 'dct' : loadStreamingAddon() ? 'vips' : 'general');
  assert.equal(toJpeg.declined.dct, loadJpegAddon() ? undefined : missing('colorgan_jpeg'));
  const toPng = (await planColorize(big, 1, { model: bilinear, format: 'png' })).plan;
  assert.equal(toPng.kind, loadStreamingAddon() ? 'vips' : 'general');
  assert.equal(toPng.declined.dct, 'the output is PNG, not JPEG');
  if (toPng.kind === 'general') assert.equal(toPng.declined.vips, missing('colorgan_vips'));
  else assert.deepEqual(toPng.grid, modelGrid(model.meta.config, 1600, 1544));
  // The bundled model's default upsampling, guided, takes the same ways.
  for (const format of ['jpeg', 'png'] as const) {
    const guided = (await planColorize(big, 1, { model, format })).plan;
    const bilinearPlan = (await planColorize(big, 1, { model: bilinear, format })).plan;
    assert.deepEqual(guided, bilinearPlan, `guided → ${format}`);
  }
});

/** Pixel loops that only count the full-resolution passes; `restore` puts the real ones back. */
function countingPixelKernels(): { passes: () => number; restore: () => void } {
  let sharpened = 0;
  const native = nativePixelKernels();
  setPixelKernels({
    shrinkLuma: (_rgb, _w, _h, dw, dh) => new Float32Array(dw * dh),
    sharpen: () => void sharpened++,
  });
  return { passes: () => sharpened, restore: () => setPixelKernels(native) };
}

test('Colorizer.predict is the model step; full-resolution and raw results are made when read, once', async () => {
  const img = await decodeImage(SMALL);
  const y = modelLuma(model, img);
  const c = colorizeImage(model, img, { seed: 4, sample: 2, saturation: 1 });
  assert.deepEqual(c.uv, model.predict(y, 4, 2), 'the colorization holds predict’s chroma (gain 1)');
  assert.deepEqual(model.predictSamples(y, 4, [2])[0], model.predict(y, 4, 2));
  const counter = countingPixelKernels();
  try {
    const lazy = colorizeImage(bilinear, img, { seed: 4 });
    assert.equal(counter.passes(), 0, 'nothing at full resolution until asked');
    assert.deepEqual([lazy.raw.width, lazy.raw.height], [lazy.grid.width, lazy.grid.height]);
    assert.equal(counter.passes(), 0, 'the raw image needs no full-resolution pass');
    const rgb = lazy.rgb;
    assert.equal(counter.passes(), 1);
    assert.equal(lazy.rgb, rgb, 'made once');
    assert.equal(counter.passes(), 1);
  } finally {
    counter.restore();
  }
});

test('samples come one at a time: predicted in small batches as they are reached, each made when asked', async () => {
  const batches: number[][] = [];
  const counting: Colorizer = {
    ...bilinear,
    predictSamples(y, seed, samples) {
      batches.push([...samples]);
      return bilinear.predictSamples(y, seed, samples);
    },
  };
  const counter = countingPixelKernels();
  try {
    const img = await decodeImage(SMALL);
    const outputs = (await planColorize(img, 10, { model: counting, format: 'png', sample: 5 })).outputs();
    assert.deepEqual(batches, [], 'nothing predicted before the first sample is asked for');
    const first = await outputs.next();
    assert.ok(!first.done);
    assert.equal(first.value.sample, 5);
    assert.deepEqual(batches, [[5, 6, 7, 8, 9, 10, 11, 12]]);
    assert.equal(counter.passes(), 0);
    const png = await first.value.value();
    assert.equal((await sharp(png).metadata()).format, 'png');
    assert.equal(counter.passes(), 1, 'one full-resolution image per output asked for');
    const seen = [first.value.sample];
    for await (const out of outputs) {
      seen.push(out.sample);
      if (out.sample === 12) assert.equal(batches.length, 1, 'the second batch waits for sample 13');
      if (out.sample === 13) assert.deepEqual(batches[1], [13, 14]);
      if (out.sample % 2 === 0) await out.value();
    }
    assert.deepEqual(seen, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert.equal(counter.passes(), 1 + 5, 'outputs not asked for are never made');
  } finally {
    counter.restore();
  }
});
