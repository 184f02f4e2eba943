// The pixel core of the three addons: the C++ copy of src/color/yuv.ts's formulas (the
// paper's ITU-R 601 luma and inverse, adding chroma to a luma in gamut, the bilinear tap)
// and the colorizer's per-row sharpening built on them. The coefficients are typed here
// and nowhere else in native/; test/pixel-core.test.ts checks that both copies agree.
// The per-pixel loops run in float instead of the JS's double (so that they vectorize):
// results agree within one level, at rounding boundaries only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace colorgan {

// ---- ITU-R 601 (the paper) ----------------------------------------------------------

constexpr double kLumaR = 0.299, kLumaG = 0.587, kLumaB = 0.114;

// Luma of an RGB pixel in double, the JS's evaluation (so both give the same numbers).
inline double luma(double r, double g, double b) { return r * kLumaR + g * kLumaG + b * kLumaB; }

// The same in float (the vectorized loops).
inline float lumaF(float r, float g, float b) {
  return r * float(kLumaR) + g * float(kLumaG) + b * float(kLumaB);
}

// The paper's inverse as offsets that chroma du = U − 128, dv = V − 128 adds to a luma:
// R = Y + dr, G = Y + dg, B = Y + db (yuv.ts: redOffset, greenOffset, blueOffset).
struct Offsets {
  float dr, dg, db;
};
inline Offsets rgbOffsets(float du, float dv) { return {1.4075f * dv, -0.3455f * du - 0.7169f * dv, 1.779f * du}; }

// The share t in [0, 1] of the offsets that keeps y + t·d inside [0, 255] for all three
// (yuv.ts: gamutFactor). Per channel the largest allowed factor is (255−y)/d (d > 0) or
// −y/d (d < 0); the divisions always run and the d == 0 result is replaced, so there are
// no branches. t < 0 only for a luma outside [0, 255] (a JPEG block mean can be: a
// quantized DC), which then gets no chroma at all.
inline float gamutFactor(float y, const Offsets& o) {
  const float lr = o.dr == 0.f ? 1.f : ((o.dr > 0.f ? 255.f : 0.f) - y) / o.dr;
  const float lg = o.dg == 0.f ? 1.f : ((o.dg > 0.f ? 255.f : 0.f) - y) / o.dg;
  const float lb = o.db == 0.f ? 1.f : ((o.db > 0.f ? 255.f : 0.f) - y) / o.db;
  return std::max(0.f, std::min(std::min(1.f, lr), std::min(lg, lb)));
}

// ---- bilinear taps ------------------------------------------------------------------

// The tap of an output sample centred at s in source coordinates (0 = the left edge of
// sample 0; half-pixel centres) over n samples, edge-clamped: left sample x0, right
// neighbour x1, weight f of x1 (yuv.ts: bilinearTap).
struct Tap {
  int x0, x1;
  double f;
};
inline Tap bilinearTap(double s, int n) {
  const double x = std::max(0.0, std::min<double>(s - 0.5, n - 1));
  const int x0 = std::min(int(x), n - 1);  // int() is floor here: x >= 0
  return {x0, std::min(x0 + 1, n - 1), x - x0};
}

// ---- the sharpening, one row at a time --------------------------------------------

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
    for (int k = 0; k < n; k++) ys[k] = lumaF(in[3 * k], in[3 * k + 1], in[3 * k + 2]);
  }
  for (int k = 0; k < n; k++) {
    // Out of gamut: shrink the chroma toward gray instead of clipping (keeps Y).
    const float yy = ys[k];
    const Offsets o = rgbOffsets(du[k], dv[k]);
    const float t = gamutFactor(yy, o);
    ys[k] = yy + t * o.dr;  // the scratch rows now hold R, G, B
    du[k] = yy + t * o.dg;
    dv[k] = yy + t * o.db;
  }
  const float magic = 12582912.f;  // 1.5·2^23: adding it rounds half to even (no -ffast-math!)
  for (int k = 0; k < n; k++) {
    out[3 * k] = uint8_t(int((std::min(255.f, std::max(0.f, ys[k])) + magic) - magic));
    out[3 * k + 1] = uint8_t(int((std::min(255.f, std::max(0.f, du[k])) + magic) - magic));
    out[3 * k + 2] = uint8_t(int((std::min(255.f, std::max(0.f, dv[k])) + magic) - magic));
  }
}

}  // namespace colorgan
