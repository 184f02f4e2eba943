/**
 * `colorgan queue add|status|failed|retry`: the batch queue on Redis (src/queue/). `add`
 * walks the inputs as `colorgan colorize` does (folders mirrored under --out, the same
 * output names) and enqueues one job per photo; workers (`colorgan worker`) do the rest.
 */
import path from 'node:path';
import { parseCommandLine, usageText } from '../util/options.js';
import { ADD_SCHEMA, QUEUE_SCHEMA, STATUS_SCHEMA } from '../queue/options.js';
import { REQUEST_SCHEMA } from '../service/options.js';
import type { TaskOptions } from '../service/pool.js';
import { UsageError, requireFolders } from './args.js';
import { FORMAT_EXTENSIONS } from '../data/formats.js';
import { BUNDLED_MODELS } from '../models/bundled.js';
import { collectJobs, outputsOf } from './colorize.js';
import { Progress, formatDuration } from './progress.js';

const USAGE = `Usage:
  colorgan queue add INPUT... --out DIR [--redis URL] [--name Q] [colorize options]
  colorgan queue status [--redis URL] [--name Q] [--watch] [--json]
  colorgan queue failed [--redis URL] [--name Q]
  colorgan queue retry  [--redis URL] [--name Q]

Run "colorgan queue add --help" for the colorize options.`;

const ADD_USAGE = usageText('Usage: colorgan queue add INPUT... --out DIR [options]', ADD_SCHEMA, {
  INPUT: 'photo files or folders, on storage every worker sees (paths are stored absolute)',
});

export async function queueCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add':
      return addCommand(rest);
    case 'status':
      return statusCommand(rest);
    case 'failed':
      return failedCommand(rest);
    case 'retry':
      return retryCommand(rest);
    case undefined:
    case '--help':
    case '-h':
      console.log(USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown queue command "${sub}" (add, status, failed, retry)`);
  }
}

async function withQueue<T>(
  redis: string,
  name: string,
  use: (q: import('bullmq').Queue<import('../queue/jobs.js').ColorizeJobData>) => Promise<T>,
): Promise<T> {
  const { openQueue, checkRedisReachable } = await import('../queue/jobs.js');
  await checkRedisReachable(redis);
  const queue = openQueue(redis, name);
  let lost: Error | null = null;
  queue.on('error', (err) => {
    lost ??= err;
  });
  try {
    await queue.waitUntilReady();
    return await use(queue);
  } catch (err) {
    throw lost ? new Error(`Redis at ${redis}: ${String((lost as Error).message).split('\n')[0]}`) : err;
  } finally {
    await queue.close();
  }
}

async function addCommand(argv: string[]): Promise<number> {
  const {
    values: v,
    positionals,
    help,
  } = parseCommandLine(ADD_SCHEMA, argv, { positionals: 'no INPUT given (photo files or folders to enqueue)', defaults: true });
  if (help) {
    console.log(ADD_USAGE);
    return 0;
  }
  const lib = await import('../index.js');
  const options: TaskOptions = { format: v.format, seed: v.seed };
  for (const k of Object.keys(REQUEST_SCHEMA) as (keyof typeof REQUEST_SCHEMA)[]) if (v[k] !== undefined) Object.assign(options, { [k]: v[k] });
  // A model folder is stored absolute, like the photos: workers run from other folders and machines.
  if (v.model !== undefined) {
    const bundled = (BUNDLED_MODELS as readonly string[]).includes(v.model);
    if (!bundled) await requireFolders([v.model]).catch((err: Error) => Promise.reject(new UsageError(`--model ${err.message}`)));
    options.model = bundled ? v.model : path.resolve(v.model);
  }
  const samples = v.samples ?? null;
  if (positionals.includes('-')) throw new UsageError('queue add takes files and folders, not - (stdin): workers read the photos from storage');
  let failed = 0;
  const found = await collectJobs(lib, positionals, { outDir: v.out, samples, ext: FORMAT_EXTENSIONS[v.format], json: false }, () => failed++);
  const jobs = found.map((j) => ({
    input: path.resolve(j.src),
    outputs: outputsOf(j, samples, FORMAT_EXTENSIONS[v.format]).map((o) => path.resolve(o)),
    options: { ...options, samples: samples ?? 1 },
  }));
  const { addJobs } = await import('../queue/jobs.js');
  const result = await withQueue(v.redis, v.name, async (queue) => {
    const bar = jobs.length > 1000 ? new Progress({ label: 'enqueuing', total: jobs.length, unit: 'jobs' }) : null;
    const r = await addJobs(queue, jobs, (n) => bar?.update(n));
    bar?.finish();
    return r;
  });
  console.log(`queue ${v.name}: ${result.added} jobs added, ${result.existing} already queued${failed ? `, ${failed} inputs refused` : ''}`);
  return failed > 0 ? 1 : 0;
}

async function statusCommand(argv: string[]): Promise<number> {
  const { values: v, help } = parseCommandLine(STATUS_SCHEMA, argv, { defaults: true });
  if (help) {
    console.log(usageText('Usage: colorgan queue status [options]', STATUS_SCHEMA));
    return 0;
  }
  const { queueCounts, completionRate } = await import('../queue/status.js');
  return withQueue(v.redis, v.name, async (queue) => {
    const line = async () => {
      const c = await queueCounts(queue);
      const rate = await completionRate(queue);
      return { c, rate, eta: rate ? (c.waiting + c.active + c.delayed) / rate : null };
    };
    if (!v.watch) {
      const { c, rate, eta } = await line();
      if (v.json) console.log(JSON.stringify({ ...c, ratePerSecond: rate, etaSeconds: eta }));
      else {
        const rateText =
          rate === null ? 'no completions recorded yet' : `${(rate * 60).toFixed(1)} photos/min lately, ETA ${formatDuration(eta ?? Number.NaN)}`;
        console.log(
          `queue ${v.name}: ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed (retrying), ${c.completed} completed, ${c.failed} failed; ${rateText}`,
        );
      }
      return 0;
    }
    // --watch: a bar over all jobs; its rate and ETA are measured while watching.
    const first = await queueCounts(queue);
    const bar = new Progress({ label: `queue ${v.name}`, total: first.total, unit: 'photos', logEvery: 10, from: first.completed + first.failed });
    for (;;) {
      const c = await queueCounts(queue);
      bar.setTotal(c.total);
      bar.update(c.completed + c.failed, `${c.active} active, ${c.failed} failed`);
      if (c.waiting + c.active + c.delayed === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    bar.finish();
    return 0;
  });
}

async function failedCommand(argv: string[]): Promise<number> {
  const { values: v, help } = parseCommandLine(QUEUE_SCHEMA, argv, { defaults: true });
  if (help) {
    console.log(usageText('Usage: colorgan queue failed [options]\n\nOne line per failed photo: its path and why.', QUEUE_SCHEMA));
    return 0;
  }
  const { failedJobs } = await import('../queue/status.js');
  const jobs = await withQueue(v.redis, v.name, failedJobs);
  for (const j of jobs) console.log(`${j.input}: ${j.reason} (${j.attempts} attempt${j.attempts === 1 ? '' : 's'})`);
  console.error(`${jobs.length} failed`);
  return 0;
}

async function retryCommand(argv: string[]): Promise<number> {
  const { values: v, help } = parseCommandLine(QUEUE_SCHEMA, argv, { defaults: true });
  if (help) {
    console.log(usageText('Usage: colorgan queue retry [options]\n\nPut every failed job back in the queue.', QUEUE_SCHEMA));
    return 0;
  }
  const { retryFailed } = await import('../queue/status.js');
  const n = await withQueue(v.redis, v.name, retryFailed);
  console.log(`queue ${v.name}: ${n} failed jobs put back`);
  return 0;
}
