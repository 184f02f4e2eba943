/**
 * Threaded wasm in Node: a child process that initializes with threads=2 must really run
 * 2 XNNPACK threads, compute the same conv as the cpu backend, and exit on its own.
 * With the oneDNN addon built, wasm runs one thread and the addon gets them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nodeTs = pathToFileURL(path.join(root, 'src', 'backend', 'node.ts')).href;
const tfTs = pathToFileURL(path.join(root, 'src', 'util', 'tf.ts')).href;

/** Child process with `threads`; the native addon off unless `native` (these test wasm's own threads). */
function runChild(threads: number, native = false): { status: number | null; out: Record<string, unknown>; stderr: string } {
  const code = `
    const tf = await import(${JSON.stringify(tfTs)});
    const { initBackend } = await import(${JSON.stringify(nodeTs)});
    const info = await initBackend(${threads > 0 ? `{ threads: ${threads} }` : '{}'});
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const x = tf.randomNormal([2, 17, 13, 8], 0, 1, 'float32', 1);
    const f = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 2);
    const xv = await x.data(), fv = await f.data();
    const yw = await tf.conv2d(x, f, 1, 'same').data();
    await tf.setBackend('cpu');
    const yc = await tf.conv2d(tf.tensor4d(xv, [2, 17, 13, 8]), tf.tensor4d(fv, [3, 3, 8, 16]), 1, 'same').data();
    let num = 0, den = 0;
    for (let i = 0; i < yc.length; i++) { num += (yw[i] - yc[i]) ** 2; den += yc[i] ** 2; }
    const pthreads = !!tf.findBackend('wasm').wasm.PThread; // threaded build only
    console.log(JSON.stringify({ info, actual: wasm.getThreadsCount(), pthreads, relErr: Math.sqrt(num / den) }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, COLORGAN_NATIVE: native ? '1' : '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  let out: Record<string, unknown> = {};
  try {
    out = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // leave empty: the asserts below report stdout/stderr
  }
  return { status: r.status, out, stderr: r.stderr + r.stdout };
}

test('threads=2: 2 XNNPACK threads, conv equals cpu, process exits by itself', () => {
  const r = runChild(2);
  assert.equal(r.status, 0, `child exit status ${r.status} (null = killed by timeout: hang)\n${r.stderr}`);
  const info = r.out.info as { name: string; threads: number };
  assert.equal(info.name, 'wasm');
  assert.equal(info.threads, 2);
  assert.equal(r.out.actual, 2);
  assert.equal(r.out.pthreads, true, 'threaded-SIMD build');
  assert.ok((r.out.relErr as number) < 1e-5, `relErr ${r.out.relErr}`);
});

test('threads=1: non-threaded build, exits by itself', () => {
  const r = runChild(1);
  assert.equal(r.status, 0, r.stderr);
  const info = r.out.info as { threads: number };
  assert.equal(info.threads, 1);
  assert.equal(r.out.pthreads, false, 'non-threaded SIMD build');
  assert.ok((r.out.relErr as number) < 1e-5);
});

test('default threads = all cores (capped at 8)', { skip: os.availableParallelism() < 2 }, () => {
  const r = runChild(0);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.out.info as { threads: number }).threads, Math.min(8, os.availableParallelism()));
});

test('with the oneDNN addon: wasm 1 thread, the convolutions all cores', {
  skip: !existsSync(path.join(root, 'native', 'build', 'colorgan_dnnl.node')) && 'colorgan_dnnl not built',
}, () => {
  const r = runChild(0, true);
  assert.equal(r.status, 0, r.stderr);
  const info = r.out.info as { threads: number; native?: string; nativeThreads?: number };
  assert.equal(info.threads, 1);
  assert.match(info.native ?? '', /^\d+\.\d+/);
  assert.equal(info.nativeThreads, os.availableParallelism());
  assert.ok((r.out.relErr as number) < 1e-5, `relErr ${r.out.relErr}`);
});
