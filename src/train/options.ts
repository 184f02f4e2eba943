/**
 * The training options: one schema entry per option (src/util/options.ts), from which the
 * TrainOptions type, the defaults, `colorgan train`'s flags, usage text and checks, what
 * --resume takes from the checkpoint, and the `training` record of the saved metadata are
 * derived. Adding an option is adding its entry here.
 */
import { ARCHITECTURES } from '../models/config.js';
import { checkOptions, checkRequired, defaultsOf, entriesOf, keysWhere, type InputOf, type OptionsOf, type OptionSpec, type ValueOf } from '../util/options.js';

interface TrainOptionSpec extends OptionSpec {
  /**
   * On --resume: 'fixed' options define the run and come from the checkpoint; 'changeable'
   * ones (the schedule) are this call's if given, else the checkpoint's; the others are
   * always this call's.
   */
  readonly resume?: 'fixed' | 'changeable';
  /** Recorded in the generator's metadata (colorgan.json `training`), under this name if a string. */
  readonly saved?: true | string;
}

export const TRAIN_SCHEMA = {
  data: {
    type: 'list',
    required: 'a folder of color photos',
    help: 'folder of color photos (searched recursively); repeat for several. Each first-level sub-folder is a source: split 70/30 per source and sampled balanced by source',
  },
  out: {
    type: 'string',
    arg: 'RUN_DIR',
    required: 'where checkpoints and samples go',
    help: 'run folder: checkpoints, samples/, losses.jsonl, loss-curve.png, generator/. Keep it outside the checkout',
  },
  model: {
    type: 'choice',
    choices: ARCHITECTURES,
    default: 'advanced',
    arg: 'NAME',
    unknownAs: 'model',
    resume: 'fixed',
    help: "baseline | advanced (the paper's) | unet (ours, general scenes)",
  },
  epochs: { type: 'int', min: 1, default: 20, resume: 'changeable', saved: true, help: 'total epochs' },
  l1: { type: 'number', min: 0, default: 100, arg: 'λ', resume: 'changeable', saved: true, help: 'weight of the image-space L1 term; 0 = pure GAN' },
  l2: {
    type: 'number',
    min: 0,
    default: 0,
    arg: 'μ',
    resume: 'changeable',
    saved: true,
    help: 'weight of an image-space L2 (squared error) term: the conditional mean, which PSNR rewards',
  },
  adversarial: {
    type: 'number',
    min: 0,
    default: 1,
    arg: 'α',
    resume: 'changeable',
    saved: true,
    help: "weight of G's adversarial term; 0 (with --feature-match 0) trains G by regression alone and skips D's steps",
  },
  psnr: {
    type: 'number',
    min: 0,
    default: 0,
    arg: 'β',
    resume: 'changeable',
    saved: true,
    help: "weight of the mean over photos of log(squared RGB error): mean PSNR's own loss (every photo's relative error counts alike); 0 = off",
  },
  chromaSpread: {
    type: 'number',
    min: 0,
    default: 0,
    arg: 'γ',
    resume: 'changeable',
    saved: true,
    help: "weight of the per-photo chroma-spread term: (RMS chroma of the photo − of G's output)², so G guesses how colorful each photo is; 0 = off",
  },
  batch: { type: 'int', min: 2, default: 16, resume: 'changeable', saved: true, help: 'batch size: photos in memory at once' },
  accum: {
    type: 'int',
    min: 1,
    default: 1,
    resume: 'changeable',
    saved: true,
    help: 'gradient accumulation: each optimizer step averages the gradients of N batches, so the effective batch is batch × N at the memory of one batch; for batches too large for the 4 GB wasm heap',
  },
  size: { type: 'int', min: 16, multipleOf: 8, default: 64, resume: 'fixed', help: 'model size in pixels, a multiple of 8' },
  seed: { type: 'int', min: 0, default: 1, resume: 'fixed', saved: true, help: 'seed of the split, initialization, order and noise' },
  lr: { type: 'number', min: 0, default: 2e-4, resume: 'changeable', saved: true, help: 'Adam learning rate' },
  beta1: { type: 'number', min: 0, default: 0.5, resume: 'changeable', saved: true, help: "Adam's β1" },
  ngf: { type: 'int', min: 1, default: 64, resume: 'fixed', help: 'generator width (channels of its first layer)' },
  ndf: { type: 'int', min: 1, default: 64, resume: 'fixed', help: 'discriminator width' },
  zDim: { type: 'int', min: 1, default: 64, flag: false, resume: 'fixed', help: 'length of the noise vector z' },
  diversity: {
    type: 'number',
    min: 0,
    default: 0,
    arg: 'μ',
    resume: 'changeable',
    saved: true,
    help: 'mode-seeking term so different z give different colors; 0 = off, as in the paper',
  },
  featureMatch: {
    type: 'number',
    min: 0,
    default: 0,
    arg: 'φ',
    resume: 'changeable',
    saved: true,
    help: "feature-matching loss on D's hidden layers; 0 = off, as in the paper",
  },
  exclude: {
    type: 'list',
    arg: 'SOURCE',
    resume: 'fixed',
    saved: 'excluded',
    help: 'leave a source out, e.g. scenes/urban (repeatable; generalization check)',
  },
  epochImages: { type: 'int', min: 1, defaultText: 'all training photos', resume: 'changeable', help: 'photos per epoch, drawn balanced by source' },
  balance: {
    type: 'number',
    min: 0,
    max: 1,
    default: 0,
    arg: 'P',
    resume: 'changeable',
    saved: true,
    help: 'draw each source in proportion to (its training photos)^P: 0 = every source equally often, 1 = every photo equally often',
  },
  globalContext: { type: 'boolean', default: true, flag: 'no-global', resume: 'fixed', help: 'unet without its global-context branch (an ablation)' },
  flip: {
    type: 'boolean',
    default: true,
    flag: 'no-flip',
    resume: 'fixed',
    saved: true,
    help: 'no left-right mirroring of training crops (default: mirror half)',
  },
  zoom: {
    type: 'number',
    min: 1,
    max: 4,
    default: 1,
    arg: 'Z',
    resume: 'changeable',
    saved: true,
    help: 'zoom augmentation: each training crop is a random square window of 1/z of the photo, z in [1, Z], resized back; 1 = off',
  },
  cropFrom: {
    type: 'int',
    min: 8,
    max: 512,
    arg: 'N',
    defaultText: 'the model size',
    resume: 'fixed',
    saved: true,
    help: 'cut training crops from the photos decoded at N×N (N ≥ the model size): the window of --zoom is 1/z of that, resized down, so with N = size × zoom no crop is upsampled',
  },
  init: { type: 'string', saved: 'initFrom', help: 'start the generator from a saved generator folder (e.g. models/sky) instead of random weights' },
  limit: { type: 'int', min: 1, resume: 'fixed', help: 'use at most N training photos (quick experiments)' },
  resume: { type: 'boolean', default: false, help: "continue from the run's last complete checkpoint" },
  valFraction: { type: 'number', min: 0, max: 1, default: 0.3, flag: false, resume: 'fixed', help: 'part of each source held out for validation' },
  sampleRows: { type: 'int', min: 1, default: 8, flag: false, help: 'rows of the per-epoch sample grid' },
  cacheDir: { type: 'string', flag: false, help: 'folder of the decoded-photo cache (default: $COLORGAN_CACHE, else the user cache)' },
} as const satisfies Readonly<Record<string, TrainOptionSpec>>;

type Schema = typeof TRAIN_SCHEMA;

/** The options a run uses (defaults filled in). */
export type TrainOptions = OptionsOf<Schema>;
/** What train() takes: data and out, any other option. */
export type TrainInput = InputOf<Schema>;
/** The options a checkpoint records: all but `resume` (older checkpoints may lack newer ones). */
export type SavedRunOptions = Partial<Omit<TrainOptions, 'resume'>>;

type SavedName<K, S> = S extends { readonly saved: infer N extends string } ? N : S extends { readonly saved: true } ? K : never;
/** The options recorded in the generator's metadata, by their names there. */
export type TrainingRecordOptions = { [K in keyof Schema as SavedName<K, Schema[K]>]?: ValueOf<Schema[K]> };

export const DEFAULT_TRAIN_OPTIONS = defaultsOf(TRAIN_SCHEMA);

/** Options that define the run and must not change on --resume. */
export const FIXED_ON_RESUME = keysWhere(TRAIN_SCHEMA, { resume: 'fixed' } as const);
/** Options a resumed run takes from the checkpoint unless given again (the schedule). */
export const CHANGEABLE_ON_RESUME = keysWhere(TRAIN_SCHEMA, { resume: 'changeable' } as const);

/**
 * The life cycle's setup: every option checked before anything is read or decoded (one
 * line naming the option and its value), then the defaults. `given` holds the options the
 * caller set, which --resume needs to know.
 */
export function setupTrainOptions(input: TrainInput): { options: TrainOptions; given: Partial<TrainOptions> } {
  checkRequired(TRAIN_SCHEMA, input);
  const given = checkOptions(TRAIN_SCHEMA, input);
  const options = { ...DEFAULT_TRAIN_OPTIONS, ...given } as TrainOptions; // data and out: checked just above
  if (options.cropFrom !== undefined && options.cropFrom < options.size)
    throw new RangeError(`--crop-from ${options.cropFrom}: smaller than the model size ${options.size}`);
  return { options, given };
}

/** A checkpoint's recorded options, checked like a caller's (unknown names of other versions are ignored). */
export function checkSavedOptions(saved: object, prefix: string): SavedRunOptions {
  const known = Object.fromEntries(Object.entries(saved).filter(([k]) => k in TRAIN_SCHEMA && k !== 'resume'));
  return checkOptions(TRAIN_SCHEMA, known, prefix);
}

function take<T, K extends keyof T>(to: T, from: Partial<T>, k: K): void {
  to[k] = from[k] as T[K];
}

/** --resume: the run's identity from the checkpoint; the schedule from this call where given, else from the checkpoint. */
export function mergeResumed(options: TrainOptions, given: Partial<TrainOptions>, saved: SavedRunOptions): TrainOptions {
  const merged = { ...options };
  for (const k of FIXED_ON_RESUME) if (k in saved) take(merged, saved, k);
  for (const k of CHANGEABLE_ON_RESUME) if (given[k] === undefined && saved[k] !== undefined) take(merged, saved, k);
  return merged;
}

/** What a checkpoint records of the options. */
export function savedRunOptions(o: TrainOptions): SavedRunOptions {
  const { resume: _notRecorded, ...rest } = o;
  return rest;
}

/** The options the generator's metadata records (entries marked `saved`). */
export function trainingRecordOptions(o: TrainOptions): TrainingRecordOptions {
  const out: Record<string, unknown> = {};
  for (const [k, s] of entriesOf(TRAIN_SCHEMA)) if ('saved' in s) out[s.saved === true ? k : s.saved] = o[k];
  return out as TrainingRecordOptions;
}
