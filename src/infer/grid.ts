/**
 * The grid the generator runs on for a photo. The paper's networks (a dense layer maps z
 * to one S×S map) only run at their training size: the photo is squashed to S×S. A fully
 * convolutional network (`unet`) keeps the photo's aspect: its short side becomes the
 * render size (default: the training size; DeOldify's render_factor), both sides rounded
 * to the network's multiple.
 */
import { UNET_MULTIPLE, type ModelConfig } from '../models/config.js';

import { MAX_RENDER_SIZE } from './limits.js';

export interface Grid {
  width: number;
  height: number;
}

/** True for networks that run on any multiple-of-{@link UNET_MULTIPLE} grid. */
export function isFullyConvolutional(cfg: ModelConfig): boolean {
  return cfg.arch === 'unet';
}

export function checkRenderSize(renderSize: unknown): asserts renderSize is number {
  if (typeof renderSize !== 'number' || !Number.isInteger(renderSize) || renderSize < 16 || renderSize > MAX_RENDER_SIZE) {
    throw new RangeError(`renderSize must be an integer from 16 to ${MAX_RENDER_SIZE}, got ${String(renderSize)}`);
  }
}

/** The model grid for a width × height photo. */
export function modelGrid(cfg: ModelConfig, width: number, height: number, renderSize?: number): Grid {
  if (!isFullyConvolutional(cfg)) {
    if (renderSize !== undefined && renderSize !== cfg.size) {
      throw new RangeError(`renderSize ${renderSize}: the ${cfg.arch} model runs only at its training size ${cfg.size}`);
    }
    return { width: cfg.size, height: cfg.size };
  }
  const rs = renderSize ?? cfg.size;
  checkRenderSize(rs);
  const m = UNET_MULTIPLE;
  const round = (x: number) => Math.max(m, Math.round(x / m) * m);
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const s = round(rs);
  const l = round((rs * long) / short);
  return width <= height ? { width: s, height: l } : { width: l, height: s };
}
