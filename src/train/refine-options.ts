/**
 * `colorgan train-refine`'s options: one schema entry each (src/util/options.ts), most of
 * them train's own entries (./options.ts) with the defaults of a refinement stage; the
 * rest name the frozen base model and the scales.
 */
import { checkOptions, checkRequired, defaultsOf, entriesOf, keysWhere, type InputOf, type OptionsOf } from '../util/options.js';
import { TRAIN_SCHEMA } from './options.js';

const T = TRAIN_SCHEMA;

export const REFINE_SCHEMA = {
  data: T.data,
  out: {
    ...T.out,
    help: 'run folder: checkpoints, samples/, losses.jsonl, generator/ (the stage), model/ (the base model with its best stage as refine-1/). Keep it outside the checkout',
  },
  base: {
    type: 'string',
    default: 'general',
    arg: 'MODEL',
    resume: 'fixed',
    saved: true,
    help: 'the frozen base model whose chroma the stage refines: general (bundled, default), sky, or a generator folder',
  },
  scales: {
    type: 'int',
    min: 2,
    max: 4,
    multipleOf: 2,
    default: 2,
    resume: 'fixed',
    saved: true,
    help: 'the scale of the stage trained, over the base model: 2 (the ×2 stage) or 4 (the ×4 stage, on a base with a ×2 stage; from a base without one, the ×2 stage is trained first, in RUN/scale-2/)',
  },
  epochs: { ...T.epochs, default: 10 },
  l1: T.l1,
  featureMatch: T.featureMatch,
  batch: T.batch,
  accum: T.accum,
  seed: T.seed,
  lr: T.lr,
  beta1: T.beta1,
  ngf: { ...T.ngf, default: 32, help: 'refinement network width' },
  ndf: { ...T.ndf, default: 32, help: 'discriminator width (it runs at twice the base size)' },
  zDim: { ...T.zDim, default: 1, help: 'channels of per-pixel noise' },
  exclude: { ...T.exclude, help: 'leave a source out, never decoded (repeatable): e.g. scenes/tiny-imagenet, stored at 64×64, so it has no finer band' },
  epochImages: T.epochImages,
  flip: T.flip,
  limit: T.limit,
  resume: T.resume,
  valFraction: T.valFraction,
  sampleRows: T.sampleRows,
  cacheDir: T.cacheDir,
} as const;

type Schema = typeof REFINE_SCHEMA;
export type RefineOptions = OptionsOf<Schema>;
export type RefineInput = InputOf<Schema>;
export type SavedRefineOptions = Partial<Omit<RefineOptions, 'resume'>>;

export const DEFAULT_REFINE_OPTIONS = defaultsOf(REFINE_SCHEMA);
const FIXED = keysWhere(REFINE_SCHEMA, { resume: 'fixed' } as const);
const CHANGEABLE = keysWhere(REFINE_SCHEMA, { resume: 'changeable' } as const);

/** Every option checked before anything is read (one line naming the option), then the defaults. */
export function setupRefineOptions(input: RefineInput): { options: RefineOptions; given: Partial<RefineOptions> } {
  checkRequired(REFINE_SCHEMA, input);
  const given = checkOptions(REFINE_SCHEMA, input);
  const options = { ...DEFAULT_REFINE_OPTIONS, ...given } as RefineOptions;
  return { options, given };
}

/** A checkpoint's recorded options, checked like a caller's (unknown names ignored). */
export function checkSavedRefineOptions(saved: object, prefix: string): SavedRefineOptions {
  const known = Object.fromEntries(Object.entries(saved).filter(([k]) => k in REFINE_SCHEMA && k !== 'resume'));
  return checkOptions(REFINE_SCHEMA, known, prefix);
}

/** --resume: the run's identity from the checkpoint, the schedule from this call where given. */
export function mergeResumedRefine(options: RefineOptions, given: Partial<RefineOptions>, saved: SavedRefineOptions): RefineOptions {
  const merged: Record<string, unknown> = { ...options };
  for (const k of FIXED) if (k in saved) merged[k] = saved[k];
  for (const k of CHANGEABLE) if (given[k] === undefined && saved[k] !== undefined) merged[k] = saved[k];
  return merged as RefineOptions;
}

/** What a checkpoint records of the options. */
export function savedRefineOptions(o: RefineOptions): SavedRefineOptions {
  const { resume: _notRecorded, ...rest } = o;
  return rest;
}

/** The options the stage's metadata records (entries marked `saved`). */
export function refineRecordOptions(o: RefineOptions): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, s] of entriesOf(REFINE_SCHEMA)) {
    const v = o[k];
    if ('saved' in s && v !== undefined) out[s.saved === true ? k : (s.saved as string)] = v as string | number | boolean | string[];
  }
  return out;
}
