/**
 * Compute backend and model loading in the page. WebGL first (GPU); if WebGL is missing,
 * or only a software rasterizer (SwiftShader, llvmpipe) is behind it, wasm with our
 * kernels registered; the pure-JS cpu backend as the last resort.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../../src/backend/kernels/index.js';
import { toColorizer, type Colorizer } from '../../src/infer/colorizer.js';
import type { ModelMetadata } from '../../src/models/metadata.js';

export interface BackendInfo {
  name: string;
  /** Human-readable details (renderer, threads, SIMD). */
  detail: string;
}

/** The WebGL renderer string, or null without WebGL. */
function webglRenderer(): string | null {
  try {
    const c = document.createElement('canvas');
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
 * @param preferred  force a backend ('webgl' | 'wasm' | 'cpu'), e.g. from `?backend=`;
 *                   'webgl' also accepts a software renderer.
 */
export async function initBackend(preferred?: string | null): Promise<BackendInfo> {
  setWasmPaths(new URL('wasm/', document.baseURI).href);
  registerWasmKernels();
  const renderer = webglRenderer();
  let order: string[];
  if (preferred) order = [preferred, 'wasm', 'cpu'];
  else if (renderer && !isSoftware(renderer)) order = ['webgl', 'wasm', 'cpu'];
  else order = ['wasm', 'cpu'];
  const tried: string[] = [];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        let detail = '';
        if (name === 'webgl')
          detail = `${renderer ?? 'unknown renderer'}${renderer && isSoftware(renderer) ? ' (software)' : ''}, ${tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE') ? 'float32' : 'float16'}`;
        if (name === 'wasm') {
          const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
          const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
          detail = `${simd ? 'SIMD' : 'no SIMD'}, ${mt ? `threaded build, ${getThreadsCount()} thread(s)` : 'single-threaded (page not cross-origin isolated)'}`;
          if (!renderer) detail += ', no WebGL';
          else if (isSoftware(renderer)) detail += `, WebGL is software-only (${renderer})`;
        }
        return { name, detail: detail + (tried.length ? `; ${tried.join(', ')} failed` : '') };
      }
    } catch (err) {
      console.warn(`backend ${name} failed`, err);
    }
    tried.push(name);
  }
  throw new Error('No TensorFlow.js backend could be initialized in this browser.');
}

/** Load the bundled model (same-origin: ./model/). */
export async function loadColorizer(onProgress?: (fraction: number) => void): Promise<Colorizer> {
  const base = new URL('model/', document.baseURI).href;
  const metaRes = await fetch(`${base}colorgan.json`);
  if (!metaRes.ok) throw new Error(`could not load the model metadata (${metaRes.status})`);
  const meta = (await metaRes.json()) as ModelMetadata;
  if (meta.format !== 'colorgan-generator') throw new Error(`the bundled model is not a colorgan generator (format "${meta.format}")`);
  const model = await tf.loadLayersModel(`${base}model.json`, { onProgress });
  // Warm up (shader compilation / wasm setup) so the first photo is not slower.
  const { size, zDim } = meta.config;
  tf.tidy(() => (model.predict([tf.zeros([1, size, size, 1]), tf.zeros([1, zDim])]) as tf.Tensor).dataSync());
  return toColorizer({ model, meta, source: base });
}
