/**
 * The paper's sharpening, generalized to any resolution: keep the photo's own
 * full-resolution luma Y, take only the chroma U,V from the generator (predicted at
 * model size) and upsample it bilinearly. Pure function, shared with the browser.
 */
import { NET_SCALE } from '../color/yuv.js';
import { resizePlane, shrinkLuma, upsampleTaps } from './resample.js';

/**
 * Faster implementations of the two full-resolution loops, installed at start-up where
 * available (Node: the optional native addon, see src/backend/native.ts). They must give
 * the same results as the JS loops below; the tests compare them.
 */
export interface PixelKernels {
  shrinkLuma(rgb: Uint8Array, width: number, height: number, dw: number, dh: number): Float32Array;
  sharpen(rgb: Uint8Array, width: number, height: number, uv: Float32Array, size: number, out: Uint8Array, taps: SharpenTaps): void;
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

export function sharpenTaps(width: number, height: number, size: number): SharpenTaps {
  const tx = upsampleTaps(size, width);
  const ty = upsampleTaps(size, height);
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

/**
 * @param rgb   full-resolution input, interleaved RGB bytes (a gray photo has R=G=B); its
 *              luma is the Y we keep.
 * @param uv    generator output, size×size×2 interleaved (u, v) at network scale.
 * @param out   where to write the colorized RGB (may be `rgb` itself: works in place).
 */
export function sharpenToFullRes(
  rgb: Uint8Array,
  width: number,
  height: number,
  uv: Float32Array,
  size: number,
  out: Uint8Array = new Uint8Array(width * height * 3),
): Uint8Array {
  const taps = sharpenTaps(width, height, size);
  if (pixelKernels) {
    pixelKernels.sharpen(rgb, width, height, uv, size, out, taps);
    return out;
  }
  const { x0s, fxs, tyIndex, tyWeight } = taps;
  // Uint8ClampedArray stores round and clamp, so the in-gamut path needs no branches.
  const o = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  // One row of chroma (at model width, in digital levels) at a time: a 12 MP photo never
  // holds full-resolution U,V planes.
  const rowU = new Float32Array(size + 1);
  const rowV = new Float32Array(size + 1);
  for (let y = 0; y < height; y++) {
    const r0 = tyIndex[2 * y] * size * 2;
    const r1 = tyIndex[2 * y + 1] * size * 2;
    const w0 = tyWeight[2 * y] * NET_SCALE;
    const w1 = tyWeight[2 * y + 1] * NET_SCALE;
    for (let i = 0; i < size; i++) {
      rowU[i] = w0 * uv[r0 + 2 * i] + w1 * uv[r1 + 2 * i];
      rowV[i] = w0 * uv[r0 + 2 * i + 1] + w1 * uv[r1 + 2 * i + 1];
    }
    rowU[size] = rowU[size - 1];
    rowV[size] = rowV[size - 1];
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) {
      const i = x0s[x];
      const f = fxs[x];
      const du = rowU[i] + f * (rowU[i + 1] - rowU[i]); // U - 128
      const dv = rowV[i] + f * (rowV[i + 1] - rowV[i]); // V - 128
      const yy = rgb[p] * 0.299 + rgb[p + 1] * 0.587 + rgb[p + 2] * 0.114;
      const dr = 1.4075 * dv;
      const dg = -0.3455 * du - 0.7169 * dv;
      const db = 1.779 * du;
      const r = yy + dr, g = yy + dg, b = yy + db;
      if (r >= 0 && r <= 255 && g >= 0 && g <= 255 && b >= 0 && b <= 255) {
        o[p] = r;
        o[p + 1] = g;
        o[p + 2] = b;
      } else {
        // Out of gamut: shrink the chroma toward gray instead of clipping each channel,
        // which would change the luma (these offsets add nothing to Y, so Y is kept).
        const t = Math.min(1, fit(yy, dr), fit(yy, dg), fit(yy, db));
        o[p] = yy + t * dr;
        o[p + 1] = yy + t * dg;
        o[p + 2] = yy + t * db;
      }
    }
  }
  return out;
}

/** Largest factor t <= 1 with y + t·d inside [0, 255]. */
function fit(y: number, d: number): number {
  if (y + d > 255) return (255 - y) / d;
  if (y + d < 0) return -y / d;
  return 1;
}

/** Luma plane at network scale, resized to size×size (area average), from RGB bytes. */
export function lumaForModel(rgb: Uint8Array, width: number, height: number, size: number): Float32Array {
  if (width >= size && height >= size) return toNetScale((pixelKernels?.shrinkLuma ?? shrinkLuma)(rgb, width, height, size, size));
  // A photo smaller than the model: bilinear enlargement of its luma plane.
  const n = width * height;
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = rgb[j] * 0.299 + rgb[j + 1] * 0.587 + rgb[j + 2] * 0.114;
  return lumaPlaneForModel(y, width, height, size);
}

/** A luma plane in levels, resized to size×size (area average or bilinear), at network scale. */
export function lumaPlaneForModel(y: Float32Array, width: number, height: number, size: number): Float32Array {
  return toNetScale(resizePlane(y, width, height, size, size));
}

function toNetScale(levels: Float32Array): Float32Array {
  for (let i = 0; i < levels.length; i++) levels[i] = levels[i] / NET_SCALE - 1;
  return levels;
}
