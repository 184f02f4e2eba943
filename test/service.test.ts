/**
 * `colorgan serve` (src/service/http.ts) on a free loopback port: answers (image, samples,
 * multipart), refusals (400/405/413/415/422 as one JSON line, 503 with Retry-After when
 * full, 504 past the timeout), metrics that count them, and a graceful close that answers
 * the requests it admitted. The CLI shell is checked end to end at the end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import sharp from 'sharp';
import { colorize } from '../src/index.js';
import http from 'node:http';
import { startService, hostName, type Service } from '../src/service/http.js';
import { ROOT, ensureDistBuilt } from './helpers.js';
import path from 'node:path';

let svc: Service;
let photo: Buffer;
let big: Buffer;

/** A gray photo with structure (the example, resized), as JPEG. */
async function grayJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(path.join(ROOT, 'examples/shine1-gray.jpg')).resize(width, height, { fit: 'fill' }).jpeg().toBuffer();
}

async function post(url: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]), headers });
}

before(async () => {
  photo = await grayJpeg(160, 120);
  big = await grayJpeg(2400, 1800);
  svc = await startService({ port: 0, concurrency: 1, queueSize: 1, maxBytes: 4 * 1024 * 1024, timeout: 30 });
});
after(async () => {
  await svc?.close();
});

test('POST /v1/colorize answers the colorized photo, same size, as the library makes it', async () => {
  const res = await post(`${svc.url}/v1/colorize?format=png&seed=7`, photo);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.ok(res.headers.get('x-colorgan-plan'));
  const out = Buffer.from(await res.arrayBuffer());
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 160, 120]);
  const ref = await colorize(photo, { format: 'png', seed: 7 });
  assert.ok(out.equals(ref), 'the service and the library give the same bytes');
  // It is colorized: chroma is not zero everywhere.
  const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  let diff = 0;
  for (let i = 0; i < data.length; i += 3) diff += Math.abs(data[i] - data[i + 2]);
  assert.ok(diff / (data.length / 3) > 1, 'R and B differ somewhere');
});

test('options from X-Colorgan-* headers, jpg as a format, multipart forms, samples as JSON', async () => {
  const viaHeader = await post(`${svc.url}/v1/colorize`, photo, { 'X-Colorgan-Format': 'jpg', 'X-Colorgan-Quality': '50' });
  assert.equal(viaHeader.status, 200);
  assert.equal(viaHeader.headers.get('content-type'), 'image/jpeg');

  const form = new FormData();
  form.append('note', 'not the photo');
  form.append('image', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
  const multi = await fetch(`${svc.url}/v1/colorize?format=webp`, { method: 'POST', body: form });
  assert.equal(multi.status, 200);
  assert.equal((await sharp(Buffer.from(await multi.arrayBuffer())).metadata()).format, 'webp');

  const res = await post(`${svc.url}/v1/colorize?samples=2&seed=3`, photo);
  assert.equal(res.status, 200);
  const json = (await res.json()) as { samples: { sample: number; contentType: string; data: string }[] };
  assert.equal(json.samples.length, 2);
  const [a, b] = json.samples.map((s) => Buffer.from(s.data, 'base64'));
  assert.equal((await sharp(a).metadata()).width, 160);
  assert.ok(!a.equals(b), 'two samples differ (different z)');
});

test('bad requests get their status and one line of JSON naming the cause', async () => {
  const cases: [string, Promise<Response>, number, string][] = [
    ['text', post(`${svc.url}/v1/colorize`, 'hello, not a photo'), 415, 'unsupported'],
    ['truncated JPEG', post(`${svc.url}/v1/colorize`, photo.subarray(0, 300)), 422, 'corrupt'],
    ['empty body', post(`${svc.url}/v1/colorize`, ''), 400, 'bad-request'],
    ['bad renderSize', post(`${svc.url}/v1/colorize?renderSize=9`, photo), 400, 'bad-request'],
    ['unknown parameter', post(`${svc.url}/v1/colorize?colour=red`, photo), 400, 'bad-request'],
    ['bad format', post(`${svc.url}/v1/colorize?format=gif`, photo), 400, 'bad-request'],
    ['GET', fetch(`${svc.url}/v1/colorize`), 405, 'method'],
    ['over max-bytes', post(`${svc.url}/v1/colorize`, new Uint8Array(5 * 1024 * 1024)), 413, 'too-large'],
  ];
  for (const [what, pending, status, cause] of cases) {
    const res = await pending;
    assert.equal(res.status, status, what);
    const text = await res.text();
    assert.equal(text.trimEnd().split('\n').length, 1, `${what}: one line`);
    const body = JSON.parse(text) as { error: string; cause: string };
    assert.equal(body.cause, cause, what);
    assert.ok(body.error.length > 5, what);
  }
  const missing = await fetch(`${svc.url}/nothing-here`);
  assert.equal(missing.status, 404);
});

/** GET `route` with this Host header (fetch may not set Host). */
function getWithHost(port: number, route: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: route, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a Host other than the loopback names gets 421 (DNS rebinding); --allowed-hosts names others', async () => {
  assert.equal(hostName('LocalHost:8080'), 'localhost');
  assert.equal(hostName('[::1]:8080'), '[::1]');
  assert.equal(hostName('127.0.0.1'), '127.0.0.1');
  for (const h of ['localhost', `localhost:${svc.port}`, `127.0.0.1:${svc.port}`, `[::1]:${svc.port}`]) {
    assert.equal((await getWithHost(svc.port, '/healthz', h)).status, 200, h);
  }
  const evil = await getWithHost(svc.port, '/healthz', `rebound.example:${svc.port}`);
  assert.equal(evil.status, 421);
  const body = JSON.parse(evil.body) as { error: string; cause: string };
  assert.equal(body.cause, 'host');
  assert.match(body.error, /rebound\.example/);
  const named = await startService({ port: 0, concurrency: 1, allowedHosts: ['colorgan.internal'] });
  try {
    assert.equal((await getWithHost(named.port, '/healthz', 'colorgan.internal:80')).status, 200);
    assert.equal((await getWithHost(named.port, '/healthz', 'localhost')).status, 421);
  } finally {
    await named.close();
  }
});

test('the pixel limit is checked from the header, before decoding: 413', async () => {
  const small = await startService({ port: 0, concurrency: 1, maxPixels: 10_000 });
  try {
    const res = await post(`${small.url}/v1/colorize`, photo); // 160×120 = 19,200 pixels
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /above the .* limit/);
  } finally {
    await small.close();
  }
});

test('when every thread is busy and the queue full: 503 with Retry-After, and nothing but 200 or 503', async () => {
  const before503 = svc.metrics.errors.get({ cause: 'full' });
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(`${svc.url}/v1/colorize`, big)));
  const statuses = answers.map((r) => r.status);
  for (const r of answers) await r.arrayBuffer();
  assert.ok(
    statuses.every((s) => s === 200 || s === 503),
    `statuses ${statuses}`,
  );
  const refused = answers.filter((r) => r.status === 503);
  assert.ok(refused.length >= 1, 'concurrency 1 + queue 1 cannot take 8 at once');
  assert.ok(statuses.filter((s) => s === 200).length >= 2, 'the admitted ones are answered');
  for (const r of refused) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  assert.equal(svc.metrics.errors.get({ cause: 'full' }) - before503, refused.length);
});

test('a colorization past the timeout: 504, and the server goes on with a fresh thread', async () => {
  const quick = await startService({ port: 0, concurrency: 1, timeout: 0.1 });
  try {
    const res = await post(`${quick.url}/v1/colorize`, big);
    assert.ok(res.status === 504 || res.status === 503, `status ${res.status}`);
    assert.equal(((await res.json()) as { cause: string }).cause, res.status === 504 ? 'timeout' : 'busy');
  } finally {
    await quick.close();
  }
  // The shared service still answers after the other's thread was terminated.
  assert.equal((await post(`${svc.url}/v1/colorize`, photo)).status, 200);
});

test('/healthz and /metrics', async () => {
  const health = await fetch(`${svc.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const ok = Number(/colorgan_http_requests_total\{route="\/v1\/colorize",code="200"\} (\d+)/.exec(text)?.[1]);
  assert.equal(ok, svc.metrics.requests.get({ route: '/v1/colorize', code: '200' }));
  assert.ok(ok >= 5);
  for (const name of [
    'colorgan_errors_total',
    'colorgan_colorize_duration_seconds_bucket',
    'colorgan_queue_depth',
    'colorgan_in_flight',
    'process_resident_memory_bytes',
  ]) {
    assert.ok(text.includes(name), name);
  }
});

test('close(): the request in progress is answered, new ones are refused', async () => {
  const s = await startService({ port: 0, concurrency: 1 });
  const inFlight = post(`${s.url}/v1/colorize`, big);
  await new Promise((r) => setTimeout(r, 150));
  const closed = s.close();
  const after = await post(`${s.url}/v1/colorize`, photo).then(
    (r) => r.status,
    () => 'refused',
  );
  assert.ok(after === 503 || after === 'refused', `after close: ${after}`);
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width, 2400);
  await closed;
});

test('colorgan serve: curl-style POST gives a PNG of the same size; SIGTERM stops it cleanly', async () => {
  await ensureDistBuilt();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/colorgan.js'), 'serve', '--port', '0', '--concurrency', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  const res = await post(`${url}/v1/colorize?format=png`, photo);
  assert.equal(res.status, 200);
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 160, 120]);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.match(err, /SIGTERM: finishing/);
});

test('a chunked body over --max-bytes (no Content-Length) is refused with 413 as it arrives', async () => {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 6; i++) c.enqueue(new Uint8Array(1024 * 1024));
      c.close();
    },
  });
  const res = await fetch(`${svc.url}/v1/colorize`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { cause: string }).cause, 'too-large');
});

test('a port in use: startService rejects with EADDRINUSE and leaves no thread running', async () => {
  const port = Number(new URL(svc.url).port);
  await assert.rejects(startService({ port, concurrency: 1 }), /EADDRINUSE/);
  // The shared service on that port is unaffected.
  assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
});
