import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  luma,
  chromaU,
  chromaV,
  redOffset,
  greenOffset,
  blueOffset,
  rgbBufferToYuv,
  yuvToRgbBuffer,
  toByte,
  yToNet,
  yFromNet,
  uvToNet,
  uvFromNet,
  planesToNet,
  grayscaleRgb,
} from '../src/color/yuv.js';
import { mulberry32 } from '../src/util/rng.js';

const close = (a: number, b: number, tol = 1e-9, msg = '') => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);
// The per-pixel formulas, as one pixel (the core exports them one channel at a time).
const rgbToYuv = (r: number, g: number, b: number) => ({ y: luma(r, g, b), u: chromaU(r, g, b), v: chromaV(r, g, b) });
const yuvToRgb = (y: number, u: number, v: number) => ({ r: y + redOffset(v - 128), g: y + greenOffset(u - 128, v - 128), b: y + blueOffset(u - 128) });

// Hand-computed with the paper's formulas:
//   Y = .299R + .587G + .114B;  U = -.168736R - .331264G + .5B + 128;  V = .5R - .418688G - .081312B + 128
test('rgbToYuv: primaries, white, black, mid-gray against hand-computed values', () => {
  const cases: [number[], number[]][] = [
    [
      [255, 0, 0],
      [76.245, 84.97232, 255.5],
    ],
    [
      [0, 255, 0],
      [149.685, 43.52768, 21.23456],
    ],
    [
      [0, 0, 255],
      [29.07, 255.5, 107.26544],
    ],
    [
      [255, 255, 255],
      [255, 128, 128],
    ],
    [
      [0, 0, 0],
      [0, 128, 128],
    ],
    [
      [128, 128, 128],
      [128, 128, 128],
    ],
  ];
  for (const [[r, g, b], [y, u, v]] of cases) {
    const o = rgbToYuv(r, g, b);
    close(o.y, y, 1e-6, `Y of ${r},${g},${b}`);
    close(o.u, u, 1e-6, `U of ${r},${g},${b}`);
    close(o.v, v, 1e-6, `V of ${r},${g},${b}`);
  }
});

test('a gray pixel has U = V = 128 exactly (to float precision)', () => {
  for (let g = 0; g <= 255; g += 17) {
    const o = rgbToYuv(g, g, g);
    close(o.u, 128, 1e-9);
    close(o.v, 128, 1e-9);
    close(o.y, g, 1e-9);
  }
});

test('yuvToRgb uses the paper inverse (R = Y + 1.4075(V-128), ...)', () => {
  const o = yuvToRgb(100, 150, 90);
  close(o.r, 100 + 1.4075 * -38);
  close(o.g, 100 - 0.3455 * 22 - 0.7169 * -38);
  close(o.b, 100 + 1.779 * 22);
});

test('RGB -> YUV -> RGB round trip within 1 level on random pixels', () => {
  const rand = mulberry32(7);
  const n = 20000;
  const rgb = new Uint8Array(n * 3).map(() => Math.floor(rand() * 256));
  const p = rgbBufferToYuv(rgb, n, 1);
  const back = yuvToRgbBuffer(p.y, p.u, p.v);
  let worst = 0;
  for (let i = 0; i < rgb.length; i++) worst = Math.max(worst, Math.abs(back[i] - rgb[i]));
  assert.ok(worst <= 1, `worst round-trip error ${worst} levels`);
  // Per-pixel and per-buffer functions agree.
  for (let i = 0; i < 50; i++) {
    const o = rgbToYuv(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
    close(p.y[i], o.y, 1e-3);
    close(p.u[i], o.u, 1e-3);
    close(p.v[i], o.v, 1e-3);
    const q = yuvToRgb(o.y, o.u, o.v);
    assert.deepEqual([back[3 * i], back[3 * i + 1], back[3 * i + 2]], [toByte(q.r), toByte(q.g), toByte(q.b)]);
  }
});

test('network scale maps [0,255] and U,V to [-1,1] and back', () => {
  close(yToNet(0), -1);
  close(yToNet(255), 1);
  close(uvToNet(128), 0);
  close(uvToNet(255.5), 1);
  close(uvToNet(0.5), -1);
  for (const x of [0, 17.5, 128, 255]) {
    close(yFromNet(yToNet(x)), x, 1e-9);
    close(uvFromNet(uvToNet(x)), x, 1e-9);
  }
  const net = planesToNet(rgbBufferToYuv(new Uint8Array([255, 0, 0, 0, 0, 255]), 2, 1));
  for (const a of [net.y, net.u, net.v]) for (const x of a) assert.ok(x >= -1 && x <= 1);
});

test('toByte rounds and clamps; grayscaleRgb gives R=G=B=round(Y)', () => {
  assert.deepEqual([toByte(-3), toByte(0.49), toByte(0.5), toByte(254.6), toByte(300)], [0, 0, 1, 255, 255]);
  const g = grayscaleRgb({ width: 1, height: 2, data: new Uint8Array([255, 0, 0, 10, 20, 30]) });
  assert.deepEqual([...g.data], [76, 76, 76, 18, 18, 18]);
  const p = rgbBufferToYuv(g.data, 2, 1);
  close(p.u[0], 128, 1e-4);
  close(p.v[1], 128, 1e-4);
});
