/**
 * A bounded load on `colorgan serve` (bench/load.ts: its own server process on a free
 * loopback port, 100 clients for 8 s, each honouring Retry-After): nothing but 200 or
 * 503-with-Retry-After, no connection dropped, and the server's peak memory under the
 * README's bound. Times are printed, never asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from '../bench/load.js';
import { ensureDistBuilt } from './helpers.js';

/** The README's stated bound for `colorgan serve` with its default limits on 2 cores. */
const PEAK_RSS_BOUND = 1.5 * 2 ** 30;

test('100 clients for 8 s: only 200 and 503 with Retry-After, no dropped connection, bounded memory', async () => {
  await ensureDistBuilt();
  const r = await runLoad({ clients: 100, seconds: 8, concurrency: 2, width: 320, height: 240 });
  console.log(
    `# ${r.cpu}: ${JSON.stringify(r.statuses)}, p50 ${r.okLatencyMs.p50.toFixed(0)} ms, p99 ${r.okLatencyMs.p99.toFixed(0)} ms, peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MB`,
  );
  const other = Object.keys(r.statuses).filter((s) => s !== '200' && s !== '503');
  assert.deepEqual(other, [], `unexpected statuses ${JSON.stringify(r.statuses)}`);
  assert.equal(r.bare503, 0, 'every 503 says when to retry');
  assert.equal(r.connectionErrors, 0);
  assert.ok((r.statuses['200'] ?? 0) > 0, 'photos were colorized');
  assert.ok((r.statuses['503'] ?? 0) > 0, '100 clients overflow 2 threads + a queue of 8: some are told to retry');
  assert.ok(r.peakRssBytes > 0 && r.peakRssBytes < PEAK_RSS_BOUND, `peak RSS ${r.peakRssBytes}`);
});
