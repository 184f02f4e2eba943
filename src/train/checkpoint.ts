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
 * complete checkpoint as "latest".
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { modelFiles, writeDirAtomic, loadModelFromDir } from '../models/io.js';
import type { ModelMetadata } from '../models/metadata.js';
import { writeFileAtomic } from '../util/atomic.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

export interface CheckpointState {
  epoch: number; // epochs completed
  seed: number;
  options: Record<string, unknown>;
  history: Record<string, number>[];
  savedAt: string;
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  G: tf.LayersModel;
  D: tf.LayersModel;
  optG: NamedTensor[];
  optD: NamedTensor[];
}

const KEEP = 2;

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

export async function saveCheckpoint(
  runDir: string,
  G: tf.LayersModel,
  D: tf.LayersModel,
  opt: { g: NamedTensor[]; d: NamedTensor[] },
  state: CheckpointState,
  gMeta: ModelMetadata,
): Promise<string> {
  const name = `epoch-${String(state.epoch).padStart(4, '0')}`;
  const root = checkpointsDir(runDir);
  const dir = path.join(root, name);
  const og = await encodeOptimizer(opt.g);
  const od = await encodeOptimizer(opt.d);
  await writeDirAtomic(dir, {
    ...(await modelFiles(G, gMeta, 'generator/')),
    ...(await modelFiles(D, undefined, 'discriminator/')),
    'optimizer-g.json': og.json,
    'optimizer-g.bin': og.bin,
    'optimizer-d.json': od.json,
    'optimizer-d.bin': od.bin,
    'state.json': JSON.stringify(state, null, 2),
  });
  await writeFileAtomic(path.join(root, 'latest.json'), JSON.stringify({ epoch: state.epoch, dir: name }) + '\n');
  // Keep the newest few complete checkpoints.
  const all = (await fs.readdir(root)).filter((d) => /^epoch-\d+$/.test(d)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - KEEP))) await fs.rm(path.join(root, old), { recursive: true, force: true });
  return dir;
}

/** The newest complete checkpoint of a run, or null if there is none. */
export async function findLatestCheckpoint(runDir: string): Promise<string | null> {
  const root = checkpointsDir(runDir);
  try {
    const latest = JSON.parse(await fs.readFile(path.join(root, 'latest.json'), 'utf8')) as { dir: string };
    const dir = path.join(root, latest.dir);
    await fs.access(path.join(dir, 'state.json'));
    return dir;
  } catch {
    // latest.json missing or stale: fall back to the newest folder that is complete.
    let names: string[] = [];
    try {
      names = (await fs.readdir(root)).filter((d) => /^epoch-\d+$/.test(d)).sort().reverse();
    } catch {
      return null;
    }
    for (const n of names) {
      const dir = path.join(root, n);
      if (await fs.access(path.join(dir, 'state.json')).then(() => true, () => false)) return dir;
    }
    return null;
  }
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
  const G = await loadModelFromDir(path.join(dir, 'generator'));
  const D = await loadModelFromDir(path.join(dir, 'discriminator'));
  const optG = decodeOptimizer(await fs.readFile(path.join(dir, 'optimizer-g.json'), 'utf8'), await fs.readFile(path.join(dir, 'optimizer-g.bin')));
  const optD = decodeOptimizer(await fs.readFile(path.join(dir, 'optimizer-d.json'), 'utf8'), await fs.readFile(path.join(dir, 'optimizer-d.bin')));
  return { dir, state, G, D, optG, optD };
}
