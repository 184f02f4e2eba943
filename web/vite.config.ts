/**
 * Vite build of the in-browser app (root: web/). The app imports the shared color math,
 * model runner and sharpening step from ../src; a model folder (the bundled default,
 * models/general, or $COLORGAN_WEB_MODEL, which `colorgan web --model` sets) with its
 * refinement stages and the tfjs wasm binaries are copied into the output so that
 * everything is same-origin and works offline. A small service worker (generated here with
 * the list of all built files) caches them after the first visit.
 */
import { defineConfig, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BUILD_STAMP, contentType, webModelDir, webModelFiles, webModelId } from '../src/cli/web.js';
import { wasmDistDir } from '../src/util/wasm-files.js';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

/** Files copied verbatim into the build: output path → source path; and the model's id. */
async function staticFiles(): Promise<{ files: Map<string, string>; modelId: string }> {
  const model = await webModelFiles(webModelDir());
  const files = new Map(model);
  const wasmDir = wasmDistDir();
  for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) files.set(`wasm/${f}`, path.join(wasmDir, f));
  return { files, modelId: webModelId(model) };
}

function colorganAssets(): Plugin {
  return {
    name: 'colorgan-assets',
    enforce: 'post',
    // Dev server: serve the same files under the same paths.
    async configureServer(server) {
      const { files } = await staticFiles();
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0].replace(/^\/+/, '');
        const src = files.get(url);
        if (!src) return next();
        res.setHeader('Content-Type', contentType(src));
        res.end(readFileSync(src));
      });
    },
    async generateBundle(_opts, bundle) {
      const hash = createHash('sha256');
      const { files, modelId } = await staticFiles();
      for (const [out, src] of files) {
        const source = readFileSync(src);
        hash.update(out).update(source);
        this.emitFile({ type: 'asset', fileName: out, source });
      }
      // Service worker: precache every built file (names relative to the app's folder).
      const names = Object.keys(bundle)
        .filter((n) => !n.endsWith('.map') && n !== 'sw.js')
        .sort();
      for (const n of names) {
        const item = bundle[n];
        hash.update(n).update(item.type === 'chunk' ? item.code : typeof item.source === 'string' ? item.source : Buffer.from(item.source));
      }
      const version = hash.digest('hex').slice(0, 16);
      const sw = readFileSync(path.join(here, 'src', 'sw.js'), 'utf8')
        .replace('__VERSION__', version)
        .replace('__FILES__', JSON.stringify(['./', ...names.filter((n) => n !== 'index.html')]));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: sw });
      // Which model this build holds (src/cli/web.ts rebuilds when another is asked for); not precached.
      this.emitFile({ type: 'asset', fileName: BUILD_STAMP, source: `${JSON.stringify({ model: modelId })}\n` });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  plugins: [colorganAssets()],
  server: {
    fs: { allow: [repo] },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  preview: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // The worker (web/src/worker.ts) is an ES module, like the page.
  worker: { format: 'es' },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    reportCompressedSize: false,
  },
});
