/**
 * `npm run bench` — training and inference throughput of colorgan against a PyTorch
 * reference of the same networks, and the end-to-end time to colorize a 12 MP JPEG
 * against sharp alone. See bench/README.md.
 *
 *   node --import tsx bench/bench.ts [--quick] [--threads N] [--profile]
 *        [--no-reference] [--no-photo] [--batch 16]
 *
 * All comparisons are ratios of medians measured in the same run (the machine is
 * shared and noisy). The last three lines are machine-readable:
 *   train-ratio-vs-pytorch: X
 *   infer-ratio-vs-reference: Y
 *   photo-ratio-vs-sharp: Z
 */
import * as tf from '@tensorflow/tfjs';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { promises as fs, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { initBackend } from '../src/backend/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import { DEFAULT_MODEL_CONFIG, type Architecture, type ModelConfig } from '../src/models/config.js';
import { GanStep, type Batch } from '../src/train/gan.js';
import { predictUv } from '../src/infer/generate.js';
import { loadModel } from '../src/infer/node.js';
import { colorizeImage, type Colorizer } from '../src/infer/colorizer.js';
import { decodeImage, encodeImage } from '../src/data/decode.js';
import { generatorMetadata } from '../src/models/metadata.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PYTHON = '/usr/bin/python3';
const ARCHS: Architecture[] = ['baseline', 'advanced'];

// ---- options ---------------------------------------------------------------------------

interface Opts {
  quick: boolean;
  threads?: number;
  profile: boolean;
  reference: boolean;
  photo: boolean;
  batch: number;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { quick: false, profile: false, reference: true, photo: true, batch: 16 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-reference') o.reference = false;
    else if (a === '--no-photo') o.photo = false;
    else if (a === '--threads') o.threads = positiveInt(a, val());
    else if (a.startsWith('--threads=')) o.threads = positiveInt('--threads', a.slice(10));
    else if (a === '--batch') o.batch = positiveInt(a, val());
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--threads N] [--profile] [--no-reference] [--no-photo] [--batch 16]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function positiveInt(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${s}`);
  return n;
}

// ---- helpers ---------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const now = () => performance.now() / 1000;

function timeSync(fn: () => void): number {
  const t0 = now();
  fn();
  return now() - t0;
}

/** Median seconds of `reps` calls after `warmup` untimed ones. */
function medianSeconds(fn: () => void, warmup: number, reps: number): { med: number; all: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const all: number[] = [];
  for (let i = 0; i < reps; i++) all.push(timeSync(fn));
  return { med: median(all), all };
}

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

const f2 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const f1 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(1));
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || !(b > 0) ? null : a / b);

/** Uniform in [-1, 1) and standard normal, from a small deterministic generator. */
function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function trainableParams(m: tf.LayersModel): number {
  return m.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
}

// ---- ours: training and inference ------------------------------------------------------

interface OursResult {
  arch: Architecture;
  gParams: number;
  dParams: number;
  trainImgS: number;
  trainStepS: number[];
  inferImgS: number;
  inferBatchS: number[];
  profile?: { name: string; ms: number; calls: number }[];
  profileTotalMs?: number;
  profileWallMs?: number;
}

async function benchOurs(arch: Architecture, o: Opts): Promise<OursResult> {
  const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, arch };
  const S = cfg.size;
  const n = o.batch;
  const G = buildGenerator(cfg, { seed: 1 });
  const D = buildDiscriminator(cfg, { seed: 1 });
  const gan = new GanStep(G, D, S, cfg.zDim, { l1: 100, lr: 2e-4, beta1: 0.5, diversity: 0 });
  const batch: Batch = {
    y: randomData(n * S * S, 1),
    uv: randomData(n * S * S * 2, 2),
    z: randomData(n * cfg.zDim, 3),
    n,
  };
  const trainWarm = 2;
  const trainReps = o.quick ? 3 : 7;
  log(`ours ${arch}: ${trainWarm} warm-up + ${trainReps} timed training steps (batch ${n})…`);
  const tr = medianSeconds(() => void gan.step(batch), trainWarm, trainReps);

  let profile: OursResult['profile'];
  let profileTotalMs: number | undefined;
  let profileWallMs: number | undefined;
  if (o.profile && arch === 'advanced') {
    log(`ours ${arch}: profiling one training step…`);
    const t0 = now();
    const info = await tf.profile(() => {
      gan.step(batch);
    });
    profileWallMs = (now() - t0) * 1000;
    // customGrad ops (fused conv with bias/activation, our batch norm) are recorded as
    // entries of their own around the kernels they run: keep registered kernels only.
    const backend = tf.getBackend();
    const agg = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      if (!tf.getKernel(k.name, backend)) continue;
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = agg.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      agg.set(k.name, e);
    }
    profile = [...agg.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
    profileTotalMs = profile.reduce((a, e) => a + e.ms, 0);
  }

  // Inference at model size: the generator in inference mode through predictUv.
  const ys = Array.from({ length: n }, (_, i) => randomData(S * S, 100 + i));
  const zs = Array.from({ length: n }, (_, i) => randomData(cfg.zDim, 200 + i));
  const inferReps = o.quick ? 5 : 15;
  log(`ours ${arch}: inference, ${inferReps} timed batches…`);
  const inf = medianSeconds(() => void predictUv(G, S, ys, zs), 2, inferReps);

  const res: OursResult = {
    arch,
    gParams: trainableParams(G),
    dParams: trainableParams(D),
    trainImgS: n / tr.med,
    trainStepS: tr.all,
    inferImgS: n / inf.med,
    inferBatchS: inf.all,
    profile,
    profileTotalMs,
    profileWallMs,
  };
  gan.dispose();
  G.dispose();
  D.dispose();
  return res;
}

// ---- PyTorch reference -----------------------------------------------------------------

interface RefModel {
  generator_params: number;
  train_img_s: number;
  infer_img_s: number;
  onnx?: string;
  onnx_error?: string;
}

interface RefResult {
  torch: string;
  threads: number;
  mkldnn: boolean;
  blas: string | null;
  discriminator_params: number;
  models: Record<string, RefModel>;
}

function torchAvailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return `torch is not importable by ${PYTHON} (apt-get install -y python3-torch libopenblas0-openmp)`;
  return null;
}

function runReference(o: Opts, threads: number, onnxDir: string | null): Promise<RefResult> {
  const args = [
    path.join(HERE, 'reference.py'),
    '--threads', String(threads),
    '--batch', String(o.batch),
    '--steps', String(o.quick ? 3 : 7),
    '--warmup', '2',
    '--infer-reps', String(o.quick ? 5 : 15),
    '--size', String(DEFAULT_MODEL_CONFIG.size),
    '--ngf', String(DEFAULT_MODEL_CONFIG.ngf),
    '--ndf', String(DEFAULT_MODEL_CONFIG.ndf),
    '--zdim', String(DEFAULT_MODEL_CONFIG.zDim),
    '--bn-momentum', String(DEFAULT_MODEL_CONFIG.bnMomentum),
  ];
  if (onnxDir) args.push('--onnx-dir', onnxDir);
  log(`reference: ${PYTHON} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => {
      err += d;
      process.stderr.write(d);
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`reference.py exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch (e) {
        reject(new Error(`reference.py printed no JSON: ${String(e)}`));
      }
    });
  });
}

// ---- onnxruntime-node (optional) --------------------------------------------------------

/** The part of onnxruntime-node we use (declared here: the package is optional). */
interface OrtTensor {
  dims: readonly number[];
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: {
    create(
      file: string,
      opts: { intraOpNumThreads: number; interOpNumThreads: number; graphOptimizationLevel: 'all'; executionMode: 'sequential' },
    ): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }>;
  };
}

/** onnxruntime-node from the project, or from $COLORGAN_ORT_DIR / ~/.cache/colorgan-bench/ort. */
async function loadOrt(): Promise<Ort | null> {
  const dirs = [ROOT, process.env.COLORGAN_ORT_DIR, path.join(os.homedir(), '.cache', 'colorgan-bench', 'ort')].filter(Boolean) as string[];
  for (const d of dirs) {
    try {
      const req = createRequire(path.join(d, 'package.json'));
      const resolved = req.resolve('onnxruntime-node');
      const mod = (await import(resolved)) as Ort & { default?: Ort };
      return mod.InferenceSession ? mod : (mod.default ?? null);
    } catch {
      // try the next one
    }
  }
  return null;
}

async function benchOrt(ort: Ort, file: string, o: Opts, threads: number): Promise<number> {
  const S = DEFAULT_MODEL_CONFIG.size;
  const n = o.batch;
  const sess = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const feeds = {
    y: new ort.Tensor('float32', randomData(n * S * S, 5), [n, 1, S, S]),
    z: new ort.Tensor('float32', randomData(n * DEFAULT_MODEL_CONFIG.zDim, 6), [n, DEFAULT_MODEL_CONFIG.zDim]),
  };
  const reps = o.quick ? 5 : 15;
  for (let i = 0; i < 2; i++) await sess.run(feeds);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    const r = await sess.run(feeds);
    ts.push(now() - t0);
    if (r.uv.dims.join(',') !== `${n},2,${S},${S}`) throw new Error(`onnx output ${r.uv.dims.join('×')}`);
  }
  await sess.release();
  return n / median(ts);
}

// ---- 12 MP photo -------------------------------------------------------------------------

async function make12mp(): Promise<string> {
  const file = path.join(os.tmpdir(), 'colorgan-bench-12mp-q90.jpg');
  if (existsSync(file)) {
    const m = await sharp(file).metadata().catch(() => null);
    if (m?.width === 4000 && m?.height === 3000) return file;
  }
  const src = path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg');
  const tmp = `${file}.${process.pid}.tmp`;
  await sharp(src).resize(4000, 3000, { fit: 'fill', kernel: 'lanczos3' }).jpeg({ quality: 90 }).toFile(tmp);
  await fs.rename(tmp, file);
  return file;
}

async function photoColorizer(): Promise<{ c: Colorizer; what: string }> {
  try {
    const c = await loadModel();
    return { c, what: `bundled model (${c.meta.config.arch}, ${c.meta.config.size}px)` };
  } catch (e) {
    const config = DEFAULT_MODEL_CONFIG;
    return { c: { model: buildGenerator(config, { seed: 1 }), meta: generatorMetadata(config), source: '(untrained)' }, what: `untrained default model (bundled one: ${(e as Error).message})` };
  }
}

interface PhotoResult {
  oursS: number[];
  sharpS: number[];
  what: string;
  bytesOut: number;
}

async function benchPhoto(o: Opts): Promise<PhotoResult> {
  const file = await make12mp();
  const { c, what } = await photoColorizer();
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-bench-'));
  const oursOut = path.join(outDir, 'ours.jpg');
  const sharpOut = path.join(outDir, 'sharp.jpg');
  let bytesOut = 0;
  const ours = async () => {
    const t0 = now();
    const img = await decodeImage(file);
    const { rgb } = colorizeImage(c, img);
    const buf = await encodeImage(rgb, 'jpeg', { quality: 90 });
    await fs.writeFile(oursOut, buf);
    bytesOut = buf.length;
    return now() - t0;
  };
  const sharpOnly = async () => {
    const t0 = now();
    await sharp(file).jpeg({ quality: 90 }).toFile(sharpOut);
    return now() - t0;
  };
  const runs = o.quick ? 3 : 5;
  log(`12 MP photo: 1 warm-up + ${runs} interleaved runs each…`);
  await ours();
  await sharpOnly();
  const oursS: number[] = [];
  const sharpS: number[] = [];
  for (let i = 0; i < runs; i++) {
    oursS.push(await ours());
    sharpS.push(await sharpOnly());
  }
  await fs.rm(outDir, { recursive: true, force: true });
  return { oursS, sharpS, what, bytesOut };
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const info = await initBackend({ threads: o.threads });
  const threads = o.threads ?? Math.max(1, info.threads);
  log(`backend: ${info.name} (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})`);

  const ours: Record<string, OursResult> = {};
  for (const arch of ARCHS) ours[arch] = await benchOurs(arch, o);

  // Reference (PyTorch), and onnxruntime-node from the reference's ONNX export.
  let ref: RefResult | null = null;
  let refNote = '';
  let ortImgS: number | null = null;
  let ortNote = '';
  if (o.reference) {
    const why = torchAvailable();
    if (why) refNote = why;
    else {
      const ort = await loadOrt();
      const onnxDir = ort ? path.join(os.tmpdir(), `colorgan-bench-onnx-${process.pid}`) : null;
      if (onnxDir) mkdirSync(onnxDir, { recursive: true });
      try {
        ref = await runReference(o, threads, onnxDir);
      } catch (e) {
        refNote = (e as Error).message;
      }
      if (!ort) ortNote = 'onnxruntime-node not installed';
      else if (ref) {
        const m = ref.models.advanced;
        if (m?.onnx) {
          try {
            log('onnxruntime-node: advanced generator inference…');
            ortImgS = await benchOrt(ort, m.onnx, o, threads);
          } catch (e) {
            ortNote = `onnxruntime-node failed: ${(e as Error).message.split('\n')[0]}`;
          }
        } else ortNote = `ONNX export failed: ${m?.onnx_error ?? 'unknown'}`;
      }
      if (onnxDir) await fs.rm(onnxDir, { recursive: true, force: true });
    }
  } else refNote = 'skipped (--no-reference)';

  const photo = o.photo ? await benchPhoto(o) : null;

  // ---- report ----
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  p(`# colorgan benchmark${o.quick ? ' (--quick)' : ''}`);
  p();
  p(`node ${process.version}, ${os.cpus().length} logical cores, batch ${o.batch}, model ${DEFAULT_MODEL_CONFIG.size}px ngf ${DEFAULT_MODEL_CONFIG.ngf} ndf ${DEFAULT_MODEL_CONFIG.ndf} zDim ${DEFAULT_MODEL_CONFIG.zDim}`);
  p(`ours: tfjs ${tf.version.tfjs} backend ${info.name}${info.name === 'wasm' ? ` (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` : ''}`);
  if (ref) p(`reference: PyTorch ${ref.torch}, ${ref.threads} threads, mkldnn ${ref.mkldnn ? 'available' : 'not available'}, BLAS ${ref.blas ?? '?'}`);
  else p(`reference: n/a (${refNote})`);
  p();
  p('| path | training img/s | inference img/s |');
  p('|---|---:|---:|');
  const tname = `colorgan ${info.name}${info.name === 'wasm' ? ` ${info.threads}T` : ''}`;
  for (const arch of ARCHS) p(`| ${tname} ${arch} | ${f2(ours[arch].trainImgS)} | ${f1(ours[arch].inferImgS)} |`);
  for (const arch of ARCHS) {
    const m = ref?.models[arch];
    p(`| PyTorch${ref ? ` ${ref.torch} ${ref.threads}T` : ''} ${arch} | ${f2(m?.train_img_s)} | ${f1(m?.infer_img_s)} |`);
  }
  p(`| onnxruntime-node advanced (PyTorch export) | n/a | ${ortImgS == null ? `n/a` : f1(ortImgS)} |`);
  if (ortNote) p(`(onnxruntime: ${ortNote})`);
  p();
  p('Training = one full GAN step (G step + D step, Adam) per batch; inference = generator forward at model size (inference mode); medians.');
  const steps = ARCHS.map((a) => `${a} ${ours[a].trainStepS.map((s) => s.toFixed(2)).join(' ')}`).join('; ');
  p(`our training step times (s): ${steps}`);

  // Parameter counts must match, or the comparison is of different networks.
  for (const arch of ARCHS) {
    const m = ref?.models[arch];
    const same = m ? m.generator_params === ours[arch].gParams : null;
    p(`params ${arch}: G ours ${ours[arch].gParams}${m ? ` / PyTorch ${m.generator_params} ${same ? '(match)' : '(MISMATCH)'}` : ''}`);
  }
  if (ref) {
    const dOurs = ours.advanced.dParams;
    p(`params D: ours ${dOurs} / PyTorch ${ref.discriminator_params} ${dOurs === ref.discriminator_params ? '(match)' : '(MISMATCH)'}`);
  }

  let photoRatio: number | null = null;
  if (photo) {
    const a = median(photo.oursS);
    const b = median(photo.sharpS);
    photoRatio = a / b;
    p();
    p(`## 12 MP JPEG (4000×3000, quality 90), ${photo.what}`);
    p(`colorgan decode → colorize → encode JPEG q90 → file: median ${a.toFixed(3)} s  (runs ${photo.oursS.map((s) => s.toFixed(3)).join(' ')})`);
    p(`sharp decode → encode JPEG q90 → file:              median ${b.toFixed(3)} s  (runs ${photo.sharpS.map((s) => s.toFixed(3)).join(' ')})`);
  }

  const adv = ours.advanced;
  if (adv.profile) {
    p();
    p(`## Profile: one advanced training step by kernel (tf.profile; sum of kernel times ${adv.profileTotalMs!.toFixed(0)} ms, wall ${adv.profileWallMs!.toFixed(0)} ms with profiling overhead)`);
    p('| # | kernel | calls | ms | % |');
    p('|---:|---|---:|---:|---:|');
    adv.profile.slice(0, 12).forEach((k, i) => p(`| ${i + 1} | ${k.name} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / adv.profileTotalMs!).toFixed(1)} |`));
    const rest = adv.profile.slice(12);
    if (rest.length) {
      const ms = rest.reduce((x, k) => x + k.ms, 0);
      p(`| | ${rest.length} other kernels | ${rest.reduce((x, k) => x + k.calls, 0)} | ${ms.toFixed(1)} | ${((100 * ms) / adv.profileTotalMs!).toFixed(1)} |`);
    }
  }

  const trainRatio = ratio(adv.trainImgS, ref?.models.advanced?.train_img_s);
  const refInfer = [ref?.models.advanced?.infer_img_s, ortImgS].filter((x): x is number => x != null && x > 0);
  const bestRef = refInfer.length ? Math.max(...refInfer) : null;
  const bestRefName = bestRef == null ? 'n/a' : bestRef === ortImgS ? 'onnxruntime-node' : 'PyTorch';
  const inferRatio = ratio(adv.inferImgS, bestRef);
  p();
  p('## Ratios (ours / reference; >1 means we are faster; photo: our time / sharp time)');
  p(`training, advanced: ours ${f2(adv.trainImgS)} / PyTorch ${f2(ref?.models.advanced?.train_img_s)} img/s`);
  p(`inference, advanced: ours ${f1(adv.inferImgS)} / best reference ${f1(bestRef)} img/s (${bestRefName})`);
  p(`12 MP photo: ours ${photo ? median(photo.oursS).toFixed(3) : 'n/a'} s / sharp ${photo ? median(photo.sharpS).toFixed(3) : 'n/a'} s`);
  p(`train-ratio-vs-pytorch: ${f2(trainRatio)}`);
  p(`infer-ratio-vs-reference: ${f2(inferRatio)}`);
  p(`photo-ratio-vs-sharp: ${f2(photoRatio)}`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
