import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, decodeResized, encodeImage, ImageDecodeError, IMAGE_EXTENSIONS, isImageFile } from '../src/data/decode.js';
import { listImages } from '../src/data/walk.js';
import { splitTrainVal } from '../src/data/split.js';
import { cacheFileFor, defaultCacheDir, loadDataset, subset } from '../src/data/dataset.js';
import type { LoadOptions } from '../src/data/dataset.js';
import { rgbBufferToYuv } from '../src/color/yuv.js';
import { bigPng } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIX = path.join(here, 'fixtures');
const PHOTOS = path.join(FIX, 'photos');
const BAD = path.join(FIX, 'bad');

const GOOD = [
  'a/cloudy2.jpg',
  'a/shine2.jpg',
  'b/c/shine3.jpg',
  'b/c/sunrise2.jpg',
  'b/cloudy3.jpg',
  'special/alpha.png',
  'special/deep16.png',
  'special/gray.jpg',
  'special/orient6.jpg',
  'sunrise3.jpg',
];

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-data-test-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function rejectsDecode(p: Promise<unknown>, file: string, reason: RegExp): Promise<ImageDecodeError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.reason, reason);
    assert.equal(err.message, `${file}: ${err.reason}`);
    assert.ok(!err.reason.includes('\n'), 'reason is one line');
    return err;
  }
  assert.fail(`expected ${file} to fail`);
}

describe('decode', () => {
  test('IMAGE_EXTENSIONS, case-insensitive', () => {
    assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp']);
    assert.ok(isImageFile('x/A.JPG'));
    assert.ok(isImageFile('b.TiFf'));
    assert.ok(!isImageFile('notes.txt'));
    assert.ok(!isImageFile('jpg'));
  });

  test('plain JPEG decodes to full-resolution RGB', async () => {
    const img = await decodeImage(path.join(PHOTOS, 'a/cloudy2.jpg'));
    assert.equal(img.width, 96);
    assert.equal(img.height, 72);
    assert.ok(img.data instanceof Uint8Array);
    assert.equal(img.data.length, 96 * 72 * 3);
  });

  test('Buffer input works', async () => {
    const buf = await fs.readFile(path.join(PHOTOS, 'b/c/shine3.jpg'));
    const img = await decodeImage(buf);
    assert.equal(img.width, 72);
    assert.equal(img.height, 96);
  });

  test('EXIF orientation 6 is applied (dimensions swapped, pixels rotated 90° clockwise)', async () => {
    const file = path.join(PHOTOS, 'special/orient6.jpg');
    const meta = await sharp(file).metadata();
    assert.equal(meta.orientation, 6);
    assert.equal(meta.width, 96);
    assert.equal(meta.height, 64);
    const img = await decodeImage(file);
    assert.equal(img.width, 64);
    assert.equal(img.height, 96);
    // Stored pixels, not rotated: upright(x, y) = stored(y, H-1-x) for a 90° clockwise turn.
    const stored = await sharp(file).raw().toBuffer();
    const W = 96,
      H = 64;
    let maxDiff = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const sx = y,
          sy = H - 1 - x;
        for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(img.data[(y * img.width + x) * 3 + c] - stored[(sy * W + sx) * 3 + c]));
      }
    }
    assert.ok(maxDiff <= 1, `rotated pixels differ by ${maxDiff}`);
    const small = await decodeResized(file, 16);
    assert.equal(small.width, 16);
    assert.equal(small.height, 16);
  });

  test('alpha is flattened onto white', async () => {
    const img = await decodeImage(path.join(PHOTOS, 'special/alpha.png'));
    assert.equal(img.data.length, img.width * img.height * 3);
    let leftNonWhite = 0,
      rightNonWhite = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const i = (y * img.width + x) * 3;
        const white = img.data[i] === 255 && img.data[i + 1] === 255 && img.data[i + 2] === 255;
        if (x < img.width / 2) leftNonWhite += white ? 0 : 1;
        else rightNonWhite += white ? 0 : 1;
      }
    }
    assert.equal(leftNonWhite, 0, 'transparent half is white');
    assert.ok(rightNonWhite > (img.width * img.height) / 4, 'opaque half keeps the photo');
  });

  test('16-bit PNG is reduced to 8 bits', async () => {
    const file = path.join(PHOTOS, 'special/deep16.png');
    assert.equal((await sharp(file).metadata()).depth, 'ushort');
    const img = await decodeImage(file);
    assert.equal(img.data.length, 96 * 72 * 3);
    // Round trip: known 8-bit pixels -> 16-bit PNG -> decode gives them back.
    const w = 17,
      h = 9;
    const px = new Uint8Array(w * h * 3).map((_, i) => (i * 37 + 11) % 256);
    const png16 = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    assert.equal((await sharp(png16).metadata()).depth, 'ushort');
    const back = await decodeImage(png16);
    let maxDiff = 0;
    for (let i = 0; i < px.length; i++) maxDiff = Math.max(maxDiff, Math.abs(back.data[i] - px[i]));
    assert.ok(maxDiff <= 1, `16-bit round trip differs by ${maxDiff}`);
  });

  test('grayscale JPEG is expanded to RGB', async () => {
    const file = path.join(PHOTOS, 'special/gray.jpg');
    assert.equal((await sharp(file).metadata()).channels, 1);
    const img = await decodeImage(file);
    assert.equal(img.data.length, img.width * img.height * 3);
    let varied = false;
    for (let i = 0; i < img.data.length; i += 3) {
      assert.equal(img.data[i], img.data[i + 1]);
      assert.equal(img.data[i], img.data[i + 2]);
      if (img.data[i] !== img.data[0]) varied = true;
    }
    assert.ok(varied);
  });

  test('decodeResized: size×size, center crop (cover)', async () => {
    // 200×100: left quarter red, middle half green, right quarter blue -> the center square is green.
    const w = 200,
      h = 100;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[(y * w + x) * 3 + (x < 50 ? 0 : x < 150 ? 1 : 2)] = 255;
    const png = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer();
    const img = await decodeResized(png, 20);
    assert.equal(img.width, 20);
    assert.equal(img.height, 20);
    for (let y = 0; y < 20; y++) {
      for (const x of [2, 10, 17]) {
        const i = (y * 20 + x) * 3;
        assert.ok(img.data[i + 1] > 240 && img.data[i] < 15 && img.data[i + 2] < 15, `pixel ${x},${y} is green`);
      }
    }
    const photo = await decodeResized(path.join(PHOTOS, 'b/c/shine3.jpg'), 64);
    assert.equal(photo.data.length, 64 * 64 * 3);
    await assert.rejects(decodeResized(png, 0), RangeError);
  });

  test('bad files give ImageDecodeError naming the file', async () => {
    const trunc = path.join(BAD, 'truncated.jpg');
    const empty = path.join(BAD, 'empty.jpg');
    const text = path.join(BAD, 'not-an-image.png');
    await rejectsDecode(decodeImage(trunc), trunc, /truncated or corrupt JPEG/);
    await rejectsDecode(decodeResized(trunc, 32), trunc, /truncated or corrupt JPEG/);
    await rejectsDecode(decodeImage(empty), empty, /^empty file$/);
    await rejectsDecode(decodeResized(empty, 32), empty, /^empty file$/);
    await rejectsDecode(decodeImage(text), text, /^not an image \(unsupported or corrupt data\)$/);
    await rejectsDecode(decodeResized(text, 32), text, /not an image/);
    const missing = path.join(BAD, 'missing.jpg');
    await rejectsDecode(decodeImage(missing), missing, /no such file/);
    await rejectsDecode(decodeImage(Buffer.from('nope'), { name: 'upload.jpg' }), 'upload.jpg', /not an image/);
    await rejectsDecode(decodeImage(Buffer.alloc(0)), '<buffer>', /empty file/);
  });

  test('reasons stay right when many decodes run at once', async () => {
    const trunc = path.join(BAD, 'truncated.jpg');
    const text = path.join(BAD, 'not-an-image.png');
    const good = GOOD.map((f) => path.join(PHOTOS, f));
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      jobs.push(rejectsDecode(decodeResized(trunc, 32), trunc, /^truncated or corrupt JPEG$/));
      jobs.push(rejectsDecode(decodeImage(text), text, /^not an image \(unsupported or corrupt data\)$/));
      for (const g of good) jobs.push(decodeResized(g, 32));
    }
    await Promise.all(jobs);
  });

  test('truncated PNG is reported too', async () => {
    const png = await fs.readFile(path.join(PHOTOS, 'special/deep16.png'));
    const file = path.join(tmp, 'half.png');
    await fs.writeFile(file, png.subarray(0, png.length >> 1));
    await rejectsDecode(decodeImage(file), file, /truncated or corrupt PNG/);
  });

  test('pixel limit is enforced from the header, before decoding', async () => {
    const file = path.join(tmp, 'huge.png');
    const png = bigPng(20000, 20000);
    assert.ok(png.length < 1_000_000, `huge PNG is ${png.length} bytes on disk`);
    await fs.writeFile(file, png);
    await rejectsDecode(decodeImage(file), file, /^image is 20000×20000 = 400\.0 MP, above the 100 MP limit$/);
    await rejectsDecode(decodeResized(file, 64), file, /above the 100 MP limit/);
    const small = path.join(PHOTOS, 'a/cloudy2.jpg');
    await rejectsDecode(decodeImage(small, { maxPixels: 5000 }), small, /^image is 96×72 = 6912 pixels, above the 5000 pixels limit$/);
    const ok = await decodeImage(small, { maxPixels: 96 * 72 });
    assert.equal(ok.width, 96);
  });

  test('encodeImage round trips', async () => {
    const img = await decodeImage(path.join(PHOTOS, 'a/shine2.jpg'));
    const png = await encodeImage(img, 'png');
    assert.deepEqual((await decodeImage(png)).data, img.data);
    for (const format of ['jpeg', 'webp'] as const) {
      const buf = await encodeImage(img, format);
      const meta = await sharp(buf).metadata();
      assert.equal(meta.format, format);
      const back = await decodeImage(buf);
      assert.equal(back.width, img.width);
      assert.equal(back.height, img.height);
    }
    await assert.rejects(encodeImage({ width: 2, height: 2, data: new Uint8Array(5) }, 'png'), /needs 12 bytes/);
  });
});

describe('listImages', () => {
  test('recursive, sorted relative POSIX paths', async () => {
    assert.deepEqual(await listImages(PHOTOS), GOOD);
    assert.deepEqual(await listImages(BAD), ['empty.jpg', 'not-an-image.png', 'truncated.jpg']);
  });

  test('skips dotfiles, dot-folders and non-images; extension case-insensitive; code-unit order', async () => {
    const dir = path.join(tmp, 'walk');
    for (const f of [
      'b.jpg',
      'B.JPG',
      'a/z.PNG',
      'a/é.webp',
      'a/e.tif',
      '.hidden.jpg',
      '.git/x.jpg',
      'a/.cache/y.png',
      'notes.txt',
      'c/d/e/deep.jpeg',
      'c/img.gif',
    ]) {
      await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await fs.writeFile(path.join(dir, f), 'x');
    }
    assert.deepEqual(await listImages(dir), ['B.JPG', 'a/e.tif', 'a/z.PNG', 'a/é.webp', 'b.jpg', 'c/d/e/deep.jpeg']);
  });

  test('clear errors for a missing folder or a file', async () => {
    const missing = path.join(tmp, 'nope');
    await assert.rejects(listImages(missing), { message: `${missing}: no such folder` });
    const file = path.join(PHOTOS, 'sunrise3.jpg');
    await assert.rejects(listImages(file), { message: `${file}: is not a folder` });
  });
});

describe('splitTrainVal', () => {
  const files = Array.from({ length: 100 }, (_, i) => `d${i % 3}/img${String(i).padStart(3, '0')}.jpg`);

  test('70/30, disjoint, complete, deterministic', () => {
    const a = splitTrainVal(files, 42);
    assert.equal(a.train.length, 70);
    assert.equal(a.val.length, 30);
    assert.deepEqual([...a.train, ...a.val].sort(), [...files].sort());
    assert.equal(new Set([...a.train, ...a.val]).size, 100);
    assert.deepEqual(splitTrainVal(files, 42), a);
    const ten = splitTrainVal(files.slice(0, 10), 1);
    assert.equal(ten.train.length, 7);
    assert.equal(ten.val.length, 3);
    const q = splitTrainVal(files, 42, 0.25);
    assert.equal(q.val.length, 25);
  });

  test('independent of input order, depends on the seed', () => {
    const a = splitTrainVal(files, 7);
    const shuffled = [...files].reverse();
    shuffled.push(shuffled.shift()!);
    assert.deepEqual(splitTrainVal(shuffled, 7), a);
    assert.deepEqual(splitTrainVal([...files, files[3]], 7), a, 'duplicates ignored');
    assert.notDeepEqual(splitTrainVal(files, 8).train, a.train);
    // Not simply the first 70 in sorted order.
    assert.notDeepEqual(a.train, [...files].sort().slice(0, 70));
  });

  test('rejects a bad fraction', () => {
    assert.throws(() => splitTrainVal(files, 1, 1.5), RangeError);
  });
});

describe('loadDataset', () => {
  let data: string;
  let cacheDir: string;
  const BAD_FILES = ['bad/empty.jpg', 'bad/not-an-image.png', 'bad/truncated.jpg'];

  before(async () => {
    data = path.join(tmp, 'dataset');
    cacheDir = path.join(tmp, 'cache');
    await fs.cp(PHOTOS, path.join(data, 'photos'), { recursive: true });
    await fs.cp(BAD, path.join(data, 'bad'), { recursive: true });
  });

  async function load(size: number, extra: Partial<LoadOptions> = {}) {
    const skips: [string, string][] = [];
    const progress: [number, number][] = [];
    const ds = await loadDataset(data, {
      size,
      cacheDir,
      onSkip: (f, r) => skips.push([f, r]),
      onProgress: (d, t) => progress.push([d, t]),
      ...extra,
    });
    return { ds, skips, progress };
  }

  function checkArrays(ds: Awaited<ReturnType<typeof loadDataset>>, size: number): void {
    const n = ds.files.length;
    assert.equal(ds.y.length, n * size * size);
    assert.equal(ds.uv.length, n * size * size * 2);
    assert.equal(ds.rgb.length, n * size * size * 3);
    for (const arr of [ds.y, ds.uv]) for (const v of arr) assert.ok(v >= -1 && v <= 1 && Number.isFinite(v), `value ${v}`);
    // y/uv match the RGB of each image (yuv.ts formulas, network scale).
    const k = n - 1;
    const p = rgbBufferToYuv(ds.rgb.subarray(k * size * size * 3, (k + 1) * size * size * 3), size, size);
    for (let i = 0; i < size * size; i += 7) {
      assert.ok(Math.abs(ds.y[k * size * size + i] - (p.y[i] / 127.5 - 1)) < 1e-5);
      assert.ok(Math.abs(ds.uv[2 * (k * size * size + i)] - (p.u[i] - 128) / 127.5) < 1e-5);
      assert.ok(Math.abs(ds.uv[2 * (k * size * size + i) + 1] - (p.v[i] - 128) / 127.5) < 1e-5);
    }
  }

  test('first load decodes the good files and reports each bad one once', async () => {
    const { ds, skips, progress } = await load(32);
    assert.equal(ds.fromCache, false);
    assert.equal(ds.size, 32);
    assert.deepEqual(
      ds.files,
      GOOD.map((f) => `photos/${f}`),
    );
    assert.deepEqual(skips.map(([f]) => f).sort(), BAD_FILES);
    assert.deepEqual(
      ds.skipped.map((s) => s.file),
      BAD_FILES,
    );
    const reason = Object.fromEntries(skips);
    assert.match(reason['bad/empty.jpg'], /empty file/);
    assert.match(reason['bad/not-an-image.png'], /not an image/);
    assert.match(reason['bad/truncated.jpg'], /truncated/);
    assert.equal(progress.length, 13);
    assert.deepEqual(progress.at(-1), [13, 13]);
    checkArrays(ds, 32);
    assert.equal(ds.cacheFile, cacheFileFor(data, 32, cacheDir));
    await fs.access(ds.cacheFile!);
    assert.equal(ds.cacheWriteError, undefined);
    // Nothing was written into the dataset folder.
    assert.deepEqual(await listImages(data), [...BAD_FILES, ...GOOD.map((f) => `photos/${f}`)].sort());
    assert.deepEqual((await fs.readdir(data)).sort(), ['bad', 'photos']);
  });

  test('second load comes from the cache, same data, skips reported again', async () => {
    const first = await load(32, { cache: false });
    const { ds, skips, progress } = await load(32);
    assert.equal(ds.fromCache, true);
    assert.equal(progress.length, 0);
    assert.deepEqual(skips.map(([f]) => f).sort(), BAD_FILES);
    assert.deepEqual(ds.files, first.ds.files);
    assert.deepEqual(ds.rgb, first.ds.rgb);
    assert.deepEqual(ds.y, first.ds.y);
    assert.deepEqual(ds.uv, first.ds.uv);
    assert.deepEqual(ds.skipped, first.ds.skipped);
  });

  test('another size is another cache file', async () => {
    const { ds } = await load(16);
    assert.equal(ds.fromCache, false);
    checkArrays(ds, 16);
    assert.equal((await load(16)).ds.fromCache, true);
    assert.equal((await load(32)).ds.fromCache, true, 'the size-32 cache is still valid');
  });

  test('changing, adding or removing a file invalidates the cache', async () => {
    const target = path.join(data, 'photos/a/cloudy2.jpg');
    const before = (await load(32)).ds;
    assert.equal(before.fromCache, true);
    await fs.copyFile(path.join(PHOTOS, 'b/cloudy3.jpg'), target);
    await fs.utimes(target, new Date(), new Date(Date.now() + 5000));
    const changed = (await load(32)).ds;
    assert.equal(changed.fromCache, false);
    const i = changed.files.indexOf('photos/a/cloudy2.jpg');
    const j = changed.files.indexOf('photos/b/cloudy3.jpg');
    const px = 32 * 32 * 3;
    assert.deepEqual(changed.rgb.subarray(i * px, (i + 1) * px), changed.rgb.subarray(j * px, (j + 1) * px));
    assert.equal((await load(32)).ds.fromCache, true);

    const extra = path.join(data, 'photos/extra.png');
    await fs.copyFile(path.join(PHOTOS, 'special/alpha.png'), extra);
    const added = (await load(32)).ds;
    assert.equal(added.fromCache, false);
    assert.equal(added.files.length, 11);
    await fs.rm(extra);
    const removed = (await load(32)).ds;
    assert.equal(removed.fromCache, false);
    assert.equal(removed.files.length, 10);
  });

  test('a corrupt or partial cache file falls back to decoding and is rewritten', async () => {
    const file = cacheFileFor(data, 32, cacheDir);
    assert.equal((await load(32)).ds.fromCache, true);
    const full = await fs.readFile(file);
    await fs.writeFile(file, full.subarray(0, full.length - 100)); // partial
    assert.equal((await load(32)).ds.fromCache, false);
    assert.equal((await load(32)).ds.fromCache, true);
    const flipped = Buffer.from(full);
    flipped[flipped.length - 1] ^= 0xff; // payload corrupted
    await fs.writeFile(file, flipped);
    assert.equal((await load(32)).ds.fromCache, false);
    await fs.writeFile(file, 'garbage');
    assert.equal((await load(32)).ds.fromCache, false);
    assert.equal((await load(32)).ds.fromCache, true);
  });

  test('cache: false neither reads nor writes', async () => {
    const other = path.join(tmp, 'cache-off');
    const { ds } = await load(8, { cacheDir: other, cache: false });
    assert.equal(ds.fromCache, false);
    assert.equal(ds.cacheFile, null);
    await assert.rejects(fs.access(other));
  });

  test('an unwritable cache folder does not fail the load', async () => {
    const blocker = path.join(tmp, 'not-a-dir');
    await fs.writeFile(blocker, 'x');
    const { ds } = await load(8, { cacheDir: path.join(blocker, 'sub') });
    assert.equal(ds.fromCache, false);
    assert.ok(ds.cacheWriteError);
    assert.equal(ds.files.length, 10);
  });

  test('subset selects by relative path, same layout', async () => {
    const { ds } = await load(32);
    const pick = ['photos/special/gray.jpg', 'photos/a/shine2.jpg'];
    const sub = subset(ds, pick);
    assert.deepEqual(sub.files, pick);
    const n = 32 * 32;
    for (const [k, f] of pick.entries()) {
      const i = ds.files.indexOf(f);
      assert.deepEqual(sub.y.subarray(k * n, (k + 1) * n), ds.y.subarray(i * n, (i + 1) * n));
      assert.deepEqual(sub.uv.subarray(k * n * 2, (k + 1) * n * 2), ds.uv.subarray(i * n * 2, (i + 1) * n * 2));
      assert.deepEqual(sub.rgb.subarray(k * n * 3, (k + 1) * n * 3), ds.rgb.subarray(i * n * 3, (i + 1) * n * 3));
    }
    // The gray image has no chroma.
    for (let i = 0; i < n * 2; i++) assert.ok(Math.abs(sub.uv[i]) < 0.01);
    assert.throws(() => subset(ds, ['bad/empty.jpg']), /not in the dataset/);
    const { train, val } = splitTrainVal(ds.files, 3);
    assert.equal(subset(ds, train).files.length + subset(ds, val).files.length, ds.files.length);
  });

  test('folder errors', async () => {
    await assert.rejects(loadDataset(path.join(tmp, 'nope'), { size: 8, cacheDir }), /no such folder/);
    await assert.rejects(loadDataset(BAD, { size: 8, cacheDir }), /none of the 3 image files could be decoded/);
    const empty = path.join(tmp, 'empty-dir');
    await fs.mkdir(empty);
    await assert.rejects(loadDataset(empty, { size: 8, cacheDir }), /no image files/);
  });

  test('defaultCacheDir honors COLORGAN_CACHE and XDG_CACHE_HOME', () => {
    const saved = { c: process.env.COLORGAN_CACHE, x: process.env.XDG_CACHE_HOME };
    try {
      process.env.COLORGAN_CACHE = '/tmp/cg-cache';
      assert.equal(defaultCacheDir(), '/tmp/cg-cache');
      delete process.env.COLORGAN_CACHE;
      process.env.XDG_CACHE_HOME = '/tmp/xdg';
      assert.equal(defaultCacheDir(), '/tmp/xdg/colorgan');
      delete process.env.XDG_CACHE_HOME;
      assert.equal(defaultCacheDir(), path.join(os.homedir(), '.cache', 'colorgan'));
    } finally {
      if (saved.c === undefined) delete process.env.COLORGAN_CACHE;
      else process.env.COLORGAN_CACHE = saved.c;
      if (saved.x === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.x;
    }
  });
});
