/**
 * 8-bit sRGB -> CIELAB (D65, 2° observer), for evaluation metrics (AuC in ab space).
 *
 * Conventions (pure functions, no tensors):
 *  - Input channels are 8-bit sRGB codes 0..255 (non-integers are accepted by `rgbToLab`).
 *  - Linearization: IEC 61966-2-1 sRGB transfer function
 *      c = v / 255;  lin = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ^ 2.4
 *  - Linear sRGB -> XYZ: Bruce Lindbloom's sRGB/D65 matrix (7 digits). Its row sums equal
 *    the D65 white point below to ~1e-7, so white (255,255,255) maps to L = 100, a = b = 0
 *    (to ~1e-5). scikit-image uses a 6-digit variant of the same matrix; results agree
 *    to ~1e-2 in L, a, b.
 *  - Reference white D65: Xn = 0.95047, Yn = 1, Zn = 1.08883.
 *  - CIE f(t) = t^(1/3) if t > (6/29)^3, else t / (3 (6/29)^2) + 4/29;
 *    L = 116 f(Y/Yn) - 16, a = 500 (f(X/Xn) - f(Y/Yn)), b = 200 (f(Y/Yn) - f(Z/Zn)).
 * Reference values: white (100, 0, 0); black (0, 0, 0); red (53.2408, 80.0925, 67.2032);
 * green (87.7347, -86.1827, 83.1793); blue (32.2970, 79.1875, -107.8602).
 */

export interface Lab {
  L: number;
  a: number;
  b: number;
}

export const D65_WHITE = { X: 0.95047, Y: 1.0, Z: 1.08883 } as const;

// Linear sRGB -> XYZ (D65), Lindbloom.
const M00 = 0.4124564,
  M01 = 0.3575761,
  M02 = 0.1804375;
const M10 = 0.2126729,
  M11 = 0.7151522,
  M12 = 0.072175;
const M20 = 0.0193339,
  M21 = 0.119192,
  M22 = 0.9503041;

const EPS = 216 / 24389; // (6/29)^3
const KAPPA_LIN = 841 / 108; // 1 / (3 (6/29)^2)
const OFFSET = 4 / 29;

/** sRGB transfer function inverse: 8-bit code (0..255) -> linear light in [0, 1]. */
export function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Linear values for the 256 integer codes (used by the buffer converter). */
const LINEAR_LUT: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let i = 0; i < 256; i++) t[i] = srgbToLinear(i);
  return t;
})();

function f(t: number): number {
  return t > EPS ? Math.cbrt(t) : t * KAPPA_LIN + OFFSET;
}

function linearToLab(r: number, g: number, b: number): Lab {
  const x = (M00 * r + M01 * g + M02 * b) / D65_WHITE.X;
  const y = (M10 * r + M11 * g + M12 * b) / D65_WHITE.Y;
  const z = (M20 * r + M21 * g + M22 * b) / D65_WHITE.Z;
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return { L: 116 * fy - 16, a: 500 * (fx - fy), b: 200 * (fy - fz) };
}

/** One sRGB pixel (codes 0..255) -> CIELAB (D65). */
export function rgbToLab(r: number, g: number, b: number): Lab {
  return linearToLab(srgbToLinear(r), srgbToLinear(g), srgbToLinear(b));
}

/**
 * Interleaved 8-bit RGB buffer of `n` pixels -> interleaved Float32Array [L, a, b, L, a, b, ...].
 * Uint8Array / Uint8ClampedArray input uses a 256-entry linearization table (same result as
 * `rgbToLab`, faster); other array types go through `rgbToLab` value by value.
 */
export function rgbBufferToLab(data: ArrayLike<number>, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`rgbBufferToLab: n must be a non-negative integer, got ${n}`);
  if (data.length < n * 3) {
    throw new RangeError(`rgbBufferToLab: buffer has ${data.length} values, need ${n * 3} for ${n} RGB pixels`);
  }
  const out = new Float32Array(n * 3);
  const bytes = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const lab = bytes ? linearToLab(LINEAR_LUT[data[j]], LINEAR_LUT[data[j + 1]], LINEAR_LUT[data[j + 2]]) : rgbToLab(data[j], data[j + 1], data[j + 2]);
    out[j] = lab.L;
    out[j + 1] = lab.a;
    out[j + 2] = lab.b;
  }
  return out;
}
