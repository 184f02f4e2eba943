/**
 * The pixel core (src/color/yuv.ts) and its C++ twin (native/pixels.h): the paper's
 * coefficients are typed in exactly those two files, and the addons, called through
 * their JS entry points on random pixels, give what the TS formulas give.
 *
 * CI builds the addons and sets COLORGAN_REQUIRE_NATIVE=1: there a missing addon fails
 * its test; elsewhere the native tests are skipped with the reason it is absent.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/node.js';
import { loadNativeAddon } from '../src/backend/native.js';
import { nativeUnavailableReason } from '../src/native/addons.js';
import { sharpenToFullRes, setPixelKernels, lumaForModel, sharpenTaps } from '../src/infer/sharpen.js';
import { loadJpegAddon, loadStreamingAddon, nativePixelKernels } from '../src/infer/native-pixels.js';
import {
  NET_SCALE,
  luma,
  chromaU,
  chromaV,
  redOffset,
  greenOffset,
  blueOffset,
  gamutFactor,
  composeInGamut,
  chromaFromNet,
  yToNet,
  toByte,
} from '../src/color/yuv.js';
import { mulberry32 } from '../src/util/rng.js';

const ROOT = path.resolve(import.meta.dirname, '..');

// ---- one copy of the coefficients ----------------------------------------------------

// The paper's ITU-R 601 numbers, their rounded forms, and the other common YUV variants
// (JFIF's inverse, analog YUV), none of which may be retyped outside the pixel core.
const COEFFICIENTS = [
  '0.299',
  '0.587',
  '0.114',
  '0.168736',
  '0.331264',
  '0.418688',
  '0.081312',
  '1.4075',
  '0.3455',
  '0.7169',
  '1.779',
  '0.1687',
  '0.3313',
  '0.4187',
  '0.0813',
  '1.402',
  '1.772',
  '0.344136',
  '0.714136',
  '0.34414',
  '0.71414',
  '0.436',
  '0.615',
  '0.14713',
  '0.28886',
  '0.51499',
  '0.10001',
  '1.13983',
  '0.39465',
  '0.5806',
  '2.03211',
];
const escapeDot = (s: string) => s.replace('.', '\\.');
// A number token: "0.299", ".299", "0.299f", "0.2990" — not "10.299" or "0.2991".
const COEFFICIENT = new RegExp(
  `(?<![\\d.])(?:${COEFFICIENTS.map((c) => (c.startsWith('0.') ? `0?${escapeDot(c.slice(1))}` : escapeDot(c))).join('|')})0*(?!\\d)`,
  'g',
);

async function filesUnder(dir: string, exts: string[], skip: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (skip.includes(e.name)) continue;
    if (e.isDirectory()) out.push(...(await filesUnder(rel, exts, skip)));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(rel);
  }
  return out;
}

async function filesWithCoefficients(files: string[]): Promise<Map<string, Set<string>>> {
  const hits = new Map<string, Set<string>>();
  for (const f of files) {
    const found = (await fs.readFile(path.join(ROOT, f), 'utf8')).match(COEFFICIENT);
    if (found) hits.set(f, new Set(found.map((x) => x.replace(/^\./, '0.').replace(/(\.\d*?)0+$/, '$1'))));
  }
  return hits;
}

test('the YUV coefficients are typed in one TypeScript file and one C++ header', async () => {
  const skip = ['node_modules', 'dist', 'build'];
  const ts = (await Promise.all(['src', 'web', 'bench'].map((d) => filesUnder(d, ['.ts', '.mts', '.js', '.mjs', '.html', '.py'], skip)))).flat();
  const cxx = await filesUnder('native', ['.cc', '.cpp', '.h', '.hpp', '.mjs'], skip);
  assert.ok(ts.length > 50 && ts.includes('web/src/decode.ts') && ts.includes('bench/calibrate.ts'), `scanned ${ts.length} files`);
  assert.ok(cxx.includes('native/colorgan_jpeg.cc'));

  const inTs = await filesWithCoefficients(ts);
  assert.deepEqual([...inTs.keys()], ['src/color/yuv.ts'], 'TypeScript files with YUV coefficients');
  const inCxx = await filesWithCoefficients(cxx);
  assert.deepEqual([...inCxx.keys()], ['native/pixels.h'], 'C++ files with YUV coefficients');
  // ...and those two hold the whole formulas (the scan finds what it looks for).
  const paper = COEFFICIENTS.slice(0, 11);
  assert.deepEqual(
    paper.filter((c) => !inTs.get('src/color/yuv.ts')!.has(c)),
    [],
    'yuv.ts has every coefficient',
  );
  const inverse = ['0.299', '0.587', '0.114', '1.4075', '0.3455', '0.7169', '1.779'];
  assert.deepEqual(
    inverse.filter((c) => !inCxx.get('native/pixels.h')!.has(c)),
    [],
    'pixels.h has luma and the inverse',
  );
});

test('the scan recognizes the coefficients in their usual spellings', () => {
  const count = (s: string) => s.match(COEFFICIENT)?.length ?? 0;
  assert.equal(count('r * 0.299 + g * .587 + b * 0.114f; 1.4075f * dv; -0.3455 * du'), 5);
  assert.equal(count('y = 0.2990 * r; Cr 1.402, Cb 1.772; U = 0.436 * (B - Y)'), 4);
  assert.equal(count('10.299 0.2991 1.7790001 x0.5 127.5 0.5'), 0);
});

// ---- the addons against the TS formulas ----------------------------------------------

const required = process.env.COLORGAN_REQUIRE_NATIVE === '1';
const dnnl = loadNativeAddon();
const jpeg = loadJpegAddon();
const vips = loadStreamingAddon();
/** Skip a native test only where the addon is absent and not required (CI requires it). */
const skipWithout = (addon: unknown, name: string): string | false => (addon || required ? false : `${name} not built: ${nativeUnavailableReason(name)}`);
const requireAddon = <T>(addon: T | null, name: string): T => {
  assert.ok(addon, `${name} not built: ${nativeUnavailableReason(name)}`);
  return addon;
};

before(async () => {
  await initBackend();
});

const W = 613,
  H = 389; // odd sizes: no vector-width alignment
const rand = mulberry32(20240512);

/** Random RGB pixels, with runs of black, white and gray (the corners of the gamut). */
function randomRgb(n: number): Uint8Array {
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const kind = rand();
    if (kind < 0.04) rgb.fill(0, 3 * i, 3 * i + 3);
    else if (kind < 0.08) rgb.fill(255, 3 * i, 3 * i + 3);
    else if (kind < 0.14) rgb.fill(Math.floor(rand() * 256), 3 * i, 3 * i + 3);
    else for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.floor(rand() * 256);
  }
  return rgb;
}

/** Random network-scale chroma, strong enough that about half the pixels leave the gamut; some gray. */
function randomUv(n: number): Float32Array {
  const uv = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.05) continue; // exactly gray
    uv[2 * i] = (rand() * 2 - 1) * 1.4;
    uv[2 * i + 1] = rand() < 0.05 ? 0 : (rand() * 2 - 1) * 1.4;
  }
  return uv;
}

/**
 * What the TS core makes of luma y and network chroma (u, v) as the native loops see it
 * (chroma rounded to float after scaling): bytes, and the unrounded values.
 */
function expectedPixels(lumaOf: (i: number) => number, uv: Float32Array, n: number): { bytes: Uint8ClampedArray; exact: Float64Array; outOfGamut: number } {
  const bytes = new Uint8ClampedArray(n * 3);
  const exact = new Float64Array(n * 3);
  let outOfGamut = 0;
  for (let i = 0; i < n; i++) {
    const y = lumaOf(i);
    const du = Math.fround(chromaFromNet(uv[2 * i]!));
    const dv = Math.fround(chromaFromNet(uv[2 * i + 1]!));
    composeInGamut(bytes, 3 * i, y, du, dv);
    composeInGamut(exact, 3 * i, y, du, dv);
    if (gamutFactor(y, redOffset(dv), greenOffset(du, dv), blueOffset(du)) < 1) outOfGamut++;
  }
  return { bytes, exact, outOfGamut };
}

/**
 * Native bytes against the TS ones. The native loops evaluate in float32 (so that they
 * vectorize), the TS in double: the values differ by ~1e-4 level at most (float's 6e-8
 * relative error on values up to 255, through the gamut division), so a byte may differ
 * by one level only where the exact value lies within that of a rounding boundary k + ½.
 */
function assertAgree(got: ArrayLike<number>, want: { bytes: Uint8ClampedArray; exact: Float64Array }, what: string): void {
  assert.equal(got.length, want.bytes.length, `${what}: length`);
  let differ = 0;
  for (let i = 0; i < got.length; i++) {
    if (got[i] === want.bytes[i]) continue;
    differ++;
    const x = want.exact[i]!;
    const nearHalf = Math.abs(x - Math.floor(x) - 0.5) < 1e-3;
    assert.ok(
      Math.abs(got[i]! - want.bytes[i]!) === 1 && nearHalf,
      `${what}: byte ${i} (pixel ${Math.floor(i / 3)}) is ${got[i]}, TS ${want.bytes[i]} (exact ${x})`,
    );
  }
  assert.ok(differ <= got.length * 1e-3, `${what}: ${differ} of ${got.length} bytes differ`);
}

/** The addon's pixel loops in place of the TS ones; false if they are not there. */
function useNativeKernels(): boolean {
  const k = nativePixelKernels();
  setPixelKernels(k);
  return k !== null;
}

/** The TS loops instead of the native ones for the duration of fn. */
function withoutNativeKernels<T>(fn: () => T): T {
  setPixelKernels(null);
  try {
    return fn();
  } finally {
    useNativeKernels();
  }
}

test('native luma (colorgan_dnnl lumaShrink) is the TS luma, bit for bit', { skip: skipWithout(dnnl, 'colorgan_dnnl') }, () => {
  requireAddon(dnnl, 'colorgan_dnnl');
  assert.ok(useNativeKernels(), 'native pixel kernels installed');
  const rgb = randomRgb(W * H);
  // On a grid of the photo's own size the area average is the identity: per-pixel luma.
  const got = lumaForModel(rgb, W, H, W, H);
  const want = Float32Array.from({ length: W * H }, (_, i) => yToNet(Math.fround(luma(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!))));
  assert.deepEqual(got, want);
  assert.deepEqual(
    withoutNativeKernels(() => lumaForModel(rgb, W, H, W, H)),
    want,
    'the TS loop too',
  );
});

test('native add-chroma-in-gamut (colorgan_dnnl sharpen) agrees with the TS rule on random pixels', { skip: skipWithout(dnnl, 'colorgan_dnnl') }, () => {
  requireAddon(dnnl, 'colorgan_dnnl');
  assert.ok(useNativeKernels(), 'native pixel kernels installed');
  const n = W * H;
  const rgb = randomRgb(n);
  const uv = randomUv(n);
  // On a grid of the photo's own size the bilinear taps are the identity: per-pixel chroma.
  const grid = { width: W, height: H };
  const want = expectedPixels((i) => luma(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!), uv, n);
  assert.ok(want.outOfGamut > n * 0.3 && want.outOfGamut < n * 0.8, `${want.outOfGamut} of ${n} pixels out of gamut`);
  assertAgree(sharpenToFullRes(rgb, W, H, uv, grid), want, 'colorgan_dnnl');
  assert.deepEqual(
    withoutNativeKernels(() => sharpenToFullRes(rgb, W, H, uv, grid)),
    new Uint8Array(want.bytes.buffer),
    'the TS loop is the rule',
  );
});

test('native add-chroma-in-gamut (colorgan_vips) agrees with the TS rule on random RGB and gray pixels', {
  skip: skipWithout(vips, 'colorgan_vips'),
}, async () => {
  const addon = requireAddon(vips, 'colorgan_vips');
  const n = W * H;
  const uv = randomUv(n);
  const taps = sharpenTaps(W, H, W, H);
  const rgb = randomRgb(n);
  const gray = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  for (const [name, pixels, channels] of [
    ['RGB', rgb, 3],
    ['gray', gray, 1],
  ] as const) {
    const png = await sharp(pixels, { raw: { width: W, height: H, channels } })
      .png({ compressionLevel: 1 })
      .toBuffer();
    const out = await addon.sharpen(png, W, H, uv, W, taps.x0s, taps.fxs, taps.tyIndex, taps.tyWeight, NET_SCALE, 'png', 92, H);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [W, H, 3]);
    const lumaOf = channels === 3 ? (i: number) => luma(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!) : (i: number) => luma(gray[i]!, gray[i]!, gray[i]!);
    assertAgree(data, expectedPixels(lumaOf, uv, n), `colorgan_vips, ${name}`);
  }
});

test('the DCT path (colorgan_jpeg) keeps chroma in gamut at each block mean by the TS rule', { skip: skipWithout(jpeg, 'colorgan_jpeg') }, async () => {
  const addon = requireAddon(jpeg, 'colorgan_jpeg');
  // A gray photo of flat 16×16 blocks (one 4:2:0 macroblock each), at quality 100, so that
  // every block mean is its exact level and every chroma block is flat: then the decoded
  // chroma inside a block is the path's chroma, up to 8-bit rounding.
  const S = 256,
    B = 16,
    nb = S / B;
  const levels = Array.from({ length: nb * nb }, (_, k) => (k < 4 ? [0, 255, 76, 179][k]! : Math.floor(rand() * 256)));
  const gray = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) gray[y * S + x] = levels[Math.floor(y / B) * nb + Math.floor(x / B)]!;
  const photo = await sharp(gray, { raw: { width: S, height: S, channels: 1 } })
    .jpeg({ quality: 100 })
    .toBuffer();
  const means = (await addon.open(photo)).means;
  levels.forEach((l, k) => assert.equal(means[2 * Math.floor(k / nb) * 2 * nb + 2 * (k % nb)], l, `block ${k}: mean`));

  // Decoding adds up to ½ level from the 8-bit Cb/Cr, ½ from the 8-bit RGB, and a little
  // from the decoder's JFIF inverse (1.402 where the paper has 1.4075) clipping at the
  // cube's faces: 2 levels. Clipping each channel instead would miss by far more (checked).
  const TOLERANCE = 2;
  let worst = 0,
    discriminating = 0;
  for (let c = 0; c < 16; c++) {
    const uv = c === 0 ? Float32Array.of(0, 0) : Float32Array.of((rand() * 2 - 1) * 1.5, (rand() * 2 - 1) * 1.5);
    const opened = await addon.open(photo);
    const out = await addon.finish(opened.handle, uv, 1, NET_SCALE, 100, 1); // a 1×1 grid: one chroma everywhere
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [S, S, 3]);
    const du = Math.fround(chromaFromNet(uv[0]!)),
      dv = Math.fround(chromaFromNet(uv[1]!));
    levels.forEach((l, k) => {
      const t = gamutFactor(l, redOffset(dv), greenOffset(du, dv), blueOffset(du));
      // A pixel inside the block, away from the chroma upsampling's reach into its neighbours.
      const p = 3 * ((Math.floor(k / nb) * B + 7) * S + (k % nb) * B + 7);
      const [r, g, b] = [data[p]!, data[p + 1]!, data[p + 2]!];
      const err = Math.max(Math.abs(chromaU(r, g, b) - 128 - t * du), Math.abs(chromaV(r, g, b) - 128 - t * dv));
      worst = Math.max(worst, err);
      assert.ok(
        err <= TOLERANCE,
        `chroma ${c}, block ${k} (Y ${l}): decoded U,V ${chromaU(r, g, b).toFixed(2)}, ${chromaV(r, g, b).toFixed(2)}; rule ${(128 + t * du).toFixed(2)}, ${(128 + t * dv).toFixed(2)}`,
      );
      assert.ok(Math.abs(luma(r, g, b) - l) <= TOLERANCE, `chroma ${c}, block ${k}: luma ${luma(r, g, b)} kept (${l})`);
      // Per-channel clipping of the same chroma, for comparison.
      const clip = [toByte(l + redOffset(dv)), toByte(l + greenOffset(du, dv)), toByte(l + blueOffset(du))] as const;
      const clipErr = Math.max(Math.abs(chromaU(...clip) - 128 - t * du), Math.abs(chromaV(...clip) - 128 - t * dv));
      if (clipErr > 4 * TOLERANCE) discriminating++;
    });
  }
  assert.ok(discriminating > 100, `${discriminating} blocks where per-channel clipping would be off by > ${4 * TOLERANCE} levels`);
  assert.ok(worst > 0, 'decoded chroma differs a little (8-bit rounding): the comparison is real');
});
