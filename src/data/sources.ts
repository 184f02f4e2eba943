/**
 * Training data from several folders, organized by source.
 *
 * `--data A --data B`: each folder is loaded (and cached) on its own; the images of all
 * of them form one data set whose file names are prefixed with the folder's name
 * ("sky-photos/ccsn/x.jpg"). A **source** is a folder's first-level sub-folder
 * ("sky-photos/ccsn"), or the folder itself for the images directly in it. The 70/30
 * split is made per source (deterministic from the seed), and training draws its
 * batches balanced by source ({@link balancedOrder}), so a large source does not outvote
 * the others.
 */
import path from 'node:path';
import { loadDataset, type Dataset, type LoadOptions } from './dataset.js';
import { splitTrainVal } from './split.js';

export interface MultiDataset extends Dataset {
  /** Data folder label (its base name, made unique) → the folder as given. */
  roots: Map<string, string>;
}

/** Label of each data folder: its base name, with "-2", "-3" … when two share one. */
function labels(dirs: string[]): string[] {
  const seen = new Map<string, number>();
  return dirs.map((d) => {
    const base = path.basename(path.resolve(d)) || 'data';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** Load several data folders as one data set (file names prefixed by each folder's label). */
export async function loadDatasets(dirs: string[], opts: LoadOptions): Promise<MultiDataset> {
  if (dirs.length === 0) throw new Error('no data folder given');
  const names = labels(dirs);
  const parts: Dataset[] = [];
  for (const d of dirs) parts.push(await loadDataset(d, opts));
  const n = opts.size * opts.size;
  const count = parts.reduce((a, p) => a + p.files.length, 0);
  const y = new Float32Array(count * n);
  const uv = new Float32Array(count * n * 2);
  const rgb = new Uint8Array(count * n * 3);
  const files: string[] = [];
  const skipped: Dataset['skipped'] = [];
  let k = 0;
  parts.forEach((p, i) => {
    y.set(p.y, k * n);
    uv.set(p.uv, k * n * 2);
    rgb.set(p.rgb, k * n * 3);
    files.push(...p.files.map((f) => `${names[i]}/${f}`));
    skipped.push(...p.skipped.map((s) => ({ file: `${names[i]}/${s.file}`, reason: s.reason })));
    k += p.files.length;
  });
  return {
    dir: dirs.join(', '),
    size: opts.size,
    files,
    y,
    uv,
    rgb,
    skipped,
    fromCache: parts.every((p) => p.fromCache),
    cacheFile: parts[0].cacheFile,
    cacheWriteError: parts.map((p) => p.cacheWriteError).find(Boolean),
    roots: new Map(names.map((l, i) => [l, dirs[i]])),
  };
}

/** The file on disk of a prefixed name ("sky-photos/ccsn/x.jpg" → "<dir>/ccsn/x.jpg"). */
export function resolveFile(ds: MultiDataset, name: string): string {
  const slash = name.indexOf('/');
  const root = ds.roots.get(name.slice(0, slash));
  if (root === undefined) throw new Error(`${name}: not in any data folder`);
  return path.join(root, name.slice(slash + 1));
}

/** Source of a prefixed file name: "label/sub" for files in a sub-folder, else "label". */
export function sourceOf(name: string): string {
  const parts = name.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Files grouped by source, sources sorted by name. */
export function groupBySource(files: string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const s = sourceOf(f);
    if (!groups.has(s)) groups.set(s, []);
    groups.get(s)!.push(f);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The paper's 70/30 split made per source (each source's split depends only on its own files and the seed). */
export function splitBySource(files: string[], seed: number, valFraction: number): { train: string[]; val: string[] } {
  const train: string[] = [];
  const val: string[] = [];
  for (const group of groupBySource(files).values()) {
    const s = splitTrainVal(group, seed, valFraction);
    train.push(...s.train);
    val.push(...s.val);
  }
  return { train, val };
}

/**
 * The training order of one epoch: `total` indices into the training set, each source
 * drawn equally often (sources in a shuffled interleaving; within a source, its photos in
 * a shuffled order, reshuffled when used up). Depends only on (the groups, total, rand).
 * `power` p > 0 tempers the balance: a source is drawn in proportion to (its photos)^p
 * (largest remainders), so p = 1 draws every photo equally often.
 */
export function balancedOrder(groups: number[][], total: number, rand: () => number, power = 0): number[] {
  const live = groups.filter((g) => g.length > 0);
  if (live.length === 0) return [];
  const shuffle = (a: number[]) => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };
  // Which source each slot draws from: each source ⌊total/S⌋ or ⌈total/S⌉ times (p = 0), shuffled.
  const slots = shuffle(power === 0 ? Array.from({ length: total }, (_, i) => i % live.length) : temperedSlots(live, total, power));
  const queues = live.map((g) => shuffle([...g]));
  const pos = live.map(() => 0);
  return slots.map((s) => {
    if (pos[s] === queues[s].length) {
      shuffle(queues[s]);
      pos[s] = 0;
    }
    return queues[s][pos[s]++];
  });
}

/** Source k repeated round(total · n_k^p / Σ n^p) times, rounded by largest remainders to sum to total. */
function temperedSlots(groups: number[][], total: number, power: number): number[] {
  const w = groups.map((g) => g.length ** power);
  const sum = w.reduce((a, b) => a + b, 0);
  const exact = w.map((x) => (total * x) / sum);
  const count = exact.map(Math.floor);
  const byRemainder = exact.map((x, k) => [x - count[k], k] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let i = 0; i < total - count.reduce((a, b) => a + b, 0); i++) count[byRemainder[i][1]]++;
  return count.flatMap((c, k) => Array<number>(c).fill(k));
}
