// Optional native convolutions for colorgan: oneDNN (Debian's libdnnl) kernels that
// work in place on the tfjs wasm heap, so the wasm backend keeps every tensor and only
// the convolutions (≈75% of a training step) run natively, with AVX-512 where present.
//
// Also the colorizer's full-resolution pixel loops (luma shrink, sharpening), threaded,
// and (dnnl_graph.cc) the generator's whole inference pass as one native call.
//
// Convolutions: conv(heap, params): `heap` is a typed array over the whole wasm
// memory, `params` an Int32Array describing the call (layout in native/README.md and
// src/backend/native.ts). Tensors are NHWC; filters are tfjs' [KH,KW,Ci,Co] (oneDNN
// "hwio"). Primitives are cached by their parameters; weights are reordered to the
// primitive's preferred (blocked) layout on every call since they change every step.
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include "dnnl_common.h"
#include "pixels.h"
#include "train_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
using colorgan::eng;
using colorgan::strm;
using colorgan::throwError;
using colorgan::typedArrayBytes;

namespace {

enum Kind { FWD = 0, BWD_DATA = 1, BWD_WEIGHTS = 2 };

// Heap byte offsets travel in an Int32Array but are unsigned (a wasm heap reaches 4 GB);
// -1 (0xFFFFFFFF, never 4-byte aligned) means "no tensor".
inline uint64_t offsetAt(int32_t v) { return uint32_t(v); }
inline bool present(int32_t v) { return v != -1; }

// params layout (Int32Array)
enum P {
  KIND, N, H, W, CI, OH, OW, CO, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR,
  OFF_A, OFF_B, OFF_C, OFF_BIAS, ACT, ALPHA_BITS, W_ID, NPARAMS
};

struct Prim {
  primitive prim;
  memory::desc wUser, wPrim;  // user hwio layout vs the primitive's choice
  memory::desc scratch;
  bool reorderW = false;
  std::unique_ptr<reorder> wReorder;
  std::vector<float> wBuf;   // primitive-layout weights (fwd / bwd-data input, bwd-weights output)
  int32_t wId = 0;           // W_ID of the weights wBuf holds (fwd / bwd-data; 0: none)
  std::vector<uint8_t> scratchBuf;
};

thread_local std::map<std::string, std::unique_ptr<Prim>> cache;

std::string keyOf(const int32_t* p) {
  return std::string(reinterpret_cast<const char*>(p), sizeof(int32_t) * (OFF_A)) +
         std::string(reinterpret_cast<const char*>(p + ACT), sizeof(int32_t) * 2) +
         (present(p[OFF_BIAS]) ? "b" : "-");
}

Prim* build(const int32_t* p) {
  const memory::dims src = {p[N], p[CI], p[H], p[W]};
  const memory::dims dst = {p[N], p[CO], p[OH], p[OW]};
  const memory::dims wts = {p[CO], p[CI], p[KH], p[KW]};
  const memory::dims strides = {p[SH], p[SW]};
  const memory::dims dil = {p[DH] - 1, p[DW] - 1};
  const memory::dims padL = {p[PT], p[PL]};
  const memory::dims padR = {p[PB], p[PR]};
  const bool bias = present(p[OFF_BIAS]);

  memory::desc srcMd(src, dt::f32, tag::nhwc), dstMd(dst, dt::f32, tag::nhwc);
  memory::desc wAny(wts, dt::f32, tag::any), wUser(wts, dt::f32, tag::hwio);
  memory::desc bMd = bias ? memory::desc({p[CO]}, dt::f32, tag::x) : memory::desc();

  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  if (p[KIND] == FWD && p[ACT] != colorgan::LINEAR) {
    post_ops po;
    colorgan::appendActivation(po, p[ACT], colorgan::floatFromBits(p[ALPHA_BITS]));
    attr.set_post_ops(po);
  }

  auto prim = std::make_unique<Prim>();
  prim->wUser = wUser;
  convolution_forward::desc fd(p[KIND] == FWD ? prop_kind::forward_inference : prop_kind::forward_training,
                               algorithm::convolution_direct, srcMd, wAny, bMd, dstMd, strides, dil, padL, padR);
  if (p[KIND] == FWD) {
    convolution_forward::primitive_desc pd(fd, attr, eng());
    prim->prim = convolution_forward(pd);
    prim->wPrim = pd.weights_desc();
    prim->scratch = pd.scratchpad_desc();
  } else if (p[KIND] == BWD_DATA) {
    primitive_attr plain;
    convolution_forward::primitive_desc hint(fd, plain, eng());
    convolution_backward_data::desc bd(algorithm::convolution_direct, srcMd, wAny, dstMd, strides, dil, padL, padR);
    convolution_backward_data::primitive_desc pd(bd, attr, eng(), hint);
    prim->prim = convolution_backward_data(pd);
    prim->wPrim = pd.weights_desc();
    prim->scratch = pd.scratchpad_desc();
  } else {
    primitive_attr plain;
    convolution_forward::primitive_desc hint(fd, plain, eng());
    convolution_backward_weights::desc bd(algorithm::convolution_direct, srcMd, wAny, dstMd, strides, dil, padL, padR);
    convolution_backward_weights::primitive_desc pd(bd, attr, eng(), hint);
    prim->prim = convolution_backward_weights(pd);
    prim->wPrim = pd.diff_weights_desc();
    prim->scratch = pd.scratchpad_desc();
  }
  prim->reorderW = prim->wPrim != wUser;
  if (prim->reorderW) {
    prim->wBuf.resize(prim->wPrim.get_size() / sizeof(float) + 16);
    if (p[KIND] == BWD_WEIGHTS)
      prim->wReorder = std::make_unique<reorder>(reorder::primitive_desc(eng(), prim->wPrim, eng(), wUser));
    else
      prim->wReorder = std::make_unique<reorder>(reorder::primitive_desc(eng(), wUser, eng(), prim->wPrim));
  }
  prim->scratchBuf.resize(prim->scratch.get_size() + 64);
  return prim.release();
}

void run(uint8_t* heap, size_t heapBytes, const int32_t* p) {
  const std::string key = keyOf(p);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::unique_ptr<Prim>(build(p))).first;
  Prim& c = *it->second;

  const size_t nSrc = size_t(p[N]) * p[H] * p[W] * p[CI];
  const size_t nDst = size_t(p[N]) * p[OH] * p[OW] * p[CO];
  const size_t nW = size_t(p[KH]) * p[KW] * p[CI] * p[CO];
  auto at = [&](int32_t v, size_t count, const char* what) -> float* {
    const uint64_t off = offsetAt(v);
    if (off + count * 4 > heapBytes || (off & 3) != 0)
      throw std::runtime_error(std::string("tensor out of the wasm heap: ") + what);
    return reinterpret_cast<float*>(heap + off);
  };
  // Roles of the three offsets by kind: fwd x,w->y; bwd-data dy,w->dx; bwd-weights x,dy->dw.
  float *srcP, *dstP, *wP;
  if (p[KIND] == FWD) {
    srcP = at(p[OFF_A], nSrc, "x"); wP = at(p[OFF_B], nW, "filter"); dstP = at(p[OFF_C], nDst, "y");
  } else if (p[KIND] == BWD_DATA) {
    dstP = at(p[OFF_A], nDst, "dy"); wP = at(p[OFF_B], nW, "filter"); srcP = at(p[OFF_C], nSrc, "dx");
  } else {
    srcP = at(p[OFF_A], nSrc, "x"); dstP = at(p[OFF_B], nDst, "dy"); wP = at(p[OFF_C], nW, "dw");
  }
  const memory::dims src = {p[N], p[CI], p[H], p[W]};
  const memory::dims dst = {p[N], p[CO], p[OH], p[OW]};
  memory srcM({src, dt::f32, tag::nhwc}, eng(), srcP);
  memory dstM({dst, dt::f32, tag::nhwc}, eng(), dstP);
  memory wUserM(c.wUser, eng(), wP);
  memory wM = c.reorderW ? memory(c.wPrim, eng(), c.wBuf.data()) : wUserM;
  memory scratchM(c.scratch, eng(), c.scratchBuf.data());

  stream& s = strm();
  // W_ID names a weight tensor for as long as it lives (tfjs tensors never change): a
  // step runs D forward and backward on the real and the fake batch with the same
  // weights, so their reorder (up to 7 ms for 512×256×4×4) is done once, not 3 times.
  const bool haveW = p[KIND] != BWD_WEIGHTS && p[W_ID] != 0 && p[W_ID] == c.wId;
  c.wId = p[KIND] == BWD_WEIGHTS ? 0 : p[W_ID];
  if (p[KIND] == FWD) {
    if (c.reorderW && !haveW) c.wReorder->execute(s, wUserM, wM);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, srcM}, {DNNL_ARG_WEIGHTS, wM}, {DNNL_ARG_DST, dstM}, {DNNL_ARG_SCRATCHPAD, scratchM}};
    if (present(p[OFF_BIAS])) {
      float* b = at(p[OFF_BIAS], size_t(p[CO]), "bias");
      args.insert({DNNL_ARG_BIAS, memory({{p[CO]}, dt::f32, tag::x}, eng(), b)});
    }
    c.prim.execute(s, args);
  } else if (p[KIND] == BWD_DATA) {
    if (c.reorderW && !haveW) c.wReorder->execute(s, wUserM, wM);
    c.prim.execute(s, {{DNNL_ARG_DIFF_DST, dstM}, {DNNL_ARG_WEIGHTS, wM}, {DNNL_ARG_DIFF_SRC, srcM},
                       {DNNL_ARG_SCRATCHPAD, scratchM}});
  } else {
    c.prim.execute(s, {{DNNL_ARG_SRC, srcM}, {DNNL_ARG_DIFF_DST, dstM}, {DNNL_ARG_DIFF_WEIGHTS, wM},
                       {DNNL_ARG_SCRATCHPAD, scratchM}});
    if (c.reorderW) c.wReorder->execute(s, wM, wUserM);
  }
  s.wait();
}

// ---------------------------------------------------------------------------------
// N-API glue

// The (heap, params) pair every heap kernel takes: a typed array over the whole wasm
// memory and an Int32Array of at least `minParams` parameters.
bool heapAndParams(napi_env env, napi_callback_info info, size_t minParams, uint8_t** heap, size_t* heapBytes,
                   const int32_t** params, size_t* nParams) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  void *h, *p;
  size_t pBytes;
  if (argc < 2 || !typedArrayBytes(env, a[0], &h, heapBytes) || !typedArrayBytes(env, a[1], &p, &pBytes) ||
      pBytes < minParams * 4)
    return false;
  *heap = static_cast<uint8_t*>(h);
  *params = static_cast<const int32_t*>(p);
  *nParams = pBytes / 4;
  return true;
}

// conv(heap: Uint8Array|Float32Array over the whole wasm memory, params: Int32Array)
napi_value Conv(napi_env env, napi_callback_info info) {
  uint8_t* heap;
  const int32_t* params;
  size_t heapBytes, nParams;
  if (!heapAndParams(env, info, NPARAMS, &heap, &heapBytes, &params, &nParams))
    return throwError(env, "conv(heap, params): expected a typed array over the heap and an Int32Array of params");
  try {
    run(heap, heapBytes, params);
  } catch (const std::exception& e) {
    return throwError(env, std::string("oneDNN convolution failed: ") + e.what());
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------
// Memory-bound kernels that wasm runs single-threaded and slowly: row copies (Concat and
// its gradient SplitV along any axis) and inference batch norm.

// copyParts(heap, params): params = [outer, nParts, then per part srcOff, srcStride,
// dstOff, dstStride, width] — offsets in bytes, strides and widths in floats: copies
// `width` floats per row for `outer` rows of every part.
napi_value CopyParts(napi_env env, napi_callback_info info) {
  uint8_t* heap;
  const int32_t* p;
  size_t heapBytes, nParams;
  if (!heapAndParams(env, info, 2, &heap, &heapBytes, &p, &nParams)) return throwError(env, "copyParts(heap, params): bad arguments");
  const int64_t outer = p[0], parts = p[1];
  if (outer < 0 || parts < 0 || nParams < size_t(2 + 5 * parts)) return throwError(env, "copyParts: bad params");
  int64_t total = 0;
  for (int64_t k = 0; k < parts; k++) {
    const int32_t* q = p + 2 + 5 * k;
    if (outer == 0 || q[4] == 0) continue;
    if (q[1] < 0 || q[3] < 0 || q[4] < 0) return throwError(env, "copyParts: bad params");
    const uint64_t lastSrc = offsetAt(q[0]) + ((outer - 1) * uint64_t(q[1]) + q[4]) * 4;
    const uint64_t lastDst = offsetAt(q[2]) + ((outer - 1) * uint64_t(q[3]) + q[4]) * 4;
    if (lastSrc > heapBytes || lastDst > heapBytes)
      return throwError(env, "copyParts: part outside the wasm heap");
    total += outer * q[4];
  }
#pragma omp parallel for schedule(static) if (total > (1 << 16))
  for (int64_t r = 0; r < outer; r++)
    for (int64_t k = 0; k < parts; k++) {
      const int32_t* q = p + 2 + 5 * k;
      std::memcpy(heap + offsetAt(q[2]) + r * int64_t(q[3]) * 4, heap + offsetAt(q[0]) + r * int64_t(q[1]) * 4, size_t(q[4]) * 4);
    }
  return nullptr;
}

// batchNorm(heap, params): params = [rows, C, xOff, outOff, meanOff, varOff, offsetOff
// or -1, scaleOff or -1, epsilon bits]; out = (x - mean)·scale/sqrt(var + eps) + offset
// over channels-last rows.
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  uint8_t* heap;
  const int32_t* p;
  size_t heapBytes, nParams;
  if (!heapAndParams(env, info, 9, &heap, &heapBytes, &p, &nParams)) return throwError(env, "batchNorm(heap, params): bad arguments");
  const int64_t rows = p[0], C = p[1];
  auto ok = [&](int32_t v, int64_t n) { return (offsetAt(v) & 3) == 0 && offsetAt(v) + uint64_t(n) * 4 <= heapBytes; };
  if (rows < 0 || C <= 0 || !ok(p[2], rows * C) || !ok(p[3], rows * C) || !ok(p[4], C) || !ok(p[5], C) ||
      (present(p[6]) && !ok(p[6], C)) || (present(p[7]) && !ok(p[7], C)))
    return throwError(env, "batchNorm: tensor outside the wasm heap");
  auto f = [&](int32_t v) { return reinterpret_cast<float*>(heap + offsetAt(v)); };
  float eps;
  std::memcpy(&eps, &p[8], 4);
  std::vector<float> mul(C), add(C);
  for (int64_t c = 0; c < C; c++) {
    const float scale = present(p[7]) ? f(p[7])[c] : 1.f, offset = present(p[6]) ? f(p[6])[c] : 0.f;
    mul[c] = scale / std::sqrt(f(p[5])[c] + eps);
    add[c] = offset - f(p[4])[c] * mul[c];
  }
  const float* x = f(p[2]);
  float* out = f(p[3]);
#pragma omp parallel for schedule(static) if (rows * C > (1 << 16))
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < C; c++) out[r * C + c] = x[r * C + c] * mul[c] + add[c];
  return nullptr;
}

// ---------------------------------------------------------------------------------
// Full-resolution pixel work of the colorizer (the loops of src/infer/sharpen.ts and
// src/infer/resample.ts on pixels.h's formulas; the JS side passes the resampling taps
// so both agree).

template <typename T>
T* arg(napi_env env, napi_value v, size_t minCount, const char* what) {
  void* data;
  size_t bytes;
  if (!typedArrayBytes(env, v, &data, &bytes) || bytes < minCount * sizeof(T))
    throw std::runtime_error(std::string("bad or too short typed array: ") + what);
  return static_cast<T*>(data);
}

int32_t intArg(napi_env env, napi_value v) {
  int32_t n = 0;
  if (napi_get_value_int32(env, v, &n) != napi_ok) throw std::runtime_error("expected an integer");
  return n;
}

// lumaShrink(rgb, width, height, txStart, txIndex, txWeight, tyStart, tyIndex, tyWeight, out)
// Area-averaged ITU-R 601 luma, one output row per task (a source row on the border of
// two output rows is read twice, which costs nothing worth saving).
napi_value LumaShrink(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc < 10) throw std::runtime_error("expected 10 arguments");
    const int width = intArg(env, a[1]), height = intArg(env, a[2]);
    const uint8_t* rgb = arg<uint8_t>(env, a[0], size_t(width) * height * 3, "rgb");
    void* d;
    size_t bx, by, bo;
    if (!typedArrayBytes(env, a[3], &d, &bx) || !typedArrayBytes(env, a[6], &d, &by) || !typedArrayBytes(env, a[9], &d, &bo))
      throw std::runtime_error("bad taps");
    const int dw = int(bx / 4) - 1, dh = int(by / 4) - 1;
    const int32_t* txS = arg<int32_t>(env, a[3], dw + 1, "txStart");
    const int32_t* tyS = arg<int32_t>(env, a[6], dh + 1, "tyStart");
    const int32_t* txI = arg<int32_t>(env, a[4], txS[dw], "txIndex");
    const float* txW = arg<float>(env, a[5], txS[dw], "txWeight");
    const int32_t* tyI = arg<int32_t>(env, a[7], tyS[dh], "tyIndex");
    const float* tyW = arg<float>(env, a[8], tyS[dh], "tyWeight");
    float* out = arg<float>(env, a[9], size_t(dw) * dh, "out");
    for (int i = 0; i < txS[dw]; i++) if (txI[i] < 0 || txI[i] >= width) throw std::runtime_error("tap out of range");
    for (int i = 0; i < tyS[dh]; i++) if (tyI[i] < 0 || tyI[i] >= height) throw std::runtime_error("tap out of range");
#pragma omp parallel
    {
      std::vector<float> line(width);
#pragma omp for schedule(dynamic, 1)
      for (int oy = 0; oy < dh; oy++) {
        float* o = out + size_t(oy) * dw;
        for (int ox = 0; ox < dw; ox++) o[ox] = 0.f;
        for (int t = tyS[oy]; t < tyS[oy + 1]; t++) {
          const uint8_t* p = rgb + size_t(tyI[t]) * width * 3;
          for (int x = 0; x < width; x++, p += 3) line[x] = float(colorgan::luma(p[0], p[1], p[2]));
          // double sums stored to float, in the JS order, so both give the same floats
          const double w = tyW[t];
          for (int ox = 0; ox < dw; ox++) {
            double acc = 0;
            for (int k = txS[ox]; k < txS[ox + 1]; k++) acc += double(txW[k]) * line[txI[k]];
            o[ox] = float(o[ox] + w * double(float(acc)));
          }
        }
      }
    }
  } catch (const std::exception& e) {
    return throwError(env, std::string("lumaShrink: ") + e.what());
  }
  return nullptr;
}

// sharpen(rgb, width, height, grid, gw, x0s, fxs, tyIndex, tyWeight, scale, out[, gh])
// Keeps each pixel's own luma, adds the upsampled chroma — grid is U,V (gw×gh×2, bilinear)
// or guided coefficients (gw×gh×4), see pixels.h — and scales chroma toward gray where
// the color would leave the RGB cube (so Y is kept there too).
napi_value Sharpen(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc < 11) throw std::runtime_error("expected 11 or 12 arguments");
    // The grid is gw × gh (gh defaults to gw: a square model grid).
    const int width = intArg(env, a[1]), height = intArg(env, a[2]), gw = intArg(env, a[4]);
    const int gh = argc >= 12 ? intArg(env, a[11]) : gw;
    if (gw < 1 || gh < 1) throw std::runtime_error("bad grid size");
    const size_t n3 = size_t(width) * height * 3;
    const uint8_t* rgb = arg<uint8_t>(env, a[0], n3, "rgb");
    void* gd;
    size_t gBytes;
    if (!typedArrayBytes(env, a[3], &gd, &gBytes)) throw std::runtime_error("bad grid");
    const int planes = colorgan::chromaPlanes(gBytes / sizeof(float), gw, gh);
    if (!planes) throw std::runtime_error("grid: expected gw×gh×2 (U,V) or gw×gh×4 (guided) floats");
    const float* grid = arg<float>(env, a[3], size_t(gw) * gh * planes, "grid");
    const int32_t* x0s = arg<int32_t>(env, a[5], width, "x0s");
    const float* fxs = arg<float>(env, a[6], width, "fxs");
    const int32_t* tyI = arg<int32_t>(env, a[7], size_t(height) * 2, "tyIndex");
    const float* tyW = arg<float>(env, a[8], size_t(height) * 2, "tyWeight");
    double scale;
    napi_get_value_double(env, a[9], &scale);
    uint8_t* out = arg<uint8_t>(env, a[10], n3, "out");
    for (int x = 0; x < width; x++) if (x0s[x] < 0 || x0s[x] >= gw) throw std::runtime_error("tap out of range");
    for (int i = 0; i < 2 * height; i++) if (tyI[i] < 0 || tyI[i] >= gh) throw std::runtime_error("tap out of range");
    const std::vector<int32_t> runEnd = colorgan::chromaRuns(x0s, width);
#pragma omp parallel
    {
      std::vector<float> row(4 * (size_t(gw) + 1)), du(width), dv(width), ys(width);
#pragma omp for schedule(static)
      for (int y = 0; y < height; y++) {
        const auto [rowU, rowV] = colorgan::gridRow(grid, planes, gw, tyI[2 * y], tyI[2 * y + 1], tyW[2 * y], tyW[2 * y + 1], float(scale), row.data());
        const size_t off = size_t(y) * width * 3;
        colorgan::composeRow(rgb + off, 3, out + off, 0, width, x0s, runEnd.data(), fxs, rowU, rowV, du.data(), dv.data(), ys.data());
      }
    }
  } catch (const std::exception& e) {
    return throwError(env, std::string("sharpen: ") + e.what());
  }
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 0;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &n);
  if (n > 0) omp_set_num_threads(n);
  napi_value out;
  napi_create_int32(env, omp_get_max_threads(), &out);
  return out;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, s.c_str(), s.size(), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyParts", nullptr, CopyParts, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lumaShrink", nullptr, LumaShrink, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sharpen", nullptr, Sharpen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"graphCreate", nullptr, colorgan::GraphCreate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"graphRun", nullptr, colorgan::GraphRun, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"graphFree", nullptr, colorgan::GraphFree, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnTrain", nullptr, colorgan::BnTrain, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnTrainGrad", nullptr, colorgan::BnTrainGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyRelu", nullptr, colorgan::LeakyRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, colorgan::Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSum", nullptr, colorgan::ChannelSum, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
