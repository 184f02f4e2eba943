/**
 * Random convolution cases shared by the wasm-kernel and native-kernel suites: each is
 * run on the pure-JS `cpu` backend (the reference) and on wasm.
 */
import assert from 'node:assert/strict';
import * as tf from '../src/util/tf.js';

export type Pad = 'same' | 'valid' | number;
export type Strides = number | [number, number];

/** Deterministic pseudo-random values in [-1, 1). */
export function rand(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function relL2(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'size mismatch');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: Strides;
  pad: Pad;
}

export interface Results {
  dx: Float32Array;
  dw: Float32Array;
  tr: Float32Array; // conv2dTranspose(dy, W) with the forward conv's x shape
  y: Float32Array; // conv2d(x, W)
  fused: Float32Array; // leakyRelu(conv2d(x, W) + b, 0.2) as one fused op
}

/** dx and dW of sum(conv2d(x, W) * dy), conv2dTranspose(dy, W), conv2d and a fused conv + bias + leaky ReLU, on one backend. */
export async function onBackend(name: 'cpu' | 'wasm', c: Case, seed: number): Promise<Results> {
  await tf.setBackend(name);
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(rand(c.n * c.h * c.w * c.ci, seed), [c.n, c.h, c.w, c.ci]);
    const wt = tf.tensor4d(rand(c.k * c.k * c.ci * c.co, seed + 1), [c.k, c.k, c.ci, c.co]);
    const yShape = tf.conv2d(x, wt, c.s, c.pad).shape;
    const dy = tf.tensor4d(
      rand(
        yShape.reduce((a, b) => a * b, 1),
        seed + 2,
      ),
      yShape,
    );
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad), dy)))([x, wt]);
    const tr = tf.conv2dTranspose(dy, wt, [c.n, c.h, c.w, c.ci], c.s, c.pad);
    const y = tf.conv2d(x, wt, c.s, c.pad);
    const b = tf.tensor1d(rand(c.co, seed + 3));
    const fused = tf.fused.conv2d({ x, filter: wt, strides: c.s, pad: c.pad, bias: b, activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    return [g[0]!, g[1]!, tr, y, fused];
  });
  const [dx, dw, tr, y, fused] = ts.map((t) => t.dataSync() as Float32Array);
  tf.dispose(ts);
  return { dx: dx!, dw: dw!, tr: tr!, y: y!, fused: fused! };
}

export function cases(): Case[] {
  const out: Case[] = [];
  const chans: [number, number][] = [
    [1, 3],
    [3, 8],
    [8, 32],
    [32, 1],
  ];
  const batches = [1, 2, 5];
  let i = 0;
  for (const s of [1, 2])
    for (const pad of ['same', 'valid'] as const)
      for (const k of [1, 3, 4, 5])
        for (const [ci, co] of chans) {
          out.push({ n: batches[i % 3]!, h: 17, w: 13, ci, co, k, s, pad });
          i++;
        }
  // Unequal strides, explicit numeric padding, stride larger than the filter, even sizes.
  out.push({ n: 2, h: 17, w: 13, ci: 3, co: 8, k: 3, s: [2, 1], pad: 'same' });
  out.push({ n: 2, h: 17, w: 13, ci: 8, co: 3, k: 4, s: [1, 2], pad: 'valid' });
  out.push({ n: 2, h: 17, w: 13, ci: 3, co: 5, k: 3, s: 2, pad: 1 });
  out.push({ n: 1, h: 16, w: 16, ci: 8, co: 16, k: 4, s: 2, pad: 'same' });
  out.push({ n: 2, h: 17, w: 13, ci: 4, co: 4, k: 2, s: 3, pad: 'valid' });
  out.push({ n: 2, h: 17, w: 13, ci: 4, co: 4, k: 5, s: 3, pad: 'same' });
  return out;
}

export const fmt = (c: Case) => `n${c.n} ${c.h}x${c.w} ci${c.ci} co${c.co} k${c.k} s${JSON.stringify(c.s)} ${c.pad}`;

/**
 * Every case on cpu (the reference) and on wasm with seed `seedOf(i)`: asserts that each of
 * `keys` agrees to a relative L2 error below 1e-4 and returns the worst error seen.
 */
export async function worstErrorVsCpu(keys: readonly (keyof Results)[], seedOf: (i: number) => number): Promise<number> {
  let worst = 0;
  const all = cases();
  for (let i = 0; i < all.length; i++) {
    const c = all[i]!;
    const ref = await onBackend('cpu', c, seedOf(i));
    const got = await onBackend('wasm', c, seedOf(i));
    for (const key of keys) {
      const e = relL2(got[key], ref[key]);
      worst = Math.max(worst, e);
      assert.ok(e < 1e-4, `${key} ${fmt(c)}: relative L2 error ${e}`);
    }
  }
  return worst;
}

/** Weights and input of a tiny encoder/decoder (4×4 conv, stride 2, then its transpose) for the gradient-step leak tests. */
export function encoderDecoder(): { w1: tf.Variable<tf.Rank.R4>; w2: tf.Variable<tf.Rank.R4>; x: tf.Tensor4D } {
  return {
    w1: tf.variable(tf.mul<tf.Tensor4D>(tf.tensor4d(rand(4 * 4 * 3 * 16, 1), [4, 4, 3, 16]), 0.1)),
    w2: tf.variable(tf.mul<tf.Tensor4D>(tf.tensor4d(rand(4 * 4 * 3 * 16, 2), [4, 4, 3, 16]), 0.1)),
    x: tf.tensor4d(rand(4 * 32 * 32 * 3, 3), [4, 32, 32, 3]),
  };
}
