/** Training options, their defaults and validation (the CLI maps flags onto these). */
import type { Architecture } from '../models/config.js';

export interface TrainOptions {
  /** Folder(s) of color photos (walked recursively); sub-folders are sources (src/data/sources.ts). */
  data: string | string[];
  /** Run folder: checkpoints, sample grids, losses. Keep it outside the checkout. */
  out: string;
  model: Architecture;
  epochs: number;
  /** λ of the image-space L1 term (0 = the paper's pure GAN). */
  l1: number;
  /** Weight of an image-space L2 (mean squared error) term: the conditional mean, which PSNR rewards (0 = off). */
  l2: number;
  /** Photos per micro-batch: what is in memory at once. */
  batch: number;
  /**
   * Gradient accumulation: micro-batches per optimizer step, so each Adam step of G and
   * of D uses gradients averaged over batch × accum photos (the effective batch).
   */
  accum: number;
  size: number;
  seed: number;
  lr: number;
  beta1: number;
  ngf: number;
  ndf: number;
  zDim: number;
  /** Weight of the mode-seeking diversity term (0 = off, as in the paper). */
  diversity: number;
  /** Weight of the feature-matching loss on D's hidden layers (0 = off, as in the paper). */
  featureMatch: number;
  /** unet: the global-context branch (false: an ablation without it). */
  globalContext: boolean;
  /** Mirror each training crop left-right with probability ½ (data augmentation). */
  flip: boolean;
  /** Sources left out of training and validation (e.g. "scenes/urban"), for a generalization check. */
  exclude?: string[];
  /** Photos per epoch (default: the number of training photos); drawn balanced by source. */
  epochImages?: number;
  valFraction: number;
  resume: boolean;
  /** Rows of the per-epoch sample grid. */
  sampleRows: number;
  /** Start the generator from this saved generator folder (e.g. the bundled model) instead of random weights. */
  init?: string;
  /** Use at most this many training images (quick experiments, tests). */
  limit?: number;
  cacheDir?: string;
}

export const DEFAULT_TRAIN_OPTIONS: Omit<TrainOptions, 'data' | 'out'> = {
  model: 'advanced',
  epochs: 20,
  l1: 100,
  l2: 0,
  batch: 16,
  accum: 1,
  size: 64,
  seed: 1,
  lr: 2e-4,
  beta1: 0.5,
  ngf: 64,
  ndf: 64,
  zDim: 64,
  diversity: 0,
  featureMatch: 0,
  flip: true,
  globalContext: true,
  valFraction: 0.3,
  resume: false,
  sampleRows: 8,
};

/** Options that define the run and must not change on --resume. */
export const FIXED_ON_RESUME = ['model', 'size', 'ngf', 'ndf', 'zDim', 'seed', 'valFraction', 'limit', 'flip', 'exclude', 'globalContext'] as const;

/** Throw a one-line error for option values train() cannot use. */
export function validateTrainOptions(o: Pick<TrainOptions, 'batch' | 'accum'>): void {
  for (const k of ['batch', 'accum'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`${k} must be a positive integer, got ${o[k]}`);
  }
}
