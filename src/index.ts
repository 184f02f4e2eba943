/**
 * colorgan — automatic colorization of grayscale photos with conditional GANs.
 *
 * The public library API (Node). The CLI, the benchmarks and the web app are thin
 * shells over these functions.
 */
export { colorize, colorizeSamples, planColorize, loadModel, bundledModelDir, BUNDLED_MODELS, DEFAULT_MODEL } from './infer/node.js';
export type { ColorizeInput, ColorizeCallOptions, PlannedPhoto, PhotoOutput, BundledModelName } from './infer/node.js';
export type { ColorizePlan, Declined } from './infer/plan.js';
export { colorizeImage, colorizeImageSamples, sampleColorizations, toColorizer, chromaDifference } from './infer/colorizer.js';
export type { Colorizer, Colorization, ColorizeOptions, GeneratorModel, ModelLuma } from './infer/colorizer.js';
export { train, TrainingDivergedError, TrainingInterruptedError } from './train/train.js';
export type { EpochRecord, TrainEvents, TrainResult } from './train/train.js';
export type { StepLosses } from './train/gan.js';
export { DEFAULT_TRAIN_OPTIONS } from './train/options.js';
export type { TrainOptions, TrainInput } from './train/options.js';
export { buildGenerator } from './models/generator.js';
export type { InitOptions } from './models/generator.js';
export { buildDiscriminator } from './models/discriminator.js';
export { DEFAULT_MODEL_CONFIG } from './models/config.js';
export type { ModelConfig, Architecture } from './models/config.js';
export type { ModelMetadata, TrainingRecord, TrainingRecordValue } from './models/metadata.js';
export { saveModel, loadModelFromDir } from './models/io.js';
export { initBackend, describeBackend } from './backend/node.js';
export type { BackendInfo, BackendOptions, BackendName } from './backend/node.js';
export {
  decodeImage,
  decodeResized,
  encodeImage,
  openImage,
  ImageDecodeError,
  DEFAULT_MAX_PIXELS,
  DEFAULT_MAX_BYTES,
  DEFAULT_QUALITY,
  ENCODE_FORMATS,
} from './data/decode.js';
export type { EncodeFormat, EncodeFormatName, DecodeOptions, EncodedImage, ImageProblem } from './data/decode.js';
export { modelGrid } from './infer/grid.js';
export type { Grid } from './infer/grid.js';
export type { UpsampleMethod } from './infer/sharpen.js';
export { loadDatasets } from './data/sources.js';
export type { MultiDataset } from './data/sources.js';
export { loadDataset } from './data/dataset.js';
export type { Dataset, LoadOptions as DatasetLoadOptions } from './data/dataset.js';
export { splitTrainVal } from './data/split.js';
export { listImages } from './data/walk.js';
export type { ListOptions } from './data/walk.js';
export * as color from './color/yuv.js';
export * as metrics from './eval/metrics.js';
export type { RgbImage, YuvPlanes } from './color/yuv.js';
export { evaluate } from './eval/evaluate.js';
export type {
  EvaluateOptions,
  EvalResult,
  ImageRow,
  ScopeSummary,
  GridRow,
  SystemName,
  ResolutionName,
  MetricKey,
  MetricMeans,
  SystemMetrics,
} from './eval/evaluate.js';
export { writeReport } from './eval/report.js';
