/**
 * The colorize options one photo's request may set, as option-schema entries
 * (src/util/options.ts): one definition each for the CLI's flags, the HTTP service's query
 * parameters and the queue's job options. No heavy imports: flags are checked with these
 * before TensorFlow.js and sharp load.
 */
import { MAX_RENDER_SIZE, MAX_SATURATION, UPSAMPLE_METHODS } from './limits.js';

/** The encoded output formats (EncodeFormat of data/decode.ts); "jpg" is read as jpeg. */
export const FORMAT_NAMES = ['png', 'jpeg', 'webp'] as const;

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
  saturation: { type: 'number', min: 0, max: MAX_SATURATION, defaultText: "the model's, 1", help: 'chroma gain: 0 = gray, 1 = as predicted' },
} as const;

/** What comes out: the noise seed, how many samples, the encoding. */
export const OUTPUT_OPTIONS = {
  samples: {
    type: 'int',
    min: 1,
    max: 64,
    help: 'N colorizations per photo with different noise z (default: one)',
  },
  seed: { type: 'int', min: 0, max: 2 ** 32 - 1, default: 0, help: 'seed of the noise z' },
  format: {
    type: 'choice',
    choices: FORMAT_NAMES,
    default: 'png',
    arg: 'F',
    unknownAs: '--format',
    normalize: (f: string) => (f.toLowerCase() === 'jpg' ? 'jpeg' : f.toLowerCase()),
    help: 'png | jpeg | webp',
  },
  quality: { type: 'int', min: 1, max: 100, defaultText: '92', help: 'JPEG/WebP quality' },
} as const;
