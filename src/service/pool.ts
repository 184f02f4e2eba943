/**
 * A pool of worker threads that colorize encoded photos: the compute of `colorgan serve`
 * and `colorgan worker`. Each thread has its own backend and model and does one photo at
 * a time, so N threads colorize N photos at once while the main thread stays free for
 * HTTP, metrics and the queue's lock renewals. A task that runs past its timeout has its
 * thread terminated (the only way to stop wasm mid-photo) and a new thread takes its
 * place; so does a thread that dies.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ColorizeCallOptions, EncodeFormat, ImageProblem } from '../index.js';

/** The colorize options a task carries (what a request or a queued job may set). */
export interface TaskOptions extends Pick<ColorizeCallOptions, 'seed' | 'saturation' | 'renderSize' | 'upsample' | 'quality' | 'maxPixels'> {
  format: EncodeFormat;
  /** Colorizations (different z); default 1. */
  samples?: number;
  /** A bundled model's name or a folder; default the pool's. */
  model?: string;
}

/**
 * What went wrong with a task: a photo's problem, a bad option, no thread free before the
 * caller gave up ('busy'), colorizing past the timeout, or anything else.
 */
export type TaskErrorKind = ImageProblem | 'bad-option' | 'busy' | 'timeout' | 'internal';

export interface TaskError {
  kind: TaskErrorKind;
  message: string;
}

export class TaskFailedError extends Error {
  readonly kind: TaskErrorKind;
  constructor(e: TaskError) {
    super(e.message);
    this.name = 'TaskFailedError';
    this.kind = e.kind;
  }
}

export interface TaskResult {
  /** The encoded outputs, one per sample. */
  outputs: Uint8Array[];
  /** The way it was colorized (plan.ts). */
  plan: string;
  /** Seconds in the worker thread. */
  seconds: number;
}

/** @internal the messages between the pool and its threads (pool-worker.ts). */
export interface PoolTask {
  id: number;
  bytes: Uint8Array;
  name: string;
  options: TaskOptions;
}
/** @internal */
export interface WorkerSetup {
  threads: number;
  model: string | undefined;
}
/** @internal */
export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'fatal'; message: string }
  | { type: 'done'; id: number; outputs: Uint8Array[]; plan: string; seconds: number }
  | { type: 'failed'; id: number; error: TaskError };

export interface PoolOptions {
  /** Threads that colorize at once (default: one per core; most of a photo's time is decoding, upsampling and encoding, one core each). */
  size?: number;
  /** Compute threads of each (default: the cores shared out, at least 1). */
  threads?: number;
  /** The model each thread loads first (a bundled model's name or a folder; default: the bundled general one). */
  model?: string;
}

interface Pending {
  task: PoolTask;
  timeoutMs: number;
  resolve: (r: TaskResult) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  timer: NodeJS.Timeout | null;
}

/**
 * The thread's entry, a sibling of this file: pool-worker.js when built. Under tsx (the
 * tests run the sources) a thread does not inherit tsx's loader, so a small module
 * registers it first and then imports pool-worker.ts.
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./pool-worker.js', import.meta.url);
  const entry = new URL('./pool-worker.ts', import.meta.url).href;
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

export class ColorizePool {
  readonly size: number;
  readonly threads: number;
  /** The backend line of the first thread ("wasm (SIMD, 1 thread) + oneDNN …"). */
  backend = '';
  private readonly model: string | undefined;
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  /** Every thread, starting or started (close() ends them all). */
  private readonly workers = new Set<Worker>();
  private nextId = 1;
  private closed = false;

  private constructor(o: PoolOptions) {
    const size = o.size ?? os.availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
    const threads = o.threads ?? Math.max(1, Math.floor(os.availableParallelism() / size));
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    this.size = size;
    this.threads = threads;
    this.model = o.model;
  }

  /** Start the threads and wait until each has its model loaded (a bad model fails here, once). */
  static async create(o: PoolOptions = {}): Promise<ColorizePool> {
    const pool = new ColorizePool(o);
    try {
      await Promise.all(Array.from({ length: pool.size }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Tasks running now. */
  get running(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.waiting.length;
  }

  private spawn(): Promise<Slot> {
    const setup: WorkerSetup = { threads: this.threads, model: this.model };
    const worker = new Worker(workerEntry(), { workerData: setup });
    const slot: Slot = { worker, busy: null, timer: null };
    this.workers.add(worker);
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          ready = true;
          if (this.closed) return void worker.terminate();
          this.backend ||= m.backend;
          this.slots.push(slot);
          resolve(slot);
          this.dispatch();
        } else if (m.type === 'fatal') {
          reject(new Error(`a colorize thread could not start: ${m.message}`));
          void worker.terminate();
        } else {
          this.settle(slot, m);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new Error(`a colorize thread could not start: ${err.message.split('\n')[0]}`));
      });
      worker.on('exit', () => {
        this.workers.delete(worker);
        this.drop(slot);
        if (slot.timer) clearTimeout(slot.timer);
        const lost = slot.busy;
        slot.busy = null;
        if (lost) lost.reject(new TaskFailedError({ kind: 'internal', message: 'the colorize thread stopped during this photo' }));
        // A thread lost while the pool is open is replaced (the task's caller decides on a retry).
        if (ready && !this.closed) this.spawn().catch(() => this.failAll('no colorize thread could be restarted'));
      });
    });
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private settle(slot: Slot, m: Extract<WorkerMessage, { id: number }>): void {
    const p = slot.busy;
    if (!p || p.task.id !== m.id) return;
    slot.busy = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (m.type === 'done') p.resolve({ outputs: m.outputs, plan: m.plan, seconds: m.seconds });
    else p.reject(new TaskFailedError(m.error));
    this.dispatch();
  }

  private failAll(message: string): void {
    for (const p of this.waiting.splice(0)) p.reject(new TaskFailedError({ kind: 'internal', message }));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const p = this.waiting.shift();
      if (!p) return;
      if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
      slot.busy = p;
      slot.timer = setTimeout(() => {
        // wasm cannot be interrupted: the thread goes (no new task for it), and its exit handler replaces it.
        slot.busy = null;
        this.drop(slot);
        p.reject(new TaskFailedError({ kind: 'timeout', message: `colorizing took longer than ${p.timeoutMs / 1000} s` }));
        void slot.worker.terminate();
      }, p.timeoutMs);
      slot.worker.postMessage(p.task, [p.task.bytes.buffer as ArrayBuffer]);
    }
  }

  /**
   * Colorize one encoded photo. `bytes` is handed to the thread (its buffer is transferred:
   * do not use it afterwards). An abort while the task still waits takes it out of the queue.
   */
  run(bytes: Uint8Array, options: TaskOptions, how: { name: string; timeoutMs: number; signal?: AbortSignal }): Promise<TaskResult> {
    if (this.closed) return Promise.reject(new Error('the colorize pool is closed'));
    if (!(how.timeoutMs > 0)) return Promise.reject(new RangeError(`timeoutMs must be positive, got ${how.timeoutMs}`));
    // Own the bytes' whole buffer, so transferring it takes nothing else with it.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    return new Promise<TaskResult>((resolve, reject) => {
      const p: Pending = { task: { id: this.nextId++, bytes: own, name: how.name, options }, timeoutMs: how.timeoutMs, resolve, reject, signal: how.signal };
      if (how.signal) {
        if (how.signal.aborted) return reject(new TaskFailedError({ kind: 'busy', message: 'no colorize thread was free in time' }));
        p.onAbort = () => {
          const i = this.waiting.indexOf(p);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            reject(new TaskFailedError({ kind: 'busy', message: 'no colorize thread was free in time' }));
          }
        };
        how.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.waiting.push(p);
      this.dispatch();
    });
  }

  /** Let the running tasks finish, refuse new ones, then stop the threads. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll('the colorize pool is closing');
    while (this.running > 0) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}
