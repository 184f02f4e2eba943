/**
 * Compute backend and model loading, in the worker (worker.ts). WebGL first (GPU, through
 * an OffscreenCanvas); if WebGL is missing, or only a software rasterizer (SwiftShader,
 * llvmpipe) is behind it, wasm with our kernels registered — threaded (one thread per
 * core) when the page is cross-origin isolated, else single-threaded; the pure-JS cpu
 * backend as the last resort.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../../src/backend/kernels/index.js';
import { toColorizer, type Colorizer, type RefineStage } from '../../src/infer/colorizer.js';
import { checkColorizer, checkRefineStage, METADATA_JSON, MODEL_JSON, parseMetadata, type ModelMetadata } from '../../src/models/metadata.js';
import type { BackendInfo } from './protocol.js';

/** The WebGL renderer string, or null without WebGL. */
function webglRenderer(): string | null {
  try {
    const c = new OffscreenCanvas(1, 1);
    const gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const r = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return r;
  } catch {
    return null;
  }
}

const isSoftware = (renderer: string) => /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);

/**
 * Run `fn` while navigator.hardwareConcurrency reads `n`. The wasm backend's C++ side caps
 * its thread pool at half the logical cores, read while the module initializes (one
 * thread on a 2-core machine); this worker is the only one computing while a photo is
 * colorized, so it asks for all of them (src/backend/threads.ts does the same in Node).
 */
async function withReportedCores<T>(n: number, fn: () => Promise<T>): Promise<T> {
  if (!self.crossOriginIsolated) return fn();
  try {
    Object.defineProperty(navigator, 'hardwareConcurrency', { configurable: true, get: () => n });
  } catch {
    return fn();
  }
  try {
    return await fn();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency; // back to the prototype's getter
  }
}

/**
 * @param base       the app's URL (the wasm binaries are under wasm/)
 * @param preferred  force a backend ('webgl' | 'wasm' | 'cpu'), e.g. from `?backend=`;
 *                   'webgl' also accepts a software renderer.
 */
export async function initBackend(base: string, preferred: string | null): Promise<BackendInfo> {
  setWasmPaths(new URL('wasm/', base).href);
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  if (self.crossOriginIsolated) setThreadsCount(cores);
  registerWasmKernels();
  const renderer = webglRenderer();
  let order: string[];
  if (preferred) order = [preferred, 'wasm', 'cpu'];
  else if (renderer && !isSoftware(renderer)) order = ['webgl', 'wasm', 'cpu'];
  else order = ['wasm', 'cpu'];
  const tried: string[] = [];
  for (const name of order) {
    try {
      if (await (name === 'wasm' ? withReportedCores(2 * cores, () => tf.setBackend(name)) : tf.setBackend(name))) {
        await tf.ready();
        let detail = '';
        let threads = 0;
        if (name === 'webgl')
          detail = `${renderer ?? 'unknown renderer'}${renderer && isSoftware(renderer) ? ' (software)' : ''}, ${tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE') ? 'float32' : 'float16'}`;
        if (name === 'wasm') {
          const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
          const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
          threads = mt ? getThreadsCount() : 1;
          detail = `${threads} thread${threads === 1 ? '' : 's'}, ${simd ? 'SIMD' : 'no SIMD'}${mt ? '' : ', single-threaded: the page is not cross-origin isolated'}`;
          if (!renderer) detail += ', no WebGL';
          else if (isSoftware(renderer)) detail += ', WebGL is software-only';
        }
        return { name, threads, detail: detail + (tried.length ? `; ${tried.join(', ')} failed` : '') };
      }
    } catch (err) {
      console.warn(`backend ${name} failed`, err);
    }
    tried.push(name);
  }
  throw new Error('No TensorFlow.js backend could be initialized in this browser.');
}

/** A model's (or a stage's) checked colorgan.json at `dir` (a URL ending in /). */
async function fetchMetadata(dir: string): Promise<ModelMetadata> {
  const url = `${dir}${METADATA_JSON}`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load the model metadata ${url} (${res.status})`);
  try {
    return parseMetadata(await res.json());
  } catch (err) {
    throw new Error(`${url}: ${(err as Error).message}`);
  }
}

/** Run a network once on zeros (shader compilation / wasm setup), so the first photo is not slower. */
function warmUp(model: tf.LayersModel, inputs: number[][]): void {
  tf.tidy(() => (model.predict(inputs.map((shape) => tf.zeros(shape))) as tf.Tensor).dataSync());
}

/**
 * Load the app's model (same-origin: model/ under `base`) and the LAPGAN refinement stages
 * its metadata lists (model/refine-k/), checked by the same rules as Node's loadModel.
 */
export async function loadColorizer(base: string, onProgress?: (fraction: number) => void): Promise<Colorizer> {
  const dir = new URL('model/', base).href;
  const meta = await fetchMetadata(dir);
  checkColorizer(meta, dir);
  const model = await tf.loadLayersModel(`${dir}${MODEL_JSON}`, { onProgress });
  const { size, zDim } = meta.config;
  warmUp(model, [
    [1, size, size, 1],
    [1, zDim],
  ]);
  // The stages are small next to the base model (123 k parameters at --ngf 32): no progress of their own.
  const refine: RefineStage[] = [];
  for (const name of meta.refine ?? []) {
    const sub = `${dir}${name}/`;
    const m = await fetchMetadata(sub);
    checkRefineStage(m, sub, `${dir}${METADATA_JSON}`);
    const stage = await tf.loadLayersModel(`${sub}${MODEL_JSON}`);
    const s = m.config.size;
    warmUp(stage, [
      [1, s, s, 1],
      [1, s, s, 2],
      [1, s, s, m.config.zDim],
    ]);
    refine.push({ model: stage, meta: m, source: sub });
  }
  return toColorizer({ model, meta, source: dir, refine });
}
