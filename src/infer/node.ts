/**
 * The Node library API for colorization: loadModel(), planColorize(), colorize() and
 * colorizeSamples(). Per photo: open it (the file read once, its header read once), choose
 * the plan (plan.ts), then make the outputs one at a time, each when asked for — the
 * streaming ways for a large JPEG (streaming.ts), else decode with sharp and the shared
 * colorizer (colorizer.ts).
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { initBackend } from '../backend/node.js';
import { loadModelFromDir, readMetadata, METADATA_JSON } from '../models/io.js';
import { checkColorizer, checkRefineStage, type ModelMetadata } from '../models/metadata.js';
import {
  decodeImage,
  encodeImage,
  encodeFormatOf,
  openImage,
  DEFAULT_MAX_PIXELS,
  type EncodedImage,
  type EncodeFormat,
  type EncodeFormatName,
} from '../data/decode.js';
import { attachMetadata, photoMetadataOf } from '../data/photo-metadata.js';
import { BUNDLED_MODELS, DEFAULT_MODEL, bundledModelDir, modelDirOf, type BundledModelName } from '../models/bundled.js';
import type { RgbImage } from '../color/yuv.js';
import { checkInput, checkOptions, checkCount } from './validate.js';
import {
  colorizeImage,
  sampleColorizations,
  toColorizer,
  type Colorization,
  type Colorizer,
  type ColorizeOptions,
  type GeneratorModel,
  type RefineStage,
} from './colorizer.js';
import { installNativePixelKernels } from './native-pixels.js';
import { choosePlan, type ColorizePlan } from './plan.js';
import { runStreamingPlan } from './streaming.js';

export { BUNDLED_MODELS, DEFAULT_MODEL, bundledModelDir, modelDirOf, type BundledModelName };

const cache = new Map<string, Promise<Colorizer>>();

/**
 * Load a generator: a bundled model's name ('general', 'sky') or a folder (model.json,
 * weights.bin, colorgan.json); default: the bundled general model.
 */
export function loadModel(dir: string = bundledModelDir()): Promise<Colorizer> {
  if (typeof dir !== 'string' || dir === '')
    return Promise.reject(new TypeError(`loadModel: dir must be a model name or folder, got ${typeof dir === 'string' ? '""' : typeof dir}`));
  const key = path.resolve(modelDirOf(dir));
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const st = await fs.stat(key).catch(() => null);
      if (!st?.isDirectory()) throw new Error(`${dir}: no such model folder`);
      await initBackend();
      installNativePixelKernels();
      const meta = await readMetadata(key);
      checkColorizer(meta, dir);
      const model = await loadModelFromDir(key);
      return toColorizer({ model, meta, source: key, refine: await loadRefineStages(key, meta) });
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** The refinement stages a model folder lists in its metadata (`refine`), each checked to be one. */
async function loadRefineStages(dir: string, meta: ModelMetadata): Promise<RefineStage[]> {
  const stages: RefineStage[] = [];
  for (const name of meta.refine ?? []) {
    const sub = path.join(dir, name);
    const m = await readMetadata(sub);
    checkRefineStage(m, sub, path.join(dir, METADATA_JSON));
    stages.push({ model: await loadModelFromDir(sub), meta: m, source: sub });
  }
  return stages;
}

export type ColorizeInput = string | Buffer | RgbImage;

export interface ColorizeCallOptions extends ColorizeOptions {
  /** A loaded model (default: the bundled one). */
  model?: GeneratorModel;
  /** Return the generator's direct output at model size instead of full resolution. */
  raw?: boolean;
  /** Return an encoded image instead of pixels ('jpg' is 'jpeg'). */
  format?: EncodeFormatName;
  /** JPEG/WebP quality with `format` (default DEFAULT_QUALITY, 92). */
  quality?: number;
  /**
   * Encoded outputs keep the input's EXIF (orientation set to 1), XMP and IPTC, and carry
   * the sRGB profile if the input had a profile (default true; data/photo-metadata.ts).
   */
  keepMetadata?: boolean;
  /** Refuse inputs above this many pixels before decoding (default 100 MP). */
  maxPixels?: number;
  /** Name used in error messages for Buffer inputs. */
  name?: string;
}

/** One output of a photo: made (colorized, encoded with `format`) when first asked for. */
export interface PhotoOutput<T> {
  /** Which sample of the seed it is. */
  readonly sample: number;
  value(): Promise<T>;
}

/** A photo opened and planned; its outputs come one at a time, so memory stays bounded by one photo. */
export interface PlannedPhoto<T> {
  plan: ColorizePlan;
  /** The photo's full-resolution size, upright (EXIF orientation applied). */
  width: number;
  height: number;
  outputs(): AsyncGenerator<PhotoOutput<T>, void, undefined>;
}

/** The options once checked, with the format's canonical name. */
type ResolvedOptions = Omit<ColorizeCallOptions, 'format'> & { format?: EncodeFormat };

/** A photo as opened: encoded (bytes and header) or the caller's pixels. */
type Photo = { encoded: EncodedImage } | { pixels: RgbImage };

/**
 * Open a photo (a file is read once, its header once) and choose how `count` colorizations
 * of it are made; nothing is decoded yet. With `format` the outputs are encoded images,
 * else RGB pixels (the model-size ones with `raw`).
 */
export async function planColorize(
  input: ColorizeInput,
  count: number,
  options: ColorizeCallOptions & { format: EncodeFormatName },
): Promise<PlannedPhoto<Buffer>>;
export async function planColorize(input: ColorizeInput, count: number, options?: ColorizeCallOptions): Promise<PlannedPhoto<RgbImage>>;
export async function planColorize(input: ColorizeInput, count: number, given: ColorizeCallOptions = {}): Promise<PlannedPhoto<RgbImage | Buffer>> {
  checkInput(input);
  checkCount(count);
  checkOptions(given);
  const options: ResolvedOptions = { ...given, format: given.format === undefined ? undefined : encodeFormatOf(given.format) };
  installNativePixelKernels();
  const c = toColorizer(options.model ?? (await loadModel()));
  const photo = await openPhoto(input, options);
  const header = 'encoded' in photo ? photo.encoded.header : null;
  const plan = choosePlan(header, c, { ...options, count, maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS });
  const { width, height } = uprightSize(photo);
  return { plan, width, height, outputs: () => outputsOf(photo, plan, c, count, options) };
}

function uprightSize(photo: Photo): { width: number; height: number } {
  if ('pixels' in photo) return photo.pixels;
  const { width = 0, height = 0, orientation = 1 } = photo.encoded.header;
  // EXIF orientations 5–8 turn the photo by a quarter.
  return orientation >= 5 ? { width: height, height: width } : { width, height };
}

async function openPhoto(input: ColorizeInput, o: ResolvedOptions): Promise<Photo> {
  if (typeof input === 'string' || Buffer.isBuffer(input)) return { encoded: await openImage(input, { maxPixels: o.maxPixels, name: o.name }) };
  if (input.data.length !== input.width * input.height * 3)
    throw new Error(`RGB input: expected ${input.width * input.height * 3} bytes, got ${input.data.length}`);
  return { pixels: input };
}

function lazily<T>(sample: number, make: () => Promise<T>): PhotoOutput<T> {
  let made: Promise<T> | undefined;
  return { sample, value: () => (made ??= make()) };
}

async function* outputsOf(
  photo: Photo,
  plan: ColorizePlan,
  c: Colorizer,
  count: number,
  o: ResolvedOptions,
): AsyncGenerator<PhotoOutput<RgbImage | Buffer>, void, undefined> {
  // Every encoded output of every way gets the input's metadata the same way: written into its container.
  const meta = 'encoded' in photo && o.format && o.keepMetadata !== false ? await photoMetadataOf(photo.encoded.header) : null;
  const withMeta = (buf: Buffer, format: EncodeFormat): Buffer => (meta ? attachMetadata(buf, format, meta) : buf);
  const finish = async (col: Colorization): Promise<RgbImage | Buffer> => {
    const img = o.raw ? col.raw : col.rgb;
    return o.format ? withMeta(await encodeImage(img, o.format, { quality: o.quality }), o.format) : img;
  };
  const pixels = (): Promise<RgbImage> | RgbImage => ('pixels' in photo ? photo.pixels : decodeImage(photo.encoded));
  if (plan.kind !== 'general' && 'encoded' in photo && o.format) {
    const { encoded } = photo;
    const format = o.format;
    // One output; the general path only if the streaming way's decoder refuses the data.
    yield lazily(o.sample ?? 0, async () => {
      const streamed = await runStreamingPlan(plan, encoded, c, { ...o, format });
      return streamed ? withMeta(streamed, format) : finish(colorizeImage(c, await pixels(), o));
    });
    return;
  }
  for (const col of sampleColorizations(c, await pixels(), count, o)) yield lazily(col.sample, async () => finish(col));
}

/**
 * Colorize a photo (path, encoded Buffer, or RGB pixels). Color inputs are made gray
 * first: only their luma is used. Returns RGB pixels, or an encoded image with `format`.
 */
export async function colorize(input: ColorizeInput, options: ColorizeCallOptions & { format: EncodeFormatName }): Promise<Buffer>;
export async function colorize(input: ColorizeInput, options?: ColorizeCallOptions): Promise<RgbImage>;
export async function colorize(input: ColorizeInput, options: ColorizeCallOptions = {}): Promise<RgbImage | Buffer> {
  const { value } = await firstOutput((await planColorize(input, 1, options)).outputs());
  return value();
}

async function firstOutput<T>(outputs: AsyncGenerator<PhotoOutput<T>, void, undefined>): Promise<PhotoOutput<T>> {
  const first = await outputs.next();
  await outputs.return();
  if (first.done) throw new Error('colorize: no output');
  return first.value;
}

/**
 * `count` different colorizations (different z) of one photo: RGB pixels, or encoded
 * images with `format`. They are all held at once; planColorize gives them one at a time.
 */
export async function colorizeSamples(input: ColorizeInput, count: number, options: ColorizeCallOptions & { format: EncodeFormatName }): Promise<Buffer[]>;
export async function colorizeSamples(input: ColorizeInput, count: number, options?: ColorizeCallOptions): Promise<RgbImage[]>;
export async function colorizeSamples(input: ColorizeInput, count: number, options: ColorizeCallOptions = {}): Promise<(RgbImage | Buffer)[]> {
  const planned = await planColorize(input, count, options);
  const out: (RgbImage | Buffer)[] = [];
  for await (const o of planned.outputs()) out.push(await o.value());
  return out;
}
