/**
 * The batch queue end to end, with a real redis-server on a free loopback port and real
 * `colorgan worker` processes: 300 photos and 3 bad inputs are enqueued (twice: the second
 * time adds nothing), 3 workers start, one is killed with SIGKILL in the middle of a job
 * and another stopped with SIGTERM, a replacement starts — and the end state is exactly
 * 300 valid outputs of the right sizes, no temp files, and a failed set holding exactly
 * the bad inputs with their reasons.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT, ensureDistBuilt, runCli } from './helpers.js';

const PHOTOS = 300;
let tmp: string;
let redis: ChildProcess;
let url: string;
const workers: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface WorkerProc {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
}

function startWorker(): WorkerProc {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/colorgan.js'), 'worker', '--redis', url, '--name', 'test', '--lock-seconds', '2', '--threads', '1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  workers.push(child);
  const lines: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) console.error(err);
      r(code);
    }),
  );
  return { child, lines, exit };
}

/** The jobs a worker has started and not yet finished, by what it printed. */
function heldJobs(lines: string[]): string[] {
  const held = new Set<string>();
  for (const l of lines) {
    const [word, id] = l.split(' ');
    if (word === 'start') held.add(id);
    else if (word === 'done' || word === 'skip' || word === 'failed' || word === 'retry') held.delete(id);
  }
  return [...held];
}

async function queueStatus(): Promise<{ waiting: number; active: number; delayed: number; completed: number; failed: number; total: number }> {
  const r = await runCli(['queue', 'status', '--redis', url, '--name', 'test', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.toString());
}

before(async () => {
  await ensureDistBuilt();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-queue-'));
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  url = `redis://127.0.0.1:${port}`;
  await waitFor(
    'redis-server',
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    10_000,
  );
  // 300 small photos of varied sizes in two folders, and three that can never work.
  const base = sharp(path.join(ROOT, 'examples/shine1-gray.jpg'));
  for (let i = 0; i < PHOTOS; i++) {
    const dir = path.join(tmp, 'in', i % 2 ? 'odd' : 'even');
    await fs.mkdir(dir, { recursive: true });
    await base
      .clone()
      .resize(48 + (i % 40), 40 + (i % 24), { fit: 'fill' })
      .jpeg()
      .toFile(path.join(dir, `p${i}.jpg`));
  }
  await fs.writeFile(path.join(tmp, 'in', 'bad-text.jpg'), 'this is not a photo');
  const jpeg = await fs.readFile(path.join(tmp, 'in', 'even', 'p0.jpg'));
  await fs.writeFile(path.join(tmp, 'in', 'bad-truncated.jpg'), jpeg.subarray(0, 200));
  await fs.writeFile(path.join(tmp, 'in', 'bad-empty.png'), '');
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  redis?.kill('SIGKILL');
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

test('300 photos over 3 workers, one SIGKILLed mid-job, one SIGTERMed, a replacement: exactly 300 valid outputs', async () => {
  const inDir = path.join(tmp, 'in');
  const outDir = path.join(tmp, 'out');
  const add = await runCli(['queue', 'add', inDir, '--out', outDir, '--redis', url, '--name', 'test']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout.toString(), /303 jobs added, 0 already queued/);
  const again = await runCli(['queue', 'add', inDir, '--out', outDir, '--redis', url, '--name', 'test']);
  assert.match(again.stdout.toString(), /0 jobs added, 303 already queued/, 'adding the same folder twice adds nothing');

  const [a, b, c] = [startWorker(), startWorker(), startWorker()];
  // Kill A with SIGKILL while it has a job in progress. A is frozen first (SIGSTOP) so that
  // what it printed tells exactly which jobs it holds: its small jobs take tens of
  // milliseconds, so a job seen starting may well be finished by the time a kill lands.
  await waitFor('worker A to have done some jobs', () => a.lines.filter((l) => l.startsWith('done ')).length >= 5);
  let inFlight: string[] = [];
  for (let tries = 0; inFlight.length === 0; tries++) {
    assert.ok(tries < 50, 'caught worker A holding a job');
    const seen = a.lines.length;
    await waitFor('worker A to start a job', () => a.lines.slice(seen).some((l) => l.startsWith('start ')));
    a.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 300)); // what A wrote before it stopped arrives
    inFlight = heldJobs(a.lines);
    if (inFlight.length === 0) a.child.kill('SIGCONT');
  }
  a.child.kill('SIGKILL');
  assert.equal(await a.exit, null, 'A died by its signal');

  // Stop B with SIGTERM in the middle of a job: it finishes that job and exits 0.
  const bBefore = b.lines.length;
  await waitFor('worker B to start a job', () => b.lines.slice(bBefore).some((l) => l.startsWith('start ')));
  b.child.kill('SIGTERM');
  assert.equal(await b.exit, 0, 'B stops cleanly on SIGTERM');
  const bStarted = b.lines
    .slice(bBefore)
    .find((l) => l.startsWith('start '))
    ?.split(' ')[1];
  assert.ok(
    b.lines.some((l) => (l.startsWith('done ') || l.startsWith('failed ') || l.startsWith('skip ')) && l.split(' ')[1] === bStarted),
    'B finished the job it had when SIGTERM came',
  );

  const d = startWorker();
  await waitFor(
    'the queue to drain',
    async () => {
      const s = await queueStatus();
      return s.completed + s.failed === PHOTOS + 3 && s.waiting + s.active + s.delayed === 0;
    },
    240_000,
  );
  for (const w of [c, d]) w.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([c.exit, d.exit]), [0, 0]);

  // The jobs A held when it died were done again by another worker.
  const others = [...b.lines, ...c.lines, ...d.lines];
  for (const id of inFlight) {
    assert.ok(
      others.some((l) => (l.startsWith('done ') || l.startsWith('skip ')) && l.split(' ')[1] === id),
      `the job A held (${id}) was finished by another worker`,
    );
  }

  // Exactly 300 outputs, each a valid PNG of its input's size; no temp files anywhere.
  const files = await walk(outDir);
  const temps = files.filter((f) => path.basename(f).endsWith('.tmp') || path.basename(f).startsWith('.'));
  assert.deepEqual(temps, [], 'no temp files left');
  assert.equal(files.length, PHOTOS);
  for (const f of files) {
    const rel = path.relative(outDir, f).replace(/\.png$/, '.jpg');
    const [inMeta, outMeta] = await Promise.all([sharp(path.join(inDir, rel)).metadata(), sharp(f).metadata()]);
    assert.deepEqual([outMeta.format, outMeta.width, outMeta.height], ['png', inMeta.width, inMeta.height], f);
    await sharp(f).raw().toBuffer(); // decodes whole: not truncated
  }

  // The failed set: exactly the three bad inputs, each with its reason.
  const failed = await runCli(['queue', 'failed', '--redis', url, '--name', 'test']);
  const lines = failed.stdout.toString().trim().split('\n').sort();
  assert.equal(lines.length, 3, failed.stdout.toString());
  assert.match(lines[0], /bad-empty\.png: empty file/);
  assert.match(lines[1], /bad-text\.jpg: not an image/);
  assert.match(lines[2], /bad-truncated\.jpg: truncated or corrupt JPEG/);
  const status = await queueStatus();
  assert.deepEqual([status.completed, status.failed], [PHOTOS, 3]);

  // retry puts them back; they fail again, for the same reasons, and nothing else changes.
  const retry = await runCli(['queue', 'retry', '--redis', url, '--name', 'test']);
  assert.match(retry.stdout.toString(), /3 failed jobs put back/);
  const e = startWorker();
  await waitFor('the retried jobs to fail again', async () => {
    const s = await queueStatus();
    return s.failed === 3 && s.waiting + s.active + s.delayed === 0;
  });
  e.child.kill('SIGTERM');
  assert.equal(await e.exit, 0);
  assert.equal((await walk(outDir)).length, PHOTOS);
});

test('queue commands: an unreachable Redis is one line, exit 1', async () => {
  const port = await freePort();
  const r = await runCli(['queue', 'status', '--redis', `redis://127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim(), /^colorgan queue: cannot reach Redis at 127\.0\.0\.1:\d+ \(connection refused\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const noModel = await runCli(['queue', 'add', ROOT, '--out', path.join(tmp, 'x'), '--model', path.join(tmp, 'no-such-model'), '--redis', url]);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /--model .*no-such-model: no such folder/);
  const bad = await runCli(['worker', '--redis', 'http://127.0.0.1:1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /expected a redis:\/\/ or rediss:\/\/ URL/);
});
