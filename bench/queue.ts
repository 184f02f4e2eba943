/**
 * The batch queue's throughput on this machine: a redis-server of its own on a free
 * loopback port, N photos colorized by 1, 2 and 4 `colorgan worker` processes (each with
 * the cores shared out), timed from the first job started to the queue drained; then the
 * job rate Redis + BullMQ sustain with no-op jobs (what bounds a fleet of workers), and
 * Redis memory per kept job.
 *
 *   node --import tsx bench/queue.ts [--photos 200] [--width 640 --height 480] [--noop 20000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { addJobs, connectionOf, openQueue } from '../src/queue/jobs.js';
import { cpuLine } from './cli-util.js';

const ROOT = path.resolve(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

async function usedMemory(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('memory');
  client.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '200' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    noop: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '1,2,4' },
  },
});
const N = Number(values.photos);
const cores = os.availableParallelism();
console.log(cpuLine());
console.log(`${N} photos ${values.width}×${values.height} JPEG → PNG`);

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-qbench-'));
const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
await until(
  () =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    }),
);
try {
  const base = sharp(path.join(ROOT, 'examples/shine1-gray.jpg'));
  const inputs: string[] = [];
  for (let i = 0; i < N; i++) {
    const f = path.join(tmp, 'in', `p${i}.jpg`);
    await fs.mkdir(path.dirname(f), { recursive: true });
    await base.clone().resize(Number(values.width), Number(values.height), { fit: 'fill' }).jpeg().toFile(f);
    inputs.push(f);
  }

  for (const w of values.workers.split(',').map(Number)) {
    const name = `bench${w}`;
    const queue = openQueue(url, name);
    const memBefore = await usedMemory(url);
    const out = path.join(tmp, `out${w}`);
    await addJobs(
      queue,
      inputs.map((input, i) => ({ input, outputs: [path.join(out, `p${i}.png`)], options: { format: 'png', seed: 0 } })),
    );
    // Each worker gets its share of the cores as colorize threads of one compute thread each.
    const concurrency = Math.max(1, Math.floor(cores / w));
    let first = 0;
    const procs: ChildProcess[] = [];
    for (let k = 0; k < w; k++) {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'bin/colorgan.js'), 'worker', '--redis', url, '--name', name, '--concurrency', String(concurrency), '--threads', '1'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      child.stdout?.on('data', (d: Buffer) => {
        if (!first && d.includes('start ')) first = performance.now();
      });
      procs.push(child);
    }
    await until(async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return (c.completed ?? 0) + (c.failed ?? 0) === N;
    });
    const secs = (performance.now() - first) / 1000;
    const memPerJob = ((await usedMemory(url)) - memBefore) / N;
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((r) => {
            p.once('exit', r);
            p.kill('SIGTERM');
          }),
      ),
    );
    console.log(
      `${w} worker${w > 1 ? 's' : ' '} × concurrency ${concurrency}: ${(N / secs).toFixed(2)} photos/s (${secs.toFixed(1)} s; Redis ≈ ${(memPerJob / 1024).toFixed(1)} kB per kept job)`,
    );
    await queue.obliterate({ force: true });
    await queue.close();
  }

  // No-op jobs: the rate Redis and BullMQ sustain, with the workers' own overhead only.
  const M = Number(values.noop);
  const q = new Queue('noop', { connection: connectionOf(url) });
  const t0 = performance.now();
  for (let i = 0; i < M; i += 1000)
    await q.addBulk(Array.from({ length: Math.min(1000, M - i) }, (_, k) => ({ name: 'n', data: { i: i + k }, opts: { removeOnComplete: true } })));
  const addRate = M / ((performance.now() - t0) / 1000);
  let done = 0;
  const t1 = performance.now();
  const workers = [0, 1].map(() => new Worker('noop', async () => void done++, { connection: connectionOf(url), concurrency: 100 }));
  await until(async () => done >= M);
  const runRate = M / ((performance.now() - t1) / 1000);
  await Promise.all(workers.map((w) => w.close()));
  await q.close();
  console.log(`no-op jobs: added ${addRate.toFixed(0)}/s (addBulk of 1000), processed ${runRate.toFixed(0)}/s (2 workers × concurrency 100, one process)`);
} finally {
  redis.kill('SIGKILL');
  await fs.rm(tmp, { recursive: true, force: true });
}
