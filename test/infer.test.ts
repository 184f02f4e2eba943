/** Resampling and sharpening (pure functions shared by Node and the browser). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizePlane, shrinkLuma } from '../src/infer/resample.js';
import { sharpenToFullRes, lumaForModel } from '../src/infer/sharpen.js';
import { noiseFor } from '../src/infer/generate.js';
import { rgbBufferToYuv } from '../src/color/yuv.js';

test('resizePlane: area average when shrinking (exact on 2× and on non-integer ratios)', () => {
  // 4×2 → 2×1: each output is the mean of a 2×2 block.
  const src = Float32Array.from([1, 3, 10, 20, 5, 7, 30, 40]);
  assert.deepEqual([...resizePlane(src, 4, 2, 2, 1)], [4, 25]);
  // 3 → 2 samples: output 0 covers [0, 1.5): (a + b/2) / 1.5.
  const r = resizePlane(Float32Array.from([3, 6, 9]), 3, 1, 2, 1);
  assert.ok(Math.abs(r[0] - (3 + 3) / 1.5) < 1e-5 && Math.abs(r[1] - (3 + 9) / 1.5) < 1e-5, `${[...r]}`);
  // Area averaging preserves the mean.
  const big = Float32Array.from({ length: 97 * 61 }, (_, i) => (i * 37) % 101);
  const small = resizePlane(big, 97, 61, 8, 8);
  const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(Math.abs(mean(big) - mean(small)) < 0.5, `${mean(big)} vs ${mean(small)}`);
});

test('resizePlane: bilinear with half-pixel centers when enlarging; constants stay constant', () => {
  const up = resizePlane(Float32Array.from([0, 4]), 2, 1, 4, 1);
  assert.deepEqual([...up], [0, 1, 3, 4]);
  const c = resizePlane(new Float32Array(9).fill(7), 3, 3, 10, 5, 1);
  assert.ok(c.every((x) => Math.abs(x - 7) < 1e-5));
  // Interleaved channels are resized independently.
  const two = resizePlane(Float32Array.from([1, -1, 3, -3]), 2, 1, 1, 1, 2);
  assert.deepEqual([...two], [2, -2]);
});

test('sharpenToFullRes: zero chroma returns the gray image; constant chroma gives that U,V everywhere', () => {
  const w = 37,
    h = 23,
    size = 8;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = 40 + ((i * 7) % 150);
  const gray = sharpenToFullRes(rgb, w, h, new Float32Array(size * size * 2), size);
  assert.deepEqual(gray, rgb);
  // u = 0.2, v = -0.1 (network scale) → U = 153.5, V = 115.25 away from gamut limits.
  const uv = new Float32Array(size * size * 2);
  for (let i = 0; i < size * size; i++) {
    uv[2 * i] = 0.2;
    uv[2 * i + 1] = -0.1;
  }
  const out = sharpenToFullRes(rgb, w, h, uv, size);
  const p = rgbBufferToYuv(out, w, h);
  const inY = rgbBufferToYuv(rgb, w, h).y;
  for (let i = 0; i < w * h; i++) {
    assert.ok(Math.abs(p.u[i] - 153.5) < 1.5 && Math.abs(p.v[i] - 115.25) < 1.5, `pixel ${i}: U ${p.u[i]} V ${p.v[i]}`);
    assert.ok(Math.abs(p.y[i] - inY[i]) < 0.6);
  }
});

test('sharpenToFullRes keeps luma where the chroma is out of gamut (scaled toward gray, not clipped)', () => {
  const rgb = Uint8Array.from([250, 250, 250, 5, 5, 5]);
  const uv = Float32Array.from([0.9, 0.9]); // strong chroma on near-white and near-black pixels
  const out = sharpenToFullRes(rgb, 2, 1, uv, 1);
  const y = rgbBufferToYuv(out, 2, 1).y;
  assert.ok(Math.abs(y[0] - 250) < 0.6 && Math.abs(y[1] - 5) < 0.6, `${[...y]}`);
  assert.ok(out[2] > out[0], 'still tinted in the predicted direction (more blue than red)');
});

test('lumaForModel: network-scale luma of the shrunk photo; noise is seeded', () => {
  const w = 16,
    h = 8;
  const rgb = new Uint8Array(w * h * 3).fill(255);
  const y = lumaForModel(rgb, w, h, 4);
  assert.equal(y.length, 16);
  assert.ok(y.every((v) => Math.abs(v - 1) < 1e-5));
  assert.deepEqual(noiseFor(3, 1, 8), noiseFor(3, 1, 8));
  assert.notDeepEqual(noiseFor(3, 1, 8), noiseFor(3, 2, 8));
});

test('shrinkLuma (streaming) equals luma then resizePlane', () => {
  const w = 203,
    h = 131;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 131 + 7) % 256);
  const y = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) y[i] = rgb[3 * i] * 0.299 + rgb[3 * i + 1] * 0.587 + rgb[3 * i + 2] * 0.114;
  const a = resizePlane(y, w, h, 16, 16);
  const b = shrinkLuma(rgb, w, h, 16, 16);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst < 1e-3, `max difference ${worst}`);
});
