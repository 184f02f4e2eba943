/**
 * `colorgan serve`: the HTTP API over the library.
 *
 *   POST /v1/colorize   the photo as the body (or a multipart form's file); options as query
 *                       parameters or X-Colorgan-* headers (format, quality, seed, samples,
 *                       saturation, renderSize, upsample). Answers the encoded photo, same
 *                       size as the input, or with samples > 1 a JSON list of them.
 *   GET /healthz        200 while serving, 503 while shutting down
 *   GET /metrics        Prometheus text (metrics.ts)
 *
 * A request whose Host header names another host than the allowed ones gets 421: a web page
 * cannot reach a loopback server through a DNS name it rebinds to 127.0.0.1.
 *
 * Work is bounded: at most `concurrency` photos colorize at once (pool.ts, one thread each),
 * at most `queueSize` more wait, and beyond that a request gets 503 with Retry-After before
 * its body is kept. Size limits are checked from Content-Length, then while the body
 * arrives, then from the photo's header before any pixel is decoded (413). Every error is
 * one line of JSON: {"error": "...", "cause": "..."}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openImage, ImageDecodeError } from '../index.js';
import { resolveOptions, valueOfText, type OptionsOf } from '../util/options.js';
import { ServiceMetrics } from './metrics.js';
import { multipartBoundary, multipartImage } from './multipart.js';
import { ColorizePool, TaskFailedError, type TaskErrorKind, type TaskOptions } from './pool.js';
import { REQUEST_SCHEMA, SERVE_SCHEMA } from './options.js';

export type ServeOptions = Partial<OptionsOf<typeof SERVE_SCHEMA>>;

export interface Service {
  /** http://host:port */
  url: string;
  port: number;
  /** The colorize threads' backend ("wasm (SIMD, 1 thread) + oneDNN …"). */
  backend: string;
  concurrency: number;
  metrics: ServiceMetrics;
  /** Stop taking requests, answer the ones admitted, then stop the threads. */
  close(): Promise<void>;
}

const CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

/** HTTP status and error cause of each way a request fails. */
const STATUS_OF: Record<TaskErrorKind | 'bad-request' | 'method' | 'host' | 'draining' | 'full', number> = {
  'bad-request': 400,
  host: 421,
  'bad-option': 400,
  method: 405,
  'too-large': 413,
  unsupported: 415,
  corrupt: 422,
  unreadable: 422,
  busy: 503,
  full: 503,
  draining: 503,
  timeout: 504,
  internal: 500,
};

type Cause = keyof typeof STATUS_OF;

class RequestError extends Error {
  constructor(
    readonly why: Cause,
    message: string,
  ) {
    super(message);
  }
}

/** Bodies this small are read and dropped before a refusal, so a keep-alive connection stays usable. */
const DRAIN_LIMIT = 1024 * 1024;

/** The request's options: query parameters first, then X-Colorgan-Name headers (kebab-case). */
function requestOptions(url: URL, headers: http.IncomingHttpHeaders): TaskOptions {
  const given: Record<string, unknown> = {};
  const known = new Set(Object.keys(REQUEST_SCHEMA));
  for (const key of url.searchParams.keys()) {
    if (!known.has(key)) throw new RequestError('bad-request', `unknown parameter "${key}" (parameters: ${[...known].join(', ')})`);
  }
  for (const [name, spec] of Object.entries(REQUEST_SCHEMA)) {
    const header = headers[`x-colorgan-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`];
    const text = url.searchParams.get(name) ?? (Array.isArray(header) ? header[0] : header);
    if (text === undefined || text === null) continue;
    try {
      given[name] = valueOfText(name, spec, text);
    } catch (err) {
      throw new RequestError('bad-request', (err as Error).message);
    }
  }
  return resolveOptions(REQUEST_SCHEMA, given) as TaskOptions;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The Host names answered: the given ones, else the loopback names on a loopback address, else any (null). */
export function allowedHostNames(listen: string, given: readonly string[] | undefined): Set<string> | null {
  if (given && given.length > 0) return new Set(given.map((h) => h.toLowerCase()));
  return LOOPBACK.has(listen) ? new Set(LOOPBACK_NAMES) : null;
}

/** The host name of a Host header, without its port ("[::1]:8080" → "[::1]"). */
export function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(h);
  return m ? m[1] : h;
}

/** The body, at most `max` bytes (413 as soon as it is more). */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return; // the rest is let through unkept; the 413 closes the connection
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        reject(new RequestError('too-large', `request body is over the ${max}-byte limit`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
    req.on('aborted', () => reject(new RequestError('bad-request', 'the client went away')));
  });
}

export async function startService(options: ServeOptions = {}): Promise<Service> {
  const o = resolveOptions(SERVE_SCHEMA, options, 'serve: ');
  const pool = await ColorizePool.create({ size: o.concurrency, threads: o.threads, model: o.model });
  const concurrency = pool.size;
  const queueSize = o.queueSize ?? 4 * concurrency;
  const timeoutMs = o.timeout * 1000;
  let admitted = 0;
  let draining = false;
  let idle: (() => void) | null = null;
  // Seconds per photo, smoothed: what Retry-After is estimated from.
  let secondsPerPhoto = 1;
  const hosts = allowedHostNames(o.host, o.allowedHosts);
  const metrics = new ServiceMetrics({ queued: () => pool.queued, inFlight: () => pool.running, threads: () => pool.size });

  const send = (res: http.ServerResponse, route: string, status: number, body: string | Uint8Array, headers: http.OutgoingHttpHeaders = {}): void => {
    metrics.requests.inc({ route, code: String(status) });
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const fail = (req: http.IncomingMessage, res: http.ServerResponse, route: string, cause: Cause, message: string): void => {
    const status = STATUS_OF[cause];
    metrics.errors.inc({ cause });
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json' };
    if (status === 405) headers.Allow = route === '/v1/colorize' ? 'POST' : 'GET, HEAD';
    if (status === 503) {
      const wait = Math.ceil(((pool.queued + pool.running) / concurrency + 1) * secondsPerPhoto);
      headers['Retry-After'] = String(Math.min(60, Math.max(1, wait)));
    }
    const body = `${JSON.stringify({ error: message, cause })}\n`;
    const unread = !req.complete;
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    if (unread && !(length <= DRAIN_LIMIT)) {
      // A large body we will not read: answer, then close the connection.
      headers.Connection = 'close';
      send(res, route, status, body, headers);
      return;
    }
    if (unread) {
      req.resume();
      req.once('end', () => send(res, route, status, body, headers));
      return;
    }
    send(res, route, status, body, headers);
  };

  async function colorizeRoute(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const route = '/v1/colorize';
    const t0 = performance.now();
    if (draining) return fail(req, res, route, 'draining', 'the server is shutting down');
    let task: TaskOptions;
    try {
      task = requestOptions(url, req.headers);
    } catch (err) {
      return fail(req, res, route, err instanceof RequestError ? err.why : 'bad-request', (err as Error).message);
    }
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    if (length > o.maxBytes) return fail(req, res, route, 'too-large', `request body is ${length} bytes, over the ${o.maxBytes}-byte limit`);
    if (admitted >= concurrency + queueSize) {
      return fail(req, res, route, 'full', `all ${concurrency} colorize threads are busy and ${queueSize} requests wait; retry later`);
    }
    admitted++;
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      let body = await readBody(req, o.maxBytes);
      const boundary = multipartBoundary(req.headers['content-type']);
      if (boundary) {
        const part = multipartImage(body, boundary);
        if (!part) throw new RequestError('bad-request', 'the multipart body has no file part (send the photo as a file, or as the whole body)');
        body = part;
      }
      if (body.length === 0) throw new RequestError('bad-request', 'empty body: send the photo as the request body');
      // The header only: the pixel limit before anything is decoded.
      await openImage(body, { maxPixels: o.maxPixels, maxBytes: o.maxBytes, name: 'request body' });
      const left = Math.max(1, timeoutMs - (performance.now() - t0));
      const result = await pool.run(body, { ...task, maxPixels: o.maxPixels }, { name: 'request body', timeoutMs: left, signal: deadline });
      secondsPerPhoto = 0.8 * secondsPerPhoto + 0.2 * result.seconds;
      const headers = { 'X-Colorgan-Plan': result.plan, 'X-Colorgan-Seconds': result.seconds.toFixed(3) };
      if ((task.samples ?? 1) > 1) {
        const samples = result.outputs.map((b, i) => ({ sample: i + 1, contentType: CONTENT_TYPES[task.format], data: Buffer.from(b).toString('base64') }));
        send(res, route, 200, JSON.stringify({ format: task.format, seed: task.seed, samples }), { 'Content-Type': 'application/json', ...headers });
      } else {
        send(res, route, 200, result.outputs[0], { 'Content-Type': CONTENT_TYPES[task.format], ...headers });
      }
    } catch (err) {
      if (err instanceof RequestError) fail(req, res, route, err.why, err.message);
      else if (err instanceof ImageDecodeError) fail(req, res, route, err.problem, err.reason);
      else if (err instanceof TaskFailedError) fail(req, res, route, err.kind, err.message);
      else fail(req, res, route, 'internal', String((err as Error)?.message ?? err).split('\n')[0]);
    } finally {
      metrics.latency.observe((performance.now() - t0) / 1000);
      admitted--;
      if (admitted === 0) idle?.();
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://service');
    const route = url.pathname;
    const name = hostName(req.headers.host);
    if (hosts && !hosts.has(name)) {
      return fail(req, res, 'other', 'host', `Host "${name}" is not served here (allowed: ${[...hosts].join(', ')}; --allowed-hosts adds names)`);
    }
    if (route === '/v1/colorize') {
      if (req.method !== 'POST') return fail(req, res, route, 'method', 'use POST with the photo as the body');
      return void colorizeRoute(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(req, res, 'other', 'method', `${req.method} is not served here`);
    if (route === '/healthz') {
      const status = draining ? 503 : 200;
      const body = JSON.stringify({ status: draining ? 'draining' : 'ok', threads: pool.size, inFlight: pool.running, queued: pool.queued });
      return send(res, route, status, `${body}\n`, { 'Content-Type': 'application/json' });
    }
    if (route === '/metrics') return send(res, route, 200, metrics.text(), { 'Content-Type': 'text/plain; version=0.0.4' });
    metrics.requests.inc({ route: 'other', code: '404' });
    const body = `${JSON.stringify({ error: `no such path ${route} (POST /v1/colorize, GET /healthz, GET /metrics)`, cause: 'not-found' })}\n`;
    res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  // A request must arrive whole within the timeout (slow senders do not hold a slot forever).
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(timeoutMs, 60_000);
  // Idle keep-alive connections outlive the longest Retry-After (60 s), so a client that
  // waits as told does not reuse a socket the server is just closing.
  server.keepAliveTimeout = 65_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => resolve());
    });
  } catch (err) {
    await pool.close(); // a port in use must not leave the threads running
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      draining = true;
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (admitted > 0) await new Promise<void>((r) => (idle = r));
      await pool.close();
      server.closeAllConnections();
      await stopped;
    })());

  return { url: `http://${host}:${port}`, port, backend: pool.backend, concurrency, metrics, close };
}
