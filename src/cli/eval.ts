/** `colorgan eval`: a thin shell over evaluate() and writeReport(). */
import { promises as fs } from 'node:fs';
import { initBackend } from '../backend/node.js';
import { evaluate } from '../eval/evaluate.js';
import { modelDirOf } from '../infer/node.js';
import { formatOverall, formatSourceTable, writeReport } from '../eval/report.js';
import { requireFolders, UsageError, THREADS_OPTION, INFERENCE_OPTIONS, MODEL_OPTION } from './args.js';
import { parseCommandLine, usageText } from '../util/options.js';
import { Progress, progressCallback, formatDuration } from './progress.js';

/** The flags of `colorgan eval`, by the evaluate() option each one sets. */
export const EVAL_SCHEMA = {
  data: {
    type: 'list',
    required: 'a folder of color photos',
    help: 'folder of color photos (searched recursively); repeat for several: then every source (first-level sub-folder) is reported on its own',
  },
  out: { type: 'string', arg: 'REPORT_DIR', required: 'where the report goes', help: 'where metrics.json, per-image.jsonl, grid.png and report.html go' },
  split: {
    type: 'choice',
    choices: ['all', 'val'],
    default: 'all',
    arg: 'all|val',
    help: 'all photos, or only the validation part of the training split',
  },
  seed: { type: 'int', min: 0, default: 1, help: 'seed of the train/validation split (as in training)' },
  model: MODEL_OPTION,
  size: { type: 'int', min: 11, defaultText: "the model's size", help: 'model-size comparison side' },
  ...INFERENCE_OPTIONS,
  limit: { type: 'int', min: 1, help: 'evaluate at most N photos, evenly spread' },
  limitPerSource: { type: 'int', min: 1, flag: 'per-source', help: 'evaluate at most N photos of each source (quick checks)' },
  sources: { type: 'list', flag: 'source', arg: 'NAME', help: 'evaluate only this source, e.g. scenes/urban (repeatable)' },
  threads: THREADS_OPTION,
} as const;

export const EVAL_USAGE = usageText(
  `colorgan eval --data DIR [--data DIR ...] --out REPORT_DIR [options]

Colorizes the gray version of every color photo under DIR and compares it with the
original (PSNR, SSIM, AuC, colorfulness) at model size and at full resolution, next to
two baselines: gray (no color) and mean-chroma (the training split's mean U,V).`,
  EVAL_SCHEMA,
);

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v, help } = parseCommandLine(EVAL_SCHEMA, argv, { defaults: true });
  if (help) {
    console.log(EVAL_USAGE);
    return 0;
  }
  const { threads, data, out, ...options } = v;
  await requireFolders(data);
  if (v.model !== undefined) {
    const ms = await fs.stat(modelDirOf(v.model)).catch(() => null);
    if (!ms?.isDirectory()) throw new UsageError(`${v.model}: no such model folder`);
  }
  const outStat = await fs.stat(out).catch(() => null);
  if (outStat && !outStat.isDirectory()) throw new UsageError(`${out}: exists and is not a folder`);

  await initBackend({ verbose: true, threads });
  let bar: Progress | null = null;
  const result = await evaluate({
    ...options,
    data: data.length === 1 ? data[0] : data,
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
  const files = await writeReport(result, out);
  console.log(formatOverall(result));
  if (Object.keys(result.folders).length > 1) console.log(`\n${formatSourceTable(result)}`);
  const skippedNote = result.skipped.length ? `, ${result.skipped.length} skipped` : '';
  console.error(`evaluated ${result.counts.evaluated} photos${skippedNote} in ${formatDuration(result.seconds)}; report: ${files['report.html']}`);
  return 0;
}
