/**
 * In-memory training data: every image of a folder resized to size×size (center crop) and
 * converted to the network's Y / UV scale (see src/color/yuv.ts), plus the resized RGB.
 *
 * Decoding ~3000 JPEGs takes a while, so the resized RGB bytes are cached on disk: one file
 * per (absolute folder, size) in the cache folder, whose header holds a key (hash of the
 * sorted file list with each file's byte size and mtime, the image size, the format version
 * and the libvips version). A different key — any file added, removed, rewritten or touched,
 * or another size — means the cache is ignored and rewritten. Y and UV are recomputed from
 * the cached RGB on load (cheap, and keeps the cache 4.3× smaller than storing floats).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { planesToNet, rgbBufferToYuv } from '../color/yuv.js';
import { writeFileAtomic } from '../util/atomic.js';
import { decodeResized, reasonOf } from './decode.js';
import { listImages } from './walk.js';

export interface Dataset {
  /** The folder, as given. */
  dir: string;
  /** Images are size×size. */
  size: number;
  /** Relative POSIX paths of the images that decoded, sorted; index i is image i below. */
  files: string[];
  /** count·size·size luma values, network scale [-1, 1]. */
  y: Float32Array;
  /** count·size·size·2 chroma values, interleaved (u, v) per pixel, network scale [-1, 1]. */
  uv: Float32Array;
  /** count·size·size·3 resized original RGB bytes (sample grids, evaluation). */
  rgb: Uint8Array;
  /** Files that could not be decoded, with the reason. */
  skipped: { file: string; reason: string }[];
  /** True when the pixels came from the cache instead of decoding. */
  fromCache: boolean;
  /** The cache file used or written (null when caching was off). */
  cacheFile: string | null;
  /** Set when the cache could not be written (the dataset itself is fine). */
  cacheWriteError?: string;
}

export interface LoadOptions {
  /** Output side length in pixels (the paper uses 64). */
  size: number;
  /** Where cache files go (default {@link defaultCacheDir}). */
  cacheDir?: string;
  /** false: neither read nor write a cache. Default true. */
  cache?: boolean;
  /** Called after each decoded (or skipped) file; not called on a cache hit. */
  onProgress?: (done: number, total: number) => void;
  /** Called once per file that cannot be decoded (also on a cache hit, from the remembered list). */
  onSkip?: (file: string, reason: string) => void;
  /** Files decoded at the same time (default 3). */
  concurrency?: number;
  /** Refuse images above this many pixels (default: decode.ts DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** Folders never read (e.g. a training run's own folder inside the data folder). */
  exclude?: string[];
}

/** Bump when the cache layout or the decode pipeline changes. */
export const CACHE_FORMAT_VERSION = 1;
const MAGIC = 'CGDS';

/** $COLORGAN_CACHE, else $XDG_CACHE_HOME/colorgan, else ~/.cache/colorgan. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.COLORGAN_CACHE) return path.resolve(env.COLORGAN_CACHE);
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'colorgan');
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache file for a folder and size: one per (absolute folder, size). */
export function cacheFileFor(dir: string, size: number, cacheDir: string = defaultCacheDir()): string {
  return path.join(cacheDir, `dataset-${sha256(path.resolve(dir)).slice(0, 16)}-${size}px.bin`);
}

interface CacheHeader {
  key: string;
  dir: string;
  size: number;
  files: string[];
  skipped: { file: string; reason: string }[];
  payloadSha256: string;
}

/** File layout: "CGDS" | u32 version | u32 header length | header JSON (UTF-8) | RGB bytes. */
function encodeCache(header: CacheHeader, rgb: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(CACHE_FORMAT_VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  return Buffer.concat([head, json, rgb]);
}

/** The cached data if the file exists, is intact and has this key; otherwise null. */
async function readCache(file: string, key: string, size: number): Promise<{ header: CacheHeader; rgb: Uint8Array } | null> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch {
    return null;
  }
  try {
    if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) return null;
    if (buf.readUInt32LE(4) !== CACHE_FORMAT_VERSION) return null;
    const jsonLen = buf.readUInt32LE(8);
    if (12 + jsonLen > buf.length) return null;
    const header = JSON.parse(buf.toString('utf8', 12, 12 + jsonLen)) as CacheHeader;
    if (header.key !== key || header.size !== size || !Array.isArray(header.files) || !Array.isArray(header.skipped)) return null;
    const rgb = new Uint8Array(buf.buffer, buf.byteOffset + 12 + jsonLen, buf.length - 12 - jsonLen);
    if (rgb.length !== header.files.length * size * size * 3) return null;
    if (sha256(rgb) !== header.payloadSha256) return null;
    return { header, rgb };
  } catch {
    return null; // corrupt header: fall back to decoding
  }
}

/** Luma and interleaved chroma, network scale, from packed RGB images (clamped to [-1, 1]). */
function toNetwork(rgb: Uint8Array, count: number, size: number): { y: Float32Array; uv: Float32Array } {
  const n = size * size;
  const y = new Float32Array(count * n);
  const uv = new Float32Array(count * n * 2);
  const clamp = (x: number): number => (x < -1 ? -1 : Math.min(x, 1));
  for (let k = 0; k < count; k++) {
    const p = planesToNet(rgbBufferToYuv(rgb.subarray(k * n * 3, (k + 1) * n * 3), size, size));
    const yo = k * n;
    const uo = k * n * 2;
    for (let i = 0; i < n; i++) {
      y[yo + i] = clamp(p.y[i]);
      uv[uo + 2 * i] = clamp(p.u[i]);
      uv[uo + 2 * i + 1] = clamp(p.v[i]);
    }
  }
  return { y, uv };
}

/**
 * Load every image under `dir` at size×size. Undecodable files are reported through
 * `onSkip` and left out; a folder without any decodable image is an error.
 */
export async function loadDataset(dir: string, opts: LoadOptions): Promise<Dataset> {
  const { size } = opts;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 3));
  const all = await listImages(dir, { exclude: opts.exclude });
  if (all.length === 0) throw new Error(`${dir}: no image files (.jpg, .jpeg, .png, .webp, .tif, .tiff)`);

  // Key: the listing with each file's byte size and mtime, plus everything that changes pixels.
  const stats = await Promise.all(
    all.map(async (f) => {
      const st = await fs.stat(path.join(dir, f)).catch(() => null);
      return st ? [f, st.size, st.mtimeMs] : [f, -1, -1];
    }),
  );
  const key = sha256(
    JSON.stringify({
      format: CACHE_FORMAT_VERSION,
      size,
      maxPixels: opts.maxPixels ?? null,
      vips: sharp.versions.vips,
      pipeline: 'rotate,flatten-white,cover-centre,lanczos3,srgb-uchar',
      files: stats,
    }),
  );
  const useCache = opts.cache !== false;
  const cacheFile = useCache ? cacheFileFor(dir, size, opts.cacheDir ?? defaultCacheDir()) : null;

  if (cacheFile) {
    const hit = await readCache(cacheFile, key, size);
    if (hit) {
      for (const s of hit.header.skipped) opts.onSkip?.(s.file, s.reason);
      const count = hit.header.files.length;
      const rgb = new Uint8Array(hit.rgb); // own copy, not a view of the file buffer
      return { dir, size, files: hit.header.files, ...toNetwork(rgb, count, size), rgb, skipped: hit.header.skipped, fromCache: true, cacheFile };
    }
  }

  // Decode with a small pool; results land at their sorted index.
  const per = size * size * 3;
  const slots: (Uint8Array | null)[] = new Array(all.length).fill(null);
  const reasons = new Map<number, string>();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < all.length) {
      const i = next++;
      const file = all[i];
      try {
        const img = await decodeResized(path.join(dir, file), size, { maxPixels: opts.maxPixels });
        slots[i] = img.data;
      } catch (err) {
        const reason = reasonOf(err);
        reasons.set(i, reason);
        opts.onSkip?.(file, reason);
      }
      opts.onProgress?.(++done, all.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, all.length) }, worker));

  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (let i = 0; i < all.length; i++) {
    if (slots[i]) files.push(all[i]);
    else skipped.push({ file: all[i], reason: reasons.get(i) ?? 'unknown error' });
  }
  if (files.length === 0) throw new Error(`${dir}: none of the ${all.length} image files could be decoded (first: ${skipped[0].file}: ${skipped[0].reason})`);
  const rgb = new Uint8Array(files.length * per);
  let k = 0;
  for (const s of slots) if (s) rgb.set(s, per * k++);

  const ds: Dataset = { dir, size, files, ...toNetwork(rgb, files.length, size), rgb, skipped, fromCache: false, cacheFile };
  if (cacheFile) {
    try {
      const header: CacheHeader = { key, dir: path.resolve(dir), size, files, skipped, payloadSha256: sha256(rgb) };
      await writeFileAtomic(cacheFile, encodeCache(header, rgb));
    } catch (err) {
      ds.cacheWriteError = `${cacheFile}: ${(err as Error).message}`;
    }
  }
  return ds;
}

/** The images named in `files` (relative paths, in that order), with the same array layout. */
export function subset(ds: Dataset, files: string[]): Dataset {
  const index = new Map(ds.files.map((f, i) => [f, i] as const));
  const n = ds.size * ds.size;
  const y = new Float32Array(files.length * n);
  const uv = new Float32Array(files.length * n * 2);
  const rgb = new Uint8Array(files.length * n * 3);
  files.forEach((f, k) => {
    const i = index.get(f);
    if (i === undefined) throw new Error(`subset: ${f} is not in the dataset ${ds.dir}`);
    y.set(ds.y.subarray(i * n, (i + 1) * n), k * n);
    uv.set(ds.uv.subarray(i * n * 2, (i + 1) * n * 2), k * n * 2);
    rgb.set(ds.rgb.subarray(i * n * 3, (i + 1) * n * 3), k * n * 3);
  });
  return {
    dir: ds.dir,
    size: ds.size,
    files: [...files],
    y,
    uv,
    rgb,
    skipped: [], // a subset holds decoded files only
    fromCache: ds.fromCache,
    cacheFile: ds.cacheFile,
  };
}
