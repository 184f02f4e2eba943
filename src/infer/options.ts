/**
 * The colorize options one photo's request may set, as option-schema entries
 * (src/util/options.ts): one definition each for the CLI's flags, the HTTP service's query
 * parameters and the queue's job options. No heavy imports: flags are checked with these
 * before TensorFlow.js and sharp load.
 */
import { DEFAULT_QUALITY, ENCODE_FORMATS, encodeFormatOf, type EncodeFormatName } from '../data/formats.js';
import { MAX_RENDER_SIZE, MAX_SAMPLES, MAX_SATURATION, UPSAMPLE_METHODS } from './limits.js';

/** Which model colors (`--model`): loadModel's argument, a bundled model's name or a model folder. */
export const MODEL_OPTION = { type: 'string', arg: 'M', help: "general (default) | sky (the paper's model) | a model folder" } as const;

/** How the model colors: grid size, chroma upsampling, chroma gain. */
export const INFERENCE_OPTIONS = {
  renderSize: {
    type: 'int',
    min: 16,
    max: MAX_RENDER_SIZE,
    defaultText: 'the training size, 64',
    help: 'short side of the model grid: the photo keeps its aspect (fully convolutional models)',
  },
  upsample: {
    type: 'choice',
    choices: UPSAMPLE_METHODS,
    defaultText: "the model's choice",
    help: "chroma to full resolution: bilinear | guided, edge-aware by the photo's luma",
  },
  saturation: {
    type: 'number',
    min: 0,
    max: MAX_SATURATION,
    defaultText: "the model's own, inference.saturation in its colorgan.json, else 1",
    help: 'chroma gain: 0 = gray, 1 = as predicted',
  },
} as const;

/** What comes out: the noise seed, how many samples, the encoding. */
export const OUTPUT_OPTIONS = {
  samples: { type: 'int', min: 1, max: MAX_SAMPLES, help: 'N colorizations per photo with different noise z (default: one)' },
  seed: { type: 'int', min: 0, max: 2 ** 32 - 1, default: 0, help: 'seed of the noise z' },
  format: {
    type: 'choice',
    choices: ENCODE_FORMATS,
    default: 'png',
    arg: 'F',
    unknownAs: '--format',
    normalize: (f: string) => encodeFormatOf(f.toLowerCase() as EncodeFormatName),
    help: 'png | jpeg (or jpg) | webp',
  },
  quality: { type: 'int', min: 1, max: 100, default: DEFAULT_QUALITY, help: 'JPEG and WebP quality' },
} as const;
