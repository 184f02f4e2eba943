/** Limits and choices of the colorize options, in one place (no heavy imports: the CLI checks flags with them first). */

/** Largest render size (short side of the model grid) accepted: memory and time grow with its square. */
export const MAX_RENDER_SIZE = 1024;

/** Most colorizations of one photo in one call (each is a full-resolution image). */
export const MAX_SAMPLES = 1000;

/** How chroma predicted on the model grid is brought to full resolution (see sharpen.ts), and the largest chroma gain: listed in models/, whose metadata names defaults. */
export { MAX_SATURATION, UPSAMPLE_METHODS, type UpsampleMethod } from '../models/metadata.js';
