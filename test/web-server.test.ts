/**
 * `colorgan web`'s static server: a strict CSP with frame-ancestors 'none', requests for
 * another Host refused (DNS rebinding), files streamed so that many concurrent downloads
 * of the model keep memory bounded. Uses its own folder of files, on a free loopback port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { promises as fs } from 'node:fs';
import { serveStatic, hostAllowed, type StaticServer } from '../src/cli/web.js';

let tmp: string;
let srv: StaticServer;
let port: number;
const BIG = 32 * 1024 * 1024;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-web-'));
  await fs.writeFile(path.join(tmp, 'index.html'), '<!doctype html><p>hi</p>');
  await fs.writeFile(path.join(tmp, 'weights.bin'), Buffer.alloc(BIG, 7));
  srv = await serveStatic(tmp, { port: 0, host: '127.0.0.1' });
  port = Number(new URL(srv.url).port);
});
after(async () => {
  await srv.close();
});

function get(file: string, host = `127.0.0.1:${port}`, drain = true): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: file, headers: { host }, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      if (!drain) res.pause();
    });
    req.on('error', reject);
  });
}

test('strict CSP, no framing, and the isolation headers on every page', async () => {
  const r = await get('/');
  assert.equal(r.status, 200);
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', 'with COOP: cross-origin isolated, so the page gets threaded wasm');
});

test('a request for another Host is refused (421); localhost and the address itself are served', async () => {
  assert.equal((await get('/', `evil.example:${port}`)).status, 421);
  assert.equal((await get('/', `127.0.0.1:${port + 1}`)).status, 421);
  assert.equal((await get('/', `localhost:${port}`)).status, 200);
  assert.equal(hostAllowed(undefined, '127.0.0.1', 80), false);
  assert.equal(hostAllowed('[::1]:8080', '::1', 8080), true);
  assert.equal(hostAllowed('photos.lan:8080', '192.168.1.5', 8080), false);
  assert.equal(hostAllowed('192.168.1.5:8080', '192.168.1.5', 8080), true);
});

test('200 concurrent downloads of a 32 MB file: streamed, memory stays bounded', async (t) => {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const results = await Promise.all(Array.from({ length: 200 }, () => get('/weights.bin')));
  clearInterval(timer);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.bytes, BIG);
  }
  // Reading the file whole per request would hold 200 × 32 MB = 6.4 GB.
  const grew = (peak - rss0) / 2 ** 20;
  t.diagnostic(`200 concurrent downloads of 32 MB: RSS ${(rss0 / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MB`);
  assert.ok(grew < 600, `RSS grew by ${grew.toFixed(0)} MB`);
});
