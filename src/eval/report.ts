/**
 * The evaluation report (see ./evaluate.ts): REPORT_DIR/
 *   metrics.json    means per scope × system × resolution, plus meta (layout below)
 *   per-image.jsonl one JSON line per evaluated photo with all its metrics
 *   grid.png        gray input | original | raw output | sharpened, for an evenly spread
 *                   sample, then the best and worst photos by full-resolution PSNR
 *   report.html     self-contained page (links grid.png relatively)
 * Every file is written atomically (temp file + rename); metrics.json and report.html last.
 *
 * metrics.json:
 *   {
 *     "meta": { "model": { "source", "colorgan": <the model's colorgan.json> },
 *               "data", "split", "seed", "valFraction", "size", "limit",
 *               "meanChroma": { "u", "v", "trainImages" },
 *               "counts": { "decoded", "selected", "evaluated", "train", "val" },
 *               "skipped": [{ "file", "reason" }], "time", "seconds", "generatedBy" },
 *     "overall": SCOPE,
 *     "folders": { "<first path component>": SCOPE, ... }   ("." = photos at the top level)
 *   }
 *   SCOPE = { "model" | "gray" | "mean-chroma":
 *             { "model-size" | "full":
 *               { "psnr", "ssim", "auc", "colorfulness", "colorfulnessTruth",
 *                 "colorfulnessRatio", "count", "nonFinite": { <metric>: n, ... } } } }
 *   Means skip non-finite values (counted in nonFinite); a mean with no finite value is null.
 */
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';
import { escapeMarkup as esc } from '../util/text.js';
import { renderGrid } from '../report/grid.js';
import { METRIC_KEYS, RESOLUTIONS, SYSTEMS, type EvalResult, type MetricKey, type ResolutionName, type ScopeSummary } from './evaluate.js';

export const REPORT_FILES = ['metrics.json', 'per-image.jsonl', 'grid.png', 'report.html'] as const;

const LABELS: Record<MetricKey, string> = {
  psnr: 'PSNR (dB)',
  ssim: 'SSIM',
  auc: 'AuC (%)',
  colorfulness: 'colorfulness',
  colorfulnessTruth: 'colorfulness of original',
  colorfulnessRatio: 'colorfulness ratio',
};

const DIGITS: Record<MetricKey, number> = { psnr: 2, ssim: 4, auc: 2, colorfulness: 2, colorfulnessTruth: 2, colorfulnessRatio: 3 };

function fmt(v: number, k: MetricKey): string {
  return Number.isFinite(v) ? v.toFixed(DIGITS[k]) : '—';
}

function resolutionTitle(r: ResolutionName, size: number): string {
  return r === 'model-size' ? `model size (${size}×${size})` : 'full resolution';
}

/** The metrics.json object (NaN and ±Infinity become null when serialized). */
export function metricsJson(res: EvalResult): Record<string, unknown> {
  return {
    meta: {
      model: { source: res.model.source, colorgan: res.model.metadata },
      data: path.resolve(res.data),
      split: res.split,
      seed: res.seed,
      valFraction: res.valFraction,
      size: res.size,
      limit: res.limit,
      meanChroma: res.meanChroma,
      counts: res.counts,
      skipped: res.skipped,
      time: res.startedAt,
      seconds: Math.round(res.seconds * 10) / 10,
      generatedBy: 'colorgan eval',
    },
    overall: res.overall,
    folders: res.folders,
    sourceMean: res.sourceMean,
  };
}

/**
 * Per source (folder) and their mean, each counting once, as a Markdown table: PSNR of
 * the model, gray and mean-chroma at both resolutions and the model's colorfulness ratio.
 */
export function formatSourceTable(res: EvalResult): string {
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const rows = [...Object.entries(res.folders), ['mean over sources', res.sourceMean] as const];
  const lines = [
    '| source | photos | model 64² | gray 64² | mean-chroma 64² | model full | gray full | mean-chroma full | model − gray (full) | colorfulness ratio (full) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, sc] of rows) {
    const m = sc.model,
      g = sc.gray,
      c = sc['mean-chroma'];
    lines.push(
      `| ${name} | ${m.full.count} | ${f(m['model-size'].psnr)} | ${f(g['model-size'].psnr)} | ${f(c['model-size'].psnr)} | ${f(m.full.psnr)} | ${f(g.full.psnr)} | ${f(c.full.psnr)} | ${f(m.full.psnr - g.full.psnr)} | ${f(m.full.colorfulnessRatio, 3)} |`,
    );
  }
  return lines.join('\n').replace(/64²/g, `${res.size}²`);
}

const photos = (n: number): string => `${n} photo${n === 1 ? '' : 's'}`;

/** One scope as an aligned text table: metrics × (resolution × system). */
export function formatTable(scope: ScopeSummary, title: string, size: number): string {
  const colW = 12;
  const labW = Math.max(...METRIC_KEYS.map((k) => LABELS[k].length), title.length) + 2;
  const group = SYSTEMS.length * colW;
  const sep = '  |';
  const lines: string[] = [];
  lines.push(title.padEnd(labW) + RESOLUTIONS.map((r) => resolutionTitle(r, size).padStart(group)).join(sep));
  lines.push(''.padEnd(labW) + RESOLUTIONS.map(() => SYSTEMS.map((s) => s.padStart(colW)).join('')).join(sep));
  for (const k of METRIC_KEYS) {
    lines.push(LABELS[k].padEnd(labW) + RESOLUTIONS.map((r) => SYSTEMS.map((s) => fmt(scope[s][r][k], k).padStart(colW)).join('')).join(sep));
  }
  return lines.join('\n');
}

/** The overall table with the photo count, as printed by the CLI. */
export function formatOverall(res: EvalResult): string {
  return formatTable(res.overall, `overall: ${photos(res.counts.evaluated)}`, res.size);
}

function htmlTable(scope: ScopeSummary, size: number): string {
  const head1 = `<tr><th rowspan="2">metric</th>${RESOLUTIONS.map((r) => `<th colspan="${SYSTEMS.length}" class="grp">${esc(resolutionTitle(r, size))}</th>`).join('')}</tr>`;
  const head2 = `<tr>${RESOLUTIONS.map((_, ri) => SYSTEMS.map((s, si) => `<th${si === 0 && ri > 0 ? ' class="grp"' : ''}>${esc(s)}</th>`).join('')).join('')}</tr>`;
  const body = METRIC_KEYS.map((k) => {
    const cells = RESOLUTIONS.map((r, ri) =>
      SYSTEMS.map((s, si) => {
        const m = scope[s][r];
        const nf = m.nonFinite[k];
        const title = nf ? ` title="${nf} non-finite value(s) left out of the mean"` : '';
        return `<td${si === 0 && ri > 0 ? ' class="grp"' : ''}${title}>${fmt(m[k], k)}${nf ? '*' : ''}</td>`;
      }).join(''),
    ).join('');
    return `<tr><th class="row">${esc(LABELS[k])}</th>${cells}</tr>`;
  }).join('\n');
  return `<table>\n${head1}\n${head2}\n${body}\n</table>`;
}

const EXPLANATIONS = `
<dl>
<dt>PSNR (dB)</dt><dd>10·log<sub>10</sub>(255² / MSE), MSE over all R, G, B values (0–255) of the image. Higher is better.
An exact reproduction gives ∞, which is left out of the mean (counted, marked *).</dd>
<dt>SSIM</dt><dd>Structural similarity (Wang et al. 2004): 11×11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255,
population variances, mean over the window positions fully inside the image, computed per R, G, B channel and averaged —
the same as scikit-image <code>structural_similarity(channel_axis=2, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)</code>. Range (−1, 1]; 1 = identical. Since every system keeps the photo's luma,
SSIM mostly measures chroma agreement here.</dd>
<dt>AuC (%)</dt><dd>Zhang, Isola &amp; Efros 2016 (not class-rebalanced): per-pixel Euclidean error in CIELAB (a, b) (D65),
fraction of pixels with error ≤ t for t = 0, 1, …, 150, averaged and ×100. 100 = perfect chroma everywhere.</dd>
<dt>colorfulness</dt><dd>Hasler &amp; Süsstrunk 2003 on 0–255 RGB: rg = R − G, yb = ½(R + G) − B,
M = √(σ<sub>rg</sub>² + σ<sub>yb</sub>²) + 0.3·√(μ<sub>rg</sub>² + μ<sub>yb</sub>²) (population standard deviations).
0 for a gray image; “colorfulness of original” is the same measure on the ground truth.</dd>
<dt>colorfulness ratio</dt><dd>Per photo, colorfulness of the prediction ÷ colorfulness of the original, then averaged.
1 = as colorful as the original; below 1 = washed out (the usual failure of L1/L2-trained colorizers), above 1 = over-saturated.
Photos whose original is gray (0/0) are left out of this mean.</dd>
</dl>
<p>Systems: <b>model</b> = the generator (noise seed 0); <b>gray</b> = the gray input itself (no color: U = V = 128);
<b>mean-chroma</b> = the gray input's Y with the training split's mean U, V on every pixel (ITU-R 601 formulas of the paper).
Every system only sees the 8-bit gray version of the photo.</p>
<p>Resolutions: <b>model size</b> = the photo center-cropped and resized (lanczos3) to the model's size, compared with the
generator's raw output; <b>full resolution</b> = the photo at its own size, compared with the sharpened output (the photo's own
luma with the predicted chroma upsampled bilinearly).</p>`;

function sourceHtml(res: EvalResult): string {
  const md = formatSourceTable(res).split('\n');
  const cells = (l: string) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
  const head = cells(md[0])
    .map((c) => `<th>${esc(c)}</th>`)
    .join('');
  const body = md
    .slice(2)
    .map(
      (l) =>
        `<tr>${cells(l)
          .map((c, i) => (i === 0 ? `<th class="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`))
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<tr>${head}</tr>\n${body}\n</table>`;
}

const REPORT_CSS = `body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-variant-numeric: tabular-nums; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th.row { text-align: left; font-weight: normal; }
.grp { border-left: 2px solid #999; }
code { font-size: .92em; }
dt { font-weight: bold; margin-top: .6em; }
img { max-width: 100%; border: 1px solid #ccc; }
.meta td, .meta th { text-align: left; }
`;

/** What was evaluated: model, its training, data, split, mean chroma, run time. */
function runTable(res: EvalResult): string {
  const meta = res.model.metadata;
  const training = meta.training ? esc(JSON.stringify(meta.training)) : 'not recorded';
  return `<table class="meta">
<tr><th>model</th><td><code>${esc(res.model.source)}</code> (${esc(meta.config.arch)}, ${meta.config.size}×${meta.config.size}${meta.createdAt ? `, created ${esc(meta.createdAt)}` : ''})</td></tr>
<tr><th>training</th><td><code>${training}</code></td></tr>
<tr><th>data</th><td><code>${esc(path.resolve(res.data))}</code>: ${res.counts.decoded} photos, split seed ${res.seed} → ${res.counts.train} train / ${res.counts.val} validation</td></tr>
<tr><th>evaluated</th><td>${res.split === 'val' ? 'validation split' : 'all photos'}${res.limit !== null ? ` (limit ${res.limit})` : ''}: ${res.counts.evaluated} of ${res.counts.selected} selected</td></tr>
<tr><th>mean chroma</th><td>U ${res.meanChroma.u.toFixed(2)}, V ${res.meanChroma.v.toFixed(2)} (digital levels, over the ${res.meanChroma.trainImages} training-split photos at ${res.size}×${res.size})</td></tr>
<tr><th>run</th><td>${esc(res.startedAt)}, ${res.seconds.toFixed(1)} s</td></tr>
</table>`;
}

export function reportHtml(res: EvalResult): string {
  const scopes = Object.entries(res.folders);
  const folderTables =
    scopes.length > 1 || (scopes.length === 1 && scopes[0][0] !== '.')
      ? scopes
          .map(([name, sc]) => `<h3>${esc(name === '.' ? '(top level)' : `${name}/`)} — ${photos(sc.model.full.count)}</h3>\n${htmlTable(sc, res.size)}`)
          .join('\n')
      : '';
  const gridList = res.grid
    .map((g, i) => `<li>row ${i + 1}: ${esc(g.kind)} — <code>${esc(g.file)}</code>, full-resolution PSNR ${fmt(g.psnr, 'psnr')} dB</li>`)
    .join('\n');
  const skipped = res.skipped.length
    ? `<details><summary>${res.skipped.length} file(s) skipped</summary><ul>${res.skipped.map((s) => `<li><code>${esc(s.file)}</code>: ${esc(s.reason)}</li>`).join('')}</ul></details>`
    : '<p>No file was skipped.</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>colorgan evaluation — ${esc(path.basename(path.resolve(res.data)))}</title>
<style>
${REPORT_CSS}</style>
</head>
<body>
<h1>Colorization quality</h1>
${runTable(res)}

<h2>Overall — ${photos(res.overall.model.full.count)}</h2>
${htmlTable(res.overall, res.size)}
${scopes.length > 1 ? `<h2>Per source (PSNR, dB) and their mean</h2>\n${sourceHtml(res)}` : ''}
${folderTables ? `<h2>Per folder</h2>\n${folderTables}` : ''}
<p>* some values were not finite and are left out of that mean (hover for the count).</p>

<h2>Metrics</h2>
${EXPLANATIONS}

<h2>Examples</h2>
<p>Columns: gray input | original | raw generator output (${res.model.metadata.config.size}×${res.model.metadata.config.size}) | sharpened (full resolution).
Rows: an evenly spread sample, then the best and the worst photos by full-resolution PSNR of the model. Cells are squares; non-square photos appear stretched.</p>
<p><img src="grid.png" alt="gray | original | raw output | sharpened"></p>
<ol style="list-style:none;padding-left:0">${gridList}</ol>

<h2>Skipped files</h2>
${skipped}
<p>Per-photo metrics: <a href="per-image.jsonl">per-image.jsonl</a>; means: <a href="metrics.json">metrics.json</a>.</p>
</body>
</html>
`;
}

/** Label lines of a grid row: kind, folder, file name, PSNR. */
function gridLabel(kind: string, file: string, psnr: number, rank: number): string[] {
  const slash = file.lastIndexOf('/');
  const lines = [`${kind}${kind === 'sample' ? '' : ` ${rank}`}`];
  if (slash >= 0) lines.push(file.slice(0, slash + 1));
  lines.push(file.slice(slash + 1));
  lines.push(`PSNR ${Number.isFinite(psnr) ? psnr.toFixed(2) : '∞'} dB`);
  return lines;
}

const LABEL_WIDTH = 150;

/**
 * Render grid.png of the result's grid rows: renderGrid's cells, plus a label column on the
 * left (dark text on white, readable on any photo) naming each row's kind, file and PSNR.
 */
export async function renderEvalGrid(res: EvalResult, cell = 160, gap = 4): Promise<Buffer> {
  const size = res.model.metadata.config.size;
  const grid = await renderGrid(
    res.grid.map((g) => [g.gray, g.original, g.raw, g.sharpened]),
    { titles: ['gray input', 'original', `raw output (${size}×${size})`, 'sharpened (full res)'], cell, gap },
  );
  const { height = 0 } = await sharp(grid).metadata();
  const header = height - res.grid.length * (cell + gap) - gap; // renderGrid's title band
  const counters: Record<string, number> = {};
  const texts = res.grid
    .map((g, r) => {
      const rank = (counters[g.kind] = (counters[g.kind] ?? 0) + 1);
      const lines = gridLabel(g.kind, g.file, g.psnr, rank);
      const y0 = header + r * (cell + gap) + cell / 2 - ((lines.length - 1) * 16) / 2 + 4;
      return lines
        .map((l, i) => {
          const weight = i === 0 ? ' font-weight="bold"' : '';
          const color = i === 0 ? (g.kind === 'best' ? '#14632b' : g.kind === 'worst' ? '#9b1c1c' : '#222') : '#222';
          return `<text x="${LABEL_WIDTH - 6}" y="${y0 + i * 16}" text-anchor="end" font-family="sans-serif" font-size="12"${weight} fill="${color}">${esc(l)}</text>`;
        })
        .join('');
    })
    .join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_WIDTH}" height="${height}">${texts}</svg>`);
  return sharp(grid)
    .extend({ left: LABEL_WIDTH, background: { r: 255, g: 255, b: 255 } })
    .composite([{ input: svg, top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** Write the report files into `dir` (created if needed); returns their paths. */
export async function writeReport(res: EvalResult, dir: string): Promise<Record<(typeof REPORT_FILES)[number], string>> {
  const files = Object.fromEntries(REPORT_FILES.map((f) => [f, path.join(dir, f)])) as Record<(typeof REPORT_FILES)[number], string>;
  await writeFileAtomic(files['grid.png'], await renderEvalGrid(res));
  await writeFileAtomic(files['per-image.jsonl'], `${res.rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  await writeFileAtomic(files['metrics.json'], `${JSON.stringify(metricsJson(res), null, 2)}\n`);
  await writeFileAtomic(files['report.html'], reportHtml(res));
  return files;
}
