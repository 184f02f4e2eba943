/**
 * `colorgan worker`: take colorize jobs from the queue and run them on a pool of colorize
 * threads (src/service/pool.ts), on any machine that sees the same storage.
 *
 * Delivery is at least once (BullMQ: a job whose worker dies, SIGKILL or power, loses its
 * lock and goes back to the queue after `lockSeconds`); the output write makes it
 * effectively exactly once: outputs that exist are complete (each written to a temp file
 * and renamed) and are never made again, and an earlier attempt's temp files are removed
 * before a job writes. A photo that can never work (not an image, corrupt, above the pixel
 * limit, missing) fails at once with its reason; anything else (a lost thread, a timeout,
 * an I/O error) is retried with backoff (jobs.ts JOB_OPTIONS).
 */
import { promises as fs } from 'node:fs';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { ImageDecodeError } from '../index.js';
import { readRegularFile } from '../data/decode.js';
import { removeTempsOf, writeFileAtomic } from '../util/atomic.js';
import { resolveOptions, type OptionsOf } from '../util/options.js';
import { ColorizePool, TaskFailedError, type TaskErrorKind } from '../service/pool.js';
import { checkRedisReachable, connectionOf, type ColorizeJobData } from './jobs.js';
import { WORKER_SCHEMA } from './options.js';

export type WorkerOptions = Partial<OptionsOf<typeof WORKER_SCHEMA>>;

export interface JobOutcome {
  /** Outputs written by this attempt (0: all existed). */
  written: number;
  plan?: string;
  seconds?: number;
}

export interface WorkerEvents {
  started?(job: Job<ColorizeJobData>): void;
  completed?(job: Job<ColorizeJobData>, outcome: JobOutcome): void;
  /** `final`: no attempt is left (or the photo can never work). */
  failed?(job: Job<ColorizeJobData>, reason: string, final: boolean): void;
}

export interface QueueWorker {
  backend: string;
  /** Finish the jobs in progress, take no new ones, stop the threads. */
  close(): Promise<void>;
}

/** Task errors that no retry can mend. */
const PERMANENT: ReadonlySet<TaskErrorKind> = new Set(['too-large', 'unsupported', 'corrupt', 'bad-option']);

function checkJob(d: unknown): ColorizeJobData {
  const j = d as Partial<ColorizeJobData> | null;
  const ok =
    j &&
    typeof j.input === 'string' &&
    Array.isArray(j.outputs) &&
    j.outputs.length > 0 &&
    j.outputs.every((o) => typeof o === 'string') &&
    j.options &&
    typeof j.options === 'object';
  if (!ok) throw new UnrecoverableError('not a colorize job (expected input, outputs and options)');
  return j as ColorizeJobData;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

export async function startQueueWorker(options: WorkerOptions = {}, events: WorkerEvents = {}): Promise<QueueWorker> {
  const o = resolveOptions(WORKER_SCHEMA, options, 'worker: ');
  const connection = connectionOf(o.redis);
  await checkRedisReachable(o.redis);
  const pool = await ColorizePool.create({ size: o.concurrency, threads: o.threads });
  const concurrency = pool.size;

  async function runJob(job: Job<ColorizeJobData>): Promise<JobOutcome> {
    const d = checkJob(job.data);
    events.started?.(job);
    const todo: number[] = [];
    for (let k = 0; k < d.outputs.length; k++) if (!(await exists(d.outputs[k]))) todo.push(k);
    if (todo.length === 0) return { written: 0 };
    for (const k of todo) await removeTempsOf(d.outputs[k]);
    // The file only; its header is read and checked in the colorize thread.
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(d.input);
    } catch (err) {
      const gone = (err as { cause?: { code?: string } }).cause?.code === 'ENOENT';
      if (err instanceof ImageDecodeError && (err.problem !== 'unreadable' || gone)) throw new UnrecoverableError(err.reason);
      throw err;
    }
    const want = d.outputs.length;
    let result: Awaited<ReturnType<ColorizePool['run']>>;
    try {
      result = await pool.run(bytes, { ...d.options, samples: want, maxPixels: o.maxPixels }, { name: d.input, timeoutMs: o.timeout * 1000 });
    } catch (err) {
      if (err instanceof TaskFailedError && PERMANENT.has(err.kind)) throw new UnrecoverableError(err.message);
      throw err;
    }
    if (result.outputs.length !== want) throw new Error(`made ${result.outputs.length} outputs, expected ${want}`);
    for (const k of todo) await writeFileAtomic(d.outputs[k], result.outputs[k]);
    return { written: todo.length, plan: result.plan, seconds: result.seconds };
  }

  const lockDuration = o.lockSeconds * 1000;
  const worker = new Worker<ColorizeJobData, JobOutcome>(o.name, runJob, {
    connection,
    concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    // A photo whose worker died this many times is failed rather than retried forever.
    maxStalledCount: 3,
  });
  worker.on('completed', (job, outcome) => events.completed?.(job, outcome));
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    events.failed?.(job, String(err.message).split('\n')[0], final);
  });
  // Redis going away: BullMQ reconnects and the worker keeps trying; one line per new error.
  let lastError = '';
  worker.on('error', (err) => {
    const line = String(err.message).split('\n')[0];
    if (line !== lastError) process.stderr.write(`worker: ${line} (reconnecting)\n`);
    lastError = line;
  });
  await worker.waitUntilReady();

  let closing: Promise<void> | null = null;
  return {
    backend: pool.backend,
    close: () =>
      (closing ??= (async () => {
        await worker.close();
        await pool.close();
      })()),
  };
}
