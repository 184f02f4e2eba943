/**
 * The paper's LAPGAN question, measured (issue 16): the same model folder without its
 * refinement stages (`refine: false`), with its ×2 stage only and with both (×4, when it
 * has two), at full resolution, on the validation split of
 * every source (70/30 per source, seed 1: the training split). PSNR, SSIM, AuC, colorfulness
 * ratio per source (each source counts once in the mean) and the median time per megapixel
 * (colorizer only: luma → model(s) → upsampled chroma → full-resolution RGB; decoding not
 * counted). With --sheet, a crop sheet at 100% zoom (gray | base | refined… | original) of
 * the validation photos where the stages changed the colors most. A control, the base model
 * at a lower chroma gain (--control-gain, default 0.75), tells a gain from desaturation
 * (which raises PSNR too, README's calibration table) from a gain in detail.
 *
 *   node --import tsx bench/refine-compare.ts --model RUN/model [--per-source N] [--sheet docs/x.jpg] DATA...
 */
import { parseArgs } from 'node:util';
import { decodeOrSkip, photosBySource } from './cli-util.js';
import sharp from 'sharp';
import { initBackend } from '../src/backend/node.js';
import { loadModel } from '../src/infer/node.js';
import { colorizeImage, type Colorizer } from '../src/infer/colorizer.js';
import { loadDatasets, splitBySource, resolveFile } from '../src/data/sources.js';
import { decodeImage } from '../src/data/decode.js';
import { grayscaleRgb, type RgbImage } from '../src/color/yuv.js';
import { compareImages } from '../src/eval/metrics.js';
import { renderGrid } from '../src/report/grid.js';
import { writeFileAtomic } from '../src/util/atomic.js';

const { values: v, positionals: dirs } = parseArgs({
  options: {
    model: { type: 'string' },
    'per-source': { type: 'string' },
    sheet: { type: 'string' },
    crop: { type: 'string', default: '256' },
    rows: { type: 'string', default: '6' },
    'control-gain': { type: 'string', default: '0.75' },
  },
  allowPositionals: true,
});
if (!v.model) throw new Error('--model DIR (a model folder with refine-1/) is required');
await initBackend({ threads: 1 });
const c = await loadModel(v.model);
if (!c.refine?.length) throw new Error(`${v.model}: has no refinement stages (colorgan.json "refine")`);
const ds = await loadDatasets(dirs, { size: c.meta.config.size });
const parts = splitBySource(ds.files, 1, 0.3);

const controlGain = Number(v['control-gain']);
/** Each system: its name and how it colorizes (the finest is last). */
const STAGED = c.refine.map((_, k) => ({ name: `refine ×${2 ** (k + 1)}`, model: { ...c, refine: c.refine!.slice(0, k + 1) } as Colorizer, opts: {} }));
const RUNS = [{ name: 'base', model: c, opts: { refine: false } }, { name: 'control', model: c, opts: { refine: false, saturation: controlGain } }, ...STAGED];
const SYSTEMS = RUNS.map((r) => r.name);
type Sys = string;
const FINEST = SYSTEMS[SYSTEMS.length - 1];
const KEYS = ['psnr', 'ssim', 'auc', 'colorfulnessRatio'] as const;
type Rows = Record<Sys, Record<(typeof KEYS)[number], number[]> & { msPerMp: number[] }>;
const empty = (): Rows => Object.fromEntries(SYSTEMS.map((s) => [s, { psnr: [], ssim: [], auc: [], colorfulnessRatio: [], msPerMp: [] }])) as unknown as Rows;
const table = new Map<string, Rows>();
/** Candidates for the crop sheet: how much the stage changed a photo's colors, where. */
const changes: { file: string; diff: number; x: number; y: number }[] = [];
const crop = Number(v.crop);

/** The crop×crop window with the largest mean |refined − base| (RGB), on a coarse grid of windows. */
function mostChanged(a: RgbImage, b: RgbImage): { diff: number; x: number; y: number } {
  const { width: w, height: h } = a;
  const cw = Math.min(crop, w);
  const ch = Math.min(crop, h);
  let best = { diff: -1, x: 0, y: 0 };
  const step = Math.max(16, Math.floor(crop / 4));
  for (let y0 = 0; y0 + ch <= h; y0 += step) {
    for (let x0 = 0; x0 + cw <= w; x0 += step) {
      let s = 0;
      for (let y = y0; y < y0 + ch; y += 2) {
        for (let x = x0; x < x0 + cw; x += 2) {
          const p = (y * w + x) * 3;
          s += Math.abs(a.data[p] - b.data[p]) + Math.abs(a.data[p + 1] - b.data[p + 1]) + Math.abs(a.data[p + 2] - b.data[p + 2]);
        }
      }
      const d = s / ((cw * ch) / 4);
      if (d > best.diff) best = { diff: d, x: x0, y: y0 };
    }
  }
  return best;
}

const t0 = performance.now();
let count = 0;
for (const [source, pick] of photosBySource(parts.val, v['per-source'] ? Number(v['per-source']) : undefined)) {
  const rows = empty();
  for (const f of pick) {
    const truth = await decodeOrSkip(ds, f);
    if (!truth) continue;
    const gray = grayscaleRgb(truth);
    const mp = (gray.width * gray.height) / 1e6;
    const out: Partial<Record<Sys, RgbImage>> = {};
    for (const r of RUNS) {
      const t = performance.now();
      const img = colorizeImage(r.model, gray, r.opts).rgb;
      rows[r.name].msPerMp.push((performance.now() - t) / mp);
      out[r.name] = img;
      const m = compareImages(img, truth);
      for (const k of KEYS) rows[r.name][k].push(m[k]);
    }
    if (v.sheet) changes.push({ file: f, ...mostChanged(out.base!, out[FINEST]!) });
    count++;
  }
  table.set(source, rows);
  process.stderr.write(`${source}: ${pick.length} photos, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

const finite = (a: number[]) => a.filter(Number.isFinite);
const mean = (a: number[]) => finite(a).reduce((x, y) => x + y, 0) / Math.max(1, finite(a).length);
const median = (a: number[]) => {
  const s = finite(a).sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : Number.NaN;
};
console.log(`model ${c.source} (${c.refine.length} refinement stage${c.refine.length > 1 ? 's' : ''}); ${count} validation photos, full resolution`);
console.log(
  `columns: ${SYSTEMS.join(' / ')} (base: the model's defaults without stages; control: base at saturation ${controlGain}; refine: with its stages up to that scale)`,
);
const cols = SYSTEMS.join(' / ');
const deltas = STAGED.map((r) => `Δ dB ${r.name} − base`).join(' | ');
console.log(`| source | photos | PSNR ${cols} | ${deltas} | SSIM ${cols} | AuC ${cols} | colorfulness ratio ${cols} |`);
console.log(`|---|---:|---:|${STAGED.map(() => '---:|').join('')}---:|---:|---:|`);
const overall = empty();
const f2 = (x: number) => x.toFixed(2);
const f4 = (x: number) => x.toFixed(4);
const line = (name: string, n: number, r: Rows) => {
  const three = (k: (typeof KEYS)[number], f: (x: number) => string) => SYSTEMS.map((s) => f(mean(r[s][k]))).join(' / ');
  console.log(
    `| ${name} | ${n} | ${three('psnr', f2)} | ${STAGED.map((s) => (mean(r[s.name].psnr) - mean(r.base.psnr)).toFixed(3)).join(' | ')} | ${three('ssim', f4)} | ${three('auc', f2)} | ${three('colorfulnessRatio', f2)} |`,
  );
};
for (const [source, r] of table) {
  line(source, r.base.psnr.length, r);
  for (const s of SYSTEMS) {
    for (const k of KEYS) overall[s][k].push(mean(r[s][k]));
    overall[s].msPerMp.push(...r[s].msPerMp);
  }
}
line('mean over sources', count, overall);
console.log(
  `time per megapixel (median over photos, colorizer only): ${RUNS.map((r) => `${r.name} ${median(overall[r.name].msPerMp).toFixed(0)} ms`).join(', ')}`,
);

if (v.sheet) {
  const pickRows = changes.sort((x, y) => y.diff - x.diff).slice(0, Number(v.rows));
  const rows: RgbImage[][] = [];
  const cut = (img: RgbImage, x: number, y: number, w: number, h: number): RgbImage => {
    const data = new Uint8Array(w * h * 3);
    for (let r = 0; r < h; r++) data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
    return { width: w, height: h, data };
  };
  for (const p of pickRows) {
    const truth = await decodeImage(resolveFile(ds, p.file));
    const gray = grayscaleRgb(truth);
    const w = Math.min(crop, gray.width);
    const h = Math.min(crop, gray.height);
    const shown = [RUNS[0], ...STAGED].map((r) => colorizeImage(r.model, gray, r.opts).rgb);
    rows.push([gray, ...shown, truth].map((img) => cut(img, p.x, p.y, w, h)));
    process.stderr.write(`sheet: ${p.file} at (${p.x}, ${p.y}), mean |Δ| ${p.diff.toFixed(2)} levels\n`);
  }
  const png = await renderGrid(rows, {
    titles: ['gray', `base + ${c.meta.inference?.upsample ?? 'bilinear'}`, ...STAGED.map((r) => `base + ${r.name}`), 'original'],
    cell: crop,
    rowLabels: pickRows.map((p) => p.file.split('/').pop()!),
  });
  await writeFileAtomic(v.sheet, await sharp(png).jpeg({ quality: 88 }).toBuffer());
  console.log(`crop sheet (${crop}×${crop} at 100%, the ${rows.length} photos the stage changed most): ${v.sheet}`);
}
