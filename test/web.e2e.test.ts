/**
 * End-to-end test of the in-browser app (web/): build it, serve it on 127.0.0.1, drive
 * headless Chromium (playwright-core, system /usr/bin/chromium), give the page a gray
 * photo through the file input and check the result: full input size, real color, and
 * the same pixels as the Node library for the same photo and seed.
 *
 * Needs Chromium: `apt-get install -y chromium` (or CHROMIUM_PATH=/path/to/chrome).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser } from 'playwright-core';
import { buildWeb, serveStatic, webDistDir, type StaticServer } from '../src/cli/web.js';
import { colorize } from '../src/infer/node.js';
import { packageRoot } from '../src/util/package-root.js';
import type {} from '../web/src/hook.js'; // window.__colorgan, the page's test hook

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = packageRoot();
const OUT = path.join(ROOT, 'test-output');
const SEED = 3;

/** Mean |U-128| + |V-128| (ITU-R 601, 8-bit levels) of interleaved RGB. */
function meanChroma(rgb: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i],
      g = rgb[i + 1],
      b = rgb[i + 2];
    s += Math.abs(r * -0.168736 + g * -0.331264 + b * 0.5) + Math.abs(r * 0.5 + g * -0.418688 + b * -0.081312);
  }
  return s / (rgb.length / 3);
}

test('web app: colorizes a gray photo in Chromium like the CLI', { timeout: 150_000 }, async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}. The web e2e test needs it: run "apt-get update && apt-get install -y chromium" (or set CHROMIUM_PATH).`,
  );
  mkdirSync(OUT, { recursive: true });

  // A gray PNG input (PNG: no JPEG decoder differences between Chromium and sharp), odd size.
  const input = path.join(OUT, 'web-e2e-input.png');
  const W = 385,
    H = 257;
  await sharp(path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg'))
    .resize(W, H, { fit: 'cover' })
    .grayscale()
    .png()
    .toFile(input);
  const grayRgb = (await sharp(input).toColourspace('srgb').removeAlpha().raw().toBuffer()) as Buffer;

  const t0 = Date.now();
  await buildWeb({ log: (m) => t.diagnostic(m) });
  t.diagnostic(`build check: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const srv: StaticServer = await serveStatic(webDistDir(), { port: 0, host: '127.0.0.1' });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(srv.url) && !/^(data|blob):/.test(r.url())) external.push(r.url());
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // wasm: the backend of the Node library, so the pixels can be compared exactly.
    await page.goto(`${srv.url}?backend=wasm&seed=${SEED}`);
    const ready = await page.evaluate(() => window.__colorgan.ready);
    t.diagnostic(`page backend: ${ready.backend} (${ready.detail})`);
    assert.equal(ready.backend, 'wasm');

    // Bad input first: a clear message, no crash.
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, not a photo') });
    await page.waitForSelector('#error:not([hidden])');
    assert.match((await page.textContent('#error')) ?? '', /not an image/);

    const tRun = Date.now();
    await page.setInputFiles('#file', input);
    await page.waitForSelector('#result[data-state="done"]', { timeout: 60_000 });
    t.diagnostic(`page colorized ${W}×${H} in ${Date.now() - tRun} ms (incl. decode and drawing)`);
    assert.ok(await page.isHidden('#error'), 'the error message is cleared');
    const res = await page.evaluate(() => window.__colorgan.lastResult());
    assert.ok(res);
    assert.equal(res.width, W);
    assert.equal(res.height, H);
    const webRgb = new Uint8Array(Buffer.from(res.data, 'base64'));
    assert.equal(webRgb.length, W * H * 3);

    const chroma = meanChroma(webRgb);
    const grayChroma = meanChroma(grayRgb);
    t.diagnostic(`mean chroma |U-128|+|V-128|: page ${chroma.toFixed(2)}, gray input ${grayChroma.toFixed(2)}`);
    assert.ok(grayChroma < 0.5, `the input is gray (${grayChroma})`);
    assert.ok(chroma > grayChroma + 5, `the result has real color: mean chroma ${chroma.toFixed(2)} vs ${grayChroma.toFixed(2)} for the gray input`);

    // Same pixels as the Node library (CLI) for the same photo and seed.
    const node = await colorize(input, { seed: SEED });
    assert.equal(node.width, W);
    assert.equal(node.height, H);
    let sum = 0,
      max = 0;
    for (let i = 0; i < webRgb.length; i++) {
      const d = Math.abs(webRgb[i] - node.data[i]);
      sum += d;
      if (d > max) max = d;
    }
    const mean = sum / webRgb.length;
    t.diagnostic(`page vs Node library (seed ${SEED}): mean abs diff ${mean.toFixed(4)}, max ${max} levels`);
    assert.ok(mean < 1, `mean abs diff ${mean} < 1`);
    assert.ok(max < 8, `max abs diff ${max} < 8`);

    // Another colorization: a new z, different colors, same size.
    await page.click('#again');
    await page.waitForSelector('#result[data-state="done"][data-sample="1"]', { timeout: 60_000 });
    const res2 = await page.evaluate(() => window.__colorgan.lastResult());
    assert.ok(res2 && res2.width === W && res2.height === H);
    assert.notEqual(res2.data, res.data, 'another sample gives other colors');

    // Download as PNG: the file has the input's size.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const png = path.join(OUT, 'web-e2e-download.png');
    await download.saveAs(png);
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, W);
    assert.equal(meta.height, H);
    assert.match(download.suggestedFilename(), /^web-e2e-input-colorized-seed3-1\.png$/);

    await page.screenshot({ path: path.join(OUT, 'web-e2e.png'), fullPage: true });
    assert.deepEqual(external, [], 'no requests leave the app');
    assert.deepEqual(pageErrors, [], 'no uncaught page errors');
    writeFileSync(path.join(OUT, 'web-e2e.json'), JSON.stringify({ backend: ready, chroma, grayChroma, mean, max }, null, 2));
  } finally {
    await browser?.close();
    await srv.close();
  }
});
