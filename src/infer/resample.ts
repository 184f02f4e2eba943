/**
 * Resampling of single-channel float planes (pure functions, shared with the browser).
 * Downscaling averages exact pixel areas (no aliasing from a 12 MP photo to 64×64);
 * upscaling is bilinear with half-pixel centers (the convention of sharp/libvips, PIL
 * and tf.image.resizeBilinear with halfPixelCenters; the tap itself is color/yuv.ts's).
 */
import { bilinearTap, luma } from '../color/yuv.js';

export interface Taps {
  index: Int32Array;
  weight: Float32Array;
  start: Int32Array; // taps of output i are start[i] .. start[i+1]-1
}

/** Area-averaging taps for resizing n source samples to m (m <= n). */
export function areaTaps(n: number, m: number): Taps {
  const scale = n / m;
  const idx: number[] = [];
  const wts: number[] = [];
  const start = new Int32Array(m + 1);
  for (let i = 0; i < m; i++) {
    start[i] = idx.length;
    const a = i * scale;
    const b = a + scale;
    for (let s = Math.floor(a); s < Math.min(n, Math.ceil(b)); s++) {
      const w = Math.min(b, s + 1) - Math.max(a, s);
      if (w > 1e-9) {
        idx.push(s);
        wts.push(w / scale);
      }
    }
  }
  start[m] = idx.length;
  return { index: Int32Array.from(idx), weight: Float32Array.from(wts), start };
}

/** Bilinear taps (half-pixel centers, edge clamped) for resizing n samples to m. */
function bilinearTaps(n: number, m: number): Taps {
  const index = new Int32Array(m * 2);
  const weight = new Float32Array(m * 2);
  const start = new Int32Array(m + 1);
  const scale = n / m;
  for (let i = 0; i < m; i++) {
    const { x0, x1, f } = bilinearTap((i + 0.5) * scale, n);
    index[2 * i] = x0;
    weight[2 * i] = 1 - f;
    index[2 * i + 1] = x1;
    weight[2 * i + 1] = f;
    start[i] = 2 * i;
  }
  start[m] = 2 * m;
  return { index, weight, start };
}

function taps(n: number, m: number): Taps {
  return m < n ? areaTaps(n, m) : bilinearTaps(n, m);
}

/**
 * Resize a plane of `channels` interleaved values per pixel from sw×sh to dw×dh
 * (area average when shrinking an axis, bilinear when enlarging it).
 */
export function resizePlane(src: ArrayLike<number>, sw: number, sh: number, dw: number, dh: number, channels = 1): Float32Array {
  const tx = taps(sw, dw);
  const ty = taps(sh, dh);
  // Horizontal pass: sh rows of dw pixels.
  const mid = new Float32Array(sh * dw * channels);
  for (let y = 0; y < sh; y++) {
    const row = y * sw * channels;
    const orow = y * dw * channels;
    for (let x = 0; x < dw; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = tx.start[x]; t < tx.start[x + 1]; t++) acc += tx.weight[t] * src[row + tx.index[t] * channels + c];
        mid[orow + x * channels + c] = acc;
      }
    }
  }
  // Vertical pass.
  const out = new Float32Array(dh * dw * channels);
  const rowLen = dw * channels;
  for (let y = 0; y < dh; y++) {
    const o = y * rowLen;
    for (let t = ty.start[y]; t < ty.start[y + 1]; t++) {
      const w = ty.weight[t];
      const r = ty.index[t] * rowLen;
      for (let i = 0; i < rowLen; i++) out[o + i] += w * mid[r + i];
    }
  }
  return out;
}

/** Bilinear taps exposed for streaming row-by-row upsampling (see sharpen.ts). */
export function upsampleTaps(n: number, m: number): { index: Int32Array; weight: Float32Array } {
  const t = bilinearTaps(n, m);
  return { index: t.index, weight: t.weight };
}

/**
 * Luma (ITU-R 601) of interleaved RGB bytes, area-averaged from width×height down to
 * dw×dh in one streaming pass: no full-resolution float plane (a 12 MP photo would need
 * 48 MB and two extra passes). Requires dw <= width and dh <= height.
 */
export function shrinkLuma(rgb: Uint8Array, width: number, height: number, dw: number, dh: number): Float32Array {
  const tx = areaTaps(width, dw);
  const ty = areaTaps(height, dh);
  // For each source row: the output rows it contributes to, with weights.
  const rowOut: number[][] = Array.from({ length: height }, () => []);
  const rowW: number[][] = Array.from({ length: height }, () => []);
  for (let oy = 0; oy < dh; oy++) {
    for (let t = ty.start[oy]; t < ty.start[oy + 1]; t++) {
      rowOut[ty.index[t]].push(oy);
      rowW[ty.index[t]].push(ty.weight[t]);
    }
  }
  const out = new Float32Array(dw * dh);
  const line = new Float32Array(width);
  const reduced = new Float32Array(dw);
  for (let y = 0; y < height; y++) {
    if (rowOut[y].length === 0) continue;
    let p = y * width * 3;
    for (let x = 0; x < width; x++, p += 3) line[x] = luma(rgb[p], rgb[p + 1], rgb[p + 2]);
    for (let ox = 0; ox < dw; ox++) {
      let acc = 0;
      for (let t = tx.start[ox]; t < tx.start[ox + 1]; t++) acc += tx.weight[t] * line[tx.index[t]];
      reduced[ox] = acc;
    }
    const outs = rowOut[y],
      ws = rowW[y];
    for (let k = 0; k < outs.length; k++) {
      const o = outs[k] * dw,
        w = ws[k];
      for (let ox = 0; ox < dw; ox++) out[o + ox] += w * reduced[ox];
    }
  }
  return out;
}
