/**
 * The colorizer's native pixel code (Node only, optional): JS views of the addons that
 * work on photos, loaded through src/native/addons.ts —
 *   - colorgan_dnnl's threaded luma shrink and sharpening, installed into sharpen.ts as
 *     its PixelKernels (same results as the JS loops; the tests compare them);
 *   - colorgan_jpeg, JPEG → JPEG in the DCT domain, and colorgan_vips, one libvips
 *     pipeline to any format: the streaming paths (streaming.ts).
 */
import { loadAddon } from '../native/addons.js';
import { NET_SCALE } from '../color/yuv.js';
import type { EncodeFormat } from '../data/decode.js';
import { areaTaps } from './resample.js';
import { setPixelKernels, type PixelKernels } from './sharpen.js';

/** The pixel side of colorgan_dnnl (its convolutions: backend/native.ts). */
interface DnnlPixelAddon {
  lumaShrink(
    rgb: Uint8Array,
    width: number,
    height: number,
    txStart: Int32Array,
    txIndex: Int32Array,
    txWeight: Float32Array,
    tyStart: Int32Array,
    tyIndex: Int32Array,
    tyWeight: Float32Array,
    out: Float32Array,
  ): void;
  sharpen(
    rgb: Uint8Array,
    width: number,
    height: number,
    uv: Float32Array,
    gw: number,
    x0s: Int32Array,
    fxs: Float32Array,
    tyIndex: Int32Array,
    tyWeight: Float32Array,
    scale: number,
    out: Uint8Array,
    gh: number,
  ): void;
}

export interface VipsAddon {
  /** The model grid is gw × gh (gh defaults to gw); uv is gw×gh×2 (U,V) or gw×gh×4 (guided coefficients, guidedGrid; scale unused). */
  sharpen(
    input: Buffer,
    width: number,
    height: number,
    uv: Float32Array,
    gw: number,
    x0s: Int32Array,
    fxs: Float32Array,
    tyIndex: Int32Array,
    tyWeight: Float32Array,
    scale: number,
    /** 'raw': the composed RGB bytes (width × height × 3), for tests. */
    format: EncodeFormat | 'raw',
    quality: number,
    gh?: number,
  ): Promise<Buffer>;
  version(): string;
}

export interface JpegAddon {
  /** Entropy-decode the coefficients (on a worker thread). */
  open(input: Buffer): Promise<{ handle: unknown; width: number; height: number; blocksW: number; blocksH: number; means: Float32Array }>;
  /**
   * Code the JPEG with new chroma (on a worker thread); once per handle. uv is gw×gh×2 (U,V)
   * or gw×gh×4 (guided coefficients, guidedGrid; scale unused); gh defaults to gw.
   * `twoPass` (tests): libjpeg's own counting pass for the Huffman tables instead of the
   * counts taken in open/finish; the same bytes.
   */
  finish(handle: unknown, uv: Float32Array, gw: number, scale: number, quality: number, gh?: number, twoPass?: boolean): Promise<Buffer>;
}

export function loadStreamingAddon(): VipsAddon | null {
  return loadAddon<VipsAddon>('colorgan_vips');
}

export function loadJpegAddon(): JpegAddon | null {
  return loadAddon<JpegAddon>('colorgan_jpeg');
}

let kernels: PixelKernels | null | undefined;

/** colorgan_dnnl's threaded versions of sharpen.ts' two full-resolution loops, or null. */
export function nativePixelKernels(): PixelKernels | null {
  if (kernels !== undefined) return kernels;
  const a = loadAddon<DnnlPixelAddon>('colorgan_dnnl');
  kernels = a && {
    shrinkLuma(rgb, width, height, dw, dh) {
      const tx = areaTaps(width, dw);
      const ty = areaTaps(height, dh);
      const out = new Float32Array(dw * dh);
      a.lumaShrink(rgb, width, height, tx.start, tx.index, tx.weight, ty.start, ty.index, ty.weight, out);
      return out;
    },
    sharpen(rgb, width, height, grid, gw, gh, out, t) {
      a.sharpen(rgb, width, height, grid, gw, t.x0s, t.fxs, t.tyIndex, t.tyWeight, NET_SCALE, out, gh);
    },
  };
  return kernels;
}

let installed = false;

/**
 * Install the native pixel loops where the addon loads, once per process (Node entry
 * points call this; the browser keeps the JS loops). A later setPixelKernels() — a test
 * comparing both — is not undone.
 */
export function installNativePixelKernels(): void {
  if (installed) return;
  installed = true;
  const k = nativePixelKernels();
  if (k) setPixelKernels(k);
}
