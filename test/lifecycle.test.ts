/**
 * The training life cycle (src/train/train.ts): setup checks every option before any
 * photo is decoded, G is serialized once per epoch and the same bytes reach the
 * checkpoint and both exports, and the checkpoint's run state is typed and checked when
 * read. Tiny data, as in train.test.ts.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '../src/util/tf.js';
import { initBackend } from '../src/backend/node.js';
import { train } from '../src/train/train.js';
import { findLatestCheckpoint, loadCheckpoint } from '../src/train/checkpoint.js';
import { parseCheckpointState } from '../src/train/state.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'photos');
const tiny = { size: 16, ngf: 8, ndf: 8, zDim: 8, batch: 2, sampleRows: 2, model: 'baseline' as const };
let tmp: string;

before(async () => {
  await initBackend({ threads: 1 });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-lifecycle-'));
});

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

test('setup rejects a bad option before any photo is decoded or any file is written', async () => {
  const cacheDir = path.join(tmp, 'cache-setup');
  const out = path.join(tmp, 'run-setup');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ size: 12 }, /^RangeError: size must be an integer >= 16, got 12$/],
    [{ size: 20 }, /^RangeError: size must be a multiple of 8, got 20$/],
    [{ epochs: 0 }, /^RangeError: epochs must be a positive integer, got 0$/],
    [{ lr: -1 }, /^RangeError: lr must be a number >= 0, got -1$/],
    [{ flip: 'no' }, /^TypeError: flip must be a boolean, got "no"$/],
    [{ szie: 16 }, /^TypeError: szie: unknown option/],
  ];
  for (const [opts, why] of bad) {
    let decoded = 0;
    await assert.rejects(train({ data: FIXTURES, out, cacheDir, ...opts }, { dataProgress: () => decoded++ }), why, JSON.stringify(opts));
    assert.equal(decoded, 0, `${JSON.stringify(opts)}: nothing decoded`);
  }
  assert.equal(await exists(cacheDir), false, 'no data set cached');
  assert.equal(await exists(out), false, 'no run folder made');
  // The same call with a good size decodes (so the counter above would have seen it).
  let decoded = 0;
  await train({ ...tiny, data: FIXTURES, out, cacheDir, epochs: 1 }, { dataProgress: () => decoded++ });
  assert.ok(decoded > 0);
  assert.ok(await exists(cacheDir));
});

test('G is serialized once per epoch; the checkpoint, generator/ and generator-best/ get the same bytes', async () => {
  const out = path.join(tmp, 'run-once');
  const saved: tf.LayersModel[] = [];
  const real = tf.LayersModel.prototype.save;
  tf.LayersModel.prototype.save = function (this: tf.LayersModel, ...args: Parameters<typeof real>) {
    saved.push(this);
    return real.apply(this, args);
  };
  try {
    const epochs = 2;
    await train({ ...tiny, data: FIXTURES, out, epochs, l1: 50, seed: 4, cacheDir: path.join(tmp, 'cache') });
    // Per epoch: one save of G and one of D (the checkpoint's discriminator).
    assert.equal(saved.length, 2 * epochs, `model.save calls: ${saved.length}`);
    assert.equal(new Set(saved).size, 2, 'the same two networks');
  } finally {
    tf.LayersModel.prototype.save = real;
  }
  const ck = (await findLatestCheckpoint(out))!;
  const history = (await loadCheckpoint(ck)).state.history;
  const bestIsLast = history[history.length - 1].valL1 <= Math.min(...history.map((h) => h.valL1));
  for (const f of ['model.json', 'weights.bin', 'colorgan.json']) {
    const inCheckpoint = await fs.readFile(path.join(ck, 'generator', f));
    assert.deepEqual(await fs.readFile(path.join(out, 'generator', f)), inCheckpoint, `generator/${f}`);
    if (bestIsLast) assert.deepEqual(await fs.readFile(path.join(out, 'generator-best', f)), inCheckpoint, `generator-best/${f}`);
  }
});

test('the checkpoint state is typed and checked when read: a bad field is named', async () => {
  const out = path.join(tmp, 'run-state');
  await train({ ...tiny, data: FIXTURES, out, epochs: 1, seed: 5, cacheDir: path.join(tmp, 'cache') });
  const ck = (await findLatestCheckpoint(out))!;
  const { state } = await loadCheckpoint(ck);
  assert.equal(state.epoch, 1);
  assert.equal(state.options.batch, 2);
  assert.equal(state.stepLog[0].length, 4);
  assert.equal(typeof state.history[0].valL1, 'number');
  assert.ok(!('resume' in state.options));

  const good = JSON.parse(await fs.readFile(path.join(ck, 'state.json'), 'utf8'));
  const damaged: [object, RegExp][] = [
    [{ ...good, options: { ...good.options, batch: 0 } }, /: options\.batch must be an integer >= 2, got 0$/],
    [{ ...good, options: { ...good.options, model: 'huge' } }, /: options\.model must be "baseline", "advanced" or "unet", got "huge"$/],
    [{ ...good, history: [{ ...good.history[0], valL1: null }] }, /: history\[0\]\.valL1 must be a number, got null$/],
    [{ ...good, stepLog: [[1, 2]] }, /: stepLog\[0\] must be four numbers, got an array$/],
    [{ ...good, epoch: -1 }, /: epoch must be an integer >= 0, got -1$/],
  ];
  for (const [json, why] of damaged) assert.throws(() => parseCheckpointState(json), why);
  // Checkpoints from before the step log was kept still load.
  const { stepLog: _old, ...early } = good;
  assert.deepEqual(parseCheckpointState(early).stepLog, []);
  // Through loadCheckpoint the message names the file.
  await fs.writeFile(path.join(ck, 'state.json'), JSON.stringify({ ...good, options: { ...good.options, lr: 'fast' } }));
  await assert.rejects(loadCheckpoint(ck), (e: unknown) => {
    assert.equal((e as Error).message, `${path.join(ck, 'state.json')}: options.lr must be a number >= 0, got "fast"`);
    return true;
  });
});
