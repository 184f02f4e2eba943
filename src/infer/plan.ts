/**
 * The colorize plan of one photo (Node): which of three ways it takes, chosen once, up
 * front, from its header (read once, data/decode.ts openImage) and the request —
 *   'dct'      JPEG → JPEG in the DCT domain (colorgan_jpeg; streaming.ts);
 *   'vips'     JPEG → any format in one libvips pipeline (colorgan_vips; streaming.ts);
 *   'general'  decode to RGB, colorize (colorizer.ts), encode —
 * and why each faster way was declined (for logs and tests). The streaming ways take the
 * model's input from 8×8-block means, which is why only upright 8-bit JPEGs of at least
 * STREAMING_MIN_SCALE × the model grid (and 8× the finest refinement stage's) go there. One thing the header cannot tell: data
 * damaged past it. A streaming way that meets it hands the photo to the general path,
 * whose decode names the cause.
 */
import type sharp from 'sharp';
import type { EncodeFormat } from '../data/decode.js';
import { nativeUnavailableReason } from '../native/addons.js';
import { stageGrids, type GeneratorModel } from './colorizer.js';
import { modelGrid, type Grid } from './grid.js';
import { loadJpegAddon, loadStreamingAddon } from './native-pixels.js';
import { gridDims, type GridSize } from './sharpen.js';

/** Why each faster way was not taken (empty when it was). */
export interface Declined {
  dct?: string;
  vips?: string;
}

export type ColorizePlan =
  | { kind: 'general'; declined: Declined }
  /**
   * A streaming way, on the photo's model grid and the grids of the refinement stages that
   * run, coarse to fine (the general path sizes its grids from the decoded, upright photo).
   */
  | { kind: 'dct' | 'vips'; declined: Declined; grid: Grid; stages: Grid[] };

export type StreamingPlan = Extract<ColorizePlan, { grid: Grid }>;

/** What is asked of one photo. */
export interface PlanRequest {
  /** An encoded output; without it, pixels are wanted and only the general path gives them. */
  format?: EncodeFormat;
  /** The generator's direct output at model size. */
  raw?: boolean;
  /** Colorizations wanted (the streaming ways write one). */
  count: number;
  renderSize?: number;
  /** Refuse the streaming ways above this many pixels (the general path reports it). */
  maxPixels?: number;
  /** false: the model's refinement stages are skipped. */
  refine?: boolean;
}

/**
 * The streaming paths take the model's input from 8×8-block means; on photos at least
 * this many times the model grid along each side (photo pixels per grid cell) the colors
 * then differ from the general path's by less than a level on average (0.04–0.8 measured
 * on the test photos at 1600–4000 px, 1.5–4 at 640 px). Smaller photos are quick on the
 * general path anyway.
 */
export const STREAMING_MIN_SCALE = 24;

/** Which streaming way an eligible photo takes for an output format, if any addon is built. */
export function streamingPath(format: EncodeFormat): 'dct' | 'vips' | null {
  if (format === 'jpeg' && loadJpegAddon()) return 'dct';
  return loadStreamingAddon() ? 'vips' : null;
}

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

/** Why the DCT way is out before looking at the photo, or null. */
function dctReason(format: EncodeFormat): string | null {
  if (format !== 'jpeg') return `the output is ${format.toUpperCase()}, not JPEG`;
  return loadJpegAddon() ? null : nativeUnavailableReason('colorgan_jpeg');
}

/**
 * Choose the plan for one photo: `header` is its header (null for pixels given by the
 * caller). Throws only what the general path would (a render size the model refuses).
 */
export function choosePlan(header: sharp.Metadata | null, g: GeneratorModel, req: PlanRequest): ColorizePlan {
  const general = (dct: string, vips = dct): ColorizePlan => ({ kind: 'general', declined: { dct, vips } });
  if (!req.format) return general('pixels asked for, not an encoded image');
  if (req.raw) return general('raw output (model size)');
  if (req.count !== 1) return general(`${req.count} samples (a streaming way writes one)`);
  if (!header) return general('pixels given, not an encoded photo');
  const way = streamingPath(req.format);
  const noDct = dctReason(req.format);
  if (!way) return general(noDct ?? '', nativeUnavailableReason('colorgan_vips'));
  const grid = modelGrid(g.meta.config, header.width ?? 0, header.height ?? 0, req.renderSize);
  const photo = streamingIneligible(header, grid, req.maxPixels ?? Infinity);
  if (photo) return general(photo);
  // Every stage's luma comes from the 8×8-block means too, so the finest grid must not be finer than them.
  const stages = stageGrids(g, grid, header.width ?? 0, header.height ?? 0, req.refine);
  const finest = stages.at(-1);
  if (finest && ((header.width ?? 0) < 8 * finest.width || (header.height ?? 0) < 8 * finest.height))
    return general(`smaller than 8× the finest refinement grid (${finest.width}×${finest.height}; the streaming ways see 8×8-block means)`);
  return way === 'dct' ? { kind: 'dct', declined: {}, grid, stages } : { kind: 'vips', declined: { dct: noDct ?? '' }, grid, stages };
}
