/** Limits and choices of the colorize options, in one place (no heavy imports: the CLI checks flags with them first). */

/** Largest render size (short side of the model grid) accepted: memory and time grow with its square. */
export const MAX_RENDER_SIZE = 1024;

/** Largest chroma gain (`saturation`) accepted. */
export const MAX_SATURATION = 4;

/** How chroma predicted on the model grid is brought to full resolution (see sharpen.ts). */
export const UPSAMPLE_METHODS = ['bilinear', 'guided'] as const;
export type UpsampleMethod = (typeof UPSAMPLE_METHODS)[number];
