// The pixel core of the three addons: the C++ copy of src/color/yuv.ts's formulas (the
// paper's ITU-R 601 luma and inverse, adding chroma to a luma in gamut, the bilinear tap)
// and the colorizer's per-row sharpening built on them. The coefficients are typed here
// and nowhere else in native/; test/pixel-core.test.ts checks that both copies agree.
// The per-pixel loops run in float instead of the JS's double (so that they vectorize):
// results agree within one level, at rounding boundaries only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
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

// ---- the chroma grid: plain U,V or guided-filter coefficients ----------------------

// What the JS hands over on the model grid gw × gh, told apart by the array's length:
// 2 planes (u, v) at network scale (× `scale` → levels), upsampled bilinearly; or 4
// planes (a_u, b_u, a_v, b_v) of the fast guided filter (src/infer/guided.ts), already
// in levels, applied to each sample's own luma as chroma = a·Y + b (scale unused).
inline int chromaPlanes(size_t length, int gw, int gh) {
  const size_t n = size_t(gw) * size_t(gh);
  return length == 2 * n ? 2 : length == 4 * n ? 4 : 0;
}

// The guided coefficients of one output row at grid width, from the two grid rows
// around it; one extra entry (4 floats) so the bilinear step needs no edge branch.
inline void guidedRow(const float* coef, int size, int r0, int r1, float w0, float w1, float* row) {
  const float* a = coef + size_t(r0) * size * 4;
  const float* b = coef + size_t(r1) * size * 4;
  for (int i = 0; i < 4 * size; i++) row[i] = w0 * a[i] + w1 * b[i];
  for (int k = 0; k < 4; k++) row[4 * size + k] = row[4 * (size - 1) + k];
}

// Luma of n samples: `in` has `channels` (1 = gray, 3 = RGB) bytes per sample.
__attribute__((target_clones("avx2", "default")))
static void lumaRow(const uint8_t* __restrict in, int channels, int n, float* __restrict ys) {
  if (channels == 1) {
    for (int k = 0; k < n; k++) ys[k] = float(in[k]);
  } else {
    for (int k = 0; k < n; k++) ys[k] = lumaF(in[3 * k], in[3 * k + 1], in[3 * k + 2]);
  }
}

// Chroma (levels − 128) of n samples x0 .. x0+n−1 of a row, one run of samples sharing
// the same two grid columns at a time (x0s is non-decreasing), so the inner loops have
// no gathers. Bilinear: from rowU/rowV (chromaRow). Guided: from row4 (guidedRow) and
// the samples' luma ys.
__attribute__((target_clones("avx2", "default")))
static void bilinearChroma(int x0, int n, const int32_t* __restrict x0s, const int32_t* __restrict runEnd,
                           const float* __restrict fxs, const float* __restrict rowU, const float* __restrict rowV,
                           float* __restrict du, float* __restrict dv) {
  const float* f = fxs + x0;
  for (int k = 0; k < n;) {
    const int i = x0s[x0 + k];
    const int end = std::min(n, runEnd[x0 + k] - x0);
    const float u0 = rowU[i], su = rowU[i + 1] - rowU[i];
    const float v0 = rowV[i], sv = rowV[i + 1] - rowV[i];
    for (int j = k; j < end; j++) {
      du[j] = u0 + f[j] * su;
      dv[j] = v0 + f[j] * sv;
    }
    k = end;
  }
}

__attribute__((target_clones("avx2", "default")))
static void guidedChroma(int x0, int n, const int32_t* __restrict x0s, const int32_t* __restrict runEnd,
                         const float* __restrict fxs, const float* __restrict row4, const float* __restrict ys,
                         float* __restrict du, float* __restrict dv) {
  const float* f = fxs + x0;
  for (int k = 0; k < n;) {
    const float* c = row4 + 4 * x0s[x0 + k];
    const int end = std::min(n, runEnd[x0 + k] - x0);
    const float au = c[0], sau = c[4] - c[0], bu = c[1], sbu = c[5] - c[1];
    const float av = c[2], sav = c[6] - c[2], bv = c[3], sbv = c[7] - c[3];
    for (int j = k; j < end; j++) {
      du[j] = (au + f[j] * sau) * ys[j] + (bu + f[j] * sbu);
      dv[j] = (av + f[j] * sav) * ys[j] + (bv + f[j] * sbv);
    }
    k = end;
  }
}

// RGB bytes of n pixels from their luma ys and chroma du, dv (scratch rows, overwritten):
// out of gamut, the chroma shrinks toward gray instead of clipping (keeps Y).
__attribute__((target_clones("avx2", "default")))
static void composePixels(int n, float* __restrict ys, float* __restrict du, float* __restrict dv, uint8_t* __restrict out) {
  for (int k = 0; k < n; k++) {
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

// The sharpening of one row, columns x0 .. x0+n−1 of the full image: `in` has `channels`
// bytes per pixel, `out` 3. `grid` is rowU, rowV (bilinear; rowV = nullptr means `grid`
// is row4, guided). du/dv/ys are scratch of n floats.
inline void composeRow(const uint8_t* in, int channels, uint8_t* out, int x0, int n, const int32_t* x0s, const int32_t* runEnd,
                       const float* fxs, const float* rowU, const float* rowV, float* du, float* dv, float* ys) {
  lumaRow(in, channels, n, ys);
  if (rowV) bilinearChroma(x0, n, x0s, runEnd, fxs, rowU, rowV, du, dv);
  else guidedChroma(x0, n, x0s, runEnd, fxs, rowU, ys, du, dv);
  composePixels(n, ys, du, dv, out);
}

// One output row's grid chroma (chromaRow or guidedRow by `planes`) into `row`, sized
// 4·(gw+1); returns the (rowU, rowV) pair composeRow takes.
inline std::pair<const float*, const float*> gridRow(const float* grid, int planes, int gw, int r0, int r1, float w0, float w1,
                                                     float scale, float* row) {
  if (planes == 4) {
    guidedRow(grid, gw, r0, r1, w0, w1, row);
    return {row, nullptr};
  }
  chromaRow(grid, gw, r0, r1, w0 * scale, w1 * scale, row, row + gw + 1);
  return {row, row + gw + 1};
}

}  // namespace colorgan
