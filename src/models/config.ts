/** Network configuration: everything needed to rebuild a generator or discriminator. */

/** The paper's two generators, and our general-scene U-Net (src/models/unet.ts). */
export const ARCHITECTURES = ['baseline', 'advanced', 'unet'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** A LAPGAN refinement stage (src/models/refine.ts): not a colorizer of its own, it refines a base model's chroma. */
export const REFINE_ARCH = 'refine';
/** Every network a model folder may hold. */
export type NetworkArch = Architecture | typeof REFINE_ARCH;
export const NETWORK_ARCHS: readonly NetworkArch[] = [...ARCHITECTURES, REFINE_ARCH];

/** Grid sides of the fully convolutional `unet` must be multiples of this (three stride-2 levels meet their skips). */
export const UNET_MULTIPLE = 8;

export interface ModelConfig {
  /** 'baseline' = the paper's 7-layer CNN; 'advanced' = + input copy concatenated and mixed by one more conv (paper Fig. 4); 'unet' = ours, fully convolutional. */
  arch: NetworkArch;
  /** Square model (training) size in pixels (the paper: 64). Must be a multiple of 8. */
  size: number;
  /** Generator base width (channels of its first layer). */
  ngf: number;
  /** Discriminator base width. */
  ndf: number;
  /** Length of the noise vector z, projected to one size×size channel (refine: channels of its per-pixel noise). */
  zDim: number;
  /** Batch-norm momentum for the moving statistics used at inference. */
  bnMomentum: number;
  /** unet only: pool the deepest features over the photo into the global vector (default true; false = z alone, an ablation). */
  globalContext?: boolean;
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
  if (!NETWORK_ARCHS.includes(c.arch)) throw new Error(`unknown model "${c.arch}" (expected ${NETWORK_ARCHS.join(', ')})`);
  if (!Number.isInteger(c.size) || c.size < 16 || c.size % 8 !== 0) throw new Error(`model size must be a multiple of 8 and at least 16, got ${c.size}`);
  for (const k of ['ngf', 'ndf', 'zDim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  }
}
