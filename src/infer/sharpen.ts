/**
 * The paper's sharpening, generalized to any resolution: keep the photo's own
 * full-resolution luma Y, take only the chroma U,V from the generator (predicted at
 * model size) and upsample it bilinearly. Pure function, shared with the browser.
 */
import { NET_SCALE, toByte } from '../color/yuv.js';
import { resizePlane, upsampleTaps } from './resample.js';

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
  const tx = upsampleTaps(size, width);
  const ty = upsampleTaps(size, height);
  // One row of upsampled U and V at a time (a 12 MP photo never holds full U,V planes).
  const rowU = new Float32Array(size);
  const rowV = new Float32Array(size);
  for (let y = 0; y < height; y++) {
    const r0 = ty.index[2 * y] * size * 2;
    const r1 = ty.index[2 * y + 1] * size * 2;
    const w0 = ty.weight[2 * y];
    const w1 = ty.weight[2 * y + 1];
    for (let i = 0; i < size; i++) {
      rowU[i] = w0 * uv[r0 + 2 * i] + w1 * uv[r1 + 2 * i];
      rowV[i] = w0 * uv[r0 + 2 * i + 1] + w1 * uv[r1 + 2 * i + 1];
    }
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) {
      const a = tx.index[2 * x], b = tx.index[2 * x + 1];
      const wa = tx.weight[2 * x], wb = tx.weight[2 * x + 1];
      // U - 128 and V - 128 at digital scale.
      const du = (wa * rowU[a] + wb * rowU[b]) * NET_SCALE;
      const dv = (wa * rowV[a] + wb * rowV[b]) * NET_SCALE;
      const yy = rgb[p] * 0.299 + rgb[p + 1] * 0.587 + rgb[p + 2] * 0.114;
      let dr = 1.4075 * dv;
      let dg = -0.3455 * du - 0.7169 * dv;
      let db = 1.779 * du;
      // Out of gamut: shrink the chroma toward gray instead of clipping each channel,
      // which would change the luma (these offsets add nothing to Y, so Y is kept).
      const t = Math.min(1, fit(yy, dr), fit(yy, dg), fit(yy, db));
      if (t < 1) {
        dr *= t;
        dg *= t;
        db *= t;
      }
      out[p] = toByte(yy + dr);
      out[p + 1] = toByte(yy + dg);
      out[p + 2] = toByte(yy + db);
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
  const n = width * height;
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = rgb[j] * 0.299 + rgb[j + 1] * 0.587 + rgb[j + 2] * 0.114;
  const small = width === size && height === size ? y : resizePlane(y, width, height, size, size);
  for (let i = 0; i < small.length; i++) small[i] = small[i] / NET_SCALE - 1;
  return small;
}
