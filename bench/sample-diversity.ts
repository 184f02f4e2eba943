/**
 * How different are the colorizations of one photo for different noise z?
 * For each photo: N samples (one batched generator call), then the mean absolute U,V
 * difference (chromaDifference, 8-bit levels, at model size) over all pairs of samples.
 *
 *   node --import tsx bench/sample-diversity.ts [FOLDER] [--model DIR] [--samples 4]
 *        [--photos 5] [--seed 0]
 *
 * FOLDER defaults to /work/shared/datasets/sky-photos/mwd; the photos are spread evenly
 * over its sorted listing. The last line is machine-readable: `sample-diversity: X`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, bundledModelDir } from '../src/infer/node.js';
import { colorizeImageSamples, chromaDifference } from '../src/infer/colorizer.js';
import { decodeImage } from '../src/data/decode.js';
import { listImages } from '../src/data/walk.js';

const { values: v, positionals } = parseArgs({
  options: {
    model: { type: 'string' },
    samples: { type: 'string', default: '4' },
    photos: { type: 'string', default: '5' },
    seed: { type: 'string', default: '0' },
  },
  allowPositionals: true,
});
const folder = positionals[0] ?? '/work/shared/datasets/sky-photos/mwd';
const samples = Number(v.samples);
const count = Number(v.photos);
const seed = Number(v.seed);
if (!(samples >= 2) || !(count >= 1)) throw new Error('--samples must be >= 2 and --photos >= 1');

const model = await loadModel(v.model ?? bundledModelDir());
const all = await listImages(folder);
if (all.length === 0) throw new Error(`${folder}: no images`);
const step = all.length / Math.min(count, all.length);
const picked = Array.from({ length: Math.min(count, all.length) }, (_, i) => all[Math.floor(i * step)]);

const t = model.meta.training;
console.log(`model ${model.source} (${model.meta.config.arch}${t ? `, ${t.epochs} epochs on ${t.trainImages} photos` : ''}), ${samples} samples, seed ${seed}`);
const perPhoto: number[] = [];
for (const rel of picked) {
  const img = await decodeImage(path.join(folder, rel));
  const res = colorizeImageSamples(model, img, samples, { seed });
  const diffs: number[] = [];
  for (let a = 0; a < samples; a++) for (let b = a + 1; b < samples; b++) diffs.push(chromaDifference(res[a].uv, res[b].uv));
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  perPhoto.push(mean);
  console.log(`${rel}: mean |ΔU,V| ${mean.toFixed(3)} levels (pairs: ${diffs.map((d) => d.toFixed(2)).join(' ')})`);
}
const overall = perPhoto.reduce((s, d) => s + d, 0) / perPhoto.length;
console.log(`sample-diversity: ${overall.toFixed(3)}`);
