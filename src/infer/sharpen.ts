/**
 * The paper's sharpening, generalized to any resolution: keep the photo's own
 * full-resolution luma Y, take only the chroma U,V from the generator (predicted at
 * model size, on a grid of gw×gh) and upsample it — bilinearly, or guided by the
 * full-resolution luma so that colors stop at edges (guided.ts). The per-pixel math
 * (luma, adding chroma in gamut) is color/yuv.ts's. Pure function, shared with the browser.
 */
import { NET_SCALE, composeInGamut, lumaPlaneToNet, luma, rgbBufferToY } from '../color/yuv.js';
import { resizePlane, shrinkLuma, upsampleTaps } from './resample.js';
import { guidedGrid, DEFAULT_GUIDED, type GuidedParams } from './guided.js';

/**
 * Faster implementations of the two full-resolution loops, installed at start-up where
 * available (Node: the optional native addon, see infer/native-pixels.ts). They must give
 * the same results as the JS loops below; the tests compare them.
 */
export interface PixelKernels {
  shrinkLuma(rgb: Uint8Array, width: number, height: number, dw: number, dh: number): Float32Array;
  /** `grid`: gw×gh×2 U,V at network scale (bilinear), or gw×gh×4 guided coefficients in levels (guidedGrid). */
  sharpen(rgb: Uint8Array, width: number, height: number, grid: Float32Array, gw: number, gh: number, out: Uint8Array, taps: SharpenTaps): void;
}

let pixelKernels: PixelKernels | null = null;

/** Install (or with null remove) faster pixel kernels. */
export function setPixelKernels(k: PixelKernels | null): void {
  pixelKernels = k;
}

/** Resampling taps of the chroma upsampling, shared by the JS and native loops. */
export interface SharpenTaps {
  /** Left chroma column of each output column, and the weight of the one to its right. */
  x0s: Int32Array;
  fxs: Float32Array;
  /** Two chroma rows (index, weight) per output row. */
  tyIndex: Int32Array;
  tyWeight: Float32Array;
}

export function sharpenTaps(width: number, height: number, gw: number, gh: number = gw): SharpenTaps {
  const tx = upsampleTaps(gw, width);
  const ty = upsampleTaps(gh, height);
  // Horizontal taps are neighbours (x0, x0+1): keep x0 and the weight of x0+1; the row
  // buffers get one extra entry so the right edge needs no branch.
  const x0s = new Int32Array(width);
  const fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    x0s[x] = tx.index[2 * x];
    fxs[x] = tx.index[2 * x + 1] === tx.index[2 * x] ? 0 : tx.weight[2 * x + 1];
  }
  return { x0s, fxs, tyIndex: ty.index, tyWeight: ty.weight };
}

/** The model's grid: a side length (square) or width × height. */
export type GridSize = number | { width: number; height: number };

export function gridDims(g: GridSize): { gw: number; gh: number } {
  return typeof g === 'number' ? { gw: g, gh: g } : { gw: g.width, gh: g.height };
}

export { UPSAMPLE_METHODS, type UpsampleMethod } from './limits.js';
import type { UpsampleMethod } from './limits.js';

export interface SharpenOptions {
  /** Default 'bilinear'. 'guided': edge-aware, guided by the full-resolution luma (guided.ts). */
  upsample?: UpsampleMethod;
  /** Guided filter parameters (default DEFAULT_GUIDED). */
  guided?: GuidedParams;
  /** The photo's luma on the grid at network scale, if already computed (the model input). */
  guide?: Float32Array;
}

/**
 * @param rgb   full-resolution input, interleaved RGB bytes (a gray photo has R=G=B); its
 *              luma is the Y we keep.
 * @param uv    generator output, gw×gh×2 interleaved (u, v) at network scale.
 * @param out   where to write the colorized RGB (may be `rgb` itself: works in place).
 */
export function sharpenToFullRes(
  rgb: Uint8Array,
  width: number,
  height: number,
  uv: Float32Array,
  grid: GridSize,
  out: Uint8Array = new Uint8Array(width * height * 3),
  opts: SharpenOptions = {},
): Uint8Array {
  const { gw, gh } = gridDims(grid);
  if (opts.upsample === 'guided') return sharpenGuided(rgb, width, height, uv, gw, gh, out, opts);
  const taps = sharpenTaps(width, height, gw, gh);
  if (pixelKernels) {
    pixelKernels.sharpen(rgb, width, height, uv, gw, gh, out, taps);
    return out;
  }
  const { x0s, fxs, tyIndex, tyWeight } = taps;
  // Uint8ClampedArray stores round and clamp (see composeInGamut).
  const o = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  // One row of chroma (at grid width, in digital levels) at a time: a 12 MP photo never
  // holds full-resolution U,V planes.
  const rowU = new Float32Array(gw + 1);
  const rowV = new Float32Array(gw + 1);
  for (let y = 0; y < height; y++) {
    const r0 = tyIndex[2 * y] * gw * 2;
    const r1 = tyIndex[2 * y + 1] * gw * 2;
    // The network → levels scale folded into the row weights (as the native loop does).
    const w0 = tyWeight[2 * y] * NET_SCALE;
    const w1 = tyWeight[2 * y + 1] * NET_SCALE;
    for (let i = 0; i < gw; i++) {
      rowU[i] = w0 * uv[r0 + 2 * i] + w1 * uv[r1 + 2 * i];
      rowV[i] = w0 * uv[r0 + 2 * i + 1] + w1 * uv[r1 + 2 * i + 1];
    }
    rowU[gw] = rowU[gw - 1];
    rowV[gw] = rowV[gw - 1];
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) {
      const i = x0s[x];
      const f = fxs[x];
      const du = rowU[i] + f * (rowU[i + 1] - rowU[i]); // U - 128
      const dv = rowV[i] + f * (rowV[i + 1] - rowV[i]); // V - 128
      composeInGamut(o, p, luma(rgb[p], rgb[p + 1], rgb[p + 2]), du, dv);
    }
  }
  return out;
}

/** sharpenToFullRes with guided (edge-aware) chroma upsampling; see guided.ts. */
function sharpenGuided(
  rgb: Uint8Array,
  width: number,
  height: number,
  uv: Float32Array,
  gw: number,
  gh: number,
  out: Uint8Array,
  opts: SharpenOptions,
): Uint8Array {
  const coef = guidedGrid(opts.guide ?? lumaForModel(rgb, width, height, gw, gh), uv, gw, gh, opts.guided ?? DEFAULT_GUIDED);
  const taps = sharpenTaps(width, height, gw, gh);
  if (pixelKernels) {
    pixelKernels.sharpen(rgb, width, height, coef, gw, gh, out, taps);
    return out;
  }
  const { x0s, fxs, tyIndex, tyWeight } = taps;
  const o = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const row = new Float32Array((gw + 1) * 4); // (a_u, b_u, a_v, b_v) of one grid row
  for (let y = 0; y < height; y++) {
    const r0 = tyIndex[2 * y] * gw * 4;
    const r1 = tyIndex[2 * y + 1] * gw * 4;
    const w0 = tyWeight[2 * y];
    const w1 = tyWeight[2 * y + 1];
    for (let i = 0; i < gw * 4; i++) row[i] = w0 * coef[r0 + i] + w1 * coef[r1 + i];
    for (let k = 0; k < 4; k++) row[gw * 4 + k] = row[(gw - 1) * 4 + k];
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) {
      const i = x0s[x] * 4;
      const f = fxs[x];
      const yy = luma(rgb[p], rgb[p + 1], rgb[p + 2]);
      const au = row[i] + f * (row[i + 4] - row[i]);
      const bu = row[i + 1] + f * (row[i + 5] - row[i + 1]);
      const av = row[i + 2] + f * (row[i + 6] - row[i + 2]);
      const bv = row[i + 3] + f * (row[i + 7] - row[i + 3]);
      composeInGamut(o, p, yy, au * yy + bu, av * yy + bv);
    }
  }
  return out;
}

/** Luma plane at network scale, resized to gw×gh (area average), from RGB bytes. */
export function lumaForModel(rgb: Uint8Array, width: number, height: number, gw: number, gh: number = gw): Float32Array {
  if (width >= gw && height >= gh) return lumaPlaneToNet((pixelKernels?.shrinkLuma ?? shrinkLuma)(rgb, width, height, gw, gh));
  // A photo smaller than the model: bilinear enlargement of its luma plane.
  return lumaPlaneForModel(rgbBufferToY(rgb, width * height), width, height, gw, gh);
}

/** A luma plane in levels, resized to gw×gh (area average or bilinear), at network scale. */
export function lumaPlaneForModel(y: Float32Array, width: number, height: number, gw: number, gh: number = gw): Float32Array {
  return lumaPlaneToNet(resizePlane(y, width, height, gw, gh));
}
