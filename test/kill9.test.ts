/**
 * kill -9 at 10 random moments of a short training run (the CLI, as a user runs it),
 * each followed by --resume: the final generator and checkpoint are byte-equal to an
 * uninterrupted run's. Moments are drawn over the whole run, so they fall into steps,
 * validation, checkpoint writing and the final export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import { mulberry32 } from '../src/util/rng.js';

const ROOT = path.join(import.meta.dirname, '..');
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const ARGS = ['--data', FIXTURES, '--size', '16', '--ngf', '8', '--ndf', '8', '--batch', '2', '--epochs', '4', '--epoch-images', '16', '--seed', '4'];

function run(out: string, resume: boolean, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'colorgan.js'), 'train', ...ARGS, '--out', out, ...(resume ? ['--resume'] : [])], {
      cwd: ROOT,
      env: { ...process.env, COLORGAN_THREADS: '1', XDG_CACHE_HOME: path.join(out, '..', 'cache') },
      stdio: 'ignore',
    });
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - t0 });
    });
  });
}

test('kill -9 at 10 random moments, then --resume: final weights byte-equal to an uninterrupted run', { timeout: 600_000 }, async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-kill9-'));
  const ref = path.join(tmp, 'ref');
  const first = await run(ref, false);
  assert.equal(first.code, 0);
  const total = first.ms;
  // Rounds: a fresh run killed at random moments and resumed until it finishes, then
  // compared with the reference; rounds go on until 10 kills have landed.
  const rand = mulberry32(2026);
  let kills = 0;
  for (let round = 0; kills < 10 && round < 10; round++) {
    const out = path.join(tmp, `killed-${round}`);
    let started = false;
    for (;;) {
      const r = await run(out, started, Math.floor(rand() * total));
      started = true;
      if (r.signal === 'SIGKILL') kills++;
      else {
        assert.equal(r.code, 0);
        break;
      }
    }
    for (const f of [
      'generator/weights.bin',
      'generator/model.json',
      'generator-best/weights.bin',
      'checkpoints/epoch-0004/generator/weights.bin',
      'checkpoints/epoch-0004/discriminator/weights.bin',
      'checkpoints/epoch-0004/optimizer-g.bin',
      'checkpoints/epoch-0004/optimizer-d.bin',
    ]) {
      assert.deepEqual(await fs.readFile(path.join(out, f)), await fs.readFile(path.join(ref, f)), `round ${round}: ${f}`);
    }
    // Temp files of killed runs are removed by the next start; the finished run leaves none.
    const temps = (await fs.readdir(out, { recursive: true })).filter((f) => String(f).includes('.tmp'));
    assert.deepEqual(temps, [], `round ${round}: no temp files left`);
  }
  assert.ok(kills >= 10, `${kills} kills`);
  await fs.rm(tmp, { recursive: true, force: true });
});
