/**
 * The package as a new user gets it: `npm pack` of a copy of this tree (so the tree's own
 * dist/, web/dist/ and prebuilds/ are not touched), `npm i` of the tarball in an empty
 * project with no C++ compiler to be found, then the CLI, the library and the web app
 * from that install. The prebuilt native addons must be the ones in use.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { promises as fs, existsSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const photo = path.join(root, 'examples', 'shine1-gray.jpg');
let tmp: string;
let consumer: string;
let tarball: string;
/** The consumer's environment: no compiler (CXX, CC, and a PATH of node, npm, npx and sh only). */
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], cwd: string, timeout: number, extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-package-'));
  // The tree as committed plus new files (what a clone would pack), node_modules shared.
  const src = path.join(tmp, 'src');
  const files = execFileSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(path.join(root, f))) continue; // deleted, not yet committed
    await fs.mkdir(path.dirname(path.join(src, f)), { recursive: true });
    await fs.copyFile(path.join(root, f), path.join(src, f));
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(src, 'node_modules'));

  const bin = path.join(tmp, 'bin');
  await fs.mkdir(bin);
  for (const tool of ['node', 'npm', 'npx', 'sh']) {
    const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(where, path.join(bin, tool));
  }
  env = { ...process.env, PATH: bin, CXX: '/nonexistent', CC: '/nonexistent', COLORGAN_NATIVE: '', npm_config_update_notifier: 'false' };
  for (const k of Object.keys(env)) if (k.startsWith('npm_') && k !== 'npm_config_update_notifier') delete env[k]; // not the outer `npm test`'s

  const pack = path.join(tmp, 'pack');
  await fs.mkdir(pack);
  // The packing machine has the compiler (prepack builds the prebuilt addons).
  run('npm', ['pack', '--pack-destination', pack], src, 480_000, { PATH: process.env.PATH, CXX: '', CC: '' });
  tarball = path.join(pack, (await fs.readdir(pack)).find((f) => f.endsWith('.tgz')) ?? 'none.tgz');

  consumer = path.join(tmp, 'consumer');
  await fs.mkdir(consumer);
  await fs.writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['i', tarball, '--prefer-offline', '--no-audit', '--no-fund'], consumer, 300_000);
});

after(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

test('the tarball has the built web app, the prebuilt addons, the types, LICENSE and NOTICE.md, and no source maps', () => {
  const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const has = (f: string) => assert.ok(list.includes(`package/${f}`), `${f} not in the tarball`);
  for (const f of ['LICENSE', 'NOTICE.md', 'README.md', 'web/dist/index.html', 'dist/src/index.js', 'dist/src/index.d.ts', 'models/general/weights.bin'])
    has(f);
  for (const f of ['colorgan_dnnl.node', 'colorgan_jpeg.node', 'colorgan_vips.node', 'libdnnl.so.2', 'libjpeg.so.62', 'manifest.json'])
    has(`prebuilds/linux-x64/${f}`);
  assert.deepEqual(
    list.filter((f) => f.endsWith('.map')),
    [],
  );
  assert.ok(list.some((f) => /^package\/web\/dist\/assets\/.*\.js$/.test(f)));
});

test('installed without a compiler: nothing is built from source, colorize uses the prebuilt addons', async () => {
  const pkg = path.join(consumer, 'node_modules', 'colorgan');
  assert.equal(existsSync(path.join(pkg, 'native', 'build')), false, 'the install built addons from source');
  const out = path.join(tmp, 'out');
  const r = run('npx', ['colorgan', 'colorize', photo, '--out', out], consumer, 120_000, { COLORGAN_VERBOSE: '1' });
  for (const name of ['colorgan_dnnl', 'colorgan_jpeg', 'colorgan_vips']) assert.match(r.stderr, new RegExp(`${name} prebuilt`), r.stderr);
  assert.match(r.stderr, /oneDNN [\d.]+ convolutions/);
  const inMeta = await sharp(photo).metadata();
  const outMeta = await sharp(path.join(out, 'shine1-gray.png')).metadata();
  assert.deepEqual([outMeta.width, outMeta.height, outMeta.format], [inMeta.width, inMeta.height, 'png']);
  // COLORGAN_NATIVE=0 still turns them off.
  const off = run('npx', ['colorgan', 'colorize', photo, '--out', out, '--overwrite'], consumer, 120_000, { COLORGAN_VERBOSE: '1', COLORGAN_NATIVE: '0' });
  assert.match(off.stderr, /colorgan_dnnl off \(disabled by COLORGAN_NATIVE=0\)/);
});

test('the library is importable with its types and colorizes a Buffer', async () => {
  await fs.writeFile(
    path.join(consumer, 'use.ts'),
    `import { colorize } from 'colorgan';
import { readFileSync } from 'node:fs';
const png: Buffer = await colorize(readFileSync(process.argv[2]), { format: 'png' });
const rgb = await colorize(readFileSync(process.argv[2]));
process.stdout.write(JSON.stringify({ png: png.subarray(0, 8).toString('hex'), width: rgb.width, height: rgb.height, bytes: rgb.data.length }));
`,
  );
  // The shipped .d.ts files type the consumer's code, compiled to use.js (the repo's TypeScript, the consumer's resolution;
  // --skipLibCheck as most projects have it: tfjs' own .d.ts do not pass a strict check).
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node'];
  run('node', [tsc, ...flags, '--typeRoots', path.join(root, 'node_modules', '@types'), 'use.ts'], consumer, 120_000);
  const r = run('node', ['use.js', photo], consumer, 120_000); // what tsc made of it
  const got = JSON.parse(r.stdout);
  const meta = await sharp(photo).metadata();
  assert.equal(got.png, '89504e470d0a1a0a');
  assert.deepEqual([got.width, got.height, got.bytes], [meta.width, meta.height, (meta.width ?? 0) * (meta.height ?? 0) * 3]);
});

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

test('colorgan web serves the prebuilt app from the install', async () => {
  const port = await freePort();
  const child = spawn('npx', ['colorgan', 'web', '--port', String(port)], { cwd: consumer, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`colorgan web did not start:\n${output}`)), 60_000);
      const seen = (d: Buffer) => {
        output += d;
        if (output.includes('serving the app at')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.on('exit', () => reject(new Error(`colorgan web exited:\n${output}`)));
    });
    const base = `http://127.0.0.1:${port}/`;
    const page = await fetch(base);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    const html = await page.text();
    const script = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, `no script in the page:\n${html}`);
    const js = await fetch(base + script);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.arrayBuffer()).byteLength > 10_000);
  } finally {
    if (child.pid) process.kill(-child.pid, 'SIGTERM'); // npx and the server it started
  }
  await exited;
});
