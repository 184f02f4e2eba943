/**
 * The pixel core: every per-pixel formula of colorgan, once. Its C++ twin is
 * native/pixels.h (the addons' copy of the same formulas); test/pixel-core.test.ts checks
 * that both agree and that the coefficients are typed nowhere else.
 *
 * Colour: exactly the paper's ITU-R 601 (CCIR 601) formulas, digital form: Y in [0, 255],
 * U and V offset by 128 (so a gray pixel has U = V = 128). The inverse is the paper's own
 * (R = Y + 1.4075 (V−128), ...), written as offsets that chroma adds to a luma, so that the
 * raw output, the sharpening and the baselines all use the same three numbers.
 *
 * Network scale (a documented choice, see README "Color encoding"): the networks see
 *   y = Y / 127.5 - 1            in [-1, 1]
 *   u = (U - 128) / 127.5        in [-1, 1]   (U spans [0.5, 255.5] for 8-bit RGB)
 *   v = (V - 128) / 127.5        in [-1, 1]
 * which matches the generator's tanh output. The paper kept the "original scale"; we
 * scale because tanh cannot reach 255 and because [-1, 1] inputs keep batch norm and
 * Adam's default learning rate well behaved.
 *
 * Also the bilinear tap (half-pixel centres) that every chroma upsampling uses.
 *
 * Pure functions, no tensors: the same code runs in Node, in the browser and in tests.
 * Hot loops call these small functions (V8 inlines them); none retypes a coefficient.
 */

/** Planar YUV image, digital scale (Y 0..255, U/V offset by 128). */
export interface YuvPlanes {
  width: number;
  height: number;
  y: Float32Array;
  u: Float32Array;
  v: Float32Array;
}

/** Interleaved 8-bit RGB image (3 bytes per pixel, row-major). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

// ---- ITU-R 601 (the paper) -----------------------------------------------------

/** U and V of a gray pixel. */
const CHROMA_ZERO = 128;

/** Luma Y of an RGB pixel (0..255 in, 0..255 out). */
export const luma = (r: number, g: number, b: number): number => r * 0.299 + g * 0.587 + b * 0.114;
/** Chroma U (offset by 128) of an RGB pixel. */
export const chromaU = (r: number, g: number, b: number): number => r * -0.168736 + g * -0.331264 + b * 0.5 + CHROMA_ZERO;
/** Chroma V (offset by 128) of an RGB pixel. */
export const chromaV = (r: number, g: number, b: number): number => r * 0.5 + g * -0.418688 + b * -0.081312 + CHROMA_ZERO;

// The paper's inverse as the offsets that chroma du = U − 128, dv = V − 128 adds to Y:
// R = Y + redOffset(dv), G = Y + greenOffset(du, dv), B = Y + blueOffset(du). Unclamped.
export const redOffset = (dv: number): number => 1.4075 * dv;
export const greenOffset = (du: number, dv: number): number => -0.3455 * du - 0.7169 * dv;
export const blueOffset = (du: number): number => 1.779 * du;

/**
 * The squared RGB error (mean over R, G, B) that a chroma error (du, dv) causes with Y
 * exact: uu·du² + vv·dv² + uv·du·dv — derived from the offsets above, so what PSNR
 * measures and what training minimizes (train --psnr) use the same three numbers.
 */
export const RGB_ERROR_OF_CHROMA = (() => {
  const r = redOffset(1);
  const gu = greenOffset(1, 0);
  const gv = greenOffset(0, 1);
  const b = blueOffset(1);
  return { uu: (gu * gu + b * b) / 3, vv: (r * r + gv * gv) / 3, uv: (2 * gu * gv) / 3 } as const;
})();

/** Round and clamp to an 8-bit level. */
export function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
}

/** The 8-bit gray level of an RGB pixel: its luma, rounded. */
export const grayLevel = (r: number, g: number, b: number): number => toByte(luma(r, g, b));

// ---- adding chroma to a luma, staying in gamut -----------------------------------

/** Largest factor t <= 1 with y + t·d inside [0, 255] (1 when it already is). */
function fit(y: number, d: number): number {
  if (y + d > 255) return (255 - y) / d;
  if (y + d < 0) return -y / d;
  return 1;
}

/**
 * The share t in [0, 1] of the offsets (dr, dg, db) that keeps y + t·d inside the RGB
 * cube. 0 when none does: only for a luma outside [0, 255], which pixel luma never is
 * (then t >= 0 anyway) but a JPEG block mean can be (native/pixels.h, same rule).
 */
export function gamutFactor(y: number, dr: number, dg: number, db: number): number {
  return Math.max(0, Math.min(1, fit(y, dr), fit(y, dg), fit(y, db)));
}

/**
 * Write luma yy plus chroma (du, dv) = (U − 128, V − 128) as RGB at o[p..p+2]. Out of
 * gamut the chroma shrinks toward gray (by gamutFactor) instead of each channel being
 * clipped, which would change the luma (these offsets add nothing to Y, so Y is kept).
 * `o` is a Uint8ClampedArray (its stores round half to even and clamp, so the in-gamut
 * path needs no branches), or a Float64Array for the unrounded values (tests).
 */
export function composeInGamut(o: Uint8ClampedArray | Float64Array, p: number, yy: number, du: number, dv: number): void {
  const dr = redOffset(dv);
  const dg = greenOffset(du, dv);
  const db = blueOffset(du);
  const r = yy + dr,
    g = yy + dg,
    b = yy + db;
  if (r >= 0 && r <= 255 && g >= 0 && g <= 255 && b >= 0 && b <= 255) {
    o[p] = r;
    o[p + 1] = g;
    o[p + 2] = b;
  } else {
    const t = gamutFactor(yy, dr, dg, db);
    o[p] = yy + t * dr;
    o[p + 1] = yy + t * dg;
    o[p + 2] = yy + t * db;
  }
}

// ---- whole buffers -------------------------------------------------------------

/** Interleaved RGB bytes (or floats 0..255) -> planar Y, U, V (digital scale). */
export function rgbBufferToYuv(rgb: ArrayLike<number>, width: number, height: number): YuvPlanes {
  const n = width * height;
  if (rgb.length < n * 3) throw new Error(`rgbBufferToYuv: buffer has ${rgb.length} values, need ${n * 3}`);
  const y = new Float32Array(n);
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = rgb[j],
      g = rgb[j + 1],
      b = rgb[j + 2];
    y[i] = luma(r, g, b);
    u[i] = chromaU(r, g, b);
    v[i] = chromaV(r, g, b);
  }
  return { width, height, y, u, v };
}

/**
 * Planar Y, U, V (digital scale) -> interleaved 8-bit RGB, each channel rounded and
 * clamped on its own (the generator's raw output; the sharpening uses composeInGamut).
 */
export function yuvToRgbBuffer(y: ArrayLike<number>, u: ArrayLike<number>, v: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const n = y.length;
  const rgb = out ?? new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const du = u[i] - CHROMA_ZERO;
    const dv = v[i] - CHROMA_ZERO;
    const yy = y[i];
    rgb[j] = toByte(yy + redOffset(dv));
    rgb[j + 1] = toByte(yy + greenOffset(du, dv));
    rgb[j + 2] = toByte(yy + blueOffset(du));
  }
  return rgb;
}

/** Luma only (the gray image) of an interleaved RGB buffer. */
export function rgbBufferToY(rgb: ArrayLike<number>, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = luma(rgb[j], rgb[j + 1], rgb[j + 2]);
  return y;
}

/** Gray version of an RGB image (Y replicated; U = V = 128). */
export function grayscaleRgb(img: RgbImage): RgbImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[j] = out[j + 1] = out[j + 2] = grayLevel(d[j], d[j + 1], d[j + 2]);
  return { width: img.width, height: img.height, data: out };
}

// ---- network scale ----------------------------------------------------------

export const NET_SCALE = 127.5;

export const yToNet = (y: number): number => y / NET_SCALE - 1;
export const yFromNet = (t: number): number => (t + 1) * NET_SCALE;
export const uvToNet = (c: number): number => (c - CHROMA_ZERO) / NET_SCALE;
/** Chroma at network scale -> its offset from gray in levels (U − 128 or V − 128). */
export const chromaFromNet = (t: number): number => t * NET_SCALE;
export const uvFromNet = (t: number): number => chromaFromNet(t) + CHROMA_ZERO;

/** Luma levels -> network scale, in place. */
export function lumaPlaneToNet(levels: Float32Array): Float32Array {
  for (let i = 0; i < levels.length; i++) levels[i] = yToNet(levels[i]);
  return levels;
}

/** Digital-scale planes -> network-scale planes (new arrays). */
export function planesToNet(p: YuvPlanes): YuvPlanes {
  const n = p.y.length;
  const y = new Float32Array(n),
    u = new Float32Array(n),
    v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = yToNet(p.y[i]);
    u[i] = uvToNet(p.u[i]);
    v[i] = uvToNet(p.v[i]);
  }
  return { width: p.width, height: p.height, y, u, v };
}

// ---- bilinear taps ----------------------------------------------------------

/**
 * The bilinear tap of an output sample whose centre lies at `s` in source coordinates
 * (0 = the left edge of source sample 0; source samples have half-pixel centres), over n
 * source samples, clamped at the edges: the left sample x0, its right neighbour x1 and
 * the weight f of x1 (1 − f is x0's). The same rule as bilinearTap in native/pixels.h.
 */
export function bilinearTap(s: number, n: number): { x0: number; x1: number; f: number } {
  let x = s - 0.5;
  if (x < 0) x = 0;
  if (x > n - 1) x = n - 1;
  const x0 = Math.floor(x);
  return { x0, x1: Math.min(x0 + 1, n - 1), f: x - x0 };
}
