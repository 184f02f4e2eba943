/**
 * Conv kernel speed on the wasm backend, 1 vs 2 threads: medians of GFLOP/s for the
 * forward conv, Conv2DBackpropInput (stock tfjs kernel vs ours, with a fresh filter per
 * call as in a training step and with the cached rearranged filter as in inference) and
 * Conv2DBackpropFilter. Shapes are those of a 64×64 DCGAN at batch 16.
 *
 *   npx tsx bench/kernels.ts [--threads 1,2] [--reps 7]
 *
 * Each thread count runs in its own child process (threads are fixed at backend init).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

interface Shape {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  pad: 'same' | 'valid';
}

const SHAPES: Shape[] = [
  { name: 'D1 64²×3→64', x: [16, 64, 64, 3], f: [4, 4, 3, 64], s: 2, pad: 'same' },
  { name: 'D2 32²×64→128', x: [16, 32, 32, 64], f: [4, 4, 64, 128], s: 2, pad: 'same' },
  { name: 'D3 16²×128→256', x: [16, 16, 16, 128], f: [4, 4, 128, 256], s: 2, pad: 'same' },
  { name: 'D4 8²×256→512', x: [16, 8, 8, 256], f: [4, 4, 256, 512], s: 2, pad: 'same' },
  { name: 'Gout 32²×32→64²×2', x: [16, 64, 64, 2], f: [4, 4, 2, 32], s: 2, pad: 'same' },
  { name: 'Gout 64²×32→128²×2', x: [16, 128, 128, 2], f: [4, 4, 2, 32], s: 2, pad: 'same' },
  { name: '3×3 s1 64²×32→32', x: [16, 64, 64, 32], f: [3, 3, 32, 32], s: 1, pad: 'same' },
];

interface Row {
  name: string;
  threads: number;
  gflop: number;
  fwd: number;
  stock: number;
  oursFresh: number;
  oursCached: number;
  bpFilter: number;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Median time (ms) of n calls of f, after one warm-up call (operator creation, heap growth). */
function medianMs(f: () => void, n: number): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1]!;
}

type Tf = typeof import('../src/util/tf.js');
type Tensor = import('../src/util/tf.js').Tensor;
type Tensor4D = import('../src/util/tf.js').Tensor4D;

/** What the child measures with: tfjs on the initialized backend and the stock kernel to compare against. */
interface Kit {
  tf: Tf;
  backend: import('../src/util/tf.js').KernelBackend;
  stock: import('../src/util/tf.js').KernelConfig;
  setFilterCache: (on: boolean) => void;
  threads: number;
  reps: number;
}

/** GFLOP/s of the forward conv and of each backprop kernel for one shape. */
function measureShape(sh: Shape, { tf, backend, stock, setFilterCache, threads, reps }: Kit): Row {
  const x = tf.randomNormal(sh.x) as Tensor4D;
  const f = tf.randomNormal(sh.f) as Tensor4D;
  const y = tf.conv2d(x, f, sh.s, sh.pad);
  const dy = tf.randomNormal(y.shape) as Tensor4D;
  const flops = 2 * y.size * sh.f[0] * sh.f[1] * sh.f[2];
  const g = (ms: number) => flops / ms / 1e6;
  const run = (fn: () => Tensor) => () => {
    const t = fn();
    t.dataSync();
    t.dispose();
  };
  const fwd = medianMs(
    run(() => tf.conv2d(x, f, sh.s, sh.pad)),
    reps,
  );
  const stockMs = medianMs(
    () => {
      const out = stock.kernelFunc({
        inputs: { dy, filter: f },
        backend,
        attrs: { strides: sh.s, pad: sh.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: sh.x } as never,
      }) as import('../src/util/tf.js').TensorInfo;
      backend.disposeData(out.dataId);
    },
    Math.max(3, reps >> 1),
  );
  setFilterCache(false);
  const fresh = medianMs(
    run(() => tf.conv2dTranspose(dy, f, sh.x, sh.s, sh.pad)),
    reps,
  );
  setFilterCache(true);
  const cached = medianMs(
    run(() => tf.conv2dTranspose(dy, f, sh.x, sh.s, sh.pad)),
    reps,
  );
  const bpf = medianMs(
    run(
      () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          strides: sh.s,
          pad: sh.pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: sh.f,
        } as never) as Tensor,
    ),
    reps,
  );
  tf.dispose([x, f, y, dy]);
  return {
    name: sh.name,
    threads,
    gflop: flops / 1e9,
    fwd: g(fwd),
    stock: g(stockMs),
    oursFresh: g(fresh),
    oursCached: g(cached),
    bpFilter: g(bpf),
  };
}

/** The child process: one thread count, every shape; prints its rows as one JSON line. */
async function child(threads: number, reps: number): Promise<void> {
  const tf = await import('../src/util/tf.js');
  const { initBackend } = await import('../src/backend/node.js');
  const { stockWasmKernel } = await import('../src/backend/kernels/index.js');
  const { setBackpropInputFilterCache } = await import('../src/backend/kernels/conv2d-backprop-input.js');
  const info = await initBackend({ threads });
  const backend = tf.backend();
  const stock = stockWasmKernel('Conv2DBackpropInput');
  if (!stock) throw new Error('stock Conv2DBackpropInput not found');
  stock.setupFunc?.(backend); // never ran: ours replaced it before the backend started
  const kit: Kit = { tf, backend, stock, setFilterCache: setBackpropInputFilterCache, threads: info.threads, reps };
  const rows = SHAPES.map((sh) => measureShape(sh, kit));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

function main(): void {
  const threadList = arg('threads', `1,${Math.min(2, os.availableParallelism())}`)
    .split(',')
    .map(Number)
    .filter((t, i, a) => t >= 1 && a.indexOf(t) === i);
  const reps = Number(arg('reps', '7'));
  const self = fileURLToPath(import.meta.url);
  const all: Row[] = [];
  const load0 = os.loadavg()[0]!;
  for (const t of threadList) {
    process.stderr.write(`running with ${t} thread(s)...\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', String(t), '--reps', String(reps)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`child (threads=${t}) failed with status ${r.status}`);
    all.push(...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Row[]));
  }
  const head = ['shape (x, filter, stride)', 'thr', 'GFLOP', 'fwd conv', 'bpInput stock', 'bpInput ours', 'ours cached', 'speedup', 'bpFilter'];
  const lines = all.map((r) => {
    const sh = SHAPES.find((s) => s.name === r.name)!;
    return [
      `${r.name}  [${sh.x.join(',')}]*[${sh.f.join(',')}] s${sh.s}`,
      String(r.threads),
      r.gflop.toFixed(2),
      r.fwd.toFixed(1),
      r.stock.toFixed(1),
      r.oursFresh.toFixed(1),
      r.oursCached.toFixed(1),
      `×${(r.oursFresh / r.stock).toFixed(1)}`,
      r.bpFilter.toFixed(1),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const load1 = os.loadavg()[0]!;
  console.log(
    `${os.availableParallelism()} cores; 1-min load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after (anything else running skews these numbers).`,
  );
  console.log('GFLOP/s (medians). "bpInput ours" = fresh filter each call (training); "ours cached" = same filter (inference).');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
}

const ci = process.argv.indexOf('--child');
if (ci >= 0) {
  await child(Number(process.argv[ci + 1]), Number(arg('reps', '7')));
} else {
  main();
}
