/**
 * Training runs you can trust after kills and damage: checkpoints carry checksums and a
 * damaged one is named and skipped, latest.json cannot point outside the run, an
 * interrupted final export is repaired on --resume, stale temp files are removed, the
 * run folder never becomes training data, and SIGINT/SIGTERM stop train and colorize
 * cleanly. Everything is made by the tests on tiny data.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import { initBackend } from '../src/backend/node.js';
import { train } from '../src/train/train.js';
import { findLatestCheckpoint, verifyCheckpoint, checkpointsDir } from '../src/train/checkpoint.js';

const ROOT = path.join(import.meta.dirname, '..');
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const tiny = { size: 16, ngf: 8, ndf: 8, zDim: 8, batch: 2, sampleRows: 2, model: 'advanced' as const, l1: 50, seed: 3 };
let tmp: string;
let base: string; // a finished 3-epoch run, copied by the tests that damage it

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-recovery-'));
  base = path.join(tmp, 'base');
  await train({ ...tiny, data: FIXTURES, out: base, epochs: 3, cacheDir: path.join(tmp, 'cache') });
});

async function copyRun(name: string): Promise<string> {
  const dst = path.join(tmp, name);
  await fs.cp(base, dst, { recursive: true });
  return dst;
}

const weights = (run: string, sub: string) => fs.readFile(path.join(run, sub, 'weights.bin'));

test('every checkpoint verifies; each kind of damage is named and the previous checkpoint is used', async () => {
  assert.equal(await verifyCheckpoint(path.join(checkpointsDir(base), 'epoch-0003')), null);
  const damages: [string, string, (f: string) => Promise<void>, RegExp][] = [
    [
      'zeroed',
      'generator/weights.bin',
      async (f) => {
        const b = await fs.readFile(f);
        b.fill(0, 100, 400);
        await fs.writeFile(f, b);
      },
      /generator\/weights\.bin: checksum mismatch \(corrupted\)/,
    ],
    [
      'random',
      'discriminator/weights.bin',
      async (f) => {
        const b = await fs.readFile(f);
        for (let i = 0; i < b.length; i += 7) b[i] = (i * 131) & 255;
        await fs.writeFile(f, b);
      },
      /discriminator\/weights\.bin: checksum mismatch/,
    ],
    ['truncated', 'optimizer-g.bin', async (f) => fs.truncate(f, 10), /optimizer-g\.bin: checksum mismatch/],
    ['garbage-state', 'state.json', async (f) => fs.writeFile(f, '{not json'), /state\.json: checksum mismatch/],
    ['missing', 'optimizer-d.json', async (f) => fs.rm(f), /optimizer-d\.json: missing/],
  ];
  for (const [name, file, damage, why] of damages) {
    const run = await copyRun(`damaged-${name}`);
    await damage(path.join(checkpointsDir(run), 'epoch-0003', file));
    const rejected: string[] = [];
    const dir = await findLatestCheckpoint(run, (_d, reason) => rejected.push(reason));
    assert.equal(dir, path.join(checkpointsDir(run), 'epoch-0002'), name);
    assert.equal(rejected.length, 1, name);
    assert.match(rejected[0], why);
    // Resume says so and continues from epoch 2 to the same final weights as the undamaged run.
    const logs: string[] = [];
    await train({ ...tiny, data: FIXTURES, out: run, epochs: 3, resume: true, cacheDir: path.join(tmp, 'cache') }, { log: (m) => logs.push(m) });
    assert.ok(
      logs.some((l) => /checkpoint not usable: .*trying the previous one/.test(l)),
      name,
    );
    assert.ok(
      logs.some((l) => /resuming from .*epoch-0002/.test(l)),
      name,
    );
    assert.deepEqual(await weights(run, 'generator'), await weights(base, 'generator'), `${name}: same final generator`);
  }
});

test('latest.json naming a folder outside the run is not followed', async () => {
  const run = await copyRun('escape');
  await fs.writeFile(path.join(checkpointsDir(run), 'latest.json'), JSON.stringify({ epoch: 9, dir: '../../base/checkpoints/epoch-0003' }));
  const rejected: string[] = [];
  const dir = await findLatestCheckpoint(run, (d, reason) => rejected.push(`${d}: ${reason}`));
  assert.equal(dir, path.join(checkpointsDir(run), 'epoch-0003'));
  assert.match(rejected[0], /latest\.json: names "\.\.\/\.\.\/base\/checkpoints\/epoch-0003", not a checkpoint folder of this run/);
});

test('an interrupted final export (generator/ still the previous epoch) is repaired by --resume', async () => {
  const run = await copyRun('stale-export');
  const ep2 = path.join(checkpointsDir(run), 'epoch-0002', 'generator');
  for (const f of ['model.json', 'weights.bin', 'colorgan.json']) await fs.copyFile(path.join(ep2, f), path.join(run, 'generator', f));
  assert.notDeepEqual(await weights(run, 'generator'), await weights(base, 'generator'));
  const logs: string[] = [];
  const res = await train({ ...tiny, data: FIXTURES, out: run, epochs: 3, resume: true, cacheDir: path.join(tmp, 'cache') }, { log: (m) => logs.push(m) });
  assert.equal(res.history.length, 3);
  assert.ok(logs.some((l) => /generator: did not hold the last checkpoint's generator/.test(l)));
  assert.deepEqual(await weights(run, 'generator'), await weights(base, 'generator'));
});

test('stale temp files and folders of killed runs are removed at start; live ones are kept', async () => {
  const run = await copyRun('temps');
  const dead = path.join(checkpointsDir(run), '.epoch-0004.999999999.1700000000000.0.tmp');
  await fs.mkdir(path.join(dead, 'generator'), { recursive: true });
  await fs.writeFile(path.join(dead, 'generator', 'weights.bin'), Buffer.alloc(1000));
  const deadFile = path.join(run, 'samples', '.latest.png.999999999.1700000000000.3.tmp');
  await fs.writeFile(deadFile, 'x');
  const live = path.join(run, `.losses.jsonl.${process.pid}.1700000000000.5.tmp`);
  await fs.writeFile(live, 'x');
  const logs: string[] = [];
  await train({ ...tiny, data: FIXTURES, out: run, epochs: 3, resume: true, cacheDir: path.join(tmp, 'cache') }, { log: (m) => logs.push(m) });
  await assert.rejects(fs.stat(dead));
  await assert.rejects(fs.stat(deadFile));
  await fs.stat(live); // its process (this one) is alive
  assert.equal(logs.filter((l) => l.startsWith('removed a stale temp file')).length, 2);
});

test('a run folder inside the data folder never becomes training data', async () => {
  const data = path.join(tmp, 'data-with-run');
  await fs.cp(FIXTURES, data, { recursive: true });
  const run = path.join(data, 'runs', 'r1');
  const logs: string[] = [];
  const opts = { ...tiny, data, out: run, cacheDir: path.join(tmp, 'cache') };
  await train({ ...opts, epochs: 1 }, { log: (m) => logs.push(m) });
  await train({ ...opts, epochs: 2, resume: true }, { log: (m) => logs.push(m) });
  const counts = logs.filter((l) => l.startsWith('data: ')).map((l) => /data: (\d+) photos/.exec(l)![1]);
  assert.deepEqual(counts, ['10', '10'], 'the sample grids of epoch 1 were not read as photos');
});

/** Run the CLI; `onLine(line, kill)` sees each stderr line; `onStart(kill)` gets the kill function at once. */
function cli(
  args: string[],
  onLine: (line: string, kill: (sig: NodeJS.Signals) => void) => void,
  onStart?: (kill: (sig: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'colorgan.js'), ...args], { cwd: ROOT, env: { ...process.env, COLORGAN_THREADS: '1' } });
    onStart?.((sig) => child.kill(sig));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const l of String(d).split('\n')) onLine(l, (sig) => child.kill(sig));
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

async function tempsUnder(dir: string): Promise<string[]> {
  const all = await fs.readdir(dir, { recursive: true });
  return all.filter((f) => /\.tmp(\.old)?$/.test(String(f))).map(String);
}

test('SIGINT stops training after the step, exit 130, checkpoint consistent; SIGTERM stops colorize, exit 143', async () => {
  const run = path.join(tmp, 'sigint');
  let sent = false;
  // Long epochs (--epoch-images): the signal must be noticed mid-epoch, between steps.
  const r = await cli(
    ['train', '--data', FIXTURES, '--out', run, '--size', '16', '--ngf', '8', '--ndf', '8', '--batch', '2', '--epochs', '3', '--epoch-images', '4000'],
    (line, kill) => {
      if (!sent && /^epoch 1: /.test(line)) {
        sent = true;
        setTimeout(() => kill('SIGINT'), 300);
      }
    },
  );
  assert.equal(r.code, 130, r.err);
  const m = /stopped by SIGINT at epoch 2, step (\d+); the last complete checkpoint is .*epoch-0001 \(--resume continues from it\)/.exec(r.err);
  assert.ok(m, r.err.slice(-500));
  assert.ok(Number(m[1]) < 2000, `stopped mid-epoch (step ${m[1]} of 2000)`);
  assert.deepEqual(await tempsUnder(run), []);
  assert.ok(await findLatestCheckpoint(run));

  // Colorize: many inputs, SIGTERM once the first output is written.
  const photos = path.join(tmp, 'sigterm-in');
  const out = path.join(tmp, 'sigterm-out');
  await fs.mkdir(photos, { recursive: true });
  const sharp = (await import('sharp')).default;
  const big = await sharp(path.join(FIXTURES, 'a', 'shine2.jpg'))
    .resize(2400, 1800)
    .jpeg()
    .toBuffer();
  await Promise.all(Array.from({ length: 60 }, (_, i) => fs.writeFile(path.join(photos, `p${String(i).padStart(2, '0')}.jpg`), big)));
  let killer: ((sig: NodeJS.Signals) => void) | null = null;
  const c = cli(
    ['colorize', photos, '--out', out],
    () => {},
    (kill) => (killer = kill),
  );
  const t0 = Date.now();
  let killed = false;
  while (!killed && Date.now() - t0 < 120_000) {
    const done = await fs.readdir(out).catch(() => [] as string[]);
    if (done.some((f) => f.endsWith('.png')) && killer) {
      (killer as (sig: NodeJS.Signals) => void)('SIGTERM');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const res = await c;
  assert.equal(res.code, 143, res.err);
  assert.match(res.out, /^stopped by SIGTERM \(\d+ not started\): \d+ written, 0 skipped \(exists\), 0 failed/m);
  assert.deepEqual(await tempsUnder(out), []);
  const written = (await fs.readdir(out)).filter((f) => f.endsWith('.png')).length;
  assert.ok(written >= 1 && written < 60, `${written} written`);
});
