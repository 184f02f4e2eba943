/** The JSON metadata saved next to every model (colorgan.json). */
import { NETWORK_ARCHS, REFINE_ARCH, UNET_MULTIPLE, type ModelConfig } from './config.js';

/** The files of a model folder: the TF.js layers model, its weights, this metadata. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const METADATA_JSON = 'colorgan.json';

export const COLOR_ENCODING = 'ITU-R 601 YUV (paper formulas); network scale y = Y/127.5 - 1, u = (U-128)/127.5, v = (V-128)/127.5';

/** How chroma predicted on the model grid is brought to full resolution (infer/sharpen.ts); a model's metadata names its default. */
export const UPSAMPLE_METHODS = ['bilinear', 'guided'] as const;
export type UpsampleMethod = (typeof UPSAMPLE_METHODS)[number];

/** Largest chroma gain (`saturation`) accepted, from a flag or as a model's default. */
export const MAX_SATURATION = 4;

/** The folder of refinement stage k (1 = the first above the base model) inside a model folder. */
export const refineDirName = (k: number): string => `refine-${k}`;
/** At most this many refinement stages (×2, ×4). */
export const MAX_REFINE_STAGES = 2;

/** A value a training record may hold. */
export type TrainingRecordValue = string | number | boolean | string[] | Record<string, number> | Record<string, string | number>[];

/**
 * What a training run recorded: its data, and the options its schema marks `saved`
 * (src/train/options.ts: epochs, l1, batch, lr, …, `excluded`, `initFrom`), by name —
 * open here because models sit below train.
 */
export interface TrainingRecord {
  data?: string;
  dataTerms?: string;
  trainImages?: number;
  valImages?: number;
  /** For a model trained in stages (resumed with other options): what each stage used. */
  stages?: Record<string, string | number>[];
  /** How the shipped epoch was chosen (and on which split). */
  selectedBy?: string;
  /** Training photos per source. */
  sources?: Record<string, number>;
  [option: string]: TrainingRecordValue | undefined;
}

export interface ModelMetadata {
  format: 'colorgan-generator' | 'colorgan-discriminator';
  formatVersion: 1;
  config: ModelConfig;
  /** Network inputs/outputs, for users of the raw TF.js model. */
  inputs: { y: string; z: string; uv_coarse?: string };
  output: string;
  colorEncoding: string;
  training?: TrainingRecord;
  metrics?: Record<string, number>;
  /**
   * LAPGAN refinement stages held in this folder, coarse to fine: ["refine-1"] or
   * ["refine-1", "refine-2"], each a sub-folder with a config.arch "refine" network.
   */
  refine?: string[];
  /** Inference defaults chosen for this model (by validation). */
  inference?: { upsample?: UpsampleMethod; saturation?: number };
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
    ...(config.arch === 'refine'
      ? {
          inputs: {
            y: '[batch, H, W, 1] gray at this scale, network scale (H, W even)',
            uv_coarse: '[batch, H, W, 2] (u, v) of the scale below, upsampled ×2 (bilinear), network scale',
            z: `[batch, H, W, ${config.zDim}] standard normal noise`,
          },
          output: '[batch, H, W, 2] (u, v) at this scale, network scale: uv_coarse + a tanh residual',
        }
      : config.arch === 'unet'
        ? {
            // Fully convolutional: any H, W that are multiples of UNET_MULTIPLE (trained at size × size).
            inputs: {
              y: `[batch, H, W, 1] gray, network scale (H, W multiples of ${UNET_MULTIPLE}; trained at ${config.size}×${config.size})`,
              z: `[batch, ${config.zDim}] standard normal noise`,
            },
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

/**
 * A model folder's metadata as a colorizer (what the Node loader, `colorgan web` and the web
 * app accept): a generator, not a refinement stage of one. `where` names the folder in the error.
 */
export function checkColorizer(meta: ModelMetadata, where: string): void {
  if (meta.format !== 'colorgan-generator') throw new Error(`${where}: not a colorgan generator (format "${meta.format}")`);
  if (meta.config.arch === REFINE_ARCH)
    throw new Error(`${where}: a refinement stage, not a colorizer; put it in a model folder as refine-1/ (see colorgan train-refine)`);
}

/**
 * The metadata of a folder that `listedIn` (a colorgan.json) lists in its `refine`: it must
 * be a refinement stage. One rule for every loader of stages (Node, the web app, `colorgan web`).
 */
export function checkRefineStage(stage: ModelMetadata, where: string, listedIn: string): void {
  const what =
    stage.format !== 'colorgan-generator' ? `format is "${stage.format}"` : stage.config.arch !== REFINE_ARCH ? `config.arch is "${stage.config.arch}"` : null;
  if (what) throw new Error(`${where}: listed as a refinement stage in ${listedIn}, but its ${what}`);
}

// ---------------------------------------------------------------------------------------
// Checking a colorgan.json when it is read

const FORMATS = ['colorgan-generator', 'colorgan-discriminator'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (isObject(v)) return 'an object';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function bad(field: string, what: string, v: unknown): never {
  throw new Error(`${field} must be ${what}, got ${shown(v)}`);
}

function str(o: Record<string, unknown>, k: string, field: string, optional = false): void {
  if (!(optional && o[k] === undefined) && typeof o[k] !== 'string') bad(field + k, 'a string', o[k]);
}

function int(o: Record<string, unknown>, k: string, field: string, min: number, optional = false): void {
  const v = o[k];
  if (optional && v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(field + k, `an integer >= ${min}`, v);
}

function numbers(v: unknown, field: string): void {
  if (!isObject(v)) bad(field, 'an object of numbers', v);
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'number') bad(`${field}.${k}`, 'a number', x);
}

function checkConfig(c: unknown): void {
  if (!isObject(c)) bad('config', 'an object', c);
  if (!(NETWORK_ARCHS as readonly unknown[]).includes(c.arch)) bad('config.arch', `one of ${NETWORK_ARCHS.join(', ')}`, c.arch);
  int(c, 'size', 'config.', 16);
  if (typeof c.size === 'number' && c.size % UNET_MULTIPLE !== 0) bad('config.size', `a multiple of ${UNET_MULTIPLE}`, c.size);
  for (const k of ['ngf', 'ndf', 'zDim']) int(c, k, 'config.', 1);
  if (typeof c.bnMomentum !== 'number' || !(c.bnMomentum >= 0 && c.bnMomentum <= 1)) bad('config.bnMomentum', 'a number from 0 to 1', c.bnMomentum);
  if (c.globalContext !== undefined && typeof c.globalContext !== 'boolean') bad('config.globalContext', 'a boolean', c.globalContext);
}

function checkTraining(t: unknown): void {
  if (!isObject(t)) bad('training', 'an object', t);
  for (const k of ['data', 'dataTerms', 'selectedBy']) str(t, k, 'training.', true);
  for (const k of ['trainImages', 'valImages']) int(t, k, 'training.', 0, true);
  if (t.sources !== undefined) numbers(t.sources, 'training.sources');
  if (t.stages !== undefined && !(Array.isArray(t.stages) && t.stages.every(isObject))) bad('training.stages', 'a list of objects', t.stages);
  // The recorded options: plain values (their schema, in train/, checks them when a run uses them).
  for (const [k, v] of Object.entries(t)) {
    if (['sources', 'stages'].includes(k)) continue;
    const plain =
      ['string', 'boolean'].includes(typeof v) || (typeof v === 'number' && Number.isFinite(v)) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!plain) bad(`training.${k}`, 'a string, number, boolean or list of strings', v);
  }
}

/** A colorgan.json's contents as ModelMetadata, or an error naming the first bad field; readMetadata adds the file. */
export function parseMetadata(json: unknown): ModelMetadata {
  checkMetadata(json);
  return json;
}

/** Throws `config.size must be an integer >= 16, got "64"` and the like. */
function checkMetadata(m: unknown): asserts m is ModelMetadata {
  if (!isObject(m)) bad('the metadata', 'a JSON object', m);
  if (!(FORMATS as readonly unknown[]).includes(m.format)) bad('format', FORMATS.map((f) => `"${f}"`).join(' or '), m.format);
  if (m.formatVersion !== 1) bad('formatVersion', '1', m.formatVersion);
  checkConfig(m.config);
  if (!isObject(m.inputs)) bad('inputs', 'an object', m.inputs);
  str(m.inputs, 'y', 'inputs.');
  str(m.inputs, 'z', 'inputs.');
  for (const k of ['output', 'colorEncoding']) str(m, k, '');
  for (const k of ['dataTerms', 'createdAt', 'generatedBy']) str(m, k, '', true);
  str(m.inputs, 'uv_coarse', 'inputs.', true);
  if (m.training !== undefined) checkTraining(m.training);
  if (m.refine !== undefined) {
    const r = m.refine;
    if (!Array.isArray(r) || r.length < 1 || r.length > MAX_REFINE_STAGES || r.some((d, i) => d !== refineDirName(i + 1)))
      bad('refine', '["refine-1"] or ["refine-1", "refine-2"] (sub-folders, coarse to fine)', r);
  }
  if (m.metrics !== undefined) numbers(m.metrics, 'metrics');
  if (m.inference !== undefined) {
    const inf = m.inference;
    if (!isObject(inf)) bad('inference', 'an object', inf);
    if (inf.upsample !== undefined && !(UPSAMPLE_METHODS as readonly unknown[]).includes(inf.upsample))
      bad('inference.upsample', UPSAMPLE_METHODS.map((u) => `"${u}"`).join(' or '), inf.upsample);
    if (inf.saturation !== undefined && (typeof inf.saturation !== 'number' || !(inf.saturation >= 0 && inf.saturation <= MAX_SATURATION)))
      bad('inference.saturation', `a number from 0 to ${MAX_SATURATION}`, inf.saturation);
  }
}
