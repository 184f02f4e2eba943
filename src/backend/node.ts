/**
 * Picks and initializes the compute backend in Node.
 *
 * Order: `@tensorflow/tfjs-node` if the user installed it (optional, native TF),
 * else `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD) with our training kernels.
 * The pure-JS `cpu` backend is only used as a numerical reference in tests.
 */
import * as tf from '../util/tf.js';
import { registerWasmKernels } from './kernels/index.js';
import { enableNativeConvolutions, loadNativeAddon } from './native.js';
import { wasmDistDir } from '../util/wasm-files.js';
import { nativeStatus } from '../native/addons.js';
import { runGeneratorGraph } from './native-graph.js';
import { setGeneratorRunner } from './generator-runner.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Force a backend; default: tensorflow if installed, else wasm. */
  backend?: BackendName;
  /** Threads (default: all cores): of the native convolutions if the addon is built (wasm then runs 1), else of wasm. */
  threads?: number;
  /** Print "backend: ..." to stderr. */
  verbose?: boolean;
}

export interface BackendInfo {
  name: string;
  threads: number;
  simd: boolean;
  /** oneDNN version when the native convolution addon is in use (Node, wasm backend). */
  native?: string;
  /** Threads of the native convolutions. */
  nativeThreads?: number;
}

let current: Promise<BackendInfo> | null = null;

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional dependency, resolved at run time only.
    const modName = '@tensorflow/tfjs-node';
    await import(modName);
    return tf.findBackend('tensorflow') != null || tf.engine().registryFactory.tensorflow != null;
  } catch {
    return false;
  }
}

async function initWasm(threads: number | undefined): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { enableNodeThreads, coreCount } = await import('./threads.js');
  // With the oneDNN addon the convolutions (≈75% of the work) get all the threads and
  // wasm runs single-threaded: two thread pools spinning on 2 cores slow both down.
  const useNative = loadNativeAddon() != null;
  const want = Math.max(1, Math.floor(threads ?? coreCount()));
  const nThreads = await enableNodeThreads(useNative ? 1 : want);
  wasm.setWasmPaths(wasmDistDir());
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialize the wasm backend');
  const used = nThreads > 1 ? wasm.getThreadsCount() : 1;
  const native = (useNative && enableNativeConvolutions(want)) || undefined;
  // Inference of the generators it knows as one native call (predictUv; others stay on
  // tfjs). COLORGAN_NATIVE_GRAPH=0 keeps the native kernels but runs inference through tfjs.
  if (native && process.env.COLORGAN_NATIVE_GRAPH !== '0') setGeneratorRunner(runGeneratorGraph);
  return { name: 'wasm', threads: used, simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), native, nativeThreads: native ? want : undefined };
}

async function init(opts: BackendOptions): Promise<BackendInfo> {
  const want = opts.backend ?? (process.env.COLORGAN_BACKEND as BackendName | undefined);
  let info: BackendInfo;
  if (want === 'cpu') {
    await tf.setBackend('cpu');
    info = { name: 'cpu', threads: 1, simd: false };
  } else if ((want === undefined || want === 'tensorflow') && (await tryTfjsNode()) && (await tf.setBackend('tensorflow'))) {
    info = { name: 'tensorflow', threads: 0, simd: true };
  } else {
    if (want === 'tensorflow') throw new Error('backend "tensorflow" requested but @tensorflow/tfjs-node is not installed');
    info = await initWasm(opts.threads ?? (process.env.COLORGAN_THREADS ? Number(process.env.COLORGAN_THREADS) : undefined));
  }
  await tf.ready();
  tf.enableProdMode(); // no Node advice banner; no per-op debug checks
  // COLORGAN_VERBOSE=1: the same lines from any command (colorize, the library), with where each addon came from.
  if (opts.verbose || process.env.COLORGAN_VERBOSE === '1') {
    process.stderr.write(`backend: ${describeBackend(info)}\n`);
    if (info.name === 'wasm') process.stderr.write(`${nativeStatus()}\n`);
  }
  return info;
}

/** "wasm (SIMD, 2 threads) + oneDNN 2.6.3 convolutions", for logs and reports. */
export function describeBackend(info: BackendInfo): string {
  if (info.name !== 'wasm') return info.name;
  const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
  const native = info.native ? ` + oneDNN ${info.native} convolutions (${info.nativeThreads} thread${info.nativeThreads === 1 ? '' : 's'})` : '';
  return `wasm (${info.simd ? 'SIMD' : 'no SIMD'}, ${threads})${native}`;
}

/** Initialize once per process; later calls return the same backend. */
export function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  current ??= init(opts);
  return current;
}
