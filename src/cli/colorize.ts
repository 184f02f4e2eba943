/**
 * `colorgan colorize INPUT... --out DIR`: colorize photos and folders of photos at full
 * resolution with a trained generator (the bundled general model by default).
 *
 * Files are processed one at a time (decode → colorize → encode → write) so memory stays
 * bounded by one photo; a bad input is reported on one stderr line and the batch goes on.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse, intFlag, numFlag, choiceFlag, UsageError } from './args.js';
import { MAX_RENDER_SIZE, MAX_SATURATION, UPSAMPLE_METHODS } from '../infer/limits.js';
import { watchSignals, SIGNAL_EXIT } from './signals.js';
import { Progress } from './progress.js';
import type { Colorizer } from '../infer/colorizer.js';
import type { EncodeFormat } from '../data/decode.js';
import { writeFileAtomic } from '../util/atomic.js';
import { firstLine } from '../util/text.js';

// Same as DEFAULT_MAX_PIXELS of data/decode.ts; TensorFlow.js and sharp are imported only
// after the flags are checked, so usage errors answer at once.
const DEFAULT_MAX_PIXELS = 100_000_000;

export const COLORIZE_USAGE = `colorgan colorize INPUT... --out DIR [options]

  INPUT             photo files or folders (folders are searched recursively and their
                    layout is mirrored under --out; a folder's own name is not repeated)
  --out DIR         output folder (created if needed)
  --model M         general (default: the bundled general model) | sky (the paper's
                    sky model) | a generator folder
  --render-size N   short side of the model grid: the photo keeps its aspect (fully
                    convolutional models; default: the training size, 64)
  --upsample M      chroma to full resolution: bilinear | guided (edge-aware, by the
                    photo's luma) (default: the model's choice)
  --saturation X    chroma gain: 0 = gray, 1 = as predicted (default: the model's, 1)
  --samples N       write N colorizations per photo with different noise z:
                    NAME.sample-1.png … NAME.sample-N.png (default: one, NAME.png)
  --seed N          seed of the noise z (default 0)
  --raw             write the generator's direct output at model size, not full resolution
  --format F        png | jpeg | webp (default png)
  --overwrite       replace existing outputs (default: skip them)
  --max-pixels N    refuse inputs above N pixels before decoding (default ${DEFAULT_MAX_PIXELS})
  --threads N       compute threads (default: all cores; the native addon's if built, else wasm's)`;

const FORMATS: Record<EncodeFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp' };

/** One photo to colorize: its source file and the output path without extension. */
interface Job {
  src: string;
  base: string;
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
function outputsOf(job: Job, samples: number | null, ext: string): string[] {
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
  const { values: v, positionals } = parse(
    argv,
    {
      out: { type: 'string', short: 'o' },
      model: { type: 'string' },
      samples: { type: 'string' },
      raw: { type: 'boolean' },
      seed: { type: 'string' },
      format: { type: 'string' },
      overwrite: { type: 'boolean' },
      'max-pixels': { type: 'string' },
      threads: { type: 'string' },
      'render-size': { type: 'string' },
      upsample: { type: 'string' }, saturation: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (v.help) {
    console.log(COLORIZE_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no INPUT given (photo files or folders to colorize)');
  if (!v.out) throw new UsageError('missing --out DIR (where the colorized photos go)');
  const samples = v.samples === undefined ? null : intFlag(v.samples, 'samples', 1, 1);
  const seed = intFlag(v.seed, 'seed', 0);
  const maxPixels = intFlag(v['max-pixels'], 'max-pixels', DEFAULT_MAX_PIXELS, 1);
  const format = (v.format ?? 'png').toLowerCase() === 'jpg' ? 'jpeg' : ((v.format ?? 'png').toLowerCase() as EncodeFormat);
  if (!(format in FORMATS)) throw new UsageError(`unknown --format "${v.format}" (expected png, jpeg or webp)`);
  const threads = v.threads === undefined ? undefined : intFlag(v.threads, 'threads', 1, 1);
  const renderSize = v['render-size'] === undefined ? undefined : intFlag(v['render-size'], 'render-size', 0, 16);
  const upsample = choiceFlag(v.upsample, 'upsample', UPSAMPLE_METHODS);
  const saturation = v.saturation === undefined ? undefined : numFlag(v.saturation, 'saturation', 1);
  if (saturation !== undefined && saturation > MAX_SATURATION) throw new UsageError(`--saturation must be from 0 to ${MAX_SATURATION}, got "${v.saturation}"`);
  if (renderSize !== undefined && renderSize > MAX_RENDER_SIZE) throw new UsageError(`--render-size must be from 16 to ${MAX_RENDER_SIZE}, got "${renderSize}"`);
  const ext = FORMATS[format];
  const outDir = v.out;
  const t0 = performance.now();
  const outStat = await fs.stat(outDir).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new UsageError(`--out ${outDir}: exists and is not a folder`);

  const { loadModel, colorize, colorizeSamples } = await import('../infer/node.js');
  const { initBackend } = await import('../backend/node.js');
  const { decodeImage, encodeImage } = await import('../data/decode.js');
  const { listImages } = await import('../data/walk.js');
  const { modelGrid } = await import('../infer/grid.js');

  // Temp files of an earlier killed run in the output folder go first.
  const { removeStaleTemps } = await import('../util/atomic.js');
  await removeStaleTemps(outDir, true);

  // The model first: a bad --model fails before any photo is touched.
  let model: Colorizer;
  try {
    await initBackend({ threads });
    model = await loadModel(v.model);
    if (renderSize !== undefined) modelGrid(model.meta.config, 1, 1, renderSize); // checks it against the model
  } catch (err) {
    throw new Error(`cannot load the model${v.model ? ` from ${v.model}` : ''}: ${firstLine((err as Error).message)}`);
  }

  const fail = (what: string, reason: string): void => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    // One line per problem, even for a file name with a newline in it.
    console.error(`${printable(what)}: ${printable(reason)}`);
  };
  const note = fail;
  const summary: ColorizeSummary = { written: 0, skipped: 0, failed: 0 };

  // Inputs → jobs; an output path claimed twice is an error for the later input.
  const jobs: Job[] = [];
  const claimed = new Map<string, string>();
  const outAbs = path.resolve(outDir);
  const add = (src: string, base: string): void => {
    const key = path.resolve(outDir, base);
    const first = claimed.get(key);
    if (first !== undefined) {
      fail(src, `same output ${path.join(outDir, base)}${samples === null ? ext : '.sample-*' + ext} as ${first}`);
      summary.failed++;
      return;
    }
    claimed.set(key, src);
    jobs.push({ src, base: path.join(outDir, base) });
  };
  for (const input of positionals) {
    const st = await fs.stat(input).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      fail(input, st.code === 'ENOENT' || st.code === 'ENOTDIR' ? 'no such file or folder' : firstLine(st.message));
      summary.failed++;
    } else if (st.isDirectory()) {
      let files: string[];
      try {
        // Unreadable sub-folders: one line each, the walk goes on; never into --out.
        files = await listImages(input, {
          exclude: [outAbs],
          onUnreadable: (folder, reason) => {
            fail(folder, reason);
            summary.failed++;
          },
        });
      } catch (err) {
        fail(input, firstLine((err as Error).message).replace(`${input}: `, ''));
        summary.failed++;
        continue;
      }
      // Never colorize our own outputs when --out is inside an input folder.
      files = files.filter((rel) => !isInside(path.resolve(input, rel), outAbs));
      if (files.length === 0) {
        const inOut = isInside(path.resolve(input), outAbs) || path.resolve(input) === outAbs;
        fail(input, inOut ? 'is the output folder (or inside it): nothing to colorize there' : 'no image files in this folder (.jpg, .jpeg, .png, .webp, .tif, .tiff)');
        summary.failed++;
      }
      for (const rel of files) add(path.join(input, rel), stripExt(rel));
    } else {
      add(input, stripExt(path.basename(input)));
    }
  }

  const failedBeforeJobs = summary.failed;
  const stop = watchSignals('colorizing');
  const bar = jobs.length > 3 ? new Progress({ label: 'colorizing', total: jobs.length, unit: 'photos', logEvery: 10 }) : null;
  for (let i = 0; i < jobs.length; i++) {
    if (stop.signal) break; // between photos: every output written so far is complete
    const job = jobs[i];
    try {
      const outs = outputsOf(job, samples, ext);
      // Never write over an input, with or without --overwrite (same file, even by another name).
      const clash = await sameFileAs(job.src, outs);
      if (clash) throw new Error(`the output ${clash} is this input file itself; choose another --out`);
      const todo: number[] = [];
      for (let k = 0; k < outs.length; k++) if (v.overwrite || !(await exists(outs[k]))) todo.push(k);
      const kept = outs.filter((_, k) => !todo.includes(k));
      if (kept.length > 0) {
        note(job.src, `skipped, ${kept.length === 1 ? `${kept[0]} exists` : `${kept.length} of its outputs exist`} (--overwrite replaces)`);
      }
      if (todo.length === 0) {
        summary.skipped++;
      } else if ((samples ?? 1) === 1 && !v.raw) {
        // One colorization: the library takes the streaming path for large JPEGs.
        await writeFileAtomic(outs[0], await colorize(job.src, { model, seed, format, maxPixels, renderSize, upsample, saturation }));
        summary.written++;
      } else {
        // Decode here (not inside colorizeSamples) so only one full-size copy is alive.
        const img = await decodeImage(job.src, { maxPixels });
        const results = await colorizeSamples(img, samples ?? 1, { model, seed, raw: Boolean(v.raw), renderSize, upsample, saturation });
        for (const k of todo) {
          await writeFileAtomic(outs[k], await encodeImage(results[k], format));
          results[k] = { width: 0, height: 0, data: new Uint8Array(0) }; // let it go before the next encode
        }
        summary.written++;
      }
    } catch (err) {
      // ImageDecodeError carries its reason apart from the file name (which may hold a newline).
      const reason = (err as { reason?: unknown }).reason;
      const msg = typeof reason === 'string' ? reason : (err as Error).message;
      fail(job.src, firstLine(msg.startsWith(`${job.src}: `) ? msg.slice(job.src.length + 2) : msg));
      summary.failed++;
    }
    bar?.update(i + 1, summary.failed ? `${summary.failed} failed` : '');
  }
  bar?.finish();
  stop.dispose();
  const secs = (performance.now() - t0) / 1000;
  const left = jobs.length - summary.written - summary.skipped - (summary.failed - failedBeforeJobs);
  const how = stop.signal ? `stopped by ${stop.signal} (${left} not started)` : 'done';
  console.log(`${how}: ${summary.written} written, ${summary.skipped} skipped (exists), ${summary.failed} failed, in ${secs.toFixed(1)} s`);
  if (stop.signal) return SIGNAL_EXIT[stop.signal] ?? 1;
  return summary.failed > 0 ? 1 : 0;
}
