/**
 * Outputs keep the photo's metadata (src/data/photo-metadata.ts): EXIF with orientation 1,
 * XMP, IPTC (JPEG) and a color profile that describes the output's pixels — on every way
 * of colorizing (general, DCT-domain JPEG, libvips) and in every format, from the library
 * and the CLI; `keepMetadata: false` / `--strip-metadata` drop them. Color-managed: a
 * Display P3 photo comes out with the luma of the same photo in sRGB.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { loadModel, colorize, planColorize } from '../src/infer/node.js';
import type { Colorizer } from '../src/infer/colorizer.js';
import { streamingPath } from '../src/infer/plan.js';
import { attachMetadata, exifUpright } from '../src/data/photo-metadata.js';
import { ENCODE_FORMATS, FORMAT_EXTENSIONS, type EncodeFormat } from '../src/data/formats.js';
import { luma } from '../src/color/yuv.js';
import { decodeImage } from '../src/data/decode.js';
import { MAX_SATURATION } from '../src/infer/limits.js';
import { ensureDistBuilt, runCli } from './helpers.js';

const ARTIST = 'Ann Artist';
const COPYRIGHT = '(c) 2026 Ann Artist';
const DESCRIPTION = 'Harbour at dawn';
const XMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"><dc:creator>${ARTIST}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;

/** An APP13 payload: one IPTC-IIM By-line (2:80) in a Photoshop 8BIM 0x0404 resource. */
function iptcPayload(byline: string): Buffer {
  const text = Buffer.from(byline, 'utf8');
  const iim = Buffer.concat([Buffer.from([0x1c, 0x02, 0x50, text.length >> 8, text.length & 0xff]), text]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(iim.length);
  const body = Buffer.concat([Buffer.from('8BIM', 'latin1'), Buffer.from([0x04, 0x04, 0, 0]), size, iim, Buffer.alloc(iim.length % 2)]);
  return Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), body]);
}

/** RGB patches of saturated colors over a gray ramp, w×h. */
function patches(w: number, h: number): Buffer {
  const colors = [
    [230, 20, 30],
    [20, 200, 40],
    [30, 40, 220],
    [240, 220, 20],
    [200, 30, 200],
  ];
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = y < h / 2 ? colors[Math.floor((x * colors.length) / w)]! : [0, 1, 2].map(() => Math.round((255 * x) / (w - 1)));
      px.set(c, (y * w + x) * 3);
    }
  }
  return px;
}

const raw = (w: number, h: number) => ({ raw: { width: w, height: h, channels: 3 as const } });

/** A photo stored w×h with EXIF (orientation as given), XMP, an optional ICC profile and, for JPEG, IPTC. */
async function taggedPhoto(w: number, h: number, o: { orientation: number; icc?: string; format: EncodeFormat }): Promise<Buffer> {
  let s = sharp(patches(w, h), raw(w, h))
    .withExif({ IFD0: { Artist: ARTIST, Copyright: COPYRIGHT, ImageDescription: DESCRIPTION } })
    .withXmp(XMP);
  // withMetadata also tags sRGB: only for a turned photo.
  if (o.orientation !== 1) s = s.withMetadata({ orientation: o.orientation });
  if (o.icc) s = s.withIccProfile(o.icc);
  const encoded = await s.toFormat(o.format, { quality: 95 }).toBuffer();
  return o.format === 'jpeg' ? attachMetadata(encoded, 'jpeg', { iptc: iptcPayload(ARTIST) }) : encoded;
}

let model: Colorizer;
let bilinear: Colorizer;
let srgbIcc: Buffer;
let tmp: string;

before(async () => {
  model = await loadModel();
  bilinear = { ...model, meta: { ...model.meta, inference: { ...model.meta.inference, upsample: 'bilinear' } } };
  const tagged = await sharp(Buffer.alloc(3), raw(1, 1)).withIccProfile('srgb').png().toBuffer();
  srgbIcc = (await sharp(tagged).metadata()).icc!;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-metadata-keep-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Every output of a plan, made in order. */
async function allOutputs(planned: { outputs(): AsyncGenerator<{ value(): Promise<Buffer> }> }): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const o of planned.outputs()) out.push(await o.value());
  return out;
}

/** The output keeps EXIF (upright), XMP, IPTC (JPEG) and carries `icc` (or none). */
async function assertKept(out: Buffer, format: EncodeFormat, icc: Buffer | undefined, what: string): Promise<void> {
  const m = await sharp(out).metadata();
  assert.equal(m.format, format, what);
  assert.equal(m.orientation ?? 1, 1, `${what}: orientation reset to 1 (or none)`);
  assert.ok(m.exif, `${what}: EXIF kept`);
  for (const s of [ARTIST, COPYRIGHT, DESCRIPTION]) assert.ok(m.exif.includes(s), `${what}: EXIF has "${s}"`);
  const xmp = m.xmp?.toString('utf8') ?? '';
  assert.ok(xmp.includes(`<dc:creator>${ARTIST}</dc:creator>`), `${what}: XMP kept`);
  assert.match(xmp, /tiff:Orientation="1"/, `${what}: XMP orientation reset`);
  if (format === 'jpeg') assert.ok(m.iptc?.includes(ARTIST), `${what}: IPTC kept`);
  if (icc) assert.ok(m.icc?.equals(icc), `${what}: carries the sRGB profile`);
  else assert.equal(m.icc, undefined, `${what}: no profile`);
}

async function assertStripped(out: Buffer, what: string): Promise<void> {
  const m = await sharp(out).metadata();
  for (const k of ['exif', 'xmp', 'iptc', 'icc'] as const) assert.equal(m[k], undefined, `${what}: no ${k}`);
}

test('EXIF orientation is set to 1 in the TIFF data, both byte orders; nothing else changed', () => {
  for (const le of [true, false]) {
    const t = Buffer.alloc(8 + 2 + 2 * 12 + 4);
    const w16 = (v: number, o: number) => (le ? t.writeUInt16LE(v, o) : t.writeUInt16BE(v, o));
    const w32 = (v: number, o: number) => (le ? t.writeUInt32LE(v, o) : t.writeUInt32BE(v, o));
    t.write(le ? 'II' : 'MM', 0, 'latin1');
    w16(42, 2);
    w32(8, 4); // IFD0 at 8, two entries
    w16(2, 8);
    w16(0x010f, 10); // Make, ASCII, 4 bytes in the entry: "Nik\0"
    w16(2, 12);
    w32(4, 14);
    t.write('Nik\0', 18, 'latin1');
    w16(0x0112, 22); // Orientation, SHORT, 1: 8
    w16(3, 24);
    w32(1, 26);
    w16(8, 30);
    const up = exifUpright(t);
    assert.equal(le ? up.readUInt16LE(30) : up.readUInt16BE(30), 1, le ? 'II' : 'MM');
    assert.deepEqual([up.subarray(0, 30), up.subarray(32)], [t.subarray(0, 30), t.subarray(32)], 'nothing else changed');
    assert.equal(le ? t.readUInt16LE(30) : t.readUInt16BE(30), 8, 'the input is not modified');
  }
});

test('library, general path: every format keeps EXIF (upright), XMP, IPTC and tags sRGB; keepMetadata: false strips all', async () => {
  // Stored 96×64 with orientation 6: upright 64×96; Display P3.
  const input = await taggedPhoto(96, 64, { orientation: 6, icc: 'p3', format: 'jpeg' });
  for (const format of ENCODE_FORMATS) {
    const out = await colorize(input, { model, format });
    await assertKept(out, format, srgbIcc, `library ${format}`);
    const m = await sharp(out).metadata();
    assert.deepEqual([m.width, m.height], [64, 96], 'upright pixels');
    await assertStripped(await colorize(input, { model, format, keepMetadata: false }), `library ${format} keepMetadata: false`);
  }
  // An untagged photo stays untagged (sRGB by convention); PNG and WebP inputs keep theirs too.
  for (const inFormat of ['png', 'webp'] as const) {
    const input2 = await taggedPhoto(96, 64, { orientation: 1, format: inFormat });
    for (const format of ENCODE_FORMATS) {
      const out = await colorize(input2, { model, format });
      const m = await sharp(out).metadata();
      assert.ok(m.exif?.includes(ARTIST) && m.xmp, `${inFormat} → ${format}: EXIF and XMP kept`);
      assert.equal(m.icc, undefined, `${inFormat} → ${format}: untagged`);
    }
  }
  await assert.rejects(colorize(input, { model, format: 'png', keepMetadata: 'no' as never }), /^TypeError: options.keepMetadata must be a boolean, got "no"$/);
});

test('the streaming ways keep the metadata too; a photo with a profile is declined there and tagged sRGB', async () => {
  // 1600×1544: at least 24× the 64×64 grid, upright, so eligible for the DCT and libvips ways.
  const big = await taggedPhoto(1600, 1544, { orientation: 1, format: 'jpeg' });
  for (const format of ENCODE_FORMATS) {
    const planned = await planColorize(big, 1, { model: bilinear, format });
    assert.equal(planned.plan.kind, streamingPath(format) ?? 'general', `${format}: the way the machine has`);
    const [out] = await allOutputs(planned);
    await assertKept(out!, format, undefined, `${planned.plan.kind} → ${format}`);
    const [bare] = await allOutputs(await planColorize(big, 1, { model: bilinear, format, keepMetadata: false }));
    await assertStripped(bare!, `${planned.plan.kind} → ${format}, keepMetadata: false`);
  }
  const bigP3 = await taggedPhoto(1600, 1544, { orientation: 1, icc: 'p3', format: 'jpeg' });
  const planned = await planColorize(bigP3, 1, { model: bilinear, format: 'jpeg' });
  assert.equal(planned.plan.kind, 'general');
  assert.equal(planned.plan.declined.dct ?? planned.plan.declined.vips, 'has an ICC profile');
  const [out] = await allOutputs(planned);
  await assertKept(out!, 'jpeg', srgbIcc, 'P3 → general → jpeg');
});

/** The luma of an output as a viewer shows it: converted to sRGB through its profile. */
async function viewedLuma(encoded: Buffer): Promise<Float64Array> {
  const px = await sharp(encoded).toColourspace('srgb').raw().toBuffer();
  const y = new Float64Array(px.length / 3);
  for (let i = 0; i < y.length; i++) y[i] = luma(px[i * 3]!, px[i * 3 + 1]!, px[i * 3 + 2]!);
  return y;
}

function meanAbsDiff(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

test('color-managed: a Display P3 photo comes out with the luma of the same photo in sRGB', async () => {
  const [w, h] = [96, 64];
  const srgb = await sharp(patches(w, h), raw(w, h)).png().toBuffer();
  // The same appearance in Display P3: sharp converts the pixels into P3 and tags them.
  const p3 = await sharp(patches(w, h), raw(w, h)).withIccProfile('p3').png().toBuffer();
  // The test can fail: P3 numbers read as sRGB have another luma.
  const p3Numbers = await sharp(p3).raw().keepIccProfile().toBuffer();
  const misread = new Float64Array(w * h).map((_, i) => luma(p3Numbers[i * 3]!, p3Numbers[i * 3 + 1]!, p3Numbers[i * 3 + 2]!));
  const reference = await viewedLuma(srgb);
  assert.ok(meanAbsDiff(misread, reference) > 5, `P3 numbers differ from sRGB ones (${meanAbsDiff(misread, reference).toFixed(2)})`);
  // Decoded to the same sRGB pixels, 8-bit and 16-bit (sharp's 16-bit pipeline is P3 unless told).
  const p3Deep = await sharp(patches(w, h), raw(w, h)).toColourspace('rgb16').withIccProfile('p3').png().toBuffer();
  assert.equal((await sharp(p3Deep).metadata()).depth, 'ushort');
  const plain = (await decodeImage(srgb)).data;
  for (const [name, tagged] of [
    ['8-bit', p3],
    ['16-bit', p3Deep],
  ] as const) {
    const d = (await decodeImage(tagged)).data;
    let worst = 0;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i]! - plain[i]!));
    assert.ok(worst <= 3, `${name} P3 decodes to the sRGB pixels within 3 levels, worst ${worst}`);
  }
  // Strong chroma, so that a wrong profile on the output would show in its luma too.
  const saturation = MAX_SATURATION;
  for (const format of ENCODE_FORMATS) {
    const fromSrgb = await viewedLuma(await colorize(srgb, { model, format, saturation }));
    for (const [name, tagged, keepMetadata] of [
      ['8-bit', p3, true],
      ['8-bit', p3, false],
      ['16-bit', p3Deep, true],
    ] as const) {
      const fromP3 = await viewedLuma(await colorize(tagged, { model, format, keepMetadata, saturation }));
      const d = meanAbsDiff(fromP3, fromSrgb);
      assert.ok(d < 1, `${format}, ${name}, keepMetadata ${keepMetadata}: luma differs by ${d.toFixed(2)} levels on average`);
    }
  }
});

test('CLI: outputs keep the metadata in every format; --strip-metadata drops it', async () => {
  await ensureDistBuilt();
  const file = path.join(tmp, 'tagged.jpg');
  await fs.writeFile(file, await taggedPhoto(96, 64, { orientation: 6, icc: 'p3', format: 'jpeg' }));
  for (const format of ENCODE_FORMATS) {
    for (const strip of [false, true]) {
      const out = path.join(tmp, `cli-${format}-${strip}`);
      const r = await runCli(['colorize', file, '--out', out, '--format', format, ...(strip ? ['--strip-metadata'] : [])]);
      assert.equal(r.code, 0, r.stderr);
      const written = await fs.readFile(path.join(out, `tagged${FORMAT_EXTENSIONS[format]}`));
      if (strip) await assertStripped(written, `CLI ${format} --strip-metadata`);
      else await assertKept(written, format, srgbIcc, `CLI ${format}`);
    }
  }
});
