/**
 * The web app with a model that has a LAPGAN refinement stage: `colorgan web --model DIR`
 * (the CLI, a free loopback port) builds the app with the stage copied in, the page says
 * it uses it, and a photo colorized in the page (headless Chromium, wasm) gets the same
 * colors as the Node library's colorize with that model — and clearly not the base model's
 * alone. A bad --model fails before any build, in one line.
 *
 * The stage is untrained (near identity by design) with its last layer scaled up and
 * biased, so it visibly changes the colors. Needs Chromium, as test/web.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { chromium, type BrowserContext } from 'playwright-core';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { colorize, loadModel } from '../src/infer/node.js';
import { buildRefineGenerator } from '../src/models/refine.js';
import { generatorMetadata } from '../src/models/metadata.js';
import { readMetadata, saveModel } from '../src/models/io.js';
import { ensureDistBuilt, runCli, ROOT, CHROMIUM, CHROMIUM_ARGS } from './helpers.js';
import type {} from '../web/src/hook.js';

const SEED = 3;
/** Page vs library with the same staged model: mean absolute difference in 8-bit levels. */
const SAME_LEVELS = 1;
const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

/** models/general plus refine-1/: a 128-pixel stage whose last layer was made to change colors. */
async function stagedModel(dir: string): Promise<void> {
  const general = path.join(ROOT, 'models', 'general');
  await fs.mkdir(dir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) await fs.copyFile(path.join(general, f), path.join(dir, f));
  await fs.writeFile(path.join(dir, 'colorgan.json'), JSON.stringify({ ...(await readMetadata(general)), refine: ['refine-1'] }));
  const cfg = { arch: 'refine' as const, size: 128, ngf: 16, ndf: 16, zDim: 1, bnMomentum: 0.9 };
  const R = buildRefineGenerator(cfg, { seed: 7 });
  const band = R.getLayer('r_band');
  const [kernel] = band.getWeights();
  // ×25: the residual depends on the luma, the coarse chroma and the noise; the bias shifts the hue.
  band.setWeights([tf.mul(kernel, 25), tf.tensor1d([0.2, -0.15])]);
  await saveModel(R, path.join(dir, 'refine-1'), generatorMetadata(cfg));
  R.dispose();
}

/** Start `colorgan web CHROMIUM_ARGS`; resolves with its URL once it serves, or rejects with its output. */
function startWeb(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'colorgan.js'), 'web', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => stop().then(() => reject(new Error(`colorgan web did not start:\n${output}`))), 300_000);
    const seen = (d: Buffer) => {
      output += d;
      const m = /serving the app at (\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`colorgan web exited (${code}):\n${output}`));
    });
  });
}

test('colorgan web --model: a bad folder or listing is one line, before any build', async () => {
  await ensureDistBuilt();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'colorgan-web-model-'));
  try {
    const missing = path.join(tmp, 'nope');
    let r = await runCli(['web', '--model', missing, '--port', '0']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `colorgan web: ${missing}: no such model folder\n`);
    // A listed stage that is the base model again (config.arch "unet").
    const bad = path.join(tmp, 'bad');
    await fs.mkdir(path.join(bad, 'refine-1'), { recursive: true });
    const general = path.join(ROOT, 'models', 'general');
    await fs.writeFile(path.join(bad, 'colorgan.json'), JSON.stringify({ ...(await readMetadata(general)), refine: ['refine-1'] }));
    await fs.copyFile(path.join(general, 'model.json'), path.join(bad, 'model.json'));
    await fs.copyFile(path.join(general, 'colorgan.json'), path.join(bad, 'refine-1', 'colorgan.json'));
    r = await runCli(['web', '--model', bad, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^colorgan web: \S+refine-1: listed as a refinement stage in \S+colorgan\.json, but its config\.arch is "unet"\n$/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('web app with a refinement stage: the page gives the library colors for the staged model', { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: run "apt-get update && apt-get install -y chromium" (or set CHROMIUM_PATH).`);
  await ensureDistBuilt();
  await initBackend();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'colorgan-web-refine-'));
  const profile = mkdtempSync(path.join(os.tmpdir(), 'colorgan-chromium-'));
  const modelDir = path.join(tmp, 'model');
  await stagedModel(modelDir);
  // PNG: no JPEG decoder differences between Chromium and sharp.
  const input = path.join(tmp, 'gray.png');
  await sharp(path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg'))
    .resize(385, 257, { fit: 'cover' })
    .grayscale()
    .png()
    .toFile(input);

  const t0 = Date.now();
  const web = await startWeb(['--model', modelDir, '--port', '0', '--host', '127.0.0.1']);
  t.diagnostic(`colorgan web --model (with its build) started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${web.url}?backend=wasm&seed=${SEED}&nosw`);
    const ready = await page.evaluate(() => window.__colorgan.ready);
    assert.equal(ready.backend, 'wasm');
    const line = (await page.textContent('#backend')) ?? '';
    t.diagnostic(`page: ${line}`);
    assert.match(line, /refine ×2/, 'the page says it uses the stage');

    await page.setInputFiles('#file', input);
    await page.waitForSelector('#result[data-state="done"][data-sample="0"]', { timeout: 120_000 });
    const r = await page.evaluate(() => window.__colorgan.lastResult());
    assert.ok(r, 'the page has a result');
    const pagePixels = new Uint8Array(Buffer.from(r.data, 'base64'));

    const model = await loadModel(modelDir);
    assert.equal(model.refine?.length, 1);
    const staged = await colorize(input, { model, seed: SEED });
    const base = await colorize(input, { model, seed: SEED, refine: false });
    assert.deepEqual([r.width, r.height], [staged.width, staged.height]);
    const same = meanAbsDiff(pagePixels, staged.data);
    const vsBase = meanAbsDiff(pagePixels, base.data);
    const stageEffect = meanAbsDiff(staged.data, base.data);
    t.diagnostic(
      `mean abs diff (levels): page vs library ${same.toFixed(3)}, page vs library refine:false ${vsBase.toFixed(2)} (the stage's effect in the library: ${stageEffect.toFixed(2)})`,
    );
    assert.ok(same < SAME_LEVELS, `page vs library with the stage: ${same} < ${SAME_LEVELS}`);
    assert.ok(vsBase > 5 * SAME_LEVELS, `page vs library without the stage: ${vsBase} > ${5 * SAME_LEVELS} (the page uses the stage)`);
    assert.deepEqual(errors, [], 'no uncaught page errors');
  } finally {
    await context?.close();
    await web.stop();
    rmSync(tmp, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});
