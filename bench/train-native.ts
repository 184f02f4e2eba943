/**
 * Training throughput with the native training kernels (batch norm in training mode, leaky
 * ReLU and their gradients: src/backend/native-train.ts) against the same step with those
 * ops on wasm (the oneDNN convolutions on in both), interleaved window by window in one
 * run so the shared machine's load hits both alike.
 *
 *   node --import tsx bench/train-native.ts [--windows 5] [--steps 2] [--batch 16] [--size 64] [--arch unet] [--profile]
 *
 * The default is the default model (unet, as `colorgan train` trains it: feature matching
 * 10). Prints the CPU, then the median images/s over the windows of each path, each
 * window's figure and the ratio; --profile first prints one step of each path by kernel.
 */
import os from 'node:os';
import { arg, cpuLine, median } from './cli-util.js';
import * as tf from '../src/util/tf.js';
import { initBackend, describeBackend } from '../src/backend/node.js';
import { setNativeTrainingKernels } from '../src/backend/native.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import { DEFAULT_MODEL_CONFIG, type Architecture } from '../src/models/config.js';
import { GanStep } from '../src/train/gan.js';
import { gaussian, mulberry32 } from '../src/util/rng.js';

const windows = Number(arg('windows', '5'));
const steps = Number(arg('steps', '2'));
const n = Number(arg('batch', '16'));
const S = Number(arg('size', '64'));
const arch = arg('arch', 'unet') as Architecture;

const info = await initBackend();
console.log(cpuLine());
console.log(`backend: ${describeBackend(info)}`);
if (!setNativeTrainingKernels(true)) {
  console.log('no native training kernels (the oneDNN addon is not in use, or COLORGAN_NATIVE_TRAIN=0): nothing to compare');
  process.exit(0);
}

const cfg = { ...DEFAULT_MODEL_CONFIG, arch, size: S };
const G = buildGenerator(cfg, { seed: 1 });
const D = buildDiscriminator(cfg, { seed: 1 });
const gan = new GanStep(G, D, S, cfg.zDim, { l1: 100, lr: 2e-4, beta1: 0.5, diversity: 0, featureMatch: arch === 'unet' ? 10 : 0 });
const r = mulberry32(1);
const batch = {
  n,
  y: new Float32Array(n * S * S).map(() => r() * 2 - 1),
  uv: new Float32Array(n * S * S * 2).map(() => r() - 0.5),
  z: gaussian(r, n * cfg.zDim),
};
const paths = { native: true, wasm: false };

async function profile(on: boolean): Promise<void> {
  setNativeTrainingKernels(on);
  const t0 = performance.now();
  const p = await tf.profile(() => void gan.step(batch));
  const wall = performance.now() - t0;
  const agg = new Map<string, { ms: number; calls: number }>();
  for (const k of p.kernels) {
    if (!tf.getKernel(k.name, 'wasm')) continue; // customGrad entries wrap the kernels they run
    const e = agg.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    agg.set(k.name, e);
  }
  const list = [...agg].sort((a, b) => b[1].ms - a[1].ms);
  const total = list.reduce((a, [, e]) => a + e.ms, 0);
  console.log(`\nprofile, ${on ? 'native training kernels' : 'wasm ops'}: sum of kernel times ${total.toFixed(0)} ms, wall ${wall.toFixed(0)} ms`);
  console.log('| kernel | calls | ms | % |\n|---|---:|---:|---:|');
  for (const [name, e] of list.slice(0, 14)) console.log(`| ${name} | ${e.calls} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / total).toFixed(1)} |`);
  const rest = list.slice(14).reduce((a, [, e]) => a + e.ms, 0);
  console.log(`| (${list.length - 14} others) | | ${rest.toFixed(1)} | ${((100 * rest) / total).toFixed(1)} |`);
}

console.log(`${arch}, ${S}×${S}, batch ${n}: 1 warm-up step per path, then ${windows} windows of ${steps} steps per path, interleaved`);
for (const on of Object.values(paths)) {
  setNativeTrainingKernels(on);
  gan.step(batch);
}
if (process.argv.includes('--profile')) for (const on of Object.values(paths)) await profile(on);

const imgS: Record<string, number[]> = { native: [], wasm: [] };
for (let w = 0; w < windows; w++) {
  // alternate which path goes first, so neither always follows the other
  const order = w % 2 ? (['wasm', 'native'] as const) : (['native', 'wasm'] as const);
  for (const name of order) {
    setNativeTrainingKernels(paths[name]);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) gan.step(batch);
    imgS[name]!.push((n * steps) / ((performance.now() - t0) / 1000));
  }
}
setNativeTrainingKernels(true);
console.log('');
for (const [name, xs] of Object.entries(imgS))
  console.log(`${name.padEnd(6)}: ${median(xs).toFixed(2)} img/s (windows: ${xs.map((x) => x.toFixed(2)).join(', ')})`);
console.log(`native / wasm: ${(median(imgS.native!) / median(imgS.wasm!)).toFixed(3)}`);
console.log(`load average at the end: ${os.loadavg()[0]!.toFixed(2)}`);
