/**
 * The command line's conventions, run as a user would (node bin/colorgan.js on dist/):
 * --version, did-you-mean for commands and flags of every command, `-` for stdin and
 * `--out -` for stdout, --json, --quality, "jpg"; and the library's matching pieces
 * (format 'jpg', colorizeSamples with a format).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { promises as fs, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { loadModel, colorize, colorizeSamples } from '../src/infer/node.js';
import type { Colorizer } from '../src/infer/colorizer.js';
import { ensureDistBuilt, runCli, ROOT } from './helpers.js';

const PHOTO = path.join(ROOT, 'test', 'fixtures', 'photos', 'sunrise3.jpg');
let tmp: string;
let model: Colorizer;

before(async () => {
  await ensureDistBuilt();
  model = await loadModel();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-cli-conventions-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const firstLine = (s: string): string => s.split('\n')[0] ?? '';
/** stdout of --json: one JSON value a line. */
const jsonLines = (stdout: Buffer) =>
  stdout
    .toString()
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));

test('--version and -V print the version of package.json', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${version}\n`);
  }
});

test('did you mean: unknown commands and the unknown flags of every command', async () => {
  const cases: [string[], string][] = [
    [['colourize'], 'colorgan colourize: unknown command "colourize"; did you mean "colorize"?'],
    [['colorize', PHOTO, '--out', tmp, '--formt', 'png'], "colorgan colorize: Unknown option '--formt'; did you mean --format?"],
    [['colorize', PHOTO, '--out', tmp, '--strip-metadta'], "colorgan colorize: Unknown option '--strip-metadta'; did you mean --strip-metadata?"],
    [['train', '--data', tmp, '--out', tmp, '--epoch', '3'], "colorgan train: Unknown option '--epoch'; did you mean --epochs?"],
    [['eval', '--dta', tmp], "colorgan eval: Unknown option '--dta'; did you mean --data?"],
    [['web', '--prot', '8080'], "colorgan web: Unknown option '--prot'; did you mean --port?"],
  ];
  for (const [args, line] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(firstLine(r.stderr), line);
  }
  // Nothing close: no guess.
  const far = await runCli(['colorize', PHOTO, '--out', tmp, '--zzzzzzzz']);
  assert.equal(
    firstLine(far.stderr),
    "colorgan colorize: Unknown option '--zzzzzzzz'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--zzzzzzzz\"",
  );
});

test('cat photo.jpg | colorgan colorize - --out - --format png > out.png: a PNG of the photo size, nothing else on stdout', async () => {
  const r = await runCli(['colorize', '-', '--out', '-', '--format', 'png'], readFileSync(PHOTO));
  assert.equal(r.code, 0, r.stderr);
  const out = await sharp(r.stdout).metadata();
  const input = await sharp(PHOTO).metadata();
  assert.equal(out.format, 'png');
  assert.deepEqual([out.width, out.height], [input.width, input.height]);
  // The whole of stdout is the image: it starts with the PNG signature and ends with its IEND chunk.
  assert.equal(r.stdout.readUInt32BE(0), 0x89504e47);
  assert.equal(r.stdout.subarray(-8, -4).toString('latin1'), 'IEND', 'stdout ends with the PNG');
  assert.match(r.stderr, /^done: 1 written, 0 skipped \(exists\), 0 failed/m, 'the summary goes to stderr');
  // A file to stdout, stdin to a folder.
  const toStdout = await runCli(['colorize', PHOTO, '--out', '-', '--format', 'jpg']);
  assert.equal(toStdout.code, 0, toStdout.stderr);
  assert.equal((await sharp(toStdout.stdout).metadata()).format, 'jpeg');
  const dir = path.join(tmp, 'from-stdin');
  const fromStdin = await runCli(['colorize', '-', '--out', dir], readFileSync(PHOTO));
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.deepEqual(await fs.readdir(dir), ['stdin.png']);
  // Not an image on stdin: one line naming <stdin>.
  const bad = await runCli(['colorize', '-', '--out', '-'], Buffer.from('not a photo\n'));
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout.length, 0);
  assert.match(firstLine(bad.stderr), /^<stdin>: not an image/);
});

test('--out - takes one input and one output; --json and --out - exclude each other', async () => {
  const folder = path.join(ROOT, 'test', 'fixtures', 'photos', 'a');
  const cases: [string[], RegExp][] = [
    [['colorize', PHOTO, PHOTO, '--out', '-'], /--out - writes one image to stdout: give exactly one INPUT/],
    [['colorize', PHOTO, '--out', '-', '--samples', '2'], /--out - writes one image to stdout/],
    [['colorize', folder, '--out', '-'], /--out - writes one image to stdout: .* is a folder/],
    [['colorize', PHOTO, '--out', '-', '--json'], /--json and --out - both write to stdout/],
    [['colorize', '-', '-', '--out', tmp], /- \(stdin\) given more than once/],
    [['colorize', PHOTO, '--out', tmp, '--quality', '0'], /--quality must be an integer from 1 to 100, got "0"/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(firstLine(r.stderr), re);
    assert.equal(r.stdout.length, 0);
  }
});

test('--json: one JSON line per file (outputs, plan, size, seconds, or error), then a summary', async () => {
  const out = path.join(tmp, 'json');
  const missing = path.join(tmp, 'no-such.jpg');
  const r = await runCli(['colorize', PHOTO, missing, '--out', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const lines = jsonLines(r.stdout);
  assert.equal(lines.length, 3, r.stdout.toString());
  const input = await sharp(PHOTO).metadata();
  const byInput = new Map(lines.slice(0, 2).map((l) => [l.input, l]));
  const good = byInput.get(PHOTO);
  assert.deepEqual(good.outputs, [path.join(out, 'sunrise3.png')]);
  assert.equal(good.plan, 'general');
  assert.deepEqual([good.width, good.height], [input.width, input.height]);
  assert.ok(typeof good.seconds === 'number' && good.seconds >= 0);
  assert.equal(byInput.get(missing).error, 'no such file or folder');
  assert.deepEqual({ ...lines[2].summary, seconds: 0 }, { written: 1, skipped: 0, failed: 1, notStarted: 0, seconds: 0 });
  // Again: the output exists and is kept.
  const again = await runCli(['colorize', PHOTO, '--out', out, '--json']);
  const [skip] = jsonLines(again.stdout);
  assert.deepEqual(skip, { input: PHOTO, outputs: [], skipped: [path.join(out, 'sunrise3.png')] });
});

test('--quality sets the JPEG and WebP quality; jpg is a format name', async () => {
  const sizes: Record<string, number> = {};
  for (const q of ['20', '95']) {
    for (const format of ['jpg', 'webp']) {
      const r = await runCli(['colorize', PHOTO, '--out', '-', '--format', format, '--quality', q]);
      assert.equal(r.code, 0, r.stderr);
      sizes[`${format}${q}`] = r.stdout.length;
    }
  }
  assert.ok(sizes.jpg20! < sizes.jpg95!, JSON.stringify(sizes));
  assert.ok(sizes.webp20! < sizes.webp95!, JSON.stringify(sizes));
  const help = await runCli(['colorize', '--help']);
  for (const flag of ['--quality N', '--strip-metadata', '--json', '- writes the one output to stdout', '--saturation X'])
    assert.ok(help.stdout.includes(flag), flag);
});

test('library: format "jpg" is JPEG; colorizeSamples gives encoded Buffers with a format, pixels without', async () => {
  const jpg = await colorize(PHOTO, { model, format: 'jpg' });
  assert.equal((await sharp(jpg).metadata()).format, 'jpeg');
  const encoded = await colorizeSamples(PHOTO, 2, { model, format: 'webp', seed: 4 });
  assert.equal(encoded.length, 2);
  for (const b of encoded) {
    assert.ok(Buffer.isBuffer(b));
    assert.equal((await sharp(b).metadata()).format, 'webp');
  }
  assert.ok(!encoded[0]!.equals(encoded[1]!), 'two different samples');
  const pixels = await colorizeSamples(PHOTO, 2, { model, seed: 4 });
  const decoded = await sharp(encoded[0]!).raw().toBuffer();
  assert.equal(pixels[0]!.data.length, decoded.length, 'the same size as pixels');
  await assert.rejects(colorize(PHOTO, { model, format: 'gif' as never }), /^RangeError: options.format must be one of png, jpeg, webp \(or jpg\), got "gif"$/);
});
