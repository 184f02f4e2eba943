/** Helpers shared by the test suites. */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** The package root. */
export const ROOT = path.resolve(import.meta.dirname, '..');

/** A valid 1-bit grayscale PNG of width×height (all black), small on disk. */
export function bigPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const row = 1 + Math.ceil(width / 8);
  const raw = Buffer.alloc(row * height); // filter 0, all zero
  const idat = zlib.deflateSync(raw, { level: 1 });
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** The newest modification time of the files ending in `ext` under `dir` (0 if none). */
async function newestMtime(dir: string, ext: string): Promise<number> {
  let newest = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) newest = Math.max(newest, (await fs.stat(path.join(e.parentPath, e.name))).mtimeMs);
  }
  return newest;
}

/** The CLI runs the compiled dist/: rebuild it when missing or older than src/. */
export async function ensureDistBuilt(): Promise<void> {
  const dist = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const built = await fs.stat(dist).then(
    () => true,
    () => false,
  );
  if (!built || (await newestMtime(path.join(ROOT, 'src'), '.ts')) > (await newestMtime(path.join(ROOT, 'dist', 'src'), '.js'))) {
    execFileSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'inherit' });
  }
}

export interface CliRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Run `node bin/colorgan.js ARGS`, with `stdin` piped in when given; stdout kept as bytes. */
export function runCli(args: string[], stdin?: Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'colorgan.js'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {}); // the CLI may refuse before reading stdin
    child.stdin.end(stdin);
  });
}

/** Debian's Chromium, driven by playwright-core in the browser tests (CHROMIUM_PATH to use another). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Its flags here: headless, no sandbox or GPU, nothing that reaches the network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
