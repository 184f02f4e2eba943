/**
 * Argument checks of the public colorize API (sharp-style: every argument validated, a
 * TypeError for a wrong type, a RangeError for a value out of range, naming the argument).
 */
import { ENCODE_FORMATS } from '../data/decode.js';
import { MAX_RENDER_SIZE, MAX_SAMPLES, MAX_SATURATION } from './limits.js';

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

/** The options of colorize() / colorizeSamples(). */
export function checkOptions(o: unknown): void {
  if (o === undefined) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`options must be an object, got ${describe(o)}`);
  const x = o as Record<string, unknown>;
  if (x.seed !== undefined) integer('options.seed', x.seed, 0, 2 ** 32 - 1);
  if (x.sample !== undefined) integer('options.sample', x.sample, 0);
  if (x.renderSize !== undefined) integer('options.renderSize', x.renderSize, 16, MAX_RENDER_SIZE);
  if (x.saturation !== undefined) number('options.saturation', x.saturation, 0, MAX_SATURATION);
  if (x.quality !== undefined) integer('options.quality', x.quality, 1, 100);
  if (x.maxPixels !== undefined) integer('options.maxPixels', x.maxPixels, 1);
  if (x.upsample !== undefined && x.upsample !== 'bilinear' && x.upsample !== 'guided') {
    throw new RangeError(`options.upsample must be "bilinear" or "guided", got ${describe(x.upsample)}`);
  }
  if (x.format !== undefined && !FORMAT_NAMES.includes(x.format)) {
    throw new RangeError(`options.format must be one of ${ENCODE_FORMATS.join(', ')} (or jpg), got ${describe(x.format)}`);
  }
  if (x.refine !== undefined && typeof x.refine !== 'boolean') throw new TypeError(`options.refine must be a boolean, got ${describe(x.refine)}`);
  if (x.raw !== undefined && typeof x.raw !== 'boolean') throw new TypeError(`options.raw must be a boolean, got ${describe(x.raw)}`);
  if (x.keepMetadata !== undefined && typeof x.keepMetadata !== 'boolean') {
    throw new TypeError(`options.keepMetadata must be a boolean, got ${describe(x.keepMetadata)}`);
  }
  if (x.name !== undefined && typeof x.name !== 'string') throw new TypeError(`options.name must be a string, got ${describe(x.name)}`);
  if (x.model !== undefined) {
    const m = x.model as { model?: unknown; meta?: unknown };
    if (!m || typeof m !== 'object' || !m.model || !m.meta) throw new TypeError(`options.model must be a model from loadModel(), got ${describe(x.model)}`);
  }
}

export function checkCount(count: unknown): void {
  integer('count', count, 1, MAX_SAMPLES);
}
