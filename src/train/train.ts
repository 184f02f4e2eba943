/**
 * The training life cycle (in the spirit of pix2pix's base model):
 *
 *   setup     every option checked (./options.ts), before any file is read or decoded
 *   resume    continue from the last complete checkpoint, or start a new run
 *   data      photos decoded at model size (cached), split by source (./data.ts)
 *   networks  G and D built, loaded from the checkpoint, or G from --init
 *   epochs    GAN steps (./gan.ts: stepG, stepD), then validation (./validation.ts), the
 *             sample grid, the checkpoint and generator exports, the loss log (./outputs.ts)
 *
 * Deterministic from the seed: the batch order and the noise of epoch e depend only on
 * (seed, e), so a run resumed from a checkpoint continues exactly as an uninterrupted one
 * would.
 */
import * as tf from '../util/tf.js';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { buildGenerator } from '../models/generator.js';
import { buildDiscriminator } from '../models/discriminator.js';
import type { ModelConfig } from '../models/config.js';
import { generatorMetadata, type ModelMetadata } from '../models/metadata.js';
import { loadModelFromDir, readMetadata } from '../models/io.js';
import { removeStaleTemps } from '../util/atomic.js';
import { GanStep, type Batch, type StepLosses } from './gan.js';
import { findLatestCheckpoint, loadCheckpoint, checkpointsDir, type LoadedCheckpoint } from './checkpoint.js';
import type { SavedOptionsCheck } from './state.js';
import {
  setupTrainOptions,
  mergeResumed,
  savedRunOptions,
  trainingRecordOptions,
  type TrainInput,
  type TrainOptions,
  type SavedRunOptions,
} from './options.js';
import { isOutOfMemory, outOfMemoryMessage, OutOfMemoryError } from './oom.js';
import { loadRunData, samplePhotos, epochBatches, type RunData, type SamplePhoto, type Schedule } from './data.js';
import { validationBySource } from './validation.js';
import { writeSampleGrid, saveEpoch, writeLogs, repairExports, isBest, selectionOf, GENERATOR_DIR, SAMPLES_DIR } from './outputs.js';
import type { EpochRecord, StepLogRow } from './state.js';

export type { EpochRecord } from './state.js';
export { validationL1 } from './validation.js';

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

/** What the step loop of an epoch needs of a run (train's, and train-refine's). */
export interface StepContext {
  opts: { batch: number; accum: number; epochs: number };
  cfg: { arch: string };
  schedule: Schedule;
  gan: GanStep;
  stepLog: StepLogRow[];
  /** The newest complete checkpoint folder, named in error messages. */
  lastCheckpoint: string | null;
  ev: TrainEvents;
}

/** What a run carries from epoch to epoch (what a checkpoint saves, with the networks). */
interface Run extends StepContext {
  opts: TrainOptions;
  cfg: ModelConfig;
  data: RunData;
  schedule: Schedule;
  gan: GanStep;
  history: EpochRecord[];
  stepLog: StepLogRow[];
  /** The newest complete checkpoint folder, named in error messages. */
  lastCheckpoint: string | null;
  ev: TrainEvents;
}

export async function train(input: TrainInput, ev: TrainEvents = {}): Promise<TrainResult> {
  const setup = setupTrainOptions(input);
  const log = ev.log ?? (() => {});
  const runDir = setup.options.out;
  await removeRunTemps(runDir, log);
  const { opts, resumed } = await resumeOrStart<TrainOptions, SavedRunOptions>(
    setup.options,
    { merge: (o, saved) => mergeResumed(o, setup.given, saved) },
    log,
  );
  const perStep = opts.batch * opts.accum; // photos per optimizer step: `accum` micro-batches of `batch`
  const data = await loadRunData(opts, perStep, { progress: ev.dataProgress, skip: ev.skip, log });
  const schedule = scheduleOf(perStep, opts.epochImages ?? data.trainSet.files.length);
  const cfg = modelConfig(opts);
  const gan = await buildNetworks(opts, cfg, resumed);
  log(
    `model: ${cfg.arch} generator ${gan.G.countParams().toLocaleString('en')} params, discriminator ${gan.D.countParams().toLocaleString('en')} params; ` +
      `λ(L1) = ${opts.l1}${opts.l2 > 0 ? `, L2 ${opts.l2}` : ''}${opts.psnr > 0 ? `, log RGB error ${opts.psnr}` : ''}${opts.chromaSpread > 0 ? `, chroma spread ${opts.chromaSpread}` : ''}${opts.adversarial !== 1 ? `, adversarial ${opts.adversarial}` : ''}, batch ${opts.batch}${opts.accum > 1 ? ` × accum ${opts.accum} = ${perStep} per step` : ''}, lr ${opts.lr}`,
  );
  const samples = await samplePhotos(data, opts.sampleRows, cfg.size);
  await fs.mkdir(path.join(runDir, SAMPLES_DIR), { recursive: true });

  const run: Run = {
    opts,
    cfg,
    data,
    schedule,
    gan,
    history: resumed?.state.history ?? [],
    stepLog: resumed?.state.stepLog ?? [],
    lastCheckpoint: resumed?.dir ?? null,
    ev,
  };
  for (let epoch = (resumed?.state.epoch ?? 0) + 1; epoch <= opts.epochs; epoch++) {
    const rec = await trainEpoch(run, epoch);
    run.history.push(rec);
    await endEpoch(run, rec, samples);
    ev.epochEnd?.(rec);
  }
  gan.dispose();
  if (run.lastCheckpoint) await repairExports(runDir, run.lastCheckpoint, run.history, selectionOf(opts), log);
  return { runDir, epochs: opts.epochs, history: run.history, generatorDir: path.join(runDir, GENERATOR_DIR) };
}

/** Temp files and folders of an earlier killed run go first. */
export async function removeRunTemps(runDir: string, log: (m: string) => void): Promise<void> {
  for (const d of [runDir, checkpointsDir(runDir), path.join(runDir, SAMPLES_DIR)]) {
    for (const t of await removeStaleTemps(d)) log(`removed a stale temp file: ${t}`);
  }
}

/** How a trainer resumes: its checkpoint's options checked, and merged into this call's. */
export interface ResumeRule<O, S extends object> {
  check?: SavedOptionsCheck<S>;
  merge: (options: O, saved: S) => O;
}

/**
 * --resume: the last verified checkpoint of `options.out` (a bad one is skipped, with the
 * reason), or a new run; without --resume, a folder that holds a run is refused. Shared by
 * train and train-refine.
 */
export async function resumeOrStart<O extends { out: string; resume?: boolean; epochs: number }, S extends object>(
  options: O,
  rule: ResumeRule<O, S>,
  log: (m: string) => void,
): Promise<{ opts: O; resumed: LoadedCheckpoint<S> | null }> {
  const runDir = options.out;
  if (!options.resume) {
    if (await findLatestCheckpoint(runDir)) throw new Error(`${runDir}: already holds a training run; add --resume to continue it or choose another --out`);
    return { opts: options, resumed: null };
  }
  const dir = await findLatestCheckpoint(runDir, (_bad, reason) => log(`checkpoint not usable: ${reason}; trying the previous one`));
  if (!dir) {
    log(`no checkpoint in ${checkpointsDir(runDir)}; starting a new run`);
    return { opts: options, resumed: null };
  }
  const resumed = await loadCheckpoint<S>(dir, rule.check);
  // The run's identity comes from the checkpoint; the schedule (epochs, λ, lr) may be changed.
  const opts = rule.merge(options, resumed.state.options);
  log(`resuming from ${dir} (epoch ${resumed.state.epoch} of ${opts.epochs} done)`);
  return { opts, resumed };
}

/** Steps per epoch of `epochImages` photos, `perStep` a step. */
export function scheduleOf(perStep: number, epochImages: number): Schedule {
  const steps = Math.floor(epochImages / perStep);
  if (steps < 1) throw new Error(`epochImages (${epochImages}) is fewer than one step of ${perStep} photos`);
  return { perStep, epochImages, steps };
}

function modelConfig(opts: TrainOptions): ModelConfig {
  const cfg: ModelConfig = { arch: opts.model, size: opts.size, ngf: opts.ngf, ndf: opts.ndf, zDim: opts.zDim, bnMomentum: 0.9 };
  if (opts.model === 'unet' && !opts.globalContext) cfg.globalContext = false;
  return cfg;
}

/** A saved generator to start from; its architecture must match the run's. */
async function initialGenerator(dir: string, cfg: ModelConfig): Promise<tf.LayersModel> {
  const meta = await readMetadata(dir);
  for (const k of ['arch', 'size', 'ngf', 'zDim'] as const) {
    if (meta.config[k] !== cfg[k]) throw new Error(`${dir}: generator has ${k} = ${meta.config[k]}, the run wants ${cfg[k]}`);
  }
  return loadModelFromDir(dir);
}

/** G and D (from the checkpoint, G from --init, or new from the seed) and their optimizers. */
async function buildNetworks(opts: TrainOptions, cfg: ModelConfig, resumed: LoadedCheckpoint | null): Promise<GanStep> {
  const G = resumed?.G ?? (opts.init ? await initialGenerator(opts.init, cfg) : buildGenerator(cfg, { seed: opts.seed }));
  const D = resumed?.D ?? buildDiscriminator(cfg, { seed: opts.seed });
  const { l1, l2, psnr, chromaSpread, adversarial, lr, beta1, diversity, accum, featureMatch } = opts;
  const gan = new GanStep(G, D, cfg.size, cfg.zDim, { l1, l2, psnr, chromaSpread, adversarial, lr, beta1, diversity, accum, featureMatch });
  if (resumed) {
    await gan.setOptimizerWeights(resumed.optG, resumed.optD);
    resumed.optG.forEach((t) => t.tensor.dispose());
    resumed.optD.forEach((t) => t.tensor.dispose());
  }
  return gan;
}

/** One step, with an out-of-memory failure turned into one clear line. */
function step(run: StepContext, next: () => StepLosses): StepLosses {
  try {
    return next();
  } catch (err) {
    // A batch too large for the heap: one clear line instead of a bare "Aborted()".
    // The wasm module may be dead now, so nothing else runs; checkpoints are only
    // written at the end of an epoch, so the last complete one is untouched.
    if (isOutOfMemory(err)) {
      const { batch, accum } = run.opts;
      throw new OutOfMemoryError(outOfMemoryMessage({ batch, accum, model: run.cfg.arch, backend: tf.getBackend() }, err), { cause: err });
    }
    throw err;
  }
}

function checkFinite(run: StepContext, losses: StepLosses, epoch: number, s: number): void {
  for (const [k, v] of Object.entries(losses)) {
    if (!Number.isFinite(v)) {
      throw new TrainingDivergedError(
        `training diverged: ${k} loss is ${v} at epoch ${epoch}, step ${s + 1}; ` +
          (run.lastCheckpoint ? `the last good checkpoint is kept at ${run.lastCheckpoint}` : 'no checkpoint was written yet') +
          ' (try a lower --lr or a higher --l1)',
      );
    }
  }
}

/** The steps of one epoch, then validation: the epoch's record. */
async function trainEpoch(run: Run, epoch: number): Promise<EpochRecord> {
  const { opts, gan } = run;
  const batches = epochBatches(run.data, opts, epoch, run.schedule);
  const { sums, seconds, steps, perStep } = await epochSteps(run, epoch, (s) => batches.next(s));
  const val = validationBySource(gan.G, run.data.valSets, opts.zDim);
  const rec: EpochRecord = {
    epoch,
    gAdv: sums.gAdv / steps,
    l1: sums.l1 / steps,
    d: sums.d / steps,
    valL1: val.mean,
    valMse: val.mse,
    valPsnr: val.psnr,
    seconds: Number(seconds.toFixed(1)),
    imagesPerSecond: Number(((steps * perStep) / seconds).toFixed(2)),
  };
  if (opts.diversity > 0) rec.div = sums.div / steps;
  if (opts.featureMatch > 0) rec.fm = sums.fm / steps;
  if (Object.keys(val.bySource).length > 1) {
    rec.valL1BySource = val.bySource;
    rec.valMseBySource = val.mseBySource;
    rec.valPsnrBySource = val.psnrBySource;
  }
  return rec;
}

/**
 * The optimizer steps of one epoch on the batches `next` gives, in order: each checked
 * for non-finite losses, logged every few steps, a signal honoured after each. Returns
 * the sums of the losses and the time taken.
 */
export async function epochSteps(
  run: StepContext,
  epoch: number,
  next: (s: number) => Batch,
): Promise<{ sums: { gAdv: number; l1: number; d: number; div: number; fm: number }; seconds: number; steps: number; perStep: number }> {
  const { opts, gan, ev, schedule } = run;
  const { steps, perStep } = schedule;
  ev.epochStart?.(epoch, opts.epochs, steps, perStep);
  const t0 = performance.now();
  const sums = { gAdv: 0, l1: 0, d: 0, div: 0, fm: 0 };
  let win = { gAdv: 0, l1: 0, d: 0, n: 0 };
  for (let s = 0; s < steps; s++) {
    const losses = step(run, () => gan.step(next(s)));
    checkFinite(run, losses, epoch, s);
    sums.gAdv += losses.gAdv;
    sums.l1 += losses.l1;
    sums.d += losses.d;
    sums.div += losses.div ?? 0;
    sums.fm += losses.fm ?? 0;
    win.gAdv += losses.gAdv;
    win.l1 += losses.l1;
    win.d += losses.d;
    win.n++;
    if (win.n === STEP_LOG_EVERY || s === steps - 1) {
      run.stepLog.push([epoch - 1 + (s + 1) / steps, win.gAdv / win.n, win.l1 / win.n, win.d / win.n]);
      win = { gAdv: 0, l1: 0, d: 0, n: 0 };
    }
    ev.step?.(s + 1, steps, losses);
    await stopIfAsked(run, epoch, s);
  }
  return { sums, seconds: (performance.now() - t0) / 1000, steps, perStep };
}

/** Between steps: a signal (ev.shouldStop) ends the run, the last complete checkpoint intact. */
async function stopIfAsked(run: StepContext, epoch: number, s: number): Promise<void> {
  const { shouldStop } = run.ev;
  if (!shouldStop) return;
  // The step loop is synchronous: let the event loop run so a signal handler can set the flag.
  await new Promise((r) => setImmediate(r));
  const signal = shouldStop();
  if (!signal) return;
  run.gan.dispose();
  throw new TrainingInterruptedError(
    signal,
    `stopped by ${signal} at epoch ${epoch}, step ${s + 1}; ` +
      (run.lastCheckpoint ? `the last complete checkpoint is ${run.lastCheckpoint} (--resume continues from it)` : 'no checkpoint was written yet'),
  );
}

/** The generator's metadata after an epoch: its config, the run's data and saved options, the validation means. */
function metadataOf(run: Run, rec: EpochRecord): ModelMetadata {
  const { data, opts } = run;
  return generatorMetadata(run.cfg, {
    training: {
      data: [...data.all.roots.keys()].join(', '),
      sources: data.sources,
      trainImages: data.trainSet.files.length,
      valImages: data.valSet.files.length,
      ...trainingRecordOptions(opts),
      epochs: rec.epoch, // epochs done, not asked for
    },
    metrics: {
      valL1: rec.valL1,
      ...(rec.valMse === undefined ? {} : { valMse: rec.valMse }),
      ...(rec.valPsnr === undefined ? {} : { valPsnr: rec.valPsnr }),
    },
  });
}

/** The end of an epoch: sample grid, checkpoint and exports, loss log. */
async function endEpoch(run: Run, rec: EpochRecord, samples: SamplePhoto[]): Promise<void> {
  const runDir = run.opts.out;
  await writeSampleGrid(runDir, rec.epoch, run.gan.G, run.cfg, samples);
  const state = {
    epoch: rec.epoch,
    seed: run.opts.seed,
    options: savedRunOptions(run.opts),
    history: run.history,
    stepLog: run.stepLog,
    savedAt: new Date().toISOString(),
  };
  run.lastCheckpoint = await saveEpoch(runDir, run.gan, state, metadataOf(run, rec), isBest(run.history, rec, selectionOf(run.opts)));
  await writeLogs(runDir, run.history, run.stepLog);
}
