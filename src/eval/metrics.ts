/**
 * Image-quality and colorization metrics on 8-bit sRGB images (pure functions, no tensors).
 *
 * All pairwise metrics take two `RgbImage`s of identical width and height (interleaved RGB,
 * `data.length === width * height * 3`) and throw a `RangeError` naming both sizes otherwise.
 *
 *  - `psnr`: 10·log10(255² / MSE), MSE over all H×W×3 values. Identical images give
 *    `Infinity` (exact, not capped). Averaging: `summarize` / `meanFinite` skip non-finite
 *    values, and `summarizeDetailed` reports how many were skipped, so one perfect image
 *    neither poisons the mean (∞) nor inflates it with an arbitrary cap.
 *  - `ssim`: Wang et al. 2004 with an 11×11 Gaussian window (σ = 1.5, normalized weights,
 *    radius 5 = scipy's int(3.5·1.5 + 0.5)), K1 = 0.01, K2 = 0.03, L = 255, population
 *    (weighted) variances, mean over the 'valid' region (output pixels whose full window
 *    lies inside the image), computed per R, G, B channel and averaged over the 3 channels.
 *    This is exactly scikit-image's
 *      structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
 *                            use_sample_covariance=False, data_range=255)
 *    (skimage filters the whole image with 'reflect' padding, then crops 5 px per border
 *    before averaging, which equals valid-region filtering). Images with width or height
 *    < 11 throw a `RangeError` (as skimage does). Separable filtering: O(N·22) per channel.
 *  - `aucAb`: Zhang, Isola & Efros 2016 "AuC" (non-rebalanced): per-pixel Euclidean error in
 *    CIELAB (a, b) (see ../color/lab.ts), fraction of pixels with error ≤ t for every integer
 *    t = 0..maxThreshold (default 150), AuC = 100 · mean of those maxThreshold+1 fractions.
 *    Perfect prediction → 100; a uniform error of integer d ≤ 150 → (151 − d)/151 · 100.
 *  - `colorfulness`: Hasler & Süsstrunk 2003 on 0..255 values: rg = R − G,
 *    yb = 0.5(R + G) − B, M = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²), with population
 *    standard deviations (divide by N, like numpy's np.std default).
 */

import { rgbBufferToLab } from '../color/lab.js';
import type { RgbImage } from '../color/yuv.js';

export const PSNR_MAX = 255;
export const SSIM_K1 = 0.01;
export const SSIM_K2 = 0.03;
export const SSIM_SIGMA = 1.5;
export const SSIM_RADIUS = 5;
export const SSIM_WIN = 2 * SSIM_RADIUS + 1; // 11
export const AUC_MAX_THRESHOLD = 150;

// ---------------------------------------------------------------------------------------
// Validation

function checkImage(img: RgbImage, name: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${name}: invalid image size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`${name}: data has ${data.length} bytes, expected ${width * height * 3} for ${width}x${height} RGB`);
  }
}

function checkPair(a: RgbImage, b: RgbImage, fn: string): void {
  checkImage(a, `${fn}: first image`);
  checkImage(b, `${fn}: second image`);
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`${fn}: image sizes differ (${a.width}x${a.height} vs ${b.width}x${b.height}); both must be equal`);
  }
}

// ---------------------------------------------------------------------------------------
// PSNR

/** Mean squared error over all H×W×3 values (0..255 scale). */
export function mse(a: RgbImage, b: RgbImage): number {
  checkPair(a, b, 'mse');
  const x = a.data;
  const y = b.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    s += d * d;
  }
  return s / x.length;
}

/** PSNR in dB with MAX = 255 over H×W×3. Identical images → `Infinity` (see module doc). */
export function psnr(a: RgbImage, b: RgbImage): number {
  const m = mse(a, b);
  if (m === 0) return Infinity;
  return 10 * Math.log10((PSNR_MAX * PSNR_MAX) / m);
}

// ---------------------------------------------------------------------------------------
// SSIM

/** Normalized 1-D Gaussian taps exp(−x²/(2σ²)), x = −radius..radius, summing to 1. */
export function gaussianKernel1d(sigma = SSIM_SIGMA, radius = SSIM_RADIUS): Float64Array {
  const w = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    w[i + radius] = v;
    s += v;
  }
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return w;
}

const SSIM_KERNEL = gaussianKernel1d();

/**
 * Mean SSIM of one channel: `x`, `y` are planes of `width*height` values read with
 * stride `stride` starting at `offset` (so interleaved RGB can be read in place).
 * Valid region only; requires width, height ≥ 11.
 */
export function ssimPlane(x: ArrayLike<number>, y: ArrayLike<number>, width: number, height: number, stride = 1, offset = 0, dataRange = 255): number {
  const K = SSIM_WIN;
  if (width < K || height < K) {
    throw new RangeError(`ssim: image is ${width}x${height}; the ${K}x${K} Gaussian window needs at least ${K}x${K}`);
  }
  const w = SSIM_KERNEL;
  const C1 = (SSIM_K1 * dataRange) ** 2;
  const C2 = (SSIM_K2 * dataRange) ** 2;
  const wo = width - K + 1;
  const ho = height - K + 1;

  // Horizontal pass over every row: 5 filtered quantities, size height × wo.
  const hx = new Float64Array(height * wo);
  const hy = new Float64Array(height * wo);
  const hxx = new Float64Array(height * wo);
  const hyy = new Float64Array(height * wo);
  const hxy = new Float64Array(height * wo);
  const rowX = new Float64Array(width);
  const rowY = new Float64Array(width);
  const rowXX = new Float64Array(width);
  const rowYY = new Float64Array(width);
  const rowXY = new Float64Array(width);
  for (let r = 0; r < height; r++) {
    let p = offset + r * width * stride;
    for (let c = 0; c < width; c++, p += stride) {
      const xv = x[p];
      const yv = y[p];
      rowX[c] = xv;
      rowY[c] = yv;
      rowXX[c] = xv * xv;
      rowYY[c] = yv * yv;
      rowXY[c] = xv * yv;
    }
    const base = r * wo;
    for (let c = 0; c < wo; c++) {
      let sx = 0,
        sy = 0,
        sxx = 0,
        syy = 0,
        sxy = 0;
      for (let k = 0; k < K; k++) {
        const wk = w[k];
        const q = c + k;
        sx += wk * rowX[q];
        sy += wk * rowY[q];
        sxx += wk * rowXX[q];
        syy += wk * rowYY[q];
        sxy += wk * rowXY[q];
      }
      hx[base + c] = sx;
      hy[base + c] = sy;
      hxx[base + c] = sxx;
      hyy[base + c] = syy;
      hxy[base + c] = sxy;
    }
  }

  // Vertical pass, one output row at a time, then the SSIM map, accumulated.
  const ax = new Float64Array(wo);
  const ay = new Float64Array(wo);
  const axx = new Float64Array(wo);
  const ayy = new Float64Array(wo);
  const axy = new Float64Array(wo);
  let total = 0;
  for (let r = 0; r < ho; r++) {
    ax.fill(0);
    ay.fill(0);
    axx.fill(0);
    ayy.fill(0);
    axy.fill(0);
    for (let k = 0; k < K; k++) {
      const wk = w[k];
      const base = (r + k) * wo;
      for (let c = 0; c < wo; c++) {
        ax[c] += wk * hx[base + c];
        ay[c] += wk * hy[base + c];
        axx[c] += wk * hxx[base + c];
        ayy[c] += wk * hyy[base + c];
        axy[c] += wk * hxy[base + c];
      }
    }
    let rowSum = 0;
    for (let c = 0; c < wo; c++) {
      const ux = ax[c];
      const uy = ay[c];
      const vx = axx[c] - ux * ux;
      const vy = ayy[c] - uy * uy;
      const vxy = axy[c] - ux * uy;
      rowSum += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
    total += rowSum;
  }
  return total / (wo * ho);
}

/** Mean SSIM over R, G, B (see module doc for the exact convention). */
export function ssim(a: RgbImage, b: RgbImage): number {
  checkPair(a, b, 'ssim');
  let s = 0;
  for (let ch = 0; ch < 3; ch++) s += ssimPlane(a.data, b.data, a.width, a.height, 3, ch);
  return s / 3;
}

// ---------------------------------------------------------------------------------------
// AuC in CIELAB ab

/** Per-pixel Euclidean distance in CIELAB (a, b) between `pred` and `truth`. */
export function abErrors(pred: RgbImage, truth: RgbImage): Float64Array {
  checkPair(pred, truth, 'abErrors');
  const n = pred.width * pred.height;
  const lp = rgbBufferToLab(pred.data, n);
  const lt = rgbBufferToLab(truth.data, n);
  const out = new Float64Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const da = lp[j + 1] - lt[j + 1];
    const db = lp[j + 2] - lt[j + 2];
    out[i] = Math.sqrt(da * da + db * db);
  }
  return out;
}

/**
 * Cumulative accuracy curve: element t (t = 0..maxThreshold) is the fraction of `errors`
 * that are ≤ t. Errors must be finite and ≥ 0; at least one error is required.
 */
export function accuracyCurve(errors: ArrayLike<number>, maxThreshold = AUC_MAX_THRESHOLD): Float64Array {
  if (!Number.isInteger(maxThreshold) || maxThreshold < 0) {
    throw new RangeError(`accuracyCurve: maxThreshold must be a non-negative integer, got ${maxThreshold}`);
  }
  const n = errors.length;
  if (n === 0) throw new RangeError('accuracyCurve: no errors given');
  // error e is ≤ integer t  ⇔  ceil(e) ≤ t, so a histogram of ceil(e) gives the curve.
  const hist = new Float64Array(maxThreshold + 1);
  for (let i = 0; i < n; i++) {
    const e = errors[i];
    if (!(e >= 0) || !Number.isFinite(e)) throw new RangeError(`accuracyCurve: error[${i}] = ${e} is not a finite value ≥ 0`);
    const k = Math.ceil(e);
    if (k <= maxThreshold) hist[k]++;
  }
  const curve = new Float64Array(maxThreshold + 1);
  let cum = 0;
  for (let t = 0; t <= maxThreshold; t++) {
    cum += hist[t];
    curve[t] = cum / n;
  }
  return curve;
}

/** AuC in % = 100 · mean over t = 0..maxThreshold of fraction(error ≤ t). */
export function aucFromErrors(errors: ArrayLike<number>, maxThreshold = AUC_MAX_THRESHOLD): number {
  const curve = accuracyCurve(errors, maxThreshold);
  let s = 0;
  for (let t = 0; t < curve.length; t++) s += curve[t];
  return (100 * s) / curve.length;
}

/** Zhang et al. 2016 AuC (%) of CIELAB ab errors, thresholds 0..maxThreshold. */
export function aucAb(pred: RgbImage, truth: RgbImage, maxThreshold = AUC_MAX_THRESHOLD): number {
  return aucFromErrors(abErrors(pred, truth), maxThreshold);
}

// ---------------------------------------------------------------------------------------
// Colorfulness

/** Hasler & Süsstrunk 2003 colorfulness M (population std; 0 for any gray image). */
export function colorfulness(img: RgbImage): number {
  checkImage(img, 'colorfulness');
  const d = img.data;
  const n = img.width * img.height;
  let srg = 0,
    syb = 0;
  for (let j = 0; j < d.length; j += 3) {
    srg += d[j] - d[j + 1];
    syb += 0.5 * (d[j] + d[j + 1]) - d[j + 2];
  }
  const mrg = srg / n;
  const myb = syb / n;
  let vrg = 0,
    vyb = 0;
  for (let j = 0; j < d.length; j += 3) {
    const e1 = d[j] - d[j + 1] - mrg;
    const e2 = 0.5 * (d[j] + d[j + 1]) - d[j + 2] - myb;
    vrg += e1 * e1;
    vyb += e2 * e2;
  }
  vrg /= n;
  vyb /= n;
  return Math.sqrt(vrg + vyb) + 0.3 * Math.sqrt(mrg * mrg + myb * myb);
}

// ---------------------------------------------------------------------------------------
// Convenience

export interface ImageMetrics {
  psnr: number;
  ssim: number;
  auc: number;
  colorfulness: number;
  colorfulnessTruth: number;
  /** colorfulness / colorfulnessTruth; plain division: x/0 → Infinity, 0/0 → NaN. */
  colorfulnessRatio: number;
  [key: string]: number;
}

/** All metrics of a prediction against its ground truth. */
export function compareImages(pred: RgbImage, truth: RgbImage): ImageMetrics {
  checkPair(pred, truth, 'compareImages');
  const cPred = colorfulness(pred);
  const cTruth = colorfulness(truth);
  return {
    psnr: psnr(pred, truth),
    ssim: ssim(pred, truth),
    auc: aucAb(pred, truth),
    colorfulness: cPred,
    colorfulnessTruth: cTruth,
    colorfulnessRatio: cPred / cTruth,
  };
}

/** Mean of the finite values (±Infinity and NaN skipped); NaN if none is finite. */
export function meanFinite(values: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

export interface KeyStats {
  /** mean over finite values (NaN if none) */
  mean: number;
  /** number of finite values averaged */
  count: number;
  /** number of non-finite values skipped (e.g. PSNR = ∞ of identical images) */
  skipped: number;
}

/** Per-key statistics over rows; a row without a key does not count for that key. */
export function summarizeDetailed(rows: readonly Record<string, number>[]): Record<string, KeyStats> {
  const acc = new Map<string, { s: number; n: number; skipped: number }>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      let e = acc.get(k);
      if (!e) acc.set(k, (e = { s: 0, n: 0, skipped: 0 }));
      if (Number.isFinite(v)) {
        e.s += v;
        e.n++;
      } else {
        e.skipped++;
      }
    }
  }
  const out: Record<string, KeyStats> = {};
  for (const [k, e] of acc) out[k] = { mean: e.n === 0 ? NaN : e.s / e.n, count: e.n, skipped: e.skipped };
  return out;
}

/**
 * Mean per key over rows, finite-aware: non-finite values (PSNR ∞ for identical images,
 * NaN/∞ colorfulness ratios against gray ground truth) are skipped, as in `meanFinite`.
 * A key with no finite value maps to NaN. Use `summarizeDetailed` for the skip counts.
 */
export function summarize(rows: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, st] of Object.entries(summarizeDetailed(rows))) out[k] = st.mean;
  return out;
}
