/**
 * Checkpoints: everything needed to continue a run exactly where an epoch ended.
 *
 *   RUN/checkpoints/epoch-0007/
 *     generator/{model.json,weights.bin,colorgan.json}
 *     discriminator/{model.json,weights.bin}
 *     optimizer-g.bin, optimizer-d.bin, state.json   (Adam moments; epoch, seed, options)
 *   RUN/checkpoints/latest.json  -> {"epoch": 7, "dir": "epoch-0007"}
 *
 * A checkpoint folder is filled under a temp name and renamed into place; latest.json is
 * written (atomically) only after that, so a kill -9 at any moment leaves the previous
 * complete checkpoint as "latest". Each checkpoint also holds checksums.json (SHA-256 of
 * every other file); resume verifies it, names the file that fails and falls back to the
 * newest checkpoint that verifies. latest.json may only name a checkpoint folder of this
 * run (no path outside it is followed). state.json holds the typed run state (./state.ts),
 * checked when a checkpoint is loaded.
 */
import * as tf from '../util/tf.js';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { modelFiles, inFolder, writeDirAtomic, loadModelFromDir, type ModelFiles } from '../models/io.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parseCheckpointState, type CheckpointState, type SavedOptionsCheck } from './state.js';
import type { SavedRunOptions } from './options.js';

export type { CheckpointState } from './state.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

export interface LoadedCheckpoint<O extends object = SavedRunOptions> {
  dir: string;
  state: CheckpointState<O>;
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: NamedTensor[];
  optD: NamedTensor[];
}

const KEEP = 2;
export const CHECKSUMS = 'checksums.json';
const CHECKPOINT_NAME = /^epoch-\d{4,}$/;

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

async function encodeOptimizer(w: NamedTensor[]): Promise<{ json: string; bin: Uint8Array }> {
  const { data, specs } = await tf.io.encodeWeights(w);
  return { json: JSON.stringify(specs), bin: new Uint8Array(data) };
}

function decodeOptimizer(json: string, bin: Buffer): NamedTensor[] {
  const specs = JSON.parse(json) as tf.io.WeightsManifestEntry[];
  const ab = new Uint8Array(bin).buffer; // a copy: Buffer may share a larger pool
  const map = tf.io.decodeWeights(ab, specs);
  // Order matters to Adam (its moments are matched to variables by position).
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/** Write a checkpoint; `generator` is G's files as serialized once for the epoch (modelFiles, with its metadata). */
export async function saveCheckpoint(
  runDir: string,
  generator: ModelFiles,
  D: tf.LayersModel,
  opt: { g: NamedTensor[]; d: NamedTensor[] },
  state: CheckpointState<object>,
): Promise<string> {
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const root = checkpointsDir(runDir);
  const dir = path.join(root, name);
  const og = await encodeOptimizer(opt.g);
  const od = await encodeOptimizer(opt.d);
  const files: Record<string, string | Uint8Array> = {
    ...inFolder(generator, 'generator'),
    ...inFolder(await modelFiles(D), 'discriminator'),
    'optimizer-g.json': og.json,
    'optimizer-g.bin': og.bin,
    'optimizer-d.json': od.json,
    'optimizer-d.bin': od.bin,
    'state.json': JSON.stringify(state, null, 2),
  };
  files[CHECKSUMS] = `${JSON.stringify(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha256(v)])), null, 2)}\n`;
  await writeDirAtomic(dir, files);
  await writeFileAtomic(path.join(root, 'latest.json'), `${JSON.stringify({ epoch: state.epoch, dir: name })}\n`);
  // Keep the newest few complete checkpoints.
  const all = (await fs.readdir(root)).filter((d) => /^epoch-\d+$/.test(d)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - KEEP))) await fs.rm(path.join(root, old), { recursive: true, force: true });
  return dir;
}

/** The files every checkpoint holds (checksums.json aside). */
const REQUIRED = [
  'state.json',
  'generator/model.json',
  'generator/weights.bin',
  'discriminator/model.json',
  'discriminator/weights.bin',
  'optimizer-g.json',
  'optimizer-g.bin',
  'optimizer-d.json',
  'optimizer-d.bin',
];

/**
 * Why a checkpoint folder cannot be trusted ("<file>: <reason>"), or null if it verifies.
 * Checkpoints written before checksums existed are checked for completeness only.
 */
export async function verifyCheckpoint(dir: string): Promise<string | null> {
  let sums: Record<string, string> | null = null;
  try {
    sums = JSON.parse(await fs.readFile(path.join(dir, CHECKSUMS), 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `${path.join(dir, CHECKSUMS)}: unreadable (${(err as Error).message.split('\n')[0]})`;
  }
  for (const f of sums ? [...new Set([...REQUIRED, ...Object.keys(sums)])] : REQUIRED) {
    const file = path.join(dir, f);
    if (path.relative(dir, file).startsWith('..')) return `${path.join(dir, CHECKSUMS)}: names a file outside the checkpoint`;
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      return `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message}`;
    }
    if (sums && sums[f] === undefined) return `${file}: not in ${CHECKSUMS}`;
    if (sums && sha256(bytes) !== sums[f]) return `${file}: checksum mismatch (corrupted)`;
  }
  try {
    JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8'));
  } catch {
    return `${path.join(dir, 'state.json')}: not valid JSON`;
  }
  return null;
}

/**
 * The newest checkpoint of a run that verifies, or null if there is none. latest.json is
 * tried first (only if it names a checkpoint folder of this run), then every checkpoint
 * folder, newest first. Each one that fails is reported through `onRejected`.
 */
export async function findLatestCheckpoint(runDir: string, onRejected?: (dir: string, reason: string) => void): Promise<string | null> {
  const root = checkpointsDir(runDir);
  let names: string[] = [];
  try {
    names = (await fs.readdir(root))
      .filter((d) => CHECKPOINT_NAME.test(d))
      .sort()
      .reverse();
  } catch {
    return null;
  }
  try {
    const latest = JSON.parse(await fs.readFile(path.join(root, 'latest.json'), 'utf8')) as { dir?: unknown };
    if (typeof latest.dir === 'string' && CHECKPOINT_NAME.test(latest.dir) && names.includes(latest.dir)) {
      names = [latest.dir, ...names.filter((n) => n !== latest.dir)];
    } else if (latest.dir !== undefined) {
      onRejected?.(path.join(root, 'latest.json'), `names ${JSON.stringify(latest.dir)}, not a checkpoint folder of this run`);
    }
  } catch {
    // latest.json missing or unreadable: the folders decide.
  }
  for (const n of names) {
    const dir = path.join(root, n);
    const bad = await verifyCheckpoint(dir);
    if (!bad) return dir;
    onRejected?.(dir, bad);
  }
  return null;
}

/** Load a checkpoint (its options checked by `checkOpts`, default train's schema); a failure names the file. */
export async function loadCheckpoint<O extends object = SavedRunOptions>(dir: string, checkOpts?: SavedOptionsCheck<O>): Promise<LoadedCheckpoint<O>> {
  const step = async <T>(file: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw new Error(`${path.join(dir, file)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  };
  const state = await step('state.json', async () => parseCheckpointState<O>(JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')), checkOpts));
  const G = await step('generator', () => loadModelFromDir(path.join(dir, 'generator')));
  const D = await step('discriminator', () => loadModelFromDir(path.join(dir, 'discriminator')));
  const opt = (k: 'g' | 'd') =>
    step(`optimizer-${k}.bin`, async () =>
      decodeOptimizer(await fs.readFile(path.join(dir, `optimizer-${k}.json`), 'utf8'), await fs.readFile(path.join(dir, `optimizer-${k}.bin`))),
    );
  return { dir, state, G, D, optG: await opt('g'), optD: await opt('d') };
}

/** SHA-256 of a file, or null if it cannot be read. */
export async function fileSha256(file: string): Promise<string | null> {
  return fs.readFile(file).then(sha256, () => null);
}
