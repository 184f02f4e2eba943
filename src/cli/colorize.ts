/**
 * `colorgan colorize INPUT... --out DIR`: colorize photos and folders of photos at full
 * resolution with a trained generator (the bundled general model by default).
 *
 * Files are processed one at a time, and each one's outputs too (the library reads the
 * header, picks the way, then decode → colorize → encode; this writes), so memory stays
 * bounded by one photo; a bad input is reported on one stderr line and the batch goes on.
 * Photos go through the library API (src/index.ts) only, never its internals.
 *
 * `-` as INPUT reads the photo from stdin; `--out -` writes the one encoded image to stdout
 * (then every message goes to stderr). `--json` prints one JSON object per photo and a
 * summary object on stdout, one line each, instead of the summary line.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UsageError, THREADS_OPTION, INFERENCE_OPTIONS, MODEL_OPTION } from './args.js';
import { OUTPUT_OPTIONS } from '../infer/options.js';
import { parseCommandLine, usageText } from '../util/options.js';
import { watchSignals, SIGNAL_EXIT } from './signals.js';
import { Progress } from './progress.js';
import type { Colorizer } from '../index.js';
import type { UpsampleMethod } from '../infer/limits.js';
// Sharp-free: TensorFlow.js and sharp are imported only after the flags are checked, so usage errors answer at once.
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, FORMAT_EXTENSIONS, type EncodeFormat } from '../data/formats.js';
import { writeFileAtomic, removeStaleTemps } from '../util/atomic.js';
import { firstLine } from '../util/text.js';

/** The library, imported once the flags are checked (it loads TensorFlow.js and sharp). */
type Library = typeof import('../index.js');

/** INPUT and --out that mean stdin and stdout. */
const STDIO = '-';
/** What messages call the photo read from stdin. */
const STDIN_NAME = '<stdin>';

/** The flags of `colorgan colorize`, by the library option each one sets. */
export const COLORIZE_SCHEMA = {
  out: {
    type: 'string',
    short: 'o',
    required: 'where the colorized photos go',
    help: 'output folder (created if needed); - writes the one output to stdout (one INPUT; messages go to stderr)',
  },
  model: MODEL_OPTION,
  ...INFERENCE_OPTIONS,
  refine: {
    type: 'boolean',
    default: true,
    flag: 'no-refine',
    help: "skip the model's LAPGAN refinement stages (refine-1/, refine-2/ in its folder; default: used where it has them)",
  },
  samples: {
    ...OUTPUT_OPTIONS.samples,
    help: 'write N colorizations per photo with different noise z: NAME.sample-1.png … NAME.sample-N.png (default: one, NAME.png)',
  },
  seed: OUTPUT_OPTIONS.seed,
  raw: { type: 'boolean', help: "write the generator's direct output at model size, not full resolution" },
  format: OUTPUT_OPTIONS.format,
  quality: OUTPUT_OPTIONS.quality,
  keepMetadata: {
    type: 'boolean',
    default: true,
    flag: 'strip-metadata',
    help: "drop the photo's EXIF, XMP, IPTC and color profile (default: kept, EXIF orientation set to 1; outputs are sRGB, tagged sRGB when the photo had a profile)",
  },
  json: { type: 'boolean', help: 'one JSON line per photo on stdout (input, outputs, plan, width, height, seconds, or error), then a summary line' },
  overwrite: { type: 'boolean', help: 'replace existing outputs (default: skip them)' },
  maxPixels: { type: 'int', min: 1, default: DEFAULT_MAX_PIXELS, help: 'refuse inputs above N pixels before decoding' },
  threads: THREADS_OPTION,
} as const;

export const COLORIZE_USAGE = usageText('colorgan colorize INPUT... --out DIR [options]', COLORIZE_SCHEMA, {
  INPUT:
    "photo files or folders (folders are searched recursively and their layout is mirrored under --out; a folder's own name is not repeated); - reads one photo from stdin (written as stdin.EXT)",
});

/** One photo to colorize: its source file and the output path without extension. */
export interface Job {
  src: string;
  base: string;
  /** The photo is read from stdin (src is then what messages call it). */
  stdin?: boolean;
}

/** One line of --json: a photo's result. */
interface JsonRecord {
  input: string;
  outputs?: string[];
  /** Outputs that existed and were kept (no --overwrite). */
  skipped?: string[];
  plan?: string;
  width?: number;
  height?: number;
  seconds?: number;
  error?: string;
}

export interface ColorizeSummary {
  written: number;
  skipped: number;
  failed: number;
}

/** Control characters (a newline in a file name) shown escaped, so a message stays one line. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function stripExt(p: string): string {
  const ext = path.extname(p);
  return ext ? p.slice(0, -ext.length) : p;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Output paths of one job: NAME.ext, or NAME.sample-1.ext … with --samples. */
export function outputsOf(job: Job, samples: number | null, ext: string): string[] {
  if (samples === null) return [job.base + ext];
  return Array.from({ length: samples }, (_, i) => `${job.base}.sample-${i + 1}${ext}`);
}

/** The first of `outs` that is the same file (device and inode) as `src`, if any. */
async function sameFileAs(src: string, outs: string[]): Promise<string | null> {
  const a = await fs.stat(src).catch(() => null);
  if (!a) return null;
  for (const o of outs) {
    const b = await fs.stat(o).catch(() => null);
    if (b && b.dev === a.dev && b.ino === a.ino) return o;
  }
  return null;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

export async function colorizeCommand(argv: string[]): Promise<number> {
  const {
    values: v,
    positionals,
    help,
  } = parseCommandLine(COLORIZE_SCHEMA, argv, {
    positionals: 'no INPUT given (photo files or folders to colorize)',
    defaults: true,
  });
  if (help) {
    console.log(COLORIZE_USAGE);
    return 0;
  }
  const { seed, maxPixels, format, threads, renderSize, upsample, saturation, quality, keepMetadata, refine } = v;
  const samples = v.samples ?? null;
  const toStdout = v.out === STDIO;
  if (positionals.filter((p) => p === STDIO).length > 1) throw new UsageError('- (stdin) given more than once');
  if (toStdout && (positionals.length !== 1 || (samples ?? 1) !== 1)) {
    throw new UsageError('--out - writes one image to stdout: give exactly one INPUT file and no --samples above 1');
  }
  if (toStdout && v.json) throw new UsageError('--json and --out - both write to stdout: choose one');
  return runColorize(positionals, {
    outDir: v.out,
    toStdout,
    json: Boolean(v.json),
    quality,
    keepMetadata,
    model: v.model,
    samples,
    raw: Boolean(v.raw),
    seed,
    format,
    ext: FORMAT_EXTENSIONS[format],
    overwrite: Boolean(v.overwrite),
    maxPixels,
    threads,
    renderSize,
    upsample,
    saturation,
    refine,
  });
}

/** The checked flags of one run. */
interface Settings {
  outDir: string;
  /** --out -: the one output goes to stdout. */
  toStdout: boolean;
  json: boolean;
  quality: number;
  keepMetadata: boolean;
  model: string | undefined;
  /** --samples N, or null for one output named NAME.ext. */
  samples: number | null;
  raw: boolean;
  seed: number;
  format: EncodeFormat;
  ext: string;
  overwrite: boolean;
  maxPixels: number;
  threads: number | undefined;
  renderSize: number | undefined;
  upsample: UpsampleMethod | undefined;
  saturation: number | undefined;
  refine: boolean;
}

/** One line per problem on stderr, even for a file name with a newline in it. */
export function report(what: string, reason: string): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  console.error(`${printable(what)}: ${printable(reason)}`);
}

/** A failed photo: its line on stderr, and its record with --json. */
function reportFailure(s: Pick<Settings, 'json'>, input: string, reason: string): void {
  report(input, reason);
  if (s.json) printJson({ input, error: reason } satisfies JsonRecord);
}

/** One JSON value on one stdout line (JSON.stringify escapes control characters). */
function printJson(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** The photo on stdin, whole (at most DEFAULT_MAX_BYTES). */
async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) throw new UsageError('- reads a photo from stdin, but stdin is a terminal');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > DEFAULT_MAX_BYTES) throw new Error(`${STDIN_NAME}: above the ${DEFAULT_MAX_BYTES}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Write to stdout and wait until it is handed to the system (a pipe may be slow). */
function writeStdout(data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
}

async function runColorize(inputs: string[], s: Settings): Promise<number> {
  const t0 = performance.now();
  if (s.toStdout) {
    const st = inputs[0] === STDIO ? null : await fs.stat(inputs[0]!).catch(() => null);
    if (st?.isDirectory()) throw new UsageError(`--out - writes one image to stdout: ${inputs[0]} is a folder`);
  } else {
    const outStat = await fs.stat(s.outDir).catch(() => null);
    if (outStat && !outStat.isDirectory()) throw new UsageError(`--out ${s.outDir}: exists and is not a folder`);
  }
  const lib: Library = await import('../index.js');
  // Temp files of an earlier killed run in the output folder go first.
  if (!s.toStdout) await removeStaleTemps(s.outDir, true);
  const model = await loadColorizeModel(lib, s);
  const summary: ColorizeSummary = { written: 0, skipped: 0, failed: 0 };
  const jobs = await collectJobs(lib, inputs, s, () => summary.failed++);
  const failedBeforeJobs = summary.failed;
  const stop = watchSignals('colorizing');
  const bar = jobs.length > 3 ? new Progress({ label: 'colorizing', total: jobs.length, unit: 'photos', logEvery: 10 }) : null;
  for (let i = 0; i < jobs.length; i++) {
    if (stop.signal) break; // between photos: every output written so far is complete
    const job = jobs[i];
    try {
      summary[await colorizeJob(lib, model, job, s)]++;
    } catch (err) {
      reportFailure(s, job.src, reasonOf(err, job.src));
      summary.failed++;
    }
    bar?.update(i + 1, summary.failed ? `${summary.failed} failed` : '');
  }
  bar?.finish();
  stop.dispose();
  const secs = (performance.now() - t0) / 1000;
  const left = jobs.length - summary.written - summary.skipped - (summary.failed - failedBeforeJobs);
  const how = stop.signal ? `stopped by ${stop.signal} (${left} not started)` : 'done';
  const line = `${how}: ${summary.written} written, ${summary.skipped} skipped (exists), ${summary.failed} failed, in ${secs.toFixed(1)} s`;
  if (s.json)
    printJson({ summary: { ...summary, notStarted: stop.signal ? left : 0, seconds: round3(secs), ...(stop.signal ? { signal: stop.signal } : {}) } });
  else if (s.toStdout) console.error(line);
  else console.log(line);
  if (stop.signal) return SIGNAL_EXIT[stop.signal] ?? 1;
  return summary.failed > 0 ? 1 : 0;
}

/** The model first: a bad --model fails before any photo is touched. */
async function loadColorizeModel(lib: Library, s: Settings): Promise<Colorizer> {
  try {
    await lib.initBackend({ threads: s.threads });
    const model = await lib.loadModel(s.model);
    if (s.renderSize !== undefined) lib.modelGrid(model.meta.config, 1, 1, s.renderSize); // checks it against the model
    return model;
  } catch (err) {
    throw new Error(`cannot load the model${s.model ? ` from ${s.model}` : ''}: ${firstLine((err as Error).message)}`);
  }
}

/**
 * Inputs → jobs: files as they are, folders walked (never into --out, never our own
 * outputs). Problems are reported (and counted by `failed`) and the walk goes on; an
 * output path claimed twice is an error for the later input.
 */
export async function collectJobs(
  lib: Library,
  inputs: string[],
  s: Pick<Settings, 'outDir' | 'samples' | 'ext' | 'json'>,
  failed: () => void,
): Promise<Job[]> {
  const fail = (what: string, reason: string): void => {
    reportFailure(s, what, reason);
    failed();
  };
  const jobs: Job[] = [];
  const claimed = new Map<string, string>();
  const outAbs = path.resolve(s.outDir);
  const add = (src: string, base: string, stdin = false): void => {
    const key = path.resolve(s.outDir, base);
    const first = claimed.get(key);
    if (first !== undefined) {
      fail(src, `same output ${path.join(s.outDir, base)}${s.samples === null ? s.ext : `.sample-*${s.ext}`} as ${first}`);
      return;
    }
    claimed.set(key, src);
    jobs.push({ src, base: path.join(s.outDir, base), stdin });
  };
  for (const input of inputs) {
    if (input === STDIO) {
      add(STDIN_NAME, 'stdin', true);
      continue;
    }
    const st = await fs.stat(input).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      fail(input, st.code === 'ENOENT' || st.code === 'ENOTDIR' ? 'no such file or folder' : firstLine(st.message));
    } else if (st.isDirectory()) {
      let files: string[];
      try {
        // Unreadable sub-folders: one line each, the walk goes on; never into --out.
        files = await lib.listImages(input, { exclude: [outAbs], onUnreadable: fail });
      } catch (err) {
        fail(input, firstLine((err as Error).message).replace(`${input}: `, ''));
        continue;
      }
      // Never colorize our own outputs when --out is inside an input folder.
      files = files.filter((rel) => !isInside(path.resolve(input, rel), outAbs));
      if (files.length === 0) {
        const inOut = isInside(path.resolve(input), outAbs) || path.resolve(input) === outAbs;
        fail(
          input,
          inOut ? 'is the output folder (or inside it): nothing to colorize there' : 'no image files in this folder (.jpg, .jpeg, .png, .webp, .tif, .tiff)',
        );
      }
      for (const rel of files) add(path.join(input, rel), stripExt(rel));
    } else {
      add(input, stripExt(path.basename(input)));
    }
  }
  return jobs;
}

/**
 * One photo: its outputs that are missing (or all, with --overwrite), made one at a time
 * by the library — which reads the photo's header once and picks the way (the streaming
 * ones for a large JPEG) — and written atomically.
 */
async function colorizeJob(lib: Library, model: Colorizer, job: Job, s: Settings): Promise<'written' | 'skipped'> {
  const t0 = performance.now();
  const { seed, raw, format, maxPixels, renderSize, upsample, saturation, quality, keepMetadata, refine } = s;
  const options = { model, seed, raw, format, maxPixels, renderSize, upsample, saturation, quality, keepMetadata, refine };
  const input = job.stdin ? await readStdin() : job.src;
  const name = job.stdin ? STDIN_NAME : undefined;
  if (s.toStdout) {
    const planned = await lib.planColorize(input, 1, { ...options, name });
    for await (const out of planned.outputs()) await writeStdout(await out.value());
    return 'written';
  }
  const outs = outputsOf(job, s.samples, s.ext);
  // Never write over an input, with or without --overwrite (same file, even by another name).
  const clash = job.stdin ? null : await sameFileAs(job.src, outs);
  if (clash) throw new Error(`the output ${clash} is this input file itself; choose another --out`);
  const todo = new Set<number>();
  for (let k = 0; k < outs.length; k++) if (s.overwrite || !(await exists(outs[k]))) todo.add(k);
  const kept = outs.filter((_, k) => !todo.has(k));
  if (kept.length > 0) {
    report(job.src, `skipped, ${kept.length === 1 ? `${kept[0]} exists` : `${kept.length} of its outputs exist`} (--overwrite replaces)`);
  }
  const record = (extra: Partial<JsonRecord>): void => {
    if (s.json) printJson({ input: job.src, outputs: outs.filter((_, k) => todo.has(k)), ...(kept.length ? { skipped: kept } : {}), ...extra });
  };
  if (todo.size === 0) {
    record({});
    return 'skipped';
  }
  const planned = await lib.planColorize(input, outs.length, { ...options, name });
  let k = 0;
  for await (const out of planned.outputs()) {
    // Outputs that exist are never made; each written one is let go before the next.
    if (todo.has(k)) await writeFileAtomic(outs[k]!, await out.value());
    k++;
  }
  record({ plan: planned.plan.kind, width: planned.width, height: planned.height, seconds: round3((performance.now() - t0) / 1000) });
  return 'written';
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The one-line reason of a failed photo, without its name in front. */
function reasonOf(err: unknown, src: string): string {
  // ImageDecodeError carries its reason apart from the file name (which may hold a newline).
  const reason = (err as { reason?: unknown }).reason;
  const msg = typeof reason === 'string' ? reason : (err as Error).message;
  return firstLine(msg.startsWith(`${src}: `) ? msg.slice(src.length + 2) : msg);
}
