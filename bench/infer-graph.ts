/**
 * Generator inference through predictUv: the tfjs path (wasm, one thread, with the oneDNN
 * convolution kernels) against the one-call native graph (src/backend/native-graph.ts),
 * interleaved batch by batch in one run so the shared machine's load hits both alike.
 *
 *   npx tsx bench/infer-graph.ts [--reps 5] [--batch 16] [--size 64] [--width W] [--archs unet,advanced,baseline]
 *
 * --width: a non-square grid size×W (unet only: the paper's models run at their training size).
 *
 * unet is the bundled general model (models/general); advanced and baseline are built
 * with a seed (same cost as trained ones). Prints the CPU, then per model the median
 * images/s of each path, its per-batch times and the ratio.
 */
import os from 'node:os';
import { arg, cpuLine, median } from './cli-util.js';
import { initBackend, describeBackend } from '../src/backend/node.js';
import { generatorGraphSupport } from '../src/backend/native-graph.js';
import { predictUv } from '../src/infer/generate.js';
import { setGeneratorRunner, type GeneratorRunner } from '../src/backend/generator-runner.js';
import { loadModel } from '../src/infer/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { DEFAULT_MODEL_CONFIG } from '../src/models/config.js';
import { gaussian, mulberry32 } from '../src/util/rng.js';

const reps = Number(arg('reps', '5'));
const n = Number(arg('batch', '16'));
const S = Number(arg('size', '64'));
const W = Number(arg('width', String(S)));
const archs = arg('archs', 'unet,advanced,baseline').split(',');

const info = await initBackend();
const runner = setGeneratorRunner(null);
setGeneratorRunner(runner);
console.log(cpuLine());
console.log(`backend: ${describeBackend(info)}`);
if (!runner) {
  console.log('no native graph (the oneDNN addon is not in use): nothing to compare');
  process.exit(0);
}
console.log(`generator inference, ${W}×${S}, batch ${n}: 2 warm-up + ${reps} timed batches per path, interleaved`);

for (const arch of archs) {
  const model = arch === 'unet' ? (await loadModel()).model : buildGenerator({ ...DEFAULT_MODEL_CONFIG, arch: arch as 'advanced' | 'baseline' }, { seed: 1 });
  const why = generatorGraphSupport(model);
  if (why) throw new Error(`${arch}: not run as a native graph: ${why}`);
  const zDim = model.inputs[1]!.shape[1]!;
  const rand = mulberry32(5);
  const ys = Array.from({ length: n }, () => Float32Array.from({ length: W * S }, () => rand() * 2 - 1));
  const zs = Array.from({ length: n }, (_, i) => gaussian(mulberry32(100 + i), zDim));
  const time = (r: GeneratorRunner | null) => {
    setGeneratorRunner(r);
    const t0 = performance.now();
    predictUv(model, { width: W, height: S }, ys, zs);
    return (performance.now() - t0) / 1000;
  };
  const tfjs: number[] = [];
  const graph: number[] = [];
  for (let i = 0; i < 2 + reps; i++) {
    const a = time(null);
    const b = time(runner);
    if (i >= 2) {
      tfjs.push(a);
      graph.push(b);
    }
  }
  setGeneratorRunner(runner);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ');
  const ti = n / median(tfjs);
  const gi = n / median(graph);
  console.log(`${arch}: tfjs path ${ti.toFixed(1)} img/s (batches ${fmt(tfjs)} s)`);
  console.log(`${arch}: native graph ${gi.toFixed(1)} img/s (batches ${fmt(graph)} s)`);
  console.log(`${arch}: native graph / tfjs path: ${(gi / ti).toFixed(2)}`);
}
console.log(`load average ${os.loadavg()[0]!.toFixed(2)} at the end`);
