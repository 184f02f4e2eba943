/**
 * Colorization with a trained generator, independent of how pixels are read or written
 * (shared by the Node library, the CLI and the browser app):
 *
 *   full-resolution RGB (gray or color) → luma, area-shrunk to the model grid (grid.ts:
 *   S×S for the paper's models, aspect kept for fully convolutional ones)
 *   → Colorizer.predict: G(y, z) = U,V on the grid → the model's LAPGAN refinement stages,
 *   if it has any (refine.ts: each doubles the grid, from the luma at that scale) → U,V
 *   upsampled to full size (bilinear or guided by the luma) → combined with the photo's
 *   own full-resolution Y (the paper's sharpening).
 *
 * Results are lazy: a Colorization holds the predicted chroma, and its full-resolution
 * and raw model-size images are computed when first read. Samples come one at a time
 * (sampleColorizations), so N samples of a photo never hold N full-size images.
 */
import type * as tf from '../util/tf.js';
import { chromaFromNet, type RgbImage } from '../color/yuv.js';
import type { ModelMetadata } from '../models/metadata.js';
import { predictUv, noiseFor } from './generate.js';
import { sharpenToFullRes, lumaForModel, UPSAMPLE_METHODS, type UpsampleMethod } from './sharpen.js';
import { modelGrid, type Grid } from './grid.js';
import { MAX_SATURATION } from './limits.js';
import { rawRgb } from './raw.js';
import { refinedGrid, refineNoise, runRefineStage, type RefineStage } from './refine.js';

export type { RefineStage } from './refine.js';

/** A trained generator and its metadata (what a Colorizer is made from). */
export interface GeneratorModel {
  model: tf.LayersModel;
  meta: ModelMetadata;
  /** Where it was loaded from (folder or URL). */
  source: string;
  /** Its LAPGAN refinement stages, coarse to fine (none: the base model's grid is the finest). */
  refine?: RefineStage[];
}

/** The photo's luma on the model grid at network scale: what the generator sees. */
export interface ModelLuma {
  grid: Grid;
  data: Float32Array;
}

/** A generator ready to colorize: loadModel() gives one, toColorizer() makes one. */
export interface Colorizer extends GeneratorModel {
  /**
   * The model's chroma at render size for one sample: G(y, z(seed, sample)), gw×gh×2
   * interleaved U,V at network scale, before any saturation gain.
   */
  predict(y: ModelLuma, seed: number, sample: number): Float32Array;
  /** predict for several samples in one generator call (equal to single calls up to float rounding). */
  predictSamples(y: ModelLuma, seed: number, samples: readonly number[]): Float32Array[];
}

export interface ColorizeOptions {
  /** Seed of the noise z (default 0): same photo + seed + sample → same colors. */
  seed?: number;
  /** Which of the colorizations of this seed (0, 1, 2, …); each has its own z. */
  sample?: number;
  /** Short side of the model grid (fully convolutional models; default: the training size). */
  renderSize?: number;
  /** Chroma upsampling to full resolution (default: the model's, else 'bilinear'). */
  upsample?: UpsampleMethod;
  /** Chroma gain: 0 = gray, 1 = as predicted (default: the model's own, inference.saturation in its colorgan.json, else 1). */
  saturation?: number;
  /** false: skip the model's refinement stages (default true: use them where it has any). */
  refine?: boolean;
}

/** One colorization of a photo; `rgb` and `raw` are computed when first read. */
export interface Colorization {
  /** Which sample of the seed this is. */
  readonly sample: number;
  /** Full resolution: the input's own luma with the predicted chroma. */
  readonly rgb: RgbImage;
  /** The generator's direct output on the model grid (its input Y with its U,V). */
  readonly raw: RgbImage;
  /** Predicted U,V on the model grid, interleaved, network scale, with the saturation gain. */
  readonly uv: Float32Array;
  /** The model grid (see grid.ts). */
  readonly grid: Grid;
}

/** A Colorizer over a generator; one that already is a Colorizer is returned as it is. */
export function toColorizer(g: GeneratorModel | Colorizer): Colorizer {
  if ('predict' in g && typeof g.predict === 'function' && typeof g.predictSamples === 'function') return g;
  // Methods read `this`, so a copy with other metadata ({ ...c, meta }) stays consistent.
  return {
    model: g.model,
    meta: g.meta,
    source: g.source,
    ...(g.refine?.length ? { refine: g.refine } : {}),
    predict(y, seed, sample) {
      return this.predictSamples(y, seed, [sample])[0];
    },
    predictSamples(y, seed, samples) {
      const { zDim } = this.meta.config;
      return predictUv(
        this.model,
        y.grid,
        samples.map(() => y.data),
        samples.map((s) => noiseFor(seed, s, zDim)),
      );
    },
  };
}

/** The photo's luma on the model's grid for it (checks renderSize against the model). */
export function modelLuma(g: GeneratorModel, img: RgbImage, renderSize?: number): ModelLuma {
  const grid = modelGrid(g.meta.config, img.width, img.height, renderSize);
  return { grid, data: lumaForModel(img.data, img.width, img.height, grid.width, grid.height) };
}

/**
 * The photo's luma on the base grid (`y`), on the grid of each refinement stage that runs
 * (`lumas`, as stageGrids), and the finest of them, which guides the upsampling.
 */
export function stageLumas(g: GeneratorModel, img: RgbImage, renderSize?: number, refine?: boolean): { y: ModelLuma; lumas: ModelLuma[]; finest: ModelLuma } {
  const y = modelLuma(g, img, renderSize);
  const lumas = stageGrids(g, y.grid, img.width, img.height, refine).map((grid) => ({
    grid,
    data: lumaForModel(img.data, img.width, img.height, grid.width, grid.height),
  }));
  return { y, lumas, finest: lumas.at(-1) ?? y };
}

class LazyColorization implements Colorization {
  #rgb: RgbImage | undefined;
  #raw: RgbImage | undefined;
  constructor(
    private readonly img: RgbImage,
    private readonly y: ModelLuma,
    readonly uv: Float32Array,
    readonly sample: number,
    private readonly upsample: UpsampleMethod,
  ) {}

  get grid(): Grid {
    return this.y.grid;
  }

  get rgb(): RgbImage {
    const { img, uv, upsample } = this;
    this.#rgb ??= {
      width: img.width,
      height: img.height,
      data: sharpenToFullRes(img.data, img.width, img.height, uv, this.grid, undefined, { upsample, guide: this.y.data }),
    };
    return this.#rgb;
  }

  get raw(): RgbImage {
    this.#raw ??= rawRgb(this.y.data, this.uv, this.grid);
    return this.#raw;
  }
}

/**
 * Samples whose chroma is predicted in one generator call: a few grid-sized planes, not
 * full-size images (and a bounded batch for the generator's activations).
 */
const SAMPLE_BATCH = 8;

/** The chroma upsampling asked for, else the model's default, else bilinear. */
export function upsampleOf(g: GeneratorModel, opts: { upsample?: UpsampleMethod }): UpsampleMethod {
  return opts.upsample ?? g.meta.inference?.upsample ?? 'bilinear';
}

/**
 * `count` colorizations of one photo with consecutive samples, one at a time: each is
 * yielded before the next batch is predicted, and its full-resolution image is made
 * only when read. Options are checked before the first is asked for. The input is not
 * modified (and must not be while results are read).
 */
export function sampleColorizations(g: GeneratorModel, img: RgbImage, count: number, opts: ColorizeOptions = {}): Generator<Colorization> {
  const c = toColorizer(g);
  const seed = opts.seed ?? 0;
  const first = opts.sample ?? 0;
  if (opts.upsample !== undefined && !UPSAMPLE_METHODS.includes(opts.upsample)) {
    throw new RangeError(`upsample must be ${UPSAMPLE_METHODS.join(' or ')}, got ${JSON.stringify(opts.upsample)}`);
  }
  if (opts.refine !== undefined && typeof opts.refine !== 'boolean') throw new TypeError(`refine must be a boolean, got ${typeof opts.refine}`);
  const gain = chromaGain(c, opts);
  const { y, lumas, finest } = stageLumas(c, img, opts.renderSize, opts.refine);
  const upsample = upsampleOf(c, opts);
  return (function* () {
    for (let done = 0; done < count; ) {
      const samples = Array.from({ length: Math.min(SAMPLE_BATCH, count - done) }, (_, i) => first + done + i);
      const uvs = predictChroma(c, y, lumas, seed, samples);
      for (let i = 0; i < samples.length; i++) {
        yield new LazyColorization(img, finest, scaleChroma(uvs[i], gain), samples[i], upsample);
      }
      done += samples.length;
    }
  })();
}

/**
 * The grids of the refinement stages that run on a width×height photo whose base grid is
 * `base` (each twice the one below), for the stages that fit in the photo: a stage whose
 * grid would exceed the photo has no finer detail to add. None with `refine` false.
 */
export function stageGrids(g: GeneratorModel, base: Grid, width: number, height: number, refine?: boolean): Grid[] {
  const out: Grid[] = [];
  let grid = base;
  for (let k = 0; k < (refine === false ? 0 : (g.refine?.length ?? 0)); k++) {
    grid = refinedGrid(grid);
    if (grid.width > width || grid.height > height) break;
    out.push(grid);
  }
  return out;
}

/**
 * The chroma of `samples` of one photo on its finest grid, before any gain: the generator
 * on the base luma `y`, then stage k on `lumas[k]` (one per grid of stageGrids). Shared by
 * the general and the streaming paths, so both run the same stages with the same noise.
 */
export function predictChroma(c: Colorizer, y: ModelLuma, lumas: readonly ModelLuma[], seed: number, samples: readonly number[]): Float32Array[] {
  let uvs = c.predictSamples(y, seed, samples);
  lumas.forEach((l, k) => {
    const stage = c.refine![k];
    const noises = samples.map((s) => refineNoise(seed, s, k + 1, l.grid.width * l.grid.height * stage.meta.config.zDim));
    uvs = runRefineStage(stage, l.grid, l.data, uvs, noises);
  });
  return uvs;
}

/** All `count` colorizations of one photo at once (see sampleColorizations). */
export function colorizeImageSamples(g: GeneratorModel, img: RgbImage, count: number, opts: ColorizeOptions = {}): Colorization[] {
  return [...sampleColorizations(g, img, count, opts)];
}

export function colorizeImage(g: GeneratorModel, img: RgbImage, opts: ColorizeOptions = {}): Colorization {
  return colorizeImageSamples(g, img, 1, opts)[0];
}

/** The chroma gain for a call: the option, else the model's default, else 1 (validated). */
export function chromaGain(g: GeneratorModel, opts: ColorizeOptions): number {
  const gain = opts.saturation ?? g.meta.inference?.saturation ?? 1;
  if (typeof gain !== 'number' || !(gain >= 0 && gain <= MAX_SATURATION)) {
    throw new RangeError(`saturation must be a number from 0 to ${MAX_SATURATION}, got ${String(gain)}`);
  }
  return gain;
}

/** Multiply predicted U,V (network scale, centred on 0) by `gain`, in place. */
export function scaleChroma(uv: Float32Array, gain: number): Float32Array {
  if (gain !== 1) for (let i = 0; i < uv.length; i++) uv[i] *= gain;
  return uv;
}

/** Mean absolute difference of U,V between two colorizations, in 8-bit levels. */
export function chromaDifference(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return chromaFromNet(s / a.length);
}
