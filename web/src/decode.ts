/**
 * Photo decoding in the worker (worker.ts): sniff the format and size from the file
 * header (so a huge photo is refused before it is decoded), then createImageBitmap (EXIF
 * orientation applied) → OffscreenCanvas (alpha flattened onto white, like the Node
 * decoder) → RgbImage. Also the small copies the page shows (previews, suggestions).
 */
import { grayLevel, type RgbImage } from '../../src/color/yuv.js';
import { DEFAULT_MAX_PIXELS } from '../../src/data/formats.js';

/** The page refuses what the command line refuses (`colorgan colorize --max-pixels`' default). */
export const MAX_PIXELS = DEFAULT_MAX_PIXELS;

export class InputError extends Error {}

export interface Sniffed {
  format: string;
  /** Header dimensions (before EXIF rotation); absent when the header was not parsed. */
  width?: number;
  height?: number;
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** Format and (when cheap) dimensions from the first bytes of a file. */
export function sniff(b: Uint8Array): Sniffed | null {
  if (b.length >= 24 && u32be(b, 0) === 0x89504e47 && ascii(b, 12, 4) === 'IHDR') {
    return { format: 'PNG', width: u32be(b, 16), height: u32be(b, 20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'JPEG', ...jpegSize(b) };
  if (b.length >= 30 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    const kind = ascii(b, 12, 4);
    if (kind === 'VP8 ') return { format: 'WebP', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
    if (kind === 'VP8L') {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { format: 'WebP', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (kind === 'VP8X') return { format: 'WebP', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
    return { format: 'WebP' };
  }
  if (b.length >= 10 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return { format: 'GIF', width: u16le(b, 6), height: u16le(b, 8) };
  }
  if (b.length >= 26 && ascii(b, 0, 2) === 'BM') {
    const w = b[18] | (b[19] << 8) | (b[20] << 16) | (b[21] << 24);
    const h = b[22] | (b[23] << 8) | (b[24] << 16) | (b[25] << 24);
    return { format: 'BMP', width: Math.abs(w), height: Math.abs(h) };
  }
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') {
    const brand = ascii(b, 8, 4);
    if (brand === 'avif' || brand === 'avis') return { format: 'AVIF' };
    if (/^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(brand)) return { format: 'HEIC' };
  }
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return { format: 'TIFF' };
  if (b.length >= 4 && ascii(b, 0, 4) === '8BPS') return { format: 'PSD' };
  if (b.length >= 12 && u32be(b, 0) === 0x0000000c && ascii(b, 4, 4) === 'jP  ') return { format: 'JPEG 2000' };
  if (b.length >= 2 && ascii(b, 0, 2) === '\xff\x0a') return { format: 'JPEG XL' };
  if (b.length >= 4 && ascii(b, 0, 4) === '%PDF') return { format: 'PDF' };
  if (b.length >= 5 && /<svg|<\?xml/i.test(ascii(b, 0, Math.min(b.length, 256)))) return { format: 'SVG' };
  return null;
}

function jpegSize(b: Uint8Array): { width?: number; height?: number } {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return {};
    const m = b[i + 1];
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = u16be(b, i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    if (m === 0xda) return {};
    i += 2 + len;
  }
  return {};
}

const megapixels = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MP`;

function checkSize(width: number, height: number): void {
  if (width * height > MAX_PIXELS) {
    throw new InputError(
      `This photo is ${width}×${height} = ${megapixels(width * height)}, above the ${MAX_PIXELS / 1e6} MP limit of the page. Please use a smaller version.`,
    );
  }
}

const SUPPORTED = 'JPEG, PNG, WebP, GIF, BMP or AVIF';

export interface Decoded {
  /** Interleaved RGB of the upright photo. */
  img: RgbImage;
  /** A small copy (long side ≤ SMALL_LONG_SIDE, short side ≥ SMALL_SHORT_SIDE when the photo has it) for suggestions. */
  small: RgbImage;
  format: string;
  /** True when the photo has color (the model only uses its brightness). */
  hasColor: boolean;
}

/** Size of the small copy suggestions are colorized on: cheap, and at least the largest render size on its short side. */
const SMALL_LONG_SIDE = 640;
const SMALL_SHORT_SIDE = 256;

/** Width and height of `w`×`h` scaled by `s` (at least 1 px each). */
const scaled = (w: number, h: number, s: number) => ({ width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) });

/** Draw `source` on a white canvas of `width`×`height` and read it back as RGB. */
function readRgb(source: ImageBitmap, width: number, height: number): { img: RgbImage; hasColor: boolean } {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new InputError('Not enough memory for a canvas of this size.');
  ctx.fillStyle = '#fff'; // transparent pixels become white, like the command line
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  let rgba: Uint8ClampedArray;
  try {
    rgba = ctx.getImageData(0, 0, width, height).data;
  } catch {
    throw new InputError(`Not enough memory to read a ${width}×${height} photo. Please use a smaller version.`);
  }
  const n = width * height;
  const data = new Uint8Array(n * 3);
  let hasColor = false;
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
    const r = rgba[j],
      g = rgba[j + 1],
      b = rgba[j + 2];
    data[k] = r;
    data[k + 1] = g;
    data[k + 2] = b;
    if (!hasColor && (Math.abs(r - g) > 2 || Math.abs(g - b) > 2)) hasColor = true;
  }
  return { img: { width, height, data }, hasColor };
}

/** Decode a file/blob into RGB pixels, with clear errors for unusable input. */
export async function decodePhoto(blob: Blob): Promise<Decoded> {
  if (!(blob instanceof Blob)) throw new TypeError('decodePhoto: expected a Blob');
  if (blob.size === 0) throw new InputError('This file is empty.');
  const head = new Uint8Array(await blob.slice(0, 512 * 1024).arrayBuffer());
  const s = sniff(head);
  if (!s) {
    const type = blob.type ? ` (${blob.type})` : '';
    throw new InputError(`This file is not an image${type}, or not in a format the page understands. Use ${SUPPORTED}.`);
  }
  if (['TIFF', 'PSD', 'PDF', 'SVG', 'JPEG 2000', 'JPEG XL'].includes(s.format)) {
    throw new InputError(`${s.format} files are not supported here. Convert the photo to ${SUPPORTED}.`);
  }
  if (s.width !== undefined && s.height !== undefined) {
    if (!s.width || !s.height) throw new InputError(`This ${s.format} file has no valid size in its header (corrupt?).`);
    checkSize(s.width, s.height);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    if (s.format === 'HEIC' || s.format === 'AVIF') throw new InputError(`This browser cannot decode ${s.format} photos. Convert it to JPEG or PNG.`);
    throw new InputError(`This ${s.format} file could not be decoded: it is probably corrupt or truncated.`);
  }
  try {
    const { width, height } = bitmap;
    checkSize(width, height);
    const { img, hasColor } = readRgb(bitmap, width, height);
    const f = Math.min(1, Math.max(SMALL_LONG_SIDE / Math.max(width, height), SMALL_SHORT_SIDE / Math.min(width, height)));
    const small =
      f === 1
        ? img
        : (() => {
            const d = scaled(width, height, f);
            return readRgb(bitmap, d.width, d.height).img;
          })();
    return { img, small, format: s.format, hasColor };
  } finally {
    bitmap.close();
  }
}

/** Size of a preview of `width`×`height` whose long side is at most `maxSide`. */
export function previewSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  return scaled(width, height, Math.min(1, maxSide / Math.max(width, height)));
}

/**
 * RGB → RGBA ImageData of `width`×`height` (a downscale: each output pixel is the mean of
 * the input pixels it covers), optionally the gray luma only. Equal sizes copy.
 */
export function toImageData(img: RgbImage, width = img.width, height = img.height, gray = false): ImageData {
  if (width > img.width || height > img.height || width < 1 || height < 1)
    throw new RangeError(`toImageData: ${width}×${height} is not a downscale of ${img.width}×${img.height}`);
  const out = new ImageData(width, height);
  const d = out.data;
  const s = img.data;
  const sw = img.width;
  // Source column range of each output column.
  const x0 = new Int32Array(width + 1);
  for (let x = 0; x <= width; x++) x0[x] = Math.floor((x * img.width) / width);
  const acc = new Float64Array(width * 3);
  for (let y = 0, j = 0; y < height; y++) {
    const ya = Math.floor((y * img.height) / height);
    const yb = Math.floor(((y + 1) * img.height) / height);
    acc.fill(0);
    for (let sy = ya; sy < yb; sy++) {
      const row = sy * sw * 3;
      for (let x = 0; x < width; x++) {
        let r = 0,
          g = 0,
          b = 0;
        for (let sx = x0[x], k = row + sx * 3; sx < x0[x + 1]; sx++, k += 3) {
          r += s[k];
          g += s[k + 1];
          b += s[k + 2];
        }
        acc[x * 3] += r;
        acc[x * 3 + 1] += g;
        acc[x * 3 + 2] += b;
      }
    }
    for (let x = 0; x < width; x++, j += 4) {
      const n = (yb - ya) * (x0[x + 1] - x0[x]);
      const r = acc[x * 3] / n,
        g = acc[x * 3 + 1] / n,
        b = acc[x * 3 + 2] / n;
      if (gray) {
        d[j] = d[j + 1] = d[j + 2] = grayLevel(r, g, b);
      } else {
        d[j] = r;
        d[j + 1] = g;
        d[j + 2] = b;
      }
      d[j + 3] = 255;
    }
  }
  return out;
}
