/**
 * Threaded wasm (XNNPACK thread pool on emscripten pthreads) in Node.
 *
 * tfjs-backend-wasm 4.22 turns threads off in Node (tfjs issue #3830). Three things
 * stand in the way, and enableNodeThreads works around each:
 *
 * 1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` evaluates to false under Node. We set it
 *    to true, which makes the backend load the threaded-SIMD binary and glue.
 * 2. The backend hands emscripten a `blob:` URL (URL.createObjectURL) for the pthread
 *    worker script, and posts the main glue to each worker as a Blob. Node's
 *    worker_threads cannot load either. We write the worker script (prefixed with a
 *    small shim) to a real file and, while the module initializes, return its path
 *    when the backend asks URL.createObjectURL for a JavaScript blob; inside the
 *    worker the shim answers URL.createObjectURL(<glue blob>) with the path of the
 *    package's own copy of the threaded glue (`wasm-out/tfjs-backend-wasm-threaded-simd.js`).
 * 3. The C++ side caps the pool at `emscripten_num_logical_cores() / 2` (read once,
 *    while the module initializes; in Node that is `os.cpus().length`) and at 8 (the
 *    pre-spawned worker pool). While the module initializes, `os.cpus()` reports at
 *    least 2 × threads entries, and `setThreadsCount(threads)` sets the pool size.
 *
 * All temporary patches live only while the backend's registry factory runs. Two more
 * Node details: workers are started without the parent's execArgv (e.g. --input-type
 * or --import tsx would break or slow them), and emscripten ref()s the worker of every
 * running pthread, so XNNPACK's ever-living pool would keep the process alive: we
 * unref all workers after init, and the process exits on its own.
 * threads = 1 keeps the default (non-threaded SIMD) build.
 */
import * as tf from '../util/tf.js';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';
import { writeFileAtomicSync } from '../util/atomic.js';
import { wasmPackageDir } from '../util/wasm-files.js';

const require = createRequire(import.meta.url);

/** The thread pool is pre-created with 8 workers by the emscripten build. */
export const MAX_WASM_THREADS = 8;

let applied: number | null = null;

function writeIfChanged(file: string, contents: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === contents) return;
  } catch {
    // absent: write it
  }
  writeFileAtomicSync(file, contents);
}

/**
 * Writes the pthread worker script to a real file (in os.tmpdir()) and returns its path.
 * The name depends on the contents, so processes of different versions never clash.
 */
export function writeWorkerScript(): string {
  const dir = wasmPackageDir();
  // The package ships the worker as a CommonJS module exporting its source text; like
  // the backend, re-escape newlines (they only occur inside string literals).
  const workerModule = require(path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const workerSrc = workerModule.wasmWorkerContents.replace(/\n/g, '\\n');
  const gluePath = path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  // In the worker, the main glue arrives as a Blob and the original script calls
  // importScripts(URL.createObjectURL(blob)); Node cannot read blob: URLs, so point it
  // at the file with the same glue instead.
  const shim =
    `"use strict";(function(){var G=${JSON.stringify(gluePath)};` +
    `var U=globalThis.URL,c=U.createObjectURL,r=U.revokeObjectURL;` +
    `U.createObjectURL=function(b){return b&&typeof b==="object"&&typeof b.size==="number"?G:c.call(U,b)};` +
    `U.revokeObjectURL=function(u){if(u!==G)r.call(U,u)};})();\n`;
  const contents = shim + workerSrc;
  let h = 0;
  for (let i = 0; i < contents.length; i++) h = (Math.imul(h, 31) + contents.charCodeAt(i)) | 0;
  const file = path.join(os.tmpdir(), `colorgan-tfjs-wasm-worker-${(h >>> 0).toString(16)}.cjs`);
  writeIfChanged(file, contents);
  return file;
}

/**
 * Answer URL.createObjectURL(<JavaScript blob>) with the worker file (the backend's
 * locateFile asks for one per pthread worker). Returns the undo function.
 */
function patchCreateObjectURL(workerFile: string): () => void {
  const U = globalThis.URL;
  const orig = U.createObjectURL;
  const origRevoke = U.revokeObjectURL;
  U.createObjectURL = (obj: Blob | MediaSource): string => {
    const type = (obj as Blob).type ?? '';
    if (/javascript/.test(type)) return workerFile;
    return orig.call(U, obj as Blob);
  };
  U.revokeObjectURL = (url: string): void => {
    if (url !== workerFile) origRevoke.call(U, url);
  };
  return () => {
    U.createObjectURL = orig;
    U.revokeObjectURL = origRevoke;
  };
}

interface PthreadWorker {
  ref(): void;
  unref(): void;
}

/**
 * Emscripten refs a worker while it runs a pthread (worker.ref() in runPthread), and
 * XNNPACK's pool threads never end, so the process would never exit. Unref them all and
 * make later ref() calls no-ops: the main thread blocks while the pool works, so the
 * event loop never needs the workers to stay alive.
 */
function unrefPthreadWorkers(backend: unknown): void {
  const mod = (backend as { wasm?: { PThread?: { unusedWorkers: PthreadWorker[]; runningWorkers: PthreadWorker[] } } }).wasm;
  const pt = mod?.PThread;
  if (!pt) return;
  for (const w of [...pt.unusedWorkers, ...pt.runningWorkers]) {
    w.ref = () => {};
    w.unref();
  }
}

/**
 * Wrap the wasm backend's registry factory so that, only while the module initializes:
 * the worker blob URL resolves to our file, os.cpus() reports at least `minCores`
 * entries, and pthread workers start without the parent's execArgv. Afterwards the
 * workers are unref'd.
 */
function wrapFactory(workerFile: string, minCores: number): void {
  const registry = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown }> }).registryFactory;
  const entry = registry.wasm;
  if (!entry) throw new Error('enableNodeThreads: the wasm backend is not registered (import @tensorflow/tfjs-backend-wasm first)');
  const factory = entry.factory;
  entry.factory = async () => {
    const undoUrl = patchCreateObjectURL(workerFile);
    const osMut = os as unknown as { cpus: typeof os.cpus };
    const origCpus = osMut.cpus;
    osMut.cpus = () => {
      const real = origCpus.call(os);
      const out = real.slice();
      while (out.length < minCores) out.push(real[0] ?? ({ model: 'virtual', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } } as os.CpuInfo));
      return out;
    };
    // The glue spawns its workers with `new (require('worker_threads').Worker)(file)`,
    // which inherits process.execArgv; flags such as --input-type or loader hooks
    // (--import tsx) break or slow the plain CommonJS worker, so start them without.
    const wtMut = workerThreads as unknown as { Worker: typeof workerThreads.Worker };
    const OrigWorker = wtMut.Worker;
    class CleanWorker extends OrigWorker {
      constructor(filename: string | URL, options?: workerThreads.WorkerOptions) {
        super(filename, { ...options, execArgv: options?.execArgv ?? [] });
      }
    }
    wtMut.Worker = CleanWorker;
    let backend: unknown;
    try {
      backend = await factory();
    } finally {
      undoUrl();
      osMut.cpus = origCpus;
      wtMut.Worker = OrigWorker;
    }
    unrefPthreadWorkers(backend);
    return backend;
  };
}

/**
 * Enables the threaded-SIMD wasm build in Node. Call after importing
 * `@tensorflow/tfjs-backend-wasm` and before `tf.setBackend('wasm')`.
 * Returns the number of threads that will be used (1: the non-threaded SIMD build).
 */
/** Logical cores available to this process. */
export function coreCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export async function enableNodeThreads(threads?: number): Promise<number> {
  const cores = coreCount();
  let n = Math.floor(threads ?? cores);
  if (!Number.isFinite(n) || n < 1) n = 1;
  n = Math.min(n, MAX_WASM_THREADS);
  if (applied !== null) return applied;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (n === 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    applied = 1;
    return 1;
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    applied = 1;
    return 1;
  }
  let workerFile: string;
  try {
    workerFile = writeWorkerScript();
  } catch (e) {
    process.emitWarning(`wasm threads disabled: cannot write the pthread worker script (${(e as Error).message})`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    applied = 1;
    return 1;
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wrapFactory(workerFile, 2 * n);
  wasm.setThreadsCount(n);
  applied = n;
  return n;
}
