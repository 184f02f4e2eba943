/**
 * Colorize jobs on a BullMQ queue: what a job holds, its id, and adding many at once.
 *
 * A job is one photo: its input path and output paths on storage every worker sees, and
 * the colorize options. Its id is a hash of all three, so adding the same folder twice
 * adds nothing new (BullMQ keeps one job per id), while other options or another output
 * folder are other jobs. Completed jobs are kept (about 1 kB each in Redis) so that
 * `queue status` counts them and the ids keep deduplicating.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { TaskOptions } from '../service/pool.js';

export interface ColorizeJobData {
  /** The photo, as an absolute path. */
  input: string;
  /** One absolute output path per sample. */
  outputs: string[];
  options: TaskOptions;
}

/** Attempts per job (transient failures: a worker's thread lost, a timeout, an I/O error), spaced 2, 4, 8, 16 s. */
export const JOB_OPTIONS: JobsOptions = { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: false, removeOnFail: false };

/** A queue's connection: a redis:// URL, checked. Workers need maxRetriesPerRequest null (BullMQ blocks on Redis). */
export function connectionOf(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`redis: not a URL: "${url}" (e.g. redis://127.0.0.1:6379)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`redis: expected a redis:// or rediss:// URL, got "${url}"`);
  return { url, maxRetriesPerRequest: null };
}

/**
 * Fail fast, in one line, when nothing answers at the URL's host and port (BullMQ itself
 * would keep reconnecting and never report it to a command line).
 */
export async function checkRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  connectionOf(url);
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(u.port || 6379);
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`cannot reach Redis at ${host}:${port} (${why}): start redis-server there, or give --redis URL`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'connection refused' : (err.code ?? err.message)));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
}

export function openQueue(redis: string, name: string): Queue<ColorizeJobData> {
  if (!/^[\w.-]+$/.test(name)) throw new TypeError(`queue name must be letters, digits, ".", "_" or "-", got "${name}"`);
  return new Queue<ColorizeJobData>(name, { connection: connectionOf(redis) });
}

/** Keys in a fixed order, so equal options give equal ids. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

export function jobIdOf(d: ColorizeJobData): string {
  return `c${createHash('sha256')
    .update(JSON.stringify(canonical(d)))
    .digest('hex')
    .slice(0, 40)}`;
}

export interface AddResult {
  added: number;
  /** Jobs that were already in the queue (any state): not added again. */
  existing: number;
}

/** Add jobs in batches; `progress(done)` after each batch. */
export async function addJobs(queue: Queue<ColorizeJobData>, jobs: ColorizeJobData[], progress?: (done: number) => void): Promise<AddResult> {
  const BATCH = 500;
  const client = await queue.backend.client;
  const result: AddResult = { added: 0, existing: 0 };
  for (let i = 0; i < jobs.length; i += BATCH) {
    const batch = jobs.slice(i, i + BATCH).map((data) => ({ data, id: jobIdOf(data) }));
    // A job is a hash at its key; the commands of a batch go out together.
    const exists = await Promise.all(batch.map((j) => client.hget(queue.toKey(j.id), 'timestamp').then((t) => t !== null)));
    const fresh = batch.filter((_, k) => !exists[k]);
    result.existing += batch.length - fresh.length;
    result.added += fresh.length;
    if (fresh.length) await queue.addBulk(fresh.map((j) => ({ name: 'colorize', data: j.data, opts: { ...JOB_OPTIONS, jobId: j.id } })));
    progress?.(Math.min(jobs.length, i + BATCH));
  }
  return result;
}
