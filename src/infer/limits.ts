/** Limits of the colorize options, in one place (no heavy imports: the CLI checks flags with them first). */

/** Largest render size (short side of the model grid) accepted: memory and time grow with its square. */
export const MAX_RENDER_SIZE = 1024;

/** Largest chroma gain (`saturation`) accepted. */
export const MAX_SATURATION = 4;
