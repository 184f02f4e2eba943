/**
 * The streaming ways of colorizing a large JPEG (Node, optional native addons), run for
 * the photos plan.ts sends here.
 *
 * The general path decodes the whole photo to RGB in JS memory, colorizes it and hands
 * it back to sharp to encode: full-size passes one after another. Here the model's input
 * comes from the luma's 8×8 block means (what libjpeg's 1/8-scale decode gives), area-
 * averaged to the model grid — and to each refinement stage's grid, which the plan keeps
 * no finer than the blocks — and then:
 *   - to JPEG (colorgan_jpeg): the photo's luma DCT coefficients are kept as they are and
 *     only new Cb/Cr are computed and coded — no inverse/forward DCT of the luma at all;
 *   - to PNG/WebP (colorgan_vips): one libvips pipeline decodes, adds the upsampled chroma
 *     to each pixel's own luma (the same sharpening as the JS, in float: within one level)
 *     and encodes, strip by strip, so decode and encode overlap (a PNG is deflated in
 *     ~1 MB pieces on every core, by the addon's own encoder).
 * Both ways run on any model grid gw × gh (grid.ts: S×S for the paper's models, the
 * photo's aspect for fully convolutional ones).
 */
import sharp from 'sharp';
import { NET_SCALE } from '../color/yuv.js';
import { openImage, STRICT_INPUT, DEFAULT_QUALITY, type EncodedImage, type EncodeFormat } from '../data/decode.js';
import { chromaGain, predictChroma, scaleChroma, toColorizer, upsampleOf, type Colorizer, type ColorizeOptions, type GeneratorModel } from './colorizer.js';
import { guidedGrid } from './guided.js';
import { loadJpegAddon, loadStreamingAddon, type JpegAddon, type VipsAddon } from './native-pixels.js';
import { choosePlan, type StreamingPlan } from './plan.js';
import { lumaForModel, lumaPlaneForModel, sharpenTaps } from './sharpen.js';
import type { Grid } from './grid.js';

export interface StreamingOptions extends ColorizeOptions {
  format: EncodeFormat;
  /** JPEG/WebP quality (default DEFAULT_QUALITY, like encodeImage). */
  quality?: number;
  /** Refuse (return null, so the general path reports it) above this many pixels. */
  maxPixels?: number;
}

/**
 * What the addons upsample, on the plan's finest grid (the base grid, or its last
 * refinement stage's): the model's U,V with the saturation gain, or for guided
 * upsampling the coefficients made from them (guidedGrid; the addons tell the two
 * apart by length). `lumaAt` gives the photo's luma on a grid.
 */
function chromaOf(c: Colorizer, plan: StreamingPlan, lumaAt: (g: Grid) => Float32Array, opts: StreamingOptions): { uv: Float32Array; grid: Grid } {
  const lumas = plan.stages.map((grid) => ({ grid, data: lumaAt(grid) }));
  const base = { grid: plan.grid, data: lumaAt(plan.grid) };
  const [raw] = predictChroma(c, base, lumas, opts.seed ?? 0, [opts.sample ?? 0]);
  const uv = scaleChroma(raw, chromaGain(c, opts));
  const grid = plan.stages.at(-1) ?? plan.grid;
  if (upsampleOf(c, opts) !== 'guided') return { uv, grid };
  return { uv: guidedGrid(lumas.at(-1)?.data ?? base.data, uv, grid.width, grid.height), grid };
}

/**
 * Run a streaming plan. Resolves null when the addon is gone or its decoder refuses the
 * data (damaged past the header, not plain YCbCr/gray): the general path then names the
 * cause. Rejects only for errors of the model.
 */
export async function runStreamingPlan(plan: StreamingPlan, photo: EncodedImage, c: Colorizer, opts: StreamingOptions): Promise<Buffer | null> {
  if (plan.kind === 'dct') {
    const addon = loadJpegAddon();
    return addon && colorizeJpegDct(addon, photo.bytes, c, plan, opts);
  }
  const addon = loadStreamingAddon();
  const { width = 0, height = 0 } = photo.header;
  return addon && colorizePixelsVips(addon, photo.bytes, width, height, c, plan, opts);
}

/**
 * Colorize an encoded JPEG straight to an encoded image, or return null when the photo
 * or the machine cannot take a streaming way (plan.ts says why) or its decoder refuses it.
 */
export async function colorizeEncodedStreaming(bytes: Buffer, g: GeneratorModel, opts: StreamingOptions): Promise<Buffer | null> {
  const maxPixels = opts.maxPixels ?? Infinity;
  let photo: EncodedImage;
  try {
    photo = await openImage(bytes, { maxPixels });
  } catch {
    return null;
  }
  const plan = choosePlan(photo.header, g, { ...opts, count: 1, maxPixels });
  return plan.kind === 'general' ? null : runStreamingPlan(plan, photo, toColorizer(g), opts);
}

/**
 * JPEG → JPEG in the DCT domain (native/colorgan_jpeg.cc): the photo's luma coefficients
 * are copied unchanged and only the chroma is computed and encoded. The model's input is
 * the area average of the luma's 8×8 block means (the same numbers libjpeg's 1/8-scale
 * decode gives, without decoding).
 */
async function colorizeJpegDct(addon: JpegAddon, bytes: Buffer, c: Colorizer, plan: StreamingPlan, opts: StreamingOptions): Promise<Buffer | null> {
  let opened: Awaited<ReturnType<JpegAddon['open']>>;
  try {
    opened = await addon.open(bytes);
  } catch {
    return null; // not a plain YCbCr/gray JPEG, or damaged: the general path decides
  }
  const { uv, grid } = chromaOf(c, plan, (g) => lumaPlaneForModel(opened.means, opened.blocksW, opened.blocksH, g.width, g.height), opts);
  try {
    return await addon.finish(opened.handle, uv, grid.width, NET_SCALE, opts.quality ?? DEFAULT_QUALITY, grid.height);
  } catch {
    return null;
  }
}

/** Any output format through one libvips pipeline (native/colorgan_vips.cc). */
async function colorizePixelsVips(
  addon: VipsAddon,
  bytes: Buffer,
  width: number,
  height: number,
  c: Colorizer,
  plan: StreamingPlan,
  opts: StreamingOptions,
): Promise<Buffer | null> {
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
  const rgb = new Uint8Array(small.data.buffer, small.data.byteOffset, small.data.length);
  const { uv, grid } = chromaOf(c, plan, (g) => lumaForModel(rgb, sw, sh, g.width, g.height), opts);
  const { width: gw, height: gh } = grid;
  const t = sharpenTaps(width, height, gw, gh);
  try {
    return await addon.sharpen(bytes, width, height, uv, gw, t.x0s, t.fxs, t.tyIndex, t.tyWeight, NET_SCALE, opts.format, opts.quality ?? DEFAULT_QUALITY, gh);
  } catch {
    return null; // e.g. corrupt data past the header: the general path names the cause
  }
}
