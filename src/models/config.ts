/** Network configuration: everything needed to rebuild a generator or discriminator. */

export type Architecture = 'baseline' | 'advanced';

export interface ModelConfig {
  /** 'baseline' = the paper's 7-layer CNN; 'advanced' = + input copy concatenated and mixed by one more conv (paper Fig. 4). */
  arch: Architecture;
  /** Square model size in pixels (the paper: 64). Must be a multiple of 8. */
  size: number;
  /** Generator base width (channels of its first layer). */
  ngf: number;
  /** Discriminator base width. */
  ndf: number;
  /** Length of the noise vector z, projected to one size×size channel. */
  zDim: number;
  /** Batch-norm momentum for the moving statistics used at inference. */
  bnMomentum: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  arch: 'advanced',
  size: 64,
  ngf: 64,
  ndf: 64,
  zDim: 64,
  bnMomentum: 0.9,
};

export function checkModelConfig(c: ModelConfig): void {
  if (c.arch !== 'baseline' && c.arch !== 'advanced') throw new Error(`unknown model "${c.arch}" (expected baseline or advanced)`);
  if (!Number.isInteger(c.size) || c.size < 16 || c.size % 8 !== 0) throw new Error(`model size must be a multiple of 8 and at least 16, got ${c.size}`);
  for (const k of ['ngf', 'ndf', 'zDim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  }
}
