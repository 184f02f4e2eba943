/**
 * Streaming colorization of large JPEGs (Node, optional native addons).
 *
 * The general path decodes the whole photo to RGB in JS memory, colorizes it and hands
 * it back to sharp to encode: full-size passes one after another. Here the model's input
 * comes from the luma's 8×8 block means (what libjpeg's 1/8-scale decode gives), area-
 * averaged to the model size, and then:
 *   - to JPEG (colorgan_jpeg): the photo's luma DCT coefficients are kept as they are and
 *     only new Cb/Cr are computed and coded — no inverse/forward DCT of the luma at all;
 *   - to PNG/WebP (colorgan_vips): one libvips pipeline decodes, adds the upsampled chroma
 *     to each pixel's own luma (the same sharpening as the JS, in float: within one level)
 *     and encodes, strip by strip, so decode and encode overlap.
 * The block-mean model input differs slightly from the general path's exact area average,
 * which is why only photos of at least STREAMING_MIN_SCALE × the model grid come here.
 * Both paths run on any model grid gw × gh (grid.ts: S×S for the paper's models, the
 * photo's aspect for fully convolutional ones).
 *
 * Used for upright (EXIF orientation 1) 8-bit gray or RGB JPEGs without ICC profile or
 * alpha; anything else returns null and the caller takes the general path.
 */
import sharp from 'sharp';
import { NET_SCALE } from '../color/yuv.js';
import { STRICT_INPUT, type EncodeFormat } from '../data/decode.js';
import { chromaGain, scaleChroma, type Colorizer, type ColorizeOptions } from './colorizer.js';
import { noiseFor, predictUv } from './generate.js';
import { gridDims, lumaForModel, lumaPlaneForModel, sharpenTaps, type GridSize } from './sharpen.js';
import { modelGrid, type Grid } from './grid.js';
import { loadJpegAddon, loadStreamingAddon, type JpegAddon, type VipsAddon } from './native-pixels.js';

/** Which streaming path an eligible photo takes for an output format, if any addon is built. */
export function streamingPath(format: EncodeFormat): 'dct' | 'pixels' | null {
  if (format === 'jpeg' && loadJpegAddon()) return 'dct';
  return loadStreamingAddon() ? 'pixels' : null;
}

/**
 * JPEG → JPEG in the DCT domain (native/colorgan_jpeg.cc): the photo's luma coefficients
 * are copied unchanged and only the chroma is computed and encoded. The model's input is
 * the area average of the luma's 8×8 block means (the same numbers libjpeg's 1/8-scale
 * decode gives, without decoding).
 */
async function colorizeJpegDct(addon: JpegAddon, bytes: Buffer, c: Colorizer, grid: Grid, opts: StreamingOptions): Promise<Buffer | null> {
  const { zDim } = c.meta.config;
  let opened: Awaited<ReturnType<JpegAddon['open']>>;
  try {
    opened = await addon.open(bytes);
  } catch {
    return null; // not a plain YCbCr/gray JPEG, or damaged: the general path decides
  }
  const { width: gw, height: gh } = grid;
  const small = lumaPlaneForModel(opened.means, opened.blocksW, opened.blocksH, gw, gh);
  const [uv] = predictUv(c.model, grid, [small], [noiseFor(opts.seed ?? 0, opts.sample ?? 0, zDim)]);
  scaleChroma(uv, chromaGain(c, opts));
  try {
    return await addon.finish(opened.handle, uv, gw, NET_SCALE, opts.quality ?? 92, gh);
  } catch {
    return null;
  }
}

export interface StreamingOptions extends ColorizeOptions {
  format: EncodeFormat;
  /** JPEG/WebP quality (default 92, like encodeImage). */
  quality?: number;
  /** Refuse (return null, so the general path reports it) above this many pixels. */
  maxPixels?: number;
}

/**
 * The streaming paths take the model's input from 8×8-block means; on photos at least
 * this many times the model grid along each side (photo pixels per grid cell) the colors
 * then differ from the general path's by less than a level on average (0.04–0.8 measured
 * on the test photos at 1600–4000 px, 1.5–4 at 640 px). Smaller photos are quick on the
 * general path anyway.
 */
export const STREAMING_MIN_SCALE = 24;

/**
 * Why a photo cannot take the streaming path, or null if it can.
 * @param grid  the model grid for this photo (modelGrid), or the side of a square one: the
 *              photo must be at least {@link STREAMING_MIN_SCALE} × gw wide and × gh high.
 *              (Not × the grid's larger side on both axes: an aspect-preserving grid has
 *              about the same pixels per cell along both, and 2000×1600 on 80×64 would fail.)
 */
export function streamingIneligible(meta: sharp.Metadata, grid: GridSize, maxPixels: number): string | null {
  if (meta.format !== 'jpeg') return 'not a JPEG';
  const { width = 0, height = 0 } = meta;
  const { gw, gh } = gridDims(grid);
  if (width < STREAMING_MIN_SCALE * gw || height < STREAMING_MIN_SCALE * gh) return `smaller than ${STREAMING_MIN_SCALE}× the model grid`;
  if (width * height > maxPixels) return 'above the pixel limit';
  if ((meta.orientation ?? 1) !== 1) return 'EXIF-rotated';
  if (meta.hasAlpha || meta.depth !== 'uchar' || (meta.channels !== 1 && meta.channels !== 3)) return 'not 8-bit gray or RGB';
  if (meta.space !== 'srgb' && meta.space !== 'b-w') return `colour space ${meta.space}`;
  if (meta.icc) return 'has an ICC profile';
  return null;
}

/**
 * Colorize an encoded JPEG straight to an encoded image, or return null when the photo
 * or the machine cannot take this path. Rejects only for errors of the model; a photo
 * that libvips cannot read resolves null too, so the general path names the cause.
 */
export async function colorizeEncodedStreaming(bytes: Buffer, c: Colorizer, opts: StreamingOptions): Promise<Buffer | null> {
  const which = streamingPath(opts.format);
  if (!which) return null;
  // The native paths upsample bilinearly (on any model grid gw × gh).
  if ((opts.upsample ?? c.meta.inference?.upsample ?? 'bilinear') !== 'bilinear') return null;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    return null;
  }
  const grid = modelGrid(c.meta.config, meta.width ?? 0, meta.height ?? 0, opts.renderSize);
  if (streamingIneligible(meta, grid, opts.maxPixels ?? Infinity)) return null;
  if (which === 'dct') return colorizeJpegDct(loadJpegAddon()!, bytes, c, grid, opts);
  return colorizePixelsVips(loadStreamingAddon()!, bytes, meta.width!, meta.height!, c, grid, opts);
}

/** Any output format through one libvips pipeline (native/colorgan_vips.cc). */
async function colorizePixelsVips(addon: VipsAddon, bytes: Buffer, width: number, height: number, c: Colorizer, grid: Grid, opts: StreamingOptions): Promise<Buffer | null> {
  const { zDim } = c.meta.config;
  const sw = Math.ceil(width / 8);
  const sh = Math.ceil(height / 8);
  let small: { data: Buffer; info: sharp.OutputInfo };
  try {
    small = await sharp(bytes, STRICT_INPUT) // libjpeg's 1/8-scale decode: the block means
      .resize(sw, sh, { fit: 'fill', fastShrinkOnLoad: true, kernel: 'linear' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch {
    return null;
  }
  if (small.info.channels !== 3 || small.info.width !== sw || small.info.height !== sh) return null;
  const { width: gw, height: gh } = grid;
  const y = lumaForModel(new Uint8Array(small.data.buffer, small.data.byteOffset, small.data.length), sw, sh, gw, gh);
  const [uv] = predictUv(c.model, grid, [y], [noiseFor(opts.seed ?? 0, opts.sample ?? 0, zDim)]);
  scaleChroma(uv, chromaGain(c, opts));
  const t = sharpenTaps(width, height, gw, gh);
  try {
    return await addon.sharpen(bytes, width, height, uv, gw, t.x0s, t.fxs, t.tyIndex, t.tyWeight, NET_SCALE, opts.format, opts.quality ?? 92, gh);
  } catch {
    return null; // e.g. corrupt data past the header: the general path names the cause
  }
}
