/**
 * The layers of src/: every relative import of every src/**\/*.ts file (static, dynamic,
 * `export … from`, type-only), mapped to its top folder, must point down the layer order
 * below — never up, never in a cycle — and only src/cli may import src/cli.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The layers, lowest first: a folder may import from itself and from folders before it,
 * never from one after it. `index` is src/index.ts, the library; `cli` sits on top of it.
 *   util     small helpers (RNG, atomic writes, the package root)
 *   native   the addon loader (native/build/*.node): found, loaded, or why not
 *   color    the per-pixel color math (YUV, Lab)
 *   data     decoding, folders of photos, data sets and splits
 *   backend  the tfjs compute backend: wasm init, threads, our and oneDNN's conv kernels
 *   models   generator and discriminator architectures, metadata, save/load
 *   report   image grids and plots
 *   infer    colorization: the plan, the Colorizer, sharpening, the streaming paths
 *   train    the GAN training loop and checkpoints
 *   eval     metrics and reports over a data set
 *   index    the public library API
 *   cli      the command line
 */
const LAYERS = ['util', 'native', 'color', 'data', 'backend', 'models', 'report', 'infer', 'train', 'eval', 'index', 'service', 'queue', 'cli'] as const;

const SRC = path.resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The layer of a file under src/: its top folder, or 'index' for a file at the top. */
function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? 'index' : rel[0]!;
}

/** Relative module specifiers of a source file, comments stripped first. */
function relativeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  for (const m of code.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) specs.push(m[1]!);
  return specs;
}

interface Edge {
  file: string;
  from: string;
  to: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      assert.ok(target.startsWith(SRC + path.sep), `${path.relative(SRC, file)} imports ${spec}, outside src/`);
      out.push({ file: path.relative(SRC, file), from: layerOf(file), to: layerOf(target) });
    }
  }
  return out;
}

test('the import parser sees static, dynamic, re-export and type-only imports', () => {
  const src = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "export { c } from '../c/c.js';",
    "const d = await import('../d/d.js');",
    "import './e.js';",
    "// import { no } from '../comment.js';",
    "/* import { no } from '../block.js'; */",
    "import { x } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(relativeImports(src), ['./a.js', '../b/b.js', '../c/c.js', '../d/d.js', './e.js']);
});

test('every folder of src/ has a layer', () => {
  const folders = new Set(sourceFiles(SRC).map(layerOf));
  for (const f of folders) assert.ok((LAYERS as readonly string[]).includes(f), `src/${f}/ is in no layer: add it to LAYERS`);
});

test('no import from a lower layer into a higher one', () => {
  const rank = (l: string) => (LAYERS as readonly string[]).indexOf(l);
  const up = edges().filter((e) => e.from !== e.to && rank(e.to) > rank(e.from));
  assert.deepEqual(
    up.map((e) => `${e.file} (${e.from}) imports ${e.to}`),
    [],
    `layers, lowest first: ${LAYERS.join(' → ')}`,
  );
});

test('no import cycle between folders', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges()) if (e.from !== e.to) graph.set(e.from, (graph.get(e.from) ?? new Set()).add(e.to));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]): void => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(node)), node].join(' → '));
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  assert.deepEqual(cycles, []);
});

test('nothing outside src/cli imports src/cli (the library never needs the command line)', () => {
  const bad = edges().filter((e) => e.to === 'cli' && e.from !== 'cli');
  assert.deepEqual(
    bad.map((e) => `${e.file} imports cli`),
    [],
  );
});
