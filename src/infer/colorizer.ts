/**
 * Colorization with a trained generator, independent of how pixels are read or written
 * (shared by the Node library, the CLI and the browser app):
 *
 *   full-resolution RGB (gray or color) → luma, area-shrunk to the model grid (grid.ts:
 *   S×S for the paper's models, aspect kept for fully convolutional ones)
 *   → G(y, z) = U,V on the grid → U,V upsampled to full size (bilinear or guided by the
 *   luma) → combined with the photo's own full-resolution Y (the paper's sharpening).
 */
import type * as tf from '@tensorflow/tfjs';
import { chromaFromNet, type RgbImage } from '../color/yuv.js';
import type { ModelMetadata } from '../models/metadata.js';
import { predictUv, noiseFor } from './generate.js';
import { sharpenToFullRes, lumaForModel, UPSAMPLE_METHODS, type UpsampleMethod } from './sharpen.js';
import { modelGrid, type Grid } from './grid.js';
import { MAX_SATURATION } from './limits.js';
import { rawRgb } from './raw.js';

export interface Colorizer {
  model: tf.LayersModel;
  meta: ModelMetadata;
  /** Where it was loaded from (folder or URL). */
  source: string;
}

export interface ColorizeOptions {
  /** Seed of the noise z (default 0): same photo + seed + sample → same colors. */
  seed?: number;
  /** Which of the colorizations of this seed (0, 1, 2, …); each has its own z. */
  sample?: number;
  /** Short side of the model grid (fully convolutional models; default: the training size). */
  renderSize?: number;
  /** Chroma upsampling to full resolution (default: the model's, else 'bilinear'). */
  upsample?: UpsampleMethod;
  /** Chroma gain applied to the prediction (1 = as predicted; default: the model's, else 1). */
  saturation?: number;
}


export interface Colorization {
  /** Full resolution: the input's own luma with the predicted chroma. */
  rgb: RgbImage;
  /** The generator's direct output on the model grid (its input Y with its U,V). */
  raw: RgbImage;
  /** Predicted U,V on the model grid, interleaved, network scale. */
  uv: Float32Array;
  /** The model grid (see grid.ts). */
  grid: Grid;
}

/**
 * Colorize one photo `count` times with consecutive samples (one batched generator call).
 * The input is not modified.
 */
export function colorizeImageSamples(c: Colorizer, img: RgbImage, count: number, opts: ColorizeOptions = {}): Colorization[] {
  const { zDim } = c.meta.config;
  const seed = opts.seed ?? 0;
  const first = opts.sample ?? 0;
  if (opts.upsample !== undefined && !UPSAMPLE_METHODS.includes(opts.upsample)) {
    throw new RangeError(`upsample must be ${UPSAMPLE_METHODS.join(' or ')}, got ${JSON.stringify(opts.upsample)}`);
  }
  const gain = chromaGain(c, opts);
  const grid = modelGrid(c.meta.config, img.width, img.height, opts.renderSize);
  const y = lumaForModel(img.data, img.width, img.height, grid.width, grid.height);
  const zs = Array.from({ length: count }, (_, i) => noiseFor(seed, first + i, zDim));
  const uvs = predictUv(c.model, grid, zs.map(() => y), zs);
  for (const uv of uvs) scaleChroma(uv, gain);
  const upsample = opts.upsample ?? c.meta.inference?.upsample ?? 'bilinear';
  return uvs.map((uv) => ({
    rgb: { width: img.width, height: img.height, data: sharpenToFullRes(img.data, img.width, img.height, uv, grid, undefined, { upsample, guide: y }) },
    raw: rawRgb(y, uv, grid),
    uv,
    grid,
  }));
}

/** The chroma gain for a call: the option, else the model's default, else 1 (validated). */
export function chromaGain(c: Colorizer, opts: ColorizeOptions): number {
  const gain = opts.saturation ?? c.meta.inference?.saturation ?? 1;
  if (typeof gain !== 'number' || !(gain >= 0 && gain <= MAX_SATURATION)) {
    throw new RangeError(`saturation must be a number from 0 to ${MAX_SATURATION}, got ${String(gain)}`);
  }
  return gain;
}

/** Multiply predicted U,V (network scale, centred on 0) by `gain`, in place. */
export function scaleChroma(uv: Float32Array, gain: number): Float32Array {
  if (gain !== 1) for (let i = 0; i < uv.length; i++) uv[i] *= gain;
  return uv;
}

export function colorizeImage(c: Colorizer, img: RgbImage, opts: ColorizeOptions = {}): Colorization {
  return colorizeImageSamples(c, img, 1, opts)[0];
}

/** Mean absolute difference of U,V between two colorizations, in 8-bit levels. */
export function chromaDifference(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return chromaFromNet(s / a.length);
}
