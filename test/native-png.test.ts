/**
 * colorgan_vips' own PNG encoder (the parallel deflate of native/colorgan_vips.cc): the
 * file decodes to exactly the pixels the pipeline composed, its IDAT chunks carry one
 * valid zlib stream (checked by a strict decoder) in ~1 MB pieces, and it is about as
 * small as one deflate stream of the same scanlines.
 *
 * CI builds the addons and sets COLORGAN_REQUIRE_NATIVE=1: there a missing addon fails;
 * elsewhere the test is skipped with the reason it is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { NET_SCALE } from '../src/color/yuv.js';
import { sharpenTaps } from '../src/infer/sharpen.js';
import { loadStreamingAddon } from '../src/infer/native-pixels.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { mulberry32 } from '../src/util/rng.js';

const PHOTO = path.join(import.meta.dirname, 'fixtures', 'photos', 'sunrise3.jpg');
const vips = loadStreamingAddon();
const why = `colorgan_vips not built: ${nativeUnavailableReason('colorgan_vips')}`;
const skip = !vips && process.env.COLORGAN_REQUIRE_NATIVE !== '1' && why;

/** CRC-32 of the PNG spec (a table of its own, not zlib's). */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The chunks of a PNG, each CRC checked. */
function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature');
  const chunks = [];
  for (let p = 8; p < png.length; ) {
    const n = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    assert.equal(png.readUInt32BE(p + 8 + n), crc32(png.subarray(p + 4, p + 8 + n)), `${type} at ${p}: CRC`);
    chunks.push({ type, data: png.subarray(p + 8, p + 8 + n) });
    p += 12 + n;
  }
  return chunks;
}

test('the libvips path writes PNG with a parallel deflate: exact pixels, one valid zlib stream, a single stream’s size', { skip }, async () => {
  assert.ok(vips, why);
  const addon = vips;
  const rand = mulberry32(7);
  for (const [width, height, gray] of [
    [1001, 1333, false], // odd width; 4 pieces of 349 rows, the last one short
    [2001, 1201, true], // a gray photo (composed to RGB)
    [4000, 263, false], // 87 rows a piece: 3 full pieces and 2 rows
    [17, 5, false], // smaller than one piece
  ] as const) {
    const name = `${width}×${height}${gray ? ' gray' : ''}`;
    let photo = sharp(PHOTO).resize(width, height, { fit: 'fill' });
    if (gray) photo = photo.greyscale();
    const jpeg = await photo.jpeg({ quality: 90 }).toBuffer();
    const gw = 12,
      gh = 9;
    const uv = Float32Array.from({ length: gw * gh * 2 }, () => (rand() * 2 - 1) * 0.3);
    const t = sharpenTaps(width, height, gw, gh);
    const run = (format: 'png' | 'raw') => addon.sharpen(jpeg, width, height, uv, gw, t.x0s, t.fxs, t.tyIndex, t.tyWeight, NET_SCALE, format, 90, gh);
    const [png, raw] = [await run('png'), await run('raw')];

    const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([decoded.info.width, decoded.info.height, decoded.info.channels], [width, height, 3], name);
    assert.ok(decoded.data.equals(raw), `${name}: the pixels the pipeline composed`);

    const chunks = pngChunks(png);
    assert.deepEqual(chunks[0]!.data.subarray(0, 10), Buffer.from([0, 0, width >> 8, width & 255, 0, 0, height >> 8, height & 255, 8, 2]), `${name}: IHDR`);
    assert.deepEqual([chunks[0]!.type, chunks.at(-1)!.type], ['IHDR', 'IEND']);
    const idats = chunks.filter((c) => c.type === 'IDAT');
    const rowBytes = 1 + 3 * width;
    assert.equal(idats.length, Math.ceil(height / Math.floor(2 ** 20 / rowBytes)), `${name}: one IDAT per ~1 MB of rows`);
    // inflateSync checks the zlib header, that the stream ends, and its Adler-32.
    const stream = Buffer.concat(idats.map((c) => c.data));
    const scanlines = zlib.inflateSync(stream);
    const want = Buffer.alloc(rowBytes * height); // filter byte 0 (none) before each row
    for (let y = 0; y < height; y++) raw.copy(want, y * rowBytes + 1, y * (rowBytes - 1), (y + 1) * (rowBytes - 1));
    assert.ok(scanlines.equals(want), `${name}: the scanlines, unfiltered`);
    // Each piece starts from its predecessor's last 32 KB (a dictionary), so the whole is
    // within 0.015% of one stream here (without the dictionaries: 0.1–0.2% larger).
    const single = zlib.deflateSync(want, { level: 6 }).length;
    console.log(`# ${name}: ${idats.length} IDATs, ${stream.length} bytes of zlib stream vs ${single} in one`);
    assert.ok(stream.length <= single * 1.0005, `${name}: ${stream.length} bytes vs ${single} as one stream`);
  }
});

test('a photo damaged past its header: the PNG encoder stops with libvips’ one-line error, not a file', { skip }, async () => {
  assert.ok(vips, why);
  const jpeg = await sharp(PHOTO).resize(1001, 1333, { fit: 'fill' }).jpeg().toBuffer();
  const t = sharpenTaps(1001, 1333, 4, 4);
  await assert.rejects(
    vips.sharpen(jpeg.subarray(0, jpeg.length >> 1), 1001, 1333, new Float32Array(32), 4, t.x0s, t.fxs, t.tyIndex, t.tyWeight, NET_SCALE, 'png', 90, 4),
    /^Error: VipsJpeg: premature end of JPEG image$/,
  );
});
