/**
 * What a run writes at the end of each epoch: the sample grid, the checkpoint, the
 * generator exports (generator/, and generator-best/ when the epoch is the best so far),
 * the loss log and curves. G is serialized once per epoch and the same bytes go to the
 * checkpoint and both exports, each folder written atomically.
 */
import type * as tf from '../util/tf.js';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { ModelConfig } from '../models/config.js';
import { generatorMetadata, type ModelMetadata } from '../models/metadata.js';
import { modelFiles, writeDirAtomic, MODEL_JSON, WEIGHTS_BIN, METADATA_JSON } from '../models/io.js';
import { writeFileAtomic } from '../util/atomic.js';
import { renderGrid } from '../report/grid.js';
import { plotSvg, svgToPng } from '../report/plot.js';
import { colorizeImage } from '../infer/colorizer.js';
import { installNativePixelKernels } from '../infer/native-pixels.js';
import { grayscaleRgb } from '../color/yuv.js';
import { disposeCheckpointTensors, type GanStep } from './gan.js';
import { saveCheckpoint, fileSha256 } from './checkpoint.js';
import type { CheckpointState, EpochRecord, StepLogRow } from './state.js';
import type { SamplePhoto } from './data.js';

export const GENERATOR_DIR = 'generator';
export const BEST_GENERATOR_DIR = 'generator-best';
export const SAMPLES_DIR = 'samples';

/** Which validation measure picks generator-best/: the one the run's image-space loss optimizes. */
export type Selection = 'l1' | 'mse' | 'psnr';

/** With the log RGB error term: validation PSNR; with only the L2 term (λ = 0, μ > 0): validation MSE; else validation L1. */
export function selectionOf(o: { l1: number; l2: number; psnr?: number }): Selection {
  if ((o.psnr ?? 0) > 0) return 'psnr';
  return o.l1 === 0 && o.l2 > 0 ? 'mse' : 'l1';
}

/** Lower is better; an epoch without the measure (an older record) never wins. */
function selectionError(h: EpochRecord, by: Selection): number {
  if (by === 'psnr') return h.valPsnr === undefined ? Number.POSITIVE_INFINITY : -h.valPsnr;
  return by === 'mse' ? (h.valMse ?? Number.POSITIVE_INFINITY) : h.valL1;
}

/** The epoch is the best so far by `by` (a tie goes to the later one). */
export function isBest(history: EpochRecord[], rec: EpochRecord, by: Selection): boolean {
  return selectionError(rec, by) <= Math.min(...history.map((h) => selectionError(h, by)));
}

export async function writeSampleGrid(runDir: string, epoch: number, G: tf.LayersModel, cfg: ModelConfig, photos: SamplePhoto[]): Promise<void> {
  // The same colorizer users get: gray in, raw model-size output and sharpened full size out.
  installNativePixelKernels(); // and the same pixel loops (the addon's where it loads)
  const colorizer = { model: G, meta: generatorMetadata(cfg), source: 'training' };
  const rows = photos.map((p, i) => {
    const gray = grayscaleRgb(p.full);
    const c = colorizeImage(colorizer, gray, { seed: 1, sample: i });
    return [gray, p.full, c.raw, c.rgb];
  });
  const grid = await renderGrid(rows, {
    titles: ['gray input', 'original', `generator (${cfg.size}×${cfg.size})`, 'sharpened (orig. Y)'],
    cell: 128,
    rowLabels: photos.map((p) => path.basename(p.file)),
  });
  await writeFileAtomic(path.join(runDir, SAMPLES_DIR, `epoch-${String(epoch).padStart(4, '0')}.png`), grid);
  await writeFileAtomic(path.join(runDir, SAMPLES_DIR, 'latest.png'), grid);
}

/**
 * The checkpoint, then the exports: G serialized once (with `meta`), the same files
 * written to each folder. Returns the checkpoint folder. A kill between the checkpoint
 * and the exports is repaired by the next run (repairExports).
 */
export async function saveEpoch(runDir: string, gan: GanStep, state: CheckpointState<object>, meta: ModelMetadata, best: boolean): Promise<string> {
  const generator = await modelFiles(gan.G, meta);
  const optState = await gan.optimizerWeights();
  const dir = await saveCheckpoint(runDir, generator, gan.D, optState, state);
  disposeCheckpointTensors(optState);
  await writeDirAtomic(path.join(runDir, GENERATOR_DIR), generator);
  // GAN training is noisy from epoch to epoch: also keep the generator with the lowest validation error.
  if (best) await writeDirAtomic(path.join(runDir, BEST_GENERATOR_DIR), generator);
  return dir;
}

export async function writeLogs(runDir: string, history: EpochRecord[], stepLog: StepLogRow[]): Promise<void> {
  await writeFileAtomic(path.join(runDir, 'losses.jsonl'), `${history.map((h) => JSON.stringify(h)).join('\n')}\n`);
  const svg = plotSvg(
    [
      {
        title: 'GAN losses',
        series: [
          { name: 'G adversarial', color: '#d62728', points: stepLog.map((r) => [r[0], r[1]]) },
          { name: 'D', color: '#1f77b4', points: stepLog.map((r) => [r[0], r[3]]) },
        ],
      },
      {
        title: 'L1 of U,V (network scale)',
        series: [
          { name: 'train L1', color: '#ff7f0e', points: stepLog.map((r) => [r[0], r[2]]) },
          { name: 'validation L1', color: '#2ca02c', points: history.map((h) => [h.epoch, h.valL1]) },
        ],
      },
    ],
    { title: `colorgan training — ${path.basename(path.resolve(runDir))}`, xLabel: 'epoch' },
  );
  await writeFileAtomic(path.join(runDir, 'loss-curve.svg'), svg);
  await writeFileAtomic(path.join(runDir, 'loss-curve.png'), await svgToPng(svg));
}

/**
 * The run is only done when generator/ holds the last checkpoint's generator and
 * generator-best/ the best epoch's: a kill during their export (after the checkpoint was
 * written) left older ones, which are rewritten here from the checkpoint's files.
 */
export async function repairExports(runDir: string, checkpoint: string, history: EpochRecord[], by: Selection, log: (m: string) => void): Promise<void> {
  const copyFrom = async (src: string, dst: string) => {
    const files: Record<string, Uint8Array> = {};
    for (const f of [MODEL_JSON, WEIGHTS_BIN, METADATA_JSON]) files[f] = await fs.readFile(path.join(src, f));
    await writeDirAtomic(dst, files);
  };
  const want = await fileSha256(path.join(checkpoint, GENERATOR_DIR, WEIGHTS_BIN));
  const targets = [path.join(runDir, GENERATOR_DIR)];
  const last = history[history.length - 1];
  if (last && isBest(history, last, by)) targets.push(path.join(runDir, BEST_GENERATOR_DIR));
  for (const dst of targets) {
    if ((await fileSha256(path.join(dst, WEIGHTS_BIN))) !== want) {
      await copyFrom(path.join(checkpoint, GENERATOR_DIR), dst);
      log(`${dst}: did not hold the last checkpoint's generator (an interrupted export); rewritten from ${checkpoint}`);
    }
  }
}
