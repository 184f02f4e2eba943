/**
 * `colorgan train-refine`: one LAPGAN refinement stage (src/models/refine.ts) on top of a
 * frozen base model and the stages it already has, through the same life cycle as train.ts:
 *
 *   setup     every option checked (./refine-options.ts) before any file is read
 *   resume    the last verified checkpoint, or a new run
 *   below     `--scales 4` on a base without stages: the ×2 stage is trained first, as a run
 *             of its own in RUN/scale-2/, and becomes the base of this one (×4)
 *   data      the photos at the stage's size (the cache of data/dataset.ts, S = base size ×
 *             scales), split 70/30 per source with the same seed as the base model's run;
 *             the chroma of the scale below computed once per photo (base model and its
 *             stages frozen, in inference mode, from the photo's luma area-shrunk to each
 *             scale, seed 0 sample 0: the default colorization)
 *   networks  the stage and a discriminator at S (models/discriminator.ts), or the checkpoint's
 *   epochs    GAN steps (./gan.ts with the coarse chroma as G's extra input), validation L1
 *             of the stage and of the scale below upsampled alone, sample grid, checkpoint,
 *             exports, losses.jsonl; `model/` = the base model's files and stages + the best
 *             stage as refine-k/ (rewritten with every new best epoch)
 *
 * Deterministic from the seed: the batch order, mirroring and noise of epoch e depend only
 * on (seed, e), so a resumed run gives the same weights as an uninterrupted one.
 */
import type * as tf from '../util/tf.js';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { buildRefineGenerator } from '../models/refine.js';
import { buildDiscriminator } from '../models/discriminator.js';
import type { ModelConfig } from '../models/config.js';
import { generatorMetadata, refineDirName, MAX_REFINE_STAGES, type ModelMetadata } from '../models/metadata.js';
import { writeDirAtomic, MODEL_JSON, WEIGHTS_BIN, METADATA_JSON } from '../models/io.js';
import type { Dataset } from '../data/dataset.js';
import { groupBySource, resolveFile } from '../data/sources.js';
import { decodeResized } from '../data/decode.js';
import { grayscaleRgb, type RgbImage } from '../color/yuv.js';
import { gaussian, mulberry32 } from '../util/rng.js';
import { writeFileAtomic } from '../util/atomic.js';
import { renderGrid } from '../report/grid.js';
import { predictUv, noiseFor } from '../infer/generate.js';
import { resizePlane } from '../infer/resample.js';
import { refineNoise, runRefineStage, upsampleChroma, type RefineStage } from '../infer/refine.js';
import { rawRgb } from '../infer/raw.js';
import { loadModel } from '../infer/node.js';
import { GanStep, type Batch } from './gan.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from './options.js';
import {
  setupRefineOptions,
  mergeResumedRefine,
  savedRefineOptions,
  refineRecordOptions,
  checkSavedRefineOptions,
  type RefineInput,
  type RefineOptions,
  type SavedRefineOptions,
} from './refine-options.js';
import { loadRunData, epochOrder, epochSeed, gather, flipRows, type RunData } from './data.js';
import { saveEpoch, writeLogs, repairExports, isBest, GENERATOR_DIR, BEST_GENERATOR_DIR, SAMPLES_DIR } from './outputs.js';
import { removeRunTemps, epochSteps, resumeOrStart, scheduleOf, type StepContext, type TrainEvents, type TrainResult } from './train.js';
import type { EpochRecord, StepLogRow } from './state.js';
import { photoErrors } from './validation.js';

/** The run's complete model folder: the base model and its stages with the best stage as refine-k/. */
export const MODEL_DIR = 'model';

/** Where `--scales 4` from a base without stages trains the ×2 stage below its own. */
export const lowerStageRun = (runDir: string): string => path.join(runDir, 'scale-2');

/** The frozen base model and the stages it already has (coarse to fine). */
interface Base {
  dir: string;
  G: tf.LayersModel;
  meta: ModelMetadata;
  stages: RefineStage[];
}

/** Photos at the stage's size with the base model's chroma of each (at the base size). */
interface StageSet {
  ds: Dataset;
  /** n·s·s·2, s = the base size: the base model's U,V of each photo, network scale. */
  baseUv: Float32Array;
}

interface RefineRun extends StepContext {
  opts: RefineOptions;
  /** Which stage this run trains: 1 (×2) or 2 (×4). */
  stage: number;
  cfg: ModelConfig;
  base: Base;
  data: RunData;
  train: StageSet;
  val: Map<string, StageSet>;
  history: EpochRecord[];
}

export async function trainRefine(input: RefineInput, ev: TrainEvents = {}): Promise<TrainResult> {
  const setup = setupRefineOptions(input);
  const log = ev.log ?? (() => {});
  const runDir = setup.options.out;
  await removeRunTemps(runDir, log);
  const { opts, resumed } = await resumeOrStart<RefineOptions, SavedRefineOptions>(
    setup.options,
    { check: checkSavedRefineOptions, merge: (o, saved) => mergeResumedRefine(o, setup.given, saved) },
    log,
  );
  const stage = Math.log2(opts.scales);
  let base = await loadBase(opts.base);
  if (base.stages.length >= stage || base.stages.length + 1 > MAX_REFINE_STAGES)
    throw new Error(
      `${base.dir}: already has ${base.stages.length} refinement stage(s); --scales ${opts.scales} trains stage ${stage}` +
        (base.stages.length < MAX_REFINE_STAGES ? `: use --scales ${2 ** (base.stages.length + 1)}` : ''),
    );
  if (base.stages.length < stage - 1) {
    const lower = lowerStageRun(runDir);
    log(`--scales ${opts.scales}: training the ×2 stage first, in ${lower}`);
    await trainRefine({ ...input, out: lower, scales: 2, base: opts.base, resume: opts.resume }, ev);
    base = await loadBase(path.join(lower, MODEL_DIR));
  }
  const S = base.meta.config.size * opts.scales;
  const perStep = opts.batch * opts.accum;
  const data = await loadRunData(runDataOptions(opts, S), perStep, { progress: ev.dataProgress, skip: ev.skip, log }, await excludedFolders(opts));
  const train = stageSet(base, data.trainSet);
  const val = new Map([...data.valSets].map(([name, ds]) => [name, stageSet(base, ds)] as const));
  const schedule = scheduleOf(perStep, opts.epochImages ?? data.trainSet.files.length);
  const cfg: ModelConfig = { arch: 'refine', size: S, ngf: opts.ngf, ndf: opts.ndf, zDim: opts.zDim, bnMomentum: 0.9 };
  const G = resumed?.G ?? buildRefineGenerator(cfg, { seed: opts.seed });
  const D = resumed?.D ?? buildDiscriminator(cfg, { seed: opts.seed });
  const { l1, lr, beta1, accum, featureMatch } = opts;
  const gan = new GanStep(G, D, S, opts.zDim, { l1, lr, beta1, diversity: 0, accum, featureMatch }, [S, S, opts.zDim]);
  if (resumed) {
    await gan.setOptimizerWeights(resumed.optG, resumed.optD);
    for (const t of [...resumed.optG, ...resumed.optD]) t.tensor.dispose();
  }
  const baseline = validation(null, val, opts.zDim, stage);
  log(
    `refine ×${opts.scales} on ${base.dir} (${base.meta.config.arch}, ${base.meta.config.size}px${base.stages.length ? ` + ${base.stages.length} stage` : ''}) at ${S}×${S}: stage ${G.countParams().toLocaleString('en')} params, ` +
      `discriminator ${D.countParams().toLocaleString('en')} params; λ(L1) = ${l1}${featureMatch > 0 ? `, FM ${featureMatch}` : ''}, batch ${perStep}, lr ${lr}; ` +
      `validation L1 of the scale below upsampled alone: ${baseline.mean.toFixed(4)}`,
  );
  await fs.mkdir(path.join(runDir, SAMPLES_DIR), { recursive: true });
  const samples = await samplePhotos(data, val, opts.sampleRows, S);

  const run: RefineRun = {
    opts,
    stage,
    cfg,
    base,
    data,
    train,
    val,
    schedule,
    gan,
    history: resumed?.state.history ?? [],
    stepLog: resumed?.state.stepLog ?? [],
    lastCheckpoint: resumed?.dir ?? null,
    ev,
  };
  for (let epoch = (resumed?.state.epoch ?? 0) + 1; epoch <= opts.epochs; epoch++) {
    const { sums, seconds, steps } = await epochSteps(run, epoch, refineBatches(run, epoch));
    const v = validation(gan.G, val, opts.zDim, stage);
    const rec: EpochRecord = {
      epoch,
      gAdv: sums.gAdv / steps,
      l1: sums.l1 / steps,
      d: sums.d / steps,
      valL1: v.mean,
      valMse: v.mse,
      seconds: Number(seconds.toFixed(1)),
      imagesPerSecond: Number(((steps * perStep) / seconds).toFixed(2)),
    };
    if (featureMatch > 0) rec.fm = sums.fm / steps;
    if (Object.keys(v.bySource).length > 1) rec.valL1BySource = v.bySource;
    run.history.push(rec);
    await endEpoch(run, rec, samples, baseline.mean);
    ev.epochEnd?.(rec);
  }
  gan.dispose();
  if (run.lastCheckpoint) await repairExports(runDir, run.lastCheckpoint, run.history, 'l1', log);
  if (run.history.length) await writeModelFolder(run); // also after a kill between generator-best/ and model/
  return { runDir, epochs: opts.epochs, history: run.history, generatorDir: path.join(runDir, GENERATOR_DIR) };
}

/** The base as colorize loads it (the same checks), with the stages its folder lists. */
async function loadBase(nameOrDir: string): Promise<Base> {
  const c = await loadModel(nameOrDir);
  return { dir: c.source, G: c.model, meta: c.meta, stages: c.refine ?? [] };
}

/** What loadRunData reads of train's options: the data, the stage's size, the split, the batch. */
function runDataOptions(o: RefineOptions, size: number): TrainOptions {
  const { data, out, cacheDir, seed, valFraction, limit, batch, accum } = o;
  return { ...DEFAULT_TRAIN_OPTIONS, data, out, size, cacheDir, seed, valFraction, limit, batch, accum };
}

/** The folders of the --exclude sources ("scenes/tiny-imagenet" → <the scenes folder>/tiny-imagenet), so they are never decoded. */
async function excludedFolders(o: RefineOptions): Promise<string[]> {
  const out: string[] = [];
  for (const src of o.exclude ?? []) {
    const [label, ...rest] = src.split('/');
    const root = o.data.find((d) => path.basename(path.resolve(d)) === label);
    const dir = root && rest.length ? path.join(root, ...rest) : null;
    const st = dir ? await fs.stat(dir).catch(() => null) : null;
    if (!dir || !st?.isDirectory()) throw new Error(`--exclude ${src}: no such source folder under ${o.data.join(', ')}`);
    out.push(dir);
  }
  return out;
}

/**
 * The chroma of the scale below the stage for every photo of `ds`: the base model's, then
 * its stages' in turn (frozen, inference mode; seed 0, sample 0, the noise colorize uses).
 */
function stageSet(base: Base, ds: Dataset): StageSet {
  const S = ds.size;
  const below = S / 2;
  const n = ds.files.length;
  const baseUv = new Float32Array(n * below * below * 2);
  const z = noiseFor(0, 0, base.meta.config.zDim);
  const lumaAt = (k: number, s: number) => resizePlane(ds.y.subarray(k * S * S, (k + 1) * S * S), S, S, s, s);
  const BATCH = 32;
  for (let i = 0; i < n; i += BATCH) {
    const ks = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => i + j);
    let s = base.meta.config.size;
    const ys = ks.map((k) => lumaAt(k, s));
    let uvs = predictUv(
      base.G,
      s,
      ys,
      ys.map(() => z),
    );
    base.stages.forEach((st, j) => {
      s *= 2;
      const noise = refineNoise(0, 0, j + 1, s * s * st.meta.config.zDim);
      uvs = runRefineStage(
        st,
        { width: s, height: s },
        ks.map((k) => lumaAt(k, s)),
        uvs,
        uvs.map(() => noise),
      );
    });
    uvs.forEach((uv, j) => baseUv.set(uv, (i + j) * below * below * 2));
  }
  return { ds, baseUv };
}

/** Row k's coarse chroma upsampled to the stage's size. */
function coarseUp(set: StageSet, k: number): Float32Array {
  const s = set.ds.size / 2;
  return upsampleChroma(set.baseUv.subarray(k * s * s * 2, (k + 1) * s * s * 2), { width: s, height: s });
}

/** The batches of one epoch: order, mirroring and noise from (seed, epoch) only. */
function refineBatches(run: RefineRun, epoch: number): (step: number) => Batch {
  const { opts, train, schedule } = run;
  const order = epochOrder(run.data, opts.seed, epoch, schedule);
  const rand = mulberry32(epochSeed(opts.seed, epoch, 2));
  const flipRand = mulberry32(epochSeed(opts.seed, epoch, 3));
  const S = train.ds.size;
  return (s) => {
    const idx = order.slice(s * schedule.perStep, (s + 1) * schedule.perStep);
    const y = gather(train.ds.y, S * S, idx);
    const uv = gather(train.ds.uv, S * S * 2, idx);
    const cond = new Float32Array(idx.length * S * S * 2);
    idx.forEach((k, i) => cond.set(coarseUp(train, k), i * S * S * 2));
    const z = gaussian(rand, idx.length * S * S * opts.zDim);
    if (opts.flip) {
      const which = idx.map(() => flipRand() < 0.5);
      flipRows(y, S, 1, which);
      flipRows(uv, S, 2, which);
      flipRows(cond, S, 2, which);
    }
    return { n: idx.length, y, uv, z, cond };
  };
}

/** As a stage for runRefineStage. */
function asStage(G: tf.LayersModel, zDim: number, S: number): RefineStage {
  return { model: G, meta: generatorMetadata({ arch: 'refine', size: S, ngf: 1, ndf: 1, zDim, bnMomentum: 0.9 }), source: 'training' };
}

/**
 * Validation L1 and MSE per source (each counts once in the mean): of the stage's output,
 * or with `G` null of the base model's chroma upsampled alone (the bar a stage must beat).
 * Fixed noise per photo.
 */
function validation(
  G: tf.LayersModel | null,
  sets: Map<string, StageSet>,
  zDim: number,
  stage: number,
): { mean: number; mse: number; bySource: Record<string, number> } {
  const bySource: Record<string, number> = {};
  let mse = 0;
  for (const [name, set] of sets) {
    const S = set.ds.size;
    const grid = { width: S, height: S };
    const n = set.ds.files.length;
    let l1 = 0;
    let sq = 0;
    const BATCH = 16;
    for (let i = 0; i < n; i += BATCH) {
      const ks = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => i + j);
      const preds = G
        ? runRefineStage(
            asStage(G, zDim, S),
            grid,
            ks.map((k) => set.ds.y.subarray(k * S * S, (k + 1) * S * S)),
            ks.map((k) => coarseOf(set, k)),
            ks.map((k) => refineNoise(12345, k, stage, S * S * zDim)),
          )
        : ks.map((k) => coarseUp(set, k));
      preds.forEach((p, j) => {
        const e = photoErrors(p, set.ds.uv.subarray(ks[j] * S * S * 2, (ks[j] + 1) * S * S * 2));
        l1 += e.l1;
        sq += e.mse;
      });
    }
    bySource[name] = l1 / Math.max(1, n);
    mse += sq / Math.max(1, n) / sets.size;
  }
  const v = Object.values(bySource);
  return { mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length), mse, bySource };
}

/** Row k's coarse chroma at the base size. */
function coarseOf(set: StageSet, k: number): Float32Array {
  const s = set.ds.size / 2;
  return set.baseUv.subarray(k * s * s * 2, (k + 1) * s * s * 2);
}

interface RefineSample {
  file: string;
  set: StageSet;
  k: number;
  /** The photo at the stage's size. */
  full: RgbImage;
}

/** Fixed validation photos, the sources in turn. */
async function samplePhotos(data: RunData, val: Map<string, StageSet>, rows: number, S: number): Promise<RefineSample[]> {
  const groups = [...groupBySource(data.valSet.files)];
  const out: RefineSample[] = [];
  const total = Math.min(rows, data.valSet.files.length);
  for (let i = 0; out.length < total; i++) {
    const [name, files] = groups[i % groups.length];
    const k = Math.floor(i / groups.length);
    if (k >= files.length) {
      if (groups.every(([, f]) => f.length <= k)) break;
      continue;
    }
    out.push({ file: files[k], set: val.get(name)!, k, full: await decodeResized(resolveFile(data.all, files[k]), S) });
  }
  return out;
}

async function writeSampleGrid(run: RefineRun, epoch: number, samples: RefineSample[]): Promise<void> {
  const S = run.cfg.size;
  const grid = { width: S, height: S };
  const stage = asStage(run.gan.G, run.opts.zDim, S);
  const rows = samples.map((p) => {
    const y = p.set.ds.y.subarray(p.k * S * S, (p.k + 1) * S * S);
    const refined = runRefineStage(stage, grid, y, [coarseOf(p.set, p.k)], [refineNoise(1, 0, run.stage, S * S * run.opts.zDim)])[0];
    return [grayscaleRgb(p.full), rawRgb(y, coarseUp(p.set, p.k), grid), rawRgb(y, refined, grid), p.full];
  });
  const png = await renderGrid(rows, {
    titles: ['gray input', `${run.stage === 1 ? 'base' : `×${run.opts.scales / 2}`} ${S / 2}² upsampled`, `refined ${S}²`, 'original'],
    cell: Math.min(2 * S, 256),
    rowLabels: samples.map((p) => path.basename(p.file)),
  });
  await writeFileAtomic(path.join(run.opts.out, SAMPLES_DIR, `epoch-${String(epoch).padStart(4, '0')}.png`), png);
  await writeFileAtomic(path.join(run.opts.out, SAMPLES_DIR, 'latest.png'), png);
}

function metadataOf(run: RefineRun, epoch: number, valL1: number, baseValL1: number): ModelMetadata {
  const { data } = run;
  return generatorMetadata(run.cfg, {
    training: {
      data: [...data.all.roots.keys()].join(', '),
      sources: data.sources,
      trainImages: data.trainSet.files.length,
      valImages: data.valSet.files.length,
      ...refineRecordOptions(run.opts),
      base: run.base.dir,
      epochs: epoch,
    },
    metrics: { valL1, baseValL1 },
  });
}

async function endEpoch(run: RefineRun, rec: EpochRecord, samples: RefineSample[], baseValL1: number): Promise<void> {
  const runDir = run.opts.out;
  await writeSampleGrid(run, rec.epoch, samples);
  const state = {
    epoch: rec.epoch,
    seed: run.opts.seed,
    options: savedRefineOptions(run.opts),
    history: run.history,
    stepLog: run.stepLog as StepLogRow[],
    savedAt: new Date().toISOString(),
  };
  const best = isBest(run.history, rec, 'l1');
  run.lastCheckpoint = await saveEpoch(runDir, run.gan, state, metadataOf(run, rec.epoch, rec.valL1, baseValL1), best);
  if (best) await writeModelFolder(run); // so a run stopped later still has its model/
  await writeLogs(runDir, run.history, run.stepLog);
}

/**
 * RUN/model/: the base model's files, its stages and the best stage as refine-k/, its
 * metadata listing them, so `--model RUN/model` colorizes with the refinement (and
 * `--no-refine` without).
 */
async function writeModelFolder(run: RefineRun): Promise<void> {
  const files: Record<string, string | Uint8Array> = {};
  for (const f of [MODEL_JSON, WEIGHTS_BIN]) files[f] = await fs.readFile(path.join(run.base.dir, f));
  const names = Array.from({ length: run.stage }, (_, i) => refineDirName(i + 1));
  const meta: ModelMetadata = { ...run.base.meta, refine: names };
  files[METADATA_JSON] = `${JSON.stringify(meta, null, 2)}\n`;
  const dirs = [...run.base.stages.map((st) => st.source), path.join(run.opts.out, BEST_GENERATOR_DIR)];
  for (const [i, dir] of dirs.entries()) {
    for (const f of [MODEL_JSON, WEIGHTS_BIN, METADATA_JSON]) files[`${names[i]}/${f}`] = await fs.readFile(path.join(dir, f));
  }
  await writeDirAtomic(path.join(run.opts.out, MODEL_DIR), files);
}
