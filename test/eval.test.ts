import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { rgbBufferToYuv, yuvToRgbBuffer, type RgbImage } from '../src/color/yuv.js';
import { listImages } from '../src/data/walk.js';
import { splitTrainVal } from '../src/data/split.js';
import { splitBySource } from '../src/data/sources.js';
import {
  evaluate,
  evenlySpread,
  folderOf,
  meanChromaOf,
  METRIC_KEYS,
  RESOLUTIONS,
  SYSTEMS,
  withConstantChroma,
  type EvalResult,
  type ScopeSummary,
} from '../src/eval/evaluate.js';
import { formatOverall, REPORT_FILES, writeReport } from '../src/eval/report.js';
import { loadModel } from '../src/infer/node.js';
import type { Colorizer } from '../src/infer/colorizer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(here);
const PHOTOS = path.join(here, 'fixtures', 'photos');

let tmp: string;
let model: Colorizer;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-eval-test-'));
  model = await loadModel(); // the bundled model (a placeholder for now: no quality is asserted)
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Every scope × system × resolution of a summary, with a path for messages. */
function* cells(scope: ScopeSummary, name: string) {
  for (const s of SYSTEMS) for (const r of RESOLUTIONS) yield { at: `${name}.${s}.${r}`, s, r, m: scope[s][r] };
}

describe('evaluate() on test/fixtures/photos', () => {
  let res: EvalResult;
  let out: string;

  before(async () => {
    res = await evaluate({ data: PHOTOS, model, cacheDir: path.join(tmp, 'cache') });
    out = path.join(tmp, 'report');
    await writeReport(res, out);
  });

  test('every photo is evaluated once, per-image rows carry all metrics', async () => {
    const files = await listImages(PHOTOS);
    assert.deepEqual(res.rows.map((r) => r.file).sort(), files);
    assert.equal(res.counts.evaluated, files.length);
    assert.equal(res.skipped.length, 0);
    for (const row of res.rows) {
      assert.equal(row.folder, folderOf(row.file));
      for (const s of SYSTEMS)
        for (const r of RESOLUTIONS) for (const k of METRIC_KEYS) assert.equal(typeof row.metrics[s][r][k], 'number', `${row.file} ${s} ${r} ${k}`);
    }
  });

  test('the report files exist and grid.png is a PNG with a row per grid entry', async () => {
    for (const f of REPORT_FILES) assert.ok((await fs.stat(path.join(out, f))).size > 0, f);
    const meta = await sharp(path.join(out, 'grid.png')).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.height! > res.grid.length * 100, `grid height ${meta.height} for ${res.grid.length} rows`);
    // 8 evenly spread photos, then best 4 and worst 4 (10 photos: 8 + 4 + 4).
    assert.deepEqual(
      res.grid.map((g) => g.kind),
      [...Array(8).fill('sample'), ...Array(4).fill('best'), ...Array(4).fill('worst')],
    );
    const best = res.grid.filter((g) => g.kind === 'best').map((g) => g.psnr);
    const worst = res.grid.filter((g) => g.kind === 'worst').map((g) => g.psnr);
    assert.ok(Math.min(...best) >= Math.max(...worst));
    assert.deepEqual(
      best,
      [...best].sort((a, b) => b - a),
    );
    assert.deepEqual(
      worst,
      [...worst].sort((a, b) => a - b),
    );
    const html = await fs.readFile(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<img src="grid\.png"/);
    for (const s of SYSTEMS) assert.ok(html.includes(`>${s}</th>`), `table column ${s}`);
    for (const word of ['PSNR', 'SSIM', 'AuC', 'colorfulness ratio', 'Hasler']) assert.ok(html.includes(word), word);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'self-contained: no remote resources');
  });

  test('metrics.json has every documented key', async () => {
    const j = JSON.parse(await fs.readFile(path.join(out, 'metrics.json'), 'utf8'));
    assert.deepEqual(Object.keys(j).sort(), ['folders', 'meta', 'overall', 'sourceMean']);
    for (const k of ['model', 'data', 'split', 'seed', 'valFraction', 'size', 'limit', 'meanChroma', 'counts', 'skipped', 'time', 'seconds']) {
      assert.ok(k in j.meta, `meta.${k}`);
    }
    assert.equal(j.meta.model.source, model.source);
    assert.equal(j.meta.model.colorgan.format, 'colorgan-generator');
    assert.equal(j.meta.split, 'all');
    assert.equal(j.meta.seed, 1);
    assert.equal(j.meta.data, PHOTOS);
    assert.ok(!Number.isNaN(Date.parse(j.meta.time)));
    assert.deepEqual(Object.keys(j.folders).sort(), ['.', 'a', 'b', 'special']);
    let total = 0;
    // biome-ignore lint/suspicious/noExplicitAny: metrics.json read back as plain JSON
    for (const [name, scope] of [['overall', j.overall], ...Object.entries(j.folders)] as [string, any][]) {
      assert.deepEqual(Object.keys(scope).sort(), [...SYSTEMS].sort(), name);
      for (const s of SYSTEMS) {
        assert.deepEqual(Object.keys(scope[s]).sort(), [...RESOLUTIONS].sort(), `${name}.${s}`);
        for (const r of RESOLUTIONS) {
          const m = scope[s][r];
          for (const k of [...METRIC_KEYS, 'count']) assert.equal(typeof m[k], 'number', `${name}.${s}.${r}.${k} = ${m[k]}`);
          assert.equal(typeof m.nonFinite, 'object');
        }
      }
      if (name !== 'overall') total += scope.model.full.count;
    }
    assert.equal(total, j.overall.model.full.count);
    assert.equal(j.overall.model.full.count, 10);
    // special/gray.jpg has a gray original: its colorfulness ratio (x/0) is left out.
    assert.equal(j.overall.model.full.nonFinite.colorfulnessRatio, 1);
  });

  test('numbers are finite and in range; the gray baseline has no color', () => {
    const scopes: [string, ScopeSummary][] = [['overall', res.overall], ...Object.entries(res.folders)];
    for (const [name, scope] of scopes) {
      for (const { at, s, m } of cells(scope, name)) {
        for (const k of METRIC_KEYS) assert.ok(Number.isFinite(m[k]), `${at}.${k} = ${m[k]}`);
        assert.ok(m.psnr > 0, `${at}.psnr ${m.psnr}`);
        assert.ok(m.ssim > -1 && m.ssim <= 1, `${at}.ssim ${m.ssim}`);
        assert.ok(m.auc >= 0 && m.auc <= 100, `${at}.auc ${m.auc}`);
        assert.ok(m.colorfulness >= 0 && m.colorfulnessTruth > 0 && m.colorfulnessRatio >= 0, at);
        if (s === 'gray') {
          assert.equal(m.colorfulness, 0, at);
          assert.equal(m.colorfulnessRatio, 0, at);
        }
      }
    }
    // Same original at both resolutions for every system: the truth colorfulness agrees across systems.
    for (const r of RESOLUTIONS) {
      assert.equal(res.overall.gray[r].colorfulnessTruth, res.overall.model[r].colorfulnessTruth);
      assert.equal(res.overall['mean-chroma'][r].colorfulnessTruth, res.overall.model[r].colorfulnessTruth);
    }
    const table = formatOverall(res);
    assert.match(table, /overall: 10 photos/);
    assert.match(table, /PSNR \(dB\)/);
  });
});

test('split "val" evaluates exactly the validation part of the training split', async () => {
  const files = await listImages(PHOTOS);
  for (const seed of [1, 7]) {
    const res = await evaluate({ data: PHOTOS, model, split: 'val', seed, cacheDir: path.join(tmp, 'cache'), gridSamples: 1, gridExtremes: 0 });
    // Split per source (sub-folder), as training does.
    const parts = splitBySource(
      files.map((f) => `photos/${f}`),
      seed,
      0.3,
    );
    const [train, val] = [parts.train, parts.val].map((l) => l.map((f) => f.slice('photos/'.length)));
    assert.deepEqual(
      res.rows.map((r) => r.file),
      val,
      `seed ${seed}`,
    );
    assert.deepEqual(res.counts, { decoded: 10, selected: val.length, evaluated: val.length, train: train.length, val: val.length });
    assert.equal(res.meanChroma.trainImages, train.length);
  }
});

/** A 64×64 PNG whose pixels all have chroma (u, v): a luma gradient with a per-image offset. */
async function chromaPng(file: string, u: number, v: number, offset: number): Promise<void> {
  const S = 64;
  const y = new Float32Array(S * S);
  for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) y[r * S + c] = 70 + offset + c + 0.5 * r;
  const rgb = yuvToRgbBuffer(y, new Float32Array(S * S).fill(u), new Float32Array(S * S).fill(v));
  await sharp(Buffer.from(rgb), { raw: { width: S, height: S, channels: 3 } })
    .png()
    .toFile(file);
}

test('mean-chroma baseline: the mean U,V of the training split, not of the evaluated photos', async () => {
  const dir = path.join(tmp, 'one-hue');
  await fs.mkdir(dir, { recursive: true });
  const names = Array.from({ length: 10 }, (_, i) => `p${i}.png`);
  const { train, val } = splitTrainVal(names, 1, 0.3);
  const TRAIN = { u: 110, v: 145 }; // every training photo: one hue
  const VAL = { u: 150, v: 112 }; // the validation photos: another
  await Promise.all(
    names.map((n, i) => (train.includes(n) ? chromaPng(path.join(dir, n), TRAIN.u, TRAIN.v, 3 * i) : chromaPng(path.join(dir, n), VAL.u, VAL.v, 3 * i))),
  );

  const res = await evaluate({ data: dir, model, split: 'val', cacheDir: path.join(tmp, 'cache'), gridSamples: 1, gridExtremes: 0 });
  assert.deepEqual(
    res.rows.map((r) => r.file),
    val,
  );
  assert.equal(res.meanChroma.trainImages, train.length);
  assert.ok(Math.abs(res.meanChroma.u - TRAIN.u) < 0.75, `mean U ${res.meanChroma.u}, expected ${TRAIN.u}`);
  assert.ok(Math.abs(res.meanChroma.v - TRAIN.v) < 0.75, `mean V ${res.meanChroma.v}, expected ${TRAIN.v}`);

  // The baseline image has that chroma on every pixel (up to 8-bit rounding) and keeps Y.
  const gray: RgbImage = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
  for (let i = 0; i < 256; i++) gray.data.fill(80 + (i % 90), 3 * i, 3 * i + 3);
  const out = withConstantChroma(gray, res.meanChroma.u, res.meanChroma.v);
  const p = rgbBufferToYuv(out.data, 16, 16);
  for (let i = 0; i < 256; i++) {
    assert.ok(Math.abs(p.u[i] - TRAIN.u) < 1.5 && Math.abs(p.v[i] - TRAIN.v) < 1.5, `pixel ${i}: U ${p.u[i]} V ${p.v[i]}`);
    assert.ok(Math.abs(p.y[i] - gray.data[3 * i]) < 1, `pixel ${i}: Y ${p.y[i]}`);
  }
});

test('helpers: meanChromaOf, evenlySpread, folderOf', () => {
  const rgb = new Uint8Array(2 * 4 * 3).fill(128);
  assert.deepEqual(meanChromaOf(rgb, 2, 2), { u: 128, v: 128 });
  assert.throws(() => meanChromaOf(rgb, 0, 2), /no training images/);
  assert.deepEqual(evenlySpread(10, 4), [0, 2, 5, 7]);
  assert.deepEqual(evenlySpread(3, 8), [0, 1, 2]);
  assert.equal(folderOf('ccsn/x/a.jpg'), 'ccsn');
  assert.equal(folderOf('a.jpg'), '.');
});

describe('colorgan eval (CLI)', () => {
  function run(args: string[]) {
    const script = `import { main } from './src/cli/main.ts'; process.exitCode = await main(process.argv.slice(1));`;
    return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  }

  test('a bad --data path: one-line error, non-zero exit, no report', async () => {
    const out = path.join(tmp, 'cli-report');
    const r = run(['eval', '--data', path.join(tmp, 'no-such-folder'), '--out', out]);
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^colorgan eval: .*no-such-folder: no such folder$/);
    assert.equal(r.stdout, '');
    await assert.rejects(fs.stat(out));
  });

  test('a bad --split: usage error', () => {
    const r = run(['eval', '--data', PHOTOS, '--out', path.join(tmp, 'x'), '--split', 'train']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^colorgan eval: --split must be "all" or "val"/);
  });
});
