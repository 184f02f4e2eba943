/**
 * The options of `colorgan serve` (one schema: the flags, the library's defaults and
 * checks) and of one colorize request (its query parameters or X-Colorgan-* headers:
 * the same entries as the CLI's flags, src/infer/options.ts).
 */
import { DEFAULT_MAX_PIXELS } from '../data/formats.js';
import { INFERENCE_OPTIONS, MODEL_OPTION, OUTPUT_OPTIONS } from '../infer/options.js';

/** The limits of one request and of the server, as `colorgan serve` flags and `startService` options. */
export const SERVE_SCHEMA = {
  host: { type: 'string', arg: 'ADDR', default: '127.0.0.1', help: 'address to listen on (0.0.0.0: every interface)' },
  allowedHosts: {
    type: 'list',
    arg: 'NAME',
    help: 'Host header names answered (repeatable); default: on a loopback address only localhost, 127.0.0.1 and [::1], against DNS rebinding; elsewhere any',
  },
  port: { type: 'int', min: 0, max: 65535, default: 8080, help: 'TCP port (0: any free one; the address is printed)' },
  concurrency: { type: 'int', min: 1, max: 64, defaultText: 'the number of cores', help: 'photos colorized at once (one thread each)' },
  queueSize: { type: 'int', min: 0, defaultText: '4 × concurrency', help: 'requests that may wait for a thread; beyond that: 503 with Retry-After' },
  maxBytes: { type: 'int', min: 1, default: 64 * 1024 * 1024, help: 'largest request body in bytes (413 above it)' },
  maxPixels: { type: 'int', min: 1, default: DEFAULT_MAX_PIXELS, help: 'largest photo in pixels, checked from its header before decoding (413 above it)' },
  timeout: {
    type: 'number',
    min: 0.1,
    max: 3600,
    default: 60,
    arg: 'S',
    help: 'seconds a request may take, waiting included (504 when colorizing runs past it)',
  },
  model: MODEL_OPTION,
  threads: { type: 'int', min: 1, defaultText: 'the cores shared out', help: 'compute threads of each colorize thread' },
} as const;

/** Samples one request may ask for: each is a full-size image in the answer's memory. */
export const MAX_REQUEST_SAMPLES = 16;

/** What one request may set: the CLI's colorize options. */
export const REQUEST_SCHEMA = {
  ...INFERENCE_OPTIONS,
  ...OUTPUT_OPTIONS,
  samples: { ...OUTPUT_OPTIONS.samples, max: MAX_REQUEST_SAMPLES },
} as const;
