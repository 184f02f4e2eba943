/**
 * `colorgan web [--model M] [--port N] [--host H]`: build the in-browser app (web/) with
 * Vite when web/dist is missing, older than its sources or holds another model, then serve
 * web/dist with a small static server. The page does all the work; the server only hands
 * out files.
 */
import { DEFAULT_MODEL, bundledModelDir, modelDirOf } from '../models/bundled.js';
import { readMetadata } from '../models/folder.js';
import { checkColorizer, checkRefineStage, METADATA_JSON, MODEL_JSON } from '../models/metadata.js';
import { MODEL_OPTION } from '../infer/options.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { promises as fs, existsSync, statSync, readdirSync, readFileSync, createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { packageRoot } from '../util/package-root.js';
import { parseCommandLine, usageText } from '../util/options.js';

/** The flags of `colorgan web`. */
const WEB_SCHEMA = {
  model: MODEL_OPTION,
  port: { type: 'int', min: 0, max: 65535, default: 8080, help: 'port to listen on (0 picks a free port)' },
  host: { type: 'string', arg: 'ADDRESS', default: '127.0.0.1', help: 'address to bind' },
  rebuild: { type: 'boolean', help: 'rebuild the app even if web/dist is up to date' },
} as const;

const WEB_USAGE = `${usageText(
  `Usage: colorgan web [--model M] [--port N] [--host ADDRESS] [--rebuild]

Serve the in-browser colorization app (everything runs in the page; no photo is uploaded)
with a model and its refinement stages copied into it (another --model rebuilds the app).`,
  WEB_SCHEMA,
)}
Ctrl-C stops the server.`;

export function webDir(): string {
  return path.join(packageRoot(), 'web');
}

export function webDistDir(): string {
  return path.join(webDir(), 'dist');
}

/** Newest modification time (ms) of the files under `p` (a file or folder), skipping `skip`. */
function newestMtime(p: string, skip: Set<string> = new Set()): number {
  if (!existsSync(p) || skip.has(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    t = Math.max(t, newestMtime(path.join(p, e), skip));
  }
  return t;
}

/** Library folders the page imports (pure TS shared with Node; see web/src). */
const SHARED_SRC = ['src/infer', 'src/color', 'src/models', 'src/backend/kernels', 'src/util', 'src/data/formats.ts'];

/** Sources of the built app: web/ (minus dist), the shared library code, the lock file (the model: webModelId). */
function sourcesMtime(): number {
  const root = packageRoot();
  const web = webDir();
  return Math.max(
    newestMtime(web, new Set([path.join(web, 'dist')])),
    ...SHARED_SRC.map((d) => newestMtime(path.join(root, d))),
    newestMtime(path.join(root, 'package-lock.json')),
  );
}

/** Tells the Vite build (web/vite.config.ts) which model folder to copy; unset: the bundled default. */
export const WEB_MODEL_ENV = 'COLORGAN_WEB_MODEL';

/** The model folder a build copies: $COLORGAN_WEB_MODEL, else the bundled default. */
export function webModelDir(): string {
  return process.env[WEB_MODEL_ENV] || bundledModelDir(DEFAULT_MODEL);
}

/**
 * The files of a model folder the app serves, output path (model/…) → source path:
 * colorgan.json, model.json and the weight shards (*.bin), and the same under
 * model/refine-k/ for each refinement stage its metadata lists. Checked as loadModel checks
 * a folder (the same rules, models/metadata.ts), so one the page could not use fails here in one line.
 */
export async function webModelFiles(dir: string): Promise<Map<string, string>> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`${dir}: no such model folder`);
  const meta = await readMetadata(dir);
  checkColorizer(meta, dir);
  const files = new Map<string, string>();
  const add = (from: string, to: string) => {
    if (!existsSync(path.join(from, MODEL_JSON))) throw new Error(`${path.join(from, MODEL_JSON)}: missing`);
    for (const f of readdirSync(from).sort()) if (f === MODEL_JSON || f === METADATA_JSON || f.endsWith('.bin')) files.set(`${to}/${f}`, path.join(from, f));
  };
  add(dir, 'model');
  for (const name of meta.refine ?? []) {
    const sub = path.join(dir, name);
    checkRefineStage(await readMetadata(sub), sub, path.join(dir, METADATA_JSON));
    add(sub, `model/${name}`);
  }
  return files;
}

/** What identifies a model in a build: a hash of its served files' names and contents. */
export function webModelId(files: Map<string, string>): string {
  const hash = createHash('sha256');
  for (const [out, src] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(out).update('\0').update(readFileSync(src));
  return hash.digest('hex').slice(0, 16);
}

/** The file in web/dist that says which model it holds (`{"model": webModelId}`), written by the build. */
export const BUILD_STAMP = 'build.json';

/** The model id web/dist was built with, or null. */
function builtModelId(): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(webDistDir(), BUILD_STAMP), 'utf8')) as { model?: string }).model ?? null;
  } catch {
    return null;
  }
}

/** True when web/dist is missing, older than its sources, or holds another model than `modelId`'s. */
export function webBuildStale(modelId: string): boolean {
  const index = path.join(webDistDir(), 'index.html');
  if (!existsSync(index)) return true;
  return builtModelId() !== modelId || sourcesMtime() > statSync(index).mtimeMs;
}

/**
 * Build the app with Vite's JS API if needed (or `force`), with the model folder `model`
 * (default: the bundled one). Returns whether it built. Vite is a development dependency:
 * without it, an existing web/dist of the same model is still served.
 */
export async function buildWeb(opts: { force?: boolean; model?: string; log?: (msg: string) => void } = {}): Promise<boolean> {
  const model = opts.model ?? bundledModelDir(DEFAULT_MODEL);
  const id = webModelId(await webModelFiles(model));
  const config = path.join(webDir(), 'vite.config.ts');
  const built = existsSync(path.join(webDistDir(), 'index.html'));
  const sameModel = built && builtModelId() === id;
  // An installed package ships the app built at pack time (web/dist), not its sources.
  if (!existsSync(config)) {
    if (!built) throw new Error(`${webDistDir()}: the built web app is missing, and its sources (${config}) are not part of this install`);
    if (!sameModel)
      throw new Error(`${model}: this install has the web app built with the bundled model only; another model needs its sources (web/), which it lacks`);
    if (opts.force) opts.log?.('web: this install has the built app but not its sources; serving it as it is');
    return false;
  }
  if (!opts.force && !webBuildStale(id)) return false;
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    if (sameModel) {
      opts.log?.('web: vite is not installed; serving the existing (possibly outdated) web/dist');
      return false;
    }
    throw new Error('building the web app needs the development dependency "vite" (run npm install in the colorgan folder)');
  }
  opts.log?.('web: building the app (vite)…');
  const t0 = Date.now();
  const before = process.env[WEB_MODEL_ENV];
  process.env[WEB_MODEL_ENV] = path.resolve(model); // read by web/vite.config.ts
  try {
    await vite.build({ configFile: config, logLevel: 'warn' });
  } finally {
    if (before === undefined) delete process.env[WEB_MODEL_ENV];
    else process.env[WEB_MODEL_ENV] = before;
  }
  opts.log?.(`web: built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The Content-Type a served file is sent with (also the Vite dev server's, web/vite.config.ts). */
export function contentType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * The page's Content-Security-Policy: everything from this origin only; wasm compilation
 * allowed (TensorFlow.js), workers and their scripts from blob: (tfjs' threaded wasm), no
 * framing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' blob: 'wasm-unsafe-eval'", // blob: tfjs' wasm pthread worker imports its script from one
  "worker-src 'self' blob:",
  "img-src 'self' blob: data:",
  "connect-src 'self' blob: data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The Host header values a server on `host:port` answers (DNS-rebinding guard): the
 * address itself, and for a loopback or wildcard address also localhost and IP literals.
 */
export function hostAllowed(header: string | undefined, host: string, port: number): boolean {
  if (!header) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(header.trim());
  if (!m || Number(m[2] ?? 80) !== port) return false;
  const name = m[1].toLowerCase().replace(/^\[|\]$/g, '');
  if (name === host.toLowerCase()) return true;
  const wildcard = host === '0.0.0.0' || host === '::';
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  if (!(wildcard || loopback)) return false;
  return name === 'localhost' || /^[\d.]+$/.test(name) || name.includes(':');
}

/** Headers of every answer: cross-origin isolation (threaded wasm), the CSP, no framing, revalidation. */
const COMMON_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The file under `root` that a request's URL names, or the status and text that refuse it. */
function requestedFile(root: string, url: string | undefined): { file: string } | { status: 400 | 403; text: string } {
  let rel: string;
  try {
    rel = decodeURIComponent(new URL(url ?? '/', 'http://x').pathname);
  } catch {
    return { status: 400, text: 'bad request' };
  }
  if (rel.endsWith('/')) rel += 'index.html';
  const file = path.resolve(root, `.${path.posix.normalize(rel)}`);
  if (file !== root && !file.startsWith(root + path.sep)) return { status: 403, text: 'forbidden' };
  return { file };
}

/** Answer with `file`: 304 when the client's copy is current, streamed otherwise, 404 when it is not a file. */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error('not a file');
    // Revalidation (no-cache + ETag): the service worker's precache of files the page
    // already loaded costs a 304, not a second download.
    const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ...COMMON_HEADERS, ETag: etag }).end();
      return;
    }
    res.writeHead(200, {
      ETag: etag,
      ...COMMON_HEADERS,
      'Content-Type': contentType(file),
      'Content-Length': st.size,
      ...(path.basename(file) === 'sw.js' ? { 'Service-Worker-Allowed': '/' } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Streamed in chunks; a client that goes away ends the read.
    pipeline(createReadStream(file), res).catch(() => res.destroy());
  } catch {
    res.writeHead(404, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
  }
}

/**
 * Serve the files of `dir` (GET/HEAD only, no directory listings), streamed (memory stays
 * bounded under many concurrent downloads). Sends the cross-origin isolation headers so
 * the page can use threaded wasm, a strict CSP, and refuses requests for other hosts.
 */
export function serveStatic(dir: string, opts: { port?: number; host?: string } = {}): Promise<StaticServer> {
  const root = path.resolve(dir);
  const bindHost = opts.host ?? '127.0.0.1';
  let port = opts.port ?? 8080;
  const server = createServer(async (req, res) => {
    if (!hostAllowed(req.headers.host, bindHost, port)) {
      res.writeHead(421, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('misdirected request: unknown Host');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...COMMON_HEADERS, Allow: 'GET, HEAD' }).end();
      return;
    }
    const target = requestedFile(root, req.url);
    if ('status' in target) {
      res.writeHead(target.status, COMMON_HEADERS).end(target.text);
      return;
    }
    await sendFile(req, res, target.file);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindHost, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      port = a.port; // the real one when 0 was asked for
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({
        server,
        url: `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${a.port}/`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

export async function webCommand(argv: string[]): Promise<number> {
  const { values, help } = parseCommandLine(WEB_SCHEMA, argv, { defaults: true });
  if (help) {
    console.log(WEB_USAGE);
    return 0;
  }
  const { port, host } = values;
  await buildWeb({ force: values.rebuild, model: modelDirOf(values.model ?? DEFAULT_MODEL), log: (m) => console.error(m) });
  let srv: StaticServer;
  try {
    srv = await serveStatic(webDistDir(), { port, host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} is already in use (try --port 0 for a free one)`);
    throw err;
  }
  console.log(`colorgan web: serving the app at ${srv.url}  (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await srv.close();
  console.error('colorgan web: stopped');
  return 0;
}
