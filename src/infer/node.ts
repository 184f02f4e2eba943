/**
 * The Node library API for colorization: loadModel() and colorize(). Pixel IO is sharp;
 * everything else is the shared colorizer.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { initBackend } from '../backend/node.js';
import { loadModelFromDir, readMetadata } from '../models/io.js';
import { decodeImage, encodeImage, readRegularFile, DEFAULT_MAX_PIXELS, type EncodeFormat } from '../data/decode.js';
import { colorizeEncodedStreaming } from './streaming.js';
import { installNativePixelKernels } from './native-pixels.js';
import { packageRoot } from '../util/package-root.js';
import { BUNDLED_MODELS, DEFAULT_MODEL, type BundledModelName } from '../models/bundled.js';
import type { RgbImage } from '../color/yuv.js';
import { checkInput, checkOptions, checkCount } from './validate.js';
import { colorizeImageSamples, type Colorizer, type ColorizeOptions } from './colorizer.js';

export { BUNDLED_MODELS, DEFAULT_MODEL, type BundledModelName };

/** Folder of a bundled model (default: the general one). */
export function bundledModelDir(name: BundledModelName = DEFAULT_MODEL): string {
  if (!BUNDLED_MODELS.includes(name)) throw new RangeError(`unknown bundled model "${String(name)}" (expected ${BUNDLED_MODELS.join(' or ')})`);
  return path.join(packageRoot(), 'models', name);
}

/** A model argument: a bundled model's name, else a folder. */
export function modelDirOf(nameOrDir: string): string {
  return (BUNDLED_MODELS as readonly string[]).includes(nameOrDir) ? bundledModelDir(nameOrDir as BundledModelName) : nameOrDir;
}

const cache = new Map<string, Promise<Colorizer>>();

/**
 * Load a generator: a bundled model's name ('general', 'sky') or a folder (model.json,
 * weights.bin, colorgan.json); default: the bundled general model.
 */
export function loadModel(dir: string = bundledModelDir()): Promise<Colorizer> {
  if (typeof dir !== 'string' || dir === '') return Promise.reject(new TypeError(`loadModel: dir must be a model name or folder, got ${typeof dir === 'string' ? '""' : typeof dir}`));
  const key = path.resolve(modelDirOf(dir));
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const st = await fs.stat(key).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`${dir}: no such model folder`);
      await initBackend();
      installNativePixelKernels();
      const meta = await readMetadata(key);
      if (meta.format !== 'colorgan-generator') throw new Error(`${dir}: not a colorgan generator (format "${meta.format}")`);
      const model = await loadModelFromDir(key);
      return { model, meta, source: key };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

export type ColorizeInput = string | Buffer | RgbImage;

export interface ColorizeCallOptions extends ColorizeOptions {
  /** A loaded model (default: the bundled one). */
  model?: Colorizer;
  /** Return the generator's direct output at model size instead of full resolution. */
  raw?: boolean;
  /** Return an encoded image instead of pixels. */
  format?: EncodeFormat;
  /** JPEG/WebP quality with `format` (default 92). */
  quality?: number;
  /** Refuse inputs above this many pixels before decoding (default 100 MP). */
  maxPixels?: number;
  /** Name used in error messages for Buffer inputs. */
  name?: string;
}

/**
 * Colorize a photo (path, encoded Buffer, or RGB pixels). Color inputs are made gray
 * first: only their luma is used. Returns RGB pixels, or an encoded image with `format`.
 */
export async function colorize(input: ColorizeInput, options: ColorizeCallOptions & { format: EncodeFormat }): Promise<Buffer>;
export async function colorize(input: ColorizeInput, options?: ColorizeCallOptions): Promise<RgbImage>;
export async function colorize(input: ColorizeInput, options: ColorizeCallOptions = {}): Promise<RgbImage | Buffer> {
  checkInput(input);
  checkOptions(options);
  installNativePixelKernels();
  let src = input;
  let opts = options;
  if (options.format && !options.raw && (typeof input === 'string' || Buffer.isBuffer(input))) {
    // Large JPEGs: decode → colorize → encode in one streaming pipeline when the native addon is built.
    const model = options.model ?? (await loadModel());
    // Regular files under the byte limit only (a FIFO or /dev/zero is refused, not read).
    const bytes = typeof input === 'string' ? await readRegularFile(input).catch(() => null) : input;
    const out = bytes && (await colorizeEncodedStreaming(bytes, model, { ...options, format: options.format, maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS }));
    if (out) return out;
    // Anything else takes the general path: on the bytes already read (errors still name
    // the file), or on the path if reading failed, so that the error says why.
    if (bytes && typeof input === 'string') {
      src = bytes;
      opts = { ...options, model, name: input };
    }
  }
  const [out] = await colorizeSamples(src, 1, opts);
  return options.format ? encodeImage(out, options.format, { quality: options.quality }) : out;
}

/** `count` different colorizations (different z) of one photo, as RGB pixels. */
export async function colorizeSamples(input: ColorizeInput, count: number, options: ColorizeCallOptions = {}): Promise<RgbImage[]> {
  checkInput(input);
  checkCount(count);
  checkOptions(options);
  installNativePixelKernels();
  const model = options.model ?? (await loadModel());
  const img = await toRgb(input, options);
  const results = colorizeImageSamples(model, img, count, options);
  return results.map((r) => (options.raw ? r.raw : r.rgb));
}

async function toRgb(input: ColorizeInput, o: ColorizeCallOptions): Promise<RgbImage> {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return decodeImage(input, { maxPixels: o.maxPixels, name: o.name });
  if (input.data.length !== input.width * input.height * 3) throw new Error(`RGB input: expected ${input.width * input.height * 3} bytes, got ${input.data.length}`);
  return input;
}
