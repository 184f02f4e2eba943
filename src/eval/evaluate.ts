/**
 * Evaluation of a colorization model against ground truth and two baselines
 * (`colorgan eval`; the report itself is written by ./report.ts).
 *
 * For every color photo of a folder (optionally only the validation part of the training
 * split), the gray input is made (grayscaleRgb: Y rounded to 8 bits, U = V = 128), and three
 * systems colorize it:
 *   - `model`:       the generator (colorizeImage, noise seed 0, sample 0);
 *   - `gray`:        no color at all (the gray input itself);
 *   - `mean-chroma`: the gray input's Y with the training split's mean U and V on every pixel
 *                    (paper's YUV→RGB formulas), kept in gamut by the model's own rule.
 * Each is compared with the original at two resolutions:
 *   - `model-size`:  the photo resized to size×size (center crop, lanczos3: decodeResized's
 *                    pipeline, read from the dataset cache); the model's value is the
 *                    generator's raw output at that size;
 *   - `full`:        the photo at its own size; the model's value is the sharpened output
 *                    (the photo's own luma with the upsampled predicted chroma).
 * Metrics (psnr, ssim, auc, colorfulness, colorfulnessTruth, colorfulnessRatio) come from
 * ./metrics.ts (compareImages); means skip non-finite values (PSNR ∞ of a perfect image,
 * colorfulness ratio of a gray original), see summarizeDetailed.
 *
 * The mean chroma is measured over the TRAINING split (splitTrainVal(files, seed,
 * valFraction).train, the same split as `colorgan train`) at model size, in digital levels
 * (U, V offset by 128), whatever `split` is evaluated.
 *
 * No tensors here: the generator runs through colorizeImage.
 */
import { promises as fs } from 'node:fs';
import { grayscaleRgb, rgbBufferToYuv, uvToNet, type RgbImage } from '../color/yuv.js';
import { loadDatasets, splitBySource, groupBySource, sourceOf, resolveFile } from '../data/sources.js';
import type { Dataset } from '../data/dataset.js';
import { decodeImage, reasonOf } from '../data/decode.js';
import { colorizeImage, type GeneratorModel, type ColorizeOptions } from '../infer/colorizer.js';
import { sharpenToFullRes, UPSAMPLE_METHODS, type UpsampleMethod } from '../infer/sharpen.js';
import { modelGrid } from '../infer/grid.js';
import { loadModel } from '../infer/node.js';
import { compareImages, summarizeDetailed, type ImageMetrics } from './metrics.js';
import type { MultiDataset } from '../data/sources.js';

export const SYSTEMS = ['model', 'gray', 'mean-chroma'] as const;
export type SystemName = (typeof SYSTEMS)[number];
export const RESOLUTIONS = ['model-size', 'full'] as const;
export type ResolutionName = (typeof RESOLUTIONS)[number];
export const METRIC_KEYS = ['psnr', 'ssim', 'auc', 'colorfulness', 'colorfulnessTruth', 'colorfulnessRatio'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Scope name of photos lying directly in the data folder (not in a sub-folder). */
export const ROOT_SCOPE = '.';

export interface EvaluateOptions {
  /** Folder(s) of color photos, searched recursively; with several, each source (sub-folder) is a scope. */
  data: string | string[];
  /** Short side of the model grid at full resolution (fully convolutional models). */
  renderSize?: number;
  /** Chroma upsampling at full resolution (default: the model's). */
  upsample?: UpsampleMethod;
  /** Chroma gain of the model's prediction (default: the model's). */
  saturation?: number;
  /** 'all' (default): every photo; 'val': only the validation part of the training split. */
  split?: 'all' | 'val';
  /** Seed of the train/validation split (default 1, the training default). */
  seed?: number;
  /** Validation fraction of the split (default 0.3, as in training). */
  valFraction?: number;
  /** A loaded model or a model folder (default: the bundled model). */
  model?: GeneratorModel | string;
  /** Side of the model-size comparison (default: the model's own size). */
  size?: number;
  /** Evaluate at most this many photos, evenly spread over the selection. */
  limit?: number;
  /** Evaluate at most this many photos of each source (evenly spread over it), before `limit`. */
  limitPerSource?: number;
  /** Evaluate only these sources (e.g. ["scenes/urban"]); the split stays the training one. */
  sources?: string[];
  /** Dataset cache folder / switch (see loadDataset). */
  cacheDir?: string;
  cache?: boolean;
  /** Rows of the grid: `gridSamples` evenly spread photos, then the best and worst `gridExtremes`. */
  gridSamples?: number;
  gridExtremes?: number;
  /** Called once per file that cannot be decoded (it is skipped). */
  onSkip?: (file: string, reason: string) => void;
  /** Decoding the folder at model size (not called on a cache hit). */
  onDecodeProgress?: (done: number, total: number) => void;
  /** After each evaluated photo. */
  onProgress?: (done: number, total: number, row: ImageRow) => void;
  /** Short status lines. */
  log?: (message: string) => void;
}

export type SystemMetrics = Record<ResolutionName, ImageMetrics>;

export interface ImageRow {
  /** Relative POSIX path inside the data folder. */
  file: string;
  /** First path component (sub-folder), or ROOT_SCOPE. */
  folder: string;
  /** The photo's own size. */
  width: number;
  height: number;
  metrics: Record<SystemName, SystemMetrics>;
}

/** Mean of each metric over the photos of a scope, for one system and resolution. */
export type MetricMeans = Record<MetricKey, number> & {
  /** Photos averaged. */
  count: number;
  /** Per metric, how many non-finite values were left out of the mean (only keys > 0). */
  nonFinite: Partial<Record<MetricKey, number>>;
};

export type ScopeSummary = Record<SystemName, Record<ResolutionName, MetricMeans>>;

export interface GridRow {
  kind: 'sample' | 'best' | 'worst';
  file: string;
  /** Full-resolution PSNR of the model. */
  psnr: number;
  /** Full-resolution gray input. */
  gray: RgbImage;
  original: RgbImage;
  /** Generator output at model size. */
  raw: RgbImage;
  /** Sharpened full-resolution output. */
  sharpened: RgbImage;
}

export interface EvalResult {
  data: string;
  split: 'all' | 'val';
  renderSize: number | null;
  upsample: UpsampleMethod;
  saturation: number;
  seed: number;
  valFraction: number;
  size: number;
  limit: number | null;
  model: { source: string; metadata: GeneratorModel['meta'] };
  /** Mean chroma of the training split (digital levels, offset 128). */
  meanChroma: { u: number; v: number; trainImages: number };
  /** Photos in the folder that decoded / were selected / were evaluated. */
  counts: { decoded: number; selected: number; evaluated: number; train: number; val: number };
  /** Files skipped (undecodable, or failing later, e.g. too small for SSIM). */
  skipped: { file: string; reason: string }[];
  rows: ImageRow[];
  overall: ScopeSummary;
  folders: Record<string, ScopeSummary>;
  /** Mean over the folders (sources), each counting once. */
  sourceMean: ScopeSummary;
  grid: GridRow[];
  startedAt: string;
  seconds: number;
}

// ---------------------------------------------------------------------------------------
// Baselines (pure)

/**
 * The image's luma with constant chroma (u, v) (digital levels) on every pixel, through
 * the model's own sharpening (so out-of-gamut pixels get the same rule as the model's).
 */
export function withConstantChroma(img: RgbImage, u: number, v: number): RgbImage {
  const uv = Float32Array.of(uvToNet(u), uvToNet(v));
  return { width: img.width, height: img.height, data: sharpenToFullRes(img.data, img.width, img.height, uv, 1) };
}

/** Mean of scope summaries, each counting once (NaN-aware per metric). */
export function meanOfScopes(scopes: ScopeSummary[]): ScopeSummary {
  const out = {} as ScopeSummary;
  for (const s of SYSTEMS) {
    out[s] = {} as Record<ResolutionName, MetricMeans>;
    for (const r of RESOLUTIONS) {
      const m = { count: scopes.reduce((a, x) => a + x[s][r].count, 0), nonFinite: {} } as MetricMeans;
      for (const k of METRIC_KEYS) {
        const vals = scopes.map((x) => x[s][r][k]).filter(Number.isFinite);
        m[k] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN;
      }
      out[s][r] = m;
    }
  }
  return out;
}

/** Mean U and V (digital levels) over all pixels of packed size×size RGB images. */
export function meanChromaOf(rgb: Uint8Array, count: number, size: number): { u: number; v: number } {
  if (count === 0) throw new Error('mean chroma: no training images');
  const n = size * size;
  let su = 0,
    sv = 0;
  for (let k = 0; k < count; k++) {
    const p = rgbBufferToYuv(rgb.subarray(k * n * 3, (k + 1) * n * 3), size, size);
    let a = 0,
      b = 0;
    for (let i = 0; i < n; i++) {
      a += p.u[i];
      b += p.v[i];
    }
    su += a;
    sv += b;
  }
  return { u: su / (count * n), v: sv / (count * n) };
}

/**
 * The mean-chroma baseline's U, V: the mean of the sources' own means over `trainFiles`
 * (training samples the sources balanced), at the data set's size.
 */
export function balancedMeanChroma(ds: Dataset, trainFiles: string[]): { u: number; v: number } {
  const index = new Map(ds.files.map((f, i) => [f, i] as const));
  const per = ds.size * ds.size * 3;
  const means = [...groupBySource(trainFiles).values()].map((files) => {
    const rgb = new Uint8Array(files.length * per);
    files.forEach((f, k) => {
      const i = index.get(f)!;
      rgb.set(ds.rgb.subarray(i * per, (i + 1) * per), k * per);
    });
    return meanChromaOf(rgb, files.length, ds.size);
  });
  if (means.length === 0) throw new Error('mean chroma: no training images');
  return { u: means.reduce((a, m) => a + m.u, 0) / means.length, v: means.reduce((a, m) => a + m.v, 0) / means.length };
}

/** Scope of a relative path: its first component if it is in a sub-folder, else ROOT_SCOPE. */
export function folderOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? ROOT_SCOPE : file.slice(0, i);
}

/** At most `k` photos of each source, evenly spread over its files (a balanced, repeatable subset). */
export function spreadPerSource(files: string[], k: number): string[] {
  return [...groupBySource(files).values()].flatMap((g) => evenlySpread(g.length, k).map((i) => g[i]));
}

/** `limit` indices evenly spread over 0..n-1 (all when limit ≥ n). */
export function evenlySpread(n: number, limit: number): number[] {
  if (limit >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: limit }, (_, i) => Math.floor((i * n) / limit));
}

/** Means per system and resolution over rows (finite-aware, via summarizeDetailed). */
export function summarizeRows(rows: readonly ImageRow[]): ScopeSummary {
  const out = {} as ScopeSummary;
  for (const s of SYSTEMS) {
    out[s] = {} as Record<ResolutionName, MetricMeans>;
    for (const r of RESOLUTIONS) {
      const st = summarizeDetailed(rows.map((row) => row.metrics[s][r]));
      const m = { count: rows.length, nonFinite: {} } as MetricMeans;
      for (const k of METRIC_KEYS) {
        m[k] = st[k]?.mean ?? NaN;
        if (st[k]?.skipped) m.nonFinite[k] = st[k].skipped;
      }
      out[s][r] = m;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Per photo

interface Evaluated {
  row: ImageRow;
  gray: RgbImage;
  original: RgbImage;
  raw: RgbImage;
  sharpened: RgbImage;
}

function evaluateOne(
  c: GeneratorModel,
  file: string,
  folder: string,
  full: RgbImage,
  small: RgbImage,
  chroma: { u: number; v: number },
  o: ColorizeOptions,
): Evaluated {
  const modelSize = c.meta.config.size;
  // Model size: the resized photo's gray version through the generator.
  const graySmall = grayscaleRgb(small);
  const outSmall = colorizeImage(c, graySmall, { saturation: o.saturation });
  const predSmall = small.width === modelSize && small.height === modelSize ? outSmall.raw : outSmall.rgb;
  // Full resolution: the photo's gray version through the sharpening path.
  const grayFull = grayscaleRgb(full);
  const outFull = colorizeImage(c, grayFull, o);
  const row: ImageRow = {
    file,
    folder,
    width: full.width,
    height: full.height,
    metrics: {
      model: { 'model-size': compareImages(predSmall, small), full: compareImages(outFull.rgb, full) },
      gray: { 'model-size': compareImages(graySmall, small), full: compareImages(grayFull, full) },
      'mean-chroma': {
        'model-size': compareImages(withConstantChroma(graySmall, chroma.u, chroma.v), small),
        full: compareImages(withConstantChroma(grayFull, chroma.u, chroma.v), full),
      },
    },
  };
  return { row, gray: grayFull, original: full, raw: outFull.raw, sharpened: outFull.rgb };
}

// ---------------------------------------------------------------------------------------
// The evaluation

/** What the evaluation runs with: the options checked, the model loaded, the defaults filled in. */
interface EvalSetup {
  dirs: string[];
  dataName: string;
  split: 'all' | 'val';
  seed: number;
  valFraction: number;
  c: GeneratorModel;
  size: number;
  upsample: UpsampleMethod;
  colorizeOpts: ColorizeOptions;
  log: (message: string) => void;
}

async function setup(opts: EvaluateOptions): Promise<EvalSetup> {
  const split = opts.split ?? 'all';
  if (split !== 'all' && split !== 'val') throw new RangeError(`split must be "all" or "val", got "${String(split)}"`);
  const dirs = Array.isArray(opts.data) ? opts.data : [opts.data];
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) throw new Error(`${d}: no such folder`);
    if (!st.isDirectory()) throw new Error(`${d}: is not a folder`);
  }
  const c = typeof opts.model === 'object' ? opts.model : await loadModel(opts.model);
  const size = opts.size ?? c.meta.config.size;
  if (!Number.isInteger(size) || size < 11) throw new RangeError(`size must be an integer ≥ 11 (SSIM window), got ${size}`);
  if (opts.renderSize !== undefined) modelGrid(c.meta.config, size, size, opts.renderSize); // validates
  if (opts.upsample !== undefined && !UPSAMPLE_METHODS.includes(opts.upsample)) {
    throw new RangeError(`upsample must be one of ${UPSAMPLE_METHODS.join(', ')}, got "${String(opts.upsample)}"`);
  }
  const upsample = opts.upsample ?? c.meta.inference?.upsample ?? 'bilinear';
  return {
    dirs,
    dataName: dirs.join(', '),
    split,
    seed: opts.seed ?? 1,
    valFraction: opts.valFraction ?? 0.3,
    c,
    size,
    upsample,
    colorizeOpts: { renderSize: opts.renderSize, upsample, saturation: opts.saturation },
    log: opts.log ?? (() => {}),
  };
}

/** Every photo at model size (cached, the same arrays as training), the training split and its mean chroma. */
async function loadEvalData(opts: EvaluateOptions, e: EvalSetup, skipped: EvalResult['skipped']) {
  const ds = await loadDatasets(e.dirs, {
    size: e.size,
    cacheDir: opts.cacheDir,
    cache: opts.cache,
    onProgress: opts.onDecodeProgress,
    onSkip: (file, reason) => {
      skipped.push({ file, reason });
      opts.onSkip?.(file, reason);
    },
  });
  const parts = splitBySource(ds.files, e.seed, e.valFraction);
  // Mean chroma over the training split: the mean of the sources' means (training
  // samples the sources balanced), or over all photos with one source.
  const chroma = { ...balancedMeanChroma(ds, parts.train), trainImages: parts.train.length };
  e.log(
    `data: ${ds.files.length} photos${ds.fromCache ? ' (cached)' : ''}, split seed ${e.seed}: ${parts.train.length} train / ${parts.val.length} validation; ` +
      `mean chroma of the training split U ${chroma.u.toFixed(2)} V ${chroma.v.toFixed(2)}`,
  );
  return { ds, parts, chroma };
}

/** The photos to evaluate: the split, then `sources`, `limitPerSource` and `limit`. */
function selectPhotos(opts: EvaluateOptions, e: EvalSetup, files: string[], parts: { val: string[] }): string[] {
  let pool = e.split === 'val' ? parts.val : files;
  if (opts.sources !== undefined) {
    const want = new Set(opts.sources);
    const known = new Set(files.map(sourceOf));
    for (const x of want) if (!known.has(x)) throw new Error(`source ${x}: not in the data (sources: ${[...known].sort().join(', ')})`);
    pool = pool.filter((f) => want.has(sourceOf(f)));
  }
  if (opts.limitPerSource !== undefined) {
    const k = opts.limitPerSource;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`limitPerSource must be a positive integer, got ${k}`);
    pool = spreadPerSource(pool, k);
  }
  const selected = opts.limit !== undefined ? evenlySpread(pool.length, opts.limit).map((i) => pool[i]) : pool;
  if (selected.length === 0) throw new Error(`${e.dataName}: no photos to evaluate (${e.split === 'val' ? 'the validation split is empty' : 'none selected'})`);
  return selected;
}

/** Rows of the grid: a fixed sample spread over the scopes, then the best and worst photos by full-resolution PSNR. */
function gridPicks(rows: ImageRow[], scopes: string[], nSample: number, nExt: number): { kind: GridRow['kind']; i: number }[] {
  const byPsnr = rows
    .map((r, i) => ({ i, p: r.metrics.model.full.psnr }))
    .sort((a, b) => {
      const pa = Number.isNaN(a.p) ? -Infinity : a.p;
      const pb = Number.isNaN(b.p) ? -Infinity : b.p;
      return pa === pb ? a.i - b.i : pb > pa ? 1 : -1;
    });
  // The fixed sample takes the scopes in turn (each spread over its photos), so a large
  // source does not fill the grid.
  const scopeRows = scopes.map((k) => rows.flatMap((r, i) => (r.folder === k ? [i] : [])));
  const sampleIdx: number[] = [];
  for (let round = 0; sampleIdx.length < nSample; round++) {
    for (const g of scopeRows) {
      const rounds = Math.ceil(nSample / scopeRows.length);
      const i = g[Math.floor((round * g.length) / rounds)];
      if (sampleIdx.length < nSample && i !== undefined && !sampleIdx.includes(i)) sampleIdx.push(i);
    }
    if (round > nSample) break;
  }
  // Sources with fewer photos than their share: fill up evenly from all rows.
  for (const i of evenlySpread(rows.length, rows.length)) if (sampleIdx.length < nSample && !sampleIdx.includes(i)) sampleIdx.push(i);
  return [
    ...sampleIdx.map((i) => ({ kind: 'sample' as const, i })),
    ...byPsnr.slice(0, nExt).map(({ i }) => ({ kind: 'best' as const, i })),
    ...byPsnr
      .slice(rows.length - nExt)
      .reverse()
      .map(({ i }) => ({ kind: 'worst' as const, i })),
  ];
}

/** The summaries: all photos, each scope (folder or source), and the mean over scopes. */
function summarizeScopes(rows: ImageRow[]): { overall: ScopeSummary; folders: Record<string, ScopeSummary>; sourceMean: ScopeSummary; scopes: string[] } {
  const byFolder = new Map<string, ImageRow[]>();
  for (const r of rows) {
    let a = byFolder.get(r.folder);
    if (!a) byFolder.set(r.folder, (a = []));
    a.push(r);
  }
  const scopes = [...byFolder.keys()].sort();
  const folders: Record<string, ScopeSummary> = {};
  for (const name of scopes) folders[name] = summarizeRows(byFolder.get(name)!);
  return { overall: summarizeRows(rows), folders, sourceMean: meanOfScopes(Object.values(folders)), scopes };
}

/** How the evaluation reaches a photo by its data-set name. */
interface PhotoAccess {
  /** The photo at model size (from the data set). */
  smallOf(f: string): RgbImage;
  /** The photo at full resolution, or why it could not be decoded. */
  decodeFull(f: string): Promise<RgbImage | { error: string }>;
  /** Rows name files as before with one data folder (relative to it), else with the folder's label. */
  displayName(f: string): string;
  /** With one data folder its sub-folder (ROOT_SCOPE for the folder's own files); with several, its source ("scenes/urban"). */
  scopeOf(f: string): string;
}

function photoAccess(ds: MultiDataset, dirs: string[], size: number): PhotoAccess {
  const index = new Map(ds.files.map((f, i) => [f, i] as const));
  const per = size * size * 3;
  return {
    smallOf: (f) => {
      const i = index.get(f)!;
      return { width: size, height: size, data: ds.rgb.subarray(i * per, (i + 1) * per) };
    },
    decodeFull: (f) => decodeImage(resolveFile(ds, f)).catch((err: unknown) => ({ error: reasonOf(err) })),
    displayName: (f) => (dirs.length === 1 ? f.slice(f.indexOf('/') + 1) : f),
    scopeOf: (f) => (dirs.length === 1 ? folderOf(f.slice(f.indexOf('/') + 1)) : sourceOf(f)),
  };
}

/** One row per selected photo that decodes and evaluates; the others are skipped (and reported). */
async function evaluatePhotos(
  opts: EvaluateOptions,
  e: EvalSetup,
  selected: string[],
  photos: PhotoAccess,
  chroma: { u: number; v: number },
  skipped: EvalResult['skipped'],
): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  // Decode the next photo while the current one is evaluated.
  let next = photos.decodeFull(selected[0]);
  for (let k = 0; k < selected.length; k++) {
    const file = selected[k];
    const full = await next;
    if (k + 1 < selected.length) next = photos.decodeFull(selected[k + 1]);
    if ('error' in full) {
      skipped.push({ file, reason: full.error });
      opts.onSkip?.(file, full.error);
    } else {
      try {
        rows.push(evaluateOne(e.c, photos.displayName(file), photos.scopeOf(file), full, photos.smallOf(file), chroma, e.colorizeOpts).row);
      } catch (err) {
        const reason = reasonOf(err);
        skipped.push({ file, reason });
        opts.onSkip?.(file, reason);
      }
    }
    opts.onProgress?.(k + 1, selected.length, rows[rows.length - 1]);
  }
  if (rows.length === 0) throw new Error(`${e.dataName}: none of the ${selected.length} selected photos could be evaluated`);
  return rows;
}

export async function evaluate(opts: EvaluateOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const e = await setup(opts);
  const { c, size, split } = e;
  const skipped: EvalResult['skipped'] = [];
  const { ds, parts, chroma } = await loadEvalData(opts, e, skipped);
  const selected = selectPhotos(opts, e, ds.files, parts);
  e.log(
    `evaluating ${selected.length} photos (${split === 'val' ? 'validation split' : 'all photos'}${opts.limit !== undefined ? `, --limit ${opts.limit}` : ''}) with ${c.source}`,
  );
  const photos = photoAccess(ds, e.dirs, size);
  const rows = await evaluatePhotos(opts, e, selected, photos, chroma, skipped);
  const { overall, folders, sourceMean, scopes } = summarizeScopes(rows);

  // Grid: recomputed for the picked photos (colorization is deterministic, and keeping
  // every image would cost memory).
  const internal = new Map(selected.map((f) => [photos.displayName(f), f] as const));
  const nSample = Math.min(opts.gridSamples ?? 8, rows.length);
  const nExt = Math.min(opts.gridExtremes ?? 4, Math.floor(rows.length / 2)); // best and worst never overlap
  const grid: GridRow[] = [];
  for (const { kind, i } of gridPicks(rows, scopes, nSample, nExt)) {
    const r = rows[i];
    const full = await decodeImage(resolveFile(ds, internal.get(r.file)!));
    const ev = evaluateOne(c, r.file, r.folder, full, photos.smallOf(internal.get(r.file)!), chroma, e.colorizeOpts);
    grid.push({ kind, file: r.file, psnr: r.metrics.model.full.psnr, gray: ev.gray, original: ev.original, raw: ev.raw, sharpened: ev.sharpened });
  }

  return {
    data: e.dataName,
    split,
    renderSize: opts.renderSize ?? null,
    upsample: e.upsample,
    saturation: opts.saturation ?? c.meta.inference?.saturation ?? 1,
    seed: e.seed,
    valFraction: e.valFraction,
    size,
    limit: opts.limit ?? null,
    model: { source: c.source, metadata: c.meta },
    meanChroma: chroma,
    counts: { decoded: ds.files.length, selected: selected.length, evaluated: rows.length, train: parts.train.length, val: parts.val.length },
    skipped,
    rows,
    overall,
    folders,
    sourceMean,
    grid,
    startedAt,
    seconds: (performance.now() - t0) / 1000,
  };
}
