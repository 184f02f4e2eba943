/**
 * Quick choices for a model's inference defaults, on the validation split of every
 * source: full-resolution PSNR and colorfulness ratio of the model at several chroma
 * gains (`saturation`) and with bilinear vs guided upsampling, next to gray and
 * mean-chroma. The generator runs once per photo; only the cheap metrics are computed
 * (the full set is `colorgan eval`). Each source counts once in the mean.
 *
 *   node --import tsx bench/calibrate.ts --model DIR [--per-source N] [--gains 0.8,1,1.2] DATA...
 */
import { parseArgs } from 'node:util';
import { decodeOrSkip, photosBySource } from './cli-util.js';
import { initBackend } from '../src/backend/node.js';
import { loadModel } from '../src/infer/node.js';
import { loadDatasets, splitBySource } from '../src/data/sources.js';
import { grayscaleRgb, type RgbImage } from '../src/color/yuv.js';
import { predictChroma, stageLumas } from '../src/infer/colorizer.js';
import { sharpenToFullRes, type UpsampleMethod } from '../src/infer/sharpen.js';
import { psnr, colorfulness } from '../src/eval/metrics.js';
import { balancedMeanChroma, withConstantChroma } from '../src/eval/evaluate.js';

const { values: v, positionals: dirs } = parseArgs({
  options: { model: { type: 'string' }, 'per-source': { type: 'string' }, gains: { type: 'string', default: '0.8,1,1.2' }, 'render-size': { type: 'string' } },
  allowPositionals: true,
});
await initBackend({ threads: 1 });
const c = await loadModel(v.model);
const gains = v.gains!.split(',').map(Number);
const renderSize = v['render-size'] ? Number(v['render-size']) : undefined;
const S = c.meta.config.size;
const ds = await loadDatasets(dirs, { size: S });
const parts = splitBySource(ds.files, 1, 0.3);
const mc = balancedMeanChroma(ds, parts.train);

type Sys = string;
const systems: Sys[] = ['gray', 'mean-chroma', ...gains.map((g) => `bilinear×${g}`), ...gains.map((g) => `guided×${g}`)];
const table: Record<string, Record<Sys, { p: number[]; c: number[] }>> = {};
const t0 = performance.now();
let done = 0;
for (const [source, pick] of photosBySource(parts.val, v['per-source'] ? Number(v['per-source']) : undefined)) {
  const rows: Record<Sys, { p: number[]; c: number[] }> = Object.fromEntries(systems.map((s) => [s, { p: [], c: [] }]));
  for (const f of pick) {
    const truth = await decodeOrSkip(ds, f);
    if (!truth) continue;
    const gray = grayscaleRgb(truth);
    const cTruth = colorfulness(truth);
    const add = (s: Sys, img: RgbImage) => {
      rows[s].p.push(psnr(img, truth));
      if (cTruth > 0) rows[s].c.push(colorfulness(img) / cTruth);
    };
    add('gray', gray);
    add('mean-chroma', withConstantChroma(gray, mc.u, mc.v));
    // As colorize: the base grid, then the model's refinement stages (if any), seed 0 sample 0.
    const { y, lumas, finest } = stageLumas(c, gray, renderSize);
    const [uv] = predictChroma(c, y, lumas, 0, [0]);
    for (const up of ['bilinear', 'guided'] as UpsampleMethod[]) {
      for (const g of gains) {
        const scaled = uv.map((x) => x * g);
        add(`${up}×${g}`, {
          ...gray,
          data: sharpenToFullRes(gray.data, gray.width, gray.height, scaled, finest.grid, undefined, { upsample: up, guide: finest.data }),
        });
      }
    }
    done++;
  }
  table[source] = rows;
  process.stderr.write(`${source}: ${pick.length} photos, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
const mean = (a: number[]) => a.filter(Number.isFinite).reduce((x, y) => x + y, 0) / Math.max(1, a.filter(Number.isFinite).length);
console.log(
  `model ${c.source}${c.refine?.length ? ` (+ ${c.refine.length} refinement stage${c.refine.length > 1 ? 's' : ''})` : ''}; ${done} photos; PSNR (dB) at full resolution / colorfulness ratio; mean chroma U ${mc.u.toFixed(2)} V ${mc.v.toFixed(2)}`,
);
console.log(`| source | ${systems.join(' | ')} |`);
console.log(`|---|${systems.map(() => '---:').join('|')}|`);
const overall: Record<Sys, { p: number[]; c: number[] }> = Object.fromEntries(systems.map((s) => [s, { p: [], c: [] }]));
for (const [source, rows] of Object.entries(table)) {
  console.log(`| ${source} | ${systems.map((s) => `${mean(rows[s].p).toFixed(2)} / ${mean(rows[s].c).toFixed(2)}`).join(' | ')} |`);
  for (const s of systems) {
    overall[s].p.push(mean(rows[s].p));
    overall[s].c.push(mean(rows[s].c));
  }
}
console.log(`| mean over sources | ${systems.map((s) => `${mean(overall[s].p).toFixed(2)} / ${mean(overall[s].c).toFixed(2)}`).join(' | ')} |`);
