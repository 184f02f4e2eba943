/**
 * The generator's inference pass as one native call (Node only; the oneDNN addon's
 * native/dnnl_graph.cc). Through tfjs, inference pays a dispatch per op and runs batch
 * norm, activations and concatenations on one wasm thread between the native
 * convolutions; here one call runs a chain of oneDNN primitives prepared per
 * (batch, height, width).
 *
 * compileGraph() reads a tf.LayersModel's layer graph (its getConfig(), the serialized
 * form, so only the layers of this model count) and weights once, in JS: every
 * BatchNormalization is folded into the conv/dense before it (w·s, (b − μ)·s + β with
 * s = γ/√(σ² + ε)), every activation into the op before it when that op has no other
 * reader. The result is the addon's spec and one weights array (layout: native/dnnl_graph.cc).
 * Models with a layer it does not know (UpSampling2D, Dropout, a batch norm that follows
 * no conv of its own, …) are left to tfjs: {@link generatorGraphSupport} says why.
 *
 * The weights are read again when a model's variables change (a training step or
 * setWeights assigns new tensors to them), so validation during training stays exact.
 */
import type * as tf from '../util/tf.js';
import { loadAddon } from '../native/addons.js';

/** The graph side of colorgan_dnnl. */
interface GraphAddon {
  graphCreate(spec: Int32Array, weights: Float32Array): object;
  graphRun(graph: object, n: number, h: number, w: number, inputs: Float32Array[]): Float32Array;
  /** Release its native memory now (else when it is garbage-collected). */
  graphFree(graph: object): void;
}

// Keep in step with enum Op and ATTRS in native/dnnl_graph.cc, and Act in native/dnnl_common.h.
const VERSION = 1;
const enum Op {
  INPUT,
  CONV,
  DECONV,
  DENSE,
  ADD,
  CONCAT,
  GAP,
  RESHAPE,
  ACT,
}
const ACTS: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2, tanh: 3, sigmoid: 4 };
const LINEAR = 0;

/** A model this module does not translate (it runs through tfjs). */
class Unsupported extends Error {}

interface GNode {
  op: Op;
  in: number[];
  /** The op's leading attributes (dnnl_graph.cc); activation and weight offsets are added when serialized. */
  base: number[];
  C: number;
  /** Only CONV, DECONV, DENSE: the filter (tfjs' own layout; read when serialized), bias or null. */
  w?: Weight;
  b?: Float32Array | null;
  /** A folded batch norm's factor per output channel (the filter is scaled as it is serialized), and the filter's channel stride. */
  scale?: Float64Array;
  scaleStride?: number;
  act: number;
  alpha: number;
  /** No layer but the next one reads it, so a batch norm or activation may fold into it. */
  fusable: boolean;
}

/** What compileGraph gives the addon, and what the caller checks before a run. */
export interface CompiledGraph {
  spec: Int32Array;
  weights: Float32Array;
  /** Per input slot (the model's inputs in order): rank, channels, fixed height/width (null: any). */
  inputs: { rank: 2 | 4; C: number; h: number | null; w: number | null }[];
}

type LayerConfig = Record<string, unknown>;
interface SerializedLayer {
  name: string;
  className: string;
  config: LayerConfig;
  inboundNodes: [string, number, number, unknown][][];
}

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);
function floatBits(x: number): number {
  f32[0] = x;
  return bits[0]!;
}

/** The activation a layer config names, as the addon numbers it. */
function activationOf(name: unknown, where: string): number {
  const act = ACTS[String(name ?? 'linear').toLowerCase()];
  if (act === undefined) throw new Unsupported(`${where}: activation ${String(name)}`);
  return act;
}

/** [a, a] for a number, the pair itself for a pair. */
function pair(v: unknown): [number, number] {
  const p = Array.isArray(v) ? v : [v, v];
  return [Number(p[0]), Number(p[1])];
}

/** A weight of a layer, read when needed (a filter only as it is written out: no copy of every filter held at once). */
interface Weight {
  size: number;
  read(): Float32Array;
}

/** A layer's weights by their short name (kernel, bias, gamma, beta, moving_mean, moving_variance). */
function weightsOf(model: tf.LayersModel, name: string): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const v of model.getLayer(name).weights) {
    const t = v.read();
    out.set(v.originalName.split('/').pop()!, { size: t.size, read: () => t.dataSync() as Float32Array });
  }
  return out;
}

/** Translate a model's inference pass (throws Unsupported for what it does not know). */
export function compileGraph(model: tf.LayersModel): CompiledGraph {
  const cfg = model.getConfig() as unknown as {
    layers: SerializedLayer[];
    inputLayers: [string, number, number][];
    outputLayers: [string, number, number][];
  };
  if (cfg.outputLayers.length !== 1) throw new Unsupported(`${cfg.outputLayers.length} outputs`);
  const readers = new Map<string, number>();
  for (const l of cfg.layers) {
    if (l.inboundNodes.length > 1) throw new Unsupported(`layer ${l.name} is applied more than once`);
    for (const [src, nodeIndex, tensorIndex] of l.inboundNodes[0] ?? []) {
      if (nodeIndex !== 0 || tensorIndex !== 0) throw new Unsupported(`layer ${l.name} reads a shared layer`);
      readers.set(src, (readers.get(src) ?? 0) + 1);
    }
  }
  const outName = cfg.outputLayers[0]![0];
  readers.set(outName, (readers.get(outName) ?? 0) + 1); // the caller reads it

  const nodes: GNode[] = [];
  const nodeOf = new Map<string, number>(); // layer name → node holding its output
  const rankOf = new Map<string, number>();
  const inputs: CompiledGraph['inputs'] = [];
  const slotOf = new Map(cfg.inputLayers.map(([name], i) => [name, i]));
  const push = (n: Omit<GNode, 'fusable'>, layer: string): void => {
    nodes.push({ ...n, fusable: readers.get(layer) === 1 });
    nodeOf.set(layer, nodes.length - 1);
  };
  /** Map a layer to an existing node (a folded batch norm or activation). */
  const alias = (layer: string, node: number): void => {
    nodeOf.set(layer, node);
    nodes[node]!.fusable = readers.get(layer) === 1;
  };

  for (const l of cfg.layers) {
    const c = l.config;
    const where = `${l.className} ${l.name}`;
    const srcNames = (l.inboundNodes[0] ?? []).map(([s]) => s);
    const src = srcNames.map((s) => {
      const k = nodeOf.get(s);
      if (k === undefined) throw new Unsupported(`${where}: reads ${s} before it is computed`);
      return k;
    });
    const rank0 = rankOf.get(srcNames[0] ?? '') ?? 0;
    const C0 = src.length ? nodes[src[0]!]!.C : 0;
    if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') throw new Unsupported(`${where}: ${String(c.dataFormat)}`);
    let rank = rank0;
    switch (l.className) {
      case 'InputLayer': {
        const shape = c.batchInputShape as (number | null)[];
        const slot = slotOf.get(l.name);
        if (slot === undefined) throw new Unsupported(`${where}: not a model input`);
        if ((c.dtype ?? 'float32') !== 'float32') throw new Unsupported(`${where}: dtype ${String(c.dtype)}`);
        const C = shape[shape.length - 1];
        if ((shape.length !== 2 && shape.length !== 4) || !C) throw new Unsupported(`${where}: input shape ${JSON.stringify(shape)}`);
        rank = shape.length;
        inputs[slot] = { rank: rank as 2 | 4, C, h: rank === 4 ? shape[1]! : null, w: rank === 4 ? shape[2]! : null };
        push({ op: Op.INPUT, in: [], base: [slot, rank, C], C, act: LINEAR, alpha: 0 }, l.name);
        break;
      }
      case 'Conv2D':
      case 'Conv2DTranspose': {
        const transpose = l.className === 'Conv2DTranspose';
        const [kh, kw] = pair(c.kernelSize);
        const [sh, sw] = pair(c.strides);
        const padding = c.padding as string;
        if (rank0 !== 4) throw new Unsupported(`${where}: input of rank ${rank0}`);
        if (c.dilationRate !== undefined && pair(c.dilationRate).some((d) => d !== 1)) throw new Unsupported(`${where}: dilation`);
        if (padding !== 'same' && (transpose || padding !== 'valid')) throw new Unsupported(`${where}: padding ${padding}`);
        if (transpose && (kh < sh || kw < sw)) throw new Unsupported(`${where}: kernel smaller than its stride`);
        const ws = weightsOf(model, l.name);
        const Co = Number(c.filters);
        const w = ws.get('kernel')!; // [KH, KW, Ci, Co]; a transposed conv's [KH, KW, Co, Ci]
        const op = transpose ? Op.DECONV : Op.CONV;
        const base = [Co, kh, kw, sh, sw, padding === 'same' ? 1 : 0];
        push({ op, in: src, base, C: Co, w, b: ws.get('bias')?.read() ?? null, act: activationOf(c.activation, where), alpha: 0 }, l.name);
        break;
      }
      case 'Dense': {
        if (rank0 !== 2) throw new Unsupported(`${where}: input of rank ${rank0}`);
        const ws = weightsOf(model, l.name);
        const Co = Number(c.units);
        const w = ws.get('kernel')!;
        push({ op: Op.DENSE, in: src, base: [Co], C: Co, w, b: ws.get('bias')?.read() ?? null, act: activationOf(c.activation, where), alpha: 0 }, l.name);
        break;
      }
      case 'BatchNormalization': {
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== rank0 - 1) throw new Unsupported(`${where}: axis ${axis}`);
        const prev = nodes[src[0]!]!;
        if (![Op.CONV, Op.DECONV, Op.DENSE].includes(prev.op) || !prev.fusable || prev.act !== LINEAR)
          throw new Unsupported(`${where}: not right after a conv or dense layer of its own`);
        foldBatchNorm(prev, weightsOf(model, l.name), Number(c.epsilon), nodes[prev.in[0]!]!.C);
        alias(l.name, src[0]!);
        break;
      }
      case 'ReLU':
      case 'LeakyReLU':
      case 'Activation': {
        if (l.className === 'ReLU' && c.maxValue != null) throw new Unsupported(`${where}: maxValue`);
        const act = l.className === 'ReLU' ? ACTS.relu! : l.className === 'LeakyReLU' ? ACTS.leakyrelu! : activationOf(c.activation, where);
        const alpha = l.className === 'LeakyReLU' ? Number(c.alpha ?? 0.3) : 0;
        const prev = nodes[src[0]!]!;
        if ([Op.CONV, Op.DECONV, Op.DENSE, Op.ADD].includes(prev.op) && prev.fusable && prev.act === LINEAR) {
          prev.act = act;
          prev.alpha = alpha;
          alias(l.name, src[0]!);
        } else {
          push({ op: Op.ACT, in: src, base: [], C: C0, act, alpha }, l.name);
        }
        break;
      }
      case 'Add':
        if (src.length !== 2) throw new Unsupported(`${where}: ${src.length} inputs`);
        // (tfjs would expand a lower-rank input at axis 1; the addon broadcasts equal ranks only)
        if (rankOf.get(srcNames[1]!) !== rank0) throw new Unsupported(`${where}: inputs of different ranks`);
        push({ op: Op.ADD, in: src, base: [], C: C0, act: LINEAR, alpha: 0 }, l.name);
        break;
      case 'Concatenate': {
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== rank0 - 1) throw new Unsupported(`${where}: axis ${axis}`);
        if (srcNames.some((s) => rankOf.get(s) !== rank0)) throw new Unsupported(`${where}: inputs of different ranks`);
        const C = src.reduce((sum, k) => sum + nodes[k]!.C, 0);
        push({ op: Op.CONCAT, in: src, base: [], C, act: LINEAR, alpha: 0 }, l.name);
        break;
      }
      case 'GlobalAveragePooling2D':
        if (rank0 !== 4) throw new Unsupported(`${where}: input of rank ${rank0}`);
        rank = c.keepDims ? 4 : 2;
        push({ op: Op.GAP, in: src, base: [], C: C0, act: LINEAR, alpha: 0 }, l.name);
        break;
      case 'Reshape': {
        const t = (c.targetShape as number[]).map(Number);
        if ((t.length !== 1 && t.length !== 3) || t.some((d) => !(d >= 1))) throw new Unsupported(`${where}: target shape ${JSON.stringify(c.targetShape)}`);
        const [h, w, C] = t.length === 3 ? t : [1, 1, t[0]!];
        rank = t.length + 1;
        push({ op: Op.RESHAPE, in: src, base: [h!, w!, C!], C: C!, act: LINEAR, alpha: 0 }, l.name);
        break;
      }
      default:
        throw new Unsupported(`layer ${where}`);
    }
    rankOf.set(l.name, rank);
  }
  if (inputs.length !== cfg.inputLayers.length || inputs.some((x) => !x)) throw new Unsupported('an input is not an InputLayer');
  if (rankOf.get(outName) !== 4) throw new Unsupported('the output is not an image');

  // Serialize: the weights of each node one after another, then the spec.
  const total = nodes.reduce((s, n) => s + (n.w?.size ?? 0) + (n.b?.length ?? 0), 0);
  const weights = new Float32Array(total);
  const spec: number[] = [VERSION, nodes.length, nodeOf.get(outName)!];
  let off = 0;
  const place = (a: Float32Array | null | undefined, scale?: Float64Array, stride = 1): number => {
    if (!a) return -1;
    if (scale) for (let i = 0; i < a.length; i++) weights[off + i] = a[i]! * scale[Math.floor(i / stride) % scale.length]!;
    else weights.set(a, off);
    off += a.length;
    return off - a.length;
  };
  for (const n of nodes) {
    const act = [n.act, floatBits(n.alpha)];
    const withWeights = n.op === Op.CONV || n.op === Op.DECONV || n.op === Op.DENSE;
    const attrs = withWeights ? [...n.base, ...act, place(n.w?.read(), n.scale, n.scaleStride), place(n.b)] : n.op === Op.ADD || n.op === Op.ACT ? act : n.base;
    spec.push(n.op, n.in.length, ...n.in, ...attrs);
  }
  return { spec: Int32Array.from(spec), weights, inputs };
}

/**
 * Fold an inference batch norm into the conv, transposed conv or dense node before it.
 * The output channel is the filter's last axis, but a transposed conv's second to last.
 */
function foldBatchNorm(n: GNode, ws: Map<string, Weight>, eps: number, inChannels: number): void {
  const C = n.C;
  const mean = ws.get('moving_mean')!.read();
  const variance = ws.get('moving_variance')!.read();
  const gamma = ws.get('gamma')?.read();
  const beta = ws.get('beta')?.read();
  const scale = new Float64Array(C);
  for (let c = 0; c < C; c++) scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
  const before = n.scale; // a second batch norm in a row composes with the first
  n.scale = before ? scale.map((x, c) => x * before[c]!) : scale;
  n.scaleStride = n.op === Op.DECONV ? inChannels : 1;
  const b = new Float32Array(C);
  for (let c = 0; c < C; c++) b[c] = ((n.b ? n.b[c]! : 0) - mean[c]!) * scale[c]! + (beta ? beta[c]! : 0);
  n.b = b;
}

// ---------------------------------------------------------------------------------

interface Entry {
  /** The data ids of the model's weights when it was compiled: a new one means new weights. */
  ids: unknown[];
  graph: object | null;
  inputs: CompiledGraph['inputs'];
  why: string;
}
const graphs = new WeakMap<tf.LayersModel, Entry>();

function weightIds(model: tf.LayersModel): unknown[] {
  return model.weights.map((v) => v.read().dataId);
}

function entryFor(a: GraphAddon, model: tf.LayersModel): Entry {
  const ids = weightIds(model);
  let e = graphs.get(model);
  if (e && e.ids.length === ids.length && e.ids.every((id, i) => id === ids[i])) return e;
  // New weights: the old graph's memory goes now, not at some later GC (a training loop validates synchronously).
  if (e?.graph) a.graphFree(e.graph);
  try {
    const compiled = compileGraph(model);
    e = { ids, graph: a.graphCreate(compiled.spec, compiled.weights), inputs: compiled.inputs, why: '' }; // the graph keeps the weights
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    e = { ids, graph: null, inputs: [], why: err.message };
  }
  graphs.set(model, e);
  return e;
}

function graphAddon(): GraphAddon | null {
  return loadAddon<GraphAddon>('colorgan_dnnl');
}

/** '' if the model's inference runs as one native graph here, else why not (no addon, a layer it does not know). */
export function generatorGraphSupport(model: tf.LayersModel): string {
  const a = graphAddon();
  if (!a) return 'the oneDNN addon is not in use';
  return entryFor(a, model).why;
}

/**
 * The model's output for NHWC inputs (one Float32Array per model input, batch n, images
 * h×w), or null when it is not one the graph runs (then use tfjs): no addon, an unknown
 * layer, or inputs that do not fit its input layers (tfjs gives the error).
 */
export function runGeneratorGraph(model: tf.LayersModel, n: number, h: number, w: number, inputs: Float32Array[]): Float32Array | null {
  const a = graphAddon();
  if (!a) return null;
  const e = entryFor(a, model);
  if (!e.graph) return null;
  const fits =
    inputs.length === e.inputs.length &&
    e.inputs.every((x, i) => (x.h == null || x.h === h) && (x.w == null || x.w === w) && inputs[i]!.length === n * x.C * (x.rank === 4 ? h * w : 1));
  return fits ? a.graphRun(e.graph, n, h, w, inputs) : null;
}
