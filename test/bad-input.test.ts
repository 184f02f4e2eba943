/**
 * A folder of 33 inputs, good and bad, made here, through `colorgan colorize` as a user
 * runs it: every good photo is written at its own size, every bad one gets one line
 * naming it and the cause, nothing hangs, no temp file is left, exit status 1, and the
 * peak memory stays under 2 GB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import sharp from 'sharp';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'colorgan.js');
const PHOTO = path.join(import.meta.dirname, 'fixtures', 'photos', 'a', 'shine2.jpg');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

test('a bad-input folder: good photos written at their size, each bad one named with its reason', { timeout: 240_000 }, async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-bad-'));
  const dir = path.join(tmp, 'in');
  const out = path.join(tmp, 'out');
  await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
  const src = sharp(PHOTO); // 96×72
  const jpg = await src.clone().jpeg().toBuffer();
  const w = (name: string, data: Buffer | string) => fs.writeFile(path.join(dir, name), data);
  const good: Record<string, [number, number]> = {};
  const addGood = async (name: string, data: Buffer, size: [number, number]) => {
    await w(name, data);
    good[name] = size;
  };
  // Good: formats, depths, orientation, odd sizes and names.
  await addGood('plain.jpg', jpg, [96, 72]);
  await addGood('plain-png.png', await src.clone().png().toBuffer(), [96, 72]);
  await addGood('plain-webp.webp', await src.clone().webp().toBuffer(), [96, 72]);
  await addGood('plain-tif.tif', await src.clone().tiff().toBuffer(), [96, 72]);
  await addGood('gray.jpg', await src.clone().grayscale().jpeg().toBuffer(), [96, 72]);
  await addGood('deep16.png', await src.clone().toColourspace('rgb16').png().toBuffer(), [96, 72]);
  await addGood('alpha.png', await src.clone().ensureAlpha(0.5).png().toBuffer(), [96, 72]);
  await addGood('rotated.jpg', await src.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(), [72, 96]);
  await addGood(
    'tiny.png',
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } })
      .png()
      .toBuffer(),
    [1, 1],
  );
  await addGood('panorama.jpg', await src.clone().resize(2000, 50, { fit: 'fill' }).jpeg().toBuffer(), [2000, 50]);
  await addGood('cmyk.jpg', await src.clone().toColourspace('cmyk').jpeg().toBuffer(), [96, 72]);
  await addGood('UPPER.JPG', jpg, [96, 72]);
  await addGood('new\nline.jpg', jpg, [96, 72]);
  await addGood('trailing-bytes.jpg', Buffer.concat([jpg, Buffer.from('junk after the end marker')]), [96, 72]);
  await addGood('sub/nested.jpg', jpg, [96, 72]);
  await fs.symlink(path.join(dir, 'plain.jpg'), path.join(dir, 'link.jpg'));
  good['link.jpg'] = [96, 72];

  // Bad, each with the reason we expect (a pattern).
  const bad: Record<string, RegExp> = {};
  const addBad = async (name: string, data: Buffer | string, why: RegExp) => {
    await w(name, data);
    bad[name] = why;
  };
  await addBad('empty.jpg', '', /^empty file$/);
  await addBad('text.jpg', 'hello, not a photo', /^not an image/);
  await addBad('bad\nname.jpg', 'a newline in the name must not lose the reason', /^not an image/);
  await addBad('truncated.jpg', jpg.subarray(0, Math.floor(jpg.length / 2)), /^truncated or corrupt JPEG$/);
  const garbled = Buffer.from(jpg);
  const sos = garbled.lastIndexOf(Buffer.from([0xff, 0xda]));
  garbled[sos + 200] = 0xff;
  garbled[sos + 201] = 0xd5;
  await addBad('garbled.jpg', garbled, /^corrupt JPEG data/);
  const lying = Buffer.from(jpg);
  const sof = lying.indexOf(Buffer.from([0xff, 0xc0]));
  lying.writeUInt16BE(9000, sof + 5);
  lying.writeUInt16BE(9000, sof + 7);
  await addBad('lying-header.jpg', lying, /^(corrupt JPEG data|truncated or corrupt JPEG)/);
  await addBad('only-soi.jpg', Buffer.from([0xff, 0xd8]), /^truncated or corrupt JPEG$/);
  await addBad('header-only.jpg', jpg.subarray(0, sos + 20), /^truncated or corrupt JPEG$/);
  const png = await src.clone().png().toBuffer();
  await addBad('truncated-png.png', png.subarray(0, Math.floor(png.length * 0.6)), /^truncated or corrupt PNG$/);
  await addBad('only-signature-png.png', png.subarray(0, 8), /^truncated or corrupt PNG$/);
  const webp = await src.clone().webp().toBuffer();
  await addBad('truncated-webp.webp', webp.subarray(0, Math.floor(webp.length / 2)), /^truncated or corrupt WEBP$/);
  await addBad('random.webp', Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 73 + 5) & 255)), /^not an image/);
  // A PNG whose header claims 20000×20000 (400 MP, above the 100 MP limit): refused before decoding.
  const huge = Buffer.from(png);
  huge.writeUInt32BE(20000, 16);
  huge.writeUInt32BE(20000, 20);
  huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29);
  await addBad('huge-header.png', huge, /^image is 20000×20000 = 400\.0 MP, above the 100 MP limit$/);
  execFileSync('mkfifo', [path.join(dir, 'fifo.jpg')]);
  bad['fifo.jpg'] = /^a FIFO, not a regular file$/;
  await fs.symlink('/dev/zero', path.join(dir, 'zero.jpg'));
  bad['zero.jpg'] = /^a device, not a regular file$/;
  const fh = await fs.open(path.join(dir, 'junk-1.5GB.png'), 'w');
  await fh.truncate(1.5 * 1024 ** 3); // sparse
  await fh.close();
  bad['junk-1.5GB.png'] = /^file is 1610612736 bytes, above the 536870912-byte limit$/;
  await addBad('folder-name.jpg.txt', 'not listed: not an image extension', /never/);
  delete bad['folder-name.jpg.txt']; // (not an input at all: only image extensions are walked)
  await addBad('gif-named.png', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), /^corrupt image header$/);
  const total = Object.keys(good).length + Object.keys(bad).length;
  assert.ok(total >= 30, `${total} cases`);

  // Run it, recording the child's peak memory (maxRSS) from inside it.
  const probe = path.join(tmp, 'maxrss.mjs');
  await fs.writeFile(probe, `process.on('exit', () => process.stderr.write('maxrss-kb ' + process.resourceUsage().maxRSS + '\\n'));\n`);
  const t0 = Date.now();
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--import', probe, BIN, 'colorize', dir, '--out', out], { cwd: ROOT, timeout: 200_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
  const secs = (Date.now() - t0) / 1000;
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('colorizing ') && !l.startsWith('maxrss-kb'));
  const shown = (name: string) => path.join(dir, name).replace(/\n/g, '\\n');
  for (const [name, why] of Object.entries(bad)) {
    const line = lines.find((l) => l.startsWith(`${shown(name)}: `));
    assert.ok(line, `${name}: no message in\n${lines.join('\n')}`);
    assert.match(line.slice(shown(name).length + 2), why, name);
  }
  assert.equal(lines.length, Object.keys(bad).length, `one line per bad input:\n${lines.join('\n')}`);
  for (const [name, [gw, gh]] of Object.entries(good)) {
    const o = path.join(out, name.replace(/\.[^.]+$/, '.png'));
    const m = await sharp(o).metadata();
    assert.deepEqual([m.width, m.height], [gw, gh], name);
  }
  assert.match(r.stdout, new RegExp(`^done: ${Object.keys(good).length} written, 0 skipped \\(exists\\), ${Object.keys(bad).length} failed`, 'm'));
  const temps = (await fs.readdir(out, { recursive: true })).filter((f) => String(f).includes('.tmp'));
  assert.deepEqual(temps, []);
  const rssMb = Number(/maxrss-kb (\d+)/.exec(r.stderr)![1]) / 1024;
  assert.ok(rssMb < 2048, `peak memory ${rssMb.toFixed(0)} MB`);
  // The table for the closing note.
  console.log(
    `# bad-input folder: ${total} cases (${Object.keys(good).length} good, ${Object.keys(bad).length} bad), ${secs.toFixed(1)} s, peak RSS ${rssMb.toFixed(0)} MB`,
  );
  for (const l of lines) console.log(`#   ${l.replace(`${dir}/`, '')}`);
  await fs.rm(tmp, { recursive: true, force: true });
});
