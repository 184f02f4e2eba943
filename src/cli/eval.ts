/** `colorgan eval`: a thin shell over evaluate() and writeReport(). */
import { promises as fs } from 'node:fs';
import { initBackend } from '../backend/node.js';
import { evaluate } from '../eval/evaluate.js';
import { modelDirOf } from '../infer/node.js';
import { formatOverall, formatSourceTable, writeReport } from '../eval/report.js';
import { parse, intFlag, numFlag, choiceFlag, requireFolders, UsageError } from './args.js';
import { UPSAMPLE_METHODS } from '../infer/limits.js';
import { Progress, progressCallback, formatDuration } from './progress.js';

export const EVAL_USAGE = `colorgan eval --data DIR [--data DIR ...] --out REPORT_DIR [options]

Colorizes the gray version of every color photo under DIR and compares it with the
original (PSNR, SSIM, AuC, colorfulness) at model size and at full resolution, next to
two baselines: gray (no color) and mean-chroma (the training split's mean U,V).

  --data DIR        folder of color photos (searched recursively); repeat for several:
                    then every source (first-level sub-folder) is reported on its own
  --out REPORT_DIR  where metrics.json, per-image.jsonl, grid.png and report.html go
  --split all|val   all photos (default), or only the validation part of the training split
  --seed N          seed of the train/validation split (default 1, as in training)
  --model M         general (default) | sky | a generator folder
  --size N          model-size comparison side (default: the model's size)
  --render-size N   short side of the model grid at full resolution (fully convolutional
                    models; default: the training size)
  --upsample M      bilinear | guided chroma upsampling (default: the model's)
  --saturation X    chroma gain of the model's prediction (default: the model's, 1)
  --limit N         evaluate at most N photos, evenly spread
  --per-source N    evaluate at most N photos of each source (quick checks)
  --source NAME     evaluate only this source, e.g. scenes/urban (repeatable)
  --threads N       compute threads (default: all cores; the native addon's if built, else wasm's)`;

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    data: { type: 'string', multiple: true }, 'render-size': { type: 'string' }, 'per-source': { type: 'string' }, source: { type: 'string', multiple: true }, upsample: { type: 'string' }, saturation: { type: 'string' }, out: { type: 'string' }, split: { type: 'string' }, seed: { type: 'string' },
    model: { type: 'string' }, size: { type: 'string' }, limit: { type: 'string' }, threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(EVAL_USAGE);
    return 0;
  }
  if (!v.data || v.data.length === 0) throw new UsageError('missing --data DIR (a folder of color photos)');
  if (!v.out) throw new UsageError('missing --out REPORT_DIR (where the report goes)');
  const split = v.split ?? 'all';
  if (split !== 'all' && split !== 'val') throw new UsageError(`--split must be "all" or "val", got "${split}"`);
  const seed = intFlag(v.seed, 'seed', 1);
  const size = v.size === undefined ? undefined : intFlag(v.size, 'size', 0, 11);
  const limit = v.limit === undefined ? undefined : intFlag(v.limit, 'limit', 0, 1);
  const threads = v.threads === undefined ? undefined : intFlag(v.threads, 'threads', 1, 1);
  await requireFolders(v.data);
  const upsample = choiceFlag(v.upsample, 'upsample', UPSAMPLE_METHODS);
  const renderSize = v['render-size'] === undefined ? undefined : intFlag(v['render-size'], 'render-size', 0, 16);
  if (v.model !== undefined) {
    const ms = await fs.stat(modelDirOf(v.model)).catch(() => null);
    if (!ms?.isDirectory()) throw new UsageError(`${v.model}: no such model folder`);
  }
  const outStat = await fs.stat(v.out).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new UsageError(`${v.out}: exists and is not a folder`);

  await initBackend({ verbose: true, threads });
  let bar: Progress | null = null;
  const result = await evaluate({
    data: v.data.length === 1 ? v.data[0] : v.data,
    renderSize,
    sources: v.source,
    limitPerSource: v['per-source'] === undefined ? undefined : intFlag(v['per-source'], 'per-source', 0, 1),
    upsample,
    saturation: v.saturation === undefined ? undefined : numFlag(v.saturation, 'saturation', 1),
    split,
    seed,
    model: v.model,
    size,
    limit,
    log: (m) => console.error(m),
    onSkip: (file, reason) => {
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
      console.error(`skipped ${file}: ${reason}`);
    },
    onDecodeProgress: progressCallback('decoding', 'photos'),
    onProgress: (done, total, row) => {
      bar ??= new Progress({ label: 'evaluating', total, unit: 'photos' });
      const p = row?.metrics.model.full.psnr;
      bar.update(done, p === undefined ? '' : `last ${row.file} ${Number.isFinite(p) ? p.toFixed(1) : '∞'} dB`);
      if (done === total) bar.finish();
    },
  });
  const files = await writeReport(result, v.out);
  console.log(formatOverall(result));
  if (Object.keys(result.folders).length > 1) console.log(`\n${formatSourceTable(result)}`);
  const skippedNote = result.skipped.length ? `, ${result.skipped.length} skipped` : '';
  console.error(
    `evaluated ${result.counts.evaluated} photos${skippedNote} in ${formatDuration(result.seconds)}; report: ${files['report.html']}`,
  );
  return 0;
}
