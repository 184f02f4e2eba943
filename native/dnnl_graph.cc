// The generator's inference pass as one native call: a chain of oneDNN primitives.
//
// Through tfjs, inference pays a dispatch per op and runs batch norm, activations and
// concatenations on one wasm thread between the native convolutions. Here the JS side
// (src/backend/native-graph.ts) reads the tf.LayersModel once, folds every batch norm
// into the conv before it and every activation into the op before it, and hands over a
// small graph: `spec` (Int32Array, below) and `weights` (one Float32Array). A plan — the
// primitives, the weights reordered to the layouts they chose, the activation buffers —
// is built once per (batch, height, width) and reused; a graph keeps the last few.
//
//   graphCreate(spec, weights) -> graph        checks the whole spec and the weight extents;
//                                              keeps `weights` (not a copy): do not change it
//   graphRun(graph, n, h, w, inputs) -> Float32Array   inputs: one Float32Array per input
//                                                       slot; rank-4 inputs are n×h×w×C
//   graphFree(graph)                           release it now (else when it is collected)
//
// spec: [VERSION, nNodes, outputNode] then per node: op, nIn, nIn node indices (earlier
// nodes only), then ATTRS[op] attributes. Tensors are NHWC [n, h, w, C]; a vector [n, C]
// is [n, 1, 1, C] (same bytes). Weights are float offsets into `weights`:
//   INPUT   slot, rank (2 vector | 4 image), C
//   CONV    Co, KH, KW, SH, SW, same (1: tfjs 'same' | 0: 'valid'), act, alpha bits,
//           filter [KH,KW,Ci,Co], bias [Co] or -1
//   DECONV  (tfjs conv2dTranspose, 'same', kernel ≥ stride) as CONV, but the filter is
//           tfjs' own [KH,KW,Co,Ci] (Ci its input channels)
//   DENSE   Co, act, alpha bits, kernel [Ci,Co] (tfjs' own), bias [Co] or -1; a vector input
//   ADD     act, alpha bits; the second input may be [n,1,1,C], added at every position
//   CONCAT  (on channels; ≥ 2 inputs)
//   GAP     (mean over h, w → [n,1,1,C])
//   RESHAPE H, W, C (the same elements per image)
//   ACT     act, alpha bits
// Activations are colorgan::Act (dnnl_common.h).
#include "dnnl_common.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace colorgan {
namespace {

constexpr int32_t VERSION = 1;
enum Op { INPUT, CONV, DECONV, DENSE, ADD, CONCAT, GAP, RESHAPE, ACT, N_OPS };
const char* const OP_NAMES[N_OPS] = {"input", "conv", "deconv", "dense", "add", "concat", "gap", "reshape", "act"};
// Attributes per op, and how many inputs (-1: two or more).
const int ATTRS[N_OPS] = {3, 10, 10, 5, 2, 0, 0, 3, 2};
const int INPUTS[N_OPS] = {0, 1, 1, 1, 2, -1, 1, 1, 1};
constexpr int MAX_SLOTS = 8;
constexpr size_t RUNS_KEPT = 4;  // one per recent (n, h, w): enough for a batch size and a few photo aspects
constexpr int64_t MAX_SIDE = 1 << 15;

struct Node {
  int op = INPUT;
  std::vector<int> in;
  std::vector<int32_t> a;  // ATTRS[op] attributes
  int C = 0;               // channels (static: they never depend on h, w)
  // attribute accessors by meaning
  int slot() const { return a[0]; }
  int rank() const { return a[1]; }
  int act() const { return op == CONV || op == DECONV ? a[6] : op == DENSE ? a[1] : a[0]; }
  float alpha() const { return floatFromBits(op == CONV || op == DECONV ? a[7] : op == DENSE ? a[2] : a[1]); }
  int32_t wOff() const { return op == DENSE ? a[3] : a[8]; }
  int32_t bOff() const { return op == DENSE ? a[4] : a[9]; }
};

// 64-byte aligned float storage.
struct Buffer {
  float* p = nullptr;
  size_t n = 0;
  explicit Buffer(size_t count) : n(count) {
    p = static_cast<float*>(std::aligned_alloc(64, ((count * 4 + 63) / 64) * 64 + 64));
    if (!p) throw std::bad_alloc();
  }
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

struct Step {
  primitive prim;
  std::unordered_map<int, memory> args;
};

struct Dims {
  int64_t h = 1, w = 1;
};

struct Plan {
  int64_t n, h, w;
  std::vector<Step> steps;
  std::vector<std::unique_ptr<Buffer>> buffers;  // activations, pooled by lifetime
  std::vector<float*> data;                      // per node: where its output lives
  std::vector<Dims> dims;                        // per node
  std::unique_ptr<Buffer> scratch;
};

// How one (n, h, w) runs. A batch that divides well over the threads is split into parts
// (two per thread when each keeps PART_MIN images), each a single-threaded plan that the
// next free thread runs on its images, with no barrier between steps.
// Otherwise one plan runs, on one thread if the work is small, else on all threads.
// Why: on a shared machine every OpenMP barrier waits for whichever thread was
// descheduled, up to a scheduler tick; one 88×64 image took 200 ms on 2 threads and 16 ms
// on 1 with two other jobs running (2 cores), and 24 steps mean 24 barriers.
constexpr int64_t SMALL_PIXELS = 32768;  // n·h·w below which one thread runs a plan
constexpr int64_t PART_MIN = 4;          // images of a part, at least, when a thread gets two
struct Run {
  int64_t n, h, w;
  int threads;  // OpenMP threads of each part's primitives
  int workers;  // threads taking the parts
  std::vector<std::unique_ptr<Plan>> parts;
  std::vector<int64_t> first;  // first image of each part
};

struct Graph {
  std::vector<Node> nodes;
  // graphCreate's Float32Array, referenced rather than copied (nothing writes to it).
  float* weights = nullptr;
  size_t nWeights = 0;
  napi_ref weightsRef = nullptr;
  int output = 0;
  int slots = 0;
  std::vector<int> slotNode;  // input node per slot
  // Weights in a primitive's layout, by node and layout: plans of other shapes often pick the same.
  std::vector<std::vector<std::pair<memory::desc, std::shared_ptr<Buffer>>>> packed;
  std::list<std::unique_ptr<Run>> runs;  // most recently used first
  int64_t reported = 0;                   // bytes told to V8 (napi_adjust_external_memory)

  // What the graph holds natively (the weights are V8's own), so that V8 collects a
  // dropped graph as soon as its memory matters.
  int64_t bytes() const {
    size_t b = 0;
    for (auto& perNode : packed)
      for (auto& [desc, buf] : perNode) b += buf->n * 4;
    for (auto& run : runs)
      for (auto& plan : run->parts) {
        for (auto& buf : plan->buffers) b += buf->n * 4;
        b += plan->scratch ? plan->scratch->n * 4 : 0;
      }
    return int64_t(b);
  }
};

void report(napi_env env, Graph& g) {
  const int64_t now = g.bytes();
  int64_t total;
  if (now != g.reported && napi_adjust_external_memory(env, now - g.reported, &total) == napi_ok) g.reported = now;
}

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

std::string where(const Graph& g, int i) { return "node " + std::to_string(i) + " (" + OP_NAMES[g.nodes[i].op] + ")"; }

// ---------------------------------------------------------------------------------
// graphCreate: parse and check everything that does not depend on (n, h, w).

Graph* parse(const int32_t* s, size_t len, const float* w, size_t wLen) {
  auto g = std::make_unique<Graph>();
  if (len < 3 || s[0] != VERSION) fail("spec: expected version " + std::to_string(VERSION));
  const int64_t count = s[1];
  if (count < 1 || count > 100000) fail("spec: bad node count");
  size_t at = 3;
  auto next = [&]() -> int32_t {
    if (at >= len) fail("spec: truncated");
    return s[at++];
  };
  g->weights = const_cast<float*>(w);
  g->nWeights = wLen;
  int seenSlots = 0;
  for (int64_t i = 0; i < count; i++) {
    Node nd;
    nd.op = next();
    if (nd.op < 0 || nd.op >= N_OPS) fail("spec: node " + std::to_string(i) + ": unknown op " + std::to_string(nd.op));
    const int nIn = next();
    if (INPUTS[nd.op] >= 0 ? nIn != INPUTS[nd.op] : nIn < 2) fail("spec: " + std::string(OP_NAMES[nd.op]) + " node " + std::to_string(i) + ": wrong input count");
    for (int k = 0; k < nIn; k++) {
      const int src = next();
      if (src < 0 || src >= i) fail("spec: node " + std::to_string(i) + ": input " + std::to_string(src) + " is not an earlier node");
      nd.in.push_back(src);
    }
    for (int k = 0; k < ATTRS[nd.op]; k++) nd.a.push_back(next());
    g->nodes.push_back(std::move(nd));
    Node& n = g->nodes.back();
    const std::string here = "spec: " + where(*g, int(i));
    auto inC = [&](int k) { return g->nodes[n.in[k]].C; };
    // A filter/bias at `off` of `count` floats must lie inside the weights.
    auto fits = [&](int32_t off, int64_t cnt, const char* what) {
      if (off < 0 || uint64_t(off) + uint64_t(cnt) > wLen) fail(here + ": " + what + " outside the weights");
    };
    if (n.op == CONV || n.op == DECONV || n.op == DENSE || n.op == ADD || n.op == ACT)
      if (n.act() < 0 || n.act() >= N_ACTS) fail(here + ": unknown activation");
    switch (n.op) {
      case INPUT:
        if (n.slot() < 0 || n.slot() >= MAX_SLOTS || (seenSlots & (1 << n.slot()))) fail(here + ": bad or repeated slot");
        if (n.rank() != 2 && n.rank() != 4) fail(here + ": rank must be 2 or 4");
        if (n.a[2] < 1) fail(here + ": bad channel count");
        seenSlots |= 1 << n.slot();
        n.C = n.a[2];
        break;
      case CONV:
      case DECONV: {
        const int32_t co = n.a[0], kh = n.a[1], kw = n.a[2], sh = n.a[3], sw = n.a[4];
        if (co < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || kh > 64 || kw > 64 || sh > 64 || sw > 64) fail(here + ": bad shape");
        if (n.a[5] != 0 && n.a[5] != 1) fail(here + ": padding must be 1 (same) or 0 (valid)");
        // tfjs' 'same' transposed conv with a kernel smaller than its stride leaves gaps this does not model
        if (n.op == DECONV && (n.a[5] != 1 || kh < sh || kw < sw)) fail(here + ": only 'same' with kernel ≥ stride");
        fits(n.wOff(), int64_t(kh) * kw * inC(0) * co, "filter");
        if (n.bOff() != -1) fits(n.bOff(), co, "bias");
        n.C = co;
        break;
      }
      case DENSE:
        if (n.a[0] < 1) fail(here + ": bad unit count");
        fits(n.wOff(), int64_t(inC(0)) * n.a[0], "kernel");
        if (n.bOff() != -1) fits(n.bOff(), n.a[0], "bias");
        n.C = n.a[0];
        break;
      case ADD:
        if (inC(0) != inC(1)) fail(here + ": inputs differ in channels");
        n.C = inC(0);
        break;
      case CONCAT:
        for (size_t k = 0; k < n.in.size(); k++) n.C += inC(int(k));
        break;
      case GAP:
      case ACT:
        n.C = inC(0);
        break;
      case RESHAPE:
        if (n.a[0] < 1 || n.a[1] < 1 || n.a[2] < 1) fail(here + ": bad target shape");
        n.C = n.a[2];
        break;
    }
  }
  if (at != len) fail("spec: trailing values after the last node");
  g->output = s[2];
  if (g->output < 0 || g->output >= count) fail("spec: bad output node");
  while (seenSlots & (1 << g->slots)) g->slots++;
  if (g->slots == 0 || seenSlots != (1 << g->slots) - 1) fail("spec: input slots must be 0, 1, … without gaps");
  g->slotNode.assign(g->slots, -1);
  for (size_t i = 0; i < g->nodes.size(); i++)
    if (g->nodes[i].op == INPUT) g->slotNode[g->nodes[i].slot()] = int(i);
  g->packed.resize(g->nodes.size());
  return g.release();
}

// ---------------------------------------------------------------------------------
// Plans: shapes, buffers and primitives for one (n, h, w).

memory::desc nhwc(int64_t n, int64_t c, int64_t h, int64_t w) { return {{n, c, h, w}, dt::f32, tag::nhwc}; }

// tfjs' padding (backend_util.computeConv2DInfo): the output size and the top/left pad of
// one spatial axis; oneDNN's bottom/right pad then follows from its size equation.
struct Axis {
  int64_t out, padL, padR;
};
Axis convAxis(int64_t in, int64_t k, int64_t s, bool same) {
  if (same) {
    const int64_t out = (in + s - 1) / s;
    const int64_t along = std::max<int64_t>(0, (out - 1) * s + k - in);
    return {out, along / 2, (out - 1) * s + k - in - along / 2};
  }
  const int64_t out = (in - k + s) / s;  // ceil((in - k + 1) / s)
  return {out, 0, (out - 1) * s + k - in};  // ≤ 0: trailing input the conv never reads
}
// A transposed conv is the backward pass of the conv from its output back to its input.
Axis deconvAxis(int64_t in, int64_t k, int64_t s) {
  const int64_t out = in * s;
  const Axis fwd = convAxis(out, k, s, true);
  return {out, fwd.padL, fwd.padR};
}

primitive_attr attrWith(int act, float alpha) {
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  if (act != LINEAR) {
    post_ops po;
    appendActivation(po, act, alpha);
    attr.set_post_ops(po);
  }
  return attr;
}

// The node's weights in the layout `want` (reordered once per layout, kept by the graph).
memory packedWeights(Graph& g, int i, const memory::desc& user, const memory::desc& want) {
  float* src = g.weights + g.nodes[i].wOff();
  if (want == user) return memory(user, eng(), src);
  for (auto& [desc, buf] : g.packed[i])
    if (desc == want) return memory(want, eng(), buf->p);
  auto buf = std::make_shared<Buffer>(want.get_size() / 4);
  memory userM(user, eng(), src), wantM(want, eng(), buf->p);
  reorder(userM, wantM).execute(strm(), userM, wantM);
  strm().wait();
  g.packed[i].push_back({want, buf});
  return wantM;
}

Plan* buildPlan(Graph& g, int64_t n, int64_t h, int64_t w) {
  auto plan = std::make_unique<Plan>();
  Plan& p = *plan;
  p.n = n;
  p.h = h;
  p.w = w;
  const size_t count = g.nodes.size();
  p.dims.resize(count);
  p.data.assign(count, nullptr);

  // Shapes first: a shape error names its node before anything is allocated.
  for (size_t i = 0; i < count; i++) {
    const Node& nd = g.nodes[i];
    Dims& d = p.dims[i];
    const auto& in0 = nd.in.empty() ? d : p.dims[nd.in[0]];
    const std::string here = where(g, int(i));
    switch (nd.op) {
      case INPUT:
        if (nd.rank() == 4) d = {h, w};
        break;
      case CONV: {
        d = {convAxis(in0.h, nd.a[1], nd.a[3], nd.a[5] == 1).out, convAxis(in0.w, nd.a[2], nd.a[4], nd.a[5] == 1).out};
        if (d.h < 1 || d.w < 1) fail(here + ": input " + std::to_string(in0.h) + "×" + std::to_string(in0.w) + " is smaller than the kernel");
        break;
      }
      case DECONV:
        d = {in0.h * nd.a[3], in0.w * nd.a[4]};
        break;
      case DENSE:
        if (in0.h != 1 || in0.w != 1) fail(here + ": its input is not a vector");
        break;
      case ADD: {
        const Dims& b = p.dims[nd.in[1]];
        const bool bcast = (b.h == 1 && b.w == 1) || (in0.h == 1 && in0.w == 1);
        if (!(b.h == in0.h && b.w == in0.w) && !bcast) fail(here + ": inputs of " + std::to_string(in0.h) + "×" + std::to_string(in0.w) + " and " + std::to_string(b.h) + "×" + std::to_string(b.w) + " do not broadcast");
        d = {std::max(in0.h, b.h), std::max(in0.w, b.w)};
        break;
      }
      case CONCAT:
        d = in0;
        for (int k : nd.in)
          if (p.dims[k].h != d.h || p.dims[k].w != d.w)
            fail(here + ": inputs differ in size (" + std::to_string(d.h) + "×" + std::to_string(d.w) + " and " + std::to_string(p.dims[k].h) + "×" + std::to_string(p.dims[k].w) + ")");
        break;
      case GAP:
        break;
      case RESHAPE:
        if (int64_t(nd.a[0]) * nd.a[1] * nd.a[2] != in0.h * in0.w * g.nodes[nd.in[0]].C) fail(here + ": element count changes");
        d = {nd.a[0], nd.a[1]};
        break;
      case ACT:
        d = in0;
        break;
    }
    if (d.h > MAX_SIDE || d.w > MAX_SIDE) fail(here + ": output too large");
  }

  // Buffers: a reshape shares its input's; a buffer returns to the pool after its last
  // reader has run (never while the op writing the next one still reads it).
  std::vector<int> root(count), lastUse(count, -1);
  for (size_t i = 0; i < count; i++) root[i] = g.nodes[i].op == RESHAPE ? root[g.nodes[i].in[0]] : int(i);
  for (size_t i = 0; i < count; i++)
    for (int k : g.nodes[i].in) lastUse[root[k]] = std::max(lastUse[root[k]], int(i));
  lastUse[root[g.output]] = int(count);  // read after the run
  for (int s = 0; s < g.slots; s++) lastUse[root[g.slotNode[s]]] = std::max(lastUse[root[g.slotNode[s]]], 0);
  std::vector<Buffer*> freeList;
  auto take = [&](size_t floats) -> float* {
    auto best = freeList.end();
    for (auto it = freeList.begin(); it != freeList.end(); ++it)
      if ((*it)->n >= floats && (best == freeList.end() || (*it)->n < (*best)->n)) best = it;
    if (best != freeList.end()) {
      float* ptr = (*best)->p;
      freeList.erase(best);
      return ptr;
    }
    p.buffers.push_back(std::make_unique<Buffer>(floats));
    return p.buffers.back()->p;
  };
  auto release = [&](float* ptr) {
    for (auto& b : p.buffers)
      if (b->p == ptr) freeList.push_back(b.get());
  };
  auto elements = [&](size_t i) { return size_t(n) * p.dims[i].h * p.dims[i].w * g.nodes[i].C; };
  // Inputs are copied in before the first step, so their buffers are taken first.
  for (int s = 0; s < g.slots; s++) p.data[g.slotNode[s]] = take(elements(g.slotNode[s]));
  for (size_t i = 0; i < count; i++) {
    if (g.nodes[i].op == RESHAPE) p.data[i] = p.data[root[i]];
    else if (g.nodes[i].op != INPUT) p.data[i] = take(elements(i));
    for (size_t j = 0; j <= i; j++)
      if (root[j] == int(j) && lastUse[j] == int(i) && g.nodes[j].op != RESHAPE) release(p.data[j]);
  }

  // Primitives.
  size_t scratchBytes = 0;
  auto mem = [&](int i) { return memory(nhwc(n, g.nodes[i].C, p.dims[i].h, p.dims[i].w), eng(), p.data[i]); };
  auto add = [&](const primitive_desc_base& pd, primitive prim, std::unordered_map<int, memory> args) {
    scratchBytes = std::max(scratchBytes, pd.scratchpad_desc().get_size());
    p.steps.push_back({std::move(prim), std::move(args)});
  };
  auto scratchOnly = [] {
    primitive_attr attr;
    attr.set_scratchpad_mode(scratchpad_mode::user);
    return attr;
  };
  // dst = act(src) elementwise (dst may be src).
  auto addEltwise = [&](const memory& src, const memory& dst, int act, float alpha) {
    if (act == LINEAR) {
      reorder::primitive_desc pd(eng(), src.get_desc(), eng(), dst.get_desc(), scratchOnly());
      add(pd, reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
      return;
    }
    const algorithm alg = act == TANH ? algorithm::eltwise_tanh : act == SIGMOID ? algorithm::eltwise_logistic : algorithm::eltwise_relu;
    eltwise_forward::desc ed(prop_kind::forward_inference, alg, src.get_desc(), act == LEAKY ? alpha : 0.f);
    eltwise_forward::primitive_desc pd(ed, scratchOnly(), eng());
    add(pd, eltwise_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  };
  // dst = act(a + b), b of the same size or [n or 1, 1, 1, C] (broadcast).
  auto addBinary = [&](const memory& a, const memory& b, const memory& dst, int act, float alpha) {
    binary::desc bd(algorithm::binary_add, a.get_desc(), b.get_desc(), dst.get_desc());
    binary::primitive_desc pd(bd, attrWith(act, alpha), eng());
    add(pd, binary(pd), {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}});
  };
  for (size_t ii = 0; ii < count; ii++) {
    const int i = int(ii);
    const Node& nd = g.nodes[i];
    const bool hasBias = nd.op <= DENSE && nd.bOff() != -1;
    const memory::desc bMd = hasBias ? memory::desc({nd.C}, dt::f32, tag::x) : memory::desc();
    const memory biasM = hasBias ? memory(bMd, eng(), g.weights + nd.bOff()) : memory();
    try {
      switch (nd.op) {
        case INPUT:
        case RESHAPE:
          break;
        case CONV: {
          const int s0 = nd.in[0];
          const Dims& di = p.dims[s0];
          const memory::dims wts = {nd.C, g.nodes[s0].C, nd.a[1], nd.a[2]};
          const Axis ah = convAxis(di.h, nd.a[1], nd.a[3], nd.a[5] == 1), aw = convAxis(di.w, nd.a[2], nd.a[4], nd.a[5] == 1);
          convolution_forward::desc cd(prop_kind::forward_inference, algorithm::convolution_direct, mem(s0).get_desc(),
                                       {wts, dt::f32, tag::any}, bMd, mem(i).get_desc(), {nd.a[3], nd.a[4]}, {0, 0},
                                       {ah.padL, aw.padL}, {ah.padR, aw.padR});
          convolution_forward::primitive_desc pd(cd, attrWith(nd.act(), nd.alpha()), eng());
          std::unordered_map<int, memory> args = {
              {DNNL_ARG_SRC, mem(s0)}, {DNNL_ARG_DST, mem(i)}, {DNNL_ARG_WEIGHTS, packedWeights(g, i, {wts, dt::f32, tag::hwio}, pd.weights_desc())}};
          if (hasBias) args[DNNL_ARG_BIAS] = biasM;
          add(pd, convolution_forward(pd), std::move(args));
          break;
        }
        case DECONV: {
          // As tfjs computes it: the backward-data pass of the conv from this op's output back
          // to its input. (oneDNN 2.6's deconvolution primitive is that too, but applies bias
          // and post-ops in a generic scalar loop, 3–5× slower here.) Then bias and activation
          // as one broadcasting add, in place.
          const int s0 = nd.in[0];
          const Dims& di = p.dims[s0];
          // The conv's weights: [KH, KW, Ci_conv, Co_conv] = tfjs' own [KH, KW, Co, Ci] (hwio).
          const memory::dims wts = {g.nodes[s0].C, nd.C, nd.a[1], nd.a[2]};
          const Axis ah = deconvAxis(di.h, nd.a[1], nd.a[3]), aw = deconvAxis(di.w, nd.a[2], nd.a[4]);
          const memory::dims strides = {nd.a[3], nd.a[4]}, padL = {ah.padL, aw.padL}, padR = {ah.padR, aw.padR};
          const memory::desc out = mem(i).get_desc(), in = mem(s0).get_desc(), wAny(wts, dt::f32, tag::any);
          convolution_forward::primitive_desc hint(
              {prop_kind::forward_training, algorithm::convolution_direct, out, wAny, in, strides, padL, padR}, eng());
          convolution_backward_data::primitive_desc pd({algorithm::convolution_direct, out, wAny, in, strides, padL, padR},
                                                       scratchOnly(), eng(), hint);
          add(pd, convolution_backward_data(pd),
              {{DNNL_ARG_DIFF_DST, mem(s0)}, {DNNL_ARG_WEIGHTS, packedWeights(g, i, {wts, dt::f32, tag::hwio}, pd.weights_desc())},
               {DNNL_ARG_DIFF_SRC, mem(i)}});
          if (hasBias) addBinary(mem(i), memory({{1, nd.C, 1, 1}, dt::f32, tag::nhwc}, eng(), g.weights + nd.bOff()), mem(i), nd.act(), nd.alpha());
          else if (nd.act() != LINEAR) addEltwise(mem(i), mem(i), nd.act(), nd.alpha());
          break;
        }
        case DENSE: {
          const int s0 = nd.in[0];
          const int64_t ci = g.nodes[s0].C;
          const memory::desc src({n, ci}, dt::f32, tag::nc), dst({n, nd.C}, dt::f32, tag::nc);
          inner_product_forward::desc id(prop_kind::forward_inference, src, {{nd.C, ci}, dt::f32, tag::any}, bMd, dst);
          inner_product_forward::primitive_desc pd(id, attrWith(nd.act(), nd.alpha()), eng());
          std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(src, eng(), p.data[s0])},
                                                  {DNNL_ARG_DST, memory(dst, eng(), p.data[i])},
                                                  {DNNL_ARG_WEIGHTS, packedWeights(g, i, {{nd.C, ci}, dt::f32, tag::io}, pd.weights_desc())}};
          if (hasBias) args[DNNL_ARG_BIAS] = biasM;
          add(pd, inner_product_forward(pd), std::move(args));
          break;
        }
        case ADD: {
          // oneDNN broadcasts only its second source: the full-size one goes first.
          int a = nd.in[0], b = nd.in[1];
          if (p.dims[a].h * p.dims[a].w < p.dims[b].h * p.dims[b].w) std::swap(a, b);
          addBinary(mem(a), mem(b), mem(i), nd.act(), nd.alpha());
          break;
        }
        case CONCAT: {
          std::vector<memory::desc> srcs;
          std::unordered_map<int, memory> args = {{DNNL_ARG_DST, mem(i)}};
          for (size_t k = 0; k < nd.in.size(); k++) {
            srcs.push_back(mem(nd.in[k]).get_desc());
            args[DNNL_ARG_MULTIPLE_SRC + int(k)] = mem(nd.in[k]);
          }
          concat::primitive_desc pd(mem(i).get_desc(), 1, srcs, eng(), scratchOnly());
          add(pd, concat(pd), std::move(args));
          break;
        }
        case GAP: {
          const Dims& di = p.dims[nd.in[0]];
          pooling_forward::desc pdsc(prop_kind::forward_inference, algorithm::pooling_avg_exclude_padding, mem(nd.in[0]).get_desc(),
                                     mem(i).get_desc(), {1, 1}, {di.h, di.w}, {0, 0}, {0, 0});
          pooling_forward::primitive_desc pd(pdsc, scratchOnly(), eng());
          add(pd, pooling_forward(pd), {{DNNL_ARG_SRC, mem(nd.in[0])}, {DNNL_ARG_DST, mem(i)}});
          break;
        }
        case ACT:
          addEltwise(mem(nd.in[0]), mem(i), nd.act(), nd.alpha());
          break;
      }
    } catch (const std::exception& e) {
      fail(where(g, i) + ": " + e.what());
    }
  }
  // The steps run one after another, so they share one scratchpad.
  p.scratch = std::make_unique<Buffer>(scratchBytes / 4 + 16);
  const memory::desc scratchMd({int64_t(scratchBytes)}, dt::u8, tag::x);
  for (auto& st : p.steps) st.args[DNNL_ARG_SCRATCHPAD] = memory(scratchMd, eng(), p.scratch->p);
  return plan.release();
}

// OpenMP's thread count for this thread, set for a scope (the primitives made inside it
// partition their work for that many threads).
struct ThreadsFor {
  int old;
  explicit ThreadsFor(int n) : old(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadsFor() { omp_set_num_threads(old); }
};

Run* buildRun(Graph& g, int64_t n, int64_t h, int64_t w) {
  auto run = std::make_unique<Run>();
  run->n = n;
  run->h = h;
  run->w = w;
  const int64_t threads = omp_get_max_threads();
  // Two parts per thread where the batch allows, taken in turn by whichever thread is
  // free: a thread held up (another process on its core) leaves its second part to the
  // other. Split when no part is more than 25% above an even share.
  const int64_t pieces = n >= 2 * threads * PART_MIN ? 2 * threads : threads;
  const int64_t per = (n + pieces - 1) / pieces;
  const bool split = threads > 1 && n >= threads && per * pieces * 4 <= n * 5;
  run->threads = split || n * h * w < SMALL_PIXELS ? 1 : int(threads);
  run->workers = split ? int(threads) : 1;
  ThreadsFor scope(run->threads);  // the primitives partition their work for this many
  for (int64_t first = 0; first < n; first += split ? per : n) {
    run->first.push_back(first);
    run->parts.emplace_back(buildPlan(g, std::min(split ? per : n, n - first), h, w));
  }
  return run.release();
}

Run& runFor(Graph& g, int64_t n, int64_t h, int64_t w) {
  for (auto it = g.runs.begin(); it != g.runs.end(); ++it)
    if ((*it)->n == n && (*it)->h == h && (*it)->w == w) {
      g.runs.splice(g.runs.begin(), g.runs, it);
      return *g.runs.front();
    }
  g.runs.emplace_front(buildRun(g, n, h, w));
  while (g.runs.size() > RUNS_KEPT) g.runs.pop_back();
  return *g.runs.front();
}

// Images [first, first + p.n) of the batch: inputs in, every step, the output out.
void execute(Graph& g, Plan& p, int64_t first, const std::vector<const float*>& in, float* out) {
  for (int s = 0; s < g.slots; s++) {
    const Node& nd = g.nodes[g.slotNode[s]];
    const size_t perImage = (nd.rank() == 4 ? size_t(p.h) * p.w : 1) * nd.C;
    std::memcpy(p.data[g.slotNode[s]], in[s] + first * perImage, p.n * perImage * 4);
  }
  stream& st = strm();
  for (auto& step : p.steps) step.prim.execute(st, step.args);
  st.wait();
  const size_t perImage = size_t(p.dims[g.output].h) * p.dims[g.output].w * g.nodes[g.output].C;
  std::memcpy(out + first * perImage, p.data[g.output], p.n * perImage * 4);
}

// ---------------------------------------------------------------------------------
// N-API

// Marks our graph objects, so graphRun rejects any other object.
const napi_type_tag GRAPH_TAG = {0x636f6c6f7267616eULL, 0x67726170685f7631ULL};

void deleteGraph(napi_env env, Graph* g) {
  int64_t total;
  napi_adjust_external_memory(env, -g->reported, &total);
  if (g->weightsRef) napi_delete_reference(env, g->weightsRef);
  delete g;
}

void finalizeGraph(napi_env env, void* data, void*) { deleteGraph(env, static_cast<Graph*>(data)); }

// The graph behind a graphCreate object (null and a JS error if it is none or was freed).
Graph* graphOf(napi_env env, napi_value v, const char* fn) {
  bool tagged = false;
  void* raw = nullptr;
  if (napi_check_object_type_tag(env, v, &GRAPH_TAG, &tagged) != napi_ok || !tagged || napi_unwrap(env, v, &raw) != napi_ok || !raw) {
    throwError(env, std::string(fn) + ": the first argument is not a graph from graphCreate (or it was freed)");
    return nullptr;
  }
  return static_cast<Graph*>(raw);
}

}  // namespace

// graphCreate(spec: Int32Array, weights: Float32Array) -> graph (an opaque object)
napi_value GraphCreate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  int32_t* spec;
  float* weights;
  size_t specLen, wLen;
  if (argc < 2 || !typedArrayOf(env, a[0], napi_int32_array, &spec, &specLen) || !typedArrayOf(env, a[1], napi_float32_array, &weights, &wLen))
    return throwError(env, "graphCreate(spec, weights): expected an Int32Array and a Float32Array");
  Graph* g;
  try {
    g = parse(spec, specLen, weights, wLen);
  } catch (const std::exception& e) {
    return throwError(env, std::string("graphCreate: ") + e.what());
  }
  napi_value obj;
  if (napi_create_reference(env, a[1], 1, &g->weightsRef) != napi_ok || napi_create_object(env, &obj) != napi_ok ||
      napi_type_tag_object(env, obj, &GRAPH_TAG) != napi_ok || napi_wrap(env, obj, g, finalizeGraph, nullptr, nullptr) != napi_ok) {
    deleteGraph(env, g);
    return throwError(env, "graphCreate: could not wrap the graph");
  }
  report(env, *g);
  return obj;
}

// graphRun(graph, n, h, w, inputs: Float32Array[]) -> Float32Array (the output node, n×oh×ow×C)
napi_value GraphRun(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc < 5) return throwError(env, "graphRun(graph, n, h, w, inputs): expected 5 arguments");
  Graph* gp = graphOf(env, a[0], "graphRun");
  if (!gp) return nullptr;
  Graph& g = *gp;
  int64_t nhw[3];
  for (int k = 0; k < 3; k++)
    if (napi_get_value_int64(env, a[1 + k], &nhw[k]) != napi_ok || nhw[k] < 1 || nhw[k] > MAX_SIDE)
      return throwError(env, "graphRun: n, h and w must be integers from 1 to " + std::to_string(MAX_SIDE));
  const int64_t n = nhw[0], h = nhw[1], w = nhw[2];
  bool isArray = false;
  uint32_t nInputs = 0;
  if (napi_is_array(env, a[4], &isArray) != napi_ok || !isArray || napi_get_array_length(env, a[4], &nInputs) != napi_ok || int(nInputs) != g.slots)
    return throwError(env, "graphRun: inputs must be an array of " + std::to_string(g.slots) + " Float32Arrays");
  std::vector<const float*> in(g.slots);
  for (int s = 0; s < g.slots; s++) {
    napi_value v;
    float* d;
    size_t len;
    if (napi_get_element(env, a[4], s, &v) != napi_ok || !typedArrayOf(env, v, napi_float32_array, &d, &len))
      return throwError(env, "graphRun: input " + std::to_string(s) + " is not a Float32Array");
    const Node& nd = g.nodes[g.slotNode[s]];
    const size_t want = size_t(n) * (nd.rank() == 4 ? size_t(h) * w : 1) * nd.C;
    if (len != want)
      return throwError(env, "graphRun: input " + std::to_string(s) + " has " + std::to_string(len) + " values, expected " + std::to_string(want) +
                                 (nd.rank() == 4 ? " (n×h×w×" : " (n×") + std::to_string(nd.C) + ")");
    in[s] = d;
  }
  try {
    Run& run = runFor(g, n, h, w);
    report(env, g);
    const Plan& p0 = *run.parts[0];
    const size_t outLen = size_t(n) * p0.dims[g.output].h * p0.dims[g.output].w * g.nodes[g.output].C;
    napi_value ab, out;
    void* outData;
    if (napi_create_arraybuffer(env, outLen * 4, &outData, &ab) != napi_ok || napi_create_typedarray(env, napi_float32_array, outLen, ab, 0, &out) != napi_ok)
      return throwError(env, "graphRun: could not allocate the output");
    float* o = static_cast<float*>(outData);
    const int parts = int(run.parts.size());
    ThreadsFor scope(run.threads);
    if (parts == 1) {
      execute(g, *run.parts[0], 0, in, o);
    } else {
      // Parts go to whichever thread is free; an exception must not leave the parallel region.
      std::vector<std::string> errors(parts);
#pragma omp parallel for num_threads(run.workers) schedule(dynamic, 1)  // (the primitives inside run on the calling thread)
      for (int t = 0; t < parts; t++) {
        try {
          execute(g, *run.parts[t], run.first[t], in, o);
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      }
      for (auto& e : errors)
        if (!e.empty()) fail(e);
    }
    return out;
  } catch (const std::exception& e) {
    return throwError(env, std::string("graphRun: ") + e.what());
  }
}

// graphFree(graph): release its memory now (a finalizer would wait for a GC, which a
// synchronous loop of new graphs does not leave time for); later calls on it throw.
napi_value GraphFree(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc < 1) return throwError(env, "graphFree(graph): expected a graph");
  if (!graphOf(env, a[0], "graphFree")) return nullptr;
  void* raw = nullptr;
  if (napi_remove_wrap(env, a[0], &raw) != napi_ok) return throwError(env, "graphFree: could not unwrap the graph");
  deleteGraph(env, static_cast<Graph*>(raw));
  return nullptr;
}

}  // namespace colorgan
