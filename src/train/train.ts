/**
 * The training loop: data → epochs of GAN steps → per-epoch validation, sample grid,
 * loss log and checkpoint. Deterministic from the seed: the batch order and the noise of
 * epoch e depend only on (seed, e), so a run resumed from a checkpoint continues exactly
 * as an uninterrupted one would.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { subset, type Dataset } from '../data/dataset.js';
import { loadDatasets, splitBySource, groupBySource, balancedOrder, resolveFile, sourceOf } from '../data/sources.js';
import { decodeResized } from '../data/decode.js';
import { buildGenerator } from '../models/generator.js';
import { buildDiscriminator } from '../models/discriminator.js';
import type { ModelConfig } from '../models/config.js';
import { generatorMetadata, type ModelMetadata } from '../models/metadata.js';
import { saveModel, loadModelFromDir, readMetadata, writeDirAtomic, MODEL_JSON, WEIGHTS_BIN, METADATA_JSON } from '../models/io.js';
import { GanStep, disposeCheckpointTensors, type StepLosses } from './gan.js';
import { saveCheckpoint, findLatestCheckpoint, loadCheckpoint, checkpointsDir, fileSha256, type CheckpointState } from './checkpoint.js';
import { DEFAULT_TRAIN_OPTIONS, FIXED_ON_RESUME, validateTrainOptions, type TrainOptions } from './options.js';
import { isOutOfMemory, outOfMemoryMessage, OutOfMemoryError } from './oom.js';
import { mulberry32, shuffledIndices, gaussian } from '../util/rng.js';
import { writeFileAtomic, removeStaleTemps } from '../util/atomic.js';
import { renderGrid } from '../report/grid.js';
import { plotSvg, svgToPng } from '../report/plot.js';
import { predictUv, noiseFor } from '../infer/generate.js';
import { colorizeImage } from '../infer/colorizer.js';
import { installNativePixelKernels } from '../infer/native-pixels.js';
import { grayscaleRgb, type RgbImage } from '../color/yuv.js';

export interface EpochRecord {
  epoch: number;
  gAdv: number;
  l1: number;
  d: number;
  div?: number;
  fm?: number;
  /** Mean over sources (each counts once) of the validation L1. */
  valL1: number;
  /** Validation L1 of each source. */
  valL1BySource?: Record<string, number>;
  /** Mean over sources of the validation mean squared error. */
  valMse?: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainEvents {
  log?: (msg: string) => void;
  skip?: (file: string, reason: string) => void;
  dataProgress?: (done: number, total: number) => void;
  /** `imagesPerStep` = batch × accum: the photos of one optimizer step. */
  epochStart?: (epoch: number, epochs: number, steps: number, imagesPerStep: number) => void;
  step?: (step: number, steps: number, losses: StepLosses) => void;
  epochEnd?: (rec: EpochRecord) => void;
  /** Polled after every step: a signal name (e.g. 'SIGINT') ends the run cleanly before the next step. */
  shouldStop?: () => string | null;
}

export interface TrainResult {
  runDir: string;
  epochs: number;
  history: EpochRecord[];
  generatorDir: string;
}

export class TrainingDivergedError extends Error {}

/** The run was stopped by a signal; the last complete checkpoint is intact. */
export class TrainingInterruptedError extends Error {
  constructor(
    readonly signal: string,
    message: string,
  ) {
    super(message);
  }
}

const STEP_LOG_EVERY = 10;

function epochSeed(seed: number, epoch: number, salt: number): number {
  return (Math.imul(seed + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35) ^ salt) >>> 0;
}

/** A saved generator to start from; its architecture must match the run's. */
async function initialGenerator(dir: string, cfg: ModelConfig): Promise<tf.LayersModel> {
  const meta = await readMetadata(dir);
  for (const k of ['arch', 'size', 'ngf', 'zDim'] as const) {
    if (meta.config[k] !== cfg[k]) throw new Error(`${dir}: generator has ${k} = ${meta.config[k]}, the run wants ${cfg[k]}`);
  }
  return loadModelFromDir(dir);
}

async function dirHasCheckpoints(runDir: string): Promise<boolean> {
  return (await findLatestCheckpoint(runDir)) !== null;
}

/** Copy rows of the dataset into one batch buffer. */
function gather(src: Float32Array, per: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((k, i) => out.set(src.subarray(k * per, (k + 1) * per), i * per));
  return out;
}

/** Mirror the images `which` of a batch of S×S×c rows left-right, in place. */
function flipRows(buf: Float32Array, S: number, c: number, which: boolean[]): void {
  const per = S * S * c;
  which.forEach((f, i) => {
    if (!f) return;
    for (let r = 0; r < S; r++) {
      const row = i * per + r * S * c;
      for (let x = 0; x < S / 2; x++) {
        for (let k = 0; k < c; k++) {
          const a = row + x * c + k;
          const b = row + (S - 1 - x) * c + k;
          const t = buf[a];
          buf[a] = buf[b];
          buf[b] = t;
        }
      }
    }
  });
}

/** Validation errors per source and their means (each source counts once); `sources` from groupBySource + subset, made once. */
function validationBySource(G: tf.LayersModel, sources: Map<string, Dataset>, zDim: number): { mean: number; mse: number; bySource: Record<string, number> } {
  const bySource: Record<string, number> = {};
  let mse = 0;
  for (const [name, ds] of sources) {
    const e = validationErrors(G, ds, zDim);
    bySource[name] = e.l1;
    mse += e.mse / sources.size;
  }
  const v = Object.values(bySource);
  return { mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length), mse, bySource };
}

/** Mean |G(y, z) − uv| on a dataset in inference mode (network scale). */
export function validationL1(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): number {
  return validationErrors(G, ds, zDim, batch).l1;
}

/** Mean absolute and mean squared error of G(y, z) against uv, per photo then over photos (network scale). */
function validationErrors(G: tf.LayersModel, ds: Dataset, zDim: number, batch = 32): { l1: number; mse: number } {
  const S = ds.size;
  const n = ds.files.length;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const ys = Array.from({ length: m }, (_, k) => ds.y.subarray((i + k) * S * S, (i + k + 1) * S * S));
    const zs = Array.from({ length: m }, (_, k) => noiseFor(12345, i + k, zDim));
    const uvs = predictUv(G, S, ys, zs);
    uvs.forEach((uv, k) => {
      const ref = ds.uv.subarray((i + k) * S * S * 2, (i + k + 1) * S * S * 2);
      let s = 0;
      let q = 0;
      for (let j = 0; j < uv.length; j++) {
        const e = uv[j] - ref[j];
        s += Math.abs(e);
        q += e * e;
      }
      sum += s / uv.length;
      sq += q / uv.length;
    });
  }
  return { l1: sum / Math.max(1, n), mse: sq / Math.max(1, n) };
}

interface SamplePhoto {
  file: string;
  full: RgbImage; // the original at grid resolution
}

async function renderSamples(G: tf.LayersModel, cfg: ModelConfig, photos: SamplePhoto[]): Promise<Buffer> {
  // The same colorizer users get: gray in, raw model-size output and sharpened full size out.
  installNativePixelKernels(); // and the same pixel loops (the addon's where it loads)
  const colorizer = { model: G, meta: generatorMetadata(cfg), source: 'training' };
  const rows = photos.map((p, i) => {
    const gray = grayscaleRgb(p.full);
    const c = colorizeImage(colorizer, gray, { seed: 1, sample: i });
    return [gray, p.full, c.raw, c.rgb];
  });
  return renderGrid(rows, {
    titles: ['gray input', 'original', `generator (${cfg.size}×${cfg.size})`, 'sharpened (orig. Y)'],
    cell: 128,
    rowLabels: photos.map((p) => path.basename(p.file)),
  });
}

async function writeLogs(runDir: string, history: EpochRecord[], stepLog: number[][]): Promise<void> {
  await writeFileAtomic(path.join(runDir, 'losses.jsonl'), history.map((h) => JSON.stringify(h)).join('\n') + '\n');
  const svg = plotSvg(
    [
      {
        title: 'GAN losses',
        series: [
          { name: 'G adversarial', color: '#d62728', points: stepLog.map((r) => [r[0], r[1]]) },
          { name: 'D', color: '#1f77b4', points: stepLog.map((r) => [r[0], r[3]]) },
        ],
      },
      {
        title: 'L1 of U,V (network scale)',
        series: [
          { name: 'train L1', color: '#ff7f0e', points: stepLog.map((r) => [r[0], r[2]]) },
          { name: 'validation L1', color: '#2ca02c', points: history.map((h) => [h.epoch, h.valL1]) },
        ],
      },
    ],
    { title: `colorgan training — ${path.basename(path.resolve(runDir))}`, xLabel: 'epoch' },
  );
  await writeFileAtomic(path.join(runDir, 'loss-curve.svg'), svg);
  await writeFileAtomic(path.join(runDir, 'loss-curve.png'), await svgToPng(svg));
}

export async function train(options: Partial<TrainOptions> & Pick<TrainOptions, 'data' | 'out'>, ev: TrainEvents = {}): Promise<TrainResult> {
  let opts: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  const log = ev.log ?? (() => {});
  const runDir = opts.out;

  // ---- resume or fresh start ----------------------------------------------------
  // Temp files and folders of an earlier killed run are removed first.
  for (const d of [runDir, checkpointsDir(runDir), path.join(runDir, 'samples')]) {
    for (const t of await removeStaleTemps(d)) log(`removed a stale temp file: ${t}`);
  }
  let resumed: Awaited<ReturnType<typeof loadCheckpoint>> | null = null;
  if (opts.resume) {
    const dir = await findLatestCheckpoint(runDir, (bad, reason) => log(`checkpoint not usable: ${reason}; trying the previous one`));
    if (dir) {
      resumed = await loadCheckpoint(dir);
      const saved = resumed.state.options as Partial<TrainOptions>;
      // The run's identity comes from the checkpoint; the schedule (epochs, λ, lr) may be changed.
      for (const k of FIXED_ON_RESUME) if (k in saved) (opts as unknown as Record<string, unknown>)[k] = saved[k];
      for (const k of ['l1', 'l2', 'lr', 'beta1', 'batch', 'accum', 'diversity', 'featureMatch', 'epochImages', 'epochs'] as const) {
        if (options[k] === undefined && saved[k] !== undefined) (opts as unknown as Record<string, unknown>)[k] = saved[k];
      }
      log(`resuming from ${dir} (epoch ${resumed.state.epoch} of ${opts.epochs} done)`);
    } else {
      log(`no checkpoint in ${checkpointsDir(runDir)}; starting a new run`);
    }
  } else if (await dirHasCheckpoints(runDir)) {
    throw new Error(`${runDir}: already holds a training run; add --resume to continue it or choose another --out`);
  }
  validateTrainOptions(opts);
  const startEpoch = resumed?.state.epoch ?? 0;
  /** Photos per optimizer step: `accum` micro-batches of `batch`. */
  const perStep = opts.batch * opts.accum;

  // ---- data ---------------------------------------------------------------------
  const dataDirs = Array.isArray(opts.data) ? opts.data : [opts.data];
  // The run's own files (sample grids, curves) never become training photos.
  const all = await loadDatasets(dataDirs, { size: opts.size, cacheDir: opts.cacheDir, onProgress: ev.dataProgress, onSkip: ev.skip, exclude: [runDir] });
  const excluded = new Set(opts.exclude ?? []);
  const known = new Set(all.files.map(sourceOf));
  for (const x of excluded) if (!known.has(x)) throw new Error(`--exclude ${x}: no such source (sources: ${[...known].sort().join(', ')})`);
  const split = splitBySource(all.files.filter((f) => !excluded.has(sourceOf(f))), opts.seed, opts.valFraction);
  const trainFiles = opts.limit ? split.train.slice(0, opts.limit) : split.train;
  const valFiles = opts.limit ? split.val.slice(0, Math.max(2, Math.ceil(opts.limit * 0.3))) : split.val;
  const trainSet = subset(all, trainFiles);
  const valSet = subset(all, valFiles);
  if (trainSet.files.length < perStep) {
    const what = opts.accum > 1 ? `one step of ${opts.batch} × ${opts.accum} (batch × accum)` : `one batch of ${opts.batch}`;
    throw new Error(`${opts.data}: ${trainSet.files.length} training photos, fewer than ${what}`);
  }
  const trainGroups = [...groupBySource(trainSet.files).values()];
  const trainIndex = new Map(trainSet.files.map((f, i) => [f, i] as const));
  const sourceIdx = trainGroups.map((g) => g.map((f) => trainIndex.get(f)!));
  log(`data: ${all.files.length} photos${all.fromCache ? ' (cached)' : ''}, ${trainSet.files.length} train / ${valSet.files.length} validation, ${opts.size}×${opts.size}, ${trainGroups.length} source${trainGroups.length === 1 ? '' : 's'}${trainGroups.length > 1 ? ' (balanced)' : ''}`);

  const cfg: ModelConfig = { arch: opts.model, size: opts.size, ngf: opts.ngf, ndf: opts.ndf, zDim: opts.zDim, bnMomentum: 0.9 };
  if (opts.model === 'unet' && !opts.globalContext) cfg.globalContext = false;
  const G = resumed?.G ?? (opts.init ? await initialGenerator(opts.init, cfg) : buildGenerator(cfg, { seed: opts.seed }));
  const D = resumed?.D ?? buildDiscriminator(cfg, { seed: opts.seed });
  const gan = new GanStep(G, D, cfg.size, cfg.zDim, {
    l1: opts.l1,
    l2: opts.l2,
    lr: opts.lr,
    beta1: opts.beta1,
    diversity: opts.diversity,
    accum: opts.accum,
    featureMatch: opts.featureMatch,
  });
  if (resumed) await gan.setOptimizerWeights(resumed.optG, resumed.optD);
  resumed?.optG.forEach((t) => t.tensor.dispose());
  resumed?.optD.forEach((t) => t.tensor.dispose());
  const history: EpochRecord[] = (resumed?.state.history as unknown as EpochRecord[]) ?? [];
  const stepLog: number[][] = ((resumed?.state as unknown as { stepLog?: number[][] })?.stepLog) ?? [];
  log(`model: ${cfg.arch} generator ${G.countParams().toLocaleString('en')} params, discriminator ${D.countParams().toLocaleString('en')} params; λ(L1) = ${opts.l1}${opts.l2 > 0 ? `, L2 ${opts.l2}` : ''}, batch ${opts.batch}${opts.accum > 1 ? ` × accum ${opts.accum} = ${perStep} per step` : ''}, lr ${opts.lr}`);

  // Fixed validation photos for the sample grids: the sources in turn, spread over each.
  const valBySource = groupBySource(valSet.files);
  const valGroups = [...valBySource.values()];
  const valSets = new Map([...valBySource].map(([name, files]) => [name, subset(valSet, files)] as const));
  const nRows = Math.min(opts.sampleRows, valSet.files.length);
  const samples: SamplePhoto[] = [];
  for (let i = 0; i < nRows; i++) {
    const g = valGroups[i % valGroups.length];
    const round = Math.floor(i / valGroups.length);
    const rounds = Math.ceil(nRows / valGroups.length);
    const f = g[Math.floor((round * g.length) / rounds) % g.length];
    samples.push({ file: f, full: await decodeResized(resolveFile(all, f), cfg.size * 2) });
  }

  const meta = (epoch: number, valL1?: number): ModelMetadata =>
    generatorMetadata(cfg, {
      training: {
        data: [...all.roots.keys()].join(', '),
        sources: Object.fromEntries(trainGroups.map((g) => [sourceOf(g[0]), g.length])),
        trainImages: trainSet.files.length,
        valImages: valSet.files.length,
        seed: opts.seed,
        epochs: epoch,
        l1: opts.l1,
        l2: opts.l2,
        batch: opts.batch,
        accum: opts.accum,
        lr: opts.lr,
        beta1: opts.beta1,
        diversity: opts.diversity,
        featureMatch: opts.featureMatch,
        flip: opts.flip,
        initFrom: opts.init,
        excluded: opts.exclude,
      },
      metrics: valL1 === undefined ? undefined : { valL1 },
    });

  await fs.mkdir(path.join(runDir, 'samples'), { recursive: true });
  const S = cfg.size;
  const epochImages = opts.epochImages ?? trainSet.files.length;
  const steps = Math.floor(epochImages / perStep);
  if (steps < 1) throw new Error(`epochImages (${epochImages}) is fewer than one step of ${perStep} photos`);
  let lastCheckpoint = resumed?.dir ?? null;

  for (let epoch = startEpoch + 1; epoch <= opts.epochs; epoch++) {
    // One source: a plain shuffle (as the paper); several: balanced by source.
    const order =
      sourceIdx.length === 1 && epochImages <= trainSet.files.length
        ? shuffledIndices(trainSet.files.length, epochSeed(opts.seed, epoch, 1))
        : balancedOrder(sourceIdx, steps * perStep, mulberry32(epochSeed(opts.seed, epoch, 1)));
    const rand = mulberry32(epochSeed(opts.seed, epoch, 2));
    const flipRand = mulberry32(epochSeed(opts.seed, epoch, 3));
    ev.epochStart?.(epoch, opts.epochs, steps, perStep);
    const t0 = performance.now();
    const sums = { gAdv: 0, l1: 0, d: 0, div: 0, fm: 0 };
    let win = { gAdv: 0, l1: 0, d: 0, n: 0 };
    for (let s = 0; s < steps; s++) {
      const idx = order.slice(s * perStep, (s + 1) * perStep);
      const z = gaussian(rand, idx.length * cfg.zDim);
      const z2 = opts.diversity > 0 ? gaussian(rand, idx.length * cfg.zDim) : undefined;
      let losses: StepLosses;
      try {
        const y = gather(trainSet.y, S * S, idx);
        const uv = gather(trainSet.uv, S * S * 2, idx);
        if (opts.flip) {
          const which = idx.map(() => flipRand() < 0.5);
          flipRows(y, S, 1, which);
          flipRows(uv, S, 2, which);
        }
        losses = gan.step({ n: idx.length, y, uv, z, z2 });
      } catch (err) {
        // A batch too large for the heap: one clear line instead of a bare "Aborted()".
        // The wasm module may be dead now, so nothing else runs; checkpoints are only
        // written at the end of an epoch, so the last complete one is untouched.
        if (isOutOfMemory(err)) {
          throw new OutOfMemoryError(outOfMemoryMessage({ batch: opts.batch, accum: opts.accum, model: cfg.arch, backend: tf.getBackend() }, err), { cause: err });
        }
        throw err;
      }
      for (const [k, v] of Object.entries(losses)) {
        if (!Number.isFinite(v)) {
          throw new TrainingDivergedError(
            `training diverged: ${k} loss is ${v} at epoch ${epoch}, step ${s + 1}; ` +
              (lastCheckpoint ? `the last good checkpoint is kept at ${lastCheckpoint}` : 'no checkpoint was written yet') +
              ' (try a lower --lr or a higher --l1)',
          );
        }
      }
      sums.gAdv += losses.gAdv;
      sums.l1 += losses.l1;
      sums.d += losses.d;
      sums.div += losses.div ?? 0;
      sums.fm += losses.fm ?? 0;
      win.gAdv += losses.gAdv; win.l1 += losses.l1; win.d += losses.d; win.n++;
      if (win.n === STEP_LOG_EVERY || s === steps - 1) {
        stepLog.push([epoch - 1 + (s + 1) / steps, win.gAdv / win.n, win.l1 / win.n, win.d / win.n]);
        win = { gAdv: 0, l1: 0, d: 0, n: 0 };
      }
      ev.step?.(s + 1, steps, losses);
      // The step loop is synchronous: let the event loop run so a signal handler can set the flag.
      if (ev.shouldStop) await new Promise((r) => setImmediate(r));
      const signal = ev.shouldStop?.();
      if (signal) {
        gan.dispose();
        throw new TrainingInterruptedError(
          signal,
          `stopped by ${signal} at epoch ${epoch}, step ${s + 1}; ` +
            (lastCheckpoint ? `the last complete checkpoint is ${lastCheckpoint} (--resume continues from it)` : 'no checkpoint was written yet'),
        );
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const val = validationBySource(G, valSets, cfg.zDim);
    const valL1 = val.mean;
    const rec: EpochRecord = {
      epoch,
      gAdv: sums.gAdv / steps,
      l1: sums.l1 / steps,
      d: sums.d / steps,
      valL1,
      valMse: val.mse,
      seconds: Number(seconds.toFixed(1)),
      imagesPerSecond: Number(((steps * perStep) / seconds).toFixed(2)),
    };
    if (opts.diversity > 0) rec.div = sums.div / steps;
    if (opts.featureMatch > 0) rec.fm = sums.fm / steps;
    if (Object.keys(val.bySource).length > 1) rec.valL1BySource = val.bySource;
    history.push(rec);

    const grid = await renderSamples(G, cfg, samples);
    await writeFileAtomic(path.join(runDir, 'samples', `epoch-${String(epoch).padStart(4, '0')}.png`), grid);
    await writeFileAtomic(path.join(runDir, 'samples', 'latest.png'), grid);
    const state: CheckpointState & { stepLog: number[][] } = {
      epoch,
      seed: opts.seed,
      options: { ...opts, resume: undefined } as Record<string, unknown>,
      history: history as unknown as Record<string, number>[],
      stepLog,
      savedAt: new Date().toISOString(),
    };
    const optState = await gan.optimizerWeights();
    lastCheckpoint = await saveCheckpoint(runDir, G, D, optState, state, meta(epoch, valL1));
    disposeCheckpointTensors(optState);
    await saveModel(G, path.join(runDir, 'generator'), meta(epoch, valL1));
    // GAN training is noisy from epoch to epoch: also keep the generator with the lowest validation L1.
    if (valL1 <= Math.min(...history.map((h) => h.valL1))) await saveModel(G, path.join(runDir, 'generator-best'), meta(epoch, valL1));
    await writeLogs(runDir, history, stepLog);
    ev.epochEnd?.(rec);
  }
  gan.dispose();
  if (lastCheckpoint) await repairExports(runDir, lastCheckpoint, history, log);
  return { runDir, epochs: opts.epochs, history, generatorDir: path.join(runDir, 'generator') };
}

/**
 * The run is only done when generator/ holds the last checkpoint's generator and
 * generator-best/ the best epoch's: a kill during their export (after the checkpoint was
 * written) left older ones, which are rewritten here from the checkpoint's files.
 */
async function repairExports(runDir: string, checkpoint: string, history: EpochRecord[], log: (m: string) => void): Promise<void> {
  const copyFrom = async (src: string, dst: string) => {
    const files: Record<string, Uint8Array> = {};
    for (const f of [MODEL_JSON, WEIGHTS_BIN, METADATA_JSON]) files[f] = await fs.readFile(path.join(src, f));
    await writeDirAtomic(dst, files);
  };
  const want = await fileSha256(path.join(checkpoint, 'generator', WEIGHTS_BIN));
  const targets = [path.join(runDir, 'generator')];
  const last = history[history.length - 1];
  if (last && last.valL1 <= Math.min(...history.map((h) => h.valL1))) targets.push(path.join(runDir, 'generator-best'));
  for (const dst of targets) {
    if ((await fileSha256(path.join(dst, WEIGHTS_BIN))) !== want) {
      await copyFrom(path.join(checkpoint, 'generator'), dst);
      log(`${dst}: did not hold the last checkpoint's generator (an interrupted export); rewritten from ${checkpoint}`);
    }
  }
}
