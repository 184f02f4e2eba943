/**
 * Load on `colorgan serve` over loopback: N clients, each posting a photo in a loop for
 * T seconds (honouring Retry-After on 503, as a well-behaved client does), against a
 * server process of its own. Prints the answers by status, latency percentiles of the
 * colorized answers, throughput, and the server's peak resident memory (VmHWM: all its
 * threads), with the CPU.
 *
 *   node --import tsx bench/load.ts [--clients 200] [--seconds 60] [--concurrency N]
 *        [--queue-size Q] [--width 640 --height 480]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { cpuLine } from './cli-util.js';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface LoadOptions {
  clients: number;
  seconds: number;
  concurrency?: number;
  queueSize?: number;
  width?: number;
  height?: number;
}

export interface LoadResult {
  /** cpuLine() before the run. */
  cpu: string;
  statuses: Record<string, number>;
  /** 503s that came without a Retry-After header (should be none). */
  bare503: number;
  /** Requests that failed at the connection (reset, refused). */
  connectionErrors: number;
  okLatencyMs: { p50: number; p90: number; p99: number; max: number };
  photosPerSecond: number;
  peakRssBytes: number;
  serverLine: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const cpu = cpuLine(); // before the server loads the machine
  const photo = await sharp(path.join(ROOT, 'examples/shine1-gray.jpg'))
    .resize(o.width ?? 640, o.height ?? 480, { fit: 'fill' })
    .jpeg()
    .toBuffer();
  const args = [path.join(ROOT, 'bin/colorgan.js'), 'serve', '--port', '0'];
  if (o.concurrency) args.push('--concurrency', String(o.concurrency));
  if (o.queueSize !== undefined) args.push('--queue-size', String(o.queueSize));
  const server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const serverLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('listening on'));
      if (line) resolve(line);
    });
    server.once('exit', (code) => reject(new Error(`colorgan serve exited ${code}`)));
  });
  const url = new URL(`${/listening on (http:\/\/\S+)/.exec(serverLine)?.[1]}/v1/colorize?format=jpeg`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients });
  const statuses: Record<string, number> = {};
  const okMs: number[] = [];
  let bare503 = 0;
  let connectionErrors = 0;
  const end = performance.now() + o.seconds * 1000;
  let rssPeak = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, peakRss(server.pid ?? 0));
  }, 250);

  const once = () =>
    new Promise<{ status: number; retryAfter: number | null }>((resolve) => {
      const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'image/jpeg', 'Content-Length': photo.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] ? Number(res.headers['retry-after']) : null }));
      });
      req.on('error', () => resolve({ status: 0, retryAfter: null }));
      req.end(photo);
    });

  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const { status, retryAfter } = await once();
      const ms = performance.now() - t0;
      if (status === 0) {
        connectionErrors++;
        continue;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) okMs.push(ms);
      if (status === 503) {
        if (retryAfter === null || !(retryAfter >= 1)) bare503++;
        // A well-behaved client waits as told (never past the end of the run).
        const wait = Math.min((retryAfter ?? 1) * 1000, end - performance.now());
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.clients }, client));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, peakRss(server.pid ?? 0));
  agent.destroy();
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
  okMs.sort((a, b) => a - b);
  return {
    cpu,
    statuses,
    bare503,
    connectionErrors,
    okLatencyMs: { p50: percentile(okMs, 50), p90: percentile(okMs, 90), p99: percentile(okMs, 99), max: okMs[okMs.length - 1] ?? Number.NaN },
    photosPerSecond: okMs.length / seconds,
    peakRssBytes: rssPeak,
    serverLine,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '60' },
      concurrency: { type: 'string' },
      'queue-size': { type: 'string' },
      width: { type: 'string', default: '640' },
      height: { type: 'string', default: '480' },
    },
  });
  const r = await runLoad({
    clients: Number(values.clients),
    seconds: Number(values.seconds),
    concurrency: values.concurrency ? Number(values.concurrency) : undefined,
    queueSize: values['queue-size'] !== undefined ? Number(values['queue-size']) : undefined,
    width: Number(values.width),
    height: Number(values.height),
  });
  console.log(r.cpu);
  console.log(r.serverLine);
  console.log(`${values.clients} clients × ${values.seconds} s, ${values.width}×${values.height} JPEG → JPEG`);
  console.log(`answers by status: ${JSON.stringify(r.statuses)}; 503 without Retry-After: ${r.bare503}; connection errors: ${r.connectionErrors}`);
  const l = r.okLatencyMs;
  console.log(
    `200s: ${r.photosPerSecond.toFixed(2)} photos/s; latency p50 ${l.p50.toFixed(0)} ms, p90 ${l.p90.toFixed(0)} ms, p99 ${l.p99.toFixed(0)} ms, max ${l.max.toFixed(0)} ms`,
  );
  console.log(`server peak RSS (VmHWM): ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MB`);
}
