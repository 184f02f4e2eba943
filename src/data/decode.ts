/**
 * Image decoding with sharp: any supported file (JPEG, PNG, WebP, TIFF) -> 8-bit interleaved sRGB.
 *
 * Every decode applies the same normalisation:
 *   - EXIF orientation applied (`.rotate()`), so the pixels are upright;
 *   - alpha flattened onto white, then dropped;
 *   - 16-bit samples reduced to 8 bits, gray expanded to 3 channels (`toColourspace('srgb')`);
 *   - damaged files are errors, not silently half-gray images: `decodeImage` (what is
 *     colorized) fails on any libjpeg/libpng warning (`failOn: 'warning'`: garbled entropy
 *     data, a header promising more rows than the data holds); `decodeResized` (training
 *     crops) on truncation only;
 *   - only regular files are read (FIFOs, devices, sockets refused before any read), and
 *     their byte size is checked against a limit first;
 *   - the pixel count is checked from the header (`metadata()`) before any pixel is decoded,
 *     and sharp's own `limitInputPixels` guards the decode itself.
 * Failures are thrown as {@link ImageDecodeError} with a short one-line reason.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../color/yuv.js';
import { firstLine } from '../util/text.js';
import { DEFAULT_MAX_PIXELS } from '../util/image-limits.js';

/** File extensions treated as images (lower case; matching is case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'];

/** True if the file name has one of {@link IMAGE_EXTENSIONS} (case-insensitive). */
export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

export { DEFAULT_MAX_PIXELS } from '../util/image-limits.js';

/** Default byte-size limit of an input file (checked before it is read). */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

export class ImageDecodeError extends Error {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'ImageDecodeError';
    this.file = file;
    this.reason = reason;
  }
}

/** Why a photo was skipped, in one line: an ImageDecodeError's reason (no file name), else the error's first line. */
export function reasonOf(err: unknown): string {
  return err instanceof ImageDecodeError ? err.reason : String((err as Error)?.message ?? err).split('\n')[0];
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default {@link DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
  /** Refuse files (and Buffers) larger than this many bytes (default {@link DEFAULT_MAX_BYTES}). */
  maxBytes?: number;
  /** Name used in error messages when the input is a Buffer (default "<buffer>"). */
  name?: string;
}

export type EncodeFormat = 'png' | 'jpeg' | 'webp';

// ---- internals -------------------------------------------------------------------------

const SHARP_INPUT = { failOn: 'truncated' } as const;
/** What colorize decodes with: any decoder warning is an error (also used by the streaming paths). */
export const STRICT_INPUT = { failOn: 'warning' } as const;

function labelOf(input: string | Buffer, opts?: DecodeOptions): string {
  return typeof input === 'string' ? input : (opts?.name ?? '<buffer>');
}

/** "400.0 MP" for big counts, "6912 pixels" for small ones; whole megapixels without ".0" when exact. */
function formatPixels(pixels: number, exactWhole = false): string {
  if (pixels < 100_000) return `${pixels} pixels`;
  const mp = pixels / 1e6;
  return exactWhole && Number.isInteger(mp) ? `${mp} MP` : `${mp.toFixed(1)} MP`;
}

/** Map a sharp/libvips (or fs) error to a short reason. */
function reasonFor(err: unknown, format?: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EISDIR') return 'is a folder, not a file';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  const msg = String(e?.message ?? err);
  const corrupt = /Corrupt JPEG data[^\n]*/i.exec(msg);
  if (corrupt) return `corrupt JPEG data (${corrupt[0].replace(/^Corrupt JPEG data:?\s*/i, '')})`;
  if (/unsupported image format/i.test(msg)) return 'not an image (unsupported or corrupt data)';
  if (/pixel limit/i.test(msg)) return 'image is above the pixel limit';
  if (/premature end|truncat|short read|unexpected end/i.test(msg)) {
    return `truncated or corrupt ${format ? format.toUpperCase() : 'image'}`;
  }
  if (/corrupt header/i.test(msg)) return format ? `corrupt ${format.toUpperCase()} header` : 'corrupt image header';
  if (/VipsJpeg|jpeg/i.test(msg) && (format === 'jpeg' || format === undefined)) return `corrupt JPEG (${firstLine(msg)})`;
  if (/spng|png/i.test(msg) && (format === 'png' || format === undefined)) return 'truncated or corrupt PNG';
  if (/webp/i.test(msg)) return 'truncated or corrupt WEBP';
  if (/tiff/i.test(msg)) return `corrupt TIFF (${firstLine(msg)})`;
  return `cannot decode (${firstLine(msg)})`;
}

/**
 * libvips keeps its error text in a process-wide buffer; with several decodes in flight a
 * failure can come back without it ("Unknown error"). Such failures are retried once.
 */
function isBlankError(err: unknown): boolean {
  return /^\s*(unknown error)?\s*$/i.test(String((err as Error)?.message ?? ''));
}

/** Run a sharp call, once more if it failed blank; throws the last error. */
async function retryBlank<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isBlankError(err)) throw err;
    return call();
  }
}

/** The format of a file's signature bytes, if it is one we decode. */
function sniffFormat(b: Buffer): string | null {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xd8) return 'jpeg';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x89504e47) return 'png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (b.toString('latin1', 0, 4) === 'II*\0' || b.toString('latin1', 0, 4) === 'MM\0*')) return 'tiff';
  return null;
}

/**
 * A byte-level look at a file that failed to decode, independent of libvips' error text.
 * Returns a reason when the file is clearly cut short.
 */
function structuralReason(bytes: Buffer, format: string): string | null {
  if (format === 'jpeg') {
    // Entropy-coded data escapes 0xFF, so after the last start-of-scan the only FF D9 is the end marker.
    const sos = bytes.lastIndexOf(Buffer.from([0xff, 0xda]));
    if (sos >= 0 && bytes.indexOf(Buffer.from([0xff, 0xd9]), sos) < 0) return 'truncated or corrupt JPEG';
  } else if (format === 'png') {
    if (bytes.lastIndexOf(Buffer.from('IEND', 'latin1')) < 0) return 'truncated or corrupt PNG';
  } else if (format === 'webp') {
    if (bytes.length >= 12 && bytes.readUInt32LE(4) + 8 > bytes.length) return 'truncated or corrupt WEBP';
  }
  return null;
}

/** An input read and checked, its header read once; no pixel decoded yet ({@link openImage}). */
export interface EncodedImage {
  bytes: Buffer;
  /** The header as libvips reads it (stored orientation: before EXIF rotation). */
  header: sharp.Metadata;
  /** The file name, or the name given for a Buffer: what error messages say. */
  label: string;
  /** The header's format ('jpeg', 'png', …). */
  format: string;
  /** The pixel limit it was checked against, and that its decode keeps. */
  maxPixels: number;
}

/**
 * Read the input (file -> Buffer, so the file is read once), check it is non-empty, read the
 * header once and refuse it if it is too large. Nothing is decoded yet.
 */
export async function openImage(input: string | Buffer, opts?: DecodeOptions): Promise<EncodedImage> {
  const label = labelOf(input, opts);
  const maxPixels = opts?.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new RangeError(`maxPixels must be positive, got ${maxPixels}`);
  const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${maxBytes}`);
  const bytes = typeof input === 'string' ? await readRegularFile(input, maxBytes) : input;
  if (bytes.length > maxBytes) throw new ImageDecodeError(label, `${bytes.length} bytes, above the ${maxBytes}-byte limit`);
  if (bytes.length === 0) throw new ImageDecodeError(label, 'empty file');
  let header: sharp.Metadata;
  try {
    // Header only: no pixels are decoded here, so the size check is cheap even for huge images.
    header = await retryBlank(() => sharp(bytes, { ...SHARP_INPUT, limitInputPixels: false }).metadata());
  } catch (cause) {
    // A known signature (a JPEG that is only its start marker) names its format.
    const sniffed = sniffFormat(bytes);
    const reason = sniffed
      ? `truncated or corrupt ${sniffed.toUpperCase()}`
      : isBlankError(cause)
        ? 'not an image (unsupported or corrupt data)'
        : reasonFor(cause);
    throw new ImageDecodeError(label, reason, { cause });
  }
  const { width, height } = header;
  if (!width || !height) throw new ImageDecodeError(label, 'not an image (no dimensions in header)');
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ImageDecodeError(label, `image is ${width}×${height} = ${formatPixels(pixels)}, above the ${formatPixels(maxPixels, true)} limit`);
  }
  return { bytes, header, label, format: header.format ?? 'image', maxPixels };
}

/** An input, opened unless it already is. */
function opened(input: string | Buffer | EncodedImage, opts?: DecodeOptions): Promise<EncodedImage> | EncodedImage {
  return typeof input === 'string' || Buffer.isBuffer(input) ? openImage(input, opts) : input;
}

/** What a special file is, for the refusal message. */
function kindOf(st: import('node:fs').Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/**
 * Read a file whole, but only a regular file of at most `maxBytes`: the checks are made on
 * the opened handle (no race between check and read). Opening a FIFO does not block
 * (O_NONBLOCK), so a FIFO without a writer is refused instead of hanging.
 */
export async function readRegularFile(file: string, maxBytes: number = DEFAULT_MAX_BYTES): Promise<Buffer> {
  let fh: import('node:fs/promises').FileHandle | undefined;
  try {
    fh = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageDecodeError(file, `${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) throw new ImageDecodeError(file, `file is ${st.size} bytes, above the ${maxBytes}-byte limit`);
    return await fh.readFile();
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(file, reasonFor(err), { cause: err });
  } finally {
    await fh?.close();
  }
}

/** Orientation, alpha, depth and color-space normalisation shared by all decodes. */
function normalised(bytes: Buffer, maxPixels: number, strict = false): sharp.Sharp {
  return sharp(bytes, { ...(strict ? STRICT_INPUT : SHARP_INPUT), limitInputPixels: Math.floor(maxPixels) })
    .rotate() // EXIF orientation
    .flatten({ background: { r: 255, g: 255, b: 255 } }); // no-op without alpha
}

async function toRgb(make: () => sharp.Sharp, bytes: Buffer, label: string, format: string): Promise<RgbImage> {
  const run = () =>
    make()
      .toColourspace('srgb') // gray -> RGB, 16-bit -> 8-bit
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await retryBlank(run);
  } catch (cause) {
    throw new ImageDecodeError(label, structuralReason(bytes, format) ?? reasonFor(cause, format), { cause });
  }
  const { width, height, channels } = out.info;
  if (channels !== 3 || out.data.length !== width * height * 3) {
    throw new ImageDecodeError(label, `unexpected decoded layout (${channels} channels, ${out.data.length} bytes)`);
  }
  const data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  return { width, height, data };
}

// ---- public API ------------------------------------------------------------------------

/** Decode a whole image at full resolution to upright 8-bit RGB (an opened one without reading its header again). */
export async function decodeImage(input: string | Buffer | EncodedImage, opts?: DecodeOptions): Promise<RgbImage> {
  const { bytes, label, format, maxPixels } = await opened(input, opts);
  return toRgb(() => normalised(bytes, maxPixels, true), bytes, label, format);
}

/**
 * Decode and resize to size×size: center crop to a square (`fit: 'cover'`), lanczos3
 * filter, same orientation/alpha/gray handling as {@link decodeImage}.
 */
export async function decodeResized(input: string | Buffer, size: number, opts?: DecodeOptions): Promise<RgbImage> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const { bytes, label, format, maxPixels } = await openImage(input, opts);
  const pipeline = () =>
    normalised(bytes, maxPixels).resize(size, size, {
      fit: 'cover',
      position: 'centre',
      kernel: 'lanczos3',
      // Exact shrink instead of the faster JPEG/WebP DCT shrink that can shift or alias slightly.
      fastShrinkOnLoad: false,
    });
  return toRgb(pipeline, bytes, label, format);
}

/** Encode an RGB image as PNG, JPEG (quality 92 by default) or WebP. */
export async function encodeImage(img: RgbImage, format: EncodeFormat, opts?: { quality?: number }): Promise<Buffer> {
  const { width, height, data } = img;
  if (data.length !== width * height * 3) {
    throw new Error(`encodeImage: ${width}×${height} RGB needs ${width * height * 3} bytes, got ${data.length}`);
  }
  const s = sharp(data, { raw: { width, height, channels: 3 } });
  switch (format) {
    case 'png':
      return s.png().toBuffer();
    case 'jpeg':
      return s.jpeg({ quality: opts?.quality ?? 92 }).toBuffer();
    case 'webp':
      return s.webp({ quality: opts?.quality ?? 92 }).toBuffer();
    default:
      throw new Error(`encodeImage: unknown format ${String(format)}`);
  }
}
