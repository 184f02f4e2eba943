/**
 * Bad input that used to slip through: damaged JPEGs written as flat gray images, special
 * files (FIFO, device) read or waited on, huge files read whole before being refused.
 * Every file here is made by the test itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { initBackend } from '../src/backend/node.js';
import { decodeImage, ImageDecodeError } from '../src/data/decode.js';
import { colorize, loadModel } from '../src/infer/node.js';

let tmp: string;
before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-hard-'));
});

/** A textured gray JPEG (the texture makes the entropy data long enough to garble). */
async function jpeg(w: number, h: number): Promise<Buffer> {
  const px = Buffer.alloc(w * h);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7919 + ((i / w) | 0) * 31) % 251;
  return sharp(px, { raw: { width: w, height: h, channels: 1 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * Garble the middle of the entropy-coded data with a stray marker (FF D5): libjpeg warns
 * "Corrupt JPEG data: premature end of data segment" and fills the rest with gray.
 */
function garble(j: Buffer): Buffer {
  const out = Buffer.from(j);
  const sos = out.lastIndexOf(Buffer.from([0xff, 0xda]));
  const start = sos + Math.floor((out.length - sos) * 0.4);
  out[start] = 0xff;
  out[start + 1] = 0xd5;
  return out;
}

/** Patch the frame header (SOF0) to claim other dimensions than the data holds. */
function lyingHeader(j: Buffer, w: number, h: number): Buffer {
  const out = Buffer.from(j);
  const sof = out.indexOf(Buffer.from([0xff, 0xc0]));
  out.writeUInt16BE(h, sof + 5);
  out.writeUInt16BE(w, sof + 7);
  return out;
}

test('a JPEG with garbled entropy data is an error, not a gray image (general path)', async () => {
  const f = path.join(tmp, 'garbled.jpg');
  await fs.writeFile(f, garble(await jpeg(256, 256)));
  await assert.rejects(
    decodeImage(f),
    (e: unknown) => e instanceof ImageDecodeError && /^corrupt JPEG data \(premature end of data segment\)$/.test(e.reason) && e.file === f,
  );
  await assert.rejects(colorize(f, { format: 'png' }), /garbled\.jpg: (corrupt JPEG|truncated)/);
});

test('a JPEG whose header claims 9000×9000 but holds 256×256 of data is an error', async () => {
  const f = path.join(tmp, 'lying.jpg');
  await fs.writeFile(f, lyingHeader(await jpeg(256, 256), 9000, 9000));
  await assert.rejects(decodeImage(f), /lying\.jpg: (corrupt JPEG|truncated)/);
  await assert.rejects(colorize(f, { format: 'jpeg' }), /lying\.jpg: (corrupt JPEG|truncated)/);
});

test('large damaged JPEGs are errors on the streaming paths too (DCT-domain JPEG, libvips PNG)', async () => {
  const f = path.join(tmp, 'big-garbled.jpg');
  await fs.writeFile(f, garble(await jpeg(1600, 1600)));
  const sky = await loadModel('sky'); // square grid: eligible for the streaming paths
  for (const format of ['jpeg', 'png'] as const) {
    await assert.rejects(colorize(f, { format, model: sky }), /big-garbled\.jpg: (corrupt JPEG|truncated)/, format);
  }
  const g = path.join(tmp, 'big-lying.jpg');
  await fs.writeFile(g, lyingHeader(await jpeg(1600, 1600), 1600, 4000));
  for (const format of ['jpeg', 'png'] as const) {
    await assert.rejects(colorize(g, { format, model: sky }), /big-lying\.jpg: (corrupt JPEG|truncated)/, format);
  }
});

test('special files are refused before any read: a FIFO does not hang, /dev/zero is not read', async () => {
  const fifo = path.join(tmp, 'x.jpg');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(decodeImage(fifo), /x\.jpg: a FIFO, not a regular file/);
  await assert.rejects(colorize(fifo, { format: 'png' }), /x\.jpg: a FIFO, not a regular file/);
  const zero = path.join(tmp, 'zero.jpg');
  await fs.symlink('/dev/zero', zero);
  await assert.rejects(decodeImage(zero), /zero\.jpg: a device, not a regular file/);
});

test('a file above the byte limit is refused from its size, without reading it', async () => {
  const big = path.join(tmp, 'huge.png');
  const fh = await fs.open(big, 'w');
  await fh.truncate(1.5 * 1024 ** 3); // sparse: no disk used
  await fh.close();
  const rss = process.memoryUsage().rss;
  await assert.rejects(decodeImage(big), /huge\.png: file is 1610612736 bytes, above the 536870912-byte limit/);
  assert.ok(process.memoryUsage().rss - rss < 200 * 1024 * 1024, 'not read into memory');
  await assert.rejects(decodeImage(await jpeg(64, 64), { maxBytes: 100 }), /bytes, above the 100-byte limit/);
});

test('library API: every argument checked, TypeError/RangeError naming it', async () => {
  const img = { width: 4, height: 4, data: new Uint8Array(48) };
  const bad: [unknown, unknown, RegExp, ErrorConstructor][] = [
    [123, {}, /^input must be a path, an encoded Buffer or \{ width, height, data \}, got number 123$/, TypeError],
    [{}, {}, /^input must be .* got an object$/, TypeError],
    [new ArrayBuffer(8), {}, /got an ArrayBuffer$/, TypeError],
    [new Uint8Array(8), {}, /got a Uint8Array$/, TypeError],
    ['', {}, /non-empty path/, TypeError],
    [{ width: 0, height: 4, data: new Uint8Array(0) }, {}, /^input\.width must be an integer from 1/, RangeError],
    [{ width: 2.5, height: 4, data: new Uint8Array(30) }, {}, /^input\.width must be an integer from 1 .* got 2\.5$/, RangeError],
    [{ width: 4, height: 4, data: [1, 2, 3] }, {}, /^input\.data must be a Uint8Array/, TypeError],
    [{ width: 4, height: 4, data: new Uint8Array(47) }, {}, /^input\.data must hold width × height × 3 = 48 bytes, got 47$/, RangeError],
    [img, { seed: NaN }, /^options\.seed must be an integer from 0 .* got NaN$/, RangeError],
    [img, { seed: '3' }, /^options\.seed must be an integer, got "3"$/, TypeError],
    [img, { sample: -1 }, /^options\.sample must be an integer from 0/, RangeError],
    [img, { renderSize: 8 }, /^options\.renderSize must be an integer from 16 to 1024, got 8$/, RangeError],
    [img, { saturation: -0.5 }, /^options\.saturation must be a number from 0 to 4/, RangeError],
    [img, { format: 'gif' }, /^options\.format must be one of png, jpeg, webp \(or jpg\), got "gif"$/, RangeError],
    [img, { upsample: 'nearest' }, /^options\.upsample must be "bilinear" or "guided"/, RangeError],
    [img, { quality: 101 }, /^options\.quality must be an integer from 1 to 100/, RangeError],
    [img, { model: {} }, /^options\.model must be a model from loadModel\(\)/, TypeError],
    [img, 'fast', /^options must be an object, got "fast"$/, TypeError],
    [img, { keepMetdata: false }, /^options\.keepMetdata is not an option; did you mean keepMetadata\? \(options: seed, /, TypeError],
    [img, { colour: true }, /^options\.colour is not an option \(options: /, TypeError],
  ];
  for (const [input, opts, msg, type] of bad) {
    await assert.rejects(colorize(input as never, opts as never), (e: unknown) => e instanceof type && msg.test((e as Error).message), `${String(msg)}`);
  }
  const { colorizeSamples } = await import('../src/infer/node.js');
  for (const n of [-1, NaN, 2.5, 0])
    await assert.rejects(
      colorizeSamples(img, n),
      (e: unknown) => e instanceof RangeError && /^count must be an integer from 1 to 1000/.test((e as Error).message),
    );
  await assert.rejects(colorizeSamples(img, '2' as never), TypeError);
  await assert.rejects(loadModel(42 as never), /loadModel: dir must be a model name or folder, got number/);
  // Valid calls still work.
  const out = await colorize(img, { seed: 1, sample: 0, saturation: 0.5 });
  assert.deepEqual([out.width, out.height], [4, 4]);
});

test('write failures name the file and the cause (ENOSPC, read-only, a parent that is a file)', async () => {
  const { writeFileAtomic, writeError } = await import('../src/util/atomic.js');
  const file = path.join(tmp, 'plain-file');
  await fs.writeFile(file, 'x');
  await assert.rejects(writeFileAtomic(path.join(file, 'out.png'), 'data'), (e: unknown) =>
    /^.*plain-file\/out\.png: cannot write \(a parent is a file, not a folder\)$/.test((e as Error).message),
  );
  for (const [code, why] of [
    ['ENOSPC', 'no space left on the device'],
    ['EROFS', 'read-only file system'],
    ['EACCES', 'permission denied'],
  ]) {
    assert.equal(
      writeError('/runs/r/checkpoints/epoch-0003', Object.assign(new Error('x'), { code })).message,
      `/runs/r/checkpoints/epoch-0003: cannot write (${why})`,
    );
  }
  assert.deepEqual(await fs.readdir(tmp).then((l) => l.filter((f) => f.endsWith('.tmp'))), [], 'no temp file left');
});

test('colorize CLI: --out that is a file is one usage line; the input folder as --out says so', async () => {
  const { execFile } = await import('node:child_process');
  const BIN = path.join(import.meta.dirname, '..', 'bin', 'colorgan.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [BIN, ...args], (err, _o, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr })),
    );
  const file = path.join(tmp, 'not-a-folder');
  await fs.writeFile(file, 'x');
  const photo = path.join(import.meta.dirname, 'fixtures', 'photos', 'a', 'shine2.jpg');
  const r = await run(['colorize', photo, '--out', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^colorgan colorize: --out ${file}: exists and is not a folder$`, 'm'));
  const dir = path.join(tmp, 'self-out');
  await fs.mkdir(dir);
  await fs.copyFile(photo, path.join(dir, 'a.jpg'));
  const s = await run(['colorize', dir, '--out', dir]);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /self-out: is the output folder \(or inside it\): nothing to colorize there/);
});
