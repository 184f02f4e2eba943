/**
 * Argument checks of the public colorize API (sharp-style: every argument validated, a
 * TypeError for a wrong type, a RangeError for a value out of range, naming the argument).
 */
import { ENCODE_FORMATS } from '../data/decode.js';
import { MAX_RENDER_SIZE, MAX_SAMPLES, MAX_SATURATION } from './limits.js';
import { closestWord } from '../util/text.js';
import type { ColorizeCallOptions } from './node.js';

const FORMAT_NAMES: readonly unknown[] = [...ENCODE_FORMATS, 'jpg'];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${String(v)}`;
}

function integer(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number') throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
}

function number(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!(v >= min && v <= max)) throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${v}`);
}

/** A colorize input: a path, an encoded Buffer, or { width, height, data } RGB pixels. */
export function checkInput(input: unknown): void {
  if (typeof input === 'string') {
    if (input.length === 0) throw new TypeError('input must be a non-empty path, an encoded Buffer or { width, height, data }, got ""');
    return;
  }
  if (Buffer.isBuffer(input)) return;
  if (input && typeof input === 'object' && !ArrayBuffer.isView(input) && !(input instanceof ArrayBuffer)) {
    const o = input as { width?: unknown; height?: unknown; data?: unknown };
    if ('width' in o || 'height' in o || 'data' in o) {
      integer('input.width', o.width, 1);
      integer('input.height', o.height, 1);
      if (!(o.data instanceof Uint8Array)) throw new TypeError(`input.data must be a Uint8Array of RGB bytes, got ${describe(o.data)}`);
      const want = (o.width as number) * (o.height as number) * 3;
      if (o.data.length !== want) throw new RangeError(`input.data must hold width × height × 3 = ${want} bytes, got ${o.data.length}`);
      return;
    }
  }
  throw new TypeError(`input must be a path, an encoded Buffer or { width, height, data }, got ${describe(input)}`);
}

const boolean = (name: string, v: unknown): void => {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
};

/** One check per option of colorize() / colorizeSamples(); the keys are the options there are. */
const OPTION_CHECKS: Record<keyof ColorizeCallOptions, (name: string, v: unknown) => void> = {
  seed: (n, v) => integer(n, v, 0, 2 ** 32 - 1),
  sample: (n, v) => integer(n, v, 0),
  renderSize: (n, v) => integer(n, v, 16, MAX_RENDER_SIZE),
  saturation: (n, v) => number(n, v, 0, MAX_SATURATION),
  quality: (n, v) => integer(n, v, 1, 100),
  maxPixels: (n, v) => integer(n, v, 1),
  upsample: (n, v) => {
    if (v !== 'bilinear' && v !== 'guided') throw new RangeError(`${n} must be "bilinear" or "guided", got ${describe(v)}`);
  },
  format: (n, v) => {
    if (!FORMAT_NAMES.includes(v)) throw new RangeError(`${n} must be one of ${ENCODE_FORMATS.join(', ')} (or jpg), got ${describe(v)}`);
  },
  refine: boolean,
  raw: boolean,
  keepMetadata: boolean,
  name: (n, v) => {
    if (typeof v !== 'string') throw new TypeError(`${n} must be a string, got ${describe(v)}`);
  },
  model: (n, v) => {
    const m = v as { model?: unknown; meta?: unknown };
    if (!m || typeof m !== 'object' || !m.model || !m.meta) throw new TypeError(`${n} must be a model from loadModel(), got ${describe(v)}`);
  },
};
const OPTION_NAMES = Object.keys(OPTION_CHECKS);

/** The options of colorize() / colorizeSamples(): an unknown name is an error (a misspelt keepMetadata would silently keep metadata). */
export function checkOptions(o: unknown): void {
  if (o === undefined) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`options must be an object, got ${describe(o)}`);
  for (const [k, v] of Object.entries(o)) {
    const check = OPTION_CHECKS[k as keyof ColorizeCallOptions];
    if (!check) {
      const near = closestWord(k, OPTION_NAMES);
      throw new TypeError(`options.${k} is not an option${near ? `; did you mean ${near}?` : ''} (options: ${OPTION_NAMES.join(', ')})`);
    }
    if (v !== undefined) check(`options.${k}`, v);
  }
}

export function checkCount(count: unknown): void {
  integer('count', count, 1, MAX_SAMPLES);
}
