// The colorizer's per-pixel sharpening, shared by both addons (same math as
// src/infer/sharpen.ts, in float instead of double: results agree within one level).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace colorgan {

// Chroma of one output row at model width, in levels (U-128, V-128), from the two
// model rows around it; one extra entry so the bilinear step needs no edge branch.
inline void chromaRow(const float* uv, int size, int r0, int r1, float w0, float w1, float* rowU, float* rowV) {
  const float* a = uv + size_t(r0) * size * 2;
  const float* b = uv + size_t(r1) * size * 2;
  for (int i = 0; i < size; i++) {
    rowU[i] = w0 * a[2 * i] + w1 * b[2 * i];
    rowV[i] = w0 * a[2 * i + 1] + w1 * b[2 * i + 1];
  }
  rowU[size] = rowU[size - 1];
  rowV[size] = rowV[size - 1];
}

// runEnd[x]: one past the last column whose left chroma column is x0s[x] (computed once).
inline std::vector<int32_t> chromaRuns(const int32_t* x0s, int width) {
  std::vector<int32_t> end(width);
  for (int x = width - 1; x >= 0; x--) end[x] = (x + 1 < width && x0s[x + 1] == x0s[x]) ? end[x + 1] : x + 1;
  return end;
}

// One row: `in` has `channels` (1 = gray, 3 = RGB) bytes per pixel, `out` 3; columns
// x = x0 .. x0+n-1 of the full image. du/dv/ys are scratch of n floats. Written as
// branch-free passes over float arrays so that the compiler vectorizes them.
__attribute__((target_clones("avx2", "default")))
static void composeRow(const uint8_t* __restrict in, int channels, uint8_t* __restrict out, int x0, int n,
                       const int32_t* __restrict x0s, const int32_t* __restrict runEnd, const float* __restrict fxs,
                       const float* __restrict rowU,
                       const float* __restrict rowV, float* __restrict du, float* __restrict dv, float* __restrict ys) {
  // Bilinear chroma along the row, one run of columns sharing the same two model
  // columns at a time (x0s is non-decreasing), so the inner loop has no gathers.
  for (int k = 0; k < n;) {
    const int i = x0s[x0 + k];
    const int end = std::min(n, runEnd[x0 + k] - x0);
    const float u0 = rowU[i], su = rowU[i + 1] - rowU[i];
    const float v0 = rowV[i], sv = rowV[i + 1] - rowV[i];
    const float* f = fxs + x0;
    for (int j = k; j < end; j++) {
      du[j] = u0 + f[j] * su;
      dv[j] = v0 + f[j] * sv;
    }
    k = end;
  }
  if (channels == 1) {
    for (int k = 0; k < n; k++) ys[k] = float(in[k]);
  } else {
    for (int k = 0; k < n; k++) ys[k] = in[3 * k] * 0.299f + in[3 * k + 1] * 0.587f + in[3 * k + 2] * 0.114f;
  }
  for (int k = 0; k < n; k++) {
    const float yy = ys[k];
    const float dr = 1.4075f * dv[k];
    const float dg = -0.3455f * du[k] - 0.7169f * dv[k];
    const float db = 1.779f * du[k];
    // Out of gamut: shrink the chroma toward gray instead of clipping (keeps Y). For a
    // channel with offset d the largest allowed factor is (255-y)/d (d > 0) or -y/d (d < 0).
    // (The divisions always run and the d == 0 result is replaced: no branches.)
    const float lr = dr == 0.f ? 1.f : ((dr > 0.f ? 255.f : 0.f) - yy) / dr;
    const float lg = dg == 0.f ? 1.f : ((dg > 0.f ? 255.f : 0.f) - yy) / dg;
    const float lb = db == 0.f ? 1.f : ((db > 0.f ? 255.f : 0.f) - yy) / db;
    const float t = std::min(std::min(1.f, lr), std::min(lg, lb));
    ys[k] = yy + t * dr;  // the scratch rows now hold R, G, B
    du[k] = yy + t * dg;
    dv[k] = yy + t * db;
  }
  const float magic = 12582912.f;  // 1.5·2^23: adding it rounds half to even (no -ffast-math!)
  for (int k = 0; k < n; k++) {
    out[3 * k] = uint8_t(int((std::min(255.f, std::max(0.f, ys[k])) + magic) - magic));
    out[3 * k + 1] = uint8_t(int((std::min(255.f, std::max(0.f, du[k])) + magic) - magic));
    out[3 * k + 2] = uint8_t(int((std::min(255.f, std::max(0.f, dv[k])) + magic) - magic));
  }
}

}  // namespace colorgan
