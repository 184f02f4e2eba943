/**
 * The run state a checkpoint carries (state.json): the options, the per-epoch history and
 * the step log, typed, and checked when read back so a damaged or hand-edited file fails
 * with one line naming the field.
 */
import { checkSavedOptions, type SavedRunOptions } from './options.js';
import { describeValue } from '../util/options.js';

export interface EpochRecord {
  epoch: number;
  gAdv: number;
  l1: number;
  d: number;
  div?: number;
  fm?: number;
  /** Mean over sources (each counts once) of the validation L1. */
  valL1: number;
  /** Validation L1 of each source. */
  valL1BySource?: Record<string, number>;
  /** Mean over sources of the validation mean squared error. */
  valMse?: number;
  /** Validation mean squared error of each source. */
  valMseBySource?: Record<string, number>;
  /** Mean over sources of the validation RGB PSNR at model size (dB). */
  valPsnr?: number;
  /** Validation RGB PSNR of each source (dB). */
  valPsnrBySource?: Record<string, number>;
  seconds: number;
  imagesPerSecond: number;
}

/** One point of the loss curve: [epoch (fractional), G adversarial, L1, D], means over up to 10 steps. */
export type StepLogRow = [number, number, number, number];

export interface CheckpointState<O extends object = SavedRunOptions> {
  /** Epochs completed. */
  epoch: number;
  seed: number;
  options: O;
  history: EpochRecord[];
  stepLog: StepLogRow[];
  savedAt: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, what: string, v: unknown): never {
  throw new Error(`${field} must be ${what}, got ${describeValue(v)}`);
}

function num(o: Record<string, unknown>, k: string, field: string, optional = false): void {
  if (optional && o[k] === undefined) return;
  if (typeof o[k] !== 'number') fail(`${field}.${k}`, 'a number', o[k]);
}

function checkEpochRecord(v: unknown, field: string): asserts v is EpochRecord {
  if (!isObject(v)) fail(field, 'an object', v);
  if (!Number.isInteger(v.epoch)) fail(`${field}.epoch`, 'an integer', v.epoch);
  for (const k of ['gAdv', 'l1', 'd', 'valL1', 'seconds', 'imagesPerSecond']) num(v, k, field);
  for (const k of ['div', 'fm', 'valMse', 'valPsnr']) num(v, k, field, true);
  for (const key of ['valL1BySource', 'valMseBySource', 'valPsnrBySource'] as const) {
    const r = v[key];
    if (r === undefined) continue;
    if (!isObject(r)) fail(`${field}.${key}`, 'an object', r);
    for (const k of Object.keys(r)) num(r, k, `${field}.${key}`);
  }
}

/** Checks a checkpoint's recorded options against the run's option schema (train's, or train-refine's). */
export type SavedOptionsCheck<O extends object> = (saved: object, prefix: string) => O;

/** state.json's contents as a CheckpointState, or an error naming the first bad field. */
export function parseCheckpointState<O extends object = SavedRunOptions>(
  json: unknown,
  checkOpts: SavedOptionsCheck<O> = checkSavedOptions as unknown as SavedOptionsCheck<O>,
): CheckpointState<O> {
  if (!isObject(json)) fail('state', 'an object', json);
  const { epoch, seed, options, history, stepLog = [], savedAt } = json; // stepLog: absent in early checkpoints
  if (!Number.isInteger(epoch) || (epoch as number) < 0) fail('epoch', 'an integer >= 0', epoch);
  if (!Number.isInteger(seed)) fail('seed', 'an integer', seed);
  if (!isObject(options)) fail('options', 'an object', options);
  if (!Array.isArray(history)) fail('history', 'an array', history);
  if (!Array.isArray(stepLog)) fail('stepLog', 'an array', stepLog);
  const rows = stepLog.map((r: unknown, i): StepLogRow => {
    if (!Array.isArray(r) || r.length !== 4 || !r.every((x) => typeof x === 'number')) fail(`stepLog[${i}]`, 'four numbers', r);
    return [r[0], r[1], r[2], r[3]];
  });
  return {
    epoch: epoch as number,
    seed: seed as number,
    options: checkOpts(options, 'options.'),
    history: history.map((h: unknown, i) => {
      checkEpochRecord(h, `history[${i}]`);
      return h;
    }),
    stepLog: rows,
    savedAt: typeof savedAt === 'string' ? savedAt : '',
  };
}
