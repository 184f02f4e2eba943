/**
 * The prebuilt addons' fit (src/native/addons.ts checkPrebuilt): platform, glibc, CPU flags
 * and the manifest's files, on manifests written here; and `native/build.mjs --prebuild`'s
 * output: each addon finds the libraries copied beside it (run paths, not the system's).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkPrebuilt, thisMachine, type Machine, type PrebuildManifest } from '../src/native/addons.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let tmp: string;
let dir: string;

const machine: Machine = { platform: 'linux', arch: 'x64', glibc: '2.36', cpuFlags: new Set(['sse2', 'avx2']) };
const manifest: PrebuildManifest = {
  platform: 'linux',
  arch: 'x64',
  libc: 'glibc',
  glibc: '2.34',
  cpuFlags: ['sse2'],
  libvips: '8.17.3',
  addons: ['colorgan_dnnl'],
  files: ['colorgan_dnnl.node', 'licenses/x.copyright'],
};

async function write(m: unknown): Promise<void> {
  await fs.writeFile(path.join(dir, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m));
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'colorgan-prebuilt-'));
  dir = path.join(tmp, 'linux-x64');
  await fs.mkdir(path.join(dir, 'licenses'), { recursive: true });
  await fs.writeFile(path.join(dir, 'colorgan_dnnl.node'), '');
  await fs.writeFile(path.join(dir, 'licenses', 'x.copyright'), '');
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

test('prebuilt addons fit a machine with the platform, a glibc at least as new and the CPU flags', async () => {
  await write(manifest);
  assert.deepEqual(checkPrebuilt(dir, machine), { manifest, why: '' });
  assert.equal(checkPrebuilt(dir, { ...machine, glibc: '2.34' }).why, '');
  assert.equal(checkPrebuilt(dir, { ...machine, glibc: '2.100' }).why, '', 'versions compare as numbers');
  assert.equal(checkPrebuilt(dir, { ...machine, cpuFlags: null }).why, '', 'unreadable flags are not checked');
});

test('prebuilt addons are refused, with the reason, on another platform, an older or no glibc, a CPU without a flag', async () => {
  await write(manifest);
  const why = (m: Partial<Machine>) => checkPrebuilt(dir, { ...machine, ...m }).why;
  assert.match(why({ arch: 'arm64' }), /holds addons for linux-x64/);
  assert.match(why({ platform: 'darwin' }), /holds addons for linux-x64/);
  assert.equal(why({ glibc: '2.31' }), 'they need glibc 2.34 or later, this system has 2.31');
  assert.equal(why({ glibc: '2.4' }), 'they need glibc 2.34 or later, this system has 2.4');
  assert.match(why({ glibc: '' }), /need glibc and this system has another C library/);
  assert.equal(why({ cpuFlags: new Set(['avx2']) }), 'this CPU lacks sse2');
  assert.equal(checkPrebuilt(dir, { ...machine, glibc: '2.31' }).manifest, null);
});

test('a missing or bad manifest, or a file it lists that is absent, is named', async () => {
  await fs.rm(path.join(dir, 'manifest.json'), { force: true });
  assert.equal(checkPrebuilt(dir, machine).why, 'no prebuilt addons for linux-x64');
  await write('{ not json');
  assert.match(checkPrebuilt(dir, machine).why, /^prebuilds\/linux-x64\/manifest\.json: /);
  await write({ ...manifest, glibc: 234 });
  assert.match(checkPrebuilt(dir, machine).why, /manifest\.json: a field is missing or of the wrong type/);
  await write({ ...manifest, files: [...manifest.files, 'libdnnl.so.2'] });
  assert.equal(checkPrebuilt(dir, machine).why, 'prebuilds/linux-x64/libdnnl.so.2 is missing');
  assert.equal(checkPrebuilt(dir, machine).manifest, null);
});

test('this machine: its glibc and CPU flags are read', () => {
  const m = thisMachine();
  assert.equal(m.platform, process.platform);
  if (process.platform === 'linux') {
    assert.match(m.glibc, /^\d+\.\d+/);
    assert.ok(m.cpuFlags?.has(process.arch === 'x64' ? 'sse2' : 'fp'), 'cpu flags read from /proc/cpuinfo');
  }
});

test('native/build.mjs --prebuild: the addons load the libraries beside them and the manifest fits this machine', async () => {
  // Built in a copy of native/ so that the tree's own prebuilds/ stays as it is.
  const src = path.join(tmp, 'tree');
  await fs.mkdir(path.join(src, 'native'), { recursive: true });
  for (const f of await fs.readdir(path.join(root, 'native')))
    if (/\.(cc|h|mjs)$/.test(f)) await fs.copyFile(path.join(root, 'native', f), path.join(src, 'native', f));
  await fs.symlink(path.join(root, 'node_modules'), path.join(src, 'node_modules'));
  execFileSync(process.execPath, [path.join(src, 'native', 'build.mjs'), '--prebuild'], { cwd: src, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  const out = path.join(src, 'prebuilds', `${process.platform}-${process.arch}`);
  const { manifest: m, why } = checkPrebuilt(out, thisMachine());
  assert.equal(why, '');
  assert.deepEqual(m?.addons, ['colorgan_dnnl', 'colorgan_jpeg', 'colorgan_vips']);
  for (const f of ['libdnnl.so.2', 'libjpeg.so.62', 'libgomp.so.1', 'licenses/libdnnl2.copyright']) assert.ok(existsSync(path.join(out, f)), f);
  // The dynamic loader's own account of where each library came from.
  const code = `require(${JSON.stringify(path.join(out, 'colorgan_dnnl.node'))}); require(${JSON.stringify(path.join(out, 'colorgan_jpeg.node'))});`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, LD_DEBUG: 'libs' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  for (const lib of ['libdnnl.so.2', 'libgomp.so.1', 'libOpenCL.so.1', 'libjpeg.so.62']) {
    const inits = [...r.stderr.matchAll(/calling init: (\S+)/g)].map((x) => x[1]).filter((f) => path.basename(f) === lib);
    assert.deepEqual(inits, [path.join(out, lib)], `${lib} loaded from ${inits.join(', ') || 'nowhere'}`);
  }
});
