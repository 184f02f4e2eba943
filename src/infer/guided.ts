/**
 * Edge-aware chroma upsampling: the fast guided filter (He & Sun 2015) with the photo's
 * own luma as the guide. At model (grid) resolution each chroma channel p is fitted
 * locally as a linear function of the luma I, p ≈ a·I + b, over (2r+1)² windows; the
 * coefficient planes a, b are smooth, so they are upsampled bilinearly and applied to
 * the full-resolution luma: chroma = a(x)·Y(x) + b(x). Where the luma has an edge inside
 * a window, the chroma follows it at full resolution instead of bleeding across it.
 * Pure functions, shared with the browser.
 */
import { chromaFromNet, yFromNet } from '../color/yuv.js';

/** Parameters of the guided upsampling. */
export interface GuidedParams {
  /** Window radius in grid pixels. */
  radius: number;
  /** Regularization ε in luma levels² (larger = closer to plain bilinear). */
  eps: number;
}

export const DEFAULT_GUIDED: GuidedParams = { radius: 2, eps: 16 };

/** Mean over (2r+1)² windows, clamped at the borders (separable running sums). */
export function boxMean(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      const x0 = Math.max(0, x - r),
        x1 = Math.min(w - 1, x + r);
      for (let k = x0; k <= x1; k++) s += src[row + k];
      tmp[row + x] = s / (x1 - x0 + 1);
    }
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      let s = 0;
      const y0 = Math.max(0, y - r),
        y1 = Math.min(h - 1, y + r);
      for (let k = y0; k <= y1; k++) s += tmp[k * w + x];
      out[y * w + x] = s / (y1 - y0 + 1);
    }
  }
  return out;
}

/**
 * Guided-filter coefficients at grid resolution.
 * @param luma  gw×gh guide (levels)
 * @param uv    gw×gh×2 interleaved chroma (any scale; a and b come out in the same scale)
 * @returns     gw×gh×4 interleaved (a_u, b_u, a_v, b_v), already window-averaged
 */
export function guidedCoefficients(luma: Float32Array, uv: Float32Array, gw: number, gh: number, p: GuidedParams = DEFAULT_GUIDED): Float32Array {
  const n = gw * gh;
  const r = p.radius;
  const mI = boxMean(luma, gw, gh, r);
  const ii = new Float32Array(n);
  for (let i = 0; i < n; i++) ii[i] = luma[i] * luma[i];
  const mII = boxMean(ii, gw, gh, r);
  const out = new Float32Array(n * 4);
  for (let c = 0; c < 2; c++) {
    const pc = new Float32Array(n);
    const ip = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      pc[i] = uv[2 * i + c];
      ip[i] = luma[i] * pc[i];
    }
    const mP = boxMean(pc, gw, gh, r);
    const mIP = boxMean(ip, gw, gh, r);
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const varI = mII[i] - mI[i] * mI[i];
      a[i] = (mIP[i] - mI[i] * mP[i]) / (Math.max(0, varI) + p.eps);
      b[i] = mP[i] - a[i] * mI[i];
    }
    const ma = boxMean(a, gw, gh, r);
    const mb = boxMean(b, gw, gh, r);
    for (let i = 0; i < n; i++) {
      out[4 * i + 2 * c] = ma[i];
      out[4 * i + 2 * c + 1] = mb[i];
    }
  }
  return out;
}

/**
 * The coefficient planes every upsampler applies (JS loop, native kernels, the streaming
 * ways): from the photo's luma on the grid and the model's U,V there, both at network
 * scale, to gw×gh×4 (a_u, b_u, a_v, b_v) in levels — chroma (U − 128, V − 128) = a·Y + b,
 * Y in levels.
 */
export function guidedGrid(guideNet: Float32Array, uvNet: Float32Array, gw: number, gh: number, p: GuidedParams = DEFAULT_GUIDED): Float32Array {
  const n = gw * gh;
  const guide = new Float32Array(n);
  const chroma = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) guide[i] = yFromNet(guideNet[i]);
  for (let i = 0; i < 2 * n; i++) chroma[i] = chromaFromNet(uvNet[i]);
  return guidedCoefficients(guide, chroma, gw, gh, p);
}
