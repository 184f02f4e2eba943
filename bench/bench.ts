/**
 * `npm run bench` — training and inference throughput of colorgan against a PyTorch
 * reference of the same networks, and the end-to-end time to colorize a 12 MP JPEG
 * against sharp alone. See bench/README.md.
 *
 *   node --import tsx bench/bench.ts [--quick] [--threads N] [--profile]
 *        [--no-reference] [--no-photo] [--photo-only] [--batch 16]
 *
 * Generators measured: the paper's baseline and advanced, and our unet (trained, as its
 * training runs do, with the feature-matching loss).
 *
 * All comparisons are ratios of medians measured in the same run (the machine is
 * shared and noisy). The last three lines are machine-readable (advanced model):
 *   train-ratio-vs-pytorch: X
 *   infer-ratio-vs-reference: Y
 *   photo-ratio-vs-sharp: Z
 * and just before them, the same two ratios for unet:
 *   unet-train-ratio-vs-pytorch: X
 *   unet-infer-ratio-vs-reference: Y
 */
import * as tf from '../src/util/tf.js';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { initBackend, describeBackend, type BackendInfo } from '../src/backend/node.js';
import { buildGenerator } from '../src/models/generator.js';
import { buildDiscriminator } from '../src/models/discriminator.js';
import { DEFAULT_MODEL_CONFIG, type Architecture, type ModelConfig } from '../src/models/config.js';
import { GanStep, type Batch } from '../src/train/gan.js';
import { predictUv } from '../src/infer/generate.js';
import { loadModel, colorize, planColorize } from '../src/infer/node.js';
import type { ColorizePlan } from '../src/infer/plan.js';
import type { GeneratorModel } from '../src/infer/colorizer.js';
import { generatorMetadata } from '../src/models/metadata.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { mulberry32 } from '../src/util/rng.js';
import { cpuLine } from './cli-util.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PYTHON = '/usr/bin/python3';
const ARCHS: Architecture[] = ['baseline', 'advanced', 'unet'];
/** Generators whose PyTorch export onnxruntime-node also runs. */
const ORT_ARCHS: Architecture[] = ['advanced', 'unet'];
/** Feature-matching weight φ of each generator's training step (GanHyper.featureMatch; 0 = off). */
const FEATURE_MATCH: Partial<Record<Architecture, number>> = { unet: 10 };

// ---- options ---------------------------------------------------------------------------

interface Opts {
  quick: boolean;
  threads?: number;
  profile: boolean;
  reference: boolean;
  photo: boolean;
  /** Only the 12 MP photo (no training or inference runs): its section and ratio lines. */
  photoOnly: boolean;
  batch: number;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { quick: false, profile: false, reference: true, photo: true, photoOnly: false, batch: 16 };
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
    else if (a === '--photo-only') o.photoOnly = true;
    else if (a === '--threads') o.threads = positiveInt(a, val());
    else if (a.startsWith('--threads=')) o.threads = positiveInt('--threads', a.slice(10));
    else if (a === '--batch') o.batch = positiveInt(a, val());
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--threads N] [--profile] [--no-reference] [--no-photo] [--photo-only] [--batch 16]');
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

/**
 * A pause before each timed run: the runtimes' thread pools spin-wait for a while after
 * their work (libgomp, onnxruntime), and a pool still spinning on both cores takes ~30%
 * from whichever runtime is timed next (ours unet: 0.10 s a batch interleaved, 0.07 s
 * alone). Interleaving keeps the machine's own load fair to all; the pause keeps one
 * runtime's idle threads out of the next one's time.
 */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 50);
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

function timeSync(fn: () => void): number {
  const t0 = now();
  fn();
  return now() - t0;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const f2 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const f1 = (x: number | null | undefined) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toFixed(1));
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || !(b > 0) ? null : a / b);

/** Uniform in [-1, 1), deterministic (mulberry32). */
function randomData(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
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

interface RefModel {
  generator_params: number;
  train_img_s: number;
  train_steps_s: number[];
  infer_img_s: number;
  infer_batches_s: number[];
}

interface RefInfo {
  torch: string;
  threads: number;
  mkldnn: boolean;
  blas: string | null;
  blas_loaded?: string[];
  discriminator_params: number;
}

interface ArchResult {
  ours: OursResult;
  ref?: RefModel;
  refError?: string;
  ortImgS?: number;
  ortBatchS?: number[];
  ortNote?: string;
}

/**
 * One architecture's use of the PyTorch reference server: set up for `arch`, then timed
 * commands. The first failure turns it off for this architecture and is kept as `error`.
 */
class RefSession {
  ok: boolean;
  error?: string;
  generatorParams = 0;

  private constructor(readonly server: RefServer | null) {
    this.ok = server != null;
  }

  static async setup(server: RefServer | null, arch: Architecture, featureMatch: number): Promise<RefSession> {
    const s = new RefSession(server);
    if (!server) return s;
    try {
      const r = await server.call({ cmd: 'setup', arch, feature_match: featureMatch });
      if (r.error) throw new Error(String(r.error));
      if (r.feature_match !== featureMatch) throw new Error(`reference set up with feature matching ${String(r.feature_match)}, ours ${featureMatch}`);
      s.generatorParams = r.generator_params as number;
    } catch (e) {
      s.fail(e);
    }
    return s;
  }

  /** Run a timed command; its times in seconds ([] once the session is off). */
  async times(cmd: Record<string, unknown>): Promise<number[]> {
    if (!this.ok || !this.server) return [];
    try {
      const r = await this.server.call(cmd);
      if (r.error) throw new Error(String(r.error));
      return (r.times as number[] | undefined) ?? [];
    } catch (e) {
      this.fail(e);
      return [];
    }
  }

  private fail(e: unknown): void {
    this.ok = false;
    this.error = (e as Error).message;
  }
}

type Profile = Pick<OursResult, 'profile' | 'profileTotalMs' | 'profileWallMs'>;

/** One training step under tf.profile, aggregated by kernel, most time first. */
async function profileStep(gan: GanStep, batch: Batch): Promise<Profile> {
  const t0 = now();
  const info = await tf.profile(() => {
    gan.step(batch);
  });
  const profileWallMs = (now() - t0) * 1000;
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
  const profile = [...agg.entries()].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { profile, profileTotalMs: profile.reduce((a, e) => a + e.ms, 0), profileWallMs };
}

interface OrtRunner {
  /** One timed inference batch (seconds). */
  run(): Promise<number>;
  release(): Promise<void>;
}

/**
 * onnxruntime-node on the reference's ONNX export of `arch`'s generator, or why not. The
 * export is traced at a fixed shape (batch n, S×S: no dynamic axes), which is what we
 * time — for the fully convolutional unet too (other sizes would need a re-export).
 */
async function ortRunner(ort: Ort | null, ref: RefSession, cfg: ModelConfig, n: number, threads: number): Promise<{ runner: OrtRunner | null; note?: string }> {
  if (!ort) return { runner: null, note: 'onnxruntime-node not installed' };
  if (!ref.ok || !ref.server) return { runner: null, note: 'needs the PyTorch reference for the ONNX export' };
  const S = cfg.size;
  const file = path.join(os.tmpdir(), `colorgan-bench-${process.pid}-${cfg.arch}.onnx`);
  try {
    const r = await ref.server.call({ cmd: 'onnx', arch: cfg.arch, path: file });
    if (!r.onnx) throw new Error(`ONNX export failed: ${String(r.onnx_error ?? r.error)}`);
    const sess = await ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
    const feeds = {
      y: new ort.Tensor('float32', randomData(n * S * S, 5), [n, 1, S, S]),
      z: new ort.Tensor('float32', randomData(n * cfg.zDim, 6), [n, cfg.zDim]),
    };
    const run = async () => {
      const t0 = now();
      const out = await sess.run(feeds);
      const t = now() - t0;
      if (out.uv.dims.join(',') !== `${n},2,${S},${S}`) throw new Error(`ONNX output ${out.uv.dims.join('×')}`);
      return t;
    };
    const release = async () => {
      await sess.release();
      await fs.rm(file, { force: true });
    };
    return { runner: { run, release } };
  } catch (e) {
    await fs.rm(file, { force: true });
    return { runner: null, note: (e as Error).message.split('\n')[0] };
  }
}

/**
 * One architecture: ours, the PyTorch reference and (ORT_ARCHS) onnxruntime-node,
 * measured interleaved — one timed training step of ours, one of PyTorch, one of ours…,
 * then likewise for inference batches — so load from other processes hits all of them.
 */
async function benchArch(arch: Architecture, o: Opts, server: RefServer | null, ort: Ort | null, threads: number): Promise<ArchResult> {
  const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, arch };
  const S = cfg.size;
  const n = o.batch;
  const G = buildGenerator(cfg, { seed: 1 });
  const D = buildDiscriminator(cfg, { seed: 1 });
  const featureMatch = FEATURE_MATCH[arch] ?? 0;
  const gan = new GanStep(G, D, S, cfg.zDim, { l1: 100, lr: 2e-4, beta1: 0.5, diversity: 0, featureMatch });
  const batch: Batch = {
    y: randomData(n * S * S, 1),
    uv: randomData(n * S * S * 2, 2),
    z: randomData(n * cfg.zDim, 3),
    n,
  };
  const res: Partial<ArchResult> = {};
  const ref = await RefSession.setup(server, arch, featureMatch);

  // Training: 2 warm-up steps each, then interleaved timed steps.
  const trainReps = o.quick ? 3 : 7;
  log(
    `${arch}: training${featureMatch > 0 ? ` (feature matching ${featureMatch})` : ''}, 2 warm-up + ${trainReps} timed steps each (batch ${n}), ours/PyTorch interleaved…`,
  );
  for (let i = 0; i < 2; i++) gan.step(batch);
  await ref.times({ cmd: 'train', arch, n: 2 });
  const oursTrain: number[] = [];
  const refTrain: number[] = [];
  for (let i = 0; i < trainReps; i++) {
    await settle();
    oursTrain.push(timeSync(() => void gan.step(batch)));
    await settle();
    refTrain.push(...(await ref.times({ cmd: 'train', arch, n: 1 })));
  }

  let profile: Profile = {};
  if (o.profile && arch === 'advanced') {
    log(`${arch}: profiling one training step…`);
    profile = await profileStep(gan, batch);
  }

  // Inference at model size: the generator in inference mode through predictUv;
  // onnxruntime-node runs the reference's ONNX export of the same generator.
  let ortRun: OrtRunner | null = null;
  if (ORT_ARCHS.includes(arch)) {
    const made = await ortRunner(ort, ref, cfg, n, threads);
    ortRun = made.runner;
    if (made.note) res.ortNote = made.note;
  }
  const release = ortRun?.release;
  const ys = Array.from({ length: n }, (_, i) => randomData(S * S, 100 + i));
  const zs = Array.from({ length: n }, (_, i) => randomData(cfg.zDim, 200 + i));
  const inferReps = o.quick ? 5 : 15;
  log(`${arch}: inference, 2 warm-up + ${inferReps} timed batches each, interleaved…`);
  const oursInfer: number[] = [];
  const refInfer: number[] = [];
  const ortInfer: number[] = [];
  for (let i = 0; i < 2 + inferReps; i++) {
    await settle();
    const t = timeSync(() => void predictUv(G, S, ys, zs));
    await settle();
    const r = await ref.times({ cmd: 'infer', arch, n: 1 });
    let to: number | null = null;
    if (ortRun) {
      try {
        await settle();
        to = await ortRun.run();
      } catch (e) {
        res.ortNote = (e as Error).message.split('\n')[0];
        ortRun = null;
      }
    }
    if (i < 2) continue;
    oursInfer.push(t);
    refInfer.push(...r);
    if (to != null) ortInfer.push(to);
  }
  await release?.();

  res.ours = {
    arch,
    gParams: trainableParams(G),
    dParams: trainableParams(D),
    trainImgS: n / median(oursTrain),
    trainStepS: oursTrain,
    inferImgS: n / median(oursInfer),
    inferBatchS: oursInfer,
    ...profile,
  };
  if (ref.error !== undefined) res.refError = ref.error;
  if (ref.ok && refTrain.length && refInfer.length) {
    res.ref = {
      generator_params: ref.generatorParams,
      train_img_s: n / median(refTrain),
      train_steps_s: refTrain,
      infer_img_s: n / median(refInfer),
      infer_batches_s: refInfer,
    };
  }
  if (ortRun && ortInfer.length) {
    res.ortImgS = n / median(ortInfer);
    res.ortBatchS = ortInfer;
  }
  gan.dispose();
  G.dispose();
  D.dispose();
  return res as ArchResult;
}

// ---- PyTorch reference (bench/reference.py --serve) ----------------------------------------

function torchAvailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return `torch is not importable by ${PYTHON} (apt-get install -y python3-torch libopenblas0-openmp)`;
  return null;
}

/** reference.py in serve mode: one JSON command a line, one JSON answer a line. */
class RefServer {
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  private lines: string[] = [];
  private dead: Error | null = null;
  private stderrTail = '';

  private constructor(private readonly p: ChildProcessWithoutNullStreams) {
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-2000);
    });
    const fail = (why: string) => {
      this.dead = new Error(`reference.py ${why}: ${this.stderrTail.trim().split('\n').slice(-2).join(' | ')}`);
      for (const w of this.waiting.splice(0)) w('');
    };
    p.on('error', (e) => fail(e.message));
    p.on('exit', (code) => fail(`exited with ${code}`));
  }

  static start(o: Opts, threads: number): RefServer {
    const args = [
      path.join(HERE, 'reference.py'),
      '--serve',
      '--threads',
      String(threads),
      '--batch',
      String(o.batch),
      '--size',
      String(DEFAULT_MODEL_CONFIG.size),
      '--ngf',
      String(DEFAULT_MODEL_CONFIG.ngf),
      '--ndf',
      String(DEFAULT_MODEL_CONFIG.ndf),
      '--zdim',
      String(DEFAULT_MODEL_CONFIG.zDim),
      '--bn-momentum',
      String(DEFAULT_MODEL_CONFIG.bnMomentum),
    ];
    log(`reference: ${PYTHON} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
    const p = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
    return new RefServer(p);
  }

  async call(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.dead) throw this.dead;
    this.p.stdin.write(`${JSON.stringify(cmd)}\n`);
    const line = this.lines.shift() ?? (await new Promise<string>((r) => this.waiting.push(r)));
    if (this.dead && !line) throw this.dead;
    return JSON.parse(line) as Record<string, unknown>;
  }

  stop(): void {
    if (!this.dead) this.p.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
  }
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

// ---- 12 MP photo -------------------------------------------------------------------------

async function make12mp(): Promise<string> {
  const file = path.join(os.tmpdir(), 'colorgan-bench-12mp-q90.jpg');
  if (existsSync(file)) {
    const m = await sharp(file)
      .metadata()
      .catch(() => null);
    if (m?.width === 4000 && m?.height === 3000) return file;
  }
  const src = path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg');
  await writeFileAtomic(file, await sharp(src).resize(4000, 3000, { fit: 'fill', kernel: 'lanczos3' }).jpeg({ quality: 90 }).toBuffer());
  return file;
}

async function photoColorizer(): Promise<{ c: GeneratorModel; what: string }> {
  try {
    const c = await loadModel();
    return { c, what: `bundled model (${c.meta.config.arch}, ${c.meta.config.size}px)` };
  } catch (e) {
    const config = DEFAULT_MODEL_CONFIG;
    return {
      c: { model: buildGenerator(config, { seed: 1 }), meta: generatorMetadata(config), source: '(untrained)' },
      what: `untrained default model (bundled one: ${(e as Error).message})`,
    };
  }
}

/** One output format of the 12 MP photo: our colorize vs sharp's own conversion of it. */
interface PhotoFormat {
  oursS: number[];
  sharpS: number[];
  /** The way our colorize took (plan.ts), in words. */
  way: string;
}

interface PhotoResult {
  what: string;
  jpeg: PhotoFormat;
  png: PhotoFormat;
}

const WAYS: Record<ColorizePlan['kind'], string> = {
  dct: 'JPEG → JPEG in the DCT domain (colorgan_jpeg)',
  vips: 'one libvips pipeline, decode → colorize → encode (colorgan_vips)',
  general: 'general path (decode, colorize, encode)',
};

async function benchPhoto(o: Opts): Promise<PhotoResult> {
  const file = await make12mp();
  const { c, what } = await photoColorizer();
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-bench-'));
  const formats = ['jpeg', 'png'] as const;
  // The library call the CLI makes (streaming for large JPEGs where an addon is built), vs
  // sharp's own decode → encode to the same format at its defaults, both to a file.
  const ours = async (format: (typeof formats)[number]) => {
    const t0 = now();
    const buf = await colorize(file, { model: c, format, quality: 90 });
    await fs.writeFile(path.join(outDir, `ours.${format}`), buf);
    return now() - t0;
  };
  const theirs = async (format: (typeof formats)[number]) => {
    const t0 = now();
    const s = sharp(file);
    await (format === 'jpeg' ? s.jpeg({ quality: 90 }) : s.png()).toFile(path.join(outDir, `sharp.${format}`));
    return now() - t0;
  };
  const runs = o.quick ? 3 : 7;
  log(`12 MP photo → JPEG and → PNG: 1 warm-up + ${runs} interleaved runs each…`);
  const result = { what } as PhotoResult;
  for (const format of formats) {
    const { plan } = await planColorize(file, 1, { model: c, format, quality: 90 });
    result[format] = { oursS: [], sharpS: [], way: WAYS[plan.kind] };
    await ours(format);
    await theirs(format);
  }
  for (let i = 0; i < runs; i++) {
    for (const format of formats) {
      await settle();
      result[format].oursS.push(await ours(format));
      await settle();
      result[format].sharpS.push(await theirs(format));
    }
  }
  await fs.rm(outDir, { recursive: true, force: true });
  return result;
}

// ---- report ------------------------------------------------------------------------------

/** Everything a run measured, for the report. */
interface Run {
  o: Opts;
  /** cpuLine() taken before the runs (its load average is the machine's before we loaded it). */
  machine: string;
  info: BackendInfo;
  ref: RefInfo | null;
  refNote: string;
  results: Record<string, ArchResult>;
  photo: PhotoResult | null;
}

/** Set-up, the throughput table, step and batch times, parameter counts. */
function summarySection({ o, machine, info, ref, refNote, results }: Run): string[] {
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  const ours = (a: Architecture) => results[a].ours;
  p(`# colorgan benchmark${o.quick ? ' (--quick)' : ''}`);
  p();
  p(
    `node ${process.version}, batch ${o.batch}, model ${DEFAULT_MODEL_CONFIG.size}px ngf ${DEFAULT_MODEL_CONFIG.ngf} ndf ${DEFAULT_MODEL_CONFIG.ndf} zDim ${DEFAULT_MODEL_CONFIG.zDim}`,
  );
  p(machine);
  p(`ours: tfjs ${tf.version_core} backend ${describeBackend(info)}`);
  if (ref) {
    const blas = ref.blas_loaded?.find((l) => /openblas[^/]*\.so/.test(l)) ?? ref.blas_loaded?.[0] ?? ref.blas ?? '?';
    p(`reference: PyTorch ${ref.torch}, ${ref.threads} threads, mkldnn ${ref.mkldnn ? 'available' : 'not available'}, BLAS ${blas}`);
  }
  if (refNote) p(`reference: ${ref ? 'error' : 'n/a'} (${refNote})`);
  p('ours, PyTorch and onnxruntime are timed interleaved (one step/batch each in turn), medians.');
  p();
  p('| path | training img/s | inference img/s |');
  p('|---|---:|---:|');
  const tname = `colorgan ${info.name}${info.name === 'wasm' ? ` ${info.threads}T` : ''}${info.native ? ` + oneDNN ${info.nativeThreads}T` : ''}`;
  for (const arch of ARCHS) p(`| ${tname} ${arch} | ${f2(ours(arch).trainImgS)} | ${f1(ours(arch).inferImgS)} |`);
  for (const arch of ARCHS) {
    const m = results[arch].ref;
    p(`| PyTorch${ref ? ` ${ref.torch} ${ref.threads}T` : ''} ${arch} | ${f2(m?.train_img_s)} | ${f1(m?.infer_img_s)} |`);
  }
  for (const arch of ORT_ARCHS) p(`| onnxruntime-node ${arch} (PyTorch export) | n/a | ${f1(results[arch].ortImgS)} |`);
  const ortNotes = ORT_ARCHS.map((a) => results[a].ortNote);
  if (ortNotes.every((t) => t && t === ortNotes[0])) p(`(onnxruntime: ${ortNotes[0]})`);
  else ORT_ARCHS.forEach((a, i) => ortNotes[i] && p(`(onnxruntime ${a}: ${ortNotes[i]})`));
  p();
  p('Training = one full GAN step (G step + D step, Adam) per batch; inference = generator forward at model size (inference mode); medians.');
  const fmArchs = ARCHS.filter((a) => (FEATURE_MATCH[a] ?? 0) > 0);
  if (fmArchs.length)
    p(`G step with feature matching on D's hidden layers (as its training runs): ${fmArchs.map((a) => `${a} φ = ${FEATURE_MATCH[a]}`).join(', ')}.`);
  const fmt = (xs: number[] | undefined) => (xs?.length ? xs.map((s) => s.toFixed(2)).join(' ') : 'n/a');
  p(`training step times (s): ${ARCHS.map((a) => `ours ${a} ${fmt(ours(a).trainStepS)}; PyTorch ${a} ${fmt(results[a].ref?.train_steps_s)}`).join('; ')}`);
  const ortTimes = ORT_ARCHS.filter((a) => results[a].ortBatchS)
    .map((a) => `; onnxruntime ${a} ${fmt(results[a].ortBatchS)}`)
    .join('');
  p(
    `inference batch times (s): ${ARCHS.map((a) => `ours ${a} ${fmt(ours(a).inferBatchS)}; PyTorch ${a} ${fmt(results[a].ref?.infer_batches_s)}`).join('; ')}${ortTimes}`,
  );

  // Parameter counts must match, or the comparison is of different networks.
  for (const arch of ARCHS) {
    const m = results[arch].ref;
    const same = m ? m.generator_params === ours(arch).gParams : null;
    p(`params ${arch}: G ours ${ours(arch).gParams}${m ? ` / PyTorch ${m.generator_params} ${same ? '(match)' : '(MISMATCH)'}` : ''}`);
  }
  if (ref) {
    const dOurs = ours('advanced').dParams;
    p(`params D: ours ${dOurs} / PyTorch ${ref.discriminator_params} ${dOurs === ref.discriminator_params ? '(match)' : '(MISMATCH)'}`);
  }
  return lines;
}

function photoSection(photo: PhotoResult | null): string[] {
  if (!photo) return [];
  const runs = (xs: number[]) => xs.map((s) => s.toFixed(3)).join(' ');
  const lines = ['', `## 12 MP JPEG (4000×3000, quality 90), ${photo.what}`];
  for (const [format, name] of [
    ['jpeg', 'JPEG q90'],
    ['png', 'PNG'],
  ] as const) {
    const r = photo[format];
    lines.push(`colorgan decode → colorize → encode ${name} → file: median ${median(r.oursS).toFixed(3)} s  (runs ${runs(r.oursS)}; ${r.way})`);
    lines.push(`sharp decode → encode ${name} → file:              median ${median(r.sharpS).toFixed(3)} s  (runs ${runs(r.sharpS)})`);
  }
  return lines;
}

/** --profile: the advanced model's training step by kernel, top 12 and the rest. */
function profileSection(adv: OursResult): string[] {
  if (!adv.profile) return [];
  const total = adv.profileTotalMs!;
  const lines = [
    '',
    `## Profile: one advanced training step by kernel (tf.profile; sum of kernel times ${total.toFixed(0)} ms, wall ${adv.profileWallMs!.toFixed(0)} ms with profiling overhead)`,
    '| # | kernel | calls | ms | % |',
    '|---:|---|---:|---:|---:|',
  ];
  adv.profile.slice(0, 12).forEach((k, i) => lines.push(`| ${i + 1} | ${k.name} | ${k.calls} | ${k.ms.toFixed(1)} | ${((100 * k.ms) / total).toFixed(1)} |`));
  const rest = adv.profile.slice(12);
  if (rest.length) {
    const ms = rest.reduce((x, k) => x + k.ms, 0);
    lines.push(`| | ${rest.length} other kernels | ${rest.reduce((x, k) => x + k.calls, 0)} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)} |`);
  }
  return lines;
}

/** The photo's medians, ours and sharp's, per output format. */
function photoTimes(photo: PhotoResult | null): string[] {
  const s = (f: 'jpeg' | 'png', k: 'oursS' | 'sharpS') => (photo ? median(photo[f][k]).toFixed(3) : 'n/a');
  return (['jpeg', 'png'] as const).map((f) => `12 MP photo → ${f.toUpperCase()}: ours ${s(f, 'oursS')} s / sharp ${s(f, 'sharpS')} s`);
}

/** Ours / PyTorch training, and ours / the best of PyTorch and onnxruntime-node inference. */
function ratios(r: ArchResult) {
  const ortImgS = r.ortImgS ?? null;
  const refInfer = [r.ref?.infer_img_s, ortImgS].filter((x): x is number => x != null && x > 0);
  const bestRef = refInfer.length ? Math.max(...refInfer) : null;
  const bestRefName = bestRef == null ? 'n/a' : bestRef === ortImgS ? 'onnxruntime-node' : 'PyTorch';
  return { train: ratio(r.ours.trainImgS, r.ref?.train_img_s), infer: ratio(r.ours.inferImgS, bestRef), bestRef, bestRefName };
}

/** The ratios; its last three lines are the machine-readable ones bench/README.md describes. */
function ratioSection({ results, photo }: Run): string[] {
  const advR = ratios(results.advanced);
  const unetR = ratios(results.unet);
  const photoRatio = (f: 'jpeg' | 'png') => (photo ? median(photo[f].oursS) / median(photo[f].sharpS) : null);
  const lines = ['', '## Ratios (ours / reference; >1 means we are faster; photo: our time / sharp time)'];
  for (const [arch, r] of [
    ['advanced', advR],
    ['unet', unetR],
  ] as const) {
    lines.push(`training, ${arch}: ours ${f2(results[arch].ours.trainImgS)} / PyTorch ${f2(results[arch].ref?.train_img_s)} img/s`);
    lines.push(`inference, ${arch}: ours ${f1(results[arch].ours.inferImgS)} / best reference ${f1(r.bestRef)} img/s (${r.bestRefName})`);
  }
  lines.push(...photoTimes(photo));
  // unet's ratios and the PNG one come before the last three lines, which stay the advanced model's and the JPEG photo's.
  lines.push(`photo-png-ratio-vs-sharp: ${f2(photoRatio('png'))}`);
  lines.push(`unet-train-ratio-vs-pytorch: ${f2(unetR.train)}`);
  lines.push(`unet-infer-ratio-vs-reference: ${f2(unetR.infer)}`);
  lines.push(`train-ratio-vs-pytorch: ${f2(advR.train)}`);
  lines.push(`infer-ratio-vs-reference: ${f2(advR.infer)}`);
  lines.push(`photo-ratio-vs-sharp: ${f2(photoRatio('jpeg'))}`);
  return lines;
}

// ---- main --------------------------------------------------------------------------------

/** The PyTorch reference in a serve-mode child process (null and why not, when it is not there). */
async function startReference(o: Opts, threads: number): Promise<{ server: RefServer | null; info: RefInfo | null; note: string }> {
  if (!o.reference) return { server: null, info: null, note: 'skipped (--no-reference)' };
  const why = torchAvailable();
  if (why) return { server: null, info: null, note: why };
  const server = RefServer.start(o, threads);
  try {
    return { server, info: (await server.call({ cmd: 'info' })) as unknown as RefInfo, note: '' };
  } catch (e) {
    return { server: null, info: null, note: (e as Error).message };
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const machine = cpuLine();
  log(machine);
  const info = await initBackend({ threads: o.threads });
  if (o.photoOnly) {
    const photo = await benchPhoto(o);
    const ratio = (f: 'jpeg' | 'png') => f2(median(photo[f].oursS) / median(photo[f].sharpS));
    const lines = [
      machine,
      ...photoSection(photo),
      '',
      ...photoTimes(photo),
      `photo-png-ratio-vs-sharp: ${ratio('png')}`,
      `photo-ratio-vs-sharp: ${ratio('jpeg')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  // The references get as many threads as our busiest pool (the native convolutions' if built).
  const threads = o.threads ?? Math.max(1, info.nativeThreads ?? info.threads);
  log(`backend: ${describeBackend(info)}`);

  const reference = await startReference(o, threads);
  const ort = o.reference ? await loadOrt() : null;
  const results: Record<string, ArchResult> = {};
  for (const arch of ARCHS) results[arch] = await benchArch(arch, o, reference.server, ort, threads);
  reference.server?.stop();
  const refErrors = ARCHS.filter((a) => results[a].refError).map((a) => `${a}: ${results[a].refError}`);
  const refNote = refErrors.length ? refErrors.join('; ') : reference.note;

  const photo = o.photo ? await benchPhoto(o) : null;

  const run: Run = { o, machine, info, ref: reference.info, refNote, results, photo };
  const lines = [...summarySection(run), ...photoSection(photo), ...profileSection(results.advanced.ours), ...ratioSection(run)];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
