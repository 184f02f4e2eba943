/**
 * Colorization with a trained generator, independent of how pixels are read or written
 * (shared by the Node library, the CLI and the browser app):
 *
 *   full-resolution RGB (gray or color) → luma, area-shrunk to the model size
 *   → G(y, z) = U,V at model size → U,V upsampled bilinearly to full size
 *   → combined with the photo's own full-resolution Y (the paper's sharpening).
 */
import type * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../color/yuv.js';
import type { ModelMetadata } from '../models/metadata.js';
import { predictUv, noiseFor } from './generate.js';
import { sharpenToFullRes, lumaForModel } from './sharpen.js';
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
}

export interface Colorization {
  /** Full resolution: the input's own luma with the predicted chroma. */
  rgb: RgbImage;
  /** The generator's direct output at model size (its input Y with its U,V). */
  raw: RgbImage;
  /** Predicted U,V at model size, interleaved, network scale. */
  uv: Float32Array;
}

/**
 * Colorize one photo `count` times with consecutive samples (one batched generator call).
 * The input is not modified.
 */
export function colorizeImageSamples(c: Colorizer, img: RgbImage, count: number, opts: ColorizeOptions = {}): Colorization[] {
  const { size, zDim } = c.meta.config;
  const seed = opts.seed ?? 0;
  const first = opts.sample ?? 0;
  const y = lumaForModel(img.data, img.width, img.height, size);
  const zs = Array.from({ length: count }, (_, i) => noiseFor(seed, first + i, zDim));
  const uvs = predictUv(c.model, size, zs.map(() => y), zs);
  return uvs.map((uv) => ({
    rgb: { width: img.width, height: img.height, data: sharpenToFullRes(img.data, img.width, img.height, uv, size) },
    raw: rawRgb(y, uv, size),
    uv,
  }));
}

export function colorizeImage(c: Colorizer, img: RgbImage, opts: ColorizeOptions = {}): Colorization {
  return colorizeImageSamples(c, img, 1, opts)[0];
}

/** Mean absolute difference of U,V between two colorizations, in 8-bit levels. */
export function chromaDifference(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return (s / a.length) * 127.5;
}
