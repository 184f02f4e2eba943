/**
 * Conv2DBackpropInput for the wasm backend via the fast XNNPACK forward conv.
 * (The stock kernel is a naive loop, ~10× slower.) It is also the forward pass of
 * tf.conv2dTranspose, i.e. the generator's decoder.
 *
 * Forward conv (per axis: stride s, pad `top`, filter W [K,K,Ci,Co]):
 *   dx[h] = sum over (oh, kh) with h + top = oh*s + kh of dy[oh] · W[kh]
 * Output row h = q*s + r (phase r, 0 <= r < s): with c = r + top, rho = c mod s,
 * delta = floor(c/s), the taps are kh = rho + m*s (m = 0..M_rho-1, M_rho = ceil((K-rho)/s))
 * and oh = q + delta - m. So each phase is a stride-1 correlation of dy with the
 * sub-filter W[rho + m*s] reversed in m, in/out channels swapped, padding
 * M_rho-1-delta before. No FLOP is spent on the zero taps of a strided transposed conv.
 *
 * Two ways to run the s_h*s_w phases:
 * - "phases": one conv per phase, each with its own (trimmed) sub-filter and padding;
 *   stack the results on a new outer axis (contiguous copies), then two low-rank
 *   transposes interleave them into [N, Q_h*sh, Q_w*sw, Ci]. Exact FLOPs.
 * - "single": all phases as ONE conv with s_h*s_w*Ci output channels (phases aligned to
 *   h + top, so they share one dy window), then depth-to-space and a slice that drops
 *   the `top mod s` leading rows. Costs up to one extra phase row/column per axis and
 *   the zero taps when K is not a multiple of s, but keeps the GEMM wide, which wins
 *   when Ci is small (e.g. the generator's 2-channel output layer).
 *
 * The rearranged filters are built from one native transpose and contiguous copies
 * (no StridedSlice / Reverse / Gather kernels: in wasm those are slow per-element
 * loops) and cached per
 * filter dataId: tensor data is immutable while its dataId lives, and a hook on the
 * backend's disposeData frees the cache entry (and with it XNNPACK's packed operator)
 * the moment the source filter is freed. Every other temporary is freed before return.
 */
import * as tf from '../../util/tf.js';
import type { KernelConfig, KernelFunc, TensorInfo, KernelBackend, DataId } from '../../util/tf.js';
import { callKernel, release, wasmHeapBuffer, type WasmBackendLike } from './util.js';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** A Float32Array view of a tensor in the wasm heap (valid until the heap grows). */
function heapF32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const info = backend.dataIdMap.get(t.dataId);
  if (!info) throw new Error('Conv2DBackpropInput (wasm): tensor is not in the wasm backend');
  return new Float32Array(wasmHeapBuffer(backend), info.memoryOffset, tf.util.sizeFromShape(t.shape));
}

function reshape(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return callKernel('Reshape', backend, { x }, { shape });
}

// ---------------------------------------------------------------------------------
// Plans

/** One output phase along one axis. */
interface Phase {
  r: number; // output phase: rows h = q*s + r
  rho: number; // first filter tap
  m: number; // number of taps (rho + j*s < K)
  padLo: number; // conv padding before dy (may be negative: cut dy)
  padHi: number; // conv padding after dy (may be negative: cut dy)
}

interface AxisPlan {
  k: number;
  s: number;
  pad: number;
  out: number; // dx size along this axis
  dy: number; // dy size along this axis
  q: number; // phase rows computed per phase (ceil(out / s))
  phases: Phase[];
}

function planAxis(k: number, s: number, pad: number, out: number, dy: number): AxisPlan {
  const q = Math.ceil(out / s);
  const phases: Phase[] = [];
  for (let r = 0; r < s; r++) {
    const c = r + pad;
    const rho = c % s;
    const delta = Math.floor(c / s);
    const m = rho < k ? Math.ceil((k - rho) / s) : 0;
    phases.push({ r, rho, m, padLo: m - 1 - delta, padHi: q + delta - dy });
  }
  return { k, s, pad, out, dy, q, phases };
}

/** The "single" variant: phases aligned to h + pad, all with M = ceil(K/s) taps. */
interface SingleAxis {
  m: number;
  padLo: number;
  padHi: number;
  q: number; // phase rows
  begin: number; // first full-resolution row kept
}

function planSingle(a: AxisPlan): SingleAxis {
  const m = Math.ceil(a.k / a.s);
  const qa = Math.floor(a.pad / a.s);
  const qb = Math.floor((a.pad + a.out - 1) / a.s);
  return { m, padLo: m - 1 - qa, padHi: qb + 1 - a.dy, q: qb - qa + 1, begin: a.pad - qa * a.s };
}

// ---------------------------------------------------------------------------------
// Filter rearrangement

/** One rearranged filter: mh×mw taps, output channels (group, ci). */
interface FilterSpec {
  mh: number;
  mw: number;
  groups: ReadonlyArray<{ rhoH: number; rhoW: number }>;
}

/**
 * For each spec: out[jh, jw, co, g, ci] = W[g.rhoH + (mh-1-jh)*sh, g.rhoW + (mw-1-jw)*sw, ci, co]
 * (zero where the tap falls outside the filter). The (ci, co) swap is one wasm 3-D
 * transpose shared by all specs (native loop); tap selection and reversal are contiguous
 * copies of Ci floats (or of whole Co×Ci taps when a spec has one group).
 */
function buildFilters(backend: WasmBackendLike, w: TensorInfo, sh: number, sw: number, specs: readonly FilterSpec[]): TensorInfo[] {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  const w3 = reshape(backend, w, [kh * kw, ci, co]);
  const wt = callKernel('Transpose', backend, { x: w3 }, { perm: [0, 2, 1] }); // [taps, co, ci]
  release(backend, w3);
  const outs = specs.map(({ mh, mw, groups }) => backend.makeOutput([mh, mw, co, groups.length * ci], 'float32'));
  const src = heapF32(backend, wt); // after all allocations: the heap may have grown
  const tapSize = co * ci;
  specs.forEach(({ mh, mw, groups }, idx) => {
    const dst = heapF32(backend, outs[idx]!);
    let o = 0;
    for (let jh = 0; jh < mh; jh++) {
      for (let jw = 0; jw < mw; jw++) {
        if (groups.length === 1) {
          const g = groups[0]!;
          const th = g.rhoH + (mh - 1 - jh) * sh;
          const tw = g.rhoW + (mw - 1 - jw) * sw;
          if (th >= kh || tw >= kw) dst.fill(0, o, o + tapSize);
          else dst.set(src.subarray((th * kw + tw) * tapSize, (th * kw + tw + 1) * tapSize), o);
          o += tapSize;
          continue;
        }
        for (let c = 0; c < co; c++) {
          for (const g of groups) {
            const th = g.rhoH + (mh - 1 - jh) * sh;
            const tw = g.rhoW + (mw - 1 - jw) * sw;
            if (th >= kh || tw >= kw) {
              dst.fill(0, o, o + ci);
            } else {
              const si = (th * kw + tw) * tapSize + c * ci;
              if (ci === 1) dst[o] = src[si]!;
              else dst.set(src.subarray(si, si + ci), o);
            }
            o += ci;
          }
        }
      }
    }
  });
  release(backend, wt);
  return outs;
}

// ---------------------------------------------------------------------------------
// Cache of rearranged filters, keyed by the source filter's dataId.

interface CacheEntry {
  filters: Map<string, TensorInfo[]>;
  bytes: number;
}

const MAX_CACHE_BYTES = 512 * 1024 * 1024;
let cacheEnabled = true;
const cache = new Map<DataId, CacheEntry>();
let cacheBytes = 0;
const hooked = new WeakSet<object>();

/** Enable/disable the rearranged-filter cache (benchmarks, debugging). Clears it. */
export function setBackpropInputFilterCache(enabled: boolean): void {
  cacheEnabled = enabled;
  clearBackpropInputFilterCache();
}

let cacheBackend: WasmBackendLike | null = null;
let origDispose: ((dataId: DataId, force?: boolean) => boolean) | null = null;

function freeEntry(entry: CacheEntry): void {
  if (!cacheBackend || !origDispose) return;
  for (const list of entry.filters.values()) for (const t of list) origDispose.call(cacheBackend, t.dataId, true);
  cacheBytes -= entry.bytes;
}

export function clearBackpropInputFilterCache(): void {
  for (const entry of cache.values()) freeEntry(entry);
  cache.clear();
  cacheBytes = 0;
}

/** Number of source filters with cached rearrangements (for tests). */
export function backpropInputFilterCacheSize(): number {
  return cache.size;
}

function hookDispose(backend: WasmBackendLike): void {
  if (hooked.has(backend)) return;
  hooked.add(backend);
  if (cacheBackend && cacheBackend !== backend) {
    // A new backend instance: the old one's memory is gone with it.
    cache.clear();
    cacheBytes = 0;
  }
  cacheBackend = backend;
  const orig = backend.disposeData;
  origDispose = orig;
  backend.disposeData = function (this: WasmBackendLike, dataId: DataId, force?: boolean): boolean {
    const freed = orig.call(this, dataId, force);
    if (freed && cache.size > 0) {
      const entry = cache.get(dataId);
      if (entry) {
        cache.delete(dataId);
        freeEntry(entry);
      }
    }
    return freed;
  };
}

function cachedFilters(backend: WasmBackendLike, filter: TensorInfo, key: string, build: () => TensorInfo[]): { filters: TensorInfo[]; owned: boolean } {
  // tfjs's test mode counts backend data ids around each kernel: no cache there.
  if (!cacheEnabled || tf.env().getBool('IS_TEST')) return { filters: build(), owned: true };
  hookDispose(backend);
  let entry = cache.get(filter.dataId);
  const hit = entry?.filters.get(key);
  if (hit) {
    // Refresh LRU order.
    cache.delete(filter.dataId);
    cache.set(filter.dataId, entry!);
    return { filters: hit, owned: false };
  }
  const filters = build();
  const bytes = filters.reduce((a, t) => a + 4 * tf.util.sizeFromShape(t.shape), 0);
  if (bytes > MAX_CACHE_BYTES / 4) return { filters, owned: true };
  if (!entry) {
    entry = { filters: new Map(), bytes: 0 };
    cache.set(filter.dataId, entry);
  }
  entry.filters.set(key, filters);
  entry.bytes += bytes;
  cacheBytes += bytes;
  // Evict least recently used entries (never the one just made).
  for (const [id, e] of cache) {
    if (cacheBytes <= MAX_CACHE_BYTES) break;
    if (e === entry) continue;
    cache.delete(id);
    freeEntry(e);
  }
  return { filters, owned: false };
}

// ---------------------------------------------------------------------------------

function conv(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, pads: [number, number, number, number]): TensorInfo {
  return callKernel(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
}

/**
 * Stride-1 conv of dy with negative paddings allowed (they cut dy). Returns null when
 * the window misses dy entirely (the result is all zeros).
 */
function convCut(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  padH: [number, number],
  padW: [number, number],
  temps: TensorInfo[],
): TensorInfo | null {
  const [n, oh, ow, co] = dy.shape as [number, number, number, number];
  const cutT = Math.max(-padH[0], 0);
  const cutB = Math.max(-padH[1], 0);
  const cutL = Math.max(-padW[0], 0);
  const cutR = Math.max(-padW[1], 0);
  let x = dy;
  if (cutT || cutB || cutL || cutR) {
    const hh = oh - cutT - cutB;
    const ww = ow - cutL - cutR;
    if (hh <= 0 || ww <= 0) return null;
    x = callKernel('Slice', backend, { x: dy }, { begin: [0, cutT, cutL, 0], size: [n, hh, ww, co] });
    temps.push(x);
  }
  return conv(backend, x, filter, [Math.max(padH[0], 0), Math.max(padH[1], 0), Math.max(padW[0], 0), Math.max(padW[1], 0)]);
}

function zeros(backend: KernelBackend, shape: number[]): TensorInfo {
  return callKernel('Fill', backend, {}, { shape, value: 0, dtype: 'float32' });
}

/** Keep rows [bh, bh+h) and columns [bw, bw+w) of x [n, H, W, c]; frees nothing. */
function crop(backend: KernelBackend, x: TensorInfo, bh: number, bw: number, h: number, w: number, temps: TensorInfo[]): TensorInfo {
  const [n, fh, fw, c] = x.shape as [number, number, number, number];
  if (bh === 0 && bw === 0 && fh === h && fw === w) return reshape(backend, x, [n, h, w, c]);
  // Each (n, row) of the window is one contiguous run over (width, channels): a 3-D
  // slice copies one run per row instead of one per pixel.
  const x3 = reshape(backend, x, [n, fh, fw * c]);
  temps.push(x3);
  const s3 = callKernel('Slice', backend, { x: x3 }, { begin: [0, bh, bw * c], size: [n, h, w * c] });
  temps.push(s3);
  return reshape(backend, s3, [n, h, w, c]);
}

export type BackpropInputMode = 'auto' | 'phases' | 'single';
let forcedMode: BackpropInputMode = 'auto';

/** Force a strategy (tests and benchmarks); 'auto' picks per call. */
export function setBackpropInputMode(mode: BackpropInputMode): void {
  forcedMode = mode;
}

function chooseMode(ph: AxisPlan, pw: AxisPlan, ci: number): 'phases' | 'single' {
  if (forcedMode !== 'auto') return forcedMode;
  if (ph.s === 1 && pw.s === 1) return 'phases';
  // MACs per (n, ci, co) of each variant.
  let exact = 0;
  for (const a of ph.phases) for (const b of pw.phases) exact += a.m * b.m;
  exact *= ph.q * pw.q;
  const sh = planSingle(ph);
  const sw = planSingle(pw);
  const single = sh.q * sw.q * sh.m * sw.m * ph.s * pw.s;
  // One conv per phase has only Ci output channels: with few of them the GEMM tiles
  // are mostly empty and the single wide conv wins despite its extra work.
  const narrowPenalty = ci >= 8 ? 1 : ci >= 4 ? 1.5 : 2.5;
  return exact * narrowPenalty <= single * 1.05 ? 'phases' : 'single';
}

export function conv2dBackpropInputViaConv(backendIn: KernelBackend, dy: TensorInfo, filter: TensorInfo, attrs: Attrs): TensorInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput (wasm): only NHWC is supported');
  const backend = backendIn as WasmBackendLike;
  const inputShape = attrs.inputShape;
  const filterShape = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, attrs.strides, 1, attrs.pad as 'same', attrs.dimRoundingMode);
  const [n, h, w, ci] = inputShape;
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const ph = planAxis(info.filterHeight, info.strideHeight, info.padInfo.top, h, oh);
  const pw = planAxis(info.filterWidth, info.strideWidth, info.padInfo.left, w, ow);
  const mode = chooseMode(ph, pw, ci);
  const temps: TensorInfo[] = [];
  let out: TensorInfo;

  if (mode === 'single') {
    const sh = planSingle(ph);
    const sw = planSingle(pw);
    const groups: { rhoH: number; rhoW: number }[] = [];
    for (let a = 0; a < ph.s; a++) for (let b = 0; b < pw.s; b++) groups.push({ rhoH: a, rhoW: b });
    const key = `single|${ph.s},${pw.s}`;
    const { filters, owned } = cachedFilters(backend, filter, key, () => buildFilters(backend, filter, ph.s, pw.s, [{ mh: sh.m, mw: sw.m, groups }]));
    if (owned) temps.push(...filters);
    const y = convCut(backend, dy, filters[0]!, [sh.padLo, sh.padHi], [sw.padLo, sw.padHi], temps);
    if (!y) {
      out = zeros(backend, [n, h, w, ci]);
    } else {
      temps.push(y);
      // Depth-to-space as a transpose: [N*Qh, Qw, sh, sw*Ci] -> [N*Qh, sh, Qw, sw*Ci].
      let full = y;
      if (ph.s > 1 || pw.s > 1) {
        const y4 = reshape(backend, y, [n * sh.q, sw.q, ph.s, pw.s * ci]);
        temps.push(y4);
        full = callKernel('Transpose', backend, { x: y4 }, { perm: [0, 2, 1, 3] });
        temps.push(full);
        const f4 = reshape(backend, full, [n, sh.q * ph.s, sw.q * pw.s, ci]);
        temps.push(f4);
        full = f4;
      }
      out = crop(backend, full, sh.begin, sw.begin, h, w, temps);
    }
  } else {
    const key = `phases|${ph.s},${pw.s}|${ph.pad % ph.s},${pw.pad % pw.s}`;
    const pairs: [Phase, Phase][] = [];
    for (const a of ph.phases) for (const b of pw.phases) pairs.push([a, b]);
    // Phases whose taps all fall outside the filter (K < s) are zero: no filter, no conv.
    const live = pairs.filter(([a, b]) => a.m > 0 && b.m > 0);
    const { filters, owned } = cachedFilters(backend, filter, key, () =>
      buildFilters(
        backend,
        filter,
        ph.s,
        pw.s,
        live.map(([a, b]) => ({ mh: a.m, mw: b.m, groups: [{ rhoH: a.rho, rhoW: b.rho }] })),
      ),
    );
    if (owned) temps.push(...filters);
    const parts: TensorInfo[] = [];
    let fi = 0;
    for (const [a, b] of pairs) {
      const y = a.m > 0 && b.m > 0 ? convCut(backend, dy, filters[fi++]!, [a.padLo, a.padHi], [b.padLo, b.padHi], temps) : null;
      parts.push(y ?? zeros(backend, [n, ph.q, pw.q, ci]));
    }
    let full: TensorInfo;
    if (parts.length === 1) {
      full = parts[0]!;
      temps.push(full);
    } else {
      // Stack phases on a new outer axis (contiguous copies), then interleave.
      const flat = parts.map((p) => reshape(backend, p, [1, tf.util.sizeFromShape(p.shape)]));
      const stacked = callKernel('Concat', backend, flat as unknown as Record<string, TensorInfo>, { axis: 0 });
      temps.push(...parts, ...flat, stacked);
      // [sh, sw, N*Qh*Qw, Ci] -> [sh, N*Qh*Qw, sw, Ci] -> (as [sh, N*Qh, Qw*sw*Ci])
      // -> [N*Qh, sh, Qw*sw*Ci]. Two low-rank transposes: the wasm 5-D transpose is a
      // slow generic loop (~100× slower than the 4-D one).
      const s4 = reshape(backend, stacked, [ph.s, pw.s, n * ph.q * pw.q, ci]);
      temps.push(s4);
      let t: TensorInfo = s4;
      if (pw.s > 1) {
        t = callKernel('Transpose', backend, { x: s4 }, { perm: [0, 2, 1, 3] });
        temps.push(t);
      }
      if (ph.s > 1) {
        const t3 = reshape(backend, t, [ph.s, n * ph.q, pw.q * pw.s * ci]);
        temps.push(t3);
        t = callKernel('Transpose', backend, { x: t3 }, { perm: [1, 0, 2] });
        temps.push(t);
      }
      full = reshape(backend, t, [n, ph.q * ph.s, pw.q * pw.s, ci]);
      temps.push(full);
    }
    out = crop(backend, full, 0, 0, h, w, temps);
  }
  release(backend, ...temps);
  return out;
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }) =>
    conv2dBackpropInputViaConv(backend as KernelBackend, inputs.dy!, inputs.filter!, attrs as unknown as Attrs)) as KernelFunc,
};
