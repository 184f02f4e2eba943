// Training kernels beyond the convolutions, in place on the tfjs wasm heap: what a step
// otherwise runs on the single wasm thread once oneDNN does the convolutions. Batch norm
// in training mode (statistics + normalize, and its closed-form gradient, the formulas of
// src/models/batchnorm.ts), leaky ReLU and its gradient, per-channel sums (bias
// gradients), and Adam's update of all of
// an optimizer's variables in one call (src/train/adam.ts). Plain C++ with OpenMP: oneDNN 2.6 has no primitive that takes
// channels-last rows with statistics out, and these loops are memory-bound anyway.
//
// Batch norm and leaky ReLU run on one thread, on purpose: on the shared 2-core machine an
// OpenMP region over these memory-bound loops waits at its barrier for whichever thread
// was descheduled (batch norm of [16,64,64,64]: 17 ms on one thread, 32 ms on two;
// [16,32,32,128]: 3 vs 25 ms; the wasm ops it replaces: 58 ms), and one thread makes every
// reduction a fixed sequence (sums in double, row after row), so results are the same run
// after run (bit-exact resume). Adam has no reduction and is one region per step, over
// many small chunks shared out dynamically (a descheduled thread holds up one chunk):
// 11.5 vs 21.5 ms an advanced step on two threads.
#include <node_api.h>

#include "dnnl_common.h"
#include "train_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace colorgan {
namespace {

// The (heap, params) pair: a typed array over the whole wasm memory and an Int32Array.
struct HeapCall {
  uint8_t* heap = nullptr;
  size_t heapBytes = 0;
  const int32_t* p = nullptr;
  size_t nParams = 0;

  // A float tensor of `count` elements at heap byte offset p[i] (unsigned: a wasm heap
  // reaches 4 GB), or an error naming it.
  float* at(int i, int64_t count, const char* what) const {
    const uint64_t off = uint32_t(p[i]);
    if ((off & 3) != 0 || count < 0 || off + uint64_t(count) * 4 > heapBytes)
      throw std::runtime_error(std::string("tensor outside the wasm heap: ") + what);
    return reinterpret_cast<float*>(heap + off);
  }
};

HeapCall heapCall(napi_env env, napi_callback_info info, size_t minParams, const char* usage) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  HeapCall c;
  void *h, *p;
  size_t pBytes;
  napi_typedarray_type type;
  size_t len, off;
  napi_value ab;
  if (argc < 2 || !typedArrayBytes(env, a[0], &h, &c.heapBytes) || napi_get_typedarray_info(env, a[1], &type, &len, &p, &ab, &off) != napi_ok ||
      type != napi_int32_array)
    throw std::runtime_error(std::string(usage) + ": expected a typed array over the wasm heap and an Int32Array of params");
  pBytes = len * 4;
  if (pBytes < minParams * 4) throw std::runtime_error(std::string(usage) + ": expected at least " + std::to_string(minParams) + " params");
  c.heap = static_cast<uint8_t*>(h);
  c.p = static_cast<const int32_t*>(p);
  c.nParams = len;
  return c;
}

// Per-channel sums over `rows` channels-last rows: f(r, acc) adds row r's terms to acc
// (nSums × C doubles, zeroed first).
template <typename F>
void channelSums(int64_t rows, int64_t C, int nSums, double* acc, F f) {
  std::fill(acc, acc + size_t(nSums) * C, 0.0);
  for (int64_t r = 0; r < rows; r++) f(r, acc);
}

// bnTrain(heap, params): params = [rows, C, x, gamma, beta, y, mean, variance, invStd,
// epsilon bits] (heap byte offsets). Over channels-last rows: mean and (biased) variance
// per channel, invStd = 1/sqrt(var + eps), y = (x − mean)·gamma·invStd + beta — what
// tf.moments + tf.batchNorm compute, in three passes over x instead of eight.
enum BnFwd { BF_ROWS, BF_C, BF_X, BF_GAMMA, BF_BETA, BF_Y, BF_MEAN, BF_VAR, BF_INV, BF_EPS, BF_N };

void bnTrain(const HeapCall& c) {
  const int64_t rows = c.p[BF_ROWS], C = c.p[BF_C];
  if (rows <= 0 || C <= 0) throw std::runtime_error("rows and channels must be positive");
  const float* x = c.at(BF_X, rows * C, "x");
  const float* gamma = c.at(BF_GAMMA, C, "gamma");
  const float* beta = c.at(BF_BETA, C, "beta");
  float* y = c.at(BF_Y, rows * C, "y");
  float* mean = c.at(BF_MEAN, C, "mean");
  float* var = c.at(BF_VAR, C, "variance");
  float* inv = c.at(BF_INV, C, "invStd");
  const float eps = floatFromBits(c.p[BF_EPS]);
  std::vector<double> s(C);
  channelSums(rows, C, 1, s.data(), [&](int64_t r, double* acc) {
    const float* xr = x + r * C;
    for (int64_t j = 0; j < C; j++) acc[j] += xr[j];
  });
  // float statistics, as tfjs keeps them; the squares are taken about the float mean.
  for (int64_t j = 0; j < C; j++) mean[j] = float(s[j] / double(rows));
  channelSums(rows, C, 1, s.data(), [&](int64_t r, double* acc) {
    const float* xr = x + r * C;
    for (int64_t j = 0; j < C; j++) {
      const float d = xr[j] - mean[j];
      acc[j] += double(d) * d;
    }
  });
  std::vector<float> mul(C);
  for (int64_t j = 0; j < C; j++) {
    var[j] = float(s[j] / double(rows));
    inv[j] = 1.f / std::sqrt(var[j] + eps);
    mul[j] = gamma[j] * inv[j];
  }
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t j = 0; j < C; j++) yr[j] = (xr[j] - mean[j]) * mul[j] + beta[j];
  }
}

// bnTrainGrad(heap, params): params = [rows, C, dy, x, mean, invStd, gamma, dx, dGamma,
// dBeta]. With x̂ = (x − mean)·invStd and m = rows: dβ = Σ dy, dγ = Σ dy·x̂,
// dx = γ·invStd·(dy − dβ/m − x̂·dγ/m).
enum BnBwd { BB_ROWS, BB_C, BB_DY, BB_X, BB_MEAN, BB_INV, BB_GAMMA, BB_DX, BB_DGAMMA, BB_DBETA, BB_N };

void bnTrainGrad(const HeapCall& c) {
  const int64_t rows = c.p[BB_ROWS], C = c.p[BB_C];
  if (rows <= 0 || C <= 0) throw std::runtime_error("rows and channels must be positive");
  const float* dy = c.at(BB_DY, rows * C, "dy");
  const float* x = c.at(BB_X, rows * C, "x");
  const float* mean = c.at(BB_MEAN, C, "mean");
  const float* inv = c.at(BB_INV, C, "invStd");
  const float* gamma = c.at(BB_GAMMA, C, "gamma");
  float* dx = c.at(BB_DX, rows * C, "dx");
  float* dGamma = c.at(BB_DGAMMA, C, "dGamma");
  float* dBeta = c.at(BB_DBETA, C, "dBeta");
  std::vector<double> s(2 * C);  // [Σ dy | Σ dy·x̂]
  channelSums(rows, C, 2, s.data(), [&](int64_t r, double* acc) {
    const float* d = dy + r * C;
    const float* xr = x + r * C;
    for (int64_t j = 0; j < C; j++) {
      acc[j] += d[j];
      acc[C + j] += double(d[j]) * ((xr[j] - mean[j]) * inv[j]);
    }
  });
  std::vector<float> a(C), b(C), k(C);
  const float m = float(rows);
  for (int64_t j = 0; j < C; j++) {
    dBeta[j] = float(s[j]);
    dGamma[j] = float(s[C + j]);
    a[j] = gamma[j] * inv[j];
    b[j] = dBeta[j] / m;
    k[j] = dGamma[j] / m;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float* d = dy + r * C;
    const float* xr = x + r * C;
    float* o = dx + r * C;
    for (int64_t j = 0; j < C; j++) o[j] = a[j] * ((d[j] - b[j]) - ((xr[j] - mean[j]) * inv[j]) * k[j]);
  }
}

// leakyRelu(heap, params): params = [op, count, a, b, out, alpha bits]; op 0: out =
// leaky(a) (a = x), op 1: the gradient, out = x > 0 ? dy : dy·alpha (a = dy, b = x; as
// tfjs' where(x > 0, dy, dy·alpha)). Elementwise, so out may be a or b.
enum Leaky { LK_OP, LK_COUNT, LK_A, LK_B, LK_OUT, LK_ALPHA, LK_N };

void leakyRelu(const HeapCall& c) {
  const int64_t n = c.p[LK_COUNT];
  const int op = c.p[LK_OP];
  if (n < 0) throw std::runtime_error("negative count");
  if (op != 0 && op != 1) throw std::runtime_error("op must be 0 (forward) or 1 (gradient), got " + std::to_string(op));
  if (n == 0) return;
  const float alpha = floatFromBits(c.p[LK_ALPHA]);
  const float* a = c.at(LK_A, n, op == 0 ? "x" : "dy");
  float* out = c.at(LK_OUT, n, op == 0 ? "y" : "dx");
  if (op == 0) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = a[i] < 0.f ? a[i] * alpha : a[i];
  } else {
    const float* x = c.at(LK_B, n, "x");
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = x[i] > 0.f ? a[i] : a[i] * alpha;
  }
}

// channelSum(heap, params): params = [rows, C, x, out] (heap byte offsets): out[c] = the
// sum over rows of x[r·C + c] — tf.sum over every axis but the last, which is a bias's
// gradient — in double, row after row. The wasm Sum first transposes the channels to the
// front (a full copy), then sums: 3–4× slower.
enum ChannelSumP { CS_ROWS, CS_C, CS_X, CS_OUT, CS_N };

void channelSum(const HeapCall& c) {
  const int64_t rows = c.p[CS_ROWS], C = c.p[CS_C];
  if (rows < 0 || C < 1) throw std::runtime_error("bad shape: " + std::to_string(rows) + " rows of " + std::to_string(C));
  const float* x = c.at(CS_X, rows * C, "x");
  float* out = c.at(CS_OUT, C, "sum");
  std::vector<double> acc(C);
  channelSums(rows, C, 1, acc.data(), [&](int64_t r, double* a) {
    const float* row = x + r * C;
    for (int64_t k = 0; k < C; k++) a[k] += row[k];
  });
  for (int64_t k = 0; k < C; k++) out[k] = float(acc[k]);
}

// adam(heap, params): params = [count, then the step's constants as float bits: beta1,
// 1 − beta1, beta2, 1 − beta2, 1 − beta1ᵗ, 1 − beta2ᵗ, epsilon, −learning rate; then per
// variable: size, x, m, v, g, x', m', v' (heap byte offsets)]. The same float operations
// in the same order as tfjs' AdamOptimizer.applyGradients (each op rounded to float, no
// fused multiply-add: the addon is built for baseline x86-64 in ISO C++ mode, where GCC
// does not contract), so the weights are bit for bit those of the wasm ops.
enum AdamP { AD_COUNT, AD_B1, AD_1MB1, AD_B2, AD_1MB2, AD_1MACC1, AD_1MACC2, AD_EPS, AD_NEGLR, AD_HEAD };
enum AdamVar { AV_N, AV_X, AV_M, AV_V, AV_G, AV_XO, AV_MO, AV_VO, AV_FIELDS };

// One variable's update (or a chunk of one).
void adamRun(int64_t n, const float* x, const float* m, const float* v, const float* g, float* xo, float* mo, float* vo, float b1,
             float omb1, float b2, float omb2, float acc1, float acc2, float eps, float negLr) {
  for (int64_t j = 0; j < n; j++) {
    const float gj = g[j];
    const float m1 = m[j] * b1 + gj * omb1;
    const float v1 = v[j] * b2 + (gj * gj) * omb2;
    const float bc1 = m1 / acc1, bc2 = v1 / acc2;
    const float x1 = (bc1 / (std::sqrt(bc2) + eps)) * negLr + x[j];
    mo[j] = m1;
    vo[j] = v1;
    xo[j] = x1;
  }
}

void adam(const HeapCall& c) {
  const int64_t count = c.p[AD_COUNT];
  if (count < 0 || c.nParams < size_t(AD_HEAD + AV_FIELDS * count))
    throw std::runtime_error("expected " + std::to_string(AD_HEAD) + " + 8 params per variable for " + std::to_string(count) + " variables");
  float k[AD_HEAD];
  for (int i = AD_B1; i < AD_HEAD; i++) k[i] = floatFromBits(c.p[i]);
  struct Var { int64_t n; const float *x, *m, *v, *g; float *xo, *mo, *vo; };
  std::vector<Var> vars(count);
  // Check every variable before writing any, so a bad call changes nothing.
  for (int64_t i = 0; i < count; i++) {
    const int base = AD_HEAD + AV_FIELDS * int(i);
    const int64_t n = c.p[base + AV_N];
    if (n <= 0) throw std::runtime_error("variable " + std::to_string(i) + ": size must be positive");
    const std::string name = "variable " + std::to_string(i) + " ";
    auto at = [&](int f, const char* what) { return c.at(base + f, n, (name + what).c_str()); };
    vars[i] = {n, at(AV_X, "x"), at(AV_M, "m"), at(AV_V, "v"), at(AV_G, "gradient"), at(AV_XO, "x'"), at(AV_MO, "m'"), at(AV_VO, "v'")};
  }
  const float b1 = k[AD_B1], omb1 = k[AD_1MB1], b2 = k[AD_B2], omb2 = k[AD_1MB2];
  const float acc1 = k[AD_1MACC1], acc2 = k[AD_1MACC2], eps = k[AD_EPS], negLr = k[AD_NEGLR];
  // Chunks of all variables, shared out dynamically: element-wise, so any split gives the same bits.
  constexpr int64_t CHUNK = 1 << 16;
  std::vector<std::pair<int, int64_t>> chunks;
  for (size_t i = 0; i < vars.size(); i++)
    for (int64_t j = 0; j < vars[i].n; j += CHUNK) chunks.push_back({int(i), j});
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t k = 0; k < chunks.size(); k++) {
    const Var& a = vars[chunks[k].first];
    const int64_t j = chunks[k].second, n = std::min(CHUNK, a.n - j);
    adamRun(n, a.x + j, a.m + j, a.v + j, a.g + j, a.xo + j, a.mo + j, a.vo + j, b1, omb1, b2, omb2, acc1, acc2, eps, negLr);
  }
}

napi_value guarded(napi_env env, napi_callback_info info, size_t nParams, const char* name, void (*f)(const HeapCall&)) {
  try {
    f(heapCall(env, info, nParams, name));
  } catch (const std::exception& e) {
    return throwError(env, std::string(name) + ": " + e.what());
  }
  return nullptr;
}

}  // namespace

napi_value BnTrain(napi_env env, napi_callback_info info) { return guarded(env, info, BF_N, "bnTrain", bnTrain); }
napi_value BnTrainGrad(napi_env env, napi_callback_info info) { return guarded(env, info, BB_N, "bnTrainGrad", bnTrainGrad); }
napi_value LeakyRelu(napi_env env, napi_callback_info info) { return guarded(env, info, LK_N, "leakyRelu", leakyRelu); }
napi_value Adam(napi_env env, napi_callback_info info) { return guarded(env, info, AD_HEAD, "adam", adam); }
napi_value ChannelSum(napi_env env, napi_callback_info info) { return guarded(env, info, CS_N, "channelSum", channelSum); }

}  // namespace colorgan
