import { test } from 'node:test';
import assert from 'node:assert/strict';

import { rgbToLab, rgbBufferToLab, srgbToLinear } from '../src/color/lab.js';
import type { RgbImage } from '../src/color/yuv.js';
import {
  abErrors,
  accuracyCurve,
  aucAb,
  aucFromErrors,
  colorfulness,
  compareImages,
  gaussianKernel1d,
  meanFinite,
  mse,
  psnr,
  ssim,
  summarize,
  summarizeDetailed,
} from '../src/eval/metrics.js';

// ---------------------------------------------------------------------------------------
// helpers

function close(actual: number, expected: number, tol: number, msg = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${msg} expected ${expected} ± ${tol}, got ${actual} (diff ${actual - expected})`);
}

function solid(width: number, height: number, r: number, g: number, b: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
  return { width, height, data };
}

function fromFn(width: number, height: number, fn: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = fn(x, y, c);
  return { width, height, data };
}

/**
 * Deterministic pair shared with the Python reference script (see "SSIM / PSNR / AuC vs
 * scikit-image" below): LCG s = (s·1664525 + 1013904223) mod 2³², byte = s >>> 24.
 * First w·h·3 bytes → image A (row-major interleaved RGB); the next w·h·3 draws give
 * noise = byte % (2·amp + 1) − amp and B = clamp(A + noise, 0, 255).
 */
function lcgPair(width: number, height: number, seed: number, amp: number): [RgbImage, RgbImage] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
  const n = width * height * 3;
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = next();
  for (let i = 0; i < n; i++) b[i] = Math.min(255, Math.max(0, a[i] + (next() % (2 * amp + 1)) - amp));
  return [
    { width, height, data: a },
    { width, height, data: b },
  ];
}

/**
 * Straightforward non-separable SSIM reference (O(N·121) per channel), written
 * independently of src/eval/metrics.ts: 2-D Gaussian weights w(i,j) ∝ exp(−(i²+j²)/(2·1.5²))
 * on an 11×11 window normalized to sum 1, weighted means/variances/covariance per
 * valid-window position, SSIM map averaged, then averaged over channels.
 */
function ssimReference(a: RgbImage, b: RgbImage): number {
  const R = 5;
  const W2: number[][] = [];
  let tot = 0;
  for (let i = -R; i <= R; i++) {
    const row: number[] = [];
    for (let j = -R; j <= R; j++) {
      const v = Math.exp(-(i * i + j * j) / (2 * 1.5 * 1.5));
      row.push(v);
      tot += v;
    }
    W2.push(row);
  }
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    let chSum = 0;
    let count = 0;
    for (let cy = R; cy < a.height - R; cy++) {
      for (let cx = R; cx < a.width - R; cx++) {
        let mx = 0,
          my = 0;
        for (let i = -R; i <= R; i++)
          for (let j = -R; j <= R; j++) {
            const w = W2[i + R][j + R] / tot;
            const p = ((cy + i) * a.width + (cx + j)) * 3 + c;
            mx += w * a.data[p];
            my += w * b.data[p];
          }
        let vx = 0,
          vy = 0,
          cxy = 0;
        for (let i = -R; i <= R; i++)
          for (let j = -R; j <= R; j++) {
            const w = W2[i + R][j + R] / tot;
            const p = ((cy + i) * a.width + (cx + j)) * 3 + c;
            const dx = a.data[p] - mx;
            const dy = b.data[p] - my;
            vx += w * dx * dx;
            vy += w * dy * dy;
            cxy += w * dx * dy;
          }
        chSum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        count++;
      }
    }
    sum += chSum / count;
  }
  return sum / 3;
}

// ---------------------------------------------------------------------------------------
// CIELAB

test('lab: reference colors (D65, sRGB gamma)', () => {
  // Expected values: an independent numpy implementation of the same formulas
  // (IEC 61966-2-1 gamma, Lindbloom's 7-digit sRGB→XYZ matrix, D65 white 0.95047/1/1.08883),
  // run once with Debian's python3-numpy 1.24.2. White/black/red also match the widely
  // published values (100,0,0), (0,0,0), (53.24, 80.09, 67.20).
  const cases: [number[], number[]][] = [
    [
      [255, 255, 255],
      [100.00000386666655, -1.6666666158293708e-5, 6.6666664633174832e-6],
    ],
    [
      [0, 0, 0],
      [0, 0, 0],
    ],
    [
      [255, 0, 0],
      [53.24079414130719, 80.09245959641115, 67.20319651585297],
    ],
    [
      [0, 255, 0],
      [87.73472235279792, -86.18271642053466, 83.17932050269783],
    ],
    [
      [0, 0, 255],
      [32.297010932850725, 79.18751984512218, -107.8601617541481],
    ],
    [
      [128, 128, 128],
      [53.585015771669404, -9.9978464396244249e-6, 3.9991385758497699e-6],
    ],
    [
      [10, 200, 30],
      [70.49982453601858, -70.51349092700366, 64.94016369018694],
    ],
    [
      [250, 128, 64],
      [66.62546937055234, 42.23102480849666, 54.400114827358394],
    ],
    [
      [5, 3, 8],
      [1.0380864130968526, 1.218281813048852, -1.707999971059615],
    ], // linear branch of f
  ];
  for (const [[r, g, b], [L, A, B]] of cases) {
    const lab = rgbToLab(r, g, b);
    close(lab.L, L, 1e-9, `L(${r},${g},${b})`);
    close(lab.a, A, 1e-9, `a(${r},${g},${b})`);
    close(lab.b, B, 1e-9, `b(${r},${g},${b})`);
  }
  // Published rounded values and white ≈ (100, 0, 0).
  const red = rgbToLab(255, 0, 0);
  close(red.L, 53.24, 0.005);
  close(red.a, 80.09, 0.005);
  close(red.b, 67.2, 0.005);
  const white = rgbToLab(255, 255, 255);
  close(white.L, 100, 1e-4);
  close(white.a, 0, 1e-4);
  close(white.b, 0, 1e-4);
  // scikit-image 0.19.3 rgb2lab (6-digit matrix) agrees within 0.01: red = (53.2406, 80.0923, 67.2028)
  close(red.L, 53.240587943744885, 0.01);
  close(red.a, 80.09230822569225, 0.01);
  close(red.b, 67.20275104442868, 0.01);
});

test('lab: sRGB linearization has both branches and is continuous', () => {
  close(srgbToLinear(0), 0, 0);
  close(srgbToLinear(255), 1, 1e-15);
  close(srgbToLinear(10), 10 / 255 / 12.92, 1e-15); // 10/255 = 0.0392 ≤ 0.04045
  close(srgbToLinear(128), ((128 / 255 + 0.055) / 1.055) ** 2.4, 1e-15);
});

test('lab: buffer conversion matches per-pixel conversion (Uint8 LUT path and generic path)', () => {
  const [img] = lcgPair(7, 5, 99, 0);
  const n = 35;
  const buf = rgbBufferToLab(img.data, n);
  const generic = rgbBufferToLab(Array.from(img.data), n);
  assert.equal(buf.length, n * 3);
  for (let i = 0; i < n; i++) {
    const lab = rgbToLab(img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]);
    close(buf[i * 3], lab.L, 1e-4);
    close(buf[i * 3 + 1], lab.a, 1e-4);
    close(buf[i * 3 + 2], lab.b, 1e-4);
    for (let c = 0; c < 3; c++) assert.equal(buf[i * 3 + c], generic[i * 3 + c]);
  }
  assert.throws(() => rgbBufferToLab(new Uint8Array(5), 2), /need 6/);
});

// ---------------------------------------------------------------------------------------
// size checks

test('pairwise metrics throw on size mismatch', () => {
  const a = solid(12, 12, 1, 2, 3);
  const b = solid(12, 13, 1, 2, 3);
  for (const fn of [psnr, ssim, aucAb, mse, abErrors, compareImages] as ((x: RgbImage, y: RgbImage) => unknown)[]) {
    assert.throws(() => fn(a, b), /sizes differ \(12x12 vs 12x13\)/);
  }
  const bad: RgbImage = { width: 12, height: 12, data: new Uint8Array(10) };
  assert.throws(() => psnr(a, bad), /expected 432/);
});

// ---------------------------------------------------------------------------------------
// PSNR

test('psnr: by-hand values', () => {
  // 2×2, one channel value off by 6 → MSE = 36/12 = 3 → PSNR = 10·log10(255²/3)
  const a = solid(2, 2, 100, 100, 100);
  const b = solid(2, 2, 100, 100, 100);
  b.data[4] = 106;
  assert.equal(mse(a, b), 3);
  close(psnr(a, b), 10 * Math.log10((255 * 255) / 3), 1e-12);
  close(psnr(a, b), 43.35959106, 1e-8); // 10·log10(21675), checked with python3 math.log10

  // constant offset of d levels everywhere → PSNR = 10·log10(255²/d²) = 20·log10(255/d)
  for (const d of [1, 5, 17, 255]) {
    const x = solid(4, 4, 0, 0, 255);
    const y = solid(4, 4, d, d, 255 - d); // |error| = d in every value (signs mixed)
    close(psnr(x, y), 10 * Math.log10((255 * 255) / (d * d)), 1e-12, `d=${d}`);
  }
  close(psnr(solid(4, 4, 0, 0, 0), solid(4, 4, 255, 255, 255)), 0, 1e-12);
  close(psnr(solid(4, 4, 0, 0, 0), solid(4, 4, 1, 1, 1)), 48.1308036086791, 1e-9); // 20·log10(255)
});

test('psnr: identical images → Infinity, and summarize skips it', () => {
  const a = solid(3, 3, 7, 8, 9);
  assert.equal(psnr(a, { ...a, data: a.data.slice() }), Infinity);
  const s = summarize([{ psnr: Infinity }, { psnr: 30 }, { psnr: 40 }]);
  assert.equal(s.psnr, 35);
});

// ---------------------------------------------------------------------------------------
// SSIM

test('ssim: Gaussian kernel is 11 taps, σ = 1.5, normalized, symmetric', () => {
  const w = gaussianKernel1d();
  assert.equal(w.length, 11);
  close(
    w.reduce((s, v) => s + v, 0),
    1,
    1e-15,
  );
  for (let i = 0; i < 11; i++) close(w[i], w[10 - i], 0);
  close(w[5] / w[6], Math.exp(0.5 / 2.25), 1e-14);
});

test('ssim: identical images → 1', () => {
  const [a] = lcgPair(20, 17, 4, 0);
  close(ssim(a, { ...a, data: a.data.slice() }), 1, 1e-12);
});

test('ssim: two constant images → closed form (2μxμy + C1)/(μx² + μy² + C1)', () => {
  // Zero variances and covariance: the contrast/structure term is (0 + C2)/(0 + C2) = 1.
  const C1 = (0.01 * 255) ** 2;
  const cases: [number[], number[]][] = [
    [
      [100, 100, 100],
      [120, 120, 120],
    ],
    [
      [0, 50, 255],
      [255, 60, 0],
    ],
    [
      [10, 10, 10],
      [0, 0, 0],
    ],
  ];
  for (const [p, q] of cases) {
    const a = solid(13, 12, p[0], p[1], p[2]);
    const b = solid(13, 12, q[0], q[1], q[2]);
    let expected = 0;
    for (let c = 0; c < 3; c++) expected += (2 * p[c] * q[c] + C1) / (p[c] ** 2 + q[c] ** 2 + C1);
    expected /= 3;
    close(ssim(a, b), expected, 1e-9, `${p} vs ${q}`);
  }
  // by hand: 100 vs 120 → (24000 + 6.5025)/(24400 + 6.5025) = 0.98361274...
  close(ssim(solid(11, 11, 100, 100, 100), solid(11, 11, 120, 120, 120)), 24006.5025 / 24406.5025, 1e-9);
});

test('ssim: images smaller than 11 px throw', () => {
  assert.throws(() => ssim(solid(10, 20, 0, 0, 0), solid(10, 20, 0, 0, 0)), /needs at least 11x11/);
  assert.throws(() => ssim(solid(20, 10, 0, 0, 0), solid(20, 10, 0, 0, 0)), /needs at least 11x11/);
  assert.doesNotThrow(() => ssim(solid(11, 11, 0, 0, 0), solid(11, 11, 0, 0, 0)));
});

test('ssim: separable implementation equals the O(N·121) reference', () => {
  const pairs: [RgbImage, RgbImage][] = [
    lcgPair(24, 19, 12345, 40),
    lcgPair(16, 13, 777, 120),
    lcgPair(11, 11, 5, 30),
    [fromFn(30, 14, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256), fromFn(30, 14, (x, y, c) => (x * 5 + y * 11 + c * 20) % 256)],
  ];
  for (const [a, b] of pairs) close(ssim(a, b), ssimReference(a, b), 1e-12, `${a.width}x${a.height}`);
});

// ---------------------------------------------------------------------------------------
// scikit-image cross-check

test('SSIM / PSNR / AuC / colorfulness vs scikit-image on fixed pseudo-random pairs', () => {
  // Expected numbers were computed ONCE with Debian's python3-skimage 0.19.3 / numpy 1.24.2
  // on the same LCG pairs (script generated identical bytes; first bytes checked below):
  //   ssim = structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
  //                                use_sample_covariance=False, data_range=255)
  //   psnr = peak_signal_noise_ratio(b, a, data_range=255)
  //   colorfulness: numpy (population np.std / np.mean of rg, yb)
  //   auc: errors = ‖ab(b) − ab(a)‖ with a numpy Lab using this module's matrix, then
  //        100·mean_t∈0..150((err ≤ t).mean()). (skimage's rgb2lab, whose matrix has 6
  //        digits, gives 88.23922388753341 for pair A — identical — and 71.95618950585838
  //        for pair B, 0.003 lower = one pixel crossing one threshold.)
  const cases = [
    {
      args: [24, 19, 12345, 40] satisfies Parameters<typeof lcgPair>,
      first: [
        [5, 4, 139, 162],
        [3, 0, 138, 195],
      ],
      ssim: 0.9487881422937186,
      psnr: 20.844050773805343,
      cfA: 139.66815646954873,
      cfB: 143.46308115388914,
      auc: 88.23922388753341,
    },
    {
      args: [16, 13, 777, 120] satisfies Parameters<typeof lcgPair>,
      first: [
        [137, 193, 214, 109],
        [160, 82, 255, 26],
      ],
      ssim: 0.6503141319539192,
      psnr: 12.467178564067272,
      cfA: 138.8982975363751,
      cfB: 160.41909690216596,
      auc: 71.9593734080489,
    },
  ];
  for (const c of cases) {
    const [a, b] = lcgPair(...c.args);
    assert.deepEqual(Array.from(a.data.slice(0, 4)), c.first[0]);
    assert.deepEqual(Array.from(b.data.slice(0, 4)), c.first[1]);
    close(ssim(a, b), c.ssim, 1e-12, 'ssim');
    close(ssim(b, a), c.ssim, 1e-12, 'ssim symmetric');
    close(psnr(b, a), c.psnr, 1e-12, 'psnr');
    close(colorfulness(a), c.cfA, 1e-10, 'colorfulness a');
    close(colorfulness(b), c.cfB, 1e-10, 'colorfulness b');
    close(aucAb(b, a), c.auc, 1e-9, 'auc');
    const m = compareImages(b, a);
    close(m.psnr, c.psnr, 1e-12);
    close(m.ssim, c.ssim, 1e-12);
    close(m.auc, c.auc, 1e-9);
    close(m.colorfulness, c.cfB, 1e-10);
    close(m.colorfulnessTruth, c.cfA, 1e-10);
    close(m.colorfulnessRatio, c.cfB / c.cfA, 1e-12);
  }
});

test('ssim: works on a 1-megapixel image and stays in (0, 1)', () => {
  const [a, b] = lcgPair(1000, 1000, 42, 20);
  const v = ssim(a, b);
  assert.ok(v > 0 && v < 1);
});

// ---------------------------------------------------------------------------------------
// AuC

test('aucFromErrors: uniform error d → (151 − d)/151 · 100', () => {
  const n = 10;
  close(aucFromErrors(new Float64Array(n)), 100, 1e-12);
  for (const d of [1, 2, 10, 75, 150]) {
    close(aucFromErrors(new Float64Array(n).fill(d)), ((151 - d) / 151) * 100, 1e-12, `d=${d}`);
  }
  close(aucFromErrors([151]), 0, 0);
  close(aucFromErrors([1e9]), 0, 0);
  // non-integer error 2.5: fractions 0 for t = 0,1,2; 1 for t = 3..150 → 148/151
  close(aucFromErrors([2.5]), (148 / 151) * 100, 1e-12);
  // tiny positive error is not ≤ 0: 150/151
  close(aucFromErrors([1e-9]), (150 / 151) * 100, 1e-12);
});

test('aucFromErrors: mixed errors and custom maxThreshold by hand', () => {
  // errors {0, 1, 3, 200}: t=0 → 1/4, t=1,2 → 2/4, t=3..150 → 3/4
  // sum = 0.25 + 2·0.5 + 148·0.75 = 112.25 → AuC = 112.25/151·100
  close(aucFromErrors([0, 1, 3, 200]), (112.25 / 151) * 100, 1e-12);
  const curve = accuracyCurve([0, 1, 3, 200], 4);
  assert.deepEqual(Array.from(curve), [0.25, 0.5, 0.5, 0.75, 0.75]);
  close(aucFromErrors([0, 1, 3, 200], 4), ((0.25 + 0.5 + 0.5 + 0.75 + 0.75) / 5) * 100, 1e-12);
  assert.throws(() => aucFromErrors([]), /no errors/);
  assert.throws(() => aucFromErrors([1, NaN]), /error\[1\]/);
  assert.throws(() => aucFromErrors([-1]), /error\[0\]/);
  assert.throws(() => aucFromErrors([1], 2.5), /maxThreshold/);
});

test('aucAb: identical → 100; gray vs gray ≥ 150/151·100; known ab error from Lab', () => {
  const [a] = lcgPair(9, 7, 3, 0);
  close(aucAb(a, { ...a, data: a.data.slice() }), 100, 1e-12);
  // Gray pixels have a = b ≈ 0 (|ab| < 2e-5 by the Lab test), so the ab error is < 1 and only
  // the t = 0 threshold can fail (the residual differs with lightness): AuC ≥ 150/151·100.
  const g = aucAb(solid(4, 4, 30, 30, 30), solid(4, 4, 200, 200, 200));
  assert.ok(g >= (150 / 151) * 100 - 1e-9, `gray vs gray ${g}`);
  // Pure red vs white: ab error = ‖(80.0925, 67.2032) − (≈0, ≈0)‖ = 104.55… → fraction 1
  // for t ≥ 105: AuC = (151 − 105)/151·100.
  const d = Math.hypot(80.09245959641115 + 1.6666666158293708e-5, 67.20319651585297 - 6.6666664633174832e-6);
  assert.equal(Math.ceil(d), 105);
  close(abErrors(solid(2, 2, 255, 0, 0), solid(2, 2, 255, 255, 255))[0], d, 1e-4);
  close(aucAb(solid(2, 2, 255, 0, 0), solid(2, 2, 255, 255, 255)), (46 / 151) * 100, 1e-12);
  // half the pixels perfect, half red-vs-white: 0.5·100 + 0.5·46/151·100
  const p = fromFn(2, 2, (x, _y, c) => (x === 0 ? 255 : c === 0 ? 255 : 0));
  const t = solid(2, 2, 255, 255, 255);
  close(aucAb(p, t), 50 + 50 * (46 / 151), 1e-12);
});

// ---------------------------------------------------------------------------------------
// Colorfulness

test('colorfulness: gray images → 0', () => {
  assert.equal(colorfulness(solid(5, 5, 0, 0, 0)), 0);
  assert.equal(colorfulness(solid(5, 5, 77, 77, 77)), 0);
  assert.equal(colorfulness(fromFn(6, 4, (x, y) => (x * 40 + y * 9) % 256)), 0);
});

test('colorfulness: constant and two-color images by hand', () => {
  // constant red: rg = 255, yb = 127.5, σ = 0 → M = 0.3·sqrt(255² + 127.5²) = 0.3·127.5·√5
  close(colorfulness(solid(3, 3, 255, 0, 0)), 0.3 * 127.5 * Math.sqrt(5), 1e-12);
  // half red (rg 255, yb 127.5) and half blue (rg 0, yb −255):
  //   μ_rg = 127.5, μ_yb = −63.75, σ_rg = 127.5, σ_yb = 191.25 (half the differences)
  //   M = sqrt(127.5² + 191.25²) + 0.3·sqrt(127.5² + 63.75²) = 127.5·√3.25 + 0.3·63.75·√5 ≈ 272.6187
  const img = fromFn(4, 2, (x, _y, c) => (x < 2 ? (c === 0 ? 255 : 0) : c === 2 ? 255 : 0));
  const expected = 127.5 * Math.sqrt(3.25) + 0.3 * 63.75 * Math.sqrt(5);
  close(colorfulness(img), expected, 1e-12);
  close(expected, 272.6187, 1e-4);
});

// ---------------------------------------------------------------------------------------
// compareImages / summarize

test('compareImages: identical images and gray ground truth', () => {
  const [a] = lcgPair(12, 12, 8, 0);
  const m = compareImages(a, { ...a, data: a.data.slice() });
  assert.equal(m.psnr, Infinity);
  close(m.ssim, 1, 1e-12);
  close(m.auc, 100, 1e-12);
  close(m.colorfulnessRatio, 1, 1e-12);
  assert.deepEqual(Object.keys(m).sort(), ['auc', 'colorfulness', 'colorfulnessRatio', 'colorfulnessTruth', 'psnr', 'ssim']);
  const g = compareImages(solid(11, 11, 9, 9, 9), solid(11, 11, 9, 9, 9));
  assert.ok(Number.isNaN(g.colorfulnessRatio)); // 0 / 0
  const r = compareImages(solid(11, 11, 200, 9, 9), solid(11, 11, 9, 9, 9));
  assert.equal(r.colorfulnessRatio, Infinity); // x / 0
});

test('summarize / meanFinite: per-key finite means', () => {
  assert.equal(meanFinite([1, 2, Infinity, NaN, 3, -Infinity]), 2);
  assert.ok(Number.isNaN(meanFinite([Infinity])));
  assert.ok(Number.isNaN(meanFinite([])));
  const rows: Record<string, number>[] = [
    { psnr: 20, ssim: 0.5, ratio: NaN },
    { psnr: Infinity, ssim: 1, ratio: Infinity },
    { psnr: 30, ssim: 0.9, extra: 4 },
  ];
  const s = summarize(rows);
  assert.deepEqual(Object.keys(s).sort(), ['extra', 'psnr', 'ratio', 'ssim']);
  assert.equal(s.psnr, 25);
  close(s.ssim, 0.8, 1e-15);
  assert.equal(s.extra, 4);
  assert.ok(Number.isNaN(s.ratio));
  const d = summarizeDetailed(rows);
  assert.deepEqual(d.psnr, { mean: 25, count: 2, skipped: 1 });
  assert.deepEqual(d.ratio.count, 0);
  assert.deepEqual(d.ratio.skipped, 2);
  assert.deepEqual(summarize([]), {});
});
