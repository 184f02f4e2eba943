/** The JSON metadata saved next to every model (colorgan.json). */
import { UNET_MULTIPLE, type ModelConfig } from './config.js';

export const COLOR_ENCODING =
  'ITU-R 601 YUV (paper formulas); network scale y = Y/127.5 - 1, u = (U-128)/127.5, v = (V-128)/127.5';

export interface ModelMetadata {
  format: 'colorgan-generator' | 'colorgan-discriminator';
  formatVersion: 1;
  config: ModelConfig;
  /** Network inputs/outputs, for users of the raw TF.js model. */
  inputs: { y: string; z: string };
  output: string;
  colorEncoding: string;
  training?: {
    data?: string;
    dataTerms?: string;
    trainImages?: number;
    valImages?: number;
    seed?: number;
    epochs?: number;
    l1?: number;
    l2?: number;
    batch?: number;
    /** Gradient accumulation: micro-batches per optimizer step. */
    accum?: number;
    lr?: number;
    beta1?: number;
    diversity?: number;
    featureMatch?: number;
    flip?: boolean;
    /** For a model trained in stages (resumed with other options): what each stage used. */
    stages?: Record<string, string | number>[];
    /** How the shipped epoch was chosen (and on which split). */
    selectedBy?: string;
    /** Sources left out (generalization check). */
    excluded?: string[];
    /** Training photos per source. */
    sources?: Record<string, number>;
    /** Generator folder the run started from (--init), if any. */
    initFrom?: string;
  };
  metrics?: Record<string, number>;
  /** Inference defaults chosen for this model (by validation). */
  inference?: { upsample?: 'bilinear' | 'guided'; saturation?: number }; // infer/limits.ts UPSAMPLE_METHODS (models sit below infer)
  /** Terms of the training data (who may use these weights for what). */
  dataTerms?: string;
  createdAt?: string;
  generatedBy?: string;
}

export function generatorMetadata(config: ModelConfig, extra: Partial<ModelMetadata> = {}): ModelMetadata {
  return {
    format: 'colorgan-generator',
    formatVersion: 1,
    config,
    ...(config.arch === 'unet'
      ? {
          // Fully convolutional: any H, W that are multiples of UNET_MULTIPLE (trained at size × size).
          inputs: { y: `[batch, H, W, 1] gray, network scale (H, W multiples of ${UNET_MULTIPLE}; trained at ${config.size}×${config.size})`, z: `[batch, ${config.zDim}] standard normal noise` },
          output: `[batch, H, W, 2] (u, v), network scale, tanh`,
        }
      : {
          inputs: { y: `[batch, ${config.size}, ${config.size}, 1] gray, network scale`, z: `[batch, ${config.zDim}] standard normal noise` },
          output: `[batch, ${config.size}, ${config.size}, 2] (u, v), network scale, tanh`,
        }),
    colorEncoding: COLOR_ENCODING,
    createdAt: new Date().toISOString(),
    generatedBy: 'colorgan',
    ...extra,
  };
}
