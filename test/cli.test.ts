/**
 * The colorgan command line, run as a user would: `node bin/colorgan.js ...` on the
 * compiled dist/ (rebuilt in `before` when missing or older than src/: helpers.ts). Uses the bundled
 * model; only structure is checked (paths, sizes, messages, exit codes), never colors.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../src/data/decode.js';
import { bigPng, ensureDistBuilt } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(here);
const BIN = path.join(ROOT, 'bin', 'colorgan.js');
const FIX = path.join(here, 'fixtures');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI (2 wasm threads at most: the machine may be busy). */
function colorgan(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');
/** stderr lines that are not progress-bar lines. */
const messages = (s: string): string[] => lines(s).filter((l) => !l.startsWith('colorizing '));

let tmp: string;
let photos: string; // good photos in nested folders + bad files
const GOOD = [
  'a/cloudy2.jpg',
  'a/shine2.jpg',
  'b/c/shine3.jpg',
  'b/c/sunrise2.jpg',
  'b/cloudy3.jpg',
  'special/gray.jpg',
  'special/orient6.jpg',
  'sunrise3.jpg',
];
const BAD: Record<string, RegExp> = {
  'bad/truncated.jpg': /truncated or corrupt JPEG/,
  'bad/deeper/empty.jpg': /empty file/,
  'notes.png': /not an image/,
  'b/huge.png': /20000×20000 = 400\.0 MP, above the 100 MP limit/,
};
const expectedSize = new Map<string, [number, number]>();

before(async () => {
  await ensureDistBuilt();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-cli-test-'));
  photos = path.join(tmp, 'photos');
  for (const rel of GOOD) {
    await fs.mkdir(path.dirname(path.join(photos, rel)), { recursive: true });
    await fs.copyFile(path.join(FIX, 'photos', rel), path.join(photos, rel));
    const img = await decodeImage(path.join(photos, rel));
    expectedSize.set(rel, [img.width, img.height]);
  }
  await fs.mkdir(path.join(photos, 'bad', 'deeper'), { recursive: true });
  await fs.copyFile(path.join(FIX, 'bad', 'truncated.jpg'), path.join(photos, 'bad/truncated.jpg'));
  await fs.writeFile(path.join(photos, 'bad/deeper/empty.jpg'), '');
  await fs.writeFile(path.join(photos, 'notes.png'), 'this is not a picture\n');
  await fs.writeFile(path.join(photos, 'b/huge.png'), bigPng(20000, 20000));
});
after(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const outName = (rel: string, suffix = '.png'): string => rel.replace(/\.[^.]+$/, suffix);

describe('colorgan colorize', () => {
  let out: string;
  let first: Run;

  test('a folder: good photos written at mirrored paths and sizes, each bad file on one stderr line, exit 1', async () => {
    out = path.join(tmp, 'out');
    first = await colorgan(['colorize', photos, '--out', out]);
    assert.equal(first.code, 1, first.stderr);
    for (const rel of GOOD) {
      const file = path.join(out, outName(rel));
      const meta = await sharp(file).metadata();
      assert.equal(meta.format, 'png', rel);
      assert.deepEqual([meta.width, meta.height], expectedSize.get(rel), rel);
    }
    // Nothing else was written: no outputs for bad files, no folder-name repetition, no temp files.
    const written = (await fs.readdir(out, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    assert.equal(written, GOOD.length);
    await assert.rejects(fs.stat(path.join(out, 'photos')));
    const msgs = messages(first.stderr);
    for (const [rel, reason] of Object.entries(BAD)) {
      const mine = msgs.filter((l) => l.startsWith(`${path.join(photos, rel)}: `));
      assert.equal(mine.length, 1, `${rel}: ${JSON.stringify(msgs)}`);
      assert.match(mine[0], reason);
    }
    assert.equal(msgs.length, Object.keys(BAD).length, JSON.stringify(msgs));
    assert.match(first.stdout, /^done: 8 written, 0 skipped \(exists\), 4 failed, in \d+\.\d s$/m);
    // More than 3 files: a progress bar (not a TTY here: its final line).
    assert.ok(
      lines(first.stderr).some((l) => /^colorizing .* 12\/12 photos/.test(l)),
      first.stderr,
    );
  });

  test('a second run skips existing outputs; --overwrite replaces them', async () => {
    const file = path.join(out, outName(GOOD[0]));
    const before = (await fs.stat(file)).mtimeMs;
    const skip = await colorgan(['colorize', photos, '--out', out]);
    assert.equal(skip.code, 1);
    assert.match(skip.stdout, /^done: 0 written, 8 skipped \(exists\), 4 failed/m);
    const notes = messages(skip.stderr).filter((l) => /skipped, .* exists/.test(l));
    assert.equal(notes.length, 8, skip.stderr);
    assert.equal((await fs.stat(file)).mtimeMs, before);
    const over = await colorgan(['colorize', path.join(photos, 'a'), '--out', path.join(out, 'a'), '--overwrite']);
    assert.equal(over.code, 0, over.stderr);
    assert.match(over.stdout, /^done: 2 written, 0 skipped \(exists\), 0 failed/m);
    assert.ok((await fs.stat(file)).mtimeMs > before);
  });

  test('single files go straight into --out; --samples 2 writes .sample-1/.sample-2', async () => {
    const o = path.join(tmp, 'samples');
    const r = await colorgan(['colorize', path.join(photos, 'b/c/shine3.jpg'), path.join(photos, 'special/orient6.jpg'), '--out', o, '--samples', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await fs.readdir(o)).sort(), ['orient6.sample-1.png', 'orient6.sample-2.png', 'shine3.sample-1.png', 'shine3.sample-2.png']);
    for (const f of ['orient6.sample-1.png', 'orient6.sample-2.png']) {
      const m = await sharp(path.join(o, f)).metadata();
      assert.deepEqual([m.width, m.height], [64, 96]);
    }
    assert.match(r.stdout, /^done: 2 written, 0 skipped \(exists\), 0 failed/m);
    assert.equal(messages(r.stderr).length, 0, r.stderr); // ≤ 3 files: no progress bar
  });

  test('--raw writes the model grid output; --format jpeg writes .jpg; a missing INPUT fails alone', async () => {
    const o = path.join(tmp, 'raw');
    const missing = path.join(tmp, 'does-not-exist.jpg');
    const r = await colorgan(['colorize', missing, path.join(photos, 'a/shine2.jpg'), '--out', o, '--raw', '--format', 'jpeg']);
    assert.equal(r.code, 1);
    assert.deepEqual(messages(r.stderr), [`${missing}: no such file or folder`]);
    const m = await sharp(path.join(o, 'shine2.jpg')).metadata();
    // The general model keeps the aspect: 96×72 → a 88×64 grid (short side 64, multiples of 8).
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', 88, 64]);
    assert.match(r.stdout, /^done: 1 written, 0 skipped \(exists\), 1 failed/m);
  });

  test('an output that is the input itself is refused, with or without --overwrite', async () => {
    const dir = path.join(tmp, 'in-place');
    await fs.mkdir(dir, { recursive: true });
    const src = path.join(dir, 'b.png');
    await fs.copyFile(path.join(photos, 'a/shine2.jpg'), path.join(dir, 'b.jpg'));
    await sharp(path.join(dir, 'b.jpg')).png().toFile(src);
    const before = await fs.readFile(src);
    for (const extra of [[], ['--overwrite']]) {
      const r = await colorgan(['colorize', src, '--out', dir, ...extra]);
      assert.equal(r.code, 1);
      assert.deepEqual(messages(r.stderr), [`${src}: the output ${src} is this input file itself; choose another --out`]);
      assert.deepEqual(await fs.readFile(src), before, 'the input is untouched');
    }
    // Another name for the same file (a hard link) is caught too.
    const other = path.join(tmp, 'in-place-out');
    await fs.mkdir(other, { recursive: true });
    await fs.link(src, path.join(other, 'b.png'));
    const r = await colorgan(['colorize', src, '--out', other, '--overwrite']);
    assert.equal(r.code, 1);
    assert.deepEqual(await fs.readFile(src), before);
  });

  test('an unreadable sub-folder is one line and the walk goes on; --out inside the input is never walked', async () => {
    const dir = path.join(tmp, 'walk');
    await fs.mkdir(path.join(dir, 'ok'), { recursive: true });
    await fs.mkdir(path.join(dir, 'locked'), { recursive: true });
    await fs.copyFile(path.join(photos, 'a/shine2.jpg'), path.join(dir, 'ok', 'a.jpg'));
    await fs.copyFile(path.join(photos, 'a/shine2.jpg'), path.join(dir, 'locked', 'b.jpg'));
    const out = path.join(dir, 'out');
    await fs.mkdir(out, { recursive: true });
    await fs.copyFile(path.join(photos, 'a/shine2.jpg'), path.join(out, 'old.jpg')); // would be colorized if walked
    await fs.chmod(path.join(dir, 'locked'), 0o000);
    // As root, permissions do not stop readdir: the CLI then runs with a preload that makes
    // readdir of that folder fail with EACCES, as it does for any other user.
    const preload = path.join(tmp, 'eacces.mjs');
    await fs.writeFile(
      preload,
      `import { promises as fs } from 'node:fs';\nconst readdir = fs.readdir;\n` +
        `fs.readdir = async (p, ...a) => { if (String(p) === ${JSON.stringify(path.join(dir, 'locked'))}) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }); return readdir.call(fs, p, ...a); };\n`,
    );
    const asRoot = process.getuid?.() === 0;
    const r = await new Promise<Run>((resolve) => {
      execFile(process.execPath, [...(asRoot ? ['--import', preload] : []), BIN, 'colorize', dir, '--out', out], { cwd: ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
    await fs.chmod(path.join(dir, 'locked'), 0o755);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(messages(r.stderr), [`${path.join(dir, 'locked')}: cannot read folder (EACCES)`]);
    assert.match(r.stdout, /^done: 1 written, 0 skipped \(exists\), 1 failed/m);
    assert.ok((await fs.stat(path.join(out, 'ok', 'a.png'))).isFile());
    await assert.rejects(fs.stat(path.join(out, 'out', 'old.png')), 'the output folder is not an input');
  });

  test('two inputs with the same output path: the second is an error, named', async () => {
    const o = path.join(tmp, 'clash');
    const other = path.join(tmp, 'other');
    await fs.mkdir(other, { recursive: true });
    await fs.copyFile(path.join(photos, 'a/shine2.jpg'), path.join(other, 'shine2.png')); // same base name
    const a = path.join(photos, 'a/shine2.jpg');
    const b = path.join(other, 'shine2.png');
    const r = await colorgan(['colorize', a, b, '--out', o]);
    assert.equal(r.code, 1);
    const msgs = messages(r.stderr);
    assert.equal(msgs.length, 1, r.stderr);
    assert.ok(msgs[0].startsWith(`${b}: same output `) && msgs[0].includes(a), msgs[0]);
    assert.deepEqual(await fs.readdir(o), ['shine2.png']);
  });

  test('argument errors: one line, exit 2 (usage) or 1 (bad model)', async () => {
    const img = path.join(photos, 'sunrise3.jpg');
    const o = path.join(tmp, 'argerr');
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /^colorgan frobnicate: unknown command "frobnicate"/],
      [['colorize', img], 2, /^colorgan colorize: missing --out DIR/],
      [['colorize', '--out', o], 2, /^colorgan colorize: no INPUT given/],
      [['colorize', img, '--out', o, '--samples', '0'], 2, /^colorgan colorize: --samples must be an integer from 1 to 1000, got "0"$/],
      [['colorize', img, '--out', o, '--format', 'gif'], 2, /^colorgan colorize: unknown --format "gif"/],
      [['colorize', img, '--out', o, '--bogus'], 2, /^colorgan colorize: Unknown option '--bogus'/],
      [
        ['colorize', img, '--out', o, '--model', path.join(tmp, 'no-model')],
        1,
        /^colorgan colorize: cannot load the model from .*no-model: .*no such model folder$/,
      ],
    ];
    for (const [args, code, re] of cases) {
      const r = await colorgan(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const ls = lines(r.stderr);
      assert.match(ls[0] ?? '', re, args.join(' '));
      if (args[0] !== 'frobnicate') assert.equal(ls.length, 1, `${args.join(' ')}: ${r.stderr}`); // unknown command also prints the usage
    }
    await assert.rejects(fs.stat(o), 'nothing written on argument errors');
  });

  test('--help prints the options', async () => {
    const r = await colorgan(['colorize', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--samples N/);
    assert.match(r.stdout, /--max-pixels N/);
    assert.ok(r.stdout.includes(`(default ${DEFAULT_MAX_PIXELS})`), 'the CLI default is the decoder default');
  });
});

describe('colorgan train: argument errors', () => {
  test('missing --data, nonexistent folder, empty folder, unknown --model', async () => {
    const run = path.join(tmp, 'run');
    const empty = path.join(tmp, 'empty');
    await fs.mkdir(empty, { recursive: true });
    await fs.writeFile(path.join(empty, 'readme.txt'), 'no photos here');
    let r = await colorgan(['train', '--out', run]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^colorgan train: missing --data DIR/);
    r = await colorgan(['train', '--data', path.join(tmp, 'nope'), '--out', run]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope: no such folder/);
    r = await colorgan(['train', '--data', empty, '--out', run, '--model', 'huge']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^colorgan train: unknown model "huge" \(expected baseline, advanced, unet\)$/m);
    r = await colorgan(['train', '--data', empty, '--out', run, '--epochs', '1', '--threads', '1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /empty: no image files/);
  });
});
