/**
 * A run's data: the photos decoded at model size (and cached), split by source into
 * training and validation, the fixed photos of the sample grids, and the batches of an
 * epoch. The order, noise and mirroring of epoch e depend only on (seed, e), so a resumed
 * run draws exactly what an uninterrupted one would.
 */
import { subset, type Dataset } from '../data/dataset.js';
import { loadDatasets, splitBySource, groupBySource, balancedOrder, resolveFile, sourceOf, type MultiDataset } from '../data/sources.js';
import { decodeResized } from '../data/decode.js';
import { resizePlane } from '../infer/resample.js';
import { mulberry32, shuffledIndices, gaussian } from '../util/rng.js';
import type { RgbImage } from '../color/yuv.js';
import type { Batch } from './gan.js';
import type { TrainOptions } from './options.js';

export interface RunData {
  all: MultiDataset;
  /** The training photos, at cropFrom×cropFrom (the model size unless --crop-from). */
  trainSet: Dataset;
  valSet: Dataset;
  /** Training photos by source, as indices into trainSet. */
  sourceIdx: number[][];
  /** Training photos per source. */
  sources: Record<string, number>;
  /** The validation set of each source, made once per run. */
  valSets: Map<string, Dataset>;
}

export interface SamplePhoto {
  file: string;
  full: RgbImage; // the original at twice the grid's resolution
}

/** Decode (or read from the cache) and split the run's photos; a run too small for one step fails here. */
export async function loadRunData(
  opts: TrainOptions,
  perStep: number,
  on: { progress?: (done: number, total: number) => void; skip?: (file: string, reason: string) => void; log: (m: string) => void },
  /** Folders never read at all (train-refine: the sources it leaves out, so they are not decoded). */
  skipFolders: string[] = [],
): Promise<RunData> {
  // The run's own files (sample grids, curves) never become training photos.
  const all = await loadDatasets(opts.data, {
    size: opts.size,
    cacheDir: opts.cacheDir,
    onProgress: on.progress,
    onSkip: on.skip,
    exclude: [opts.out, ...skipFolders],
  });
  const excluded = new Set(opts.exclude ?? []);
  const known = new Set(all.files.map(sourceOf));
  for (const x of excluded) if (!known.has(x)) throw new Error(`--exclude ${x}: no such source (sources: ${[...known].sort().join(', ')})`);
  const split = splitBySource(
    all.files.filter((f) => !excluded.has(sourceOf(f))),
    opts.seed,
    opts.valFraction,
  );
  const trainFiles = opts.limit ? split.train.slice(0, opts.limit) : split.train;
  const valFiles = opts.limit ? split.val.slice(0, Math.max(2, Math.ceil(opts.limit * 0.3))) : split.val;
  const valSet = subset(all, valFiles);
  // --crop-from: the training photos decoded again, larger (their own cache); validation stays at model size.
  const from = opts.cropFrom ?? opts.size; // ≥ size: setupTrainOptions
  const trainSet =
    from === opts.size
      ? subset(all, trainFiles)
      : subset(
          await loadDatasets(opts.data, { size: from, cacheDir: opts.cacheDir, onProgress: on.progress, onSkip: on.skip, exclude: [opts.out, ...skipFolders] }),
          trainFiles,
        );
  if (trainSet.files.length < perStep) {
    const what = opts.accum > 1 ? `one step of ${opts.batch} × ${opts.accum} (batch × accum)` : `one batch of ${opts.batch}`;
    throw new Error(`${opts.data.join(',')}: ${trainSet.files.length} training photos, fewer than ${what}`);
  }
  const trainGroups = [...groupBySource(trainSet.files).values()];
  const trainIndex = new Map(trainSet.files.map((f, i) => [f, i] as const));
  const sourceIdx = trainGroups.map((g) => g.map((f) => trainIndex.get(f)!));
  const valSets = new Map([...groupBySource(valSet.files)].map(([name, files]) => [name, subset(valSet, files)] as const));
  const n = trainGroups.length;
  on.log(
    `data: ${all.files.length} photos${all.fromCache ? ' (cached)' : ''}, ${trainSet.files.length} train / ${valSet.files.length} validation, ${opts.size}×${opts.size}${from === opts.size ? '' : ` (training crops from ${from}×${from})`}, ${n} source${n === 1 ? '' : 's'}${n > 1 ? ' (balanced)' : ''}`,
  );
  return { all, trainSet, valSet, sourceIdx, sources: Object.fromEntries(trainGroups.map((g) => [sourceOf(g[0]), g.length])), valSets };
}

/** Fixed validation photos for the sample grids: the sources in turn, spread over each. */
export async function samplePhotos(data: RunData, rows: number, size: number): Promise<SamplePhoto[]> {
  const valGroups = [...groupBySource(data.valSet.files).values()];
  const nRows = Math.min(rows, data.valSet.files.length);
  const samples: SamplePhoto[] = [];
  for (let i = 0; i < nRows; i++) {
    const g = valGroups[i % valGroups.length];
    const round = Math.floor(i / valGroups.length);
    const rounds = Math.ceil(nRows / valGroups.length);
    const f = g[Math.floor((round * g.length) / rounds) % g.length];
    samples.push({ file: f, full: await decodeResized(resolveFile(data.all, f), size * 2) });
  }
  return samples;
}

export function epochSeed(seed: number, epoch: number, salt: number): number {
  return (Math.imul(seed + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35) ^ salt) >>> 0;
}

/** Copy rows of the dataset into one batch buffer. */
export function gather(src: Float32Array, per: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * per);
  idx.forEach((k, i) => out.set(src.subarray(k * per, (k + 1) * per), i * per));
  return out;
}

/** Mirror the images `which` of a batch of S×S×c rows left-right, in place. */
export function flipRows(buf: Float32Array, S: number, c: number, which: boolean[]): void {
  const per = S * S * c;
  which.forEach((f, i) => {
    if (!f) return;
    for (let r = 0; r < S; r++) {
      const row = i * per + r * S * c;
      for (let x = 0; x < S / 2; x++) {
        for (let k = 0; k < c; k++) {
          const a = row + x * c + k;
          const b = row + (S - 1 - x) * c + k;
          const t = buf[a];
          buf[a] = buf[b];
          buf[b] = t;
        }
      }
    }
  });
}

/** A square window of an image: side `side` at (x, y). */
export interface Crop {
  side: number;
  x: number;
  y: number;
}

/**
 * Crops of a batch of N×N images (y: 1 value per pixel, uv: 2), each resized to S×S
 * (area-weighted when shrinking, bilinear when enlarging); a null crop is the whole image.
 * Zoom augmentation (the same photo at up to N/side times the scale, framed elsewhere, so a
 * small source repeated many times an epoch is not the same picture every time) and
 * --crop-from (N > S). Returns the input itself when nothing changes (N = S, no crops).
 */
export function cropRows(y: Float32Array, uv: Float32Array, N: number, S: number, crops: (Crop | null)[]): { y: Float32Array; uv: Float32Array } {
  if (N === S && crops.every((c) => !c || c.side >= N)) return { y, uv };
  const out = { y: new Float32Array(crops.length * S * S), uv: new Float32Array(crops.length * S * S * 2) };
  crops.forEach((c0, i) => {
    const c = c0 ?? { side: N, x: 0, y: 0 };
    for (const [buf, to, ch] of [
      [y, out.y, 1],
      [uv, out.uv, 2],
    ] as const) {
      const row = buf.subarray(i * N * N * ch, (i + 1) * N * N * ch);
      const win = new Float32Array(c.side * c.side * ch);
      for (let r = 0; r < c.side; r++) win.set(row.subarray(((c.y + r) * N + c.x) * ch, ((c.y + r) * N + c.x + c.side) * ch), r * c.side * ch);
      to.set(c.side === S ? win : resizePlane(win, c.side, c.side, S, S, ch), i * S * S * ch);
    }
  });
  return out;
}

/** A window for cropRows: side N/z with z uniform in [1, zoom], placed uniformly; null (the whole image) for zoom 1. */
function zoomCrop(rand: () => number, N: number, zoom: number): Crop | null {
  if (zoom <= 1) return null;
  const side = Math.max(8, Math.min(N, Math.round(N / (1 + rand() * (zoom - 1)))));
  return { side, x: Math.floor(rand() * (N - side + 1)), y: Math.floor(rand() * (N - side + 1)) };
}

/** The batches of one epoch, drawn in step order (each call to `next` is the next step's). */
export interface EpochBatches {
  next(step: number): Batch;
}

/** How an epoch is cut: `steps` optimizer steps of `perStep` photos (batch × accum), `epochImages` photos asked for. */
export interface Schedule {
  perStep: number;
  epochImages: number;
  steps: number;
}

/** The training photos of epoch e, in step order (indices into trainSet): from (seed, e) only. */
export function epochOrder(data: RunData, seed: number, epoch: number, { perStep, epochImages, steps }: Schedule, balance = 0): number[] {
  const { trainSet, sourceIdx } = data;
  // One source: a plain shuffle (as the paper); several: balanced by source.
  return sourceIdx.length === 1 && epochImages <= trainSet.files.length
    ? shuffledIndices(trainSet.files.length, epochSeed(seed, epoch, 1))
    : balancedOrder(sourceIdx, steps * perStep, mulberry32(epochSeed(seed, epoch, 1)), balance);
}

export function epochBatches(data: RunData, opts: TrainOptions, epoch: number, schedule: Schedule): EpochBatches {
  const { trainSet } = data;
  const { perStep } = schedule;
  const order = epochOrder(data, opts.seed, epoch, schedule, opts.balance);
  const rand = mulberry32(epochSeed(opts.seed, epoch, 2));
  const flipRand = mulberry32(epochSeed(opts.seed, epoch, 3));
  const zoomRand = mulberry32(epochSeed(opts.seed, epoch, 4)); // its own stream: zoom 1 draws nothing, so runs without it are as before
  const S = opts.size;
  const N = trainSet.size; // S, or --crop-from
  return {
    next(s: number): Batch {
      const idx = order.slice(s * perStep, (s + 1) * perStep);
      const z = gaussian(rand, idx.length * opts.zDim);
      const z2 = opts.diversity > 0 ? gaussian(rand, idx.length * opts.zDim) : undefined;
      const yN = gather(trainSet.y, N * N, idx);
      const uvN = gather(trainSet.uv, N * N * 2, idx);
      if (opts.flip) {
        const which = idx.map(() => flipRand() < 0.5);
        flipRows(yN, N, 1, which);
        flipRows(uvN, N, 2, which);
      }
      const { y, uv } = cropRows(
        yN,
        uvN,
        N,
        S,
        idx.map(() => zoomCrop(zoomRand, N, opts.zoom)),
      );
      return { n: idx.length, y, uv, z, z2 };
    },
  };
}
