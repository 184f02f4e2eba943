/**
 * Picks and initializes the compute backend in Node.
 *
 * Order: `@tensorflow/tfjs-node` if the user installed it (optional, native TF),
 * else `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD) with our training kernels.
 * The pure-JS `cpu` backend is only used as a numerical reference in tests.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerWasmKernels } from './kernels/index.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Force a backend; default: tensorflow if installed, else wasm. */
  backend?: BackendName;
  /** wasm threads (default: all cores). 1 disables threading. */
  threads?: number;
  /** Print "backend: ..." to stderr. */
  verbose?: boolean;
}

export interface BackendInfo {
  name: string;
  threads: number;
  simd: boolean;
}

let current: Promise<BackendInfo> | null = null;

const require = createRequire(import.meta.url);

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional dependency, resolved at run time only.
    const modName = '@tensorflow/tfjs-node';
    await import(modName);
    return tf.findBackend('tensorflow') != null || tf.engine().registryFactory['tensorflow'] != null;
  } catch {
    return false;
  }
}

export function wasmDistDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + path.sep + 'dist' + path.sep;
}

async function initWasm(threads: number | undefined): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { enableNodeThreads } = await import('./threads.js');
  const nThreads = await enableNodeThreads(threads);
  wasm.setWasmPaths(wasmDistDir());
  registerWasmKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialize the wasm backend');
  return {
    name: 'wasm',
    threads: nThreads > 1 ? wasm.getThreadsCount() : 1,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
  };
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
  if (opts.verbose) {
    const extra = info.name === 'wasm' ? ` (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` : '';
    process.stderr.write(`backend: ${info.name}${extra}\n`);
  }
  return info;
}

/** Initialize once per process; later calls return the same backend. */
export function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  current ??= init(opts);
  return current;
}
