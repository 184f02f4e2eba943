/**
 * RGB <-> YUV with exactly the paper's ITU-R 601 (CCIR 601) formulas, digital form:
 * Y in [0, 255], U and V offset by 128 (so a gray pixel has U = V = 128).
 *
 * Pure functions, no tensors: the same code runs in Node, in the browser and in tests.
 *
 * Network scale (a documented choice, see README "Color encoding"): the networks see
 *   y = Y / 127.5 - 1            in [-1, 1]
 *   u = (U - 128) / 127.5        in [-1, 1]   (U spans [0.5, 255.5] for 8-bit RGB)
 *   v = (V - 128) / 127.5        in [-1, 1]
 * which matches the generator's tanh output. The paper kept the "original scale"; we
 * scale because tanh cannot reach 255 and because [-1, 1] inputs keep batch norm and
 * Adam's default learning rate well behaved.
 */

export interface Yuv {
  y: number;
  u: number;
  v: number;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

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

export const NET_SCALE = 127.5;

export function rgbToYuv(r: number, g: number, b: number): Yuv {
  return {
    y: r * 0.299 + g * 0.587 + b * 0.114,
    u: r * -0.168736 + g * -0.331264 + b * 0.5 + 128,
    v: r * 0.5 + g * -0.418688 + b * -0.081312 + 128,
  };
}

/** Inverse with the paper's coefficients; returns unclamped, unrounded values. */
export function yuvToRgb(y: number, u: number, v: number): Rgb {
  const du = u - 128;
  const dv = v - 128;
  return {
    r: y + 1.4075 * dv,
    g: y - 0.3455 * du - 0.7169 * dv,
    b: y + 1.779 * du,
  };
}

/** Round and clamp to an 8-bit level. */
export function toByte(x: number): number {
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
}

/** Interleaved RGB bytes (or floats 0..255) -> planar Y, U, V (digital scale). */
export function rgbBufferToYuv(rgb: ArrayLike<number>, width: number, height: number): YuvPlanes {
  const n = width * height;
  if (rgb.length < n * 3) throw new Error(`rgbBufferToYuv: buffer has ${rgb.length} values, need ${n * 3}`);
  const y = new Float32Array(n);
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = rgb[j], g = rgb[j + 1], b = rgb[j + 2];
    y[i] = r * 0.299 + g * 0.587 + b * 0.114;
    u[i] = r * -0.168736 + g * -0.331264 + b * 0.5 + 128;
    v[i] = r * 0.5 + g * -0.418688 + b * -0.081312 + 128;
  }
  return { width, height, y, u, v };
}

/** Planar Y, U, V (digital scale) -> interleaved 8-bit RGB, rounded and clamped. */
export function yuvToRgbBuffer(y: ArrayLike<number>, u: ArrayLike<number>, v: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const n = y.length;
  const rgb = out ?? new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const du = u[i] - 128;
    const dv = v[i] - 128;
    const yy = y[i];
    rgb[j] = toByte(yy + 1.4075 * dv);
    rgb[j + 1] = toByte(yy - 0.3455 * du - 0.7169 * dv);
    rgb[j + 2] = toByte(yy + 1.779 * du);
  }
  return rgb;
}

/** Luma only (the gray image) of an interleaved RGB buffer. */
export function rgbBufferToY(rgb: ArrayLike<number>, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) y[i] = rgb[j] * 0.299 + rgb[j + 1] * 0.587 + rgb[j + 2] * 0.114;
  return y;
}

// ---- network scale ----------------------------------------------------------

export const yToNet = (y: number): number => y / NET_SCALE - 1;
export const yFromNet = (t: number): number => (t + 1) * NET_SCALE;
export const uvToNet = (c: number): number => (c - 128) / NET_SCALE;
export const uvFromNet = (t: number): number => t * NET_SCALE + 128;

/** Digital-scale planes -> network-scale planes (new arrays). */
export function planesToNet(p: YuvPlanes): YuvPlanes {
  const n = p.y.length;
  const y = new Float32Array(n), u = new Float32Array(n), v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = p.y[i] / NET_SCALE - 1;
    u[i] = (p.u[i] - 128) / NET_SCALE;
    v[i] = (p.v[i] - 128) / NET_SCALE;
  }
  return { width: p.width, height: p.height, y, u, v };
}

/** Gray version of an RGB image (Y replicated; U = V = 128). */
export function grayscaleRgb(img: RgbImage): RgbImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const yy = toByte(d[j] * 0.299 + d[j + 1] * 0.587 + d[j + 2] * 0.114);
    out[j] = out[j + 1] = out[j + 2] = yy;
  }
  return { width: img.width, height: img.height, data: out };
}
