/**
 * The options of the batch queue's commands (`colorgan queue add|status|failed|retry`,
 * `colorgan worker`): one schema entry each, for flags and library calls alike.
 */
import { DEFAULT_MAX_PIXELS } from '../data/formats.js';
import { REQUEST_SCHEMA } from '../service/options.js';
import { MODEL_OPTION } from '../infer/options.js';

/** Where the queue is. */
export const QUEUE_SCHEMA = {
  redis: { type: 'string', arg: 'URL', default: 'redis://127.0.0.1:6379', help: 'the Redis server of the queue (redis:// or rediss://)' },
  name: { type: 'string', arg: 'Q', default: 'colorgan', help: 'queue name (several queues can share a Redis)' },
} as const;

/** `colorgan queue add`: where outputs go, and the colorize options of every job. */
export const ADD_SCHEMA = {
  ...QUEUE_SCHEMA,
  out: { type: 'string', short: 'o', required: 'where the colorized photos go', help: 'output folder, on storage every worker sees' },
  model: { ...MODEL_OPTION, help: `${MODEL_OPTION.help} every worker sees` },
  ...REQUEST_SCHEMA,
} as const;

/** `colorgan worker`. */
export const WORKER_SCHEMA = {
  ...QUEUE_SCHEMA,
  concurrency: { type: 'int', min: 1, max: 64, defaultText: 'the number of cores', help: 'photos this worker colorizes at once (one thread each)' },
  threads: { type: 'int', min: 1, defaultText: 'the cores shared out', help: 'compute threads of each colorize thread' },
  timeout: { type: 'number', min: 1, max: 86400, default: 600, arg: 'S', help: 'seconds one photo may take before its attempt fails (and is retried)' },
  lockSeconds: {
    type: 'number',
    min: 1,
    max: 3600,
    default: 30,
    arg: 'S',
    help: "a job's lock; a worker that dies has its job back in the queue after about this long",
  },
  maxPixels: { type: 'int', min: 1, default: DEFAULT_MAX_PIXELS, help: 'refuse photos above N pixels (a permanent failure)' },
} as const;

/** `colorgan queue status`. */
export const STATUS_SCHEMA = {
  ...QUEUE_SCHEMA,
  watch: { type: 'boolean', help: 'keep showing progress (a bar with rate and ETA) until the queue is drained' },
  json: { type: 'boolean', help: 'print the counts as one JSON object' },
} as const;
